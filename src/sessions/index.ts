// The sessions domain's surface: what other rooms may use. Everything else in this folder is its own.
export type { StreamItem } from "./event-stream.js";
export { type HostedAgentInfo, hostedAgentInfo, hostedAgentsInState } from "./hosted-info.js";
export type { ChatProvider } from "./providers/types.js";
export type { AgentStateName, SessionEventRecord, SessionRecord } from "./records.js";
export { Sessions, type SessionsDeps } from "./sessions.js";
export type { EventTypeName, RoleName, SessionStatusName, SessionTypeName } from "./tables.js";
export { activeChatSessionCount } from "./stats.js";
