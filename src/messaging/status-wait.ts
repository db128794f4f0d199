import type { Kysely } from "kysely";
import type { Bus } from "../bus/index.js";
import type { Database } from "../store/schema.js";
import { decodeReceipt, type ReceiptRecord, receiptSubject } from "../wire/index.js";
import { type StoredMessage, toStoredMessage } from "./message.js";
import type { MessageStatus } from "./tables.js";
import { toReceiptRecord } from "./writer.js";

// Waiting for what became of a message: a Send that waits for DELIVERED or PROCESSED, a Request that waits for its
// reply. Receipts come over the bus; the store is read when one may have gone by before the wait began.

const FINAL: ReadonlySet<MessageStatus> = new Set(["processed", "rejected", "expired"]);
/** Receipts of other messages between the same two accounts kept while a waiting call's own is being stored. */
const EARLY_RECEIPTS_MAX = 1000;

export interface StatusWatch {
  /** The receipt that reached the target, or undefined after `timeoutMs` (or once stopped). */
  until(message: StoredMessage, timeoutMs: number, signal?: AbortSignal): Promise<ReceiptRecord | undefined>;
  stop(): void;
}

/**
 * Listens for a message's receipts until one reaches `target` (or a final status). The subject carries every
 * receipt between the two accounts, so only the awaited message's is kept: until `until` names it (the store
 * write in between), at most a bounded number of early arrivals wait to be matched. `stop` ends the
 * subscription and any `until` still waiting (a Request answered by its reply leaves the race at once).
 */
export function watchStatus(
  bus: Bus,
  db: Kysely<Database>,
  senderAccountId: string,
  recipientAccountId: string,
  target: "delivered" | "processed",
): StatusWatch {
  const early = new Map<string, ReceiptRecord>();
  let wanted: string | undefined;
  let hit: ReceiptRecord | undefined;
  let stopped = false;
  let notify: (() => void) | undefined;
  const sub = bus.subscribe(receiptSubject(senderAccountId, recipientAccountId), (msg) => {
    const r = decodeReceipt(msg.data);
    if (!reaches(r.status, target)) return;
    if (wanted === undefined) {
      if (early.size >= EARLY_RECEIPTS_MAX) early.delete(early.keys().next().value!);
      early.set(r.messageId, r);
    } else if (r.messageId === wanted) {
      hit ??= r;
      notify?.();
    }
  });
  return {
    until: async (message: StoredMessage, timeoutMs: number, signal?: AbortSignal): Promise<ReceiptRecord | undefined> => {
      wanted = message.messageId;
      hit ??= early.get(wanted);
      early.clear();
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = hit ?? (await latestReceiptReaching(db, message, target));
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
      stopped = true;
      sub.unsubscribe();
      early.clear();
      notify?.();
    },
  };
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
