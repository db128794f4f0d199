import { type Kysely, type Transaction, sql } from "kysely";
import { newUlid } from "../ids.js";
import type { Principal } from "../auth/index.js";
import { DomainError, invalidArgument } from "../errors.js";
import type { Database } from "../store/schema.js";
import { isOnline, mayActAs } from "./accounts.js";
import { type SessionRecord, toSession } from "./profiles.js";

// Sessions: one per running agent process (per Register). Times come from the database clock (`now()`), so
// gateways with skewed clocks agree on who is expired.

/** `now() + ttl`, computed by the database. */
export function expiryAfter(ttlSeconds: number) {
  return sql<Date>`now() + ${ttlSeconds}::double precision * interval '1 second'`;
}

export async function openSession(
  db: Kysely<Database> | Transaction<Database>,
  input: { accountId: string; agentId: string; gatewayId: string; ttlSeconds: number; metadataJson: string },
): Promise<SessionRecord> {
  const row = await db
    .insertInto("agent_sessions")
    .values({
      session_tag: `sess_${newUlid()}`,
      account_id: input.accountId,
      agent_id: input.agentId,
      gateway_id: input.gatewayId,
      connected_at: sql<Date>`now()`,
      last_seen_at: sql<Date>`now()`,
      expires_at: expiryAfter(input.ttlSeconds),
      status: "online",
      metadata: input.metadataJson,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toSession(row);
}

export interface Lease {
  accountId: string;
  sessionTag: string;
  expiresAt: Date;
}

/**
 * Why a heartbeat renewed nothing (see Heartbeats): PERMISSION_DENIED for a session of an account the caller does
 * not own, else NOT_FOUND `session_not_found`.
 */
export async function refusedHeartbeat(db: Kysely<Database>, caller: Principal, sessionTag: string): Promise<never> {
  const session = await sessionWithOwner(db, sessionTag);
  if (session && !mayActAs(caller, session)) throw notOwner(session.accountId);
  throw new DomainError(
    "not_found",
    "session_not_found",
    `no live session ${sessionTag} (unknown, deregistered or evicted after its TTL): call Register again`,
  );
}

export interface Ended {
  /** The session that this call ended; null when it was unknown or already over. */
  session: SessionRecord | null;
  accountId: string | null;
  /** Whether the account is still online through other sessions. */
  accountOnline: boolean;
}

/** Ends a session at once (the seed's goodbye). Unknown or already ended sessions succeed. */
export async function deregister(db: Kysely<Database>, caller: Principal, sessionTag: string): Promise<Ended> {
  if (sessionTag.trim() === "") throw invalidArgument("session_tag", "must not be empty");
  const existing = await sessionWithOwner(db, sessionTag);
  if (!existing) return { session: null, accountId: null, accountOnline: false };
  if (!mayActAs(caller, existing)) throw notOwner(existing.accountId);
  const ended = await db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable("agent_sessions")
      .set({ status: "offline", disconnected_at: sql<Date>`now()`, offline_reason: "deregistered", subscribed: false })
      .where("session_tag", "=", sessionTag)
      .where("status", "=", "online")
      .returningAll()
      .executeTakeFirst();
    if (row) {
      await trx
        .updateTable("accounts")
        .set({ last_seen_at: sql<Date>`greatest(last_seen_at, now())` })
        .where("account_id", "=", row.account_id)
        .execute();
    }
    return row;
  });
  return {
    session: ended ? toSession(ended) : null,
    accountId: existing.accountId,
    accountOnline: await isOnline(db, existing.accountId),
  };
}

async function sessionWithOwner(db: Kysely<Database>, sessionTag: string) {
  const row = await db
    .selectFrom("agent_sessions")
    .innerJoin("accounts", "accounts.account_id", "agent_sessions.account_id")
    .select(["agent_sessions.account_id", "accounts.owner_user_id"])
    .where("agent_sessions.session_tag", "=", sessionTag)
    .executeTakeFirst();
  return row && { accountId: row.account_id, ownerUserId: row.owner_user_id };
}

function notOwner(accountId: string): DomainError {
  return new DomainError("permission_denied", "not_account_owner", `the session belongs to account ${accountId}, which you do not own`);
}
