// Receipts grouped by message: each message's statuses in the order they came (accepted → delivered → processed,
// or rejected / expired), newest message first, bounded so a busy network does not fill the tab's memory.
import { DeliveryStatus, type Receipt } from "@agentnet/client/gen";
import { enumName } from "./format.js";

export interface Trail {
  messageId: string;
  recipient: string;
  statuses: { status: string; code: string; at: string }[];
}

export function addReceipt(trails: Trail[], r: Receipt, at: string, max = 200): Trail[] {
  const status = enumName(DeliveryStatus, r.status, "DELIVERY_STATUS_");
  const step = { status, code: r.code, at };
  const i = trails.findIndex((t) => t.messageId === r.messageId);
  if (i >= 0) {
    const t = trails[i] as Trail;
    const next = trails.slice();
    next[i] = { ...t, statuses: [...t.statuses, step] };
    return next;
  }
  return [{ messageId: r.messageId, recipient: r.recipientAccountId, statuses: [step] }, ...trails].slice(0, max);
}
