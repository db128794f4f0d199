import type { ProfileRecord, SessionRecord } from "./profiles.js";

// Presence events travel between gateways on the bus, so every gateway's WatchPresence streams see every change
// whichever gateway made it. One subject per account (`agentnet.presence.<account_id>`), so a future consumer
// can follow one account; gateways subscribe to all of them. The payload is JSON with snake_case keys (other
// languages may listen too) and carries the account's profile after the change, so watchers need no store
// round trip per event.

export const PRESENCE_SUBJECT_PREFIX = "agentnet.presence";
export const PRESENCE_SUBSCRIPTION = `${PRESENCE_SUBJECT_PREFIX}.>`;
const WIRE_VERSION = 1;

export function presenceSubject(accountId: string): string {
  return `${PRESENCE_SUBJECT_PREFIX}.${accountId}`;
}

export type PresenceEventType = "online" | "offline" | "updated";
export type OfflineReason = "" | "deregistered" | "ttl_expired";

export interface PresenceEventRecord {
  type: PresenceEventType;
  /** The profile after the change, without sessions. */
  account: ProfileRecord;
  /** The session whose start or end caused the event; null for profile updates and snapshot entries. */
  session: SessionRecord | null;
  eventAt: Date;
  reason: OfflineReason;
  /** True for entries of a WatchPresence snapshot; never set on the bus. */
  snapshot: boolean;
}

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

interface WireEvent {
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
  const wire: WireEvent = {
    v: WIRE_VERSION,
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
  let wire: WireEvent;
  try {
    wire = JSON.parse(Buffer.from(data).toString("utf8")) as WireEvent;
  } catch {
    return undefined;
  }
  if (typeof wire !== "object" || wire === null || wire.v !== WIRE_VERSION || typeof wire.account?.account_id !== "string") {
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
