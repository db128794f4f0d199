// The verbs shared by a plain client (acting as the caller's only account, or one chosen with `as`) and a
// registered agent (acting as its account and session): send, request, reply, text helpers, threads, streams,
// blobs, discovery and history.
import type { JsonObject, MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { CallOptions } from "@connectrpc/connect";
import type { Profile } from "@agentnet/gen/agentnet/v1/common_pb.js";
import type { PresenceEvent } from "@agentnet/gen/agentnet/v1/registry_pb.js";
import {
  type BlobInfo,
  type Envelope,
  type GetThreadStatusResponse,
  MessageKind,
  type Receipt,
  type ReplyResponse,
  type SendRequestSchema,
  type SendResponse,
  type Signature,
  SubscribeMode,
  type ThreadSummary,
  WaitFor,
} from "@agentnet/gen/agentnet/v1/messaging_pb.js";
import { blobRefPayload } from "./blob-ref.js";
import * as discovery from "./discovery.js";
import { newMessageId } from "./ids.js";
import { type KindName, type WaitForName, kindFromName, waitForValue } from "./kinds.js";
import { MessageView } from "./message.js";
import { type WatchPresenceOptions, watchPresence } from "./presence.js";
import { type Target, toRecipient } from "./recipient.js";
import { reopening } from "./reopening.js";
import { type RetryOptions, retrying } from "./retrying.js";
import { activeTraceparent } from "./trace-context.js";
import type { Services } from "./services.js";
import { StreamWriter } from "./streaming.js";
import { Thread } from "./thread.js";

export interface SendOptions {
  threadId?: string;
  parentMessageId?: string;
  traceId?: string;
  /** Makes the send idempotent per sending account: a repeat returns the original (`duplicate: true`). */
  idempotencyKey?: string;
  /** Time to live in ms (server default 30,000). */
  ttlMs?: number;
  /** Absolute expiry instead of `ttlMs`. */
  expiresAt?: Date;
  kind?: KindName;
  /** Answer once stored (default), pushed to the recipient, or processed by it. */
  waitFor?: WaitForName;
  waitTimeoutMs?: number;
  blobIds?: string[];
  /** Client-chosen id; default a fresh one, so retries are recognised as the same message. */
  messageId?: string;
  schemaVersion?: string;
  signature?: Signature;
  /** Extra attempts after a transient failure (network, restarting gateway); default 2 (the seed's). */
  retries?: number;
  signal?: AbortSignal;
  /** Deadline of the whole call in ms. */
  timeoutMs?: number;
  /** W3C trace context to send the message in; default the active OpenTelemetry span's, if any. */
  traceparent?: string;
}

export interface RequestOptions extends Omit<SendOptions, "kind" | "waitFor" | "waitTimeoutMs" | "expiresAt"> {
  /** How long to wait for the reply; default 30,000 ms. */
  timeoutMs?: number;
}

export interface ReplyOptions {
  /** W3C trace context of the answer; default the answered message's handling (or its delivery's). */
  traceparent?: string;
  /** "reply" (default) or "error". */
  kind?: "reply" | "error";
  idempotencyKey?: string;
  ttlMs?: number;
  blobIds?: string[];
  messageId?: string;
  signal?: AbortSignal;
}

export interface TextAnswer {
  text: string;
  reply: MessageView;
}

/** A request answered with a reply of kind ERROR (payload conventionally {code, detail}). */
export class ErrorReply extends Error {
  override name = "ErrorReply";
  constructor(readonly reply: MessageView) {
    super(`${String(reply.payload["code"] ?? "error")}: ${String(reply.payload["detail"] ?? reply.text ?? "")}`);
  }
  get code(): string {
    return String(this.reply.payload["code"] ?? "");
  }
}

export interface WatchReceiptsOptions {
  /** Sender accounts (ids); default every account the caller owns (admins: all). */
  accountIds?: string[];
  /** Replay stored receipts after this cursor first. */
  afterCursor?: string;
  /**
   * Without a cursor: replay stored receipts from this time on. Neither set: live receipts only. Either way a watch
   * that reconnects resumes after the last receipt it yielded, or, before any, from `since` or from when it opened,
   * so a receipt made while the stream was down is not lost.
   */
  since?: Date;
  messageIds?: string[];
  /** Called once stored receipts were replayed and the stream is live. */
  onSynced?: (replayed: number) => void;
  signal?: AbortSignal;
}

export interface ObserveOptions {
  /** Accounts whose traffic to watch; default every account the caller owns (admins: all). */
  accountIds?: string[];
  onStarted?: () => void;
  signal?: AbortSignal;
}

export interface PutBlobOptions {
  mimeType?: string;
  filename?: string;
}

export abstract class Actor {
  constructor(readonly services: Services) {}

  /** The account the verbs act as; "" lets the server pick the caller's only account. */
  abstract get accountId(): string;
  /** The session recorded on sent messages and acks; "" for none. */
  protected abstract get sessionTag(): string;

  async send(to: Target, payload: JsonObject, o: SendOptions = {}): Promise<SendResponse> {
    const req: MessageInitShape<typeof SendRequestSchema> = {
      to: toRecipient(to),
      payload,
      kind: o.kind ? kindFromName(o.kind) : MessageKind.UNSPECIFIED,
      threadId: o.threadId ?? "",
      parentMessageId: o.parentMessageId ?? "",
      traceId: o.traceId ?? "",
      idempotencyKey: o.idempotencyKey ?? "",
      schemaVersion: o.schemaVersion ?? "",
      blobIds: o.blobIds ?? [],
      waitFor: waitForValue(o.waitFor),
      asAccountId: this.accountId,
      sessionTag: this.sessionTag,
      messageId: o.messageId ?? newMessageId(),
      // In the message itself too: a batched send goes out later, with other traces' messages.
      traceparent: o.traceparent ?? activeTraceparent() ?? "",
    };
    if (o.ttlMs !== undefined) req.expiry = { case: "ttlMs", value: BigInt(o.ttlMs) };
    else if (o.expiresAt) req.expiry = { case: "expiresAt", value: timestampFromDate(o.expiresAt) };
    if (o.waitTimeoutMs !== undefined) req.waitTimeoutMs = BigInt(o.waitTimeoutMs);
    if (o.signature) req.signature = o.signature;
    // Answered once stored: coalesced with other sends into SendBatch calls (unless turned off).
    const batcher = this.services.sendBatcher;
    if (batcher && req.waitFor === WaitFor.UNSPECIFIED) return batcher.send(req, o);
    return this.retrying(o, (call) => this.services.messaging.send(req, call));
  }

  sendText(to: Target, text: string, o: SendOptions = {}): Promise<SendResponse> {
    return this.send(to, { text }, o);
  }

  /** Sends a REQUEST and waits for the reply (fails fast with NoRespondersError when the recipient is offline). */
  async request(to: Target, payload: JsonObject, o: RequestOptions = {}): Promise<MessageView> {
    const timeoutMs = o.timeoutMs ?? 30_000;
    const req = {
      to: toRecipient(to),
      payload,
      threadId: o.threadId ?? "",
      parentMessageId: o.parentMessageId ?? "",
      traceId: o.traceId ?? "",
      idempotencyKey: o.idempotencyKey ?? "",
      schemaVersion: o.schemaVersion ?? "",
      blobIds: o.blobIds ?? [],
      timeoutMs: BigInt(timeoutMs),
      ttlMs: o.ttlMs === undefined ? undefined : BigInt(o.ttlMs),
      asAccountId: this.accountId,
      sessionTag: this.sessionTag,
      messageId: o.messageId ?? newMessageId(),
      signature: o.signature,
    };
    // The server answers DEADLINE_EXCEEDED `timeout` itself; the call deadline only guards a lost connection.
    const res = await this.retrying({ ...o, timeoutMs: timeoutMs + 5_000 }, (call) => this.services.messaging.request(req, call));
    if (!res.reply) throw new Error("the server answered Request without a reply");
    return new MessageView(res.reply);
  }

  /** Sends `{text}` as a request and returns the reply's text; a reply of kind ERROR throws ErrorReply. */
  async askText(to: Target, text: string, o: RequestOptions = {}): Promise<TextAnswer> {
    const reply = await this.request(to, { text }, o);
    if (reply.kind === "error") throw new ErrorReply(reply);
    return { text: reply.text ?? JSON.stringify(reply.payload), reply };
  }

  /**
   * Answers a message. A REQUEST gets a Reply (which also marks it processed); any other message gets a direct
   * message back to its sender in the same thread, naming it as parent.
   */
  async reply(to: MessageView | string, payload: JsonObject, o: ReplyOptions = {}): Promise<{ messageId: string; threadId: string }> {
    // An answer continues the trace of the message it answers (its handler's span while one runs it).
    const traceparent = typeof to === "string" ? o.traceparent : (o.traceparent ?? (to.traceContext || undefined));
    if (typeof to !== "string" && !to.isRequest) {
      const sent = await this.send({ accountId: to.from.accountId }, payload, {
        traceparent,
        kind: o.kind === "error" ? "error" : "direct",
        threadId: to.threadId,
        parentMessageId: to.messageId,
        traceId: to.traceId,
        idempotencyKey: o.idempotencyKey,
        ttlMs: o.ttlMs,
        blobIds: o.blobIds,
        messageId: o.messageId,
        signal: o.signal,
      });
      return { messageId: sent.messageId, threadId: sent.threadId };
    }
    const requestMessageId = typeof to === "string" ? to : to.messageId;
    const res: ReplyResponse = await this.retrying({ ...o, traceparent }, (call) =>
      this.services.messaging.reply(
        {
          requestMessageId,
          payload,
          kind: o.kind === "error" ? MessageKind.ERROR : MessageKind.REPLY,
          idempotencyKey: o.idempotencyKey ?? "",
          ttlMs: o.ttlMs === undefined ? undefined : BigInt(o.ttlMs),
          blobIds: o.blobIds ?? [],
          sessionTag: this.sessionTag,
          messageId: o.messageId ?? newMessageId(),
        },
        call,
      ),
    );
    return { messageId: res.messageId, threadId: res.threadId };
  }

  replyText(to: MessageView | string, text: string, o: ReplyOptions = {}): Promise<{ messageId: string; threadId: string }> {
    return this.reply(to, { text }, o);
  }

  /** Answers with kind ERROR and the conventional {code, detail} payload. */
  replyError(to: MessageView | string, code: string, detail = "", o: ReplyOptions = {}): Promise<{ messageId: string; threadId: string }> {
    return this.reply(to, { code, detail }, { ...o, kind: "error" });
  }

  /** The seed's `sdk.thread(id)`: the same verbs, posting in one thread. */
  thread(threadId: string): Thread {
    return new Thread(this, threadId);
  }

  /** Opens a streamed answer to `to` (STREAM parts sharing a stream id); answer a message with its parent. */
  stream(
    to: Target,
    o: { threadId?: string; parentMessageId?: string; traceId?: string; ttlMs?: number; streamId?: string } = {},
  ): StreamWriter {
    return new StreamWriter(
      (payload) =>
        this.send(to, payload, {
          kind: "stream",
          threadId: o.threadId,
          parentMessageId: o.parentMessageId,
          traceId: o.traceId,
          ttlMs: o.ttlMs,
        }),
      o.streamId,
    );
  }

  /** A streamed answer to a received message: to its sender, in its thread, with it as parent. */
  streamReply(to: MessageView, o: { ttlMs?: number } = {}): StreamWriter {
    return this.stream(
      { accountId: to.from.accountId },
      { threadId: to.threadId, parentMessageId: to.messageId, traceId: to.traceId, ...o },
    );
  }

  // Blobs

  async putBlob(data: Uint8Array | string, o: PutBlobOptions = {}): Promise<BlobInfo> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const res = await this.services.messaging.putBlob({
      data: bytes,
      mimeType: o.mimeType ?? (typeof data === "string" ? "text/plain; charset=utf-8" : ""),
      filename: o.filename ?? "",
      asAccountId: this.accountId,
    });
    if (!res.blob) throw new Error("the server answered PutBlob without a blob");
    return res.blob;
  }

  async getBlob(blobId: string): Promise<{ blob: BlobInfo; data: Uint8Array }> {
    const res = await this.services.messaging.getBlob({ blobId });
    if (!res.blob) throw new Error("the server answered GetBlob without metadata");
    return { blob: res.blob, data: res.data };
  }

  async getBlobText(blobId: string): Promise<string> {
    return new TextDecoder().decode((await this.getBlob(blobId)).data);
  }

  async headBlob(blobId: string): Promise<BlobInfo> {
    const res = await this.services.messaging.headBlob({ blobId });
    if (!res.blob) throw new Error("the server answered HeadBlob without metadata");
    return res.blob;
  }

  async deleteBlob(blobId: string): Promise<boolean> {
    return (await this.services.messaging.deleteBlob({ blobId })).deleted;
  }

  /** Sends the seed's `blob_ref` payload for a stored blob, granting the recipient read access. */
  sendBlobRef(to: Target, blob: BlobInfo, o: SendOptions & { extra?: JsonObject } = {}): Promise<SendResponse> {
    return this.send(to, blobRefPayload(blob, o.extra), { ...o, blobIds: [...(o.blobIds ?? []), blob.blobId] });
  }

  // Discovery and history

  listOnline(o?: discovery.ListOnlineOptions): Promise<Profile[]> {
    return discovery.listOnline(this.services, o);
  }
  searchAgents(o?: discovery.SearchAgentsOptions): Promise<Profile[]> {
    return discovery.searchAgents(this.services, o);
  }
  getProfile(target: string): Promise<Profile> {
    return discovery.getProfile(this.services, target);
  }
  resolveAccount(target: string): Promise<string> {
    return discovery.resolveAccount(this.services, target);
  }
  listThreads(o?: discovery.ListThreadsOptions): Promise<discovery.Page<ThreadSummary>> {
    return discovery.listThreads(this.services, o);
  }
  getThreadMessages(threadId: string, o?: discovery.PageOptions): Promise<discovery.Page<Envelope>> {
    return discovery.getThreadMessages(this.services, threadId, o);
  }
  searchMessages(o?: discovery.SearchMessagesOptions): Promise<discovery.Page<Envelope>> {
    return discovery.searchMessages(this.services, o);
  }
  threadStatus(threadId: string): Promise<GetThreadStatusResponse> {
    return discovery.threadStatus(this.services, threadId);
  }

  /**
   * Receipts of messages sent by the caller's accounts, as they happen. Reconnects after a dropped stream and
   * resumes after the last receipt seen, so none is missed. Ends when `signal` aborts.
   */
  async *watchReceipts(o: WatchReceiptsOptions = {}): AsyncGenerator<Receipt> {
    let cursor = o.afterCursor ?? "";
    let synced = false;
    // A live-only watch dropped before its first receipt reopens from when it first opened, not live-only again:
    // receipts made while it was down are stored, and nothing before the open was seen, so nothing repeats.
    const resumeSince = o.since ?? new Date();
    let opened = false;
    const open = () => {
      const since = cursor === "" && (o.since !== undefined || opened) ? timestampFromDate(resumeSince) : undefined;
      opened = true;
      return this.services.messaging.watchReceipts(
        { accountIds: o.accountIds ?? [], afterCursor: cursor, since, messageIds: o.messageIds ?? [] },
        { signal: o.signal },
      );
    };
    for await (const { event } of reopening(open, o.signal)) {
      if (event.case === "synced" && !synced) {
        synced = true;
        o.onSynced?.(Number(event.value.replayedCount));
      } else if (event.case === "receipt") {
        cursor = event.value.cursor;
        yield event.value;
      }
    }
  }

  /** Accounts coming online, changing and going offline, as it happens (see WatchPresenceOptions). */
  watchPresence(o: WatchPresenceOptions = {}): AsyncGenerator<PresenceEvent> {
    return watchPresence(this.services, o);
  }

  /** A copy of the traffic to the caller's accounts (Subscribe OBSERVE: no acks, no effect on delivery). */
  async *observe(o: ObserveOptions = {}): AsyncGenerator<MessageView> {
    let started = false;
    const open = () =>
      this.services.messaging.subscribe({ mode: SubscribeMode.OBSERVE, accountIds: o.accountIds ?? [] }, { signal: o.signal });
    for await (const { event } of reopening(open, o.signal)) {
      if (event.case === "started" && !started) {
        started = true;
        o.onStarted?.();
      } else if (event.case === "message") yield new MessageView(event.value);
    }
  }

  /** Runs a call, retrying transient failures with backoff; the request keeps its message id, so retries are safe. */
  protected retrying<T>(o: RetryOptions, call: (options: CallOptions) => Promise<T>): Promise<T> {
    return retrying(this.services.waitReady, o, call);
  }
}
