import { type ExpressionBuilder, type Kysely, type Selectable, sql } from "kysely";
import type { Principal } from "../auth/index.js";
import { DomainError } from "../errors.js";
import type { Database } from "../store/schema.js";
import { normaliseUsername } from "./accounts.js";
import type { ProfileRecord, SessionRecord } from "../wire/index.js";
import type { AccountsTable, AgentSessionsTable } from "./tables.js";

// Profiles as the registry's readers see them: an account plus a summary of its live sessions. "Live" is the one
// definition used everywhere: status 'online' and not past its expiry (the sweeper may not have run yet).

export type { ProfileRecord, SessionRecord, Visibility } from "../wire/index.js";

type AccountRow = Selectable<AccountsTable> & { session_count: number | null; live_seen_at: Date | null };

/** Accounts with their live-session count and the last time a live session was seen. */
export function profileQuery(db: Kysely<Database>) {
  // One lateral aggregate per account rather than a correlated subquery per column: a query that filters or sorts
  // on the count (ListOnline, SearchAgents' online-first order) otherwise ran the same subquery two or three times
  // per candidate row, which with 10,000 matches was most of a search's time.
  return db
    .selectFrom("accounts")
    .leftJoinLateral(
      (eb) =>
        eb
          .selectFrom("agent_sessions")
          .select((s) => [s.fn.countAll<number>().as("n"), s.fn.max("agent_sessions.last_seen_at").as("m")])
          .whereRef("agent_sessions.account_id", "=", "accounts.account_id")
          .where("agent_sessions.status", "=", "online")
          .where("agent_sessions.expires_at", ">", sql<Date>`now()`)
          .as("live"),
      (join) => join.onTrue(),
    )
    .selectAll("accounts")
    .select(["live.n as session_count", "live.m as live_seen_at"]);
}

/** The accounts a viewer may discover: public ones, its own, and every one for admins. */
export function visibleTo(viewer: Principal) {
  return (eb: ExpressionBuilder<Database, "accounts">) =>
    viewer.admin ? eb.lit(true) : eb.or([eb("accounts.visibility", "=", "public"), eb("accounts.owner_user_id", "=", viewer.userId)]);
}

export function mayDiscover(viewer: Principal, profile: Pick<ProfileRecord, "visibility" | "ownerUserId">): boolean {
  return viewer.admin || profile.visibility === "public" || profile.ownerUserId === viewer.userId;
}

export function toProfile(row: AccountRow): ProfileRecord {
  const sessionCount = Number(row.session_count ?? 0);
  return {
    accountId: row.account_id,
    username: row.username,
    displayName: row.display_name,
    agentId: row.agent_id,
    agentType: row.agent_type,
    bio: row.bio,
    capabilities: row.capabilities,
    metadata: row.metadata,
    visibility: row.visibility,
    online: sessionCount > 0,
    sessionCount,
    lastSeenAt: latest(row.last_seen_at, row.live_seen_at),
    ownerUserId: row.owner_user_id,
    owner: row.owner_username,
    publicKey: row.public_key === null ? null : new Uint8Array(row.public_key),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    sessions: [],
  };
}

export function toSession(row: Selectable<AgentSessionsTable>): SessionRecord {
  return {
    sessionTag: row.session_tag,
    accountId: row.account_id,
    agentId: row.agent_id,
    gatewayId: row.gateway_id,
    connectedAt: row.connected_at,
    lastSeenAt: row.last_seen_at,
    expiresAt: row.expires_at,
    subscribed: row.subscribed,
    metadata: row.metadata,
  };
}

function latest(a: Date | null, b: Date | null): Date | null {
  if (a === null) return b;
  if (b === null) return a;
  return a > b ? a : b;
}

/** Profiles of the given accounts (any visibility), keyed by account id. */
export async function loadProfiles(db: Kysely<Database>, accountIds: readonly string[]): Promise<Map<string, ProfileRecord>> {
  const out = new Map<string, ProfileRecord>();
  const unique = [...new Set(accountIds)];
  for (let i = 0; i < unique.length; i += 500) {
    const rows = await profileQuery(db)
      .where("accounts.account_id", "in", unique.slice(i, i + 500))
      .execute();
    for (const row of rows) out.set(row.account_id, toProfile(row));
  }
  return out;
}

export async function loadProfile(db: Kysely<Database>, accountId: string): Promise<ProfileRecord | undefined> {
  return (await loadProfiles(db, [accountId])).get(accountId);
}

export async function liveSessionsOf(db: Kysely<Database>, accountId: string): Promise<SessionRecord[]> {
  const rows = await db
    .selectFrom("agent_sessions")
    .selectAll()
    .where("account_id", "=", accountId)
    .where("status", "=", "online")
    .where("expires_at", ">", sql<Date>`now()`)
    .orderBy("connected_at")
    .orderBy("session_tag")
    .execute();
  return rows.map(toSession);
}

/** How a caller names an account: by id or by username (normalised; a leading "@" is ignored). */
export type AccountRef = { accountId: string } | { username: string };

/**
 * The profile a viewer asked for. Missing and hidden (another owner's private account) answer alike, so private
 * accounts cannot be probed.
 */
export async function findVisibleProfile(db: Kysely<Database>, viewer: Principal, ref: AccountRef): Promise<ProfileRecord> {
  let query = profileQuery(db).where(visibleTo(viewer));
  let label: string;
  if ("accountId" in ref) {
    query = query.where("accounts.account_id", "=", ref.accountId);
    label = ref.accountId;
  } else {
    const username = normaliseUsername(ref.username);
    query = query.where("accounts.username", "=", username);
    label = `@${username}`;
  }
  const row = await query.executeTakeFirst();
  if (!row) throw new DomainError("not_found", "account_not_found", `no account ${label}`);
  return toProfile(row);
}
