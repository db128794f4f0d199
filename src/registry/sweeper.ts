import { type Kysely, type Selectable, sql } from "kysely";
import type { Database } from "../store/schema.js";
import { type SessionRecord, toSession } from "./profiles.js";
import type { AgentSessionsTable } from "./tables.js";

// The store side of the presence sweeper. Every gateway runs it; `FOR UPDATE SKIP LOCKED` plus re-checking the
// status in the UPDATE means each expired session is evicted by exactly one of them, so exactly one offline
// event is published per eviction. Work is done in bounded batches so no sweep holds many locks or runs long.

/**
 * Marks up to `limit` live sessions past their expiry offline (`ttl_expired`) and folds their last-seen time
 * into their accounts. Returns the sessions this call evicted.
 */
export async function evictExpired(db: Kysely<Database>, limit: number): Promise<SessionRecord[]> {
  const { rows } = await sql<Selectable<AgentSessionsTable>>`
    with evicted as (
      update agent_sessions
         set status = 'offline', disconnected_at = now(), offline_reason = 'ttl_expired', subscribed = false
       where session_tag in (
               select session_tag from agent_sessions
                where status = 'online' and expires_at < now()
                order by expires_at
                limit ${limit}
                for update skip locked)
         and status = 'online'
      returning *
    ), touched as (
      update accounts a
         set last_seen_at = greatest(a.last_seen_at, e.seen)
        from (select account_id, max(last_seen_at) as seen from evicted group by account_id) e
       where a.account_id = e.account_id
    )
    select * from evicted`.execute(db);
  return rows.map(toSession);
}

/** Deletes up to `limit` sessions that went offline more than `retentionDays` ago. Returns how many. */
export async function pruneOfflineSessions(db: Kysely<Database>, retentionDays: number, limit: number): Promise<number> {
  const result = await db
    .deleteFrom("agent_sessions")
    .where("session_tag", "in", (eb) =>
      eb
        .selectFrom("agent_sessions")
        .select("session_tag")
        .where("status", "=", "offline")
        .where("disconnected_at", "<", sql<Date>`now() - ${retentionDays}::double precision * interval '1 day'`)
        .orderBy("disconnected_at")
        .limit(limit)
        .forUpdate()
        .skipLocked(),
    )
    .where("status", "=", "offline")
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
