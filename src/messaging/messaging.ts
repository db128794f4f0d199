import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { ulid } from "ulid";
import type { Principal } from "../auth/index.js";
import { type Bus, BusError } from "../bus/index.js";
import type { Config } from "../config.js";
import { DomainError, invalidArgument } from "../errors.js";
import { TokenBucket } from "../rate-limit.js";
import {
  type Account,
  accountsOwnedBy,
  isOnline,
  mayActAs,
  normaliseUsername,
  onlineAccountsWithCapability,
  resolveActingAccount,
} from "../registry/accounts.js";
import { checkBlobsForSend } from "../blobs/blobs.js";
import type { Database } from "../store/schema.js";
import { decodeMessage, encodeMessage, type ReceiptRecord } from "./codec.js";
import { AccountDirectory } from "./account-directory.js";
import { type ConsumerItem, Delivery } from "./delivery.js";
import { runExpirySweep } from "./expiry.js";
import { type StoredMessage, toStoredMessage } from "./message.js";
import { SIGNATURE_SCHEME, verifySignature } from "./signature.js";
import { observeSubject, replySubject } from "./subjects.js";
import { type ReceiptStreamItem, TrafficWatch } from "./watch.js";
import type { MessageKindName, MessageStatus } from "./tables.js";
import {
  checkBlobCount,
  checkId,
  checkMaxInFlight,
  checkIdempotencyKey,
  checkRequestTimeout,
  checkStreamPart,
  checkWaitTimeout,
  measurePayload,
  schemaVersion,
  ttlMs,
} from "./validate.js";
import { type MessageDraft, MessageWriter, StatusWriter } from "./writer.js";
import { latestReceipt, storedReply, waitForStoredReply, watchStatus } from "./status-wait.js";

export interface Target {
  accountId?: string;
  username?: string;
  capability?: string;
}

export interface SignatureInput {
  scheme: string;
  publicKey: Uint8Array;
  signature: Uint8Array;
}

/** Everything a sender controls about one message. */
export interface MessageInput {
  payload: Record<string, unknown>;
  kind: MessageKindName;
  threadId: string;
  parentMessageId: string;
  traceId: string;
  idempotencyKey: string;
  ttlMs?: number | undefined;
  expiresAt?: Date | undefined;
  schemaVersion: string;
  signature?: SignatureInput | undefined;
  blobIds: string[];
  sessionTag: string;
  messageId: string;
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

export interface AckInput {
  messageId: string;
  outcome: "processed" | "rejected";
  code: string;
  detail: string;
}

export interface AckItemResult {
  messageId: string;
  ok: boolean;
  status: MessageStatus | undefined;
  error: "" | "message_not_found" | "missing_code";
}

/** Keeps an agent session alive while a CONSUME stream is open (the registry's presence). */
export interface SessionHolder {
  holdSession(sessionTag: string): Promise<() => Promise<void>>;
}

export interface MessagingDeps {
  db: Kysely<Database>;
  bus: Bus;
  logger: Logger;
  config: Config;
  /** Holds the sessions of open CONSUME streams; without it streams hold none (tests of delivery alone). */
  sessions?: SessionHolder | undefined;
}

/**
 * Account-routed messaging: durable sends, delivery to live streams on any gateway, acks and request/reply;
 * receipt and traffic watching through `watch`. One instance per gateway.
 */
export class Messaging {
  private readonly delivery: Delivery;
  /** Receipt streams and OBSERVE copies. */
  private readonly watch: TrafficWatch;
  private readonly directory: AccountDirectory;
  private readonly writer: MessageWriter;
  private readonly status: StatusWriter;
  private readonly sendLimit: TokenBucket;
  private capabilityTurn = 0;

  constructor(private readonly deps: MessagingDeps) {
    this.directory = new AccountDirectory(deps.db, deps.bus);
    this.writer = new MessageWriter(deps.db);
    this.status = new StatusWriter(deps.db, deps.config.deliveryLeaseMs);
    this.watch = new TrafficWatch({ db: deps.db, bus: deps.bus });
    this.delivery = new Delivery({ db: deps.db, bus: deps.bus, logger: deps.logger, status: this.status });
    this.sendLimit = new TokenBucket("messages from this account", deps.config.sendRatePerSecond, deps.config.sendRateBurst);
  }

  /** Runs the expiry and redelivery sweeps until `signal` aborts; then the account directory closes too. */
  async run(signal: AbortSignal): Promise<void> {
    signal.addEventListener("abort", () => this.directory.close(), { once: true });
    await Promise.all([
      runExpirySweep({
        db: this.deps.db,
        logger: this.deps.logger,
        intervalMs: this.deps.config.sweepIntervalMs,
        signal,
        publish: (r) => this.delivery.publishReceipt(r),
      }),
      this.delivery.run(this.deps.config.redeliveryIntervalMs, signal),
    ]);
  }

  async send(principal: Principal, input: SendInput, signal?: AbortSignal): Promise<SendResult> {
    checkWaitTimeout(input.waitTimeoutMs);
    const sender = await this.sender(principal, input.asAccountId, input.sessionTag);
    const recipient = await this.recipient(input.to);
    const draft = await this.checked(sender, this.draft(sender, recipient, input.to, input, new Date()));
    this.sendLimit.take(sender.accountId);

    const waiting =
      input.waitFor === "accepted"
        ? undefined
        : watchStatus(this.deps.bus, this.deps.db, sender.accountId, recipient.accountId, input.waitFor);
    try {
      const result = await this.store(draft);
      let receipt = result.receipt;
      let waitTimedOut = false;
      if (waiting) {
        const timeout = Math.min(input.waitTimeoutMs ?? result.message.ttlMs, result.message.ttlMs);
        const reached = await waiting.until(result.message, timeout, signal);
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

  /** Sends a REQUEST and waits for its reply (or rejection, expiry, timeout). */
  async request(
    principal: Principal,
    input: MessageInput & { to: Target; asAccountId: string; timeoutMs: number; deadlineMs?: number | undefined },
    signal?: AbortSignal,
  ): Promise<{ request: StoredMessage; reply: StoredMessage }> {
    checkRequestTimeout(input.timeoutMs, this.deps.config);
    // The call's own deadline also bounds the wait; answer a little before it so the client hears why.
    if (input.deadlineMs !== undefined) input = { ...input, timeoutMs: Math.max(1, Math.min(input.timeoutMs, input.deadlineMs - 50)) };
    const sender = await this.sender(principal, input.asAccountId, input.sessionTag);
    const recipient = await this.recipient(input.to);
    if (!(await isOnline(this.deps.db, recipient.accountId))) {
      throw new DomainError("unavailable", "no_responders", `${recipient.username} has no live session to answer a request`);
    }
    const messageId = input.messageId || `msg_${ulid()}`;
    const draft = await this.checked(
      sender,
      this.draft(sender, recipient, input.to, { ...input, kind: "request", messageId, ttlMs: input.ttlMs ?? input.timeoutMs }, new Date()),
    );
    this.sendLimit.take(sender.accountId);

    let replied: (reply: StoredMessage) => void = () => undefined;
    const replyArrived = new Promise<StoredMessage>((resolve) => (replied = resolve));
    const listen = (id: string) =>
      this.deps.bus.subscribe(replySubject(id), (msg) => {
        msg.respond(new Uint8Array([1]));
        replied(decodeMessage(msg.data));
      });
    let replySub = listen(messageId);
    const outcome = watchStatus(this.deps.bus, this.deps.db, sender.accountId, recipient.accountId, "processed");
    // The timeout's timer and abort listener go when the call ends, not when the timeout would have passed: a
    // call answered in milliseconds must not keep its closure (draft, reply, ...) for up to timeout_ms.
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      const stored = await this.store(draft);
      if (stored.message.messageId !== messageId) {
        // A repeat of an earlier request (same idempotency key): wait for that one's reply.
        replySub.unsubscribe();
        replySub = listen(stored.message.messageId);
        const earlier = await storedReply(this.deps.db, stored.message.messageId);
        if (earlier) return { request: stored.message, reply: earlier };
      }
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), input.timeoutMs);
        onAbort = () => {
          clearTimeout(timer);
          resolve("timeout");
        };
        signal?.addEventListener("abort", onAbort, { once: true });
      });
      const first = await Promise.race([
        replyArrived,
        outcome.until(stored.message, input.timeoutMs, signal).then((r) => r ?? ("timeout" as const)),
        timeout,
      ]);
      if (first === "timeout") {
        throw new DomainError("deadline_exceeded", "timeout", `no reply within ${input.timeoutMs} ms; a late reply goes to your inbox`);
      }
      if ("receiptId" in first) {
        // Processed without a reply reaching us: the reply may have been stored just before we listened.
        const reply =
          first.status === "processed" ? await waitForStoredReply(this.deps.db, stored.message.messageId, replyArrived) : undefined;
        if (reply) return { request: stored.message, reply };
        if (first.status === "expired")
          throw new DomainError("failed_precondition", "expired", "the request expired before it was answered");
        // Processed without a reply: the recipient acked the request instead of answering it.
        const code = first.status === "processed" ? "no_reply" : first.code;
        const detail = first.status === "processed" ? "the recipient processed the request without replying" : first.detail;
        throw new DomainError("failed_precondition", "rejected", `the request was rejected: ${code} ${detail}`.trim(), {
          metadata: { code, detail },
        });
      }
      return { request: stored.message, reply: first };
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
      replySub.unsubscribe();
      outcome.stop();
    }
  }

  /** Answers a REQUEST: stores the reply to the requester and hands it to a waiting Request call if any. */
  async reply(
    principal: Principal,
    input: MessageInput & { requestMessageId: string },
  ): Promise<{ message: StoredMessage; duplicate: boolean }> {
    if (input.requestMessageId === "") throw invalidArgument("request_message_id", "must not be empty");
    const row = await this.deps.db.selectFrom("messages").selectAll().where("message_id", "=", input.requestMessageId).executeTakeFirst();
    if (!row) throw new DomainError("not_found", "message_not_found", `no message ${input.requestMessageId}`);
    const request = toStoredMessage(row);
    if (request.kind !== "request") {
      throw new DomainError("failed_precondition", "not_a_request", `message ${request.messageId} is a ${request.kind}, not a request`);
    }
    const replier = await this.directory.account(request.toAccountId);
    if (!replier || !mayActAs(principal, replier)) {
      throw new DomainError("permission_denied", "not_recipient", "only the request's recipient can reply to it");
    }
    if (input.kind !== "reply" && input.kind !== "error") throw invalidArgument("kind", "must be REPLY or ERROR");
    const requester = await this.directory.account(request.fromAccountId);
    if (!requester) throw new DomainError("not_found", "recipient_not_found", "the requester's account no longer exists");
    const draft = await this.checked(
      replier,
      this.draft(
        replier,
        requester,
        { accountId: requester.accountId },
        { ...input, threadId: request.threadId, traceId: request.traceId, parentMessageId: request.messageId },
        new Date(),
      ),
    );
    this.sendLimit.take(replier.accountId);
    const stored = await this.store(draft, false);
    if (!stored.duplicate) {
      let handed = false;
      try {
        await this.deps.bus.request(replySubject(request.messageId), encodeMessage(stored.message), { timeoutMs: 2000 });
        handed = true;
      } catch (err) {
        if (!(err instanceof BusError)) throw err;
      }
      if (handed) await this.transition(stored.message.messageId, "processed", input.sessionTag, "", "");
      else this.delivery.announce(stored.message);
      await this.transition(request.messageId, "processed", input.sessionTag, "", "");
    }
    return { message: stored.message, duplicate: stored.duplicate };
  }

  /** Records outcomes of received messages; each item answers for itself. */
  async ack(principal: Principal, items: AckInput[], sessionTag: string): Promise<AckItemResult[]> {
    if (items.length === 0) throw invalidArgument("acks", "must not be empty");
    if (items.length > 1000) throw invalidArgument("acks", "at most 1000 per call");
    const ids = [...new Set(items.map((i) => i.messageId))];
    const rows = await this.deps.db
      .selectFrom("messages")
      .select(["message_id", "to_account_id", "status"])
      .where("message_id", "in", ids)
      .execute();
    // Ownership of the recipients these messages name, through the account cache: not a read of every account
    // the caller owns on each ack (a user with thousands of agents paid for all of them on every call).
    const owned = new Set<string>();
    if (!principal.admin) {
      for (const accountId of new Set(rows.map((r) => r.to_account_id))) {
        const account = await this.directory.account(accountId);
        if (account && mayActAs(principal, account)) owned.add(accountId);
      }
    }
    const known = new Map(rows.filter((r) => principal.admin || owned.has(r.to_account_id)).map((r) => [r.message_id, r]));
    return Promise.all(
      items.map(async (item): Promise<AckItemResult> => {
        if (!known.has(item.messageId)) return { messageId: item.messageId, ok: false, status: undefined, error: "message_not_found" };
        if (item.outcome === "rejected" && item.code.trim() === "") {
          return { messageId: item.messageId, ok: false, status: known.get(item.messageId)!.status, error: "missing_code" };
        }
        const message = await this.transition(item.messageId, item.outcome, sessionTag, item.code.slice(0, 64), item.detail.slice(0, 1000));
        return { messageId: item.messageId, ok: true, status: message?.status, error: "" };
      }),
    );
  }

  /**
   * A CONSUME stream: the caller's acting account's backlog, then live messages, at most `maxInFlight` unacked at
   * once, with keepalives. The first item says which account and how many messages wait. While it runs, the
   * agent session named by `sessionTag` (if any) is held online without heartbeats.
   */
  async *consume(
    principal: Principal,
    input: { asAccountId: string; sessionTag: string; maxInFlight: number },
    signal: AbortSignal,
  ): AsyncGenerator<{ type: "started"; accountId: string; pendingCount: number } | ConsumerItem> {
    checkMaxInFlight(input.maxInFlight);
    const account = await this.sender(principal, input.asAccountId, input.sessionTag);
    const release = input.sessionTag && this.deps.sessions ? await this.deps.sessions.holdSession(input.sessionTag) : undefined;
    try {
      yield { type: "started", accountId: account.accountId, pendingCount: await this.delivery.pendingCount(account.accountId) };
      yield* this.delivery.consume(account.accountId, input.sessionTag, input.maxInFlight, signal);
    } finally {
      await release?.();
    }
  }

  /** An OBSERVE stream: copies of messages to or from `accountIds` (undefined: all) as they are accepted. */
  observe(accountIds: string[] | undefined, signal: AbortSignal): AsyncGenerator<StoredMessage | "keepalive"> {
    return this.watch.observe(accountIds, signal);
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
  async watchableAccounts(principal: Principal, accountIds: string[]): Promise<string[] | undefined> {
    if (accountIds.length === 0) {
      if (principal.admin) return undefined;
      const owned = await accountsOwnedBy(this.deps.db, principal.userId);
      if (owned.length === 0) throw invalidArgument("account_ids", "you own no agent account yet: Register one first");
      return owned.map((a) => a.accountId);
    }
    for (const id of accountIds) {
      const account = await this.directory.account(id);
      if (!account || !mayActAs(principal, account)) {
        throw new DomainError("permission_denied", "not_account_owner", `you do not own account ${id}`);
      }
    }
    return accountIds;
  }

  // --- internals -----------------------------------------------------------------------------------------------

  private async sender(principal: Principal, asAccountId: string, sessionTag: string): Promise<Account> {
    if (asAccountId === "") return resolveActingAccount(this.deps.db, principal, { sessionTag });
    const account = await this.directory.account(asAccountId);
    if (!account) throw new DomainError("not_found", "account_not_found", `no account ${asAccountId}`, { field: "as_account_id" });
    if (!mayActAs(principal, account)) {
      throw new DomainError("permission_denied", "not_account_owner", `you do not own account ${account.accountId}`);
    }
    if (sessionTag !== "" && (await this.directory.sessionOwner(sessionTag)) !== account.accountId) {
      throw new DomainError("not_found", "session_not_found", `session ${sessionTag} is not a session of ${account.accountId}`, {
        field: "session_tag",
      });
    }
    return account;
  }

  private async recipient(to: Target): Promise<Account> {
    if (to.accountId !== undefined) {
      const account = await this.directory.account(to.accountId);
      if (!account) throw new DomainError("not_found", "recipient_not_found", `no account ${to.accountId}`, { field: "to.account_id" });
      return account;
    }
    if (to.username !== undefined) {
      const account = await this.directory.accountByUsername(to.username);
      if (!account)
        throw new DomainError("not_found", "recipient_not_found", `no account named ${normaliseUsername(to.username) || to.username}`, {
          field: "to.username",
        });
      return account;
    }
    if (to.capability !== undefined) {
      const candidates = await onlineAccountsWithCapability(this.deps.db, to.capability.trim().toLowerCase());
      if (candidates.length === 0) {
        throw new DomainError("unavailable", "no_responders", `no online agent offers the capability "${to.capability}"`);
      }
      const chosen = candidates[this.capabilityTurn++ % candidates.length]!;
      return (await this.directory.account(chosen))!;
    }
    throw invalidArgument("to", "give an account_id, a username or a capability");
  }

  private draft(sender: Account, recipient: Account, to: Target, input: MessageInput, now: Date): MessageDraft {
    checkId("message_id", input.messageId, "invalid_message_id");
    checkId("thread_id", input.threadId);
    checkId("parent_message_id", input.parentMessageId);
    checkId("trace_id", input.traceId);
    checkIdempotencyKey(input.idempotencyKey);
    checkBlobCount(input.blobIds);
    checkStreamPart(input.kind, input.payload);
    const size = measurePayload(input.payload, this.deps.config);
    const ttl = ttlMs(input, this.deps.config, now);
    const messageId = input.messageId || `msg_${ulid()}`;
    const traceId = input.traceId || messageId;
    return {
      messageId,
      threadId: input.threadId || `thread_${traceId}`,
      parentMessageId: input.parentMessageId,
      traceId,
      kind: input.kind,
      fromAccountId: sender.accountId,
      fromUsername: sender.username,
      fromAgentId: sender.agentId,
      fromSessionTag: input.sessionTag,
      to,
      toAccountId: recipient.accountId,
      toUsername: recipient.username,
      payload: input.payload,
      payloadBytes: size.bytes,
      payloadChars: size.chars,
      sentAt: now,
      ttlMs: ttl,
      expiresAt: new Date(now.getTime() + ttl),
      schemaVersion: schemaVersion(input.schemaVersion),
      idempotencyKey: input.idempotencyKey,
      signature: input.signature ?? null,
      blobIds: input.blobIds,
    };
  }

  /**
   * What needs the store before a draft may be written: its blobs must be the sender's, and its signature, when
   * given, must verify against the account's bound key (or the key it carries, for accounts without one).
   */
  private async checked(sender: Account, draft: MessageDraft): Promise<MessageDraft> {
    if (draft.blobIds.length > 0) await checkBlobsForSend(this.deps.db, sender.accountId, draft.blobIds);
    const sig = draft.signature;
    if (!sig) return draft;
    const refuse = (why: string) => new DomainError("permission_denied", "invalid_signature", `signature: ${why}`, { field: "signature" });
    if (sig.scheme !== SIGNATURE_SCHEME) {
      throw new DomainError("invalid_argument", "invalid_signature", `signature.scheme: only "${SIGNATURE_SCHEME}" is supported`, {
        field: "signature.scheme",
      });
    }
    const bound = sender.publicKey;
    if (bound && sig.publicKey.length > 0 && !Buffer.from(bound).equals(Buffer.from(sig.publicKey))) {
      throw refuse("signed with a key other than the one bound to the account");
    }
    const key = bound ?? sig.publicKey;
    if (key.length !== 32) throw refuse("no public key: bind one at Register or send it in signature.public_key");
    if (!verifySignature(key, sig.signature, draft)) {
      throw refuse("does not verify over the message's canonical form (set message_id and ttl_ms when signing)");
    }
    return { ...draft, signature: { ...sig, publicKey: key } };
  }

  /** Stores a draft; a new message is announced to its recipient's streams and observers. */
  private async store(
    draft: MessageDraft,
    announce = true,
  ): Promise<{ message: StoredMessage; duplicate: boolean; receipt?: ReceiptRecord }> {
    const result = await this.writer.write(draft);
    if (result.outcome === "conflict") {
      throw new DomainError("already_exists", "message_id_conflict", `message_id ${draft.messageId} is already used by another sender`, {
        field: "message_id",
      });
    }
    if (result.outcome === "duplicate") return { message: result.message, duplicate: true };
    this.delivery.publishReceipt(result.receipt);
    if (announce) this.delivery.announce(result.message);
    this.deps.bus.publish(observeSubject(result.message.toAccountId), encodeMessage(result.message));
    return { message: result.message, duplicate: false, receipt: result.receipt };
  }

  private async transition(messageId: string, to: "processed" | "rejected", sessionTag: string, code: string, detail: string) {
    const { message, receipt } = await this.status.apply({ messageId, to, sessionTag, code, detail });
    if (receipt) this.delivery.publishReceipt(receipt);
    return message;
  }
}
