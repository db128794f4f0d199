import { type Kysely, sql } from "kysely";

// Messages with their delivery state, receipts, and threads.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("messages")
    .addColumn("seq", "bigint", (c) => c.generatedByDefaultAsIdentity().notNull().unique())
    .addColumn("message_id", "text", (c) => c.primaryKey())
    .addColumn("thread_id", "text", (c) => c.notNull())
    .addColumn("parent_message_id", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("trace_id", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("from_account_id", "text", (c) => c.notNull())
    .addColumn("from_username", "text", (c) => c.notNull())
    .addColumn("from_agent_id", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("from_session_tag", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("to_target", "jsonb", (c) => c.notNull())
    .addColumn("to_account_id", "text", (c) => c.notNull())
    .addColumn("to_username", "text", (c) => c.notNull())
    .addColumn("payload", "jsonb", (c) => c.notNull())
    .addColumn("payload_bytes", "integer", (c) => c.notNull())
    .addColumn("payload_chars", "integer", (c) => c.notNull())
    .addColumn("sent_at", "timestamptz", (c) => c.notNull())
    .addColumn("ttl_ms", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "timestamptz", (c) => c.notNull())
    .addColumn("schema_version", "text", (c) => c.notNull())
    .addColumn("idempotency_key", "text")
    .addColumn("signature", "jsonb")
    .addColumn("blob_ids", sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("delivery_attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("status_session_tag", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("status_code", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("status_detail", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("lease_until", "timestamptz")
    .addColumn("updated_at", "timestamptz", (c) => c.notNull())
    .execute();
  await sql`create unique index messages_idempotency_idx on messages (from_account_id, idempotency_key)
            where idempotency_key is not null`.execute(db);
  // The inbox: what an account still has to process, in storage order.
  await sql`create index messages_pending_idx on messages (to_account_id, seq)
            where status in ('accepted', 'delivered')`.execute(db);
  // The expiry sweep.
  await sql`create index messages_expiry_idx on messages (expires_at) where status in ('accepted', 'delivered')`.execute(db);
  await db.schema.createIndex("messages_thread_idx").on("messages").columns(["thread_id", "seq"]).execute();
  await db.schema.createIndex("messages_from_idx").on("messages").columns(["from_account_id", "seq"]).execute();
  await db.schema.createIndex("messages_to_idx").on("messages").columns(["to_account_id", "seq"]).execute();

  await db.schema
    .createTable("receipts")
    .addColumn("receipt_id", "bigint", (c) => c.generatedByDefaultAsIdentity().primaryKey())
    .addColumn("message_id", "text", (c) => c.notNull())
    .addColumn("sender_account_id", "text", (c) => c.notNull())
    .addColumn("recipient_account_id", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("event_at", "timestamptz", (c) => c.notNull())
    .addColumn("recipient_session_tag", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("thread_id", "text", (c) => c.notNull())
    .addColumn("trace_id", "text", (c) => c.notNull())
    .addColumn("code", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("detail", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("delivery_attempt", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex("receipts_sender_idx").on("receipts").columns(["sender_account_id", "receipt_id"]).execute();
  await db.schema.createIndex("receipts_message_idx").on("receipts").column("message_id").execute();

  await db.schema
    .createTable("threads")
    .addColumn("thread_id", "text", (c) => c.primaryKey())
    .addColumn("created_at", "timestamptz", (c) => c.notNull())
    .addColumn("last_message_at", "timestamptz", (c) => c.notNull())
    .addColumn("last_message_id", "text", (c) => c.notNull())
    .addColumn("message_count", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("byte_count", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("char_count", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("latest_checkpoint_end", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("chat_session_id", "text")
    .execute();
  await db.schema.createIndex("threads_activity_idx").on("threads").columns(["last_message_at", "thread_id"]).execute();

  await db.schema
    .createTable("thread_participants")
    .addColumn("thread_id", "text", (c) => c.notNull().references("threads.thread_id").onDelete("cascade"))
    .addColumn("account_id", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("thread_participants_pk", ["thread_id", "account_id"])
    .execute();
  await db.schema.createIndex("thread_participants_account_idx").on("thread_participants").columns(["account_id", "thread_id"]).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("thread_participants").execute();
  await db.schema.dropTable("threads").execute();
  await db.schema.dropTable("receipts").execute();
  await db.schema.dropTable("messages").execute();
}
