// Typed errors built from the server's google.rpc.ErrorInfo reasons. They extend ConnectError, so code written
// against plain Connect clients (`err instanceof ConnectError`, `err.code`, `findDetails`) keeps working, and add
// `reason` (the machine-readable word, e.g. "rate_limited"), `field` and `retryAfterMs`.
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from "@agentnet/gen/google/rpc/error_details_pb.js";

export { Code, ConnectError };

export class AgentnetError extends ConnectError {
  // ConnectError answers `instanceof` by shape (any ConnectError would pass as a RateLimitedError): these classes
  // use the prototype chain. `name` stays "ConnectError" so Connect itself still recognises them.
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(AgentnetError, value);
  }

  /** ErrorInfo reason in lower_snake_case ("rate_limited", "username_taken", …); for errors without one, the code's name. */
  readonly reason: string;
  /** ErrorInfo metadata (e.g. `code` and `detail` of a rejected request, `field`). */
  readonly info: Readonly<Record<string, string>>;
  /** The request field at fault, for INVALID_ARGUMENT. */
  readonly field: string | undefined;
  /** How long to wait before retrying, from google.rpc.RetryInfo. */
  readonly retryAfterMs: number | undefined;

  constructor(source: ConnectError) {
    super(source.rawMessage, source.code, source.metadata, undefined, source.cause);
    this.details = source.details;
    const info = source.findDetails(ErrorInfoSchema)[0];
    this.reason = info?.reason || defaultReason(source.code);
    this.info = { ...(info?.metadata ?? {}) };
    this.field = source.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field ?? this.info["field"];
    const delay = source.findDetails(RetryInfoSchema)[0]?.retryDelay;
    this.retryAfterMs = delay ? Number(delay.seconds) * 1000 + Math.round(delay.nanos / 1e6) : undefined;
  }
}

export class InvalidArgumentError extends AgentnetError {}
export class NotFoundError extends AgentnetError {}
export class AlreadyExistsError extends AgentnetError {}
export class PermissionDeniedError extends AgentnetError {}
export class UnauthenticatedError extends AgentnetError {}
/** RESOURCE_EXHAUSTED: wait `retryAfterMs` before trying again. */
export class RateLimitedError extends AgentnetError {}
/** DEADLINE_EXCEEDED: no answer in time (a Request without reply, or the call's own deadline). */
export class TimeoutError extends AgentnetError {}
/** FAILED_PRECONDITION `expired`: the message's TTL passed. */
export class ExpiredError extends AgentnetError {}
/** FAILED_PRECONDITION `rejected`: the recipient rejected the request; `code` and `detail` say why. */
export class RejectedError extends AgentnetError {
  get rejectionCode(): string {
    return this.info["code"] ?? "";
  }
  get rejectionDetail(): string {
    return this.info["detail"] ?? "";
  }
}
export class FailedPreconditionError extends AgentnetError {}
/** UNAVAILABLE `no_responders`: the recipient (or capability) has no live session. */
export class NoRespondersError extends AgentnetError {}
/** UNAVAILABLE for any other reason (network, restarting gateway): safe to retry. */
export class UnavailableError extends AgentnetError {}

/** Thrown by the SDK itself when a closed client or agent is used. */
export class ClosedError extends Error {
  override name = "ClosedError";
}

type ErrorClass = new (source: ConnectError) => AgentnetError;

const BY_REASON: Record<string, ErrorClass> = {
  rate_limited: RateLimitedError,
  timeout: TimeoutError,
  expired: ExpiredError,
  rejected: RejectedError,
  no_responders: NoRespondersError,
};

const BY_CODE: Partial<Record<Code, ErrorClass>> = {
  [Code.InvalidArgument]: InvalidArgumentError,
  [Code.OutOfRange]: InvalidArgumentError,
  [Code.NotFound]: NotFoundError,
  [Code.AlreadyExists]: AlreadyExistsError,
  [Code.PermissionDenied]: PermissionDeniedError,
  [Code.Unauthenticated]: UnauthenticatedError,
  [Code.ResourceExhausted]: RateLimitedError,
  [Code.DeadlineExceeded]: TimeoutError,
  [Code.FailedPrecondition]: FailedPreconditionError,
  [Code.Unavailable]: UnavailableError,
};

/** Turns anything a call threw into the matching AgentnetError (aborts stay ConnectError Canceled). */
export function toAgentnetError(err: unknown): AgentnetError {
  if (err instanceof AgentnetError) return err;
  const connect = ConnectError.from(err);
  const reason = connect.findDetails(ErrorInfoSchema)[0]?.reason ?? "";
  const Class = BY_REASON[reason] ?? BY_CODE[connect.code] ?? AgentnetError;
  return new Class(connect);
}

function defaultReason(code: Code): string {
  return (Code[code] ?? "unknown").replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`));
}

/**
 * isRetryable, plus CANCELED when the caller did not cancel: connect-node reports a connection lost mid-call (an
 * HTTP/2 stream reset, a gateway going away) as CANCELED, and such a call may never have reached the server.
 */
export function isTransient(err: unknown, signal?: AbortSignal): boolean {
  if (isRetryable(err)) return true;
  return toAgentnetError(err).code === Code.Canceled && signal?.aborted !== true;
}

/** Failures worth retrying with the same message id: the call may not have reached the server, or the server is restarting. */
export function isRetryable(err: unknown): boolean {
  const e = toAgentnetError(err);
  if (e.code === Code.Unavailable) return e.reason !== "no_responders";
  return e.code === Code.Aborted || (e.code === Code.Unknown && e.reason === "unknown") || e.code === Code.Internal;
}
