import { type Kysely, type Selectable, sql } from "kysely";
import { lockedInOrder } from "../store/locked-in-order.js";
import type { Database } from "../store/schema.js";
import { expiryAfter } from "./sessions.js";
import type { AgentSessionsTable } from "./tables.js";

// The leases of sessions held by this gateway's open Subscribe streams, renewed in chunks. Heartbeat batches
// renew some of the same sessions at the same time (an agent may heartbeat while its stream is open) and lock
// them in session_tag order, so these lock in that order too: with `session_tag in (…)` a chunk was locked in
// storage order, and a chunk crossing a heartbeat batch deadlocked (40P01, INTERNAL to the heartbeat's caller).

/**
 * Takes hold of the given sessions for Subscribe streams opening on `gatewayId`: the live ones (online and inside
 * their lease) are marked held and renewed. Returns the tags taken. Streams open by the thousand when a fleet of
 * agents (re)connects; one statement for all that open together costs the gateway and PostgreSQL far less than
 * one each.
 */
export function holdLeases(
  db: Kysely<Database>,
  sessionTags: readonly string[],
  opts: { ttlSeconds: number; gatewayId: string },
): Promise<Set<string>> {
  return markHeld(db, sessionTags, opts, true);
}

/** Renews the live ones of the given sessions, marked held by `gatewayId`; returns the tags renewed. */
export function renewHeldLeases(
  db: Kysely<Database>,
  sessionTags: readonly string[],
  opts: { ttlSeconds: number; gatewayId: string },
): Promise<Set<string>> {
  // A held session past its lease that no sweeper has evicted yet is still this gateway's: renewed, not refused.
  return markHeld(db, sessionTags, opts, false);
}

async function markHeld(
  db: Kysely<Database>,
  sessionTags: readonly string[],
  opts: { ttlSeconds: number; gatewayId: string },
  insideLease: boolean,
): Promise<Set<string>> {
  let update = db
    .updateTable("agent_sessions")
    .set({ subscribed: true, last_seen_at: sql<Date>`now()`, expires_at: expiryAfter(opts.ttlSeconds), gateway_id: opts.gatewayId })
    .where("session_tag", "=", lockedInOrder("agent_sessions", "session_tag", sessionTags))
    .where("status", "=", "online");
  if (insideLease) update = update.where("expires_at", ">", sql<Date>`now()`);
  const rows = await update.returning("session_tag").execute();
  return new Set(rows.map((r) => r.session_tag));
}

/**
 * Brings back online the given sessions that were evicted for a missed lease (this gateway stalled past the TTL
 * while their streams stayed open); deregistered ones stay ended. Returns the revived sessions.
 */
export async function reviveHeldLeases(
  db: Kysely<Database>,
  sessionTags: readonly string[],
  opts: { ttlSeconds: number; gatewayId: string },
): Promise<Array<Selectable<AgentSessionsTable>>> {
  return db
    .updateTable("agent_sessions")
    .set({
      status: "online",
      disconnected_at: null,
      offline_reason: "",
      last_seen_at: sql<Date>`now()`,
      expires_at: expiryAfter(opts.ttlSeconds),
      subscribed: true,
      gateway_id: opts.gatewayId,
    })
    .where("session_tag", "=", lockedInOrder("agent_sessions", "session_tag", sessionTags))
    .where("status", "=", "offline")
    .where("offline_reason", "=", "ttl_expired")
    .returningAll()
    .execute();
}
