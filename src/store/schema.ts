import type { ColumnType, Generated } from "kysely";

// The Kysely view of every table. Each domain owns its queries against its own tables (see DESIGN.md: a domain
// never touches another domain's tables); this file only declares their shapes, next to the migrations that
// create them.

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
}

export type { Generated };
