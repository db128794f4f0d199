/**
 * The message bus as the rest of agentnet sees it: core NATS semantics (subjects with `*` and `>`
 * wildcards, queue groups, request/reply) with no NATS types in the signatures, so the in-process bus
 * and the NATS bus are interchangeable. Delivery is at-most-once; anything that must survive a crash goes
 * to the store first.
 */

export interface BusMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Header names are case-insensitive on the bus and are always presented lower-case. */
  readonly headers: ReadonlyMap<string, string>;
  /** Set when the sender expects an answer (see {@link Bus.request}). */
  readonly reply?: string;
  /**
   * Publishes an answer to {@link reply}. Returns false (and sends nothing) when the message carries no
   * reply subject. Throws a BusError like {@link Bus.publish}.
   */
  respond(data: Uint8Array, headers?: Record<string, string>): boolean;
}

/**
 * A handler runs once per message, in the order the subscription received them. A thrown error or a
 * rejected promise is logged and does not stop the subscription; the bus does not wait for a returned
 * promise before delivering the next message.
 */
export type BusHandler = (msg: BusMessage) => void | Promise<void>;

export interface BusSubscription {
  readonly subject: string;
  readonly queue?: string;
  /** Stops delivery; messages not yet handed to the handler are dropped. Idempotent. */
  unsubscribe(): void;
}

export interface PublishOptions {
  headers?: Record<string, string>;
}

export interface SubscribeOptions {
  /** Members of one queue group share the messages: each goes to exactly one of them. */
  queue?: string;
}

export interface RequestOptions {
  timeoutMs: number;
  headers?: Record<string, string>;
}

/**
 * A change of the bus connection. While disconnected, messages published by anyone may be lost (the NATS client
 * does not keep what it could not send, and nothing is sent to a subscriber that was away): whoever relies on
 * live messages re-reads what matters from the store after `reconnected`.
 */
export type ConnectionEvent = "disconnected" | "reconnected";

export interface Bus {
  readonly kind: "nats" | "memory";
  /** Throws BusError invalid_subject | invalid_header | payload_too_large | closed. Never blocks. */
  publish(subject: string, data: Uint8Array, opts?: PublishOptions): void;
  /** Throws BusError invalid_subject | closed. */
  subscribe(subject: string, handler: BusHandler, opts?: SubscribeOptions): BusSubscription;
  /**
   * Resolves with the first answer. Rejects with BusError no_responders (nobody subscribes to the
   * subject: fails fast, without waiting for the timeout), timeout, closed, invalid_subject, ….
   */
  request(subject: string, data: Uint8Array, opts: RequestOptions): Promise<BusMessage>;
  /**
   * Calls `listener` on every change of the connection (subscriptions themselves survive a reconnect). Returns a
   * function that removes the listener. The in-process bus never disconnects.
   */
  onConnectionChange(listener: (event: ConnectionEvent) => void): () => void;
  /** Resolves when everything published so far has reached the server (memory: the next turn). */
  flush(): Promise<void>;
  /** Delivers what was already received to the handlers, then closes. Idempotent. */
  close(): Promise<void>;
}
