// Read-only views of received envelopes: what a handler, a Request's reply or a history read gives back.
import type { JsonObject } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type BlobInfo, type Envelope, MessageKind } from "@agentnet/gen/agentnet/v1/messaging_pb.js";
import { type KindName, kindName } from "./kinds.js";

export interface From {
  accountId: string;
  username: string;
  agentId: string;
  sessionTag: string;
}

export class MessageView {
  /**
   * The trace context answers to this message continue: the handler's span while a handler runs it (set by the
   * agent), else the envelope's `traceparent`.
   */
  traceContext: string;

  constructor(readonly envelope: Envelope) {
    this.traceContext = envelope.traceparent;
  }

  /** W3C trace context the message arrived in (its delivery's span); "" when it was sent outside any trace. */
  get traceparent(): string {
    return this.envelope.traceparent;
  }

  get messageId(): string {
    return this.envelope.messageId;
  }
  get threadId(): string {
    return this.envelope.threadId;
  }
  get traceId(): string {
    return this.envelope.traceId;
  }
  get parentMessageId(): string {
    return this.envelope.parentMessageId;
  }
  get kind(): KindName | "" {
    return kindName(this.envelope.kind);
  }
  get isRequest(): boolean {
    return this.envelope.kind === MessageKind.REQUEST;
  }
  get from(): From {
    const e = this.envelope;
    return { accountId: e.fromAccountId, username: e.fromUsername, agentId: e.fromAgentId, sessionTag: e.fromSessionTag };
  }
  get toAccountId(): string {
    return this.envelope.toAccountId;
  }
  get payload(): JsonObject {
    return this.envelope.payload ?? {};
  }
  /** `payload.text` when it is a string (the seed's text messages), else undefined. */
  get text(): string | undefined {
    const t = this.payload["text"];
    return typeof t === "string" ? t : undefined;
  }
  get sentAt(): Date | undefined {
    return this.envelope.sentAt && timestampDate(this.envelope.sentAt);
  }
  get expiresAt(): Date | undefined {
    return this.envelope.expiresAt && timestampDate(this.envelope.expiresAt);
  }
  /** 1 on first delivery, more when the message was pushed again after a reconnect. */
  get deliveryAttempt(): number {
    return this.envelope.deliveryAttempt;
  }
  get blobs(): BlobInfo[] {
    return this.envelope.blobs;
  }
  /** Whether the TTL has passed at `now`. */
  isExpired(now = Date.now()): boolean {
    const at = this.expiresAt;
    return at !== undefined && at.getTime() <= now;
  }
}
