import type { Kysely } from "kysely";
import type { Database } from "../store/schema.js";

/** Chat sessions open now (not stopped or expired), for metrics; counted over the partial index of active ones. */
export async function activeChatSessionCount(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom("chat_sessions")
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .where("status", "=", "active")
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
