import type { ColumnType, Generated } from "kysely";

type Json<T = Record<string, unknown>> = ColumnType<T, string, string>;

import type { MessageKindName, MessageStatus } from "../wire/index.js";

export type { MessageKindName, MessageStatus };

/** A stored message envelope and its delivery state. */
export interface MessagesTable {
  /** Storage order; cursors and inbox order use it (message ids may be client-chosen). */
  seq: Generated<number>;
  message_id: string;
  thread_id: string;
  parent_message_id: string;
  trace_id: string;
  /** W3C trace context the message was sent in; "" when none. */
  traceparent: Generated<string>;
  kind: MessageKindName;
  from_account_id: string;
  from_username: string;
  from_agent_id: string;
  from_session_tag: string;
  /** The address as given: {"account_id"|"username"|"capability": "..."}. */
  to_target: Json<Record<string, string>>;
  to_account_id: string;
  to_username: string;
  payload: Json;
  payload_bytes: number;
  /** Characters of the payload as compact JSON, for token estimates. */
  payload_chars: number;
  sent_at: Date;
  ttl_ms: number;
  expires_at: Date;
  schema_version: string;
  /** Null when the sender gave none; unique per sender otherwise. */
  idempotency_key: string | null;
  signature: Json<{ scheme: string; public_key: string; signature: string }> | null;
  blob_ids: ColumnType<string[], string[], string[]>;
  status: MessageStatus;
  delivery_attempts: ColumnType<number, number | undefined, number>;
  status_session_tag: string;
  status_code: string;
  status_detail: string;
  /** While set and in the future, a DELIVERED message is held by a live stream and not handed to another. */
  lease_until: Date | null;
  updated_at: Date;
}

/** One status change of a message, kept for WatchReceipts replay; `receipt_id` is the cursor. */
export interface ReceiptsTable {
  receipt_id: Generated<number>;
  message_id: string;
  sender_account_id: string;
  recipient_account_id: string;
  status: MessageStatus;
  event_at: Date;
  recipient_session_tag: string;
  thread_id: string;
  trace_id: string;
  code: string;
  detail: string;
  delivery_attempt: number;
}

export interface ThreadsTable {
  thread_id: string;
  created_at: Date;
  last_message_at: Date;
  last_message_id: string;
  message_count: number;
  byte_count: number;
  char_count: number;
  latest_checkpoint_end: string;
  /** Set when the thread belongs to a SessionService chat session. */
  chat_session_id: string | null;
}

export interface ThreadParticipantsTable {
  thread_id: string;
  account_id: string;
}
