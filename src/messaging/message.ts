import type { Selectable } from "kysely";
import type { MessageKindName, MessagesTable, MessageStatus } from "./tables.js";

/** A stored message as the messaging domain hands it to services (no transport types). */
export interface StoredMessage {
  seq: number;
  messageId: string;
  threadId: string;
  parentMessageId: string;
  traceId: string;
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

export function toStoredMessage(row: Selectable<MessagesTable>): StoredMessage {
  const target = row.to_target;
  return {
    seq: row.seq,
    messageId: row.message_id,
    threadId: row.thread_id,
    parentMessageId: row.parent_message_id,
    traceId: row.trace_id,
    kind: row.kind,
    fromAccountId: row.from_account_id,
    fromUsername: row.from_username,
    fromAgentId: row.from_agent_id,
    fromSessionTag: row.from_session_tag,
    to: {
      ...(target["account_id"] !== undefined && { accountId: target["account_id"] }),
      ...(target["username"] !== undefined && { username: target["username"] }),
      ...(target["capability"] !== undefined && { capability: target["capability"] }),
    },
    toAccountId: row.to_account_id,
    toUsername: row.to_username,
    payload: row.payload,
    payloadBytes: row.payload_bytes,
    payloadChars: row.payload_chars,
    sentAt: row.sent_at,
    ttlMs: row.ttl_ms,
    expiresAt: row.expires_at,
    schemaVersion: row.schema_version,
    idempotencyKey: row.idempotency_key ?? "",
    signature: row.signature && {
      scheme: row.signature.scheme,
      publicKey: Buffer.from(row.signature.public_key, "base64"),
      signature: Buffer.from(row.signature.signature, "base64"),
    },
    blobIds: row.blob_ids,
    status: row.status,
    deliveryAttempts: row.delivery_attempts,
    statusCode: row.status_code,
    statusDetail: row.status_detail,
  };
}
