import { randomInt } from "node:crypto";
import { DomainError } from "../errors.js";

// Checks of what Agora accepts, each refusing with INVALID_ARGUMENT naming the field and the contract's reason.

/** Agora's channel-name (and string-uid) alphabet: a-z A-Z 0-9, space and !#$%&()+-:;<=.>?@[]^_{|}~, */
const AGORA_NAME_CHARS = /^[a-zA-Z0-9 !#$%&()+\-:;<=.>?@[\]^_{|}~,]*$/;

export const MAX_EXPIRY_SECONDS = 86_400;
const MAX_CHANNEL_BYTES = 64;
const MAX_ACCOUNT_BYTES = 255;
const MAX_RTM_USER_BYTES = 64;
const MAX_UID = 2 ** 32 - 1;

function refuse(field: string, reason: string, message: string): DomainError {
  return new DomainError("invalid_argument", reason, `${field}: ${message}`, { field });
}

export function checkChannelName(channel: string, field = "channel_name"): string {
  if (channel === "") throw refuse(field, "invalid_channel_name", "must not be empty");
  if (Buffer.byteLength(channel) > MAX_CHANNEL_BYTES)
    throw refuse(field, "invalid_channel_name", `must be at most ${MAX_CHANNEL_BYTES} bytes`);
  if (!AGORA_NAME_CHARS.test(channel)) {
    throw refuse(field, "invalid_channel_name", "may only contain a-z A-Z 0-9, space and !#$%&()+-:;<=.>?@[]^_{|}~,");
  }
  return channel;
}

/** Token lifetime in seconds: 1..86400, `fallback` when unset. */
export function checkExpiry(expiresIn: number | bigint | undefined, fallback: number, field = "expires_in"): number {
  if (expiresIn === undefined) return fallback;
  const n = Number(expiresIn);
  if (!Number.isInteger(n) || n < 1 || n > MAX_EXPIRY_SECONDS) {
    throw refuse(field, "invalid_expiry", `must be between 1 and ${MAX_EXPIRY_SECONDS} seconds, got ${String(expiresIn)}`);
  }
  return n;
}

/** Agora's limit for properties.idle_timeout, and the longest a voice agent may run (AGENTNET_VOICE_MAX_DURATION_SECONDS's ceiling). */
export const MAX_IDLE_TIMEOUT_SECONDS = 86_400;
export const MAX_DURATION_SECONDS = 86_400;
export const MAX_HISTORY = 1024;

/** StartVoiceAgentRequest.idle_timeout_seconds: 0..86400 (0: Agora does not stop the agent for idleness). */
export function checkIdleTimeout(seconds: number, field = "idle_timeout_seconds"): number {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_IDLE_TIMEOUT_SECONDS) {
    throw refuse(field, "invalid_idle_timeout", `must be between 0 and ${MAX_IDLE_TIMEOUT_SECONDS} seconds, got ${seconds}`);
  }
  return seconds;
}

/** StartVoiceAgentRequest.max_duration_seconds: 1..86400 (the server's own maximum then clamps it). */
export function checkMaxDuration(seconds: number, field = "max_duration_seconds"): number {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_DURATION_SECONDS) {
    throw refuse(field, "invalid_max_duration", `must be between 1 and ${MAX_DURATION_SECONDS} seconds, got ${seconds}`);
  }
  return seconds;
}

/** VoiceLlmConfig.max_history: 1..1024 past messages when given. */
export function checkMaxHistory(n: number | undefined, field = "llm.max_history"): void {
  if (n !== undefined && !(Number.isInteger(n) && n >= 1 && n <= MAX_HISTORY)) {
    throw refuse(field, "invalid_max_history", `must be between 1 and ${MAX_HISTORY}, got ${n}`);
  }
}

export function checkAccount(account: string, field = "account"): string {
  if (account === "") throw refuse(field, "invalid_account", "must not be empty");
  if (Buffer.byteLength(account) > MAX_ACCOUNT_BYTES) throw refuse(field, "invalid_account", `must be at most ${MAX_ACCOUNT_BYTES} bytes`);
  return account;
}

export function checkRtmUserId(userId: string, field = "user_id"): string {
  if (userId === "") throw refuse(field, "invalid_user_id", "must not be empty");
  if (Buffer.byteLength(userId) > MAX_RTM_USER_BYTES) throw refuse(field, "invalid_user_id", `must be at most ${MAX_RTM_USER_BYTES} bytes`);
  return userId;
}

/**
 * THE place where uids become strings. Agora's uids are 32-bit unsigned numbers, or strings when string uids are
 * enabled (voice agents run with `enable_string_uid`); requests, JSON bodies of the seed's routes and random uids
 * all pass here, so "1234567", 1234567 and " 1234567 " are the same uid everywhere (tokens, join bodies, records).
 */
export function uidString(uid: number | bigint | string, field = "uid"): string {
  if (typeof uid === "number" || typeof uid === "bigint") {
    const n = Number(uid);
    if (!Number.isSafeInteger(n) || n < 0 || n > MAX_UID)
      throw refuse(field, "invalid_uid", `must be between 0 and ${MAX_UID}, got ${String(uid)}`);
    return String(n);
  }
  const s = uid.trim();
  if (s === "") throw refuse(field, "invalid_uid", "must not be empty");
  if (/^\d+$/.test(s)) {
    // Decimal uids lose leading zeros and must fit 32 bits, as the numeric form would.
    const n = Number(s);
    if (n > MAX_UID) throw refuse(field, "invalid_uid", `must be between 0 and ${MAX_UID}, got ${s}`);
    return String(n);
  }
  if (Buffer.byteLength(s) > MAX_ACCOUNT_BYTES || !AGORA_NAME_CHARS.test(s)) {
    throw refuse(
      field,
      "invalid_uid",
      "must be a number or a string uid of at most 255 bytes of a-z A-Z 0-9, space and !#$%&()+-:;<=.>?@[]^_{|}~,",
    );
  }
  return s;
}

/**
 * A uid the contract documents as a decimal string (StartVoiceAgent.agent_uid, the seed's rtcUid): an Agora
 * numeric uid, 0..2^32-1, as a JSON number or as decimal digits. Unlike {@link uidString} no string uid passes:
 * "abc", "-1" or "12.5" would otherwise become an agent uid no client expects and no numeric token matches.
 */
export function decimalUid(uid: number | bigint | string, field: string): string {
  if (typeof uid === "string" && !/^\d+$/.test(uid.trim())) {
    throw refuse(field, "invalid_uid", `must be a decimal uid between 0 and ${MAX_UID}, got ${JSON.stringify(uid)}`);
  }
  return uidString(uid, field);
}

/** A random uid for a user or an agent: 7 or 8 digits, like the seed's. */
export function randomUid(): string {
  return uidString(randomInt(1_000_000, 100_000_000));
}
