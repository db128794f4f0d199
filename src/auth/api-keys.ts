import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Kysely } from "kysely";
import { newUlid } from "../ids.js";
import { DomainError, invalidArgument } from "../errors.js";
import type { ApiKeysTable, Database } from "../store/schema.js";

// An API key is a 256-bit random secret with a recognisable prefix. Because it is high-entropy, a plain SHA-256
// is the right stored form (a slow password hash would add latency to every call for no gain) and doubles as
// the lookup key.
export const API_KEY_PREFIX = "agk_";
const SHOWN_PREFIX_LENGTH = 12;
const MAX_NAME_LENGTH = 100;
// Ten years: Date stays valid and the key is not practically eternal; leave expires_in unset for a key that never expires.
export const MAX_EXPIRES_IN_SECONDS = 10 * 365 * 86400;

export interface ApiKeyRecord {
  keyId: string;
  name: string;
  prefix: string;
  owner: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export function isApiKey(credential: string): boolean {
  return credential.startsWith(API_KEY_PREFIX);
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export async function createApiKey(
  db: Kysely<Database>,
  owner: { userId: string; username: string },
  input: { name: string; expiresInSeconds?: number | undefined },
): Promise<{ key: ApiKeyRecord; secret: string }> {
  const name = input.name.trim();
  if (name === "") throw invalidArgument("name", "must not be empty");
  if (name.length > MAX_NAME_LENGTH) throw invalidArgument("name", `must be at most ${MAX_NAME_LENGTH} characters`);
  const expiresIn = input.expiresInSeconds;
  if (expiresIn !== undefined && (expiresIn <= 0 || expiresIn > MAX_EXPIRES_IN_SECONDS)) {
    throw new DomainError(
      "invalid_argument",
      "invalid_expiry",
      `expires_in: must be between 1 and ${MAX_EXPIRES_IN_SECONDS} seconds (10 years); unset: never expires`,
      {
        field: "expires_in",
      },
    );
  }
  const secret = API_KEY_PREFIX + randomBytes(32).toString("base64url");
  const row = await db
    .insertInto("api_keys")
    .values({
      key_id: `key_${newUlid()}`,
      user_id: owner.userId,
      name,
      prefix: secret.slice(0, SHOWN_PREFIX_LENGTH),
      secret_hash: hashSecret(secret),
      expires_at: expiresIn === undefined ? null : new Date(Date.now() + expiresIn * 1000),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { key: toRecord(row, owner.username), secret };
}

/** The caller's keys; every user's for admins (the contract's ListApiKeys). */
export async function listApiKeys(
  db: Kysely<Database>,
  caller: { userId: string; admin: boolean },
  page: { limit: number; afterKeyId?: string | undefined; includeRevoked: boolean },
): Promise<ApiKeyRecord[]> {
  let query = db
    .selectFrom("api_keys")
    .innerJoin("users", "users.user_id", "api_keys.user_id")
    .selectAll("api_keys")
    .select("users.username");
  if (!caller.admin) query = query.where("api_keys.user_id", "=", caller.userId);
  if (!page.includeRevoked) query = query.where("api_keys.revoked_at", "is", null);
  // key ids are ULIDs: ordering by id is ordering by creation, and makes a stable cursor.
  if (page.afterKeyId !== undefined) query = query.where("api_keys.key_id", "<", page.afterKeyId);
  const rows = await query.orderBy("api_keys.key_id", "desc").limit(page.limit).execute();
  return rows.map((r) => toRecord(r, r.username));
}

/** Revokes one of the caller's keys (admins: anyone's). Revoking twice keeps the first revocation time. */
export async function revokeApiKey(db: Kysely<Database>, caller: { userId: string; admin: boolean }, keyId: string): Promise<ApiKeyRecord> {
  if (keyId.trim() === "") throw invalidArgument("key_id", "must not be empty");
  let update = db.updateTable("api_keys").set({ revoked_at: new Date() }).where("key_id", "=", keyId).where("revoked_at", "is", null);
  if (!caller.admin) update = update.where("user_id", "=", caller.userId);
  await update.execute();
  const row = await db
    .selectFrom("api_keys")
    .innerJoin("users", "users.user_id", "api_keys.user_id")
    .selectAll("api_keys")
    .select("users.username")
    .where("api_keys.key_id", "=", keyId)
    .executeTakeFirst();
  // Someone else's key answers like a missing one, so key ids cannot be probed.
  if (!row || (!caller.admin && row.user_id !== caller.userId)) {
    throw new DomainError("not_found", "api_key_not_found", `no API key ${keyId}`);
  }
  return toRecord(row, row.username);
}

export interface ApiKeyOwner {
  keyId: string;
  userId: string;
  createdAt: Date;
  expiresAt: Date | null;
}

/** The live key a secret belongs to, or a DomainError `unauthenticated`. */
export async function findLiveKey(db: Kysely<Database>, secret: string, now = new Date()): Promise<ApiKeyOwner> {
  const digest = hashSecret(secret);
  const row = await db
    .selectFrom("api_keys")
    .select(["key_id", "user_id", "secret_hash", "created_at", "expires_at", "revoked_at"])
    .where("secret_hash", "=", digest)
    .executeTakeFirst();
  if (!row || !timingSafeEqual(Buffer.from(row.secret_hash), Buffer.from(digest))) {
    throw new DomainError("unauthenticated", "invalid_api_key", "the API key is not valid");
  }
  if (row.revoked_at !== null) throw new DomainError("unauthenticated", "api_key_revoked", "the API key was revoked");
  if (row.expires_at !== null && row.expires_at <= now) {
    throw new DomainError("unauthenticated", "api_key_expired", "the API key has expired");
  }
  return { keyId: row.key_id, userId: row.user_id, createdAt: row.created_at, expiresAt: row.expires_at };
}

export async function touchApiKey(db: Kysely<Database>, keyId: string, at = new Date()): Promise<void> {
  await db.updateTable("api_keys").set({ last_used_at: at }).where("key_id", "=", keyId).execute();
}

type ApiKeyRow = Pick<ApiKeysTable, "key_id" | "name" | "prefix" | "expires_at" | "last_used_at" | "revoked_at"> & { created_at: Date };

function toRecord(row: ApiKeyRow, owner: string): ApiKeyRecord {
  return {
    keyId: row.key_id,
    name: row.name,
    prefix: row.prefix,
    owner,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}
