import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  DeliveryStatus,
  type Envelope,
  EnvelopeSchema,
  MessageKind,
  RecipientSchema,
  SignatureSchema,
} from "../../gen/agentnet/v1/messaging_pb.js";
import type { MessageKindName, MessageStatus, StoredMessage } from "../messaging/index.js";

// Conversions between the messaging domain's names and the contract's enums and messages.

const kinds: Record<MessageKindName, MessageKind> = {
  direct: MessageKind.DIRECT,
  request: MessageKind.REQUEST,
  reply: MessageKind.REPLY,
  error: MessageKind.ERROR,
  system: MessageKind.SYSTEM,
  stream: MessageKind.STREAM,
};

const statuses: Record<MessageStatus, DeliveryStatus> = {
  accepted: DeliveryStatus.ACCEPTED,
  delivered: DeliveryStatus.DELIVERED,
  processed: DeliveryStatus.PROCESSED,
  rejected: DeliveryStatus.REJECTED,
  expired: DeliveryStatus.EXPIRED,
};

export function kindToProto(kind: MessageKindName): MessageKind {
  return kinds[kind];
}

/** The domain name of a kind; UNSPECIFIED maps to `fallback` (DIRECT on send, "any" in filters). */
export function kindFromProto(kind: MessageKind): MessageKindName | undefined {
  for (const [name, value] of Object.entries(kinds)) if (value === kind) return name as MessageKindName;
  return undefined;
}

export function statusToProto(status: MessageStatus): DeliveryStatus {
  return statuses[status];
}

export function statusFromProto(status: DeliveryStatus): MessageStatus | undefined {
  for (const [name, value] of Object.entries(statuses)) if (value === status) return name as MessageStatus;
  return undefined;
}

export function toEnvelope(m: StoredMessage, deliveryAttempt = m.deliveryAttempts): Envelope {
  return create(EnvelopeSchema, {
    messageId: m.messageId,
    threadId: m.threadId,
    parentMessageId: m.parentMessageId,
    traceId: m.traceId,
    traceparent: m.traceparent,
    kind: kindToProto(m.kind),
    fromAccountId: m.fromAccountId,
    fromUsername: m.fromUsername,
    fromAgentId: m.fromAgentId,
    fromSessionTag: m.fromSessionTag,
    to: create(RecipientSchema, {
      target:
        m.to.accountId !== undefined
          ? { case: "accountId", value: m.to.accountId }
          : m.to.username !== undefined
            ? { case: "username", value: m.to.username }
            : m.to.capability !== undefined
              ? { case: "capability", value: m.to.capability }
              : { case: undefined },
    }),
    toAccountId: m.toAccountId,
    toUsername: m.toUsername,
    payload: m.payload as JsonObject,
    payloadBytes: BigInt(m.payloadBytes),
    sentAt: timestampFromDate(m.sentAt),
    ttlMs: BigInt(m.ttlMs),
    expiresAt: timestampFromDate(m.expiresAt),
    schemaVersion: m.schemaVersion,
    idempotencyKey: m.idempotencyKey,
    signature: m.signature ? create(SignatureSchema, m.signature) : undefined,
    deliveryAttempt: deliveryAttempt,
    status: statusToProto(m.status),
  });
}
