import type { Selectable } from "kysely";
import type { StoredMessage } from "../wire/index.js";
import type { MessagesTable } from "./tables.js";

export type { StoredMessage } from "../wire/index.js";

export function toStoredMessage(row: Selectable<MessagesTable>): StoredMessage {
  const target = row.to_target;
  return {
    seq: row.seq,
    messageId: row.message_id,
    threadId: row.thread_id,
    parentMessageId: row.parent_message_id,
    traceId: row.trace_id,
    traceparent: row.traceparent,
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
