import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CredentialInvalidation,
  type PresenceEventRecord,
  type ProfileRecord,
  type ReceiptRecord,
  type SessionEventRecord,
  type SessionRecord,
  type StoredMessage,
  WIRE_CODECS,
  type WireMessages,
} from "../../src/wire/index.js";

// Every family of the wire survives a trip through its codec: what one gateway publishes is what another reads.

const date = fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true });
// Payloads and metadata arrive as JSON (a Struct), so they are JSON's normal form already (no -0).
const json = fc.dictionary(fc.string(), fc.jsonValue()).map((v) => JSON.parse(JSON.stringify(v)) as Record<string, unknown>);
const bytes = fc.uint8Array({ maxLength: 64 });

const message: fc.Arbitrary<StoredMessage> = fc.record({
  seq: fc.nat(),
  messageId: fc.string(),
  threadId: fc.string(),
  parentMessageId: fc.string(),
  traceId: fc.string(),
  traceparent: fc.string(),
  kind: fc.constantFrom("direct", "request", "reply", "error", "system", "stream"),
  fromAccountId: fc.string(),
  fromUsername: fc.string(),
  fromAgentId: fc.string(),
  fromSessionTag: fc.string(),
  to: fc.record({ accountId: fc.string(), username: fc.string(), capability: fc.string() }, { requiredKeys: [] }),
  toAccountId: fc.string(),
  toUsername: fc.string(),
  payload: json,
  payloadBytes: fc.nat(),
  payloadChars: fc.nat(),
  sentAt: date,
  ttlMs: fc.nat(),
  expiresAt: date,
  schemaVersion: fc.string(),
  idempotencyKey: fc.string(),
  signature: fc.option(fc.record({ scheme: fc.string(), publicKey: bytes, signature: bytes }), { nil: null }),
  blobIds: fc.array(fc.string()),
  status: fc.constantFrom("accepted", "delivered", "processed", "rejected", "expired"),
  deliveryAttempts: fc.nat(),
  statusCode: fc.string(),
  statusDetail: fc.string(),
});

const receipt: fc.Arbitrary<ReceiptRecord> = fc.record({
  receiptId: fc.nat(),
  messageId: fc.string(),
  senderAccountId: fc.string(),
  recipientAccountId: fc.string(),
  status: fc.constantFrom("accepted", "delivered", "processed", "rejected", "expired"),
  eventAt: date,
  recipientSessionTag: fc.string(),
  threadId: fc.string(),
  traceId: fc.string(),
  code: fc.string(),
  detail: fc.string(),
  deliveryAttempt: fc.nat(),
});

const session: fc.Arbitrary<SessionRecord> = fc.record({
  sessionTag: fc.string(),
  accountId: fc.string(),
  agentId: fc.string(),
  gatewayId: fc.string(),
  connectedAt: date,
  lastSeenAt: date,
  expiresAt: date,
  subscribed: fc.boolean(),
  metadata: json,
});

const profile: fc.Arbitrary<ProfileRecord> = fc.record({
  accountId: fc.string(),
  username: fc.string(),
  displayName: fc.string(),
  agentId: fc.string(),
  agentType: fc.constantFrom("external", "hosted"),
  bio: fc.string(),
  capabilities: fc.array(fc.string()),
  metadata: json,
  visibility: fc.constantFrom("public", "private"),
  online: fc.boolean(),
  sessionCount: fc.nat(),
  lastSeenAt: fc.option(date, { nil: null }),
  ownerUserId: fc.string(),
  owner: fc.string(),
  publicKey: fc.option(bytes, { nil: null }),
  createdAt: date,
  updatedAt: date,
  // Sessions never travel with a presence event's profile.
  sessions: fc.constant([]),
});

const presence: fc.Arbitrary<PresenceEventRecord> = fc.record({
  type: fc.constantFrom("online", "offline", "updated"),
  account: profile,
  session: fc.option(session, { nil: null }),
  eventAt: date,
  reason: fc.constantFrom("", "deregistered", "ttl_expired"),
  snapshot: fc.constant(false),
});

const sessionEvent: fc.Arbitrary<SessionEventRecord> = fc.record({
  sessionId: fc.string(),
  seq: fc.nat(),
  type: fc.constantFrom("text", "response", "delta", "info", "system", "error", "cooldown", "stop"),
  content: fc.string(),
  sender: fc.string(),
  receiver: fc.string(),
  timestamp: date,
  metadata: json,
  role: fc.constantFrom("", "user", "assistant", "system"),
  responseId: fc.string(),
  turn: fc.nat(),
  cooldownUntil: fc.option(date, { nil: null }),
  reason: fc.string(),
  messageId: fc.string(),
});

const invalidation: fc.Arbitrary<CredentialInvalidation> = fc.record({ keyId: fc.string() });

const families: { [K in keyof WireMessages]: fc.Arbitrary<WireMessages[K]> } = {
  inbox: message,
  observe: message,
  receipt,
  reply: message,
  presence,
  session: sessionEvent,
  turn: fc.string(),
  "auth.invalidate": invalidation,
};

/** Uint8Arrays and Buffers compare equal by content; everything else as it is. */
function normalise(value: unknown): unknown {
  if (value instanceof Uint8Array) return [...value];
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === "object" && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v)]));
  }
  return value;
}

describe("the wire between gateways", () => {
  for (const [family, arbitrary] of Object.entries(families) as Array<[keyof WireMessages, fc.Arbitrary<never>]>) {
    it(`carries every ${family} record unchanged`, () => {
      const codec = WIRE_CODECS[family] as { encode(v: unknown, ...c: string[]): Uint8Array; decode(d: Uint8Array): unknown };
      fc.assert(
        fc.property(arbitrary, (record) => {
          const decoded = codec.decode(codec.encode(record, "gw_test"));
          expect(normalise(decoded)).toEqual(normalise(record));
          // Dates come back as Dates, not strings.
          if (record !== null && typeof record === "object") {
            for (const [key, value] of Object.entries(record)) {
              if (value instanceof Date) expect((decoded as Record<string, unknown>)[key]).toBeInstanceOf(Date);
            }
          }
        }),
      );
    });
  }

  it("ignores what is not a presence event, a session event or an invalidation instead of throwing", () => {
    for (const data of ["", "not json", "{}", '{"v":2,"account":{"account_id":"a"}}', "[1,2]", "null"]) {
      const bytes = new TextEncoder().encode(data);
      expect(WIRE_CODECS.presence.decode(bytes)).toBeUndefined();
      expect(WIRE_CODECS.session.decode(bytes)).toBeUndefined();
      expect(WIRE_CODECS["auth.invalidate"].decode(bytes)).toBeUndefined();
    }
  });
});
