// The records that travel between gateways. They are the domains' own records (messaging's stored message and
// receipt, the registry's presence events with the profile they carry, a chat session's events); they are
// declared here, below the domains, so that the wire can type what it carries without importing a domain.

export type MessageStatus = "accepted" | "delivered" | "processed" | "rejected" | "expired";
export type MessageKindName = "direct" | "request" | "reply" | "error" | "system" | "stream";

/** A stored message as the messaging domain hands it to services (no transport types). */
export interface StoredMessage {
  seq: number;
  messageId: string;
  threadId: string;
  parentMessageId: string;
  traceId: string;
  /**
   * W3C trace context (`traceparent`) the message travels in: as stored, the span that sent it; as pushed to a
   * stream, its delivery's span. "" when it was sent outside any trace.
   */
  traceparent: string;
  kind: MessageKindName;
  fromAccountId: string;
  fromUsername: string;
  fromAgentId: string;
  fromSessionTag: string;
  /** The address as the sender gave it. */
  to: { accountId?: string; username?: string; capability?: string };
  toAccountId: string;
  toUsername: string;
  payload: Record<string, unknown>;
  payloadBytes: number;
  /** Characters of the payload as compact JSON (for token estimates). */
  payloadChars: number;
  sentAt: Date;
  ttlMs: number;
  expiresAt: Date;
  schemaVersion: string;
  idempotencyKey: string;
  signature: { scheme: string; publicKey: Uint8Array; signature: Uint8Array } | null;
  blobIds: string[];
  status: MessageStatus;
  deliveryAttempts: number;
  statusCode: string;
  statusDetail: string;
}

/** A receipt as stored and streamed. `receiptId` orders a sender's receipts and is the resume cursor. */
export interface ReceiptRecord {
  receiptId: number;
  messageId: string;
  senderAccountId: string;
  recipientAccountId: string;
  status: MessageStatus;
  eventAt: Date;
  recipientSessionTag: string;
  threadId: string;
  traceId: string;
  code: string;
  detail: string;
  deliveryAttempt: number;
}

export type Visibility = "public" | "private";

/** One running process of an account. */
export interface SessionRecord {
  sessionTag: string;
  accountId: string;
  agentId: string;
  gatewayId: string;
  connectedAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  subscribed: boolean;
  metadata: Record<string, unknown>;
}

/** An account with its presence summary. */
export interface ProfileRecord {
  accountId: string;
  username: string;
  displayName: string;
  agentId: string;
  agentType: "external" | "hosted";
  bio: string;
  capabilities: string[];
  metadata: Record<string, unknown>;
  visibility: Visibility;
  online: boolean;
  sessionCount: number;
  lastSeenAt: Date | null;
  ownerUserId: string;
  owner: string;
  publicKey: Uint8Array | null;
  createdAt: Date;
  updatedAt: Date;
  /** Live sessions; filled only where asked for (GetProfile). */
  sessions: SessionRecord[];
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

/** Types of stored session events (pings are never stored). */
export type EventTypeName = "text" | "response" | "delta" | "info" | "system" | "error" | "cooldown" | "stop";
export type RoleName = "" | "user" | "assistant" | "system";

export interface SessionEventRecord {
  sessionId: string;
  /** 0 only for pings. */
  seq: number;
  type: EventTypeName;
  content: string;
  sender: string;
  receiver: string;
  timestamp: Date;
  metadata: Record<string, unknown>;
  role: RoleName;
  responseId: string;
  turn: number;
  cooldownUntil: Date | null;
  reason: string;
  messageId: string;
}

/** A credential that every gateway must stop trusting from its cache (an API key revoked somewhere). */
export interface CredentialInvalidation {
  keyId: string;
}
