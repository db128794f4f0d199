// Errors raised by domain code. Domains know nothing of RPC types (DESIGN.md layers), so they throw these and
// src/server/errors.ts turns them into ConnectError with a google.rpc.ErrorInfo reason (and RetryInfo or a
// field violation when given). The kinds are the gRPC status codes a domain can mean.

export type ErrorKind =
  | "invalid_argument"
  | "not_found"
  | "already_exists"
  | "permission_denied"
  | "unauthenticated"
  | "failed_precondition"
  | "resource_exhausted"
  | "unavailable"
  | "deadline_exceeded"
  | "unimplemented";

export interface DomainErrorOptions {
  /** The request field at fault, for INVALID_ARGUMENT (becomes a BadRequest field violation). */
  field?: string;
  /** How long the caller should wait before retrying (becomes RetryInfo). */
  retryAfterMs?: number;
  /** Extra machine-readable facts for ErrorInfo.metadata (never secrets). */
  metadata?: Record<string, string>;
  cause?: unknown;
}

export class DomainError extends Error {
  override name = "DomainError";
  readonly field: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly metadata: Record<string, string>;

  constructor(
    readonly kind: ErrorKind,
    /** Machine-readable reason in snake_case, e.g. `username_taken`. */
    readonly reason: string,
    message: string,
    options: DomainErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.field = options.field;
    this.retryAfterMs = options.retryAfterMs;
    this.metadata = options.metadata ?? {};
  }
}

/** Shorthand for the most common refusal: a request field that is missing or malformed. */
export function invalidArgument(field: string, message: string, reason = "invalid_argument"): DomainError {
  return new DomainError("invalid_argument", reason, `${field}: ${message}`, { field });
}
