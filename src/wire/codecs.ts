import type {
  CredentialInvalidation,
  OfflineReason,
  PresenceEventRecord,
  PresenceEventType,
  ReceiptRecord,
  SessionEventRecord,
  StoredMessage,
} from "./records.js";

// The codec of every payload in subjects.ts. Messages, receipts and session events are JSON of the record with
// dates as epoch milliseconds or ISO strings and bytes as base64; presence events are versioned snake_case JSON
// (other languages may listen). The decoders of presence events, session events and invalidations answer
// undefined for what is not theirs rather than throw, so one stray publisher cannot break a subscription.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeMessage(m: StoredMessage): Uint8Array {
  return encoder.encode(
    JSON.stringify({
      ...m,
      sentAt: m.sentAt.getTime(),
      expiresAt: m.expiresAt.getTime(),
      signature: m.signature && {
        scheme: m.signature.scheme,
        publicKey: Buffer.from(m.signature.publicKey).toString("base64"),
        signature: Buffer.from(m.signature.signature).toString("base64"),
      },
    }),
  );
}

export function decodeMessage(data: Uint8Array): StoredMessage {
  const raw = JSON.parse(decoder.decode(data)) as Omit<StoredMessage, "sentAt" | "expiresAt" | "signature"> & {
    sentAt: number;
    expiresAt: number;
    signature: { scheme: string; publicKey: string; signature: string } | null;
  };
  return {
    ...raw,
    // From a gateway of an earlier version: no trace context.
    traceparent: raw.traceparent ?? "",
    sentAt: new Date(raw.sentAt),
    expiresAt: new Date(raw.expiresAt),
    signature: raw.signature && {
      scheme: raw.signature.scheme,
      publicKey: Buffer.from(raw.signature.publicKey, "base64"),
      signature: Buffer.from(raw.signature.signature, "base64"),
    },
  };
}

export function encodeReceipt(r: ReceiptRecord): Uint8Array {
  return encoder.encode(JSON.stringify({ ...r, eventAt: r.eventAt.getTime() }));
}

export function decodeReceipt(data: Uint8Array): ReceiptRecord {
  const raw = JSON.parse(decoder.decode(data)) as Omit<ReceiptRecord, "eventAt"> & { eventAt: number };
  return { ...raw, eventAt: new Date(raw.eventAt) };
}

// ---- presence ----------------------------------------------------------------------------------------------

const PRESENCE_WIRE_VERSION = 1;

interface WireSession {
  session_tag: string;
  account_id: string;
  agent_id: string;
  gateway_id: string;
  connected_at: string;
  last_seen_at: string;
  expires_at: string;
  subscribed: boolean;
  metadata: Record<string, unknown>;
}

interface WireAccount {
  account_id: string;
  username: string;
  display_name: string;
  agent_id: string;
  agent_type: "external" | "hosted";
  bio: string;
  capabilities: string[];
  metadata: Record<string, unknown>;
  visibility: "public" | "private";
  online: boolean;
  session_count: number;
  last_seen_at: string | null;
  owner_user_id: string;
  owner: string;
  /** base64 */
  public_key: string | null;
  created_at: string;
  updated_at: string;
}

interface WirePresenceEvent {
  v: number;
  type: PresenceEventType;
  event_at: string;
  reason: OfflineReason;
  /** The gateway that published it (diagnostics). */
  gateway_id: string;
  account: WireAccount;
  session: WireSession | null;
}

export function encodePresenceEvent(event: PresenceEventRecord, gatewayId: string): Uint8Array {
  const a = event.account;
  const s = event.session;
  const wire: WirePresenceEvent = {
    v: PRESENCE_WIRE_VERSION,
    type: event.type,
    event_at: event.eventAt.toISOString(),
    reason: event.reason,
    gateway_id: gatewayId,
    account: {
      account_id: a.accountId,
      username: a.username,
      display_name: a.displayName,
      agent_id: a.agentId,
      agent_type: a.agentType,
      bio: a.bio,
      capabilities: a.capabilities,
      metadata: a.metadata,
      visibility: a.visibility,
      online: a.online,
      session_count: a.sessionCount,
      last_seen_at: a.lastSeenAt?.toISOString() ?? null,
      owner_user_id: a.ownerUserId,
      owner: a.owner,
      public_key: a.publicKey === null ? null : Buffer.from(a.publicKey).toString("base64"),
      created_at: a.createdAt.toISOString(),
      updated_at: a.updatedAt.toISOString(),
    },
    session: s && {
      session_tag: s.sessionTag,
      account_id: s.accountId,
      agent_id: s.agentId,
      gateway_id: s.gatewayId,
      connected_at: s.connectedAt.toISOString(),
      last_seen_at: s.lastSeenAt.toISOString(),
      expires_at: s.expiresAt.toISOString(),
      subscribed: s.subscribed,
      metadata: s.metadata,
    },
  };
  return Buffer.from(JSON.stringify(wire));
}

/** The event in a bus message; undefined for anything that is not a presence event of a known version. */
export function decodePresenceEvent(data: Uint8Array): PresenceEventRecord | undefined {
  let wire: WirePresenceEvent;
  try {
    wire = JSON.parse(Buffer.from(data).toString("utf8")) as WirePresenceEvent;
  } catch {
    return undefined;
  }
  if (typeof wire !== "object" || wire === null || wire.v !== PRESENCE_WIRE_VERSION || typeof wire.account?.account_id !== "string") {
    return undefined;
  }
  const a = wire.account;
  const s = wire.session;
  return {
    type: wire.type,
    eventAt: new Date(wire.event_at),
    reason: wire.reason,
    snapshot: false,
    account: {
      accountId: a.account_id,
      username: a.username,
      displayName: a.display_name,
      agentId: a.agent_id,
      agentType: a.agent_type,
      bio: a.bio,
      capabilities: a.capabilities,
      metadata: a.metadata,
      visibility: a.visibility,
      online: a.online,
      sessionCount: a.session_count,
      lastSeenAt: a.last_seen_at === null ? null : new Date(a.last_seen_at),
      ownerUserId: a.owner_user_id,
      owner: a.owner,
      publicKey: a.public_key === null ? null : new Uint8Array(Buffer.from(a.public_key, "base64")),
      createdAt: new Date(a.created_at),
      updatedAt: new Date(a.updated_at),
      sessions: [],
    },
    session: s && {
      sessionTag: s.session_tag,
      accountId: s.account_id,
      agentId: s.agent_id,
      gatewayId: s.gateway_id,
      connectedAt: new Date(s.connected_at),
      lastSeenAt: new Date(s.last_seen_at),
      expiresAt: new Date(s.expires_at),
      subscribed: s.subscribed,
      metadata: s.metadata,
    },
  };
}

// ---- chat sessions ---------------------------------------------------------------------------------------

interface WireSessionEvent extends Omit<SessionEventRecord, "timestamp" | "cooldownUntil"> {
  timestamp: string;
  cooldownUntil: string | null;
}

export function encodeSessionEvent(event: SessionEventRecord): Uint8Array {
  const wire: WireSessionEvent = {
    ...event,
    timestamp: event.timestamp.toISOString(),
    cooldownUntil: event.cooldownUntil?.toISOString() ?? null,
  };
  return Buffer.from(JSON.stringify(wire));
}

export function decodeSessionEvent(data: Uint8Array): SessionEventRecord | undefined {
  try {
    const wire = JSON.parse(Buffer.from(data).toString("utf8")) as WireSessionEvent;
    if (typeof wire.sessionId !== "string" || typeof wire.seq !== "number" || typeof wire.type !== "string") return undefined;
    return {
      ...wire,
      timestamp: new Date(wire.timestamp),
      cooldownUntil: wire.cooldownUntil === null ? null : new Date(wire.cooldownUntil),
    };
  } catch {
    return undefined;
  }
}

// ---- turns and credentials --------------------------------------------------------------------------------

export function encodeTurnOffer(sessionId: string): Uint8Array {
  return Buffer.from(sessionId);
}

export function decodeTurnOffer(data: Uint8Array): string {
  return Buffer.from(data).toString("utf8");
}

export function encodeInvalidation(invalidation: CredentialInvalidation): Uint8Array {
  return encoder.encode(JSON.stringify(invalidation));
}

export function decodeInvalidation(data: Uint8Array): CredentialInvalidation | undefined {
  try {
    const value: unknown = JSON.parse(decoder.decode(data));
    if (typeof value === "object" && value !== null && "keyId" in value && typeof value.keyId === "string") return { keyId: value.keyId };
  } catch {
    // fall through: not JSON
  }
  return undefined;
}
