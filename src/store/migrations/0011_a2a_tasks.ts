import { type Kysely, sql } from "kysely";

// A2A tasks (src/a2a/): the A2A side of a request sent through the A2A bindings. Listed by owner, newest first,
// optionally within one context.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("a2a_tasks")
    .ifNotExists()
    .addColumn("task_id", "text", (c) => c.primaryKey())
    .addColumn("context_id", "text", (c) => c.notNull())
    .addColumn("owner_user_id", "text", (c) => c.notNull())
    .addColumn("sender_account_id", "text", (c) => c.notNull())
    .addColumn("agent_account_id", "text", (c) => c.notNull())
    .addColumn("agent_username", "text", (c) => c.notNull())
    .addColumn("thread_id", "text", (c) => c.notNull())
    .addColumn("request_message_id", "text", (c) => c.notNull().unique())
    .addColumn("message", "jsonb", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("state_at", "timestamptz", (c) => c.notNull())
    .addColumn("canceled_at", "timestamptz")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create index if not exists a2a_tasks_owner_idx on a2a_tasks (owner_user_id, created_at desc, task_id desc)`.execute(db);
  await sql`create index if not exists a2a_tasks_context_idx on a2a_tasks (owner_user_id, context_id, created_at desc)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("a2a_tasks").ifExists().execute();
}
