import type { StoredMessage } from "./message.js";

/**
 * What every span about a message says of it. `agentnet.trace_id` is agentnet's own correlation id (the envelope's
 * `trace_id`), not the W3C trace id: searching spans by it finds a conversation's messages across traces.
 */
export function messageAttributes(m: StoredMessage): Record<string, string | number> {
  return {
    "messaging.system": "agentnet",
    "messaging.message.id": m.messageId,
    "messaging.message.conversation_id": m.threadId,
    "agentnet.trace_id": m.traceId,
    "agentnet.kind": m.kind,
    "agentnet.from_account_id": m.fromAccountId,
    "agentnet.to_account_id": m.toAccountId,
  };
}
