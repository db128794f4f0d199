// The A2A bridge's surface: what other rooms may use. Everything else in this folder is its own.
export { A2a, AS_ACCOUNT_PARAMETER, type A2aDeps, type CallOptions, type SendMessageParams } from "./a2a.js";
export {
  A2A_PROTOCOL_VERSION,
  DIRECTORY_EXTENSION,
  type GatewayAddress,
  PRESENCE_EXTENSION,
  RESUME_AFTER_HEADER,
  RESUME_EXTENSION,
  agentCardUrl,
} from "./cards.js";
export { A2A_ERROR_DOMAIN, A2A_ERRORS, A2aError, type A2aErrorType } from "./errors.js";
export type { JsonObject, JsonValue, Message, StreamEvent, Task, TaskState } from "./model.js";
export { SEQ_KEY } from "./task-view.js";
