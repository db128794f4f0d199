import type { Kysely } from "kysely";
import type { Bus, BusSubscription } from "../bus/index.js";
import type { Database } from "../store/schema.js";
import { decodeReceipt, type ReceiptRecord, receiptsOfPair } from "../wire/index.js";
import { type StoredMessage, toStoredMessage } from "./message.js";
import type { MessageStatus } from "./tables.js";
import type { ReceiptPublisher } from "./receipts.js";
import { toReceiptRecord } from "./writer.js";

// Waiting for what became of a message: a Send that waits for DELIVERED or PROCESSED, a Request that waits for its
// reply. Receipts come over the bus; the store is read when one may have gone by before the wait began.

const FINAL: ReadonlySet<MessageStatus> = new Set(["processed", "rejected", "expired"]);

export interface StatusWatch {
  /**
   * True once the bus has confirmed the watch's subscription (a receipt published anywhere after that reaches it);
   * false when it could not say within a moment (bus away). Await it before storing the message.
   */
  readonly ready: Promise<boolean>;
  /**
   * The receipt that reached the target, or undefined after `timeoutMs` (or once stopped). `subscribedFirst`: the
   * message was stored after `ready` said true, so no receipt of it can have gone by and the store need not be read
   * before waiting (it still is, once a second, in case the bus loses one).
   */
  until(message: StoredMessage, timeoutMs: number, signal?: AbortSignal, subscribedFirst?: boolean): Promise<ReceiptRecord | undefined>;
  stop(): void;
}

/** How long a new receipt subscription waits for the bus to confirm it before callers fall back to reading the store. */
const CONFIRM_MS = 200;

/** How long a receipt subscription outlives its last waiting call: sequential calls between two accounts reuse it. */
const LINGER_MS = 10_000;

interface SharedSubscription {
  subscription: BusSubscription;
  ready: Promise<boolean>;
  calls: number;
  linger: NodeJS.Timeout | undefined;
}

/**
 * The receipts this gateway's waiting calls want, by message id. Calls waiting on messages between the same two
 * accounts share one bus subscription (kept a little after the last of them, so a sequence of calls does not
 * subscribe and unsubscribe each time), and receipts this gateway publishes reach them at once.
 */
export class ReceiptWaiters {
  private readonly subjects = new Map<string, SharedSubscription>();
  private readonly byMessage = new Map<string, Set<(receipt: ReceiptRecord) => void>>();
  private readonly unsubscribeLocal: () => void;

  constructor(
    private readonly bus: Bus,
    private readonly db: Kysely<Database>,
    receipts: ReceiptPublisher,
  ) {
    this.unsubscribeLocal = receipts.onPublished((receipt) => this.arrived(receipt));
  }

  /**
   * Starts listening for the receipts of a message from `senderAccountId` to `recipientAccountId` (call it before
   * the message is stored); `until` waits for one that reaches `target` or a final status. `stop` ends the wait
   * and any `until` still waiting (a Request answered by its reply leaves the race at once).
   */
  watch(senderAccountId: string, recipientAccountId: string, target: "delivered" | "processed"): StatusWatch {
    const subject = receiptsOfPair(senderAccountId, recipientAccountId);
    const { ready } = this.hold(subject);
    let wanted: string | undefined;
    let hit: ReceiptRecord | undefined;
    let stopped = false;
    let notify: (() => void) | undefined;
    const listener = (receipt: ReceiptRecord) => {
      if (!reaches(receipt.status, target)) return;
      hit ??= receipt;
      notify?.();
    };
    return {
      ready,
      until: async (message, timeoutMs, signal, subscribedFirst = false) => {
        wanted = message.messageId;
        this.listen(wanted, listener);
        const deadline = Date.now() + timeoutMs;
        let read = !subscribedFirst;
        for (;;) {
          // A stopped wait (its Request answered by the reply) reads nothing more: the read would serve nobody.
          if (hit || stopped || signal?.aborted) return hit;
          // Listening before this read: a receipt stored before it is read here, one published after it arrives.
          const found = read ? await latestReceiptReaching(this.db, message, target) : undefined;
          read = true;
          if (found) return found;
          const left = deadline - Date.now();
          if (left <= 0 || stopped || signal?.aborted) return undefined;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.min(left, 1000));
            notify = () => {
              clearTimeout(timer);
              notify = undefined;
              resolve();
            };
          });
        }
      },
      stop: () => {
        if (stopped) return;
        stopped = true;
        if (wanted !== undefined) this.unlisten(wanted, listener);
        this.release(subject);
        notify?.();
      },
    };
  }

  close(): void {
    this.unsubscribeLocal();
    for (const shared of this.subjects.values()) {
      clearTimeout(shared.linger);
      shared.subscription.unsubscribe();
    }
    this.subjects.clear();
  }

  private arrived(receipt: ReceiptRecord): void {
    const listeners = this.byMessage.get(receipt.messageId);
    if (listeners) for (const listener of listeners) listener(receipt);
  }

  private listen(messageId: string, listener: (receipt: ReceiptRecord) => void): void {
    let listeners = this.byMessage.get(messageId);
    if (!listeners) this.byMessage.set(messageId, (listeners = new Set()));
    listeners.add(listener);
  }

  private unlisten(messageId: string, listener: (receipt: ReceiptRecord) => void): void {
    const listeners = this.byMessage.get(messageId);
    listeners?.delete(listener);
    if (listeners?.size === 0) this.byMessage.delete(messageId);
  }

  private hold(subject: string): SharedSubscription {
    const shared = this.subjects.get(subject);
    if (shared) {
      shared.calls += 1;
      clearTimeout(shared.linger);
      shared.linger = undefined;
      return shared;
    }
    const subscription = this.bus.subscribe(subject, (msg) => this.arrived(decodeReceipt(msg.data)));
    // A flush answered means the server has the subscription (it handles a connection's commands in order).
    let timer: NodeJS.Timeout | undefined;
    const ready = Promise.race([
      this.bus.flush().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), CONFIRM_MS))),
    ]).finally(() => clearTimeout(timer));
    const created = { subscription, ready, calls: 1, linger: undefined };
    this.subjects.set(subject, created);
    return created;
  }

  private release(subject: string): void {
    const shared = this.subjects.get(subject);
    if (!shared) return;
    shared.calls -= 1;
    if (shared.calls > 0) return;
    shared.linger = setTimeout(() => {
      if (shared.calls > 0 || this.subjects.get(subject) !== shared) return;
      this.subjects.delete(subject);
      shared.subscription.unsubscribe();
    }, LINGER_MS);
    shared.linger.unref();
  }
}

async function latestReceiptReaching(
  db: Kysely<Database>,
  message: StoredMessage,
  target: "delivered" | "processed",
): Promise<ReceiptRecord | undefined> {
  const latest = await latestReceipt(db, message.messageId);
  return latest && reaches(latest.status, target) ? latest : undefined;
}

export async function latestReceipt(db: Kysely<Database>, messageId: string): Promise<ReceiptRecord | undefined> {
  const row = await db
    .selectFrom("receipts")
    .selectAll()
    .where("message_id", "=", messageId)
    .orderBy("receipt_id", "desc")
    .limit(1)
    .executeTakeFirst();
  return row && toReceiptRecord(row);
}

export async function storedReply(db: Kysely<Database>, requestMessageId: string): Promise<StoredMessage | undefined> {
  const row = await db
    .selectFrom("messages")
    .selectAll()
    .where("parent_message_id", "=", requestMessageId)
    .where("kind", "in", ["reply", "error"])
    .orderBy("seq")
    .limit(1)
    .executeTakeFirst();
  return row && toStoredMessage(row);
}

export async function waitForStoredReply(
  db: Kysely<Database>,
  requestMessageId: string,
  arriving: Promise<StoredMessage>,
): Promise<StoredMessage | undefined> {
  const stored = await storedReply(db, requestMessageId);
  if (stored) return stored;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 1000)));
  return Promise.race([arriving, late]).finally(() => clearTimeout(timer));
}

/** True when `status` is `target` or later (a final status ends any wait). */
function reaches(status: MessageStatus, target: "delivered" | "processed"): boolean {
  if (FINAL.has(status)) return true;
  return target === "delivered" && status === "delivered";
}
