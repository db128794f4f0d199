import { type Kysely, sql } from "kysely";
import type { Database } from "../../src/store/schema.js";

/**
 * Runs `change` on rows stored in the reverse of their key order (a plan that visits rows as they lie on disk meets
 * the highest key first), given to it in storage order, while another transaction holds the middle row; checks
 * with NOWAIT that the waiting statement holds none of the rows after it (so two such statements wait for each
 * other instead of deadlocking), then lets it finish and returns what it returned.
 */
export async function crossingTheMiddle<T>(options: {
  db: Kysely<Database>;
  table: "messages" | "agent_sessions";
  key: "message_id" | "session_tag";
  /** The rows' keys, ascending; the rows must exist, inserted in the reverse of this order. */
  sorted: string[];
  change: (keysInStorageOrder: string[]) => Promise<T>;
}): Promise<T> {
  const { db, table, key, sorted, change } = options;
  const middle = sorted[Math.floor(sorted.length / 2)]!;
  const lockRow = (trx: Kysely<Database>, k: string, nowait: boolean) =>
    sql`select 1 from ${sql.table(table)} where ${sql.ref(key)} = ${k} for update ${sql.raw(nowait ? "nowait" : "")}`.execute(trx);
  await sql`analyze ${sql.table(table)}`.execute(db);
  const { pending } = await db.transaction().execute(async (trx) => {
    await lockRow(trx, middle, false);
    const pending = change([...sorted].reverse());
    const waiting = async () =>
      (
        await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
          where wait_event_type = 'Lock' and datname = current_database() and query ilike ${`%update%${table}%`}`.execute(db)
      ).rows[0]!.n;
    for (const deadline = Date.now() + 20_000; (await waiting()) === 0; ) {
      if (Date.now() > deadline) throw new Error("the statement never waited for the locked row");
      await new Promise((r) => setTimeout(r, 20));
    }
    // NOWAIT fails at once (55P03) if the waiting statement already holds one of these.
    for (const later of sorted.slice(sorted.indexOf(middle) + 1)) await lockRow(trx, later, true);
    // Wrapped: returning the promise itself would make this transaction wait for the statement waiting for it.
    return { pending };
  });
  return pending;
}
