/**
 * Resolves after `ms`, or at once when `signal` aborts (never rejects). The timer is unref'd — a process is not
 * kept alive just to wait — and the timer and the abort listener are both gone once it resolves.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener("abort", done, { once: true });
  });
}
