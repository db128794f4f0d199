// Agent status in AgentConnect's shape, read across the registry, messaging and sessions domains.
export { AgentStatus, type AgentListing, type AgentState, type AgentStatusRecord } from "./agent-status.js";
