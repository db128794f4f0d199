import type { Kysely, Selectable } from "kysely";
import type { Logger } from "pino";
import type { Bus, BusSubscription } from "../bus/index.js";
import { isUnavailable } from "../store/database.js";
import type { Database } from "../store/schema.js";
import type { Outlet } from "../streams/index.js";
import {
  decodeMessage,
  decodeReceipt,
  encodeMessage,
  INBOX_QUEUE,
  inboxSubject,
  type ReceiptRecord,
  finalReceiptsOfRecipient,
} from "../wire/index.js";
import { type StoredMessage, toStoredMessage } from "./message.js";
import type { ReceiptPublisher } from "./receipts.js";
import { releaseLeases } from "./release.js";
import type { StatusWriter } from "./writer.js";
import type { MessagesTable } from "./tables.js";
import { type FirstPage, type FirstRead, readFirstPages } from "./first-backlog.js";
import { GroupCommit } from "../store/group-commit.js";
import { pickStream, room } from "./pick-stream.js";
import { runPeriodically } from "../lifecycle/index.js";
import { SpanKind, type Tracing } from "../tracing/index.js";
import { messageAttributes } from "./span-attributes.js";
import { type Consumer, type ConsumerHost, type ConsumerItem, ConsumerStream } from "./consumer-stream.js";

export type { ConsumerItem } from "./consumer-stream.js";

// Pushing stored messages to live CONSUME streams, on this gateway, for messages accepted on any gateway.
//
// Every gateway holding at least one stream of an account subscribes to the account's inbox subject in one
// queue group, so each accepted message reaches exactly one gateway, which hands it to one of its local streams
// (work-queue semantics across processes). A stream also starts by claiming the account's backlog from the
// store: messages accepted while nobody listened, and delivered ones whose lease ran out. Unacked messages of a
// stream that closes are released and offered to the account's other streams, so nothing waits for a timeout.
//
// The bus is only a doorbell: what it loses (a gateway killed with messages in flight, announcements published
// during a NATS outage) the store still has. So live streams converge on the store by themselves: a periodic
// sweep looks for claimable messages of the accounts streaming here, and a bus reconnect re-reads them all.
// A claim succeeds only while nobody else holds the message's lease (StatusWriter), so re-reading never pushes
// one message to two streams at once. A stream holds at most `maxInFlight` messages in memory; the rest wait in
// the store until it has room.
//
// A message sent through the gateway where its recipient streams, while that stream is caught up and has room,
// skips all of that: it is claimed for the stream in its own insert (`place`), stored already delivered, and
// pushed once stored. Its delivery then costs no UPDATE, no second commit and no bus round trip; as nobody ever
// sees it unclaimed, no other stream can take it meanwhile.

const BACKLOG_PAGE = 500;
/** Accepted messages younger than this are left to the live path (their announcement is on its way). */
const ANNOUNCE_GRACE_MS = 1_000;
/** Accounts asked about per sweep query. */
const SWEEP_CHUNK = 500;
/** How long an account's final-receipt subscription outlives its last message in flight (no churn between messages). */
const FINALS_IDLE_MS = 60_000;

/** How a new message will reach its recipient's streams, settled before it is stored (`Delivery.place`). */
export interface Placement {
  /**
   * The session of the stream here that takes the message: store it claimed for that stream. Undefined: store it
   * unclaimed, to be announced.
   */
  readonly claimedBy: string | undefined;
  /** The message is stored (`delivered`: its delivered receipt, when stored claimed): push it, or announce it. */
  stored(message: StoredMessage, delivered: ReceiptRecord | undefined, encoded?: Uint8Array): void;
  /** Nothing was stored (a repeat, a conflict, an error). */
  abandon(): void;
}

interface AccountRoute {
  consumers: Consumer[];
  next: number;
  /** The account's inbox subject, in the queue group of every gateway streaming it. */
  inbox: BusSubscription;
  /**
   * Final receipts of the account's messages, for acks made through another gateway: subscribed only while a
   * stream here has messages in flight, and dropped once none has for FINALS_IDLE_MS. Most connected agents are
   * quiet most of the time, and a bus subscription costs about a kilobyte and a half of heap.
   */
  finals: BusSubscription | undefined;
  /** Since when no stream of the route has had anything in flight (while `finals` is still subscribed). */
  finalsIdleSince: number | undefined;
  /**
   * Messages of the account this gateway announced and has not been offered back yet, with when to stop waiting
   * (the queue group may hand them to another gateway). While one is on its way, a newer message is not claimed:
   * pushed at once, it would overtake the older one.
   */
  announced: Map<string, number>;
  /** Messages placed unclaimed and still being stored (to be announced): nothing is claimed past them either. */
  unclaimed: number;
}

export class Delivery {
  private readonly routes = new Map<string, AccountRoute>();
  /** What every stream's loop asks of this Delivery (one object for all of them). */
  private readonly host: ConsumerHost = {
    readBacklog: (c, first) => this.readBacklog(c, first),
    takeBatch: (c) => this.takeBatch(c),
    markDelivered: (c, m) => this.markDelivered(c, m),
    detach: (c) => this.detach(c),
    release: (c) => this.release(c).catch((err: unknown) => this.deps.logger.warn({ err }, "could not release unacked messages")),
  };
  /** First reads of streams that open, one statement per flush. */
  private readonly firstReads: GroupCommit<FirstRead, FirstPage>;

  constructor(
    private readonly deps: {
      db: Kysely<Database>;
      bus: Bus;
      logger: Logger;
      status: StatusWriter;
      receipts: ReceiptPublisher;
      /** Told, in seconds, how long each message took from acceptance to its first push. */
      deliveryLatency: { observe(seconds: number): void };
      /** Spans of deliveries and announcements, in the trace each message was sent in. */
      tracing: Tracing;
    },
  ) {
    this.firstReads = new GroupCommit((reads) => readFirstPages(deps.db, reads, new Date()));
    // Streams on this gateway learn of its own receipts at once, not a bus round trip later.
    deps.receipts.onPublished((receipt) => this.settled(receipt));
  }

  /**
   * Keeps this gateway's streams converged on the store until `signal` aborts: a sweep every `intervalMs`, and a
   * full re-read after the bus reconnects.
   */
  async run(intervalMs: number, signal: AbortSignal): Promise<void> {
    const stopListening = this.deps.bus.onConnectionChange((event) => {
      if (event === "reconnected")
        void this.reconverge().catch((err: unknown) =>
          this.deps.logger.warn({ err }, "could not re-read inboxes after the bus reconnected"),
        );
    });
    let failing = false;
    try {
      await runPeriodically(signal, {
        intervalMs,
        pass: async () => {
          try {
            await this.sweep();
            if (failing) this.deps.logger.info("redelivery sweep works again");
            failing = false;
          } catch (err) {
            // One line per outage, not one per tick.
            if (!failing) this.deps.logger.warn({ err }, "redelivery sweep failed; retrying every tick");
            failing = true;
          }
        },
      });
    } finally {
      stopListening();
    }
  }

  /** Looks for claimable messages of the accounts streaming here and has their streams read them. */
  async sweep(): Promise<void> {
    this.dropIdleFinals(Date.now());
    const accounts = [...this.routes.keys()];
    for (let i = 0; i < accounts.length; i += SWEEP_CHUNK) {
      const chunk = accounts.slice(i, i + SWEEP_CHUNK);
      const rows = await this.deps.db
        .selectFrom("messages")
        .select("to_account_id")
        .distinct()
        .where("to_account_id", "in", chunk)
        .where("status", "in", ["accepted", "delivered"])
        .where("expires_at", ">", new Date())
        .where((eb) =>
          eb.or([
            eb.and([eb("status", "=", "accepted"), eb("sent_at", "<", new Date(Date.now() - ANNOUNCE_GRACE_MS))]),
            eb.and([eb("status", "=", "delivered"), eb.or([eb("lease_until", "is", null), eb("lease_until", "<=", new Date())])]),
          ]),
        )
        .execute();
      for (const { to_account_id } of rows) this.kick(to_account_id);
    }
    // A stream full of messages whose acks it never heard of (settled on another gateway while the bus was away)
    // would wait forever: drop what has a final status in the store.
    await Promise.all(
      [...this.routes.values()].flatMap((r) => r.consumers.filter((c) => c.inFlightCount >= c.maxInFlight)).map((c) => this.reconcile(c)),
    );
  }

  /**
   * Subscribes to the account's final receipts, if not yet: before a message goes in flight, so that an ack made
   * through another gateway frees its room here.
   */
  private watchFinals(accountId: string): void {
    const route = this.routes.get(accountId);
    if (!route) return;
    route.finalsIdleSince = undefined;
    route.finals ??= this.deps.bus.subscribe(finalReceiptsOfRecipient(accountId), (msg) => this.settled(decodeReceipt(msg.data)));
  }

  /** Drops the final-receipt subscriptions of accounts with nothing in flight here for FINALS_IDLE_MS. */
  private dropIdleFinals(now: number): void {
    for (const route of this.routes.values()) {
      if (!route.finals) continue;
      if (route.consumers.some((c) => c.inFlightCount > 0)) {
        route.finalsIdleSince = undefined;
        continue;
      }
      route.finalsIdleSince ??= now;
      if (now - route.finalsIdleSince < FINALS_IDLE_MS) continue;
      route.finals.unsubscribe();
      route.finals = undefined;
      route.finalsIdleSince = undefined;
    }
  }

  /** After a bus outage: every stream re-reads its backlog and forgets messages settled meanwhile. */
  private async reconverge(): Promise<void> {
    for (const accountId of this.routes.keys()) this.kick(accountId);
    await Promise.all([...this.routes.values()].flatMap((r) => r.consumers).map((c) => this.reconcile(c)));
  }

  /** Has the account's stream with the most room read the store again. */
  private kick(accountId: string): void {
    const route = this.routes.get(accountId);
    if (!route || route.consumers.length === 0) return;
    let best = route.consumers[0]!;
    for (const c of route.consumers) if (room(c) > room(best)) best = c;
    best.backlogAfter ??= 0;
    best.wake();
  }

  private async reconcile(consumer: Consumer): Promise<void> {
    const ids = [...consumer.inFlight.keys()];
    if (ids.length === 0) return;
    const rows = await this.deps.db
      .selectFrom("messages")
      .select(["message_id", "status"])
      .where("message_id", "in", ids)
      .where("status", "not in", ["accepted", "delivered"])
      .execute();
    for (const row of rows) consumer.inFlight.delete(row.message_id);
    if (rows.length > 0) consumer.wake();
  }

  /**
   * Where a new message of the account goes, decided before it is stored. When one of the account's streams here
   * would push it at once — nothing of the account waits ahead of it (in the store, in memory, on the bus or being
   * stored) and the stream has room — the message takes a place on that stream and is stored claimed for it;
   * otherwise it is stored unclaimed and announced as usual.
   */
  place(accountId: string): Placement {
    const route = this.routes.get(accountId);
    const consumer = route && this.claimable(route);
    if (!route || !consumer) {
      if (route) route.unclaimed++;
      let open = route !== undefined;
      const close = () => {
        if (open && route) route.unclaimed--;
        open = false;
      };
      return {
        claimedBy: undefined,
        stored: (message, _delivered, encoded) => {
          // Announced before the count drops, so a newer message cannot be claimed in between.
          this.announce(message, encoded);
          close();
        },
        abandon: close,
      };
    }
    consumer.reserved++;
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    // A stream that closes meanwhile waits for this, then releases what it holds: this message too.
    consumer.marking.add(settled);
    let open = true;
    const close = () => {
      if (!open) return false;
      open = false;
      consumer.reserved--;
      consumer.marking.delete(settled);
      settle();
      return true;
    };
    return {
      claimedBy: consumer.sessionTag,
      stored: (message, delivered, encoded) => {
        if (!close()) return;
        if (!delivered) {
          consumer.wake();
          this.announce(message, encoded);
          return;
        }
        const pushed = {
          ...message,
          status: "delivered" as const,
          deliveryAttempts: delivered.deliveryAttempt,
          traceparent: this.deliveredNow(message, delivered, consumer.sessionTag),
        };
        // In flight from now on: an ack, an expiry or the stream's close (which releases it) may come next.
        this.watchFinals(consumer.accountId);
        consumer.inFlight.set(pushed.messageId, pushed);
        consumer.ready.push(pushed);
        consumer.wake();
      },
      abandon: () => {
        if (close()) consumer.wake();
      },
    };
  }

  /** The stream of the route that can take a new message at once, if the account has nothing waiting ahead of it. */
  private claimable(route: AccountRoute): Consumer | undefined {
    if (route.unclaimed > 0) return undefined;
    if (route.announced.size > 0) {
      const now = Date.now();
      for (const [id, until] of route.announced) if (until <= now) route.announced.delete(id);
      if (route.announced.size > 0) return undefined;
    }
    const n = route.consumers.length;
    let to: Consumer | undefined;
    for (let i = 0; i < n; i++) {
      const c = route.consumers[(route.next + i) % n]!;
      if (c.backlogAfter !== undefined || c.readingBacklog || c.queuedCount > 0) return undefined;
      if (!to || room(c) > room(to)) to = c;
    }
    if (!to || room(to) <= 0) return undefined;
    route.next = (route.next + 1) % n;
    return to;
  }

  /**
   * Publishes a delivery's receipt, times a first delivery, and makes the delivery's span (in the trace the message
   * was sent in); returns the trace context the pushed envelope carries: that span's, or the message's own.
   */
  private deliveredNow(message: StoredMessage, receipt: ReceiptRecord, sessionTag: string): string {
    this.deps.receipts.publish(receipt);
    const waitedMs = Math.max(0, receipt.eventAt.getTime() - message.sentAt.getTime());
    if (receipt.deliveryAttempt === 1) this.deps.deliveryLatency.observe(waitedMs / 1000);
    if (message.traceparent === "" || !this.deps.tracing.enabled) return message.traceparent;
    const span = this.deps.tracing.start("agentnet.deliver", {
      kind: SpanKind.PRODUCER,
      parent: message.traceparent,
      attributes: {
        ...messageAttributes(message),
        "messaging.operation.type": "send",
        "messaging.destination.name": message.toAccountId,
        "agentnet.session_tag": sessionTag,
        "agentnet.delivery_attempt": receipt.deliveryAttempt,
        "agentnet.waited_ms": waitedMs,
      },
    });
    span?.end();
    return span?.traceparent ?? message.traceparent;
  }

  /** Messages pushed to this gateway's streams and not settled yet. */
  inFlightCount(): number {
    let n = 0;
    for (const route of this.routes.values()) for (const c of route.consumers) n += c.inFlightCount;
    return n;
  }

  /** Whether a CONSUME stream of the account is open on this gateway (someone is reading its inbox right now). */
  hasLocalConsumer(accountId: string): boolean {
    return (this.routes.get(accountId)?.consumers.length ?? 0) > 0;
  }

  /**
   * Announces a stored message to the gateways holding streams of its recipient. `encoded`: the message's bus
   * encoding when the caller already made it (to publish the same bytes elsewhere too).
   */
  announce(message: StoredMessage, encoded: Uint8Array = encodeMessage(message)): void {
    this.routes.get(message.toAccountId)?.announced.set(message.messageId, Date.now() + ANNOUNCE_GRACE_MS);
    this.deps.bus.publish(inboxSubject(message.toAccountId), encoded);
    if (message.traceparent !== "" && this.deps.tracing.enabled) {
      this.deps.tracing
        .start("agentnet.bus.publish", {
          kind: SpanKind.PRODUCER,
          parent: message.traceparent,
          attributes: { ...messageAttributes(message), "messaging.operation.type": "publish", "messaging.destination.name": "inbox" },
        })
        ?.end();
    }
  }

  /**
   * Pushes the messages of one CONSUME stream into `outlet` until `signal` aborts or the store fails it. Backlog
   * first, then live messages; at most `maxInFlight` unacked at a time; a keepalive after 30 s of silence. `onEnd`
   * is called once the stream's unacked messages are released, with the failure that ended it, if any.
   *
   * Pushed, not pulled (see ConsumerStream): a quiet stream holds no suspended frame and no pending promise.
   */
  consume(
    accountId: string,
    sessionTag: string,
    maxInFlight: number,
    signal: AbortSignal,
    outlet: Outlet<ConsumerItem>,
    onEnd: (failure: { error: unknown } | undefined) => void,
  ): void {
    const stream = new ConsumerStream(this.host, accountId, sessionTag, maxInFlight, signal, outlet, onEnd);
    this.attach(stream);
    stream.start();
  }

  /** Frees room in flight when a message got a final status (ack here or elsewhere, or expiry). */
  private settled(receipt: ReceiptRecord): void {
    if (receipt.status === "accepted" || receipt.status === "delivered") return;
    const route = this.routes.get(receipt.recipientAccountId);
    if (!route) return;
    for (const c of route.consumers) {
      if (c.inFlight.delete(receipt.messageId) || c.queued.delete(receipt.messageId)) c.wake();
    }
  }

  private attach(consumer: Consumer): void {
    let route = this.routes.get(consumer.accountId);
    if (!route) {
      const accountId = consumer.accountId;
      route = {
        consumers: [],
        next: 0,
        announced: new Map(),
        unclaimed: 0,
        inbox: this.deps.bus.subscribe(inboxSubject(accountId), (msg) => this.offer(accountId, decodeMessage(msg.data)), {
          queue: INBOX_QUEUE,
        }),
        finals: undefined,
        finalsIdleSince: undefined,
      };
      this.routes.set(accountId, route);
    }
    route.consumers.push(consumer);
  }

  private detach(consumer: Consumer): void {
    const route = this.routes.get(consumer.accountId);
    if (!route) return;
    route.consumers = route.consumers.filter((c) => c !== consumer);
    if (route.consumers.length === 0) {
      route.inbox.unsubscribe();
      route.finals?.unsubscribe();
      this.routes.delete(consumer.accountId);
    }
  }

  /** A live message for an account: to the local stream with the most room, round robin among equals. */
  private offer(accountId: string, message: StoredMessage): void {
    const route = this.routes.get(accountId);
    route?.announced.delete(message.messageId);
    const pick = route && pickStream(route.consumers, route.next, message.messageId);
    if (!route || !pick || "held" in pick) return; // no stream: it stays in the store for the next one
    route.next = (route.next + 1) % route.consumers.length;
    if ("full" in pick) {
      // No room anywhere: the message stays in the store, read when the stream has room (bounded memory).
      pick.full.backlogAfter ??= 0;
      return;
    }
    if (pick.to.backlogAfter !== undefined) {
      // Older messages still wait in the store for this stream: pushed now, this one would overtake them. It is
      // stored, so the backlog read takes it in its place; a read already running may have missed it (its
      // snapshot can predate this message), so that read does not count as the end of the backlog.
      if (pick.to.readingBacklog) pick.to.offeredDuringRead = true;
      pick.to.wake();
      return;
    }
    pick.to.queued.set(message.messageId, message);
    pick.to.wake();
  }

  /**
   * Reads the next page of the consumer's backlog into its queue. `first`: the stream's first read, which also
   * counts what waits (SubscribeStarted.pending_count), shared with the other streams opening meanwhile.
   */
  private async readBacklog(consumer: Consumer, first = false): Promise<number | undefined> {
    const after = consumer.backlogAfter ?? 0;
    const limit = Math.max(1, Math.min(BACKLOG_PAGE, room(consumer)));
    consumer.readingBacklog = true;
    consumer.offeredDuringRead = false;
    let pending: number | undefined;
    let rows: Array<Selectable<MessagesTable>>;
    try {
      if (first) {
        ({ pending, rows } = await this.firstReads.submit({ accountId: consumer.accountId, limit }));
      } else {
        const now = new Date();
        rows = await this.deps.db
          .selectFrom("messages")
          .selectAll()
          .where("to_account_id", "=", consumer.accountId)
          .where("seq", ">", after)
          .where((eb) =>
            eb.or([
              eb("status", "=", "accepted"),
              eb.and([eb("status", "=", "delivered"), eb.or([eb("lease_until", "is", null), eb("lease_until", "<=", now)])]),
            ]),
          )
          .where("expires_at", ">", now)
          .orderBy("seq")
          .limit(limit)
          .execute();
      }
    } finally {
      consumer.readingBacklog = false;
    }
    for (const row of rows) {
      if (!consumer.inFlight.has(row.message_id)) consumer.queued.set(row.message_id, toStoredMessage(row));
    }
    const readThrough = rows.length < limit && !consumer.offeredDuringRead;
    consumer.backlogAfter = readThrough ? undefined : (rows.at(-1)?.seq ?? after);
    return pending;
  }

  /** Moves queued messages into flight, as many as there is room for; drops the ones already past their TTL. */
  private takeBatch(consumer: Consumer): StoredMessage[] {
    const batch: StoredMessage[] = [];
    if (consumer.queuedCount === 0) return batch;
    const now = Date.now();
    for (const m of consumer.queued.values()) {
      if (consumer.inFlight.size + consumer.reserved >= consumer.maxInFlight) break;
      consumer.queued.delete(m.messageId);
      if (m.expiresAt.getTime() <= now) continue; // the expiry sweep reports it
      if (batch.length === 0) this.watchFinals(consumer.accountId);
      consumer.inFlight.set(m.messageId, m);
      batch.push(m);
    }
    return batch;
  }

  /**
   * Records one delivery and publishes its receipt; resolves with the stored message (its attempt counted), or
   * undefined when it already has a final status (acked or expired meanwhile), which also takes it out of flight.
   */
  private markDelivered(consumer: Consumer, message: StoredMessage): Promise<StoredMessage | undefined> {
    const marking = this.deps.status
      .apply({
        messageId: message.messageId,
        to: "delivered",
        sessionTag: consumer.sessionTag,
        code: "",
        detail: "",
        traceparent: message.traceparent,
      })
      .then(({ message: stored, receipt }) => {
        // No receipt: the claim did not happen (final meanwhile, or another stream holds the lease).
        if (!receipt || !stored || stored.status !== "delivered") {
          if (receipt) this.deps.receipts.publish(receipt);
          consumer.inFlight.delete(message.messageId);
          return undefined;
        }
        return { ...message, ...stored, traceparent: this.deliveredNow(message, receipt, consumer.sessionTag) };
      })
      .catch((err: unknown) => {
        // It stays in the store; the redelivery sweep offers it again. An unreachable database is an outage, not a bug.
        if (isUnavailable(err))
          this.deps.logger.warn({ err: String(err), messageId: message.messageId }, "could not record delivery: database unavailable");
        else this.deps.logger.error({ err, messageId: message.messageId }, "could not record delivery");
        consumer.inFlight.delete(message.messageId);
        return undefined;
      });
    const settled = marking.then(() => undefined);
    consumer.marking.add(settled);
    void settled.finally(() => consumer.marking.delete(settled));
    return marking;
  }

  /**
   * A closing stream's unacked messages: end their lease so the next stream claims them at once, and offer them
   * to the account's other live streams (on any gateway).
   */
  private async release(consumer: Consumer): Promise<void> {
    await Promise.all(consumer.marking);
    const unacked = [...consumer.inFlight.values(), ...consumer.queued.values()];
    if (unacked.length === 0) return;
    const released = await releaseLeases(
      this.deps.db,
      unacked.map((m) => m.messageId),
    );
    // Announce the stored rows where there are some: they carry the attempts counted so far.
    const fresh = new Map(released.map((m) => [m.messageId, m]));
    for (const m of unacked) this.announce(fresh.get(m.messageId) ?? m);
  }
}
