import { type Kysely, sql } from "kysely";

// thread_participants loses its foreign key to threads. Every participant row is written by the statement (or
// transaction) that writes its thread, and retention deletes both explicitly (src/messaging/prune.ts), so the key
// guarded nothing; it cost a trigger call and a row lock of the thread per participant row — two per message sent
// into a new thread — about a sixth of PostgreSQL's CPU per message under load.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table thread_participants drop constraint if exists thread_participants_thread_id_fkey`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`delete from thread_participants p where not exists (select 1 from threads t where t.thread_id = p.thread_id)`.execute(db);
  await sql`alter table thread_participants add constraint thread_participants_thread_id_fkey
            foreign key (thread_id) references threads (thread_id) on delete cascade`.execute(db);
}
