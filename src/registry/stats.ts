import { type Kysely, sql } from "kysely";
import type { Database } from "../store/schema.js";

/** The registry's sizes, for metrics: agent accounts, and sessions online in the whole network. */
export async function registryFigures(db: Kysely<Database>): Promise<{ accounts: number; sessionsOnline: number }> {
  // One statement; the online count walks the partial index of online sessions only.
  const row = await db
    .selectNoFrom([
      sql<string>`(select count(*) from accounts)`.as("accounts"),
      sql<string>`(select count(*) from agent_sessions where status = 'online')`.as("online"),
    ])
    .executeTakeFirstOrThrow();
  return { accounts: Number(row.accounts), sessionsOnline: Number(row.online) };
}
