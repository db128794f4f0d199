// Bus subjects of the messaging domain. Every gateway uses them; they are the wire between gateways.

/** A stored message for an account: gateways holding CONSUME streams of it subscribe in one queue group. */
export const inboxSubject = (accountId: string) => `agentnet.inbox.${accountId}`;
export const INBOX_QUEUE = "agentnet-delivery";

/** Copies of accepted messages for OBSERVE streams (no queue group: every observer sees them). */
export const observeSubject = (accountId: string) => `agentnet.observe.${accountId}`;

/** A receipt: watchers of the sender subscribe `agentnet.receipt.<sender>.*`, consumers of the recipient
 *  `agentnet.receipt.*.<recipient>` (to learn of acks made through another gateway). */
export const receiptSubject = (senderAccountId: string, recipientAccountId: string) =>
  `agentnet.receipt.${senderAccountId}.${recipientAccountId}`;
export const receiptsOfSender = (senderAccountId: string) => `agentnet.receipt.${senderAccountId}.*`;
/** Every receipt: a receipt watcher not limited to some accounts. */
export const ALL_RECEIPTS = "agentnet.receipt.*.*";
export const receiptsOfRecipient = (recipientAccountId: string) => `agentnet.receipt.*.${recipientAccountId}`;

/** Where a Request call waits for the reply to one request message. */
export const replySubject = (requestMessageId: string) => `agentnet.reply.${requestMessageId}`;
