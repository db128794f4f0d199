import { type Kysely, sql } from "kysely";

// Agent accounts and their sessions (presence).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("accounts")
    .addColumn("account_id", "text", (c) => c.primaryKey())
    .addColumn("username", "text", (c) => c.notNull().unique())
    .addColumn("owner_user_id", "text", (c) => c.notNull().references("users.user_id").onDelete("cascade"))
    .addColumn("owner_username", "text", (c) => c.notNull())
    .addColumn("agent_type", "text", (c) => c.notNull().defaultTo("external"))
    .addColumn("agent_id", "text", (c) => c.notNull())
    .addColumn("display_name", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("bio", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("capabilities", sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn("metadata", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn("visibility", "text", (c) => c.notNull().defaultTo("public"))
    .addColumn("public_key", "bytea")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("last_seen_at", "timestamptz")
    .execute();
  await db.schema.createIndex("accounts_owner_idx").on("accounts").column("owner_user_id").execute();
  await sql`create index accounts_capabilities_idx on accounts using gin (capabilities)`.execute(db);

  await db.schema
    .createTable("agent_sessions")
    .addColumn("session_tag", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("accounts.account_id").onDelete("cascade"))
    .addColumn("agent_id", "text", (c) => c.notNull())
    .addColumn("gateway_id", "text", (c) => c.notNull())
    .addColumn("connected_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("last_seen_at", "timestamptz", (c) => c.notNull())
    .addColumn("expires_at", "timestamptz", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("disconnected_at", "timestamptz")
    .addColumn("offline_reason", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("subscribed", "boolean", (c) => c.notNull().defaultTo(false))
    .addColumn("metadata", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  // Sessions per account (live-session counts, cascades), and the eviction sweep's scan of live sessions by expiry.
  await db.schema.createIndex("agent_sessions_account_idx").on("agent_sessions").columns(["account_id", "status"]).execute();
  await sql`create index agent_sessions_expiry_idx on agent_sessions (expires_at) where status = 'online'`.execute(db);
  await sql`create index agent_sessions_offline_idx on agent_sessions (disconnected_at) where status = 'offline'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("agent_sessions").execute();
  await db.schema.dropTable("accounts").execute();
}
