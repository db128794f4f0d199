import { createHash } from "node:crypto";
import { type Kysely, type Selectable, type Transaction, sql } from "kysely";
import { newUlid } from "../ids.js";
import type { Principal } from "../auth/index.js";
import { DomainError, invalidArgument } from "../errors.js";
import { accountsOwnedBy, getAccount, mayActAs, resolveActingAccount } from "../registry/index.js";
import type { Database } from "../store/schema.js";
import type { BlobsTable } from "./tables.js";

// Blobs: bytes stored once by an account and referenced from messages by id. Who may read one: the owning
// account's owner, admins, and the owners of accounts that received a message referencing it (a grant written
// by Send). Anyone else is told the blob does not exist, so ids cannot be probed.

export const DEFAULT_MIME_TYPE = "application/octet-stream";
export const MAX_FILENAME_LENGTH = 255;
export const MAX_MIME_TYPE_LENGTH = 255;
/** Most blobs one message may reference. */
export const MAX_BLOBS_PER_MESSAGE = 32;

/** A blob's metadata as other domains and services see it. */
export interface BlobMeta {
  blobId: string;
  sha256: string;
  sizeBytes: number;
  mimeType: string;
  filename: string;
  ownerAccountId: string;
  createdAt: Date;
}

export interface PutBlobInput {
  data: Uint8Array;
  mimeType?: string;
  filename?: string;
  /** Expected lower-case hex SHA-256; checked when given. */
  sha256?: string;
  /** Owning account; may be empty when the caller owns exactly one. */
  asAccountId?: string;
}

const META_COLUMNS = ["blob_id", "sha256", "size_bytes", "mime_type", "filename", "owner_account_id", "created_at"] as const;

function toMeta(row: Omit<Selectable<BlobsTable>, "data">): BlobMeta {
  return {
    blobId: row.blob_id,
    sha256: row.sha256,
    sizeBytes: row.size_bytes,
    mimeType: row.mime_type,
    filename: row.filename,
    ownerAccountId: row.owner_account_id,
    createdAt: row.created_at,
  };
}

// Control characters would end up in Content-Disposition headers and terminals; nothing legitimate needs them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what it is for.
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** The checks PutBlob makes before touching the store (size, hash, names), in the order a client fixes them. */
export function validateBlob(input: PutBlobInput, maxBlobBytes: number): { sha256: string; mimeType: string; filename: string } {
  if (input.data.length > maxBlobBytes) {
    throw new DomainError(
      "invalid_argument",
      "blob_too_large",
      `data: ${input.data.length} bytes is over the ${maxBlobBytes}-byte blob limit`,
      { field: "data", metadata: { limit_bytes: String(maxBlobBytes), size_bytes: String(input.data.length) } },
    );
  }
  const sha256 = createHash("sha256").update(input.data).digest("hex");
  const expected = (input.sha256 ?? "").trim().toLowerCase();
  if (expected !== "" && expected !== sha256) {
    throw new DomainError("invalid_argument", "sha256_mismatch", `sha256: the data hashes to ${sha256}, not ${expected}`, {
      field: "sha256",
      metadata: { actual_sha256: sha256 },
    });
  }
  const mimeType = (input.mimeType ?? "").trim() || DEFAULT_MIME_TYPE;
  if (mimeType.length > MAX_MIME_TYPE_LENGTH || CONTROL_CHARS.test(mimeType) || !/^[^/\s]+\/[^/\s]+/.test(mimeType)) {
    throw invalidArgument("mime_type", 'must be a media type such as "image/png", at most 255 characters');
  }
  const filename = input.filename ?? "";
  if (filename.length > MAX_FILENAME_LENGTH || CONTROL_CHARS.test(filename)) {
    throw invalidArgument("filename", "must be at most 255 characters without control characters");
  }
  return { sha256, mimeType, filename };
}

/**
 * Stores a blob owned by the caller's acting account. `beforeStore` runs once the owner is known and before
 * anything is written (the service uses it for the per-account rate limit).
 */
export async function putBlob(
  db: Kysely<Database>,
  principal: Principal,
  input: PutBlobInput,
  options: { maxBlobBytes: number; beforeStore?: (ownerAccountId: string) => Promise<void> | void },
): Promise<BlobMeta> {
  const checked = validateBlob(input, options.maxBlobBytes);
  const owner = await resolveActingAccount(db, principal, { asAccountId: input.asAccountId });
  await options.beforeStore?.(owner.accountId);
  const data = Buffer.from(input.data.buffer, input.data.byteOffset, input.data.byteLength);
  const row = await db
    .insertInto("blobs")
    .values({
      blob_id: `blob_${newUlid()}`,
      owner_account_id: owner.accountId,
      sha256: checked.sha256,
      size_bytes: data.length,
      mime_type: checked.mimeType,
      filename: checked.filename,
      data,
      created_at: new Date(),
    })
    .returning(META_COLUMNS)
    .executeTakeFirstOrThrow();
  return toMeta(row);
}

function blobNotFound(blobId: string): DomainError {
  return new DomainError("not_found", "blob_not_found", `no blob ${blobId} that you may read`, { field: "blob_id" });
}

type Access = "owner" | "reader" | "none";

/** How the caller relates to a blob: may manage it (owner's owner, admin), may only read it, or neither. */
async function accessTo(db: Kysely<Database>, principal: Principal, blob: { blob_id: string; owner_account_id: string }): Promise<Access> {
  if (principal.admin) return "owner";
  const owner = await getAccount(db, blob.owner_account_id);
  if (owner && mayActAs(principal, owner)) return "owner";
  const owned = (await accountsOwnedBy(db, principal.userId)).map((a) => a.accountId);
  if (owned.length === 0) return "none";
  const grant = await db
    .selectFrom("blob_grants")
    .select("account_id")
    .where("blob_id", "=", blob.blob_id)
    .where("account_id", "in", owned)
    .limit(1)
    .executeTakeFirst();
  return grant ? "reader" : "none";
}

/** A blob's metadata, when the caller may read it; NOT_FOUND `blob_not_found` otherwise. */
export async function headBlob(db: Kysely<Database>, principal: Principal, blobId: string): Promise<BlobMeta> {
  if (blobId === "") throw invalidArgument("blob_id", "must not be empty");
  const row = await db.selectFrom("blobs").select(META_COLUMNS).where("blob_id", "=", blobId).executeTakeFirst();
  if (!row || (await accessTo(db, principal, row)) === "none") throw blobNotFound(blobId);
  return toMeta(row);
}

/** A blob's metadata and bytes, when the caller may read it; NOT_FOUND `blob_not_found` otherwise. */
export async function getBlob(db: Kysely<Database>, principal: Principal, blobId: string): Promise<{ blob: BlobMeta; data: Uint8Array }> {
  if (blobId === "") throw invalidArgument("blob_id", "must not be empty");
  const row = await db.selectFrom("blobs").selectAll().where("blob_id", "=", blobId).executeTakeFirst();
  if (!row || (await accessTo(db, principal, row)) === "none") throw blobNotFound(blobId);
  return { blob: toMeta(row), data: row.data };
}

/**
 * Deletes a blob the caller manages; true when this call deleted it. Unknown, already deleted and unreadable
 * blobs all answer false (so existence does not leak); a blob the caller can read but not manage is refused.
 */
export async function deleteBlob(db: Kysely<Database>, principal: Principal, blobId: string): Promise<boolean> {
  if (blobId === "") throw invalidArgument("blob_id", "must not be empty");
  const row = await db.selectFrom("blobs").select(["blob_id", "owner_account_id"]).where("blob_id", "=", blobId).executeTakeFirst();
  if (!row) return false;
  const access = await accessTo(db, principal, row);
  if (access === "none") return false;
  if (access === "reader") {
    throw new DomainError("permission_denied", "not_account_owner", `blob ${blobId} belongs to an account you do not own`);
  }
  const deleted = await db.deleteFrom("blobs").where("blob_id", "=", blobId).executeTakeFirst();
  return deleted.numDeletedRows > 0n;
}

/**
 * For Send: every referenced blob must exist and belong to the sending account (a sender cannot hand out
 * someone else's blob). INVALID_ARGUMENT `blob_not_found` (field blob_ids) names the first one that does not.
 */
export async function checkBlobsForSend(
  db: Kysely<Database> | Transaction<Database>,
  senderAccountId: string,
  blobIds: readonly string[],
): Promise<void> {
  if (blobIds.length === 0) return;
  if (blobIds.length > MAX_BLOBS_PER_MESSAGE) {
    throw invalidArgument("blob_ids", `at most ${MAX_BLOBS_PER_MESSAGE} blobs per message, got ${blobIds.length}`);
  }
  const unique = [...new Set(blobIds)];
  const found = new Set(
    (
      await db
        .selectFrom("blobs")
        .select("blob_id")
        .where("blob_id", "in", unique)
        .where("owner_account_id", "=", senderAccountId)
        .execute()
    ).map((r) => r.blob_id),
  );
  const missing = unique.find((id) => !found.has(id));
  if (missing !== undefined) {
    throw new DomainError(
      "invalid_argument",
      "blob_not_found",
      `blob_ids: no blob ${missing || '""'} owned by the sending account ${senderAccountId}`,
      { field: "blob_ids", metadata: { blob_id: missing } },
    );
  }
}

/**
 * Lets accounts read blobs (Send grants a message's blobs to its recipient, in the Send transaction).
 * Idempotent; grants for blobs deleted in the meantime are skipped rather than failing the send.
 */
export async function grantBlobs(
  db: Kysely<Database> | Transaction<Database>,
  grants: readonly { blobId: string; accountId: string }[],
): Promise<void> {
  if (grants.length === 0) return;
  const blobIds = grants.map((g) => g.blobId);
  const accountIds = grants.map((g) => g.accountId);
  // One statement for any number of grants; the join drops grants whose blob no longer exists.
  await sql`
    insert into blob_grants (blob_id, account_id)
    select distinct g.blob_id, g.account_id
      from unnest(cast(${blobIds} as text[]), cast(${accountIds} as text[])) as g(blob_id, account_id)
      join blobs b on b.blob_id = g.blob_id
    on conflict do nothing`.execute(db);
}

/** Metadata of the given blobs that still exist, by id (for envelopes). No access check: callers read the message. */
export async function blobInfos(db: Kysely<Database> | Transaction<Database>, blobIds: readonly string[]): Promise<Map<string, BlobMeta>> {
  const unique = [...new Set(blobIds)];
  if (unique.length === 0) return new Map();
  const rows = await db.selectFrom("blobs").select(META_COLUMNS).where("blob_id", "in", unique).execute();
  return new Map(rows.map((r) => [r.blob_id, toMeta(r)]));
}
