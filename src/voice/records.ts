import type { Kysely, Selectable } from "kysely";
import type { Database } from "../store/schema.js";
import type { VoiceAgentState, VoiceAgentsTable } from "./tables.js";

// The voice domain's queries. Only src/voice touches the voice_agents table.

export const FINAL_STATES: readonly VoiceAgentState[] = ["stopped", "failed"];

export interface VoiceAgentRecord {
  agentId: string;
  name: string;
  ownerUserId: string;
  ownerUsername: string;
  channelName: string;
  agentUid: string;
  remoteUids: string[];
  status: VoiceAgentState;
  llmModel: string;
  ttsVendor: string;
  asrVendor: string;
  createdAt: Date;
  updatedAt: Date;
  stoppedAt: Date | null;
  maxRunUntil: Date;
  lastError: string;
}

export function isLive(status: VoiceAgentState): boolean {
  return !FINAL_STATES.includes(status);
}

export type NewVoiceAgent = Omit<VoiceAgentRecord, "updatedAt" | "stoppedAt" | "lastError">;

/** Records a started agent unless a record with its id exists; returns the record that is stored either way. */
export async function insertAgent(db: Kysely<Database>, agent: NewVoiceAgent): Promise<VoiceAgentRecord> {
  await db
    .insertInto("voice_agents")
    .values({
      agent_id: agent.agentId,
      name: agent.name,
      owner_user_id: agent.ownerUserId,
      owner_username: agent.ownerUsername,
      channel_name: agent.channelName,
      agent_uid: agent.agentUid,
      remote_uids: agent.remoteUids,
      status: agent.status,
      llm_model: agent.llmModel,
      tts_vendor: agent.ttsVendor,
      asr_vendor: agent.asrVendor,
      // Set here, in milliseconds, so keyset paging on it round-trips through JavaScript Dates exactly.
      created_at: agent.createdAt,
      updated_at: agent.createdAt,
      max_run_until: agent.maxRunUntil,
      stopped_at: null,
      last_error: "",
    })
    .onConflict((oc) => oc.column("agent_id").doNothing())
    .execute();
  const stored = await findAgent(db, agent.agentId);
  if (!stored) throw new Error(`voice agent ${agent.agentId} vanished right after it was recorded`);
  return stored;
}

export async function findAgent(db: Kysely<Database>, agentId: string): Promise<VoiceAgentRecord | undefined> {
  const row = await db.selectFrom("voice_agents").selectAll().where("agent_id", "=", agentId).executeTakeFirst();
  return row && toRecord(row);
}

/** The live agent with this name, if any (Agora keeps names unique among running agents). */
export async function findLiveAgentByName(db: Kysely<Database>, name: string): Promise<VoiceAgentRecord | undefined> {
  const row = await db
    .selectFrom("voice_agents")
    .selectAll()
    .where("name", "=", name)
    .where("status", "not in", FINAL_STATES)
    .orderBy("created_at", "desc")
    .executeTakeFirst();
  return row && toRecord(row);
}

export interface AgentUpdate {
  status?: VoiceAgentState;
  stoppedAt?: Date | null;
  lastError?: string;
}

export async function updateAgent(
  db: Kysely<Database>,
  agentId: string,
  update: AgentUpdate,
  now = new Date(),
): Promise<VoiceAgentRecord | undefined> {
  const row = await db
    .updateTable("voice_agents")
    .set({
      updated_at: now,
      ...(update.status === undefined ? {} : { status: update.status }),
      ...(update.stoppedAt === undefined ? {} : { stopped_at: update.stoppedAt }),
      ...(update.lastError === undefined ? {} : { last_error: update.lastError }),
    })
    .where("agent_id", "=", agentId)
    .returningAll()
    .executeTakeFirst();
  return row && toRecord(row);
}

export interface ListQuery {
  /** Only this owner's agents; undefined = everyone's. */
  ownerUserId: string | undefined;
  channelName: string | undefined;
  status: VoiceAgentState | undefined;
  /** Keyset position: rows strictly older than this (created_at, agent_id). */
  after: { createdAt: Date; agentId: string } | undefined;
  limit: number;
}

export async function listAgents(db: Kysely<Database>, q: ListQuery): Promise<VoiceAgentRecord[]> {
  let query = db.selectFrom("voice_agents").selectAll();
  if (q.ownerUserId !== undefined) query = query.where("owner_user_id", "=", q.ownerUserId);
  if (q.channelName !== undefined) query = query.where("channel_name", "=", q.channelName);
  if (q.status !== undefined) query = query.where("status", "=", q.status);
  const after = q.after;
  if (after) {
    query = query.where((eb) =>
      eb.or([eb("created_at", "<", after.createdAt), eb.and([eb("created_at", "=", after.createdAt), eb("agent_id", "<", after.agentId)])]),
    );
  }
  const rows = await query.orderBy("created_at", "desc").orderBy("agent_id", "desc").limit(q.limit).execute();
  return rows.map(toRecord);
}

/**
 * Claims up to `limit` live agents past their deadline for the watchdog: they turn `stopping`. Rows are locked
 * with SKIP LOCKED, so gateways sweeping together take disjoint agents; a claim older than `reclaimAfterMs`
 * (a gateway died between claiming and stopping) is taken again.
 */
export async function claimOverdueAgents(
  db: Kysely<Database>,
  now: Date,
  limit: number,
  reclaimAfterMs: number,
): Promise<VoiceAgentRecord[]> {
  return db.transaction().execute(async (trx) => {
    const rows = await trx
      .selectFrom("voice_agents")
      .select("agent_id")
      .where("status", "not in", FINAL_STATES)
      .where("max_run_until", "<=", now)
      .where((eb) => eb.or([eb("status", "!=", "stopping"), eb("updated_at", "<", new Date(now.getTime() - reclaimAfterMs))]))
      .orderBy("max_run_until")
      .limit(limit)
      .forUpdate()
      .skipLocked()
      .execute();
    if (rows.length === 0) return [];
    const claimed = await trx
      .updateTable("voice_agents")
      .set({ status: "stopping", updated_at: now })
      .where(
        "agent_id",
        "in",
        rows.map((r) => r.agent_id),
      )
      .returningAll()
      .execute();
    return claimed.map(toRecord);
  });
}

function toRecord(row: Selectable<VoiceAgentsTable>): VoiceAgentRecord {
  return {
    agentId: row.agent_id,
    name: row.name,
    ownerUserId: row.owner_user_id,
    ownerUsername: row.owner_username,
    channelName: row.channel_name,
    agentUid: row.agent_uid,
    remoteUids: row.remote_uids,
    status: row.status,
    llmModel: row.llm_model,
    ttsVendor: row.tts_vendor,
    asrVendor: row.asr_vendor,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    stoppedAt: row.stopped_at,
    maxRunUntil: row.max_run_until,
    lastError: row.last_error,
  };
}
