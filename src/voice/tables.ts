import type { ColumnType } from "kysely";

/** Agora's agent states, lower-cased. `stopped` and `failed` are final. */
export type VoiceAgentState = "idle" | "starting" | "running" | "stopping" | "stopped" | "recovering" | "failed";

/** A Conversational AI agent this server started, with who started it. */
export interface VoiceAgentsTable {
  /** Agora's id of the agent. */
  agent_id: string;
  /** The name it was started with (Agora requires it unique among running agents). */
  name: string;
  /** The user who started it, or `anonymous` for the seed's HTTP routes served without credentials. */
  owner_user_id: string;
  owner_username: string;
  channel_name: string;
  agent_uid: string;
  remote_uids: ColumnType<string[], string[], string[]>;
  status: VoiceAgentState;
  llm_model: string;
  tts_vendor: string;
  asr_vendor: string;
  created_at: ColumnType<Date, Date | undefined, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
  stopped_at: Date | null;
  /** When the watchdog stops it. */
  max_run_until: Date;
  /** Last error reported by Agora or the watchdog; empty when none. */
  last_error: string;
}
