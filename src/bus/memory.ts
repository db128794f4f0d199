import { randomBytes } from "node:crypto";
import { pino, type Logger } from "pino";
import type { Bus, BusHandler, BusMessage, BusSubscription, PublishOptions, RequestOptions, SubscribeOptions } from "./bus.js";
import { BusError } from "./errors.js";
import { invokeHandler } from "./handler.js";
import { SubjectTrie, filterTokens, normalizeHeaders, publishTokens, validateQueue } from "./subjects.js";

/** NATS's default max_payload, so a message the in-process bus accepts also fits through NATS. */
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

const NO_HEADERS: ReadonlyMap<string, string> = new Map();

interface Envelope {
  subject: string;
  data: Uint8Array;
  headers: ReadonlyMap<string, string>;
  reply: string | undefined;
}

interface Delivery {
  sub: MemorySubscription;
  env: Envelope;
}

export interface MemoryBrokerOptions {
  maxPayload?: number;
}

export interface MemoryBusOptions {
  name?: string;
  logger?: Logger;
}

/**
 * The in-process stand-in for a nats-server: one subject space that any number of {@link MemoryBus}
 * connections share, so code that talks through several connections behaves as it would on NATS.
 */
export class MemoryBroker {
  readonly maxPayload: number;
  private readonly trie = new SubjectTrie<MemorySubscription>();
  private queue: Delivery[] = [];
  private scheduled = false;
  private readonly nextMember = new Map<string, number>();

  constructor(opts: MemoryBrokerOptions = {}) {
    this.maxPayload = opts.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  }

  connect(opts: MemoryBusOptions = {}): MemoryBus {
    return new MemoryBus(this, opts);
  }

  /** @internal */
  add(sub: MemorySubscription): void {
    this.trie.insert(sub.tokens, sub);
  }

  /** @internal */
  remove(sub: MemorySubscription): void {
    this.trie.remove(sub.tokens, sub);
  }

  /**
   * Queues the message for every plain subscriber and for one member of each queue group; returns how
   * many deliveries were queued (0 = nobody listens, which a request reports as no_responders).
   * @internal
   */
  route(tokens: readonly string[], env: Envelope): number {
    const matches = this.trie.match(tokens);
    if (matches.length === 0) return 0;
    let groups: Map<string, MemorySubscription[]> | undefined;
    let delivered = 0;
    for (const sub of matches) {
      if (sub.queue === undefined) {
        this.enqueue(sub, env);
        delivered++;
      } else {
        groups ??= new Map();
        const members = groups.get(sub.queue);
        if (members === undefined) groups.set(sub.queue, [sub]);
        else members.push(sub);
      }
    }
    if (groups !== undefined) {
      // Round robin rather than NATS's random pick: the same even spread, but reproducible in tests.
      for (const [queue, members] of groups) {
        const n = this.nextMember.get(queue) ?? 0;
        this.nextMember.set(queue, (n + 1) % 1_000_000_007);
        this.enqueue(members[n % members.length]!, env);
        delivered++;
      }
    }
    return delivered;
  }

  private enqueue(sub: MemorySubscription, env: Envelope): void {
    sub.bus.inFlight++;
    this.queue.push({ sub, env });
    if (!this.scheduled) {
      this.scheduled = true;
      // A macrotask, like a socket read: handlers never run inside the publisher's call stack, and a
      // handler that publishes in a loop cannot starve I/O.
      setImmediate(this.drain);
    }
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const { sub, env } of batch) sub.bus.dispatch(sub, env);
  };
}

class MemorySubscription implements BusSubscription {
  active = true;

  constructor(
    readonly bus: MemoryBus,
    readonly subject: string,
    readonly tokens: readonly string[],
    readonly queue: string | undefined,
    readonly handler: BusHandler,
  ) {}

  unsubscribe(): void {
    this.bus.unsubscribe(this);
  }
}

interface PendingRequest {
  resolve(msg: BusMessage): void;
  reject(err: BusError): void;
  timer: NodeJS.Timeout;
}

/** One connection to a {@link MemoryBroker}. `openBus` without a NATS URL gives one on a private broker. */
export class MemoryBus implements Bus {
  readonly kind = "memory" as const;
  /** Deliveries queued for this connection's subscriptions and not yet dispatched. @internal */
  inFlight = 0;
  private state: "open" | "draining" | "closed" = "open";
  private readonly subs = new Set<MemorySubscription>();
  private readonly logger: Logger;
  private readonly inboxPrefix = `_INBOX.${randomBytes(9).toString("base64url")}.`;
  private inbox: MemorySubscription | undefined;
  private nextToken = 0;
  private readonly pending = new Map<string, PendingRequest>();
  private closing: Promise<void> | undefined;
  private drained: (() => void) | undefined;

  constructor(
    private readonly broker: MemoryBroker,
    opts: MemoryBusOptions = {},
  ) {
    const base = opts.logger ?? pino({ level: "silent" });
    this.logger = base.child({ bus: "memory", ...(opts.name ? { busName: opts.name } : {}) });
  }

  publish(subject: string, data: Uint8Array, opts?: PublishOptions): void {
    this.send(subject, data, opts?.headers, undefined);
  }

  subscribe(subject: string, handler: BusHandler, opts?: SubscribeOptions): BusSubscription {
    if (this.state !== "open") throw closedError();
    const tokens = filterTokens(subject);
    validateQueue(opts?.queue);
    const sub = new MemorySubscription(this, subject, tokens, opts?.queue, handler);
    this.subs.add(sub);
    this.broker.add(sub);
    return sub;
  }

  request(subject: string, data: Uint8Array, opts: RequestOptions): Promise<BusMessage> {
    try {
      if (this.state !== "open") throw closedError();
      if (!(opts.timeoutMs > 0) || !Number.isFinite(opts.timeoutMs)) {
        throw new RangeError(`request timeoutMs must be a positive number, got ${opts.timeoutMs}`);
      }
      const token = String(this.nextToken++);
      const reply = this.inboxPrefix + token;
      this.ensureInbox();
      return new Promise<BusMessage>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.pending.delete(token);
          reject(new BusError("timeout", `request to ${subject} timed out after ${opts.timeoutMs} ms`));
        }, opts.timeoutMs);
        this.pending.set(token, { resolve, reject, timer });
        let receivers: number;
        try {
          receivers = this.send(subject, data, opts.headers, reply);
        } catch (err) {
          this.settle(token);
          reject(err);
          return;
        }
        if (receivers === 0) {
          this.settle(token);
          reject(new BusError("no_responders", `no responders for ${subject}`));
        }
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  onConnectionChange(): () => void {
    // In one process there is no connection to lose.
    return () => undefined;
  }

  flush(): Promise<void> {
    if (this.state === "closed") return Promise.reject(closedError());
    return new Promise((resolve) => setImmediate(resolve));
  }

  close(): Promise<void> {
    this.closing ??= this.drainAndClose();
    return this.closing;
  }

  /** @internal */
  dispatch(sub: MemorySubscription, env: Envelope): void {
    this.inFlight--;
    if (sub.active) {
      invokeHandler(sub.handler, new MemoryMessage(this, env), sub.subject, this.logger);
    }
    if (this.inFlight === 0 && this.drained !== undefined) this.drained();
  }

  /** @internal */
  unsubscribe(sub: MemorySubscription): void {
    if (!sub.active) return;
    sub.active = false;
    this.subs.delete(sub);
    this.broker.remove(sub);
  }

  /** @internal Used by messages to answer through the connection that received them, as on NATS. */
  send(subject: string, data: Uint8Array, headers: Record<string, string> | undefined, reply: string | undefined): number {
    if (this.state === "closed") throw closedError();
    const tokens = publishTokens(subject);
    const hdrs = normalizeHeaders(headers) ?? NO_HEADERS;
    if (data.byteLength > this.broker.maxPayload) {
      throw new BusError("payload_too_large", `payload of ${data.byteLength} bytes exceeds the bus maximum of ${this.broker.maxPayload}`);
    }
    // Copied once so a publisher reusing its buffer cannot change a message in flight (NATS copies too).
    return this.broker.route(tokens, { subject, data: new Uint8Array(data), headers: hdrs, reply });
  }

  private ensureInbox(): void {
    if (this.inbox !== undefined) return;
    const subject = `${this.inboxPrefix}*`;
    this.inbox = new MemorySubscription(this, subject, filterTokens(subject), undefined, (msg) => {
      const token = msg.subject.slice(this.inboxPrefix.length);
      this.settle(token)?.resolve(msg);
    });
    this.subs.add(this.inbox);
    this.broker.add(this.inbox);
  }

  private settle(token: string): PendingRequest | undefined {
    const p = this.pending.get(token);
    if (p === undefined) return undefined;
    this.pending.delete(token);
    clearTimeout(p.timer);
    return p;
  }

  private async drainAndClose(): Promise<void> {
    if (this.state !== "open") return;
    this.state = "draining";
    // Like a NATS drain: stop matching new messages, hand what was already routed to the handlers
    // (which may still publish, e.g. respond), then close.
    for (const sub of this.subs) this.broker.remove(sub);
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
      });
      this.drained = undefined;
    }
    this.state = "closed";
    for (const sub of this.subs) sub.active = false;
    this.subs.clear();
    for (const token of [...this.pending.keys()]) this.settle(token)?.reject(closedError());
  }
}

class MemoryMessage implements BusMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: ReadonlyMap<string, string>;
  readonly reply?: string;

  constructor(
    private readonly bus: MemoryBus,
    env: Envelope,
  ) {
    this.subject = env.subject;
    this.data = env.data;
    this.headers = env.headers;
    if (env.reply !== undefined) this.reply = env.reply;
  }

  respond(data: Uint8Array, headers?: Record<string, string>): boolean {
    if (this.reply === undefined) return false;
    this.bus.send(this.reply, data, headers, undefined);
    return true;
  }
}

function closedError(): BusError {
  return new BusError("closed", "the bus connection is closed");
}
