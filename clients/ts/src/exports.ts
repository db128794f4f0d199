// What both entry points (Node and browser) export besides their own `connect`.
export { Actor, ErrorReply } from "./actor.js";
export type {
  ObserveOptions,
  PutBlobOptions,
  ReplyOptions,
  RequestOptions,
  SendOptions,
  TextAnswer,
  WatchReceiptsOptions,
} from "./actor.js";
export { Agent, IncomingMessage } from "./agent.js";
export type { AgentEvents, AgentOptions, MessageHandler, RegisterOptions } from "./agent.js";
export { Backoff } from "./backoff.js";
export type { BackoffOptions } from "./backoff.js";
export { blobRefId, blobRefPayload } from "./blob-ref.js";
export { sessionEventTypeName } from "./chat.js";
export type {
  ChatSessionTypeName,
  CreateChatSessionOptions,
  ListChatSessionsOptions,
  SendChatMessageOptions,
  StreamChatSessionOptions,
} from "./chat.js";
export { AccountActor, AgentnetClient } from "./client.js";
export type { ListOnlineOptions, ListThreadsOptions, Page, PageOptions, SearchAgentsOptions, SearchMessagesOptions } from "./discovery.js";
export * from "./errors.js";
export type { Outcome, OutcomeEvent } from "./guarded-handler.js";
export { DEFAULT_GUARDRAILS, REJECTION, Reject } from "./guardrails.js";
export type { Guardrails } from "./guardrails.js";
export { kindName, statusName } from "./kinds.js";
export type { KindName, StatusName, WaitForName } from "./kinds.js";
export { MessageView } from "./message.js";
export type { From } from "./message.js";
export type { ConnectOptions } from "./options.js";
export type { WatchPresenceOptions } from "./presence.js";
export { describeRecipient, toRecipient } from "./recipient.js";
export type { Target } from "./recipient.js";
export { StreamCollector, StreamWriter } from "./streaming.js";
export type { AssembledStream, StreamPartType } from "./streaming.js";
export { Thread } from "./thread.js";
export type { StartVoiceAgentOptions, VoiceConfigOptions } from "./voice.js";
