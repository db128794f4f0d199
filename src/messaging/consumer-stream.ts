import type { Outlet } from "../streams/index.js";
import type { StoredMessage } from "./message.js";

// One CONSUME stream on this gateway: its place in the account's route (what Delivery offers it, reads for it and
// releases when it closes) and the loop that pushes its messages into the transport.
//
// The loop runs when something wakes it (a message offered or claimed, an ack freeing room, a sweep, the keepalive
// timer, the end of the call) and returns once there is nothing to do: a quiet stream — most of 10,000 connected
// agents — holds no suspended frame and no pending promise chain. Its state lives on this one object, with its
// methods on the prototype, and it is its own abort listener: per stream, the timer and this object are all there is.

/** What a stream says, in order: once that it is attached (and how much waits), then messages and keepalives. */
export type ConsumerItem =
  /** First, once the stream is attached: how many messages wait for the account (unacked, unexpired). */
  { type: "started"; pendingCount: number } | { type: "message"; message: StoredMessage; attempt: number } | { type: "keepalive" };

/** A stream as Delivery's routing sees it. */
export interface Consumer {
  readonly accountId: string;
  readonly sessionTag: string;
  readonly maxInFlight: number;
  /** Pushed and not yet acked. */
  readonly inFlight: Map<string, StoredMessage>;
  /** Waiting for room in flight, in arrival order. */
  readonly queued: Map<string, StoredMessage>;
  /** inFlight.size, without making the map of a stream that never had one. */
  readonly inFlightCount: number;
  /** queued.size, likewise. */
  readonly queuedCount: number;
  /** The backlog in the store still to be read, from this seq on; undefined once read through. */
  backlogAfter: number | undefined;
  /** A backlog read is running. */
  readingBacklog: boolean;
  /** A live message was left to the store while the read ran (it may have begun before that message was stored). */
  offeredDuringRead: boolean;
  /** Delivery records still being written (and claims of messages being stored); release waits for them. */
  readonly marking: Set<Promise<void>>;
  /** Places claimed by messages being stored. */
  reserved: number;
  /** Stored as delivered to this stream (claimed), in flight, to push. */
  ready: StoredMessage[];
  /** Something changed: have the stream look at its state again (soon, not on the caller's stack). */
  wake(): void;
}

/** What the loop asks of Delivery, which owns the store, the bus and the routes. */
export interface ConsumerHost {
  /** Reads the next backlog page into `queued`; `first`: the stream's first read, which also counts what waits. */
  readBacklog(consumer: Consumer, first: boolean): Promise<number | undefined>;
  /** Moves queued messages into flight, as many as there is room for. */
  takeBatch(consumer: Consumer): StoredMessage[];
  /** Records one delivery; the stored message, or undefined when it is no longer this stream's to push. */
  markDelivered(consumer: Consumer, message: StoredMessage): Promise<StoredMessage | undefined>;
  /** Takes the stream out of its route. */
  detach(consumer: Consumer): void;
  /** Releases what the closed stream held (never rejects: failures are logged). */
  release(consumer: Consumer): Promise<void>;
}

const KEEPALIVE_MS = 30_000;

export class ConsumerStream implements Consumer {
  backlogAfter: number | undefined = 0;
  readingBacklog = false;
  offeredDuringRead = false;
  reserved = 0;
  ready: StoredMessage[] = [];
  // Made on first use: a quiet stream never has anything in flight, queued or being marked (the three cost 0.6 KiB).
  private inFlightMap: Map<string, StoredMessage> | undefined;
  private queuedMap: Map<string, StoredMessage> | undefined;
  private markingSet: Set<Promise<void>> | undefined;

  private running = false;
  /** Woken while running: look again before going idle. */
  private woken = false;
  private started = false;
  private keepaliveDue = false;
  private stopping = false;
  private over = false;
  private failure: { error: unknown } | undefined;
  private readonly keepalive: NodeJS.Timeout;

  constructor(
    private readonly host: ConsumerHost,
    readonly accountId: string,
    readonly sessionTag: string,
    readonly maxInFlight: number,
    private readonly signal: AbortSignal,
    private readonly outlet: Outlet<ConsumerItem>,
    /** Called once, when the stream is over and what it held is released: with the store's failure, if that ended it. */
    private readonly onEnd: (failure: { error: unknown } | undefined) => void,
  ) {
    this.keepalive = setTimeout(keepaliveDue, KEEPALIVE_MS, this);
  }

  get inFlight(): Map<string, StoredMessage> {
    this.inFlightMap ??= new Map();
    return this.inFlightMap;
  }

  get queued(): Map<string, StoredMessage> {
    this.queuedMap ??= new Map();
    return this.queuedMap;
  }

  get inFlightCount(): number {
    return this.inFlightMap?.size ?? 0;
  }

  get queuedCount(): number {
    return this.queuedMap?.size ?? 0;
  }

  get marking(): Set<Promise<void>> {
    this.markingSet ??= new Set();
    return this.markingSet;
  }

  /** Starts the loop, once the stream is in its route: its first step reads the backlog and says `started`. */
  start(): void {
    if (this.signal.aborted) this.stopping = true;
    else this.signal.addEventListener("abort", this, { once: true });
    this.wake();
  }

  wake(): void {
    if (this.running) {
      this.woken = true;
      return;
    }
    this.running = true;
    // Not on the waker's stack (a store flush, a bus callback): the stream's writes happen on their own turn.
    queueMicrotask(() => this.run());
  }

  /** The call's signal aborted (this object is its listener): stop after the step that may be running. */
  handleEvent(): void {
    this.stopping = true;
    this.wake();
  }

  /** The keepalive timer: 30 s without traffic. */
  beat(): void {
    this.keepaliveDue = true;
    this.wake();
  }

  private run(): void {
    this.step().then(
      () => {
        this.running = false;
        if (this.stopping) this.finish();
        // Idle from now: 30 s without traffic is a keepalive.
        else if (!this.keepaliveDue) this.keepalive.refresh();
      },
      (error: unknown) => {
        this.running = false;
        this.failure = { error };
        this.finish();
      },
    );
  }

  private async step(): Promise<void> {
    for (;;) {
      this.woken = false;
      if (this.stopping) return;
      if (!this.started) {
        this.started = true;
        // Attached first: what is stored from now on is offered to the stream, and what was stored before is in this read.
        await this.push({ type: "started", pendingCount: (await this.host.readBacklog(this, true)) ?? 0 });
        continue;
      }
      if (this.keepaliveDue) {
        this.keepaliveDue = false;
        await this.push({ type: "keepalive" });
        continue;
      }
      if (this.ready.length > 0) {
        // Claimed in their insert: stored as delivered to this stream already.
        for (const m of this.ready.splice(0)) await this.deliver(m);
        continue;
      }
      if (this.queuedCount === 0 && this.backlogAfter !== undefined && this.inFlightCount + this.reserved < this.maxInFlight) {
        await this.host.readBacklog(this, false);
        continue;
      }
      const batch = this.host.takeBatch(this);
      if (batch.length > 0) {
        // Record the deliveries before the client sees them (one batched write for the lot), so receipts
        // always read accepted → delivered → processed and each push carries its true attempt number.
        const marked = await Promise.all(batch.map((m) => this.host.markDelivered(this, m)));
        for (const m of marked) if (m) await this.deliver(m);
        continue;
      }
      if (!this.woken) return;
    }
  }

  /** Hands out one pushed message if it is still in flight (an ack, expiry or release may have taken it). */
  private async deliver(message: StoredMessage): Promise<void> {
    if (!this.stopping && this.inFlight.has(message.messageId))
      await this.push({ type: "message", message, attempt: message.deliveryAttempts });
  }

  private async push(item: ConsumerItem): Promise<void> {
    const taken = this.outlet.push(item);
    if (!(taken instanceof Promise ? await taken : taken)) await this.outlet.ready();
  }

  private finish(): void {
    if (this.over) return;
    this.over = true;
    clearTimeout(this.keepalive);
    this.signal.removeEventListener("abort", this);
    this.host.detach(this);
    void this.host.release(this).then(() => this.onEnd(this.failure));
  }
}

function keepaliveDue(stream: ConsumerStream): void {
  stream.beat();
}
