import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from "node:crypto";
import canonicalize from "canonicalize";
import type { MessageKindName } from "./tables.js";

// The signed form of a message, exactly as the `Signature` comment in proto/agentnet/v1/messaging.proto defines
// it: the RFC 8785 (JCS) canonical JSON of a fixed set of envelope fields, with the payload represented by the
// SHA-256 of its own canonical JSON. Senders, the gateway and recipients all compute it from the values the
// recipient sees in the Envelope, so any of them can verify.

export const SIGNATURE_SCHEME = "ed25519-v1";

/**
 * The envelope fields a signature covers. Field names follow StoredMessage, so a stored message can be passed
 * as it is. Every value is the effective one (defaults applied), not what the sender left empty.
 */
export interface SigningFields {
  messageId: string;
  fromAccountId: string;
  /** The address as the sender gave it (exactly one of the three). */
  to: { accountId?: string; username?: string; capability?: string };
  threadId: string;
  parentMessageId: string;
  traceId: string;
  kind: MessageKindName;
  ttlMs: number | bigint;
  schemaVersion: string;
  idempotencyKey: string;
  blobIds: readonly string[];
  payload: Record<string, unknown>;
}

/** RFC 8785 canonical JSON of any JSON value. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError("value has no JSON representation");
  return text;
}

/** Lower-case hex SHA-256 of the payload's canonical JSON (the signed form's `payload_sha256`). */
export function payloadSha256(payload: Record<string, unknown>): string {
  return createHash("sha256").update(canonicalJson(payload), "utf8").digest("hex");
}

/** The `to` value of the signed form: "account:<id>", "username:<as given>", "capability:<name>", or "". */
export function signingTarget(to: SigningFields["to"]): string {
  if (to.accountId !== undefined) return `account:${to.accountId}`;
  if (to.username !== undefined) return `username:${to.username}`;
  if (to.capability !== undefined) return `capability:${to.capability}`;
  return "";
}

/** The canonical signed text (JCS) of a message. */
export function signingText(fields: SigningFields): string {
  const ttl = typeof fields.ttlMs === "bigint" ? Number(fields.ttlMs) : fields.ttlMs;
  if (!Number.isSafeInteger(ttl)) throw new RangeError(`ttl_ms must be an integer, got ${String(fields.ttlMs)}`);
  return canonicalJson({
    scheme: SIGNATURE_SCHEME,
    message_id: fields.messageId,
    from_account_id: fields.fromAccountId,
    to: signingTarget(fields.to),
    thread_id: fields.threadId,
    parent_message_id: fields.parentMessageId,
    trace_id: fields.traceId,
    kind: fields.kind,
    ttl_ms: ttl,
    schema_version: fields.schemaVersion,
    idempotency_key: fields.idempotencyKey,
    blob_ids: [...fields.blobIds],
    payload_sha256: payloadSha256(fields.payload),
  });
}

/** The bytes an Ed25519 signature is made over: the UTF-8 of `signingText`. */
export function signingBytes(fields: SigningFields): Uint8Array {
  return Buffer.from(signingText(fields), "utf8");
}

// DER prefixes that turn raw Ed25519 keys into the SPKI / PKCS#8 structures node:crypto imports (RFC 8410).
const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

/** A node:crypto public key from a raw 32-byte Ed25519 key; throws on any other length. */
export function ed25519PublicKey(raw: Uint8Array): KeyObject {
  if (raw.length !== ED25519_PUBLIC_KEY_BYTES) throw new RangeError(`an Ed25519 public key has 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: "der", type: "spki" });
}

/** A node:crypto private key from a raw 32-byte Ed25519 seed (or an existing KeyObject). */
export function ed25519PrivateKey(key: Uint8Array | KeyObject): KeyObject {
  if (!(key instanceof Uint8Array)) return key;
  if (key.length !== 32) throw new RangeError(`an Ed25519 private key (seed) has 32 bytes, got ${key.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, key]), format: "der", type: "pkcs8" });
}

/**
 * True when `signature` is a valid Ed25519 signature by `publicKey` (raw 32 bytes) over the message's signed
 * form. Malformed keys or signatures are simply not valid: this never throws for bad input.
 */
export function verifySignature(publicKey: Uint8Array, signature: Uint8Array, fields: SigningFields): boolean {
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES || signature.length !== ED25519_SIGNATURE_BYTES) return false;
  try {
    return verify(null, signingBytes(fields), ed25519PublicKey(publicKey), signature);
  } catch {
    return false;
  }
}

/** Signs a message's signed form; returns the raw 64-byte signature. For SDKs and tests — the server never signs. */
export function signEnvelope(privateKey: Uint8Array | KeyObject, fields: SigningFields): Uint8Array {
  return new Uint8Array(sign(null, signingBytes(fields), ed25519PrivateKey(privateKey)));
}

/** The raw 32-byte public key of an Ed25519 private key (raw seed or KeyObject). */
export function ed25519RawPublicKey(privateKey: Uint8Array | KeyObject): Uint8Array {
  const der = createPublicKey(ed25519PrivateKey(privateKey)).export({ format: "der", type: "spki" });
  return new Uint8Array(der.subarray(der.length - ED25519_PUBLIC_KEY_BYTES));
}

/** A fresh Ed25519 key pair as raw bytes (32-byte seed and 32-byte public key). */
export function generateSigningKeyPair(): { privateKey: Uint8Array; publicKey: Uint8Array } {
  const { privateKey } = generateKeyPairSync("ed25519");
  const der = privateKey.export({ format: "der", type: "pkcs8" });
  const seed = new Uint8Array(der.subarray(der.length - 32));
  return { privateKey: seed, publicKey: ed25519RawPublicKey(privateKey) };
}
