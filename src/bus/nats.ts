import {
  connect,
  errors,
  headers as natsHeaders,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type NodeConnectionOptions,
} from "@nats-io/transport-node";
import type { Logger } from "pino";
import type {
  Bus,
  BusHandler,
  BusMessage,
  BusSubscription,
  ConnectionEvent,
  PublishOptions,
  RequestOptions,
  SubscribeOptions,
} from "./bus.js";
import { BusError } from "./errors.js";
import { invokeHandler } from "./handler.js";
import { filterTokens, normalizeHeaders, publishTokens, validateQueue } from "./subjects.js";

export interface NatsBusOptions {
  /** Shown by the server's monitoring as the client name. */
  name: string;
  logger: Logger;
  /** First wait between reconnect attempts; doubles per failed attempt. Default 250 ms. */
  reconnectTimeWaitMs?: number;
  /** Ceiling of the doubling wait. Default 5 s. */
  reconnectMaxWaitMs?: number;
  /** Random extra wait per attempt, up to this fraction of the wait (0..1), so gateways don't stampede. Default 0.3. */
  reconnectJitter?: number;
  /** Handshake timeout per connection attempt. Default 5 s. */
  connectTimeoutMs?: number;
}

interface ParsedServers {
  servers: string[];
  /** For messages: the servers without user info. */
  display: string;
  auth: Pick<NodeConnectionOptions, "user" | "pass" | "token">;
}

/**
 * Accepts what NATS tools accept: `nats://host:port`, `host:port`, a comma-separated list, with optional
 * `user:pass@` or `token@`. Credentials are taken out of the URLs so they never appear in logs or errors.
 */
export function parseNatsUrl(natsUrl: string): ParsedServers {
  const servers: string[] = [];
  let auth: ParsedServers["auth"] = {};
  for (const raw of natsUrl
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)) {
    const withScheme = raw.includes("://") ? raw : `nats://${raw}`;
    let url: URL;
    try {
      url = new URL(withScheme);
    } catch {
      throw new Error(`invalid NATS URL ${JSON.stringify(redact(withScheme))}`);
    }
    if (url.username !== "" && auth.user === undefined && auth.token === undefined) {
      const user = decodeURIComponent(url.username);
      auth = url.password !== "" ? { user, pass: decodeURIComponent(url.password) } : { token: user };
    }
    servers.push(`${url.protocol}//${url.host}`);
  }
  if (servers.length === 0) throw new Error("NATS URL is empty");
  return { servers, display: servers.join(","), auth };
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//");
}

/**
 * Connects to NATS. The first connection must succeed (a gateway that cannot reach NATS at start should
 * fail loudly); after that the client reconnects forever, replaying its subscriptions, with exponential
 * backoff and jitter. Publishes made while disconnected are lost (nats-core discards its outbound buffer when it
 * reconnects): see {@link Bus.onConnectionChange}.
 */
export async function connectNatsBus(natsUrl: string, opts: NatsBusOptions): Promise<NatsBus> {
  const { servers, display, auth } = parseNatsUrl(natsUrl);
  const logger = opts.logger.child({ bus: "nats" });
  const backoff = new Backoff(opts.reconnectTimeWaitMs ?? 250, opts.reconnectMaxWaitMs ?? 5_000, opts.reconnectJitter ?? 0.3);
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      ...auth,
      name: opts.name,
      reconnect: true,
      maxReconnectAttempts: -1,
      timeout: opts.connectTimeoutMs ?? 5_000,
      // The client asks for the wait before every look at the server pool and counts no attempts, so
      // the attempt count comes from the hook that runs right before each dial.
      reconnectDelayHandler: () => backoff.current(),
      reconnectToServer: () => {
        backoff.attempted();
        return null;
      },
    });
  } catch (err) {
    throw new Error(`cannot connect to NATS at ${display}: ${describe(err)}`, { cause: err });
  }
  backoff.reset();
  logger.info({ servers: display, server: nc.getServer() }, "connected to NATS");
  return new NatsBus(nc, logger, backoff, display);
}

/** Wait before the next reconnect: base · 2^(failed attempts), capped, plus jitter fixed per attempt. */
class Backoff {
  private attempts = 0;
  private wait: number;

  constructor(
    private readonly base: number,
    private readonly max: number,
    private readonly jitter: number,
  ) {
    this.wait = base;
  }

  current(): number {
    return this.wait;
  }

  attempted(): void {
    this.attempts++;
    const exp = Math.min(this.max, this.base * 2 ** Math.min(this.attempts - 1, 30));
    this.wait = Math.round(exp * (1 + Math.random() * this.jitter));
  }

  reset(): void {
    this.attempts = 0;
    this.wait = this.base;
  }
}

export class NatsBus implements Bus {
  readonly kind = "nats" as const;
  private closing: Promise<void> | undefined;
  private connected = true;
  private readonly statusLoop: Promise<void>;
  private readonly connectionListeners = new Set<(event: ConnectionEvent) => void>();
  /** Published and not yet handed to the client (see sendOutgoing). */
  private outgoing: Array<{ subject: string; data: Uint8Array; headers: MsgHdrs | undefined }> = [];

  /** @internal use {@link connectNatsBus} */
  constructor(
    private readonly nc: NatsConnection,
    private readonly logger: Logger,
    backoff: Backoff,
    private readonly servers: string,
  ) {
    this.statusLoop = this.watchStatus(backoff);
  }

  publish(subject: string, data: Uint8Array, opts?: PublishOptions): void {
    publishTokens(subject);
    const hdrs = toNatsHeaders(opts?.headers);
    // Refused now, as the client would: the caller hears it rather than a log line later.
    if (this.nc.isClosed() || this.nc.isDraining()) throw new BusError("closed", "the bus connection is closed");
    const max = this.nc.info?.max_payload;
    if (max !== undefined && data.length > max) {
      throw new BusError("payload_too_large", `payload exceeds the NATS server's max_payload`);
    }
    // Copied: the caller may reuse the buffer right after publish().
    this.outgoing.push({ subject, data: new Uint8Array(data), headers: hdrs });
    if (this.outgoing.length === 1) setImmediate(this.sendOutgoing);
  }

  /**
   * Hands what was published during this turn of the event loop to the client in one go, so it leaves in one
   * socket write: the client writes once per microtask burst, and a flush's results resume their callers in many
   * (each socket write wakes nats-server and costs a system call, dearer on these machines than the bytes).
   * Everything that sends on the connection in order with earlier publishes (subscribe, request, flush, close)
   * sends them first.
   */
  private readonly sendOutgoing = (): void => {
    const batch = this.outgoing;
    if (batch.length === 0) return;
    this.outgoing = [];
    for (const { subject, data, headers } of batch) {
      try {
        this.nc.publish(subject, data, headers === undefined ? undefined : { headers });
      } catch (err) {
        // Closed between publish() and now (a shutdown): nothing the publisher could still act on.
        this.logger.debug({ err: toBusError(err, subject), subject }, "dropped a publish: the bus connection closed");
      }
    }
  };

  subscribe(subject: string, handler: BusHandler, opts?: SubscribeOptions): BusSubscription {
    filterTokens(subject);
    validateQueue(opts?.queue);
    const queue = opts?.queue;
    this.sendOutgoing();
    try {
      const sub = this.nc.subscribe(subject, {
        ...(queue === undefined ? {} : { queue }),
        callback: (err, msg) => {
          if (err !== null) {
            this.logger.error({ err, subscription: subject }, "subscription error");
            return;
          }
          invokeHandler(handler, new NatsMessage(this, msg), subject, this.logger);
        },
      });
      return {
        subject,
        ...(queue === undefined ? {} : { queue }),
        unsubscribe: () => {
          if (!sub.isClosed()) {
            try {
              sub.unsubscribe();
            } catch {
              // The connection is closed or draining: the subscription is gone either way.
            }
          }
        },
      };
    } catch (err) {
      throw toBusError(err, subject);
    }
  }

  async request(subject: string, data: Uint8Array, opts: RequestOptions): Promise<BusMessage> {
    publishTokens(subject);
    if (!(opts.timeoutMs > 0) || !Number.isFinite(opts.timeoutMs)) {
      throw new RangeError(`request timeoutMs must be a positive number, got ${opts.timeoutMs}`);
    }
    const hdrs = toNatsHeaders(opts.headers);
    this.sendOutgoing();
    try {
      const msg = await this.nc.request(subject, new Uint8Array(data), {
        timeout: Math.max(1, Math.round(opts.timeoutMs)),
        ...(hdrs === undefined ? {} : { headers: hdrs }),
      });
      return new NatsMessage(this, msg);
    } catch (err) {
      throw toBusError(err, subject, opts.timeoutMs);
    }
  }

  onConnectionChange(listener: (event: ConnectionEvent) => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  private announce(event: ConnectionEvent): void {
    for (const listener of this.connectionListeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger.error({ err, event }, "bus connection listener failed");
      }
    }
  }

  async flush(): Promise<void> {
    this.sendOutgoing();
    try {
      await this.nc.flush();
    } catch (err) {
      throw toBusError(err, "");
    }
  }

  close(): Promise<void> {
    this.closing ??= this.drain();
    return this.closing;
  }

  private async drain(): Promise<void> {
    this.sendOutgoing();
    if (!this.nc.isClosed() && !this.connected) {
      this.logger.warn("closing while disconnected from NATS: messages not yet sent are dropped");
    } else if (!this.nc.isClosed()) {
      // A drain needs the server; while it is unreachable, give up after a bound so shutdown stays quick.
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), DRAIN_TIMEOUT_MS);
      });
      try {
        if ((await Promise.race([this.nc.drain(), bound])) === "timeout") {
          this.logger.warn({ timeoutMs: DRAIN_TIMEOUT_MS }, "NATS drain timed out; closing");
        }
      } catch (err) {
        this.logger.warn({ err }, "NATS drain failed; closing");
      } finally {
        clearTimeout(timer);
      }
    }
    await this.nc.close().catch(() => undefined);
    await this.statusLoop;
  }

  /** @internal */
  respond(msg: Msg, data: Uint8Array, headers: Record<string, string> | undefined): boolean {
    if (msg.reply === undefined || msg.reply === "") return false;
    this.publish(msg.reply, data, headers === undefined ? undefined : { headers });
    return true;
  }

  private async watchStatus(backoff: Backoff): Promise<void> {
    const log = this.logger;
    for await (const s of this.nc.status()) {
      switch (s.type) {
        case "disconnect":
          this.connected = false;
          log.warn({ server: s.server }, "disconnected from NATS; reconnecting");
          this.announce("disconnected");
          break;
        case "reconnecting":
          log.debug({ nextWaitMs: backoff.current() }, "reconnecting to NATS");
          break;
        case "reconnect":
          this.connected = true;
          backoff.reset();
          // Warn: what was published during the gap is gone; listeners re-read the store.
          log.warn({ server: s.server }, "reconnected to NATS");
          this.announce("reconnected");
          break;
        case "error":
          log.error({ err: s.error }, "NATS error");
          break;
        case "ldm":
          log.warn({ server: s.server }, "NATS server entering lame duck mode");
          break;
        case "staleConnection":
          log.warn("NATS connection is stale; reconnecting");
          break;
        case "forceReconnect":
          log.info("forced NATS reconnect");
          break;
        case "slowConsumer":
          log.warn({ subject: s.sub.getSubject(), pending: s.pending }, "slow NATS consumer");
          break;
        case "update":
          log.debug({ added: s.added, deleted: s.deleted }, "NATS cluster update");
          break;
        case "close":
          log.info({ servers: this.servers }, "NATS connection closed");
          break;
        case "ping":
          break;
      }
    }
  }
}

class NatsMessage implements BusMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: ReadonlyMap<string, string>;
  readonly reply?: string;

  constructor(
    private readonly bus: NatsBus,
    private readonly msg: Msg,
  ) {
    this.subject = msg.subject;
    this.data = msg.data;
    this.headers = fromNatsHeaders(msg.headers);
    if (msg.reply !== undefined && msg.reply !== "") this.reply = msg.reply;
  }

  respond(data: Uint8Array, headers?: Record<string, string>): boolean {
    return this.bus.respond(this.msg, data, headers);
  }
}

const NO_HEADERS: ReadonlyMap<string, string> = new Map();
const DRAIN_TIMEOUT_MS = 2_000;

function toNatsHeaders(headers: Record<string, string> | undefined): MsgHdrs | undefined {
  const normalized = normalizeHeaders(headers);
  if (normalized === undefined) return undefined;
  const h = natsHeaders();
  for (const [k, v] of normalized) h.set(k, v);
  return h;
}

function fromNatsHeaders(h: MsgHdrs | undefined): ReadonlyMap<string, string> {
  if (h === undefined) return NO_HEADERS;
  const out = new Map<string, string>();
  for (const [k, values] of h) {
    const key = k.toLowerCase();
    if (!out.has(key) && values[0] !== undefined) out.set(key, values[0]);
  }
  return out.size === 0 ? NO_HEADERS : out;
}

function toBusError(err: unknown, subject: string, timeoutMs?: number): unknown {
  if (err instanceof BusError) return err;
  if (err instanceof errors.ClosedConnectionError || err instanceof errors.DrainingConnectionError) {
    return new BusError("closed", "the bus connection is closed", { cause: err });
  }
  if (err instanceof errors.NoRespondersError || (err instanceof errors.RequestError && err.isNoResponders())) {
    return new BusError("no_responders", `no responders for ${subject}`, { cause: err });
  }
  if (err instanceof errors.TimeoutError || (err instanceof Error && err.cause instanceof errors.TimeoutError)) {
    return new BusError("timeout", `request to ${subject} timed out after ${timeoutMs ?? "?"} ms`, { cause: err });
  }
  if (err instanceof errors.InvalidSubjectError) {
    return new BusError("invalid_subject", err.message, { cause: err });
  }
  if (err instanceof errors.InvalidArgumentError && /max_payload/.test(err.message)) {
    return new BusError("payload_too_large", `payload exceeds the NATS server's max_payload`, { cause: err });
  }
  return err;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
    return `${err.message}${code !== undefined ? ` (${code})` : ""}${cause}`;
  }
  return String(err);
}
