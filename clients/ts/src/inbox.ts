// Keeps one CONSUME Subscribe stream open for an agent: reconnects with exponential backoff and jitter whenever it
// drops (gateway restart, network), and treats a stream silent for longer than the keepalive period as dead. Nothing
// is lost across a reconnect: the server pushes every unacked message again on the next Subscribe.
import { Code, type Client } from "@connectrpc/connect";
import type { Envelope, MessagingService, SubscribeStarted } from "@agentnet/gen/agentnet/v1/messaging_pb.js";
import { Backoff, type BackoffOptions, sleep } from "./backoff.js";
import { toAgentnetError, type AgentnetError } from "./errors.js";

export interface InboxOptions {
  messaging: Client<typeof MessagingService>;
  /** The account and session to subscribe as; read at each (re)connect, since a re-registration changes the session. */
  target: () => { accountId: string; sessionTag: string };
  onMessage: (envelope: Envelope) => void;
  onStarted: (started: SubscribeStarted, reconnect: boolean) => void;
  onDisconnected: (err: AgentnetError | undefined) => void;
  /** The session is gone (evicted): register again before the next attempt. */
  onSessionLost: () => Promise<void>;
  /** A failure retrying cannot fix (credentials revoked, account no longer owned): the loop stops. */
  onFatal: (err: AgentnetError) => void;
  backoff?: BackoffOptions;
  /** Server pushes at most this many unacked messages at once (default: the server's, 100). */
  maxInFlight?: number;
  /** A stream silent for this long is reopened; default 75,000 ms (servers send keepalives every 30 s). */
  idleTimeoutMs?: number;
}

const FATAL = new Set([Code.Unauthenticated, Code.PermissionDenied, Code.InvalidArgument]);

export class InboxLoop {
  private readonly stop = new AbortController();
  private running: Promise<void> | undefined;
  private opened = 0;

  constructor(private readonly o: InboxOptions) {}

  start(): void {
    this.running ??= this.loop();
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    const backoff = new Backoff(this.o.backoff);
    while (!this.stop.signal.aborted) {
      const attempt = new AbortController();
      const onStop = () => attempt.abort();
      this.stop.signal.addEventListener("abort", onStop, { once: true });
      let idle: ReturnType<typeof setTimeout> | undefined;
      const touch = () => {
        clearTimeout(idle);
        idle = setTimeout(() => attempt.abort(new Error("stream idle")), this.o.idleTimeoutMs ?? 75_000);
      };
      let failure: AgentnetError | undefined;
      try {
        const { accountId, sessionTag } = this.o.target();
        touch();
        const stream = this.o.messaging.subscribe(
          { asAccountId: accountId, sessionTag, maxInFlight: this.o.maxInFlight },
          { signal: attempt.signal },
        );
        for await (const item of stream) {
          touch();
          if (item.event.case === "started") {
            backoff.reset();
            this.o.onStarted(item.event.value, this.opened++ > 0);
          } else if (item.event.case === "message") this.o.onMessage(item.event.value);
        }
      } catch (err) {
        if (!this.stop.signal.aborted) failure = toAgentnetError(err);
      } finally {
        clearTimeout(idle);
        this.stop.signal.removeEventListener("abort", onStop);
      }
      if (this.stop.signal.aborted) return;
      this.o.onDisconnected(failure);
      if (failure?.reason === "session_not_found") {
        try {
          await this.o.onSessionLost();
          continue;
        } catch (err) {
          failure = toAgentnetError(err);
        }
      }
      if (failure && FATAL.has(failure.code)) return this.o.onFatal(failure);
      await sleep(backoff.next(), this.stop.signal);
    }
  }
}
