import { type Kysely, sql } from "kysely";
import type { Database } from "../store/schema.js";

/** The registry's sizes, for metrics: agent accounts, and sessions online in the whole network. */
export async function registryFigures(db: Kysely<Database>): Promise<{ accounts: number; accountsOnline: number; sessionsOnline: number }> {
  // One statement; the online counts walk the partial index of online sessions only.
  const row = await db
    .selectNoFrom([
      sql<string>`(select count(*) from accounts)`.as("accounts"),
      sql<string>`(select count(distinct account_id) from agent_sessions where status = 'online')`.as("accounts_online"),
      sql<string>`(select count(*) from agent_sessions where status = 'online')`.as("online"),
    ])
    .executeTakeFirstOrThrow();
  return { accounts: Number(row.accounts), accountsOnline: Number(row.accounts_online), sessionsOnline: Number(row.online) };
}

/** The ids of the agent accounts a user owns. */
export async function ownedAccountIds(db: Kysely<Database>, userId: string): Promise<string[]> {
  const rows = await db.selectFrom("accounts").select("account_id").where("owner_user_id", "=", userId).execute();
  return rows.map((r) => r.account_id);
}
