import { type Kysely, sql } from "kysely";
import type { Database } from "../store/schema.js";
import { type AgentStateName, agentState } from "./records.js";

// What the registry shows about hosted agents (GetAgentStatus, ListAgents) that only chat sessions know: the
// provider and model, the cooldown, and whether the agent's session is running. The registry calls these
// functions instead of reading the sessions domain's tables.

export interface HostedAgentInfo {
  provider: string;
  model: string;
  state: AgentStateName;
  /** Set while cooling down. */
  cooldownUntil: Date | null;
  /** Active chat sessions the agent is in (a hosted agent belongs to one session: 1 while it runs, else 0). */
  activeConversations: number;
  interactionModes: string[];
  lastActive: Date | null;
  running: boolean;
}

/** Hosted-agent facts by account id; accounts that are not hosted agents of a session are absent. */
export async function hostedAgentInfo(db: Kysely<Database>, accountIds: readonly string[]): Promise<Map<string, HostedAgentInfo>> {
  const out = new Map<string, HostedAgentInfo>();
  if (accountIds.length === 0) return out;
  const rows = await db
    .selectFrom("chat_session_agents as a")
    .innerJoin("chat_sessions as s", "s.session_id", "a.session_id")
    .select([
      "a.account_id",
      "a.provider",
      "a.model",
      "a.status",
      "a.cooldown_until",
      "a.last_active_at",
      "s.status as session_status",
      "s.interaction_modes",
      sql<Date>`now()`.as("now"),
    ])
    .where("a.account_id", "in", [...new Set(accountIds)])
    .execute();
  for (const r of rows) {
    const state = agentState({ status: r.session_status }, { status: r.status, cooldown_until: r.cooldown_until }, r.now);
    const running = r.session_status === "active";
    out.set(r.account_id, {
      provider: r.provider,
      model: r.model,
      state,
      cooldownUntil: state === "cooldown" ? r.cooldown_until : null,
      activeConversations: running ? 1 : 0,
      interactionModes: r.interaction_modes,
      lastActive: r.last_active_at,
      running,
    });
  }
  return out;
}

/**
 * The account ids of hosted agents in a state that presence alone cannot tell (cooling down, or failing), as a
 * subquery for the registry's listings.
 */
export function hostedAgentsInState(db: Kysely<Database>, state: "cooldown" | "error") {
  const query = db
    .selectFrom("chat_session_agents as a")
    .innerJoin("chat_sessions as s", "s.session_id", "a.session_id")
    .select("a.account_id")
    .where("s.status", "=", "active");
  return state === "cooldown"
    ? query.where("a.cooldown_until", ">", sql<Date>`now()`)
    : query
        .where("a.status", "=", "error")
        .where((eb) => eb.or([eb("a.cooldown_until", "is", null), eb("a.cooldown_until", "<=", sql<Date>`now()`)]));
}
