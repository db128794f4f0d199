import { type Kysely, sql } from "kysely";

// Voice agents started through VoiceAgentService (or the seed's HTTP routes), with owner, channel and status.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("voice_agents")
    .addColumn("agent_id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    // Not a foreign key: agents started through the seed's routes without credentials belong to `anonymous`.
    .addColumn("owner_user_id", "text", (c) => c.notNull())
    .addColumn("owner_username", "text", (c) => c.notNull())
    .addColumn("channel_name", "text", (c) => c.notNull())
    .addColumn("agent_uid", "text", (c) => c.notNull())
    .addColumn("remote_uids", sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("llm_model", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("tts_vendor", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("asr_vendor", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("stopped_at", "timestamptz")
    .addColumn("max_run_until", "timestamptz", (c) => c.notNull())
    .addColumn("last_error", "text", (c) => c.notNull().defaultTo(""))
    .execute();
  // Listings: an owner's agents newest first.
  await db.schema.createIndex("voice_agents_owner_idx").on("voice_agents").columns(["owner_user_id", "created_at"]).execute();
  // The watchdog's scan of live agents by deadline, and the lookup of a running agent by name.
  await sql`create index voice_agents_deadline_idx on voice_agents (max_run_until) where status not in ('stopped', 'failed')`.execute(db);
  await sql`create index voice_agents_live_name_idx on voice_agents (name) where status not in ('stopped', 'failed')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("voice_agents").execute();
}
