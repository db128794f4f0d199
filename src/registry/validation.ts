import { DomainError, invalidArgument } from "../errors.js";

// The limits of registry.proto and common.proto, checked in one place for Register and UpdateProfile.

export const MAX_AGENT_ID_LENGTH = 128;
export const MAX_DISPLAY_NAME_LENGTH = 128;
export const MAX_BIO_LENGTH = 4000;
export const MAX_CAPABILITIES = 64;
export const MAX_METADATA_BYTES = 16_000;
export const PUBLIC_KEY_BYTES = 32;
const CAPABILITY = /^[a-z0-9._:-]{1,64}$/;

export function validAgentId(raw: string): string {
  const agentId = raw.trim();
  if (agentId === "") throw invalidArgument("agent_id", "must not be empty");
  if (agentId.length > MAX_AGENT_ID_LENGTH) throw invalidArgument("agent_id", `must be at most ${MAX_AGENT_ID_LENGTH} characters`);
  return agentId;
}

export function validDisplayName(raw: string): string {
  const name = raw.trim();
  if (name.length > MAX_DISPLAY_NAME_LENGTH) {
    throw invalidArgument("display_name", `must be at most ${MAX_DISPLAY_NAME_LENGTH} characters`);
  }
  return name;
}

export function validBio(raw: string): string {
  if (raw.length > MAX_BIO_LENGTH) throw invalidArgument("bio", `must be at most ${MAX_BIO_LENGTH} characters`);
  return raw;
}

/**
 * Capabilities trimmed, lowercased and de-duplicated (keeping their order), so "Chat" and "chat " name the same
 * capability that Send routes by.
 */
export function validCapabilities(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (const item of raw) {
    const capability = item.trim().toLowerCase();
    if (!CAPABILITY.test(capability)) {
      throw new DomainError(
        "invalid_argument",
        "invalid_capability",
        `capabilities: ${JSON.stringify(item)} is not a capability (1 to 64 characters of a-z, 0-9, '.', '_', ':' or '-')`,
        { field: "capabilities" },
      );
    }
    if (!out.includes(capability)) out.push(capability);
  }
  if (out.length > MAX_CAPABILITIES) {
    throw new DomainError("invalid_argument", "invalid_capability", `capabilities: at most ${MAX_CAPABILITIES} per account`, {
      field: "capabilities",
    });
  }
  return out;
}

/** A metadata object as the compact JSON text the store keeps, within the size limit. */
export function validMetadata(value: Record<string, unknown>, field = "metadata"): string {
  const json = JSON.stringify(value);
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_METADATA_BYTES) {
    throw new DomainError("invalid_argument", "metadata_too_large", `${field}: ${bytes} bytes as JSON; at most ${MAX_METADATA_BYTES}`, {
      field,
    });
  }
  return json;
}

export function validPublicKey(key: Uint8Array): Buffer {
  if (key.length !== PUBLIC_KEY_BYTES) {
    throw new DomainError(
      "invalid_argument",
      "invalid_public_key",
      `public_key: an Ed25519 public key is ${PUBLIC_KEY_BYTES} raw bytes, got ${key.length}`,
      { field: "public_key" },
    );
  }
  // pg sends a Buffer as bytea but would send a bare Uint8Array as JSON.
  return Buffer.from(key);
}

export function sameKey(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return Buffer.from(a).equals(Buffer.from(b));
}
