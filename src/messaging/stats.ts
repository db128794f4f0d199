import { type Kysely, sql } from "kysely";
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

/** The newest message's seq (0 when none): messages are numbered in storage order, so its growth is the rate. */
export async function latestMessageSeq(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom("messages")
    .select((eb) => eb.fn.max("seq").as("seq"))
    .executeTakeFirst();
  return Number(row?.seq ?? 0);
}

/**
 * For some accounts: messages waiting for them (over the inbox index), and messages they sent or received after
 * `afterSeq` (a range of the seq index, not the table; 0 when `afterSeq` is undefined).
 */
export async function accountTraffic(
  db: Kysely<Database>,
  accountIds: string[],
  afterSeq: number | undefined,
): Promise<{ pending: number; recent: number }> {
  if (accountIds.length === 0) return { pending: 0, recent: 0 };
  const row = await db
    .selectNoFrom((eb) => [
      eb
        .selectFrom("messages")
        .select(eb.fn.countAll<string>().as("n"))
        .where("to_account_id", "in", accountIds)
        .where("status", "in", ["accepted", "delivered"])
        .where("expires_at", ">", new Date())
        .as("pending"),
      afterSeq === undefined
        ? sql<string>`0`.as("recent")
        : eb
            .selectFrom("messages")
            .select(eb.fn.countAll<string>().as("n"))
            .where("seq", ">", afterSeq)
            .where((w) => w.or([w("from_account_id", "in", accountIds), w("to_account_id", "in", accountIds)]))
            .as("recent"),
    ])
    .executeTakeFirstOrThrow();
  return { pending: Number(row.pending), recent: Number(row.recent) };
}
