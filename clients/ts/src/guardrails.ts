// The seed's handler guardrails (AgentNode defaults), all overridable per agent.

export interface Guardrails {
  /** Handlers running at once; default 4. */
  maxConcurrency: number;
  /** Messages waiting for a free handler slot; beyond that they are rejected `busy`. Default 100. */
  maxPending: number;
  /** A handler still running after this is abandoned and its message rejected `timeout`; default 30,000 ms. */
  workTimeoutMs: number;
  /** Consecutive failures (errors, timeouts) that open the circuit; default 5. */
  circuitBreakerFailures: number;
  /** How long the circuit stays open before a trial message; default 15,000 ms. */
  circuitBreakerResetMs: number;
  /** How long message ids are remembered to absorb redeliveries; default 600,000 ms. */
  dedupeTtlMs: number;
  /** Most message ids remembered (oldest forgotten first beyond it); default 100,000. */
  dedupeMaxEntries?: number;
  /**
   * Optional per-sender rate limit on the receiving side (the seed's rate_limit_per_sender_per_sec = 5, burst 10),
   * rejecting `rate_limited`. Off by default: the server already limits each sender, and a backlog flushed after a
   * reconnect would otherwise arrive as a burst and be refused.
   */
  perSenderRate?: { perSecond: number; burst: number };
}

export const DEFAULT_GUARDRAILS: Guardrails = {
  maxConcurrency: 4,
  maxPending: 100,
  workTimeoutMs: 30_000,
  circuitBreakerFailures: 5,
  circuitBreakerResetMs: 15_000,
  dedupeTtlMs: 600_000,
};

/** The rejection codes the guardrails use (AckItem.code), as the seed names them. */
export const REJECTION = {
  busy: "busy",
  timeout: "timeout",
  duplicate: "duplicate",
  expired: "expired",
  circuitOpen: "circuit_open",
  handlerError: "handler_error",
  rateLimited: "rate_limited",
  invalidPayload: "invalid_payload",
} as const;

/** Throw this from a handler to reject a message with your own code (it does not count as a failure). */
export class Reject extends Error {
  override name = "Reject";
  constructor(
    readonly code: string,
    readonly detail = "",
  ) {
    super(detail ? `${code}: ${detail}` : code);
  }
}
