import type { Kysely } from "kysely";
import type { Database } from "../store/schema.js";

/** Messages sent per account, for the registry's AgentConnect-shaped status (`message_count`). */
export async function messageCountsFor(db: Kysely<Database>, accountIds: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>(accountIds.map((id) => [id, 0]));
  if (accountIds.length === 0) return counts;
  const sent = await db
    .selectFrom("messages")
    .select(["from_account_id as account_id", (eb) => eb.fn.countAll<number>().as("n")])
    .where("from_account_id", "in", accountIds)
    .groupBy("from_account_id")
    .execute();
  for (const row of sent) counts.set(row.account_id, Number(row.n));
  return counts;
}

/**
 * Messages waiting to be processed (accepted or delivered, not expired), in the whole network. Counted over the
 * expiry index, which holds exactly those rows: the cost follows the backlog, not the table.
 */
export async function pendingMessageCount(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom("messages")
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .where("status", "in", ["accepted", "delivered"])
    .where("expires_at", ">", new Date())
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
