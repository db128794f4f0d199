import { type Kysely, type Selectable, sql } from "kysely";
import type { Principal } from "../auth/index.js";
import { DomainError, invalidArgument } from "../errors.js";
import type { Database } from "../store/schema.js";
import type { AccountsTable } from "./tables.js";

// Read-side of the registry that other domains (messaging, blobs, sessions) call: who an account is, who owns it,
// and which account a caller acts as. The write side (Register, UpdateProfile, presence) lives next to it.

export const MAX_USERNAME_LENGTH = 32;

/** An agent account as other domains see it. */
export interface Account {
  accountId: string;
  username: string;
  ownerUserId: string;
  agentId: string;
  displayName: string;
  visibility: "public" | "private";
  capabilities: string[];
  publicKey: Uint8Array | null;
  /** A hosted AI agent of a chat session (agentnet runs it), not an agent that registered itself. */
  hosted: boolean;
}

/**
 * The seed's username normalisation: lowercase; every run of characters outside `a-z0-9._-` becomes one `_`;
 * leading and trailing `._-` trimmed; at most 32 characters. A leading "@" is an address marker, not a character.
 * Returns "" when nothing is left.
 */
export function normaliseUsername(raw: string): string {
  return raw
    .trim()
    .replace(/^@/, "")
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "_")
    .replace(/^[._-]+|[._-]+$/g, "")
    .slice(0, MAX_USERNAME_LENGTH)
    .replace(/[._-]+$/g, "");
}

export function toAccount(row: Selectable<AccountsTable>): Account {
  return {
    accountId: row.account_id,
    username: row.username,
    ownerUserId: row.owner_user_id,
    agentId: row.agent_id,
    displayName: row.display_name,
    visibility: row.visibility,
    capabilities: row.capabilities,
    publicKey: row.public_key,
    hosted: row.agent_type === "hosted",
  };
}

export async function getAccount(db: Kysely<Database>, accountId: string): Promise<Account | undefined> {
  const row = await db.selectFrom("accounts").selectAll().where("account_id", "=", accountId).executeTakeFirst();
  return row && toAccount(row);
}

export async function getAccountByUsername(db: Kysely<Database>, username: string): Promise<Account | undefined> {
  const name = normaliseUsername(username);
  if (name === "") return undefined;
  const row = await db.selectFrom("accounts").selectAll().where("username", "=", name).executeTakeFirst();
  return row && toAccount(row);
}

export async function accountsOwnedBy(db: Kysely<Database>, userId: string): Promise<Account[]> {
  const rows = await db.selectFrom("accounts").selectAll().where("owner_user_id", "=", userId).orderBy("username").execute();
  return rows.map(toAccount);
}

/** True when the caller may act as the account: its owner, or an admin. */
export function mayActAs(principal: Principal, account: Pick<Account, "ownerUserId">): boolean {
  return principal.admin || account.ownerUserId === principal.userId;
}

/** Accounts by id, for many at once (one statement); unknown ids are absent. */
export async function getAccounts(db: Kysely<Database>, accountIds: readonly string[]): Promise<Map<string, Account>> {
  if (accountIds.length === 0) return new Map();
  const rows = await db.selectFrom("accounts").selectAll().where("account_id", "=", anyOf(accountIds)).execute();
  return new Map(rows.map((r) => [r.account_id, toAccount(r)]));
}

/** The accounts of many sessions at once (one statement), by session tag; unknown sessions are absent. */
export async function sessionAccounts(db: Kysely<Database>, sessionTags: readonly string[]): Promise<Map<string, Account>> {
  if (sessionTags.length === 0) return new Map();
  const rows = await db
    .selectFrom("agent_sessions")
    .innerJoin("accounts", "accounts.account_id", "agent_sessions.account_id")
    .selectAll("accounts")
    .select("agent_sessions.session_tag")
    .where("agent_sessions.session_tag", "=", anyOf(sessionTags))
    .execute();
  return new Map(rows.map((r) => [r.session_tag, toAccount(r)]));
}

/** `= any($1)` with one array parameter: the statement's text is the same for any number of keys. */
function anyOf(keys: readonly string[]) {
  return sql<string>`any(${[...keys]}::text[])`;
}

/** The account of a session, with the session's liveness. */
export async function sessionAccount(db: Kysely<Database>, sessionTag: string): Promise<{ account: Account; online: boolean } | undefined> {
  const row = await db
    .selectFrom("agent_sessions")
    .innerJoin("accounts", "accounts.account_id", "agent_sessions.account_id")
    .selectAll("accounts")
    .select(["agent_sessions.status as session_status"])
    .where("agent_sessions.session_tag", "=", sessionTag)
    .executeTakeFirst();
  return row && { account: toAccount(row), online: row.session_status === "online" };
}

/**
 * The account a caller acts as for a call that takes `as_account_id` and `session_tag`: the given account, else
 * the session's account, else the caller's only agent account. The hosted agents of the caller's chat sessions are
 * not counted there (agentnet speaks for them; creating a session must not make the caller's plain Send ambiguous),
 * though the caller may still name one. Refuses accounts the caller does not own.
 */
export async function resolveActingAccount(
  db: Kysely<Database>,
  principal: Principal,
  request: { asAccountId?: string; sessionTag?: string },
): Promise<Account> {
  let account: Account | undefined;
  if (request.asAccountId) {
    account = await getAccount(db, request.asAccountId);
    if (!account) throw new DomainError("not_found", "account_not_found", `no account ${request.asAccountId}`, { field: "as_account_id" });
  } else if (request.sessionTag) {
    const session = await sessionAccount(db, request.sessionTag);
    if (!session) throw new DomainError("not_found", "session_not_found", `no session ${request.sessionTag}`, { field: "session_tag" });
    account = session.account;
  } else {
    const owned = (await accountsOwnedBy(db, principal.userId)).filter((a) => !a.hosted);
    if (owned.length !== 1) {
      throw invalidArgument(
        "as_account_id",
        owned.length === 0
          ? "you own no agent account yet: Register one first"
          : `you own ${owned.length} agent accounts: say which one with as_account_id or session_tag`,
      );
    }
    account = owned[0]!;
  }
  if (!mayActAs(principal, account)) {
    throw new DomainError("permission_denied", "not_account_owner", `you do not own account ${account.accountId}`);
  }
  return account;
}

/** Ids of the online accounts offering a capability. */
export async function onlineAccountsWithCapability(db: Kysely<Database>, capability: string): Promise<string[]> {
  const rows = await db
    .selectFrom("accounts")
    .select("account_id")
    // A bare JS array here would become a value list (`@> ($1)`), which PostgreSQL reads as a malformed array literal.
    .where("capabilities", "@>", sql<string[]>`array[${capability}]::text[]`)
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom("agent_sessions")
          .select("session_tag")
          .whereRef("agent_sessions.account_id", "=", "accounts.account_id")
          .where("agent_sessions.status", "=", "online")
          .where("agent_sessions.expires_at", ">", new Date()),
      ),
    )
    .execute();
  return rows.map((r) => r.account_id);
}

/** True when the account has at least one live session. */
export async function isOnline(db: Kysely<Database>, accountId: string): Promise<boolean> {
  const row = await db
    .selectFrom("agent_sessions")
    .select("session_tag")
    .where("account_id", "=", accountId)
    .where("status", "=", "online")
    .where("expires_at", ">", new Date())
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
