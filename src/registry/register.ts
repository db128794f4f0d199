import { type Kysely, type Selectable, type Transaction, sql } from "kysely";
import { newUlid } from "../ids.js";
import type { Principal } from "../auth/index.js";
import { DomainError } from "../errors.js";
import type { Database } from "../store/schema.js";
import { normaliseUsername } from "./accounts.js";
import { type ProfileRecord, type SessionRecord, type Visibility, loadProfile } from "./profiles.js";
import type { PresenceEventRecord } from "../wire/index.js";
import { openSession } from "./sessions.js";
import type { AccountFields, NewRegistrations } from "./register-new.js";
import type { AccountsTable } from "./tables.js";
import { sameKey, validAgentId, validBio, validCapabilities, validDisplayName, validMetadata, validPublicKey } from "./validation.js";

export interface RegisterInput {
  agentId: string;
  displayName: string;
  /** Unset: derived from agentId. */
  username?: string | undefined;
  capabilities: readonly string[];
  /** Unset: keep the account's metadata. */
  metadata?: Record<string, unknown> | undefined;
  bio: string;
  /** Unset: keep (public for a new account). */
  visibility?: Visibility | undefined;
  /** Unset: no change. */
  publicKey?: Uint8Array | undefined;
  sessionMetadata?: Record<string, unknown> | undefined;
}

export interface RegisterResult {
  profile: ProfileRecord;
  session: SessionRecord;
  created: boolean;
  /** What the presence stream should say about it: `online`, or `updated` when the account already was. */
  event: PresenceEventRecord;
}

/**
 * Binds the caller to the account named by the username and opens a session for this process. The name belongs
 * to whoever registered it first: another owner gets ALREADY_EXISTS `username_taken` (the seed handed the account
 * to whoever claimed the name). The first Ed25519 key given is bound; a different one later is refused, and only
 * UpdateProfile rotates it.
 *
 * On re-registration: capabilities are replaced (an agent that offers none says so by sending none); metadata and
 * visibility change when given; display name and bio when non-empty.
 */
export async function register(
  db: Kysely<Database>,
  owner: Principal,
  input: RegisterInput,
  opts: { ttlSeconds: number; gatewayId: string; firstRegistrations: NewRegistrations },
): Promise<RegisterResult> {
  const agentId = validAgentId(input.agentId);
  const usernameField = input.username === undefined ? "agent_id" : "username";
  const username = normaliseUsername(input.username ?? agentId);
  if (username === "") {
    throw new DomainError("invalid_argument", "invalid_username", `${usernameField}: nothing is left after normalising it to a username`, {
      field: usernameField,
    });
  }
  const displayName = validDisplayName(input.displayName);
  const bio = validBio(input.bio);
  const capabilities = validCapabilities(input.capabilities);
  const metadataJson = input.metadata === undefined ? undefined : validMetadata(input.metadata);
  const sessionMetadataJson = validMetadata(input.sessionMetadata ?? {}, "session_metadata");
  const publicKey = input.publicKey === undefined ? undefined : validPublicKey(input.publicKey);

  const fields = { agentId, displayName, bio, capabilities, metadataJson, visibility: input.visibility, publicKey };
  const fresh = await opts.firstRegistrations.submit({ owner, username, ...fields, sessionMetadataJson });
  if (fresh) {
    const { profile, session } = fresh;
    return {
      profile,
      session,
      created: true,
      event: { type: "online", account: profile, session, eventAt: session.connectedAt, reason: "", snapshot: false },
    };
  }

  const { accountId, created, wasOnline, session } = await db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto("accounts")
      .values({
        account_id: `acct_${newUlid()}`,
        username,
        owner_user_id: owner.userId,
        owner_username: owner.username,
        agent_id: agentId,
        display_name: displayName,
        bio,
        capabilities,
        metadata: metadataJson ?? "{}",
        visibility: input.visibility ?? "public",
        public_key: publicKey ?? null,
        last_seen_at: sql<Date>`now()`,
      })
      .onConflict((oc) => oc.column("username").doNothing())
      .returning("account_id")
      .executeTakeFirst();
    let accountId: string;
    if (inserted) {
      accountId = inserted.account_id;
    } else {
      const existing = await trx.selectFrom("accounts").selectAll().where("username", "=", username).forUpdate().executeTakeFirst();
      // The conflicting row vanished (its owner was deleted) between our insert and this read: the caller retries.
      if (!existing) throw new DomainError("unavailable", "registration_conflict", `@${username} changed while registering; retry`);
      await rebind(trx, owner, existing, fields);
      accountId = existing.account_id;
    }
    const live = await trx
      .selectFrom("agent_sessions")
      .select("session_tag")
      .where("account_id", "=", accountId)
      .where("status", "=", "online")
      .where("expires_at", ">", sql<Date>`now()`)
      .limit(1)
      .executeTakeFirst();
    const session = await openSession(trx, {
      accountId,
      agentId,
      gatewayId: opts.gatewayId,
      ttlSeconds: opts.ttlSeconds,
      metadataJson: sessionMetadataJson,
    });
    return { accountId, created: inserted !== undefined, wasOnline: live !== undefined, session };
  });

  const profile = await loadProfile(db, accountId);
  if (!profile) throw new DomainError("unavailable", "registration_conflict", `@${username} was removed while registering; retry`);
  return {
    profile,
    session,
    created,
    event: { type: wasOnline ? "updated" : "online", account: profile, session, eventAt: session.connectedAt, reason: "", snapshot: false },
  };
}

async function rebind(
  trx: Transaction<Database>,
  owner: Principal,
  existing: Selectable<AccountsTable>,
  input: AccountFields,
): Promise<void> {
  // Strictly the owner: an admin registering someone else's name would be exactly the takeover we refuse.
  if (existing.owner_user_id !== owner.userId) {
    throw new DomainError("already_exists", "username_taken", `@${existing.username} belongs to another user; choose another username`, {
      metadata: { username: existing.username },
    });
  }
  if (input.publicKey !== undefined && existing.public_key !== null && !sameKey(existing.public_key, input.publicKey)) {
    throw new DomainError(
      "permission_denied",
      "auth_public_key_mismatch",
      `@${existing.username} is bound to a different public key; rotate it with UpdateProfile`,
    );
  }
  const next = {
    display_name: input.displayName === "" ? existing.display_name : input.displayName,
    bio: input.bio === "" ? existing.bio : input.bio,
    capabilities: input.capabilities,
    metadata: input.metadataJson ?? JSON.stringify(existing.metadata),
    visibility: input.visibility ?? existing.visibility,
    public_key: existing.public_key ?? input.publicKey ?? null,
  };
  await trx
    .updateTable("accounts")
    .set({
      agent_id: input.agentId,
      ...next,
      last_seen_at: sql<Date>`greatest(last_seen_at, now())`,
      // jsonb and array comparison in the database: key order or formatting alone is no change.
      updated_at: sql<Date>`case when (display_name, bio, capabilities, metadata, visibility, public_key)
        is distinct from (${next.display_name}, ${next.bio}, ${next.capabilities}::text[], ${next.metadata}::jsonb,
          ${next.visibility}, ${next.public_key}::bytea)
        then now() else updated_at end`,
    })
    .where("account_id", "=", existing.account_id)
    .execute();
}
