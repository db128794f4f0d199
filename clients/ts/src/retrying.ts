// The SDK's retry loop for one call: transient failures (network, restarting gateway) are retried with backoff,
// after waiting (bounded) for the connection; the request keeps its client-chosen ids, so a retry is recognised
// as the same call by the server.
import type { CallOptions } from "@connectrpc/connect";
import { Backoff, sleep } from "./backoff.js";
import { AgentnetError, isTransient, toAgentnetError } from "./errors.js";
import { withTraceparent } from "./trace-context.js";

export interface RetryOptions {
  /** Extra attempts after a transient failure; default 2 (the seed's). */
  retries?: number;
  signal?: AbortSignal;
  /** Deadline of each attempt in ms. */
  timeoutMs?: number;
  /** W3C trace context to send (a handler's); default: the active OpenTelemetry span's, if any. */
  traceparent?: string | undefined;
}

export const DEFAULT_RETRIES = 2;

/** Runs a call, retrying transient failures with backoff; the request keeps its message id, so retries are safe. */
export async function retrying<T>(
  waitReady: (timeoutMs?: number) => Promise<void>,
  o: RetryOptions,
  call: (options: CallOptions) => Promise<T>,
): Promise<T> {
  const backoff = new Backoff({ initialMs: 100, maxMs: 2_000 });
  const retries = o.retries ?? DEFAULT_RETRIES;
  for (let attempt = 0; ; attempt++) {
    try {
      // A retry first waits (bounded) for the connection to come back instead of failing at once again.
      if (attempt > 0) await waitReady();
      return await call(withTraceparent({ signal: o.signal, timeoutMs: o.timeoutMs }, o.traceparent));
    } catch (err) {
      const e = err instanceof AgentnetError ? err : toAgentnetError(err);
      // connect_timeout: the bounded wait for the connection already was the retry.
      if (attempt >= retries || o.signal?.aborted || !isTransient(e, o.signal) || e.reason === "connect_timeout") throw e;
      await sleep(backoff.next(), o.signal);
    }
  }
}
