// Every bus subject gateways use, in one place: this is the wire between gateways. A subject's payload and codec
// are named beside it (codecs.ts); nats-server users can follow the traffic with `nats sub 'agentnet.>'`.

/** A stored message for an account (StoredMessage): gateways holding CONSUME streams of it subscribe in one queue group. */
export const inboxSubject = (accountId: string) => `agentnet.inbox.${accountId}`;
export const INBOX_QUEUE = "agentnet-delivery";

/** Copies of accepted messages (StoredMessage) for OBSERVE streams (no queue group: every observer sees them). */
export const observeSubject = (accountId: string) => `agentnet.observe.${accountId}`;

/**
 * A receipt (ReceiptRecord): watchers of the sender subscribe `agentnet.receipt.<sender>.*`, consumers of the
 * recipient `agentnet.receipt.*.<recipient>` (to learn of acks made through another gateway).
 */
export const receiptSubject = (senderAccountId: string, recipientAccountId: string) =>
  `agentnet.receipt.${senderAccountId}.${recipientAccountId}`;
export const receiptsOfSender = (senderAccountId: string) => `agentnet.receipt.${senderAccountId}.*`;
export const receiptsOfRecipient = (recipientAccountId: string) => `agentnet.receipt.*.${recipientAccountId}`;
/** Every receipt: a receipt watcher not limited to some accounts. */
export const ALL_RECEIPTS = "agentnet.receipt.*.*";

/** Where a Request call waits for the reply (StoredMessage) to one request message; answered with one byte. */
export const replySubject = (requestMessageId: string) => `agentnet.reply.${requestMessageId}`;

/**
 * Presence events (PresenceEventRecord, versioned snake_case JSON other languages may read). One subject per
 * account, so a consumer can follow one account; gateways subscribe to all of them.
 */
export const PRESENCE_SUBJECT_PREFIX = "agentnet.presence";
export const presenceSubject = (accountId: string) => `${PRESENCE_SUBJECT_PREFIX}.${accountId}`;
export const ALL_PRESENCE = `${PRESENCE_SUBJECT_PREFIX}.>`;

/** Live events of one chat session (SessionEventRecord), for its StreamSession viewers on every gateway. */
export const sessionSubject = (sessionId: string) => `agentnet.session.${sessionId}`;

/** A chat session whose turn waits (the session id); one gateway of the queue group takes it. */
export const TURN_SUBJECT = "agentnet.session_turns";
export const TURN_QUEUE = "agentnet-session-turns";

/** Credentials every gateway must drop from its cache (CredentialInvalidation). */
export const AUTH_INVALIDATE_SUBJECT = "agentnet.auth.invalidate";
