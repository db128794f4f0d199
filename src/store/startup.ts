import { isUnavailable } from "./errors.js";

export interface RetryOptions {
  /** One line per failed attempt (at warn). */
  logger: { warn(obj: object, msg: string): void };
  /** What is being attempted, for the log line: "starting the gateway", "migrating". */
  what: string;
  /** Stops retrying: the pending wait ends and the last error is thrown. */
  signal?: AbortSignal | undefined;
  /** First delay; doubles per attempt up to `maxDelayMs`. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Gives up (throwing the last error) once this much time has passed; unbounded when unset. */
  giveUpAfterMs?: number | undefined;
}

/**
 * Runs `attempt` until it succeeds, retrying with exponential backoff (capped, default 5 s) as long as it fails
 * because the database is unreachable (PostgreSQL down, starting up, refusing connections). Any other failure —
 * a bad password, a missing database, a broken migration — is thrown at once.
 */
export async function retryWhileUnavailable<T>(attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  const { logger, what, signal } = options;
  const maxDelayMs = options.maxDelayMs ?? 5000;
  let delayMs = options.initialDelayMs ?? 250;
  const startedAt = Date.now();
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (!isUnavailable(err) || signal?.aborted) throw err;
      if (options.giveUpAfterMs !== undefined && Date.now() - startedAt + delayMs > options.giveUpAfterMs) throw err;
      logger.warn(
        { attempt: n, retryInMs: delayMs, err: { message: err instanceof Error ? err.message : String(err) } },
        `${what}: the database is unavailable; retrying in ${(delayMs / 1000).toFixed(1)} s`,
      );
      const woke = await sleep(delayMs, signal);
      if (!woke) throw err;
      delayMs = Math.min(maxDelayMs, delayMs * 2);
    }
  }
}

/** Waits `ms`; false when `signal` aborted first. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
