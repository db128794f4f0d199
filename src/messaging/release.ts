import { type Kysely, sql } from "kysely";
import type { Database } from "../store/schema.js";
import { messagesLockedInOrder } from "./lock-order.js";
import { type StoredMessage, toStoredMessage } from "./message.js";

/**
 * Ends the lease of the given messages that are still `delivered`, so the next stream claims them at once.
 * Returns the released messages as stored. The rows are locked in message_id order, as every multi-message change
 * is: a closing stream's last acks may be changing the same messages at the same moment.
 */
export async function releaseLeases(db: Kysely<Database>, messageIds: readonly string[]): Promise<StoredMessage[]> {
  const rows = await db
    .updateTable("messages")
    .set({ lease_until: null })
    .where("message_id", "=", sql<string>`any(array(${messagesLockedInOrder(messageIds)}))`)
    .where("status", "=", "delivered")
    .returningAll()
    .execute();
  return rows.map(toStoredMessage);
}
