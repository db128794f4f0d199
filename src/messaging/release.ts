import type { Kysely } from "kysely";
import { lockedInOrder } from "../store/locked-in-order.js";
import type { Database } from "../store/schema.js";
import { type StoredMessage, toStoredMessage } from "./message.js";

/**
 * Ends the lease of the given messages that are still `delivered`, so the next stream claims them at once.
 * Returns the released messages as stored.
 */
export async function releaseLeases(db: Kysely<Database>, messageIds: readonly string[]): Promise<StoredMessage[]> {
  // A closing stream's last acks may be changing the same messages at this moment, and the Ack batch locks them
  // in message_id order: with `message_id in (…)` this statement took a bitmap scan and locked in storage order,
  // and the two deadlocked (40P01, which reached callers of Ack as INTERNAL).
  const rows = await db
    .updateTable("messages")
    .set({ lease_until: null })
    .where("message_id", "=", lockedInOrder("messages", "message_id", messageIds))
    .where("status", "=", "delivered")
    .returningAll()
    .execute();
  return rows.map(toStoredMessage);
}
