/**
 * The only error type the bus throws for conditions callers are expected to handle. The server maps
 * the codes onto RPC status codes (no_responders → UNAVAILABLE, timeout → DEADLINE_EXCEEDED, …); the bus
 * itself knows nothing of Connect.
 */
export type BusErrorCode = "no_responders" | "timeout" | "closed" | "invalid_subject" | "invalid_header" | "payload_too_large";

export class BusError extends Error {
  override readonly name = "BusError";

  constructor(
    readonly code: BusErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function isBusError(err: unknown, code?: BusErrorCode): err is BusError {
  return err instanceof BusError && (code === undefined || err.code === code);
}
