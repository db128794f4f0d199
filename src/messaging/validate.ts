import type { Config } from "../config.js";
import { DomainError, invalidArgument } from "../errors.js";

// Checks on what a sender asks for, with the seed's defaults. Each refusal names its field and reason.

const ID = /^[A-Za-z0-9._:-]{1,128}$/;
export const DEFAULT_SCHEMA_VERSION = "1.1";
const MAX_IDEMPOTENCY_KEY = 256;
const MAX_BLOBS = 32;
const MAX_SCHEMA_VERSION = 32;

export function checkId(field: string, value: string, reason = "invalid_argument"): void {
  if (value !== "" && !ID.test(value)) {
    throw new DomainError("invalid_argument", reason, `${field}: must be 1 to 128 characters of A-Za-z0-9._:-`, { field });
  }
}

/** The schema version to store: the given one (major must be 1) or the default. */
export function schemaVersion(given: string): string {
  if (given === "") return DEFAULT_SCHEMA_VERSION;
  if (given.length > MAX_SCHEMA_VERSION) {
    throw new DomainError("invalid_argument", "unsupported_schema_version", `schema_version: at most ${MAX_SCHEMA_VERSION} characters`, {
      field: "schema_version",
    });
  }
  const match = /^(\d+)(\.\d+){0,2}$/.exec(given);
  if (!match) {
    throw new DomainError("invalid_argument", "unsupported_schema_version", `schema_version: "${given}" is not a version like "1.1"`, {
      field: "schema_version",
    });
  }
  if (match[1] !== "1") {
    throw new DomainError(
      "invalid_argument",
      "unsupported_schema_version",
      `schema_version: major version ${match[1]} is not supported (only 1)`,
      { field: "schema_version" },
    );
  }
  return given;
}

/** The payload's compact JSON, with its size in bytes and characters; refuses payloads over the cap. */
export function measurePayload(
  payload: Record<string, unknown>,
  config: Pick<Config, "maxPayloadBytes">,
): { json: string; bytes: number; chars: number } {
  const json = JSON.stringify(payload);
  const bytes = Buffer.byteLength(json);
  if (bytes > config.maxPayloadBytes) {
    throw new DomainError(
      "invalid_argument",
      "payload_too_large",
      `payload: ${bytes} bytes as JSON is over the limit of ${config.maxPayloadBytes}`,
      { field: "payload", metadata: { size_bytes: String(bytes), limit_bytes: String(config.maxPayloadBytes) } },
    );
  }
  return { json, bytes, chars: json.length };
}

/** The message's TTL in milliseconds from `now`: the given ttl_ms or expires_at, else the default. */
export function ttlMs(
  given: { ttlMs?: number | undefined; expiresAt?: Date | undefined },
  config: Pick<Config, "defaultTtlMs" | "maxTtlMs">,
  now: Date,
  fallback = config.defaultTtlMs,
): number {
  let ttl: number;
  if (given.ttlMs !== undefined) {
    if (!Number.isInteger(given.ttlMs) || given.ttlMs <= 0)
      throw new DomainError("invalid_argument", "invalid_ttl", "ttl_ms: must be positive", { field: "ttl_ms" });
    ttl = given.ttlMs;
  } else if (given.expiresAt !== undefined) {
    ttl = given.expiresAt.getTime() - now.getTime();
    if (ttl <= 0) throw new DomainError("failed_precondition", "expired", "expires_at: is in the past", { field: "expires_at" });
  } else {
    ttl = fallback;
  }
  if (ttl > config.maxTtlMs) {
    // Name the field the sender gave: an expires_at too far ahead is its fault, not ttl_ms's.
    const field = given.ttlMs === undefined && given.expiresAt !== undefined ? "expires_at" : "ttl_ms";
    throw new DomainError("invalid_argument", "ttl_too_long", `${field}: ${ttl} ms from now is over the maximum of ${config.maxTtlMs}`, {
      field,
    });
  }
  return ttl;
}

const STREAM_PARTS = new Set(["stream_start", "stream_delta", "stream_end", "stream_error"]);

/** A STREAM message is one part of a streamed answer (the seed's streaming protocol): its payload says which. */
export function checkStreamPart(kind: string, payload: Record<string, unknown>): void {
  if (kind !== "stream") return;
  if (typeof payload["type"] !== "string" || !STREAM_PARTS.has(payload["type"])) {
    throw invalidArgument("payload.type", `a STREAM message's payload.type must be one of ${[...STREAM_PARTS].join(", ")}`);
  }
}

export function checkIdempotencyKey(key: string): void {
  if (key.length > MAX_IDEMPOTENCY_KEY) throw invalidArgument("idempotency_key", `must be at most ${MAX_IDEMPOTENCY_KEY} characters`);
}

export function checkBlobCount(blobIds: string[]): void {
  if (blobIds.length > MAX_BLOBS) throw invalidArgument("blob_ids", `at most ${MAX_BLOBS} blobs per message`);
}

/** How long Send may wait for `wait_for`: given, never negative; capped by the message's TTL elsewhere. */
export function checkWaitTimeout(ms: number | undefined): void {
  if (ms !== undefined && ms < 0) {
    throw new DomainError("invalid_argument", "invalid_wait_timeout", "wait_timeout_ms: must not be negative", {
      field: "wait_timeout_ms",
    });
  }
}

/** Longest delay a Node.js timer keeps: a longer one fires at once (TimeoutOverflowWarning), ending the wait early. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Most messages a CONSUME stream has pushed but not yet had acked (SubscribeRequest.max_in_flight). */
export const MAX_IN_FLIGHT = 1000;

/**
 * How long Request waits for its reply: positive, no longer than a message may live, and within what a timer can
 * wait (AGENTNET_MAX_TTL_MS may be configured beyond 2^31 − 1 ms, about 24.8 days).
 */
export function requestTimeoutLimit(config: Pick<Config, "maxTtlMs">): number {
  return Math.min(config.maxTtlMs, MAX_TIMER_MS);
}

export function checkRequestTimeout(ms: number, config: Pick<Config, "maxTtlMs">): void {
  const max = requestTimeoutLimit(config);
  if (!Number.isInteger(ms) || ms <= 0 || ms > max) {
    throw new DomainError("invalid_argument", "invalid_timeout", `timeout_ms: must be between 1 and ${max}`, { field: "timeout_ms" });
  }
}

/** SubscribeRequest.max_in_flight: 1..1000 when given. */
export function checkMaxInFlight(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_IN_FLIGHT) {
    throw new DomainError("invalid_argument", "invalid_max_in_flight", `max_in_flight: must be between 1 and ${MAX_IN_FLIGHT}, got ${n}`, {
      field: "max_in_flight",
    });
  }
}
