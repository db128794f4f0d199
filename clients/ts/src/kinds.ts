// Readable names for the contract's enums ("direct", "processed", …), as the seed's JSON spells them.
import { DeliveryStatus, MessageKind, WaitFor } from "@agentnet/gen/agentnet/v1/messaging_pb.js";

export type KindName = "direct" | "request" | "reply" | "error" | "system" | "stream";
export type StatusName = "accepted" | "delivered" | "processed" | "rejected" | "expired";
export type WaitForName = "accepted" | "delivered" | "processed";

const KINDS: Record<KindName, MessageKind> = {
  direct: MessageKind.DIRECT,
  request: MessageKind.REQUEST,
  reply: MessageKind.REPLY,
  error: MessageKind.ERROR,
  system: MessageKind.SYSTEM,
  stream: MessageKind.STREAM,
};

export function kindName(kind: MessageKind): KindName | "" {
  for (const [name, value] of Object.entries(KINDS)) if (value === kind) return name as KindName;
  return "";
}

export function kindFromName(name: string): MessageKind {
  const kind = KINDS[name.toLowerCase() as KindName];
  if (kind === undefined) throw new TypeError(`unknown message kind "${name}" (one of ${Object.keys(KINDS).join(", ")})`);
  return kind;
}

export function statusName(status: DeliveryStatus): StatusName | "" {
  switch (status) {
    case DeliveryStatus.ACCEPTED:
      return "accepted";
    case DeliveryStatus.DELIVERED:
      return "delivered";
    case DeliveryStatus.PROCESSED:
      return "processed";
    case DeliveryStatus.REJECTED:
      return "rejected";
    case DeliveryStatus.EXPIRED:
      return "expired";
    default:
      return "";
  }
}

export function waitForValue(name: WaitForName | undefined): WaitFor {
  switch (name) {
    case "delivered":
      return WaitFor.DELIVERED;
    case "processed":
      return WaitFor.PROCESSED;
    default:
      return WaitFor.UNSPECIFIED;
  }
}
