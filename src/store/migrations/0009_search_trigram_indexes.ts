import { type Kysely, sql } from "kysely";

// SearchAgents matches a substring of username or display name (ILIKE '%…%'), which no btree index serves: every
// search read every account, 7 ms at 10,000 and growing with them. Trigram indexes (pg_trgm) serve such patterns
// of three characters or more. pg_trgm ships with PostgreSQL (contrib, in Debian's server package and in the
// embedded one) and is a trusted extension, so a database owner may create it; where it is missing or the role may
// not create it, search still works by reading every account, so the migration leaves the indexes out rather than
// failing (a later migration run does not retry: add the extension and create the indexes by hand, as below).
// GiST, not GIN: a GIN trigram index takes an entry per trigram of each name, and names that share most of
// their trigrams ("agent_00421", "agent_00422") all write the same posting pages. Registering 5,000 new agents
// 64 at a time, the insert into accounts took PostgreSQL 0.36 ms per agent with two GIN indexes (fastupdate
// off; with it on, the pending list left the planner pricing the index above a full scan after 10,000
// registrations), most of it those entries; a GiST index takes one entry per name. Searches read a little more
// of a GiST index (one name among 10,000: 0.5 ms against 0.24), far inside what SearchAgents may take.
export async function up(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_available_extensions where name = 'pg_trgm'`.execute(db);
  if (rows[0]?.n !== 1) return;
  // A savepoint: a refused CREATE EXTENSION must not abort the migration's transaction.
  await sql`savepoint trigram`.execute(db);
  try {
    await sql`create extension if not exists pg_trgm`.execute(db);
  } catch {
    await sql`rollback to savepoint trigram`.execute(db);
    return;
  }
  await sql`release savepoint trigram`.execute(db);
  await sql`create index if not exists accounts_username_trgm_idx on accounts using gist (username gist_trgm_ops)`.execute(db);
  await sql`create index if not exists accounts_display_name_trgm_idx on accounts using gist (display_name gist_trgm_ops)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists accounts_display_name_trgm_idx`.execute(db);
  await sql`drop index if exists accounts_username_trgm_idx`.execute(db);
}
