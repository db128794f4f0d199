// The messaging domain's surface: what other rooms may use. Everything else in this folder is its own.
export { type RequestProgress, requestProgress } from "./answers.js";
export { type ChatMessageInput, type ChatParty, ChatThreadWriter, openChatThread } from "./chat-threads.js";
export type { ReceiptRecord } from "../wire/index.js";
export {
  History,
  type ListThreadsFilter,
  type Participant,
  type SearchFilter,
  type ThreadStatus,
  type ThreadSummary,
} from "./history.js";
export type { StoredMessage } from "./message.js";
export {
  type AckInput,
  type AckItemResult,
  type MessageInput,
  Messaging,
  type MessagingDeps,
  type SessionHolder,
  type SendInput,
  type SendBatchOutcome,
  type SendResult,
  type SignatureInput,
  type Target,
} from "./messaging.js";
export { type PrunedThreads, pruneStaleThreads } from "./prune.js";
export { accountTraffic, latestMessageSeq, messageCountsFor, pendingMessageCount } from "./stats.js";
export type { MessageKindName, MessageStatus } from "./tables.js";
