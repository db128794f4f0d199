// Runs a long-lived stream of the SDK (presence, OBSERVE, receipts, chat events) for as long as a view shows it:
// opened when the view mounts or its inputs change, cancelled when it unmounts. The SDK reopens dropped streams
// itself; what reaches here is a refusal (shown to the user) or the end.
import { useEffect, useState } from "preact/hooks";

export type StreamState = "connecting" | "live" | "ended" | "failed";

export function useStream<T>(
  open: ((signal: AbortSignal) => AsyncIterable<T>) | undefined,
  onItem: (item: T) => void,
  inputs: unknown[],
): { state: StreamState; error: string | undefined } {
  const [state, setState] = useState<StreamState>("connecting");
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    if (!open) return;
    const abort = new AbortController();
    setState("connecting");
    setError(undefined);
    (async () => {
      // A refusal for being too quick (the seed's 10 session queries a minute) says when to come back: the view
      // says so and opens the stream again then, instead of staying failed.
      for (;;) {
        try {
          for await (const item of open(abort.signal)) {
            if (abort.signal.aborted) return;
            setState("live");
            setError(undefined);
            onItem(item);
          }
          if (!abort.signal.aborted) setState("ended");
          return;
        } catch (err) {
          if (abort.signal.aborted) return;
          setState("failed");
          setError(describeError(err));
          const wait = retryAfterMs(err);
          if (wait === undefined) return;
          await new Promise((r) => setTimeout(r, wait));
          if (abort.signal.aborted) return;
          setState("connecting");
        }
      }
    })();
    return () => abort.abort();
  }, inputs);
  return { state, error };
}

/** An error as a person reads it: the server's message and its reason. */
export function describeError(err: unknown): string {
  if (err && typeof err === "object") {
    const e = err as { rawMessage?: unknown; message?: unknown; reason?: unknown };
    const text = typeof e.rawMessage === "string" && e.rawMessage ? e.rawMessage : String(e.message ?? err);
    return typeof e.reason === "string" && e.reason ? `${text} (${e.reason})` : text;
  }
  return String(err);
}

/** How long a `rate_limited` refusal asks to wait, or undefined for any other error. */
function retryAfterMs(err: unknown): number | undefined {
  const e = err as { reason?: unknown; retryAfterMs?: unknown } | undefined;
  if (e?.reason !== "rate_limited") return undefined;
  return typeof e.retryAfterMs === "number" ? Math.max(e.retryAfterMs, 250) : 5000;
}
