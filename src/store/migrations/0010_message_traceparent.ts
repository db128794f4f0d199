import { type Kysely, sql } from "kysely";

// The W3C trace context a message was sent in (`traceparent`: "00-<trace id>-<span id>-<flags>"), so that its
// delivery, on whichever gateway and however late, continues the sender's trace. Empty when it was sent outside
// any trace. A constant default: PostgreSQL adds the column without rewriting the table.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table messages add column if not exists traceparent text not null default ''`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table messages drop column if exists traceparent`.execute(db);
}
