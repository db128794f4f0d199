import type { Kysely } from "kysely";
import { type Bus, BusError, type BusSubscription } from "../bus/index.js";
import { DomainError } from "../errors.js";
import type { Database } from "../store/schema.js";
import { type StoredMessage, decodeMessage, encodeMessage, replySubject } from "../wire/index.js";
import { type ReceiptWaiters, type StatusWatch, storedReply, waitForStoredReply } from "./status-wait.js";

// Request/reply over the bus: the gateway where Request waits listens on the request's reply subject; Reply stores
// the answer and hands it there (one byte back says it arrived). A reply the waiting call missed is still found
// in the store, and the request's receipts tell a rejection or an ack without a reply.

/** How long Reply waits for the requesting gateway to take the answer before leaving it to the inbox. */
const HAND_OVER_TIMEOUT_MS = 2000;

/**
 * The Request calls waiting on this gateway, by request message id: a reply stored here is handed to its call
 * directly, without the bus round trip (most requests are answered through the gateway that asked).
 */
export class LocalReplies {
  private readonly waiting = new Map<string, (reply: StoredMessage) => void>();

  add(requestMessageId: string, take: (reply: StoredMessage) => void): void {
    this.waiting.set(requestMessageId, take);
  }

  remove(requestMessageId: string, take: (reply: StoredMessage) => void): void {
    if (this.waiting.get(requestMessageId) === take) this.waiting.delete(requestMessageId);
  }

  /** Gives the reply to the call waiting here for it; false when none does (it may wait on another gateway). */
  hand(requestMessageId: string, reply: StoredMessage): boolean {
    const take = this.waiting.get(requestMessageId);
    if (!take) return false;
    take(reply);
    return true;
  }
}

/**
 * One Request call's wait for its answer: the reply (handed over here or on the bus), else the request's final
 * receipt, else the timeout. Listens from construction, before the request is stored, so no reply can pass unseen.
 */
export class ReplyWait {
  private replied: (reply: StoredMessage) => void = () => undefined;
  private readonly replyArrived = new Promise<StoredMessage>((resolve) => (this.replied = resolve));
  private readonly take = (reply: StoredMessage) => this.replied(reply);
  private subscription: BusSubscription;
  private listeningFor: string;
  private readonly status: StatusWatch;

  constructor(
    private readonly bus: Bus,
    private readonly db: Kysely<Database>,
    private readonly local: LocalReplies,
    waiters: ReceiptWaiters,
    senderAccountId: string,
    recipientAccountId: string,
    messageId: string,
  ) {
    this.listeningFor = messageId;
    this.subscription = this.listen(messageId);
    this.status = waiters.watch(senderAccountId, recipientAccountId, "processed");
  }

  /** True once the bus confirmed the receipt subscription: store the request after awaiting it. */
  get ready(): Promise<boolean> {
    return this.status.ready;
  }

  /** Waits for another request instead (an earlier one with the same idempotency key); its reply if stored. */
  async follow(messageId: string): Promise<StoredMessage | undefined> {
    this.unlisten();
    this.listeningFor = messageId;
    this.subscription = this.listen(messageId);
    return storedReply(this.db, messageId);
  }

  /** The reply to `request`, or a DomainError saying why there is none (timeout, expiry, rejection, no reply). */
  async outcome(
    request: StoredMessage,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    subscribedFirst = false,
  ): Promise<StoredMessage> {
    // The timer and abort listener go when the call ends, not when the timeout would have passed: a call answered
    // in milliseconds must not keep its closure (draft, reply, ...) for up to timeout_ms.
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
        onAbort = () => resolve("timeout");
        signal?.addEventListener("abort", onAbort, { once: true });
      });
      const first = await Promise.race([
        this.replyArrived,
        this.status.until(request, timeoutMs, signal, subscribedFirst).then((r) => r ?? ("timeout" as const)),
        timeout,
      ]);
      if (first === "timeout") {
        throw new DomainError("deadline_exceeded", "timeout", `no reply within ${timeoutMs} ms; a late reply goes to your inbox`);
      }
      if (!("receiptId" in first)) return first;
      // Processed without a reply reaching us: the reply may have been stored just before we listened.
      const reply = first.status === "processed" ? await waitForStoredReply(this.db, request.messageId, this.replyArrived) : undefined;
      if (reply) return reply;
      if (first.status === "expired") throw new DomainError("failed_precondition", "expired", "the request expired before it was answered");
      // Processed without a reply: the recipient acked the request instead of answering it.
      const code = first.status === "processed" ? "no_reply" : first.code;
      const detail = first.status === "processed" ? "the recipient processed the request without replying" : first.detail;
      throw new DomainError("failed_precondition", "rejected", `the request was rejected: ${code} ${detail}`.trim(), {
        metadata: { code, detail },
      });
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    }
  }

  stop(): void {
    this.unlisten();
    this.status.stop();
  }

  /** Hears the reply from a Reply on this gateway (directly) or on any other (over the bus). */
  private listen(messageId: string): BusSubscription {
    this.local.add(messageId, this.take);
    return this.bus.subscribe(replySubject(messageId), (msg) => {
      msg.respond(new Uint8Array([1]));
      this.replied(decodeMessage(msg.data));
    });
  }

  private unlisten(): void {
    this.local.remove(this.listeningFor, this.take);
    this.subscription.unsubscribe();
  }
}

/**
 * Takes the reply to `requestMessageId` the way a waiting Request call does — directly when it is stored on this
 * gateway, over the bus from any other — so it is marked processed on arrival instead of waiting in the sender's
 * inbox. Until the returned function is called.
 */
export function takeReplies(bus: Bus, local: LocalReplies, requestMessageId: string, take: (reply: StoredMessage) => void): () => void {
  local.add(requestMessageId, take);
  const subscription = bus.subscribe(replySubject(requestMessageId), (msg) => {
    msg.respond(new Uint8Array([1]));
    take(decodeMessage(msg.data));
  });
  return () => {
    local.remove(requestMessageId, take);
    subscription.unsubscribe();
  };
}

/** Hands a stored reply to the gateway where its Request waits; false when nobody took it (no waiter, bus down). */
export async function handReply(bus: Bus, requestMessageId: string, reply: StoredMessage): Promise<boolean> {
  try {
    await bus.request(replySubject(requestMessageId), encodeMessage(reply), { timeoutMs: HAND_OVER_TIMEOUT_MS });
    return true;
  } catch (err) {
    if (!(err instanceof BusError)) throw err;
    return false;
  }
}
