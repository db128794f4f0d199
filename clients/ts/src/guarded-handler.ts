// Runs a message handler inside the seed's guardrails and turns every outcome into an acknowledgement:
// processed, or rejected with busy | timeout | duplicate | expired | circuit_open | handler_error | rate_limited
// (or the handler's own code via Reject). Repeats of a message (redelivery after a reconnect) are absorbed: one
// still running is ignored, one already finished is acknowledged again with the same outcome.
import { CircuitBreaker } from "./circuit-breaker.js";
import { DedupeCache } from "./dedupe-cache.js";
import { type Guardrails, REJECTION, Reject } from "./guardrails.js";
import type { MessageView } from "./message.js";
import { context } from "@opentelemetry/api";
import { startHandling } from "./trace-context.js";

export type Outcome = { outcome: "processed" } | { outcome: "rejected"; code: string; detail: string };

export type GuardedFn = (message: MessageView, signal: AbortSignal) => unknown;

export interface OutcomeEvent {
  message: MessageView;
  outcome: Outcome;
  /** False when the guardrails decided without running the handler (busy, expired, circuit_open, repeats …). */
  ranHandler: boolean;
  /** True when this acknowledges a redelivered message again. */
  repeat: boolean;
}

const MAX_DETAIL = 1000;

export class GuardedHandler {
  private readonly seen: DedupeCache<Outcome>;
  private readonly keys: DedupeCache<string>;
  private readonly breaker: CircuitBreaker;
  private readonly queue: MessageView[] = [];
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly idle: Array<() => void> = [];
  private active = 0;
  private closed = false;

  constructor(
    private readonly fn: GuardedFn,
    private readonly limits: Guardrails,
    private readonly onOutcome: (event: OutcomeEvent) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.seen = new DedupeCache(limits.dedupeTtlMs, now, limits.dedupeMaxEntries);
    this.keys = new DedupeCache(limits.dedupeTtlMs, now, limits.dedupeMaxEntries);
    this.breaker = new CircuitBreaker(limits.circuitBreakerFailures, limits.circuitBreakerResetMs, now);
  }

  get running(): number {
    return this.active;
  }
  get pending(): number {
    return this.queue.length;
  }
  get circuit(): CircuitBreaker["state"] {
    return this.breaker.state;
  }

  /** Whether the message is being handled (running or waiting its turn). */
  isHandling(messageId: string): boolean {
    return this.seen.get(messageId)?.state === "running";
  }

  /** Takes one received message: runs it, queues it, or decides at once. */
  offer(message: MessageView): void {
    if (this.closed) return; // left unacked: the server pushes it again to the next stream
    const id = message.messageId;
    const known = this.seen.get(id);
    if (known?.state === "running") return;
    if (known?.state === "done") return this.onOutcome({ message, outcome: known.outcome, ranHandler: false, repeat: true });

    const key = message.envelope.idempotencyKey;
    if (key !== "") {
      const scoped = `${message.from.accountId}\u0000${key}`;
      const first = this.keys.get(scoped);
      if (first?.state === "done" && first.outcome !== id) {
        return this.decide(message, REJECTION.duplicate, `idempotency key already used by message ${first.outcome}`);
      }
      this.keys.set(scoped, { state: "done", outcome: id });
    }
    if (message.isExpired(this.now())) return this.decide(message, REJECTION.expired, "the message's TTL passed before it was handled");
    if (!this.takeToken(message.from.accountId)) return this.decide(message, REJECTION.rateLimited, "sender over its rate limit");
    if (this.active < this.limits.maxConcurrency) return this.start(message);
    if (this.queue.length >= this.limits.maxPending) {
      return this.decide(message, REJECTION.busy, `queue full: ${this.limits.maxPending} messages waiting`);
    }
    this.seen.set(id, { state: "running" });
    this.queue.push(message);
  }

  /** Stops taking messages, forgets the queued ones (they stay unacked) and waits for running handlers. */
  async close(timeoutMs = 5_000): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    if (this.active === 0) return;
    await Promise.race([new Promise<void>((r) => this.idle.push(r)), new Promise((r) => setTimeout(r, timeoutMs))]);
  }

  private decide(message: MessageView, code: string, detail: string): void {
    const outcome: Outcome = { outcome: "rejected", code, detail };
    this.seen.set(message.messageId, { state: "done", outcome });
    this.onOutcome({ message, outcome, ranHandler: false, repeat: false });
  }

  private start(message: MessageView): void {
    if (!this.breaker.allow()) return this.decide(message, REJECTION.circuitOpen, "too many recent failures; circuit open");
    if (message.isExpired(this.now())) return this.decide(message, REJECTION.expired, "the message's TTL passed while it waited");
    this.seen.set(message.messageId, { state: "running" });
    this.active += 1;
    void this.run(message).then((outcome) => {
      this.active -= 1;
      this.seen.set(message.messageId, { state: "done", outcome });
      this.onOutcome({ message, outcome, ranHandler: true, repeat: false });
      this.next();
    });
  }

  private next(): void {
    while (!this.closed && this.active < this.limits.maxConcurrency && this.queue.length > 0) this.start(this.queue.shift()!);
    if (this.active === 0) for (const r of this.idle.splice(0)) r();
  }

  private async run(message: MessageView): Promise<Outcome> {
    // The handler runs in a span continuing the message's trace; its answers and its ack carry that span.
    const handling = startHandling({ ...message.envelope, kind: message.kind });
    message.traceContext = handling.traceparent;
    const outcome = await this.runTimed((signal) => context.with(handling.context, () => this.fn(message, signal)));
    handling.end(outcome.outcome === "rejected" ? outcome.code : undefined);
    return outcome;
  }

  private async runTimed(fn: (signal: AbortSignal) => unknown): Promise<Outcome> {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), this.limits.workTimeoutMs);
    });
    try {
      const result = await Promise.race([Promise.resolve().then(() => fn(abort.signal)), timedOut]);
      if (result === "timeout") {
        // JavaScript cannot stop the handler: it is told through the signal, and its slot is given to the next message.
        abort.abort(new Error("work timeout"));
        this.breaker.failure();
        return { outcome: "rejected", code: REJECTION.timeout, detail: `handler did not finish within ${this.limits.workTimeoutMs} ms` };
      }
      this.breaker.success();
      return { outcome: "processed" };
    } catch (err) {
      if (err instanceof Reject) {
        this.breaker.neutral();
        return { outcome: "rejected", code: err.code, detail: err.detail.slice(0, MAX_DETAIL) };
      }
      this.breaker.failure();
      const detail = err instanceof Error ? err.message : String(err);
      return { outcome: "rejected", code: REJECTION.handlerError, detail: detail.slice(0, MAX_DETAIL) };
    } finally {
      clearTimeout(timer);
    }
  }

  private takeToken(sender: string): boolean {
    const rate = this.limits.perSenderRate;
    if (!rate) return true;
    const now = this.now();
    const b = this.buckets.get(sender) ?? { tokens: rate.burst, at: now };
    b.tokens = Math.min(rate.burst, b.tokens + ((now - b.at) / 1000) * rate.perSecond);
    b.at = now;
    this.buckets.set(sender, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
