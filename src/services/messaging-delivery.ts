import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, timestampNow } from "@bufbuild/protobuf/wkt";
import {
  AckOutcome,
  type Envelope,
  type Receipt,
  ReceiptSchema,
  type Recipient,
  type SendRequest,
  type SendResponseSchema,
  type SubscribeResponseSchema,
  type Signature,
  SubscribeMode,
  WaitFor,
} from "../../gen/agentnet/v1/messaging_pb.js";
import type { Logger } from "pino";
import type { Blobs } from "../blobs/index.js";
import { invalidArgument } from "../errors.js";
import type {
  MessageInput,
  MessageKindName,
  Messaging,
  ReceiptRecord,
  SendInput,
  SendResult,
  SignatureInput,
  StoredMessage,
  Target,
} from "../messaging/index.js";
import type { Principal } from "../auth/index.js";
import { principalOf, traceparentOf } from "../server/context.js";
import { validTraceparent } from "../tracing/index.js";
import { PushSource, mapOutlet } from "../streams/index.js";
import { envelopeBlobs } from "./blobs.js";
import { kindFromProto, statusToProto, toEnvelope } from "./envelope.js";
import type { MessagingHandlers } from "./messaging-handlers.js";
import { toSendError } from "./send-error.js";
import { decodeReceiptCursor, encodeReceiptCursor } from "../paging/index.js";

type DeliveryHandlers = Pick<MessagingHandlers, "send" | "sendBatch" | "request" | "reply" | "subscribe" | "ack" | "watchReceipts">;

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_IN_FLIGHT = 100;

export function deliveryHandlers(messaging: Messaging, blobs: Blobs, logger: Logger): DeliveryHandlers {
  // Pushed envelopes carry their blobs' metadata, as history reads do (a lookup only for messages with blobs).
  const envelopeFor = async (message: StoredMessage, attempt?: number): Promise<Envelope> => {
    const envelope = toEnvelope(message, attempt);
    if (message.blobIds.length > 0) envelope.blobs = envelopeBlobs(message.blobIds, await blobs.infos(message.blobIds));
    return envelope;
  };
  return {
    async send(req, ctx) {
      return sendResponse(await messaging.send(principalOf(ctx), sendInput(req, traceparentOf(ctx)), ctx.signal));
    },

    async sendBatch(req, ctx) {
      const traceparent = traceparentOf(ctx);
      const inputs = req.messages.map((m) => {
        try {
          return sendInput(m, traceparent);
        } catch (refused) {
          return { refused };
        }
      });
      const outcomes = await messaging.sendBatch(principalOf(ctx), inputs);
      return {
        results: outcomes.map((o, index) =>
          o.ok
            ? { result: { case: "sent", value: sendResponse(o.result) } }
            : {
                result: {
                  case: "error",
                  value: toSendError(o.error, (err) => logger.error({ method: "SendBatch", index, err }, "send batch item failed")),
                },
              },
        ),
      };
    },

    async request(req, ctx) {
      const { request, reply } = await messaging.request(
        principalOf(ctx),
        {
          ...messageInput(req, undefined, "request"),
          traceparent: traceparentOf(ctx),
          to: target(req.to),
          asAccountId: req.asAccountId,
          ttlMs: req.ttlMs === undefined ? undefined : Number(req.ttlMs),
          timeoutMs: req.timeoutMs === undefined ? DEFAULT_REQUEST_TIMEOUT_MS : Number(req.timeoutMs),
          deadlineMs: ctx.timeoutMs(),
        },
        ctx.signal,
      );
      return { requestMessageId: request.messageId, threadId: request.threadId, reply: toEnvelope(reply) };
    },

    async reply(req, ctx) {
      const { message } = await messaging.reply(principalOf(ctx), {
        ...messageInput(req, req.kind, "reply"),
        traceparent: traceparentOf(ctx),
        threadId: "",
        parentMessageId: "",
        traceId: "",
        ttlMs: req.ttlMs === undefined ? undefined : Number(req.ttlMs),
        requestMessageId: req.requestMessageId,
      });
      return { messageId: message.messageId, threadId: message.threadId, traceId: message.traceId, status: statusToProto(message.status) };
    },

    subscribe(req, ctx) {
      const principal = principalOf(ctx);
      if (req.mode === SubscribeMode.OBSERVE) return observe(messaging, principal, req.accountIds, ctx.signal, envelopeFor);
      const maxInFlight = req.maxInFlight === undefined ? DEFAULT_MAX_IN_FLIGHT : req.maxInFlight;
      const input = { asAccountId: req.asAccountId, sessionTag: req.sessionTag, maxInFlight };
      // Pushed, not re-yielded from a generator: each open stream is one agent connected, and a generator per stream
      // per layer is what made them heavy.
      return new PushSource<SubscribeEvent>(
        (outlet, signal) =>
          messaging.consume(
            principal,
            input,
            signal,
            mapOutlet(outlet, (item): SubscribeEvent | Promise<SubscribeEvent> => {
              if (item.type === "started") {
                const value = {
                  accountId: item.accountId,
                  sessionTag: req.sessionTag,
                  mode: SubscribeMode.CONSUME,
                  pendingCount: BigInt(item.pendingCount),
                };
                return { event: { case: "started", value } };
              }
              if (item.type === "keepalive") return { event: { case: "keepalive", value: { serverTime: timestampNow() } } };
              const pushed = { ...item.message, status: "delivered" as const };
              // Only a message with blobs waits for a lookup.
              if (pushed.blobIds.length > 0)
                return envelopeFor(pushed, item.attempt).then((value) => ({ event: { case: "message", value } }));
              return { event: { case: "message", value: toEnvelope(pushed, item.attempt) } };
            }),
          ),
        ctx.signal,
      );
    },

    async ack(req, ctx) {
      const results = await messaging.ack(
        principalOf(ctx),
        req.acks.map((a) => ({
          messageId: a.messageId,
          outcome: a.outcome === AckOutcome.REJECTED ? "rejected" : "processed",
          code: a.code,
          detail: a.detail,
          traceparent: a.traceparent,
        })),
        req.sessionTag,
        traceparentOf(ctx),
      );
      return {
        results: results.map((r) => ({
          messageId: r.messageId,
          ok: r.ok,
          status: r.status === undefined ? 0 : statusToProto(r.status),
          error: r.error,
        })),
      };
    },

    async *watchReceipts(req, ctx) {
      const accounts = await messaging.watchableAccounts(principalOf(ctx), req.accountIds);
      const from = {
        afterReceiptId: req.afterCursor === "" ? undefined : decodeReceiptCursor(req.afterCursor),
        since: req.since && timestampDate(req.since),
        messageIds: req.messageIds,
      };
      for await (const item of messaging.watchReceipts(accounts, from, ctx.signal)) {
        if (item.type === "receipt") yield { event: { case: "receipt", value: toReceipt(item.receipt) } };
        else if (item.type === "synced") yield { event: { case: "synced", value: { replayedCount: BigInt(item.replayed) } } };
        else yield { event: { case: "keepalive", value: { serverTime: timestampNow() } } };
      }
    },
  };
}

type SubscribeEvent = MessageInitShape<typeof SubscribeResponseSchema>;

/** An OBSERVE stream: copies of the traffic of the accounts the caller may watch, as it is accepted. */
async function* observe(
  messaging: Messaging,
  principal: Principal,
  accountIds: string[],
  signal: AbortSignal,
  envelopeFor: (message: StoredMessage) => Promise<Envelope>,
): AsyncGenerator<SubscribeEvent> {
  const accounts = await messaging.watchableAccounts(principal, accountIds);
  yield { event: { case: "started", value: { mode: SubscribeMode.OBSERVE } } };
  for await (const item of messaging.observe(accounts, signal)) {
    yield item === "keepalive"
      ? { event: { case: "keepalive", value: { serverTime: timestampNow() } } }
      : { event: { case: "message", value: await envelopeFor(item) } };
  }
}

function sendInput(req: SendRequest, traceparent: string): SendInput {
  return {
    ...messageInput(req, req.kind, "direct"),
    // The message's own trace context (a batching client's), else the call's.
    traceparent: validTraceparent(req.traceparent) ?? traceparent,
    to: target(req.to),
    asAccountId: req.asAccountId,
    ttlMs: req.expiry.case === "ttlMs" ? Number(req.expiry.value) : undefined,
    expiresAt: req.expiry.case === "expiresAt" ? timestampDate(req.expiry.value) : undefined,
    waitFor: req.waitFor === WaitFor.DELIVERED ? "delivered" : req.waitFor === WaitFor.PROCESSED ? "processed" : "accepted",
    waitTimeoutMs: req.waitTimeoutMs === undefined ? undefined : Number(req.waitTimeoutMs),
  };
}

function sendResponse(result: SendResult): MessageInitShape<typeof SendResponseSchema> {
  const m = result.message;
  return {
    messageId: m.messageId,
    threadId: m.threadId,
    traceId: m.traceId,
    status: statusToProto(m.status),
    toAccountId: m.toAccountId,
    expiresAt: timestampFromDate(m.expiresAt),
    duplicate: result.duplicate,
    waitTimedOut: result.waitTimedOut,
    receipt: result.receipt && toReceipt(result.receipt),
  };
}

interface CommonFields {
  payload?: Record<string, unknown> | undefined;
  threadId?: string;
  parentMessageId?: string;
  traceId?: string;
  idempotencyKey: string;
  schemaVersion: string;
  signature?: Signature | undefined;
  blobIds: string[];
  sessionTag: string;
  messageId: string;
}

function messageInput(req: CommonFields, kind: Parameters<typeof kindFromProto>[0] | undefined, fallback: MessageKindName): MessageInput {
  const resolvedKind = kind === undefined || kind === 0 ? fallback : kindFromProto(kind);
  if (resolvedKind === undefined) throw invalidArgument("kind", "unknown message kind");
  return {
    payload: req.payload ?? {},
    kind: resolvedKind,
    threadId: req.threadId ?? "",
    parentMessageId: req.parentMessageId ?? "",
    traceId: req.traceId ?? "",
    idempotencyKey: req.idempotencyKey,
    schemaVersion: req.schemaVersion,
    signature: signature(req.signature),
    blobIds: req.blobIds,
    sessionTag: req.sessionTag,
    messageId: req.messageId,
  };
}

function signature(sig: Signature | undefined): SignatureInput | undefined {
  if (!sig) return undefined;
  return { scheme: sig.scheme, publicKey: sig.publicKey, signature: sig.signature };
}

function target(to: Recipient | undefined): Target {
  switch (to?.target.case) {
    case "accountId":
      return { accountId: to.target.value };
    case "username":
      return { username: to.target.value };
    case "capability":
      return { capability: to.target.value };
    default:
      throw invalidArgument("to", "give an account_id, a username or a capability");
  }
}

export function toReceipt(r: ReceiptRecord): Receipt {
  return create(ReceiptSchema, {
    cursor: encodeReceiptCursor(r.receiptId),
    messageId: r.messageId,
    status: statusToProto(r.status),
    eventAt: timestampFromDate(r.eventAt),
    senderAccountId: r.senderAccountId,
    recipientAccountId: r.recipientAccountId,
    recipientSessionTag: r.recipientSessionTag,
    threadId: r.threadId,
    traceId: r.traceId,
    code: r.code,
    detail: r.detail,
    deliveryAttempt: r.deliveryAttempt,
  });
}
