import { type Kysely, sql } from "kysely";

// Chat sessions with hosted AI agents (SessionService): sessions with their pending turn, their agents, and
// their events.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("chat_sessions")
    .addColumn("session_id", "text", (c) => c.primaryKey())
    .addColumn("owner_user_id", "text", (c) => c.notNull().references("users.user_id").onDelete("cascade"))
    .addColumn("owner_username", "text", (c) => c.notNull())
    .addColumn("session_type", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("thread_id", "text", (c) => c.notNull())
    .addColumn("interaction_modes", sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn("metadata", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn("max_turns", "integer", (c) => c.notNull())
    .addColumn("turn_count", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("goal", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("stop_word", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("tokens_per_minute", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("first_speaker", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("stop_reason", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("last_seq", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "timestamptz", (c) => c.notNull())
    .addColumn("updated_at", "timestamptz", (c) => c.notNull())
    .addColumn("expires_at", "timestamptz", (c) => c.notNull())
    .addColumn("last_activity_at", "timestamptz", (c) => c.notNull())
    .addColumn("pending_agent", "text")
    .addColumn("pending_serial", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("pending_reply_to", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("pending_not_before", "timestamptz")
    .addColumn("pending_enqueued_at", "timestamptz")
    .addColumn("pending_attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("turn_lease_token", "text")
    .addColumn("turn_lease_until", "timestamptz")
    .execute();
  // ListSessions per owner, newest first (session ids are ULIDs).
  await db.schema.createIndex("chat_sessions_owner_idx").on("chat_sessions").columns(["owner_user_id", "session_id"]).execute();
  // The expiry sweep and the turn sweep only look at active sessions.
  await sql`create index chat_sessions_active_idx on chat_sessions (last_activity_at) where status = 'active'`.execute(db);
  await sql`create index chat_sessions_pending_idx on chat_sessions (pending_not_before)
            where status = 'active' and pending_agent is not null`.execute(db);

  await db.schema
    .createTable("chat_session_agents")
    .addColumn("session_id", "text", (c) => c.notNull().references("chat_sessions.session_id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("account_id", "text", (c) => c.notNull().unique())
    .addColumn("username", "text", (c) => c.notNull())
    .addColumn("provider", "text", (c) => c.notNull())
    .addColumn("model", "text", (c) => c.notNull())
    .addColumn("personality", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("capabilities", sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn("metadata", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn("temperature", "double precision")
    .addColumn("max_output_tokens", "integer")
    .addColumn("status", "text", (c) => c.notNull().defaultTo("active"))
    .addColumn("cooldown_until", "timestamptz")
    .addColumn("message_count", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("window_started_at", "timestamptz")
    .addColumn("window_tokens", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("tokens_total", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("last_active_at", "timestamptz")
    .addPrimaryKeyConstraint("chat_session_agents_pk", ["session_id", "name"])
    .execute();

  await db.schema
    .createTable("chat_session_events")
    .addColumn("session_id", "text", (c) => c.notNull().references("chat_sessions.session_id").onDelete("cascade"))
    .addColumn("seq", "bigint", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("content", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("sender", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("receiver", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("ts", "timestamptz", (c) => c.notNull())
    .addColumn("metadata", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn("role", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("response_id", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("turn", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("cooldown_until", "timestamptz")
    .addColumn("reason", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("message_id", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("idempotency_key", "text")
    .addPrimaryKeyConstraint("chat_session_events_pk", ["session_id", "seq"])
    .execute();
  await sql`create unique index chat_session_events_idempotency_idx on chat_session_events (session_id, idempotency_key)
            where idempotency_key is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("chat_session_events").execute();
  await db.schema.dropTable("chat_session_agents").execute();
  await db.schema.dropTable("chat_sessions").execute();
}
