import { type Kysely, sql } from "kysely";
import type { Database } from "../store/schema.js";
import { type StoredMessage, toStoredMessage } from "./message.js";

/**
 * Ends the lease of the given messages that are still `delivered`, so the next stream claims them at once.
 * Returns the released messages as stored.
 */
export async function releaseLeases(db: Kysely<Database>, messageIds: readonly string[]): Promise<StoredMessage[]> {
  // A closing stream's last acks may be changing the same messages at this moment, and every multi-message change
  // must lock in message_id order or two of them deadlock (40P01; it reached callers of Ack as INTERNAL). With
  // `message_id in (…)` PostgreSQL chose a bitmap scan and locked in storage order, so the rows are locked first,
  // in order, by a subquery it runs once before the update (an InitPlan).
  const locked = sql<string>`any(array(
    select message_id from messages where message_id = any(cast(${messageIds} as text[]))
     order by message_id for no key update))`;
  const rows = await db
    .updateTable("messages")
    .set({ lease_until: null })
    .where("message_id", "=", locked)
    .where("status", "=", "delivered")
    .returningAll()
    .execute();
  return rows.map(toStoredMessage);
}
