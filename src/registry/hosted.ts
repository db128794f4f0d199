import { randomInt } from "node:crypto";
import { type Kysely, type Transaction, sql } from "kysely";
import { newUlid } from "../ids.js";
import type { Database } from "../store/schema.js";
import { MAX_USERNAME_LENGTH, normaliseUsername } from "./accounts.js";
import type { PresenceEventRecord } from "../wire/index.js";
import { loadProfiles, toSession } from "./profiles.js";
import { validCapabilities, validMetadata } from "./validation.js";

// Hosted agents: the registry accounts of the AI agents that chat sessions (SessionService) run. They belong to
// the session's creator (so the creator reads the session's thread like any of their agents' threads), are
// private (only the owner and admins discover them), and are online through one presence session that lasts
// while the chat session is active: opened with the chat session, ended when it stops, expires or is deleted,
// and in any case evicted by the presence sweeper when the chat session's lifetime is over.

export interface HostedAgentInput {
  /** The agent's name in its chat session; the username is derived from it. */
  name: string;
  displayName: string;
  capabilities: readonly string[];
  metadata: Record<string, unknown>;
}

export interface HostedAccount {
  accountId: string;
  username: string;
}

const SUFFIX_LENGTH = 10;
const SUFFIX_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const MAX_NAME_ATTEMPTS = 5;

/**
 * Creates the accounts of a chat session's hosted agents, each online until `onlineUntil` (or until
 * endHostedPresence). Usernames are the agent's name plus a random suffix, at most 32 characters, never taken:
 * a collision draws another suffix.
 */
export async function createHostedAccounts(
  trx: Transaction<Database>,
  owner: { userId: string; username: string },
  agents: HostedAgentInput[],
  presence: { gatewayId: string; onlineUntil: Date; metadata: Record<string, unknown> },
): Promise<HostedAccount[]> {
  const created: HostedAccount[] = [];
  for (const agent of agents) {
    const capabilities = validCapabilities(agent.capabilities);
    const metadata = validMetadata(agent.metadata);
    let account: HostedAccount | undefined;
    for (let attempt = 0; attempt < MAX_NAME_ATTEMPTS && !account; attempt++) {
      const username = hostedUsername(agent.name);
      const row = await trx
        .insertInto("accounts")
        .values({
          account_id: `acct_${newUlid()}`,
          username,
          owner_user_id: owner.userId,
          owner_username: owner.username,
          agent_type: "hosted",
          agent_id: agent.name,
          display_name: agent.displayName,
          bio: "",
          capabilities,
          metadata,
          visibility: "private",
          public_key: null,
          last_seen_at: sql<Date>`now()`,
        })
        .onConflict((oc) => oc.column("username").doNothing())
        .returning(["account_id", "username"])
        .executeTakeFirst();
      if (row) account = { accountId: row.account_id, username: row.username };
    }
    if (!account) throw new Error(`could not find a free username for hosted agent ${agent.name}`);
    await trx
      .insertInto("agent_sessions")
      .values({
        session_tag: `sess_${newUlid()}`,
        account_id: account.accountId,
        agent_id: agent.name,
        gateway_id: presence.gatewayId,
        connected_at: sql<Date>`now()`,
        last_seen_at: sql<Date>`now()`,
        expires_at: presence.onlineUntil,
        status: "online",
        metadata: JSON.stringify(presence.metadata),
      })
      .execute();
    created.push(account);
  }
  return created;
}

/** `online` events for hosted accounts just created (after their transaction committed). */
export async function hostedOnlineEvents(db: Kysely<Database>, accountIds: string[]): Promise<PresenceEventRecord[]> {
  if (accountIds.length === 0) return [];
  const profiles = await loadProfiles(db, accountIds);
  const sessions = await db
    .selectFrom("agent_sessions")
    .selectAll()
    .where("account_id", "in", accountIds)
    .where("status", "=", "online")
    .execute();
  return sessions.flatMap((row) => {
    const account = profiles.get(row.account_id);
    return account
      ? [{ type: "online" as const, account, session: toSession(row), eventAt: row.connected_at, reason: "" as const, snapshot: false }]
      : [];
  });
}

/** Takes hosted agents offline (their chat session ended) and returns the `offline` events to announce. */
export async function endHostedPresence(db: Kysely<Database>, accountIds: string[]): Promise<PresenceEventRecord[]> {
  if (accountIds.length === 0) return [];
  const ended = await db.transaction().execute(async (trx) => {
    const rows = await trx
      .updateTable("agent_sessions")
      .set({ status: "offline", disconnected_at: sql<Date>`now()`, offline_reason: "deregistered", subscribed: false })
      .where("account_id", "in", accountIds)
      .where("status", "=", "online")
      .returningAll()
      .execute();
    if (rows.length > 0) {
      await trx
        .updateTable("accounts")
        .set({ last_seen_at: sql<Date>`greatest(last_seen_at, now())` })
        .where(
          "account_id",
          "in",
          rows.map((r) => r.account_id),
        )
        .execute();
    }
    return rows;
  });
  const profiles = await loadProfiles(
    db,
    ended.map((r) => r.account_id),
  );
  return ended.flatMap((row) => {
    const account = profiles.get(row.account_id);
    return account
      ? [
          {
            type: "offline" as const,
            account,
            session: toSession(row),
            eventAt: new Date(),
            reason: "deregistered" as const,
            snapshot: false,
          },
        ]
      : [];
  });
}

function hostedUsername(name: string): string {
  let suffix = "";
  for (let i = 0; i < SUFFIX_LENGTH; i++) suffix += SUFFIX_ALPHABET[randomInt(SUFFIX_ALPHABET.length)];
  const base =
    normaliseUsername(name)
      .slice(0, MAX_USERNAME_LENGTH - SUFFIX_LENGTH - 1)
      .replace(/[._-]+$/, "") || "agent";
  return `${base}-${suffix}`;
}
