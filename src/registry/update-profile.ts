import { type Kysely, type Updateable, sql } from "kysely";
import type { Principal } from "../auth/index.js";
import { DomainError, invalidArgument } from "../errors.js";
import type { Database } from "../store/schema.js";
import { mayActAs } from "./accounts.js";
import { type ProfileRecord, type Visibility, loadProfile, mayDiscover } from "./profiles.js";
import type { AccountsTable } from "./tables.js";
import { validBio, validCapabilities, validDisplayName, validMetadata, validPublicKey } from "./validation.js";

export const UPDATABLE_PATHS = ["display_name", "bio", "capabilities", "metadata", "visibility", "public_key"] as const;
type Path = (typeof UPDATABLE_PATHS)[number];

export interface UpdateProfileInput {
  accountId: string;
  /** update_mask paths; empty: every field that is present changes. */
  paths: readonly string[];
  displayName?: string | undefined;
  bio?: string | undefined;
  capabilities: readonly string[];
  metadata?: Record<string, unknown> | undefined;
  /** Unset (or unspecified on the wire): leave unchanged. */
  visibility?: Visibility | undefined;
  /** Empty bytes remove the key. */
  publicKey?: Uint8Array | undefined;
}

export interface UpdateProfileResult {
  profile: ProfileRecord;
  /** False when the request named nothing to change. */
  changed: boolean;
}

/**
 * Changes an account's self-description, visibility or public key (key rotation). Owner and admins only; another
 * owner's private account answers NOT_FOUND like a missing one.
 */
export async function updateProfile(db: Kysely<Database>, caller: Principal, input: UpdateProfileInput): Promise<UpdateProfileResult> {
  if (input.accountId.trim() === "") throw invalidArgument("account_id", "must not be empty");
  const set = changesOf(input);

  const current = await loadProfile(db, input.accountId);
  if (!current || !mayDiscover(caller, current)) {
    throw new DomainError("not_found", "account_not_found", `no account ${input.accountId}`);
  }
  if (!mayActAs(caller, current)) {
    throw new DomainError("permission_denied", "not_account_owner", `only the owner of @${current.username} (or an admin) may change it`);
  }
  if (Object.keys(set).length === 0) return { profile: current, changed: false };

  await db
    .updateTable("accounts")
    .set({ ...set, updated_at: sql<Date>`now()` })
    .where("account_id", "=", input.accountId)
    .execute();
  const profile = await loadProfile(db, input.accountId);
  if (!profile) throw new DomainError("not_found", "account_not_found", `no account ${input.accountId}`);
  return { profile, changed: true };
}

/** The columns to set, following the update_mask rules of UpdateProfileRequest. */
function changesOf(input: UpdateProfileInput): Updateable<AccountsTable> {
  const paths = new Set<Path>();
  for (const path of input.paths) {
    if (!(UPDATABLE_PATHS as readonly string[]).includes(path)) {
      throw new DomainError(
        "invalid_argument",
        "invalid_update_mask",
        `update_mask: cannot update ${JSON.stringify(path)}; allowed: ${UPDATABLE_PATHS.join(", ")}`,
        { field: "update_mask" },
      );
    }
    paths.add(path as Path);
  }
  const masked = paths.size > 0;
  // With a mask, a named field takes the value given, empty included; without one, whatever is present changes.
  const wants = (path: Path, present: boolean) => (masked ? paths.has(path) : present);

  const set: Updateable<AccountsTable> = {};
  if (wants("display_name", input.displayName !== undefined)) set.display_name = validDisplayName(input.displayName ?? "");
  if (wants("bio", input.bio !== undefined)) set.bio = validBio(input.bio ?? "");
  if (wants("capabilities", input.capabilities.length > 0)) set.capabilities = validCapabilities(input.capabilities);
  if (wants("metadata", input.metadata !== undefined)) set.metadata = validMetadata(input.metadata ?? {});
  if (wants("visibility", input.visibility !== undefined) && input.visibility !== undefined) set.visibility = input.visibility;
  if (wants("public_key", input.publicKey !== undefined)) {
    const key = input.publicKey;
    set.public_key = key === undefined || key.length === 0 ? null : validPublicKey(key);
  }
  return set;
}
