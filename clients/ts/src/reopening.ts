// The loop under every long-lived server stream of the SDK (receipts, OBSERVE, presence, chat events): items of
// the stream `open` makes; a stream that ends or fails transiently is opened again after a jittered backoff (reset
// by every item). `open` runs again for each attempt, so it can resume from what the caller saw. Ends when
// `signal` aborts; a refusal is thrown as its AgentnetError.
import { Backoff, sleep } from "./backoff.js";
import { isRetryable, toAgentnetError } from "./errors.js";

export async function* reopening<T>(open: () => AsyncIterable<T>, signal: AbortSignal | undefined): AsyncGenerator<T> {
  const backoff = new Backoff();
  while (!signal?.aborted) {
    try {
      for await (const item of open()) {
        backoff.reset();
        yield item;
      }
    } catch (err) {
      if (signal?.aborted) return;
      if (!isRetryable(err)) throw toAgentnetError(err);
    }
    await sleep(backoff.next(), signal);
  }
}
