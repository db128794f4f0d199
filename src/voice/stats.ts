import type { Kysely } from "kysely";
import type { Database } from "../store/schema.js";
import type { VoiceAgentState } from "./tables.js";

/** States in which a voice agent is (or may be) running at Agora and costing money. */
const LIVE: VoiceAgentState[] = ["starting", "running", "recovering", "stopping"];

/** Voice agents started by this network and not stopped yet, for metrics. */
export async function liveVoiceAgentCount(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom("voice_agents")
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .where("status", "in", LIVE)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
