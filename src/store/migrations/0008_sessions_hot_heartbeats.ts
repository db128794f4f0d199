import { type Kysely, sql } from "kysely";

// Heartbeats rewrite a session's expires_at, last_seen_at and gateway_id, and nothing else. With expires_at indexed
// every heartbeat was a new row version plus an entry in each of the table's indexes; with no changed column in
// any index (or index predicate) and room left on each page (fillfactor), PostgreSQL renews the lease in place
// (a HOT update). The sweeper finds expired sessions through a partial index of the online ones instead: a few
// thousand rows read per sweep, against an index entry per heartbeat.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists agent_sessions_expiry_idx`.execute(db);
  await sql`create index if not exists agent_sessions_online_idx on agent_sessions (account_id) where status = 'online'`.execute(db);
  await sql`alter table agent_sessions set (fillfactor = 70)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table agent_sessions reset (fillfactor)`.execute(db);
  await sql`drop index if exists agent_sessions_online_idx`.execute(db);
  await sql`create index if not exists agent_sessions_expiry_idx on agent_sessions (expires_at) where status = 'online'`.execute(db);
}
