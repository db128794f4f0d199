import { create } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  BadRequestSchema,
  BadRequest_FieldViolationSchema,
  ErrorInfoSchema,
  RetryInfoSchema,
} from "../../gen/google/rpc/error_details_pb.js";
import { BusError } from "../bus/index.js";
import { DomainError, type ErrorKind } from "../errors.js";
import { isUnavailable } from "../store/errors.js";

/** How long a client should wait before retrying a call that failed because the database was unreachable. */
export const DATABASE_RETRY_AFTER_MS = 1000;

/** The ErrorInfo domain of every reason agentnet sends. */
export const ERROR_DOMAIN = "agentnet.dev";

const codes: Record<ErrorKind, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  permission_denied: Code.PermissionDenied,
  unauthenticated: Code.Unauthenticated,
  failed_precondition: Code.FailedPrecondition,
  resource_exhausted: Code.ResourceExhausted,
  unavailable: Code.Unavailable,
  deadline_exceeded: Code.DeadlineExceeded,
  unimplemented: Code.Unimplemented,
};

/**
 * Turns anything a handler threw into the ConnectError the client sees. Domain and bus errors keep their
 * reason; a ConnectError passes through; anything else is a bug and becomes INTERNAL without its message
 * (which could leak internals) — the caller of this logs it. A database that cannot be reached (restarting,
 * down, out of connections) is not a bug: UNAVAILABLE `database_unavailable` with RetryInfo. The write may or may
 * not have happened, so a retry must be idempotent (Send with the same message_id is).
 */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof DomainError) return fromDomainError(err);
  if (err instanceof BusError) return fromBusError(err);
  if (isUnavailable(err)) return databaseUnavailable(err);
  return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
}

/** UNAVAILABLE `database_unavailable`: the database could not be reached; retry after about a second. */
export function databaseUnavailable(cause?: unknown): ConnectError {
  return fromDomainError(
    new DomainError("unavailable", "database_unavailable", "the database is unavailable right now; retry", {
      retryAfterMs: DATABASE_RETRY_AFTER_MS,
      cause,
    }),
  );
}

export function fromDomainError(err: DomainError): ConnectError {
  const details: OutgoingDetail[] = [
    {
      desc: ErrorInfoSchema,
      value: {
        reason: err.reason,
        domain: ERROR_DOMAIN,
        metadata: err.field === undefined ? err.metadata : { ...err.metadata, field: err.field },
      },
    },
  ];
  if (err.field !== undefined) {
    details.push({
      desc: BadRequestSchema,
      value: { fieldViolations: [create(BadRequest_FieldViolationSchema, { field: err.field, description: err.message })] },
    });
  }
  if (err.retryAfterMs !== undefined) {
    details.push({ desc: RetryInfoSchema, value: { retryDelay: durationFromMs(err.retryAfterMs) } });
  }
  return new ConnectError(err.message, codes[err.kind], undefined, details, err);
}

function fromBusError(err: BusError): ConnectError {
  switch (err.code) {
    case "no_responders":
      return fromDomainError(new DomainError("unavailable", "no_responders", "nobody is listening for this request right now"));
    case "timeout":
      return fromDomainError(new DomainError("deadline_exceeded", "timeout", "no reply arrived in time"));
    case "closed":
      return fromDomainError(new DomainError("unavailable", "shutting_down", "the gateway is shutting down; retry"));
    default:
      return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
  }
}

type OutgoingDetail = Extract<ConnectError["details"][number], { desc: unknown }>;

function durationFromMs(ms: number) {
  const whole = Math.max(0, Math.ceil(ms));
  return create(DurationSchema, { seconds: BigInt(Math.floor(whole / 1000)), nanos: (whole % 1000) * 1_000_000 });
}

/** The machine-readable reason of an error, if it carries one (for logs and tests). */
export function reasonOf(err: ConnectError): string | undefined {
  return err.findDetails(ErrorInfoSchema)[0]?.reason;
}
