import type { ColumnType, Generated } from "kysely";
import type { A2aTasksTable } from "../a2a/tables.js";
import type { BlobGrantsTable, BlobsTable } from "../blobs/tables.js";
import type { MessagesTable, ReceiptsTable, ThreadParticipantsTable, ThreadsTable } from "../messaging/tables.js";
import type { AccountsTable, AgentSessionsTable } from "../registry/tables.js";
import type { ChatSessionAgentsTable, ChatSessionEventsTable, ChatSessionsTable } from "../sessions/tables.js";
import type { VoiceAgentsTable } from "../voice/tables.js";

// The Kysely view of every table. Each domain declares its tables in its own folder (`<domain>/tables.ts`) and
// owns the queries against them (DESIGN.md: a domain never touches another domain's tables); this file only
// gathers them for Kysely. Auth's tables are declared here.

type CreatedAt = ColumnType<Date, Date | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface UsersTable {
  user_id: string;
  username: string;
  password_hash: string;
  admin: boolean;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface ApiKeysTable {
  key_id: string;
  user_id: string;
  name: string;
  /** First characters of the secret, shown in listings so an operator recognises a key. */
  prefix: string;
  /** SHA-256 of the whole secret, hex. The secret itself is never stored. */
  secret_hash: string;
  created_at: CreatedAt;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** Server-wide secrets generated once and shared by every gateway on the same database (e.g. the JWT key). */
export interface ServerSecretsTable {
  name: string;
  value: string;
  created_at: CreatedAt;
}

export interface Database {
  users: UsersTable;
  api_keys: ApiKeysTable;
  server_secrets: ServerSecretsTable;
  accounts: AccountsTable;
  agent_sessions: AgentSessionsTable;
  messages: MessagesTable;
  receipts: ReceiptsTable;
  threads: ThreadsTable;
  thread_participants: ThreadParticipantsTable;
  blobs: BlobsTable;
  blob_grants: BlobGrantsTable;
  chat_sessions: ChatSessionsTable;
  chat_session_agents: ChatSessionAgentsTable;
  chat_session_events: ChatSessionEventsTable;
  voice_agents: VoiceAgentsTable;
  a2a_tasks: A2aTasksTable;
}

export type { Generated };
