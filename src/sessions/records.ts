import type { Selectable } from "kysely";
import type { ChatSessionAgentsTable, ChatSessionEventsTable, ChatSessionsTable, SessionStatusName, SessionTypeName } from "./tables.js";

import type { SessionEventRecord } from "../wire/index.js";

// The sessions domain's records as services see them (no transport types, no rows).

export type AgentStateName = "active" | "inactive" | "cooldown" | "error";

export interface SessionAgentRecord {
  name: string;
  accountId: string;
  username: string;
  provider: string;
  model: string;
  capabilities: string[];
  personality: string;
  status: AgentStateName;
  cooldownUntil: Date | null;
  metadata: Record<string, unknown>;
  messageCount: number;
}

export interface SessionRecord {
  sessionId: string;
  sessionType: SessionTypeName;
  status: SessionStatusName;
  createdAt: Date;
  updatedAt: Date;
  /** The earlier of the lifetime's end and the inactivity deadline. */
  expiresAt: Date;
  agents: SessionAgentRecord[];
  interactionModes: string[];
  metadata: Record<string, unknown>;
  maxTurns: number;
  turnCount: number;
  goal: string;
  threadId: string;
  owner: string;
  ownerUserId: string;
  lastSeq: number;
  stopReason: string;
  lastActivityAt: Date;
}

export type { SessionEventRecord } from "../wire/index.js";

/** An event to store: its type and whatever else it carries. */
export type EventDraft = Pick<SessionEventRecord, "type"> &
  Partial<Omit<SessionEventRecord, "sessionId" | "seq" | "type" | "timestamp">> & { idempotencyKey?: string };

/** The state of an agent as AgentConnect names it, at `now`. */
export function agentState(
  session: Pick<Selectable<ChatSessionsTable>, "status">,
  agent: Pick<Selectable<ChatSessionAgentsTable>, "status" | "cooldown_until">,
  now: Date,
): AgentStateName {
  if (session.status !== "active") return "inactive";
  if (agent.cooldown_until !== null && agent.cooldown_until > now) return "cooldown";
  return agent.status;
}

export function toAgentRecord(
  session: Selectable<ChatSessionsTable>,
  row: Selectable<ChatSessionAgentsTable>,
  now: Date,
): SessionAgentRecord {
  const status = agentState(session, row, now);
  return {
    name: row.name,
    accountId: row.account_id,
    username: row.username,
    provider: row.provider,
    model: row.model,
    capabilities: row.capabilities,
    personality: row.personality,
    status,
    cooldownUntil: status === "cooldown" ? row.cooldown_until : null,
    metadata: row.metadata,
    messageCount: row.message_count,
  };
}

export function toSessionRecord(
  row: Selectable<ChatSessionsTable>,
  agents: Selectable<ChatSessionAgentsTable>[],
  inactivitySeconds: number,
  now = new Date(),
): SessionRecord {
  const idleDeadline = new Date(row.last_activity_at.getTime() + inactivitySeconds * 1000);
  return {
    sessionId: row.session_id,
    sessionType: row.session_type,
    status: row.status,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: idleDeadline < row.expires_at ? idleDeadline : row.expires_at,
    agents: agents.map((a) => toAgentRecord(row, a, now)).sort((a, b) => (a.name < b.name ? -1 : 1)),
    interactionModes: row.interaction_modes,
    metadata: row.metadata,
    maxTurns: row.max_turns,
    turnCount: row.turn_count,
    goal: row.goal,
    threadId: row.thread_id,
    owner: row.owner_username,
    ownerUserId: row.owner_user_id,
    lastSeq: row.last_seq,
    stopReason: row.stop_reason,
    lastActivityAt: row.last_activity_at,
  };
}

export function toEventRecord(row: Selectable<ChatSessionEventsTable>): SessionEventRecord {
  return {
    sessionId: row.session_id,
    seq: row.seq,
    type: row.type,
    content: row.content,
    sender: row.sender,
    receiver: row.receiver,
    timestamp: row.ts,
    metadata: row.metadata,
    role: row.role,
    responseId: row.response_id,
    turn: row.turn,
    cooldownUntil: row.cooldown_until,
    reason: row.reason,
    messageId: row.message_id,
  };
}
