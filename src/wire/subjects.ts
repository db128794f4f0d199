// Every bus subject gateways use, in one place: this is the wire between gateways. A subject's payload and codec
// are named beside it (codecs.ts); nats-server users can follow the traffic with `nats sub 'agentnet.>'`.

import type { ReceiptRecord } from "./records.js";

/** A stored message for an account (StoredMessage): gateways holding CONSUME streams of it subscribe in one queue group. */
export const inboxSubject = (accountId: string) => `agentnet.inbox.${accountId}`;
export const INBOX_QUEUE = "agentnet-delivery";

/** Copies of accepted messages (StoredMessage) for OBSERVE streams (no queue group: every observer sees them). */
export const observeSubject = (accountId: string) => `agentnet.observe.${accountId}`;

/**
 * A receipt (ReceiptRecord), by sender, recipient and whether the status is final (`final`: processed, rejected,
 * expired; `moved`: accepted, delivered). Watchers of the sender subscribe `agentnet.receipt.<sender>.>`, waiting
 * calls the pair, and consumers of the recipient only `agentnet.receipt.*.<recipient>.final` (to learn of acks made
 * through another gateway): the server then sends them none of the receipts they would only decode and drop.
 */
export const receiptSubject = (senderAccountId: string, recipientAccountId: string, status: ReceiptRecord["status"]) =>
  `agentnet.receipt.${senderAccountId}.${recipientAccountId}.${FINAL_STATUSES.has(status) ? "final" : "moved"}`;
export const receiptsOfSender = (senderAccountId: string) => `agentnet.receipt.${senderAccountId}.>`;
export const receiptsOfPair = (senderAccountId: string, recipientAccountId: string) =>
  `agentnet.receipt.${senderAccountId}.${recipientAccountId}.*`;
export const finalReceiptsOfRecipient = (recipientAccountId: string) => `agentnet.receipt.*.${recipientAccountId}.final`;
/** Every receipt: a receipt watcher not limited to some accounts. */
export const ALL_RECEIPTS = "agentnet.receipt.>";
const FINAL_STATUSES: ReadonlySet<ReceiptRecord["status"]> = new Set(["processed", "rejected", "expired"]);

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
