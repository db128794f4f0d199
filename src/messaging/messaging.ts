import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { newUlid } from "../ids.js";
import type { Principal } from "../auth/index.js";
import type { Bus } from "../bus/index.js";
import type { Config } from "../config.js";
import { DomainError, invalidArgument } from "../errors.js";
import { TokenBucket } from "../rate-limit.js";
import { type Account, isOnline, mayActAs } from "../registry/index.js";
import type { Database } from "../store/schema.js";
import type { Metrics } from "../metrics/index.js";
import { SpanKind, type Tracing, validTraceparent } from "../tracing/index.js";
import { flushHooks } from "./flush-hooks.js";
import { encodeMessage, observeSubject, type ReceiptRecord } from "../wire/index.js";
import { Addressing, type Target } from "./addressing.js";
import { type MessageInput, checkDraft, composeDraft } from "./draft.js";
import { type ConsumerItem, Delivery } from "./delivery.js";
import { runExpirySweep } from "./expiry.js";
import type { StoredMessage } from "./message.js";
import { type ReceiptStreamItem, TrafficWatch } from "./watch.js";
import type { MessageStatus } from "./tables.js";
import { checkMaxInFlight, checkRequestTimeout, checkWaitTimeout } from "./validate.js";
import { type MessageDraft, MessageWriter, StatusWriter, type Transition, type WriteResult } from "./writer.js";
import { ReceiptWaiters, latestReceipt } from "./status-wait.js";
import { ReceiptPublisher } from "./receipts.js";
import { LocalReplies, ReplyWait, handReply, takeReplies } from "./request-reply.js";
import { boundedCache } from "../bounded-cache.js";
import { type Outlet, mapOutlet } from "../streams/index.js";

export type { Target } from "./addressing.js";
export type { MessageInput, SignatureInput } from "./draft.js";

interface Composed {
  sender: Account;
  recipient: Account;
  draft: MessageDraft;
}

export interface SendInput extends MessageInput {
  to: Target;
  asAccountId: string;
  /** `accepted` answers once stored. */
  waitFor: "accepted" | "delivered" | "processed";
  waitTimeoutMs?: number | undefined;
}

export interface SendResult {
  message: StoredMessage;
  duplicate: boolean;
  waitTimedOut: boolean;
  /** The latest receipt known to this call. */
  receipt: ReceiptRecord | undefined;
}

/** One message of a SendBatch: stored, or refused with the error Send would have raised. */
export type SendBatchOutcome = { ok: true; result: SendResult } | { ok: false; error: unknown };

/** The most messages one SendBatch call may carry. */
export const MAX_SEND_BATCH = 1000;

export interface AckInput {
  messageId: string;
  outcome: "processed" | "rejected";
  code: string;
  detail: string;
  /** The trace context of the message's handling, when the SDK sends one. */
  traceparent?: string | undefined;
}

export interface AckItemResult {
  messageId: string;
  ok: boolean;
  status: MessageStatus | undefined;
  error: "" | "message_not_found" | "missing_code";
}

/** An item of a CONSUME stream: first which account it reads and how much waits, then messages and keepalives. */
export type ConsumeItem = { type: "started"; accountId: string; pendingCount: number } | Exclude<ConsumerItem, { type: "started" }>;

type PushedRequest = Pick<StoredMessage, "messageId" | "kind" | "fromAccountId" | "toAccountId" | "threadId" | "traceId">;

/** Keeps an agent session alive while a CONSUME stream is open (the registry's presence). */
export interface SessionHolder {
  holdSession(sessionTag: string): Promise<() => Promise<void>>;
}

export interface MessagingDeps {
  db: Kysely<Database>;
  bus: Bus;
  logger: Logger;
  config: Config;
  metrics: Metrics;
  tracing: Tracing;
  /** Holds the sessions of open CONSUME streams; without it streams hold none (tests of delivery alone). */
  sessions?: SessionHolder | undefined;
}

/**
 * Account-routed messaging: durable sends, delivery to live streams on any gateway, acks and request/reply;
 * receipt and traffic watching through `watch`. One instance per gateway.
 */
export class Messaging {
  private readonly delivery: Delivery;
  /** The one publisher of receipts: deliveries, acks, replies and the expiry sweep. */
  private readonly receipts: ReceiptPublisher;
  /** Receipts that waiting Send and Request calls want. */
  private readonly waiters: ReceiptWaiters;
  /** Receipt streams and OBSERVE copies. */
  private readonly watch: TrafficWatch;
  private readonly addressing: Addressing;
  private readonly writer: MessageWriter;
  private readonly status: StatusWriter;
  private readonly sendLimit: TokenBucket;
  /** Request calls waiting here, for replies stored here. */
  private readonly localReplies = new LocalReplies();
  /**
   * What Reply needs of the requests this gateway pushed (small records, not the payloads): a reply through this
   * gateway then reads nothing before storing its answer. A request not here is read from the store.
   */
  private readonly pushedRequests = boundedCache<string, PushedRequest>({ maxEntries: 10_000, ttlMs: 5 * 60_000 });

  constructor(private readonly deps: MessagingDeps) {
    this.addressing = new Addressing(deps.db, deps.bus);
    const { metrics, tracing } = deps;
    this.writer = new MessageWriter(
      deps.db,
      deps.config.deliveryLeaseMs,
      flushHooks(metrics, tracing, "messages", (d: MessageDraft) => d.traceparent),
    );
    this.status = new StatusWriter(
      deps.db,
      deps.config.deliveryLeaseMs,
      flushHooks(metrics, tracing, "statuses", (t: Transition) => t.traceparent),
    );
    this.watch = new TrafficWatch({ db: deps.db, bus: deps.bus });
    this.receipts = new ReceiptPublisher(deps.bus, deps.metrics);
    this.waiters = new ReceiptWaiters(deps.bus, deps.db, this.receipts);
    this.delivery = new Delivery({
      db: deps.db,
      bus: deps.bus,
      logger: deps.logger,
      status: this.status,
      receipts: this.receipts,
      deliveryLatency: deps.metrics.deliveryLatency,
      tracing: deps.tracing,
    });
    this.sendLimit = new TokenBucket("messages from this account", deps.config.sendRatePerSecond, deps.config.sendRateBurst);
  }

  /** Runs the expiry and redelivery sweeps until `signal` aborts; then the account directory closes too. */
  async run(signal: AbortSignal): Promise<void> {
    signal.addEventListener(
      "abort",
      () => {
        this.addressing.close();
        this.waiters.close();
      },
      { once: true },
    );
    await Promise.all([
      runExpirySweep({
        db: this.deps.db,
        logger: this.deps.logger,
        intervalMs: this.deps.config.sweepIntervalMs,
        signal,
        publish: (r) => this.receipts.publish(r),
      }),
      this.delivery.run(this.deps.config.redeliveryIntervalMs, signal),
    ]);
  }

  /** Messages pushed to this gateway's streams and not acked or expired yet. */
  inFlightCount(): number {
    return this.delivery.inFlightCount();
  }

  async send(principal: Principal, input: SendInput, signal?: AbortSignal): Promise<SendResult> {
    checkWaitTimeout(input.waitTimeoutMs);
    const { sender, recipient, draft } = await this.compose(principal, input.asAccountId, input);

    const waiting = input.waitFor === "accepted" ? undefined : this.waiters.watch(sender.accountId, recipient.accountId, input.waitFor);
    try {
      const subscribedFirst = waiting ? await waiting.ready : false;
      const result = await this.store(draft);
      let receipt = result.receipt;
      let waitTimedOut = false;
      if (waiting) {
        const timeout = Math.min(input.waitTimeoutMs ?? result.message.ttlMs, result.message.ttlMs);
        const reached = await waiting.until(result.message, timeout, signal, subscribedFirst && !result.duplicate);
        if (reached) receipt = reached;
        else {
          waitTimedOut = true;
          // The contract answers with the current status, which may have moved on without reaching the target.
          receipt = (await latestReceipt(this.deps.db, result.message.messageId)) ?? receipt;
        }
      }
      const message = receipt ? { ...result.message, status: receipt.status } : result.message;
      return { message, duplicate: result.duplicate, waitTimedOut, receipt };
    } finally {
      waiting?.stop();
    }
  }

  /**
   * Many sends in one call, each answering for itself. Every draft is composed first, in request order, and
   * then all are handed to the writer in the same tick, so they share one commit and keep their order. An item
   * the caller could not even read arrives as `refused` and is answered with that error, in its place.
   */
  async sendBatch(principal: Principal, inputs: Array<SendInput | { refused: unknown }>): Promise<SendBatchOutcome[]> {
    if (inputs.length === 0) throw new DomainError("invalid_argument", "empty_batch", "messages: must not be empty", { field: "messages" });
    if (inputs.length > MAX_SEND_BATCH) {
      throw new DomainError("invalid_argument", "too_many_items", `messages: at most ${MAX_SEND_BATCH} per call, got ${inputs.length}`, {
        field: "messages",
      });
    }
    const drafts: Array<MessageDraft | { error: unknown }> = [];
    for (const input of inputs) {
      if ("refused" in input) {
        drafts.push({ error: input.refused });
        continue;
      }
      try {
        if (input.waitFor !== "accepted") {
          throw invalidArgument(
            "wait_for",
            "a batch answers once its messages are stored: leave it unset or ACCEPTED",
            "wait_not_supported",
          );
        }
        drafts.push((await this.compose(principal, input.asAccountId, input)).draft);
      } catch (error) {
        drafts.push({ error });
      }
    }
    return Promise.all(
      drafts.map(async (draft): Promise<SendBatchOutcome> => {
        if ("error" in draft) return { ok: false, error: draft.error };
        try {
          const stored = await this.store(draft);
          return {
            ok: true,
            result: { message: stored.message, duplicate: stored.duplicate, waitTimedOut: false, receipt: stored.receipt },
          };
        } catch (error) {
          return { ok: false, error };
        }
      }),
    );
  }

  /** Sends a REQUEST and waits for its reply (or rejection, expiry, timeout). */
  async request(
    principal: Principal,
    input: MessageInput & { to: Target; asAccountId: string; timeoutMs: number; deadlineMs?: number | undefined },
    signal?: AbortSignal,
  ): Promise<{ request: StoredMessage; reply: StoredMessage }> {
    checkRequestTimeout(input.timeoutMs, this.deps.config);
    // The call's own deadline also bounds the wait; answer a little before it so the client hears why.
    if (input.deadlineMs !== undefined) input = { ...input, timeoutMs: Math.max(1, Math.min(input.timeoutMs, input.deadlineMs - 50)) };
    const messageId = input.messageId || `msg_${newUlid()}`;
    const { sender, recipient, draft } = await this.compose(principal, input.asAccountId, {
      ...input,
      kind: "request",
      messageId,
      ttlMs: input.ttlMs ?? input.timeoutMs,
    });
    // A stream of the recipient open on this gateway answers "is anyone there" without a read of the sessions.
    if (!this.delivery.hasLocalConsumer(recipient.accountId) && !(await isOnline(this.deps.db, recipient.accountId))) {
      throw new DomainError("unavailable", "no_responders", `${recipient.username} has no live session to answer a request`);
    }

    const wait = new ReplyWait(
      this.deps.bus,
      this.deps.db,
      this.localReplies,
      this.waiters,
      sender.accountId,
      recipient.accountId,
      messageId,
    );
    try {
      const subscribedFirst = await wait.ready;
      const stored = await this.store(draft);
      if (stored.message.messageId !== messageId) {
        // A repeat of an earlier request (same idempotency key): wait for that one's reply.
        const earlier = await wait.follow(stored.message.messageId);
        if (earlier) return { request: stored.message, reply: earlier };
      }
      const fresh = subscribedFirst && !stored.duplicate;
      const storedAt = performance.now();
      const reply = await wait.outcome(stored.message, input.timeoutMs, signal, fresh);
      this.deps.metrics.requestReply.observe((performance.now() - storedAt) / 1000);
      return { request: stored.message, reply };
    } finally {
      wait.stop();
    }
  }

  /** Answers a REQUEST: stores the reply to the requester and hands it to a waiting Request call if any. */
  async reply(
    principal: Principal,
    input: MessageInput & { requestMessageId: string },
  ): Promise<{ message: StoredMessage; duplicate: boolean }> {
    if (input.requestMessageId === "") throw invalidArgument("request_message_id", "must not be empty");
    const request = this.pushedRequests.get(input.requestMessageId) ?? (await this.storedRequest(input.requestMessageId));
    if (request.kind !== "request") {
      throw new DomainError("failed_precondition", "not_a_request", `message ${request.messageId} is a ${request.kind}, not a request`);
    }
    const replier = await this.addressing.account(request.toAccountId);
    if (!replier || !mayActAs(principal, replier)) {
      throw new DomainError("permission_denied", "not_recipient", "only the request's recipient can reply to it");
    }
    if (input.kind !== "reply" && input.kind !== "error") throw invalidArgument("kind", "must be REPLY or ERROR");
    const requester = await this.addressing.account(request.fromAccountId);
    if (!requester) throw new DomainError("not_found", "recipient_not_found", "the requester's account no longer exists");
    this.sendLimit.take(replier.accountId);
    const to = { accountId: requester.accountId };
    const answer = { ...input, threadId: request.threadId, traceId: request.traceId, parentMessageId: request.messageId };
    const draft = await checkDraft(this.deps.db, replier, composeDraft(replier, requester, to, answer, new Date(), this.deps.config));
    const stored = await this.store(draft, false);
    if (!stored.duplicate) {
      this.pushedRequests.delete(request.messageId);
      const handed =
        this.localReplies.hand(request.messageId, stored.message) || (await handReply(this.deps.bus, request.messageId, stored.message));
      if (!handed) this.delivery.announce(stored.message);
      // Both in one status write: the request answered, and the reply processed when the Request call took it.
      const tp = input.traceparent;
      await Promise.all([
        this.processed(request.messageId, input.sessionTag, tp),
        handed && this.processed(stored.message.messageId, input.sessionTag, tp),
      ]);
    }
    return { message: stored.message, duplicate: stored.duplicate };
  }

  /**
   * Records outcomes of received messages; each item answers for itself. The change is made only where the
   * caller owns the message's recipient — checked inside the batched UPDATE, so an ack costs no read of its
   * own; only items that changed nothing are looked at again, to tell "already final" from "not yours".
   */
  async ack(principal: Principal, items: AckInput[], sessionTag: string, traceparent = ""): Promise<AckItemResult[]> {
    if (items.length === 0) throw invalidArgument("acks", "must not be empty");
    if (items.length > 1000) throw invalidArgument("acks", "at most 1000 per call");
    const recipientOwner = principal.admin ? undefined : principal.userId;
    const notFound = (messageId: string): AckItemResult => ({ messageId, ok: false, status: undefined, error: "message_not_found" });
    return Promise.all(
      items.map(async (item): Promise<AckItemResult> => {
        if (item.outcome === "rejected" && item.code.trim() === "") {
          const state = await this.status.state(item.messageId);
          if (!state || !(await this.owns(principal, state.toAccountId))) return notFound(item.messageId);
          return { messageId: item.messageId, ok: false, status: state.status, error: "missing_code" };
        }
        const handling = validTraceparent(item.traceparent);
        const { message, receipt } = await this.status.apply({
          messageId: item.messageId,
          to: item.outcome,
          sessionTag,
          code: item.code.slice(0, 64),
          detail: item.detail.slice(0, 1000),
          recipientOwner,
          traceparent: handling ?? traceparent,
        });
        if (receipt) {
          this.receipts.publish(receipt);
          if (handling) this.settledSpan(handling, receipt, traceparent);
          return { messageId: item.messageId, ok: true, status: message?.status, error: "" };
        }
        // Nothing changed: already final (a no-op that reports the status), or unknown, or not the caller's.
        if (!message || !(await this.owns(principal, message.toAccountId))) return notFound(item.messageId);
        return { messageId: item.messageId, ok: true, status: message.status, error: "" };
      }),
    );
  }

  /**
   * The span of an outcome in the trace of the message's handling (acks of many traces share one Ack call, whose
   * own span is linked).
   */
  private settledSpan(handling: string, receipt: ReceiptRecord, call: string): void {
    this.deps.tracing
      .start("agentnet.settle", {
        kind: SpanKind.CONSUMER,
        parent: handling,
        links: call === "" ? [] : [call],
        attributes: {
          "messaging.system": "agentnet",
          "messaging.operation.type": "settle",
          "messaging.message.id": receipt.messageId,
          "agentnet.trace_id": receipt.traceId,
          "agentnet.status": receipt.status,
          ...(receipt.code !== "" && { "agentnet.code": receipt.code }),
        },
      })
      ?.end();
  }

  /** Whether the caller may act as an account (through the account cache). */
  private async owns(principal: Principal, accountId: string): Promise<boolean> {
    if (principal.admin) return true;
    const account = await this.addressing.account(accountId);
    return account !== undefined && mayActAs(principal, account);
  }

  /**
   * A CONSUME stream: the caller's acting account's backlog, then live messages, at most `maxInFlight` unacked at
   * once, with keepalives. The first item says which account and how many messages wait. While it runs, the
   * agent session named by `sessionTag` (if any) is held online without heartbeats.
   */
  consume(
    principal: Principal,
    input: { asAccountId: string; sessionTag: string; maxInFlight: number },
    signal: AbortSignal,
    outlet: Outlet<ConsumeItem>,
  ): Promise<void> {
    // One promise for the life of the stream, settled by the stream's end: a chain of then/finally would hold
    // a promise, a reaction and their closures per link for as long as the agent stays connected.
    return new Promise<void>((resolve, reject) => {
      const setup = async () => {
        checkMaxInFlight(input.maxInFlight);
        const { accountId } = await this.addressing.sender(principal, input.asAccountId, input.sessionTag);
        const release = input.sessionTag && this.deps.sessions ? await this.deps.sessions.holdSession(input.sessionTag) : undefined;
        return { accountId, release };
      };
      setup().then(({ accountId, release }) => {
        const items = mapOutlet(outlet, (item: ConsumerItem): ConsumeItem => {
          if (item.type === "started") return { type: "started", accountId, pendingCount: item.pendingCount };
          if (item.type === "message" && item.message.kind === "request") {
            const { messageId, kind, fromAccountId, toAccountId, threadId, traceId } = item.message;
            this.pushedRequests.set(messageId, { messageId, kind, fromAccountId, toAccountId, threadId, traceId });
          }
          return item;
        });
        this.delivery.consume(accountId, input.sessionTag, input.maxInFlight, signal, items, (failure) => {
          Promise.resolve(release?.()).then(() => (failure ? reject(failure.error) : resolve()), reject);
        });
      }, reject);
    });
  }

  /** An OBSERVE stream: copies of messages to or from `accountIds` (undefined: all) as they are accepted. */
  observe(accountIds: string[] | undefined, signal: AbortSignal): AsyncGenerator<StoredMessage | "keepalive"> {
    return this.watch.observe(accountIds, signal);
  }

  /**
   * Takes the reply (or error answer) to a request sent with Send as a waiting Request call would, until the returned
   * function is called: `take` hears it once it is stored, and it is processed on arrival, not left in the inbox.
   */
  takeReplies(requestMessageId: string, take: (reply: StoredMessage) => void): () => void {
    return takeReplies(this.deps.bus, this.localReplies, requestMessageId, take);
  }

  /** Receipts of what `senderAccountId` sends `recipientAccountId`, live from the bus only (no replay, best effort). */
  liveReceipts(senderAccountId: string, recipientAccountId: string, signal: AbortSignal): AsyncGenerator<ReceiptRecord | "keepalive"> {
    return this.watch.liveReceipts(senderAccountId, recipientAccountId, signal);
  }

  /** Receipts of messages sent by `accountIds` (undefined: all): stored ones from a position, then live ones. */
  watchReceipts(
    accountIds: string[] | undefined,
    from: Parameters<TrafficWatch["watchReceipts"]>[1],
    signal: AbortSignal,
  ): AsyncGenerator<ReceiptStreamItem> {
    return this.watch.watchReceipts(accountIds, from, signal);
  }

  /** The accounts whose traffic or receipts a caller may watch; undefined means every account (admins). */
  watchableAccounts(principal: Principal, accountIds: string[]): Promise<string[] | undefined> {
    return this.addressing.watchable(principal, accountIds);
  }

  // --- internals -----------------------------------------------------------------------------------------------

  /**
   * The sender, then its rate limit, before anything else reads the store; then the recipient, the draft and the
   * checks that need the store.
   */
  private async compose(principal: Principal, asAccountId: string, input: MessageInput & { to: Target }): Promise<Composed> {
    const sender = await this.addressing.sender(principal, asAccountId, input.sessionTag);
    this.sendLimit.take(sender.accountId);
    const recipient = await this.addressing.recipient(input.to);
    const draft = await checkDraft(this.deps.db, sender, composeDraft(sender, recipient, input.to, input, new Date(), this.deps.config));
    return { sender, recipient, draft };
  }

  /**
   * Stores a draft; a new message is announced to its recipient's streams and observers. When a stream of the
   * recipient here would push it at once, the message is stored claimed for that stream and pushed once stored.
   * `announce` false: the caller hands the message on itself.
   */
  private async store(
    draft: MessageDraft,
    announce = true,
  ): Promise<{ message: StoredMessage; duplicate: boolean; receipt?: ReceiptRecord }> {
    const placement = announce ? this.delivery.place(draft.toAccountId) : undefined;
    const claimedBy = placement?.claimedBy;
    let result: WriteResult;
    try {
      result = await this.writer.write(claimedBy === undefined ? draft : { ...draft, claimedBy });
    } catch (err) {
      placement?.abandon();
      throw err;
    }
    if (result.outcome !== "inserted") placement?.abandon();
    if (result.outcome === "conflict") {
      throw new DomainError("already_exists", "message_id_conflict", `message_id ${draft.messageId} is already used by another sender`, {
        field: "message_id",
      });
    }
    if (result.outcome === "duplicate") return { message: result.message, duplicate: true };
    this.receipts.publish(result.receipt);
    // One encoding for the inbox and the observers (the bus copies what it is given).
    const encoded = encodeMessage(result.message);
    placement?.stored(result.message, result.delivered, encoded);
    this.deps.bus.publish(observeSubject(result.message.toAccountId), encoded);
    return { message: result.message, duplicate: false, receipt: result.receipt };
  }

  private async storedRequest(messageId: string): Promise<PushedRequest> {
    const row = await this.deps.db
      .selectFrom("messages")
      .select(["message_id", "kind", "from_account_id", "to_account_id", "thread_id", "trace_id"])
      .where("message_id", "=", messageId)
      .executeTakeFirst();
    if (!row) throw new DomainError("not_found", "message_not_found", `no message ${messageId}`);
    return {
      messageId: row.message_id,
      kind: row.kind,
      fromAccountId: row.from_account_id,
      toAccountId: row.to_account_id,
      threadId: row.thread_id,
      traceId: row.trace_id,
    };
  }

  private async processed(messageId: string, sessionTag: string, traceparent: string | undefined) {
    const { message, receipt } = await this.status.apply({ messageId, to: "processed", sessionTag, code: "", detail: "", traceparent });
    if (receipt) this.receipts.publish(receipt);
    return message;
  }
}
