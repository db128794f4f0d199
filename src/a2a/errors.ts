import { DomainError, type ErrorKind } from "../errors.js";

// A2A's own errors (specification §3.3.2, §5.4). Both bindings answer them with a google.rpc.ErrorInfo of domain
// "a2a-protocol.org" whose reason is the type's name in UPPER_SNAKE_CASE, and with the binding's code from the
// table below. Every other refusal is agentnet's (domain "agentnet.dev"), as on agentnet's own services.

export const A2A_ERROR_DOMAIN = "a2a-protocol.org";

export type A2aErrorType =
  | "TASK_NOT_FOUND"
  | "TASK_NOT_CANCELABLE"
  | "PUSH_NOTIFICATION_NOT_SUPPORTED"
  | "UNSUPPORTED_OPERATION"
  | "CONTENT_TYPE_NOT_SUPPORTED"
  | "INVALID_AGENT_RESPONSE"
  | "EXTENDED_AGENT_CARD_NOT_CONFIGURED"
  | "EXTENSION_SUPPORT_REQUIRED"
  | "VERSION_NOT_SUPPORTED";

/** Each A2A error's gRPC status (as a DomainError kind) and JSON-RPC code (§5.4). */
export const A2A_ERRORS: Record<A2aErrorType, { kind: ErrorKind | "internal"; jsonRpcCode: number }> = {
  TASK_NOT_FOUND: { kind: "not_found", jsonRpcCode: -32001 },
  TASK_NOT_CANCELABLE: { kind: "failed_precondition", jsonRpcCode: -32002 },
  PUSH_NOTIFICATION_NOT_SUPPORTED: { kind: "failed_precondition", jsonRpcCode: -32003 },
  UNSUPPORTED_OPERATION: { kind: "failed_precondition", jsonRpcCode: -32004 },
  CONTENT_TYPE_NOT_SUPPORTED: { kind: "invalid_argument", jsonRpcCode: -32005 },
  INVALID_AGENT_RESPONSE: { kind: "internal", jsonRpcCode: -32006 },
  EXTENDED_AGENT_CARD_NOT_CONFIGURED: { kind: "failed_precondition", jsonRpcCode: -32007 },
  EXTENSION_SUPPORT_REQUIRED: { kind: "failed_precondition", jsonRpcCode: -32008 },
  VERSION_NOT_SUPPORTED: { kind: "failed_precondition", jsonRpcCode: -32009 },
};

/** An A2A-defined refusal. The adapters give it A2A's domain and codes; `metadata` becomes ErrorInfo.metadata. */
export class A2aError extends DomainError {
  constructor(
    readonly type: A2aErrorType,
    message: string,
    metadata: Record<string, string> = {},
  ) {
    const kind = A2A_ERRORS[type].kind;
    super(kind === "internal" ? "failed_precondition" : kind, type, message, { metadata });
  }
}

export function taskNotFound(taskId: string): A2aError {
  return new A2aError("TASK_NOT_FOUND", `no task ${JSON.stringify(taskId)} of yours`, { taskId });
}
