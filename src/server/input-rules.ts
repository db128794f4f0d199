import type { DescField, DescMessage, JsonValue } from "@bufbuild/protobuf";
import { ScalarType } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import { DomainError } from "../errors.js";

// The rules every request obeys before any handler sees it, checked once here for every field of every RPC
// (common.proto states them as the contract):
// - no string holds U+0000 or an unpaired surrogate: PostgreSQL text and jsonb cannot store U+0000, and an unpaired
//   surrogate (possible only through JSON) is not Unicode text, so either would fail later as INTERNAL or be stored
//   altered. Refused, not rewritten: a lossy fix would make signatures and idempotency keys lie.
// - strings are at most 4,096 characters and repeated fields at most 1,000 items unless a field says otherwise
//   (below); domains check their tighter bounds themselves.
// - enum fields hold a value the enum defines: proto3 enums are open, so a binary request can carry any number,
//   and treating an unknown one as the default would fail open (e.g. visibility 5 read as PUBLIC).
// - numbers are finite (NaN and ±Infinity have no JSON form and would be stored as null), 64-bit integers lie
//   within ±(2^53 − 1) (handlers work in JavaScript numbers), and Timestamps lie in 0001-01-01..9999-12-31.
// - JSON objects (google.protobuf.Struct: payloads, metadata) nest at most 64 levels.

/** Default bound of a string field, in UTF-16 code units (what JavaScript and the proto comments call characters). */
export const MAX_STRING_CHARS = 4096;
/** Default bound of a repeated field's item count. */
export const MAX_LIST_ITEMS = 1000;
/** Deepest nesting of objects and arrays inside a google.protobuf.Struct or Value. */
export const MAX_JSON_DEPTH = 64;

/**
 * Fields whose contract allows longer strings than the default. Those whose domain checks the exact bound with a
 * reason of its own (e.g. `content_too_long`) are left to it here.
 */
const LONG_STRINGS: ReadonlyMap<string, number> = new Map([
  ["agentnet.v1.SendSessionMessageRequest.content", Number.POSITIVE_INFINITY],
  ["agentnet.v1.AgentConfig.personality", Number.POSITIVE_INFINITY],
  ["agentnet.v1.CreateSessionRequest.goal", Number.POSITIVE_INFINITY],
  ["agentnet.v1.CreateSessionRequest.opening_message", 32_000],
  ["agentnet.v1.StartVoiceAgentRequest.instructions", 32_000],
  ["agentnet.v1.StartVoiceAgentRequest.greeting", 8_000],
]);

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
// google.protobuf.Timestamp's documented range: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z.
const MIN_TIMESTAMP_SECONDS = -62_135_596_800n;
const MAX_TIMESTAMP_SECONDS = 253_402_300_799n;

/** Refuses requests that break the rules above, naming the first offending field (proto names, e.g. `acks[2].code`). */
export function inputRulesInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (!req.stream) {
      checkMessage(req.method.input, req.message as unknown as Record<string, unknown>, "");
      return next(req);
    }
    // Server-streaming calls: the one request message arrives as an iterable; check it as it is read.
    const input = req.message;
    const desc = req.method.input;
    return next({
      ...req,
      message: (async function* () {
        for await (const m of input) {
          checkMessage(desc, m as unknown as Record<string, unknown>, "");
          yield m;
        }
      })(),
    } as typeof req);
  };
}

/** Checks one decoded message against the rules; throws DomainError INVALID_ARGUMENT naming the field. */
export function checkMessage(desc: DescMessage, message: Record<string, unknown>, prefix: string): void {
  if (desc.typeName === "google.protobuf.Timestamp") return checkTimestamp(message, prefix);
  for (const field of desc.fields) {
    const value = fieldValue(field, message);
    if (value === undefined || value === null) continue;
    const path = prefix === "" ? field.name : `${prefix}.${field.name}`;
    switch (field.fieldKind) {
      case "scalar":
        checkScalar(field, field.scalar, value, path);
        break;
      case "enum":
        checkEnum(field, value, path);
        break;
      case "message":
        checkNested(field.message, value, path);
        break;
      case "list": {
        const items = value as unknown[];
        if (items.length > MAX_LIST_ITEMS) refuse(path, "too_many_items", `at most ${MAX_LIST_ITEMS} items`);
        for (let i = 0; i < items.length; i++) {
          const at = `${path}[${i}]`;
          if (field.listKind === "scalar") checkScalar(field, field.scalar, items[i], at);
          else if (field.listKind === "enum") checkEnum(field, items[i], at);
          else checkNested(field.message, items[i], at);
        }
        break;
      }
      case "map": {
        const entries = Object.entries(value as Record<string, unknown>);
        if (entries.length > MAX_LIST_ITEMS) refuse(path, "too_many_items", `at most ${MAX_LIST_ITEMS} entries`);
        for (const [key, item] of entries) {
          const at = `${path}[${JSON.stringify(key)}]`;
          checkText(key, `${path} (a key)`, MAX_STRING_CHARS);
          if (field.mapKind === "scalar") checkScalar(field, field.scalar, item, at);
          else if (field.mapKind === "enum") checkEnum(field, item, at);
          else checkNested(field.message, item, at);
        }
        break;
      }
    }
  }
}

function fieldValue(field: DescField, message: Record<string, unknown>): unknown {
  if (field.oneof === undefined) return message[field.localName];
  const chosen = message[field.oneof.localName] as { case?: string; value?: unknown } | undefined;
  return chosen?.case === field.localName ? chosen.value : undefined;
}

function checkNested(desc: DescMessage, value: unknown, path: string): void {
  switch (desc.typeName) {
    // protobuf-es hands Struct and Value fields over as plain JSON.
    case "google.protobuf.Struct":
    case "google.protobuf.Value":
    case "google.protobuf.ListValue":
      return checkJson(value as JsonValue, path, 0);
    default:
      return checkMessage(desc, value as Record<string, unknown>, path);
  }
}

function checkScalar(field: DescField, scalar: ScalarType, value: unknown, path: string): void {
  switch (scalar) {
    case ScalarType.STRING:
      return checkText(value as string, path, LONG_STRINGS.get(`${field.parent.typeName}.${field.name}`) ?? MAX_STRING_CHARS);
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      if (!Number.isFinite(value as number)) refuse(path, "invalid_number", "must be a finite number (not NaN or infinite)");
      return;
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
    case ScalarType.UINT64:
    case ScalarType.FIXED64: {
      const n = typeof value === "bigint" ? value : BigInt(value as string | number);
      if (n > MAX_SAFE || n < -MAX_SAFE) refuse(path, "invalid_number", `must lie within ±${Number.MAX_SAFE_INTEGER}`);
      return;
    }
    default:
      return;
  }
}

function checkEnum(field: DescField, value: unknown, path: string): void {
  const desc = field.enum!;
  if (desc.values.some((v) => v.number === value)) return;
  refuse(path, "invalid_enum", `${String(value)} is not a value of ${desc.typeName}`);
}

function checkTimestamp(ts: Record<string, unknown>, path: string): void {
  const seconds = ts["seconds"] as bigint;
  const nanos = ts["nanos"] as number;
  if (seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS || nanos < 0 || nanos > 999_999_999) {
    refuse(path, "invalid_timestamp", "must lie between 0001-01-01 and 9999-12-31 with nanos in 0..999,999,999");
  }
}

function checkJson(value: JsonValue, path: string, depth: number): void {
  if (typeof value === "string") return checkText(value, path, Number.POSITIVE_INFINITY);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) refuse(path, "invalid_number", "JSON numbers must be finite (not NaN or infinite)");
    return;
  }
  if (value === null || typeof value !== "object") return;
  if (depth >= MAX_JSON_DEPTH) refuse(path, "too_deep", `JSON may nest at most ${MAX_JSON_DEPTH} levels`);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkJson(value[i] as JsonValue, `${path}[${i}]`, depth + 1);
    return;
  }
  for (const key in value) {
    checkText(key, `${path} (a key)`, Number.POSITIVE_INFINITY);
    checkJson(value[key] as JsonValue, `${path}.${key}`, depth + 1);
  }
}

function checkText(text: string, path: string, maxChars: number): void {
  if (text.length > maxChars) refuse(path, "string_too_long", `at most ${maxChars} characters (got ${text.length})`);
  if (text.includes("\u0000")) refuse(path, "invalid_character", "contains U+0000 (NUL), which agentnet does not accept in text");
  if (!text.isWellFormed()) refuse(path, "invalid_character", "contains an unpaired UTF-16 surrogate (not Unicode text)");
}

function refuse(path: string, reason: string, why: string): never {
  // JSON keys can be long or odd; keep the field path readable in errors and logs.
  const field = path.length > 200 ? `${path.slice(0, 200)}…` : path;
  throw new DomainError("invalid_argument", reason, `${field}: ${why}`, { field });
}
