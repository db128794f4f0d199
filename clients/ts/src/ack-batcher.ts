// Acknowledgements go out in batches (one Ack call per ~10 ms of outcomes, at most 1000 each). A batch that fails
// is retried with backoff; when it cannot get through, the messages stay unacked and the server pushes them again
// after the next reconnect, where the dedupe cache acknowledges them with the same outcome.
import type { Client } from "@connectrpc/connect";
import { AckOutcome, type AckItem, type MessagingService } from "@agentnet/gen/agentnet/v1/messaging_pb.js";
import { Backoff, sleep } from "./backoff.js";
import type { Outcome } from "./guarded-handler.js";

const MAX_BATCH = 1000;
const FLUSH_DELAY_MS = 10;
const MAX_ATTEMPTS = 5;

type AckInit = Pick<AckItem, "messageId" | "outcome" | "code" | "detail" | "traceparent">;

export class AckBatcher {
  private queue: AckInit[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly messaging: Client<typeof MessagingService>,
    private readonly sessionTag: () => string,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /** `traceparent`: the trace context of the message's handling; its outcome's span joins that trace. */
  add(messageId: string, o: Outcome, traceparent = ""): void {
    this.queue.push(
      o.outcome === "processed"
        ? { messageId, outcome: AckOutcome.PROCESSED, code: "", detail: "", traceparent }
        : { messageId, outcome: AckOutcome.REJECTED, code: o.code, detail: o.detail, traceparent },
    );
    if (this.queue.length >= MAX_BATCH) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_DELAY_MS);
  }

  /** Sends everything queued so far; resolves when it was answered (or given up on). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue.splice(0, MAX_BATCH);
    if (batch.length > 0) this.inFlight = this.inFlight.then(() => this.send(batch));
    if (this.queue.length > 0) return this.flush();
    return this.inFlight;
  }

  private async send(batch: AckInit[]): Promise<void> {
    const backoff = new Backoff({ initialMs: 100, maxMs: 2_000 });
    for (let attempt = 1; ; attempt++) {
      try {
        await this.messaging.ack({ acks: batch, sessionTag: this.sessionTag() }, { timeoutMs: 10_000 });
        return;
      } catch (err) {
        if (attempt >= MAX_ATTEMPTS) return this.onError(err);
        await sleep(backoff.next());
      }
    }
  }
}
