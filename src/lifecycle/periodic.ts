import { sleep } from "./sleep.js";

export interface PeriodicOptions {
  /** The usual pause between the end of one pass and the start of the next. */
  intervalMs: number;
  /** The pause before the first pass (default: one interval). */
  firstDelayMs?: number;
  /**
   * One pass. It handles its own failures (typically with a FailureLog); a throw is a bug and ends the loop.
   * It may answer a number: the pause before the next pass, e.g. a short one when it left work behind.
   */
  pass(signal: AbortSignal): Promise<unknown>;
}

/**
 * Runs `pass` over and over until `signal` aborts; resolves after the pass in progress (if any) has finished.
 * Passes never overlap: the next pause starts when a pass ends.
 */
export async function runPeriodically(signal: AbortSignal, options: PeriodicOptions): Promise<void> {
  await sleep(options.firstDelayMs ?? options.intervalMs, signal);
  while (!signal.aborted) {
    const next = await options.pass(signal);
    await sleep(typeof next === "number" ? next : options.intervalMs, signal);
  }
}
