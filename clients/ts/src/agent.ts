// A registered agent process: its account and session, heartbeats, and an inbox whose messages go through the
// guardrails to your handler and come back as batched acks. The session is registered again when the server
// evicted it; the inbox reconnects by itself and resumes without loss.
import type { JsonObject, MessageInitShape } from "@bufbuild/protobuf";
import type { Envelope, SubscribeStarted } from "@agentnet/gen/agentnet/v1/messaging_pb.js";
import { Visibility, type Profile } from "@agentnet/gen/agentnet/v1/common_pb.js";
import type { RegisterRequestSchema, RegisterResponse } from "@agentnet/gen/agentnet/v1/registry_pb.js";
import { AckBatcher } from "./ack-batcher.js";
import { Actor, type ReplyOptions } from "./actor.js";
import { Backoff, type BackoffOptions, sleep } from "./backoff.js";
import { ClosedError, type AgentnetError, isTransient, toAgentnetError } from "./errors.js";
import { GuardedHandler, type OutcomeEvent } from "./guarded-handler.js";
import { DEFAULT_GUARDRAILS, type Guardrails } from "./guardrails.js";
import { HeartbeatLoop } from "./heartbeat.js";
import { InboxLoop } from "./inbox.js";
import { Listeners } from "./listeners.js";
import { MessageView } from "./message.js";
import type { Services } from "./services.js";
import type { StreamWriter } from "./streaming.js";

type RegisterInit = MessageInitShape<typeof RegisterRequestSchema>;

export interface RegisterOptions {
  /** Desired username (normalised by the server); default derived from agentId. */
  username?: string;
  /** Logical role label; default the username. */
  agentId?: string;
  displayName?: string;
  capabilities?: string[];
  metadata?: JsonObject;
  bio?: string;
  visibility?: "public" | "private";
  /** Raw 32-byte Ed25519 public key to bind to the account. */
  publicKey?: Uint8Array;
  /** About this process (host, version …), kept on the session. */
  sessionMetadata?: JsonObject;
}

export interface AgentOptions {
  /** Overrides of the seed's handler guardrails. */
  guardrails?: Partial<Guardrails>;
  /** Reconnect backoff of the inbox stream (default 250 ms doubling up to 10 s, with jitter). */
  backoff?: BackoffOptions;
  /** Most unacked messages the server pushes at once (default the server's, 100). */
  maxInFlight?: number;
  /** Reopen an inbox stream silent for this long (default 75 s). */
  idleTimeoutMs?: number;
  /** How long close() waits for running handlers (default 5 s). */
  drainTimeoutMs?: number;
}

/** A received message, with the ways to answer it. `signal` aborts when the work timeout passes. */
export class IncomingMessage extends MessageView {
  constructor(
    private readonly agent: Agent,
    envelope: Envelope,
    readonly signal: AbortSignal,
  ) {
    super(envelope);
  }
  reply(payload: JsonObject, o?: ReplyOptions) {
    return this.agent.reply(this, payload, o);
  }
  replyText(text: string, o?: ReplyOptions) {
    return this.agent.replyText(this, text, o);
  }
  replyError(code: string, detail = "", o?: ReplyOptions) {
    return this.agent.replyError(this, code, detail, o);
  }
  /** A streamed answer: parts go to the sender in this thread, with this message as parent. */
  stream(o: { ttlMs?: number } = {}): StreamWriter {
    return this.agent.streamReply(this, o);
  }
}

export type MessageHandler = (message: IncomingMessage) => unknown;

export interface AgentEvents {
  /** The inbox stream opened (`reconnect` true after the first time). */
  started: (started: SubscribeStarted, reconnect: boolean) => void;
  /** The inbox stream dropped; it is reopened after a backoff. */
  disconnected: (err: AgentnetError | undefined) => void;
  /** A message was decided: acked processed or rejected. */
  outcome: (event: OutcomeEvent) => void;
  /** The session was evicted and registered again (new session tag). */
  reregistered: (sessionTag: string) => void;
  /** Something the agent cannot fix by itself (revoked credentials, acks that could not be delivered …). */
  error: (err: unknown) => void;
}

export class Agent extends Actor {
  private registration: RegisterResponse;
  private readonly heartbeat: HeartbeatLoop;
  private readonly acks: AckBatcher;
  private readonly listeners = new Listeners<AgentEvents>();
  private readonly guardrails: Guardrails;
  private guard: GuardedHandler | undefined;
  private inbox: InboxLoop | undefined;
  private reregistering: Promise<void> | undefined;
  private firstStart: Promise<void> | undefined;
  private resolveFirstStart: () => void = () => undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Requests being handled that were answered with Reply (which marks them processed). */
  private readonly answered = new Set<string>();

  /**
   * Registers the process (Register) and starts heartbeats. Use AgentnetClient.register. Waits (bounded) for the
   * connection first, and retries transient failures: a busy or restarting gateway is not a reason to give up.
   */
  static async register(services: Services, o: RegisterOptions, options: AgentOptions = {}, onClose?: (a: Agent) => void): Promise<Agent> {
    const request = registerRequest(o);
    const res = await registerWithRetries(services, request);
    return new Agent(services, request, res, options, onClose);
  }

  private constructor(
    services: Services,
    private readonly registerInit: RegisterInit,
    registration: RegisterResponse,
    private readonly agentOptions: AgentOptions,
    private readonly onClose?: (a: Agent) => void,
  ) {
    super(services);
    this.registration = registration;
    this.guardrails = { ...DEFAULT_GUARDRAILS, ...agentOptions.guardrails };
    this.acks = new AckBatcher(
      services.messaging,
      () => this.sessionTag,
      (err) => this.listeners.emit("error", toAgentnetError(err)),
    );
    this.heartbeat = new HeartbeatLoop(
      services.registry,
      () => this.sessionTag,
      registration.heartbeatInterval * 1000,
      () => this.reregister(),
    );
    this.heartbeat.start();
  }

  get accountId(): string {
    return this.registration.accountId;
  }
  get username(): string {
    return this.registration.username;
  }
  override get sessionTag(): string {
    return this.registration.sessionTag;
  }
  get profile(): Profile | undefined {
    return this.registration.profile;
  }
  /** Seconds between heartbeats, as the server asked. */
  get heartbeatInterval(): number {
    return this.registration.heartbeatInterval;
  }
  /** Handlers running, messages waiting, circuit state. */
  get load(): { running: number; pending: number; circuit: string } {
    return { running: this.guard?.running ?? 0, pending: this.guard?.pending ?? 0, circuit: this.guard?.circuit ?? "closed" };
  }

  on<E extends keyof AgentEvents>(event: E, listener: AgentEvents[E]): () => void {
    return this.listeners.on(event, listener);
  }

  /**
   * Handles the inbox with `handler`, inside the guardrails: returning means processed, throwing `Reject` rejects
   * with its code, any other error rejects `handler_error`. Opens the inbox stream; call once.
   */
  onMessage(handler: MessageHandler): this {
    if (this.closed) throw new ClosedError("agent is closed");
    if (this.guard) throw new Error("onMessage was already called: one handler per agent");
    this.guard = new GuardedHandler(
      (view, signal) => {
        const incoming = new IncomingMessage(this, view.envelope, signal);
        incoming.traceContext = view.traceContext;
        return handler(incoming);
      },
      this.guardrails,
      (event) => {
        // A request the handler answered with Reply is already PROCESSED on the server: no Ack needed for it.
        const answered = this.answered.delete(event.message.messageId);
        if (!(answered && event.outcome.outcome === "processed"))
          this.acks.add(event.message.messageId, event.outcome, event.message.traceContext);
        this.listeners.emit("outcome", event);
      },
    );
    this.firstStart = new Promise((r) => (this.resolveFirstStart = r));
    const guard = this.guard;
    this.inbox = new InboxLoop({
      messaging: this.services.messaging,
      target: () => ({ accountId: this.accountId, sessionTag: this.sessionTag }),
      onMessage: (envelope) => guard.offer(new MessageView(envelope)),
      onStarted: (started, reconnect) => {
        this.resolveFirstStart();
        this.listeners.emit("started", started, reconnect);
      },
      onDisconnected: (err) => this.listeners.emit("disconnected", err),
      onSessionLost: () => this.reregister(),
      onFatal: (err) => this.listeners.emit("error", err),
      backoff: this.agentOptions.backoff,
      maxInFlight: this.agentOptions.maxInFlight,
      idleTimeoutMs: this.agentOptions.idleTimeoutMs,
    });
    this.inbox.start();
    return this;
  }

  override async reply(
    to: MessageView | string,
    payload: JsonObject,
    o: ReplyOptions = {},
  ): Promise<{ messageId: string; threadId: string }> {
    const res = await super.reply(to, payload, o);
    const id = typeof to === "string" ? to : to.isRequest ? to.messageId : undefined;
    if (id !== undefined && this.guard?.isHandling(id)) this.answered.add(id);
    return res;
  }

  /** Resolves once the inbox stream has opened for the first time (after onMessage). */
  ready(): Promise<void> {
    return this.firstStart ?? Promise.reject(new Error("call onMessage first"));
  }

  /** Stops the inbox, lets running handlers finish, sends the last acks and ends the session (Deregister). */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    this.heartbeat.stop();
    await this.inbox?.close();
    await this.guard?.close(this.agentOptions.drainTimeoutMs ?? 5_000);
    await this.acks.flush();
    await this.services.registry.deregister({ sessionTag: this.sessionTag }, { timeoutMs: 5_000 }).catch(() => undefined);
    this.onClose?.(this);
  }

  /** Registers again after the server evicted the session: same account, new session. One at a time. */
  private reregister(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.reregistering ??= (async () => {
      try {
        this.registration = await registerWithRetries(this.services, this.registerInit);
        this.heartbeat.setInterval(this.registration.heartbeatInterval * 1000);
        this.listeners.emit("reregistered", this.sessionTag);
      } finally {
        this.reregistering = undefined;
      }
    })();
    return this.reregistering;
  }
}

/** Attempts after the first for Register: enough to ride out a gateway busy with many handshakes, or restarting. */
export const REGISTER_RETRIES = 4;

// When only the answer was lost, a retry opens a second session on the same account; nothing heartbeats it, so the
// server evicts it after ttl_seconds. A connect_timeout is not retried: the bounded wait for a connection already was.
async function registerWithRetries(services: Services, request: RegisterInit): Promise<RegisterResponse> {
  const backoff = new Backoff({ initialMs: 100, maxMs: 2_000 });
  for (let attempt = 0; ; attempt++) {
    try {
      await services.waitReady();
      return await services.registry.register(request);
    } catch (err) {
      const e = toAgentnetError(err);
      if (attempt >= REGISTER_RETRIES || e.reason === "connect_timeout" || !isTransient(e)) throw e;
      await sleep(backoff.next());
    }
  }
}

function registerRequest(o: RegisterOptions): RegisterInit {
  const agentId = o.agentId ?? o.username;
  if (!agentId) throw new TypeError("register needs a username or an agentId");
  return {
    agentId,
    username: o.username,
    displayName: o.displayName ?? "",
    capabilities: o.capabilities ?? [],
    metadata: o.metadata,
    bio: o.bio ?? "",
    visibility: o.visibility === "private" ? Visibility.PRIVATE : o.visibility === "public" ? Visibility.PUBLIC : Visibility.UNSPECIFIED,
    publicKey: o.publicKey,
    sessionMetadata: o.sessionMetadata,
  };
}
