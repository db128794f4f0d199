import type { ColumnType } from "kysely";

type Json<T = Record<string, unknown>> = ColumnType<T, string, string>;
type TextArray = ColumnType<string[], string[], string[]>;
/** A column with a default: optional on insert. */
type Defaulted<T> = ColumnType<T, T | undefined, T>;

export type SessionTypeName = "human_agent" | "agent_agent";
export type SessionStatusName = "active" | "stopped" | "expired";
import type { EventTypeName, RoleName } from "../wire/index.js";

export type { EventTypeName, RoleName };

/**
 * A chat session (SessionService). Besides its settings it carries the session's event counter (`last_seq`) and
 * its one pending turn: the work item the turn queue hands to whichever gateway is free (see turns.ts).
 */
export interface ChatSessionsTable {
  session_id: string;
  owner_user_id: string;
  owner_username: string;
  session_type: SessionTypeName;
  status: SessionStatusName;
  thread_id: string;
  interaction_modes: TextArray;
  metadata: Json;
  /** AGENT_AGENT: agent answers before the session stops; 0 for HUMAN_AGENT. */
  max_turns: number;
  /** Agent answers so far. */
  turn_count: Defaulted<number>;
  goal: string;
  stop_word: string;
  /** Per-agent token budget per window; 0: none. */
  tokens_per_minute: number;
  /** AGENT_AGENT: who speaks first. */
  first_speaker: string;
  /** Why it ended; "" while active. */
  stop_reason: Defaulted<string>;
  /** Sequence number of the latest event; events take the next ones in the transaction that stores them. */
  last_seq: Defaulted<number>;
  created_at: Date;
  updated_at: Date;
  /** created_at + lifetime: the session expires then at the latest. */
  expires_at: Date;
  last_activity_at: Date;
  /** The agent that owes an answer; null when no turn is pending. */
  pending_agent: string | null;
  /** Bumped whenever a new turn is asked for, so a turn that finishes knows whether another one was asked meanwhile. */
  pending_serial: Defaulted<number>;
  /** Seq of the latest message the pending turn answers. */
  pending_reply_to: Defaulted<number>;
  /** The pending turn may not start before this (an agent's cooldown). */
  pending_not_before: Date | null;
  /** When the pending turn was last put on the bus work queue; the sweeper re-enqueues turns nobody claimed. */
  pending_enqueued_at: Date | null;
  /** Claims of the pending turn so far (a turn whose gateways keep dying is given up after a few). */
  pending_attempts: Defaulted<number>;
  /** Set while a gateway runs the pending turn: its claim, valid until `turn_lease_until`. */
  turn_lease_token: string | null;
  turn_lease_until: Date | null;
}

/** One hosted agent of a session, with its registry account and its token window. */
export interface ChatSessionAgentsTable {
  session_id: string;
  name: string;
  account_id: string;
  username: string;
  provider: string;
  model: string;
  personality: string;
  capabilities: TextArray;
  metadata: Json;
  temperature: number | null;
  max_output_tokens: number | null;
  /** `active`, or `error` after a failed provider call (until its next answer). */
  status: Defaulted<"active" | "error">;
  cooldown_until: Date | null;
  /** Answers given in this session. */
  message_count: Defaulted<number>;
  /** Start of the current token window; null before the first answer. */
  window_started_at: Date | null;
  /** Tokens used in the current window. */
  window_tokens: Defaulted<number>;
  tokens_total: Defaulted<number>;
  last_active_at: Date | null;
}

/** Everything that happened in a session, in order. Pings are not stored. */
export interface ChatSessionEventsTable {
  session_id: string;
  seq: number;
  type: EventTypeName;
  content: string;
  sender: string;
  receiver: string;
  ts: Date;
  metadata: Json;
  role: RoleName;
  response_id: string;
  turn: number;
  cooldown_until: Date | null;
  reason: string;
  message_id: string;
  /** SendSessionMessage's idempotency key; unique per session. */
  idempotency_key: string | null;
}
