import type { ColumnType, Generated } from "kysely";

type CreatedAt = ColumnType<Date, Date | undefined, never>;
type Json = ColumnType<Record<string, unknown>, string, string>;

/** An agent account: stable identity and inbox address, owned by one user. */
export interface AccountsTable {
  account_id: string;
  username: string;
  owner_user_id: string;
  /** The owner's username, copied at creation (users are never renamed) so listings need no join into auth. */
  owner_username: string;
  /** `external` (registered through a client) or `hosted` (a chat session's AI agent, SessionService). */
  agent_type: ColumnType<"external" | "hosted", "external" | "hosted" | undefined, "external" | "hosted">;
  agent_id: string;
  display_name: string;
  bio: string;
  capabilities: ColumnType<string[], string[], string[]>;
  metadata: Json;
  visibility: "public" | "private";
  /** Raw 32-byte Ed25519 public key; null when none is bound. */
  public_key: Uint8Array | null;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | undefined, Date>;
  /** Last time a session that has since ended was seen; live sessions carry their own `last_seen_at`. */
  last_seen_at: Date | null;
}

/** One running process of an account (the seed's agent session). */
export interface AgentSessionsTable {
  session_tag: string;
  account_id: string;
  agent_id: string;
  gateway_id: string;
  connected_at: CreatedAt;
  last_seen_at: Date;
  /** Evicted after this unless renewed by a heartbeat or an open Subscribe stream. */
  expires_at: Date;
  status: "online" | "offline";
  disconnected_at: Date | null;
  /** Why an offline session ended: `deregistered` or `ttl_expired`; empty while online. */
  offline_reason: ColumnType<"" | "deregistered" | "ttl_expired", "" | undefined, "" | "deregistered" | "ttl_expired">;
  /**
   * True while a Subscribe stream holds the session (Presence.holdSession). The holding gateway re-asserts it on
   * every renewal, so a stale false from a second stream's release heals itself. Informational.
   */
  subscribed: ColumnType<boolean, boolean | undefined, boolean>;
  metadata: Json;
}

export type { Generated };
