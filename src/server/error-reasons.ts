import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { ERROR_DOMAIN } from "./errors.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";

// The contract promises a google.rpc.ErrorInfo with a lower_snake reason on every non-OK answer. Errors from our
// handlers get one in errorInterceptor, but the framework answers some requests before any interceptor runs: a
// body it cannot parse, an unknown JSON field or enum name, a bad timeout header, a message over the size limit.
// Its handlers (Connect, gRPC, gRPC-Web alike) hand every error to the call context's abort() just before writing
// it, so a listener there is the one place that sees them all. It also corrects one classification: connect-es
// reports an unparseable binary body as INTERNAL "parse binary: …", though the fault is the client's.

/** A Connect `requestGate` that gives every error of the call a reason before it is written. */
export function errorReasonGate(context: HandlerContext): void {
  const signal = context.signal;
  signal.addEventListener("abort", () => giveReason(signal.reason), { once: true });
}

/** Adds ErrorInfo to a ConnectError that has none (idempotent); reclassifies unparseable bodies. */
export function giveReason(err: unknown): void {
  if (!(err instanceof ConnectError) || hasErrorInfo(err)) return;
  const mutable = err as { -readonly [K in keyof ConnectError]: ConnectError[K] };
  if (err.code === Code.Internal && err.rawMessage.startsWith("parse binary:")) {
    mutable.code = Code.InvalidArgument;
    mutable.message = `[invalid_argument] ${err.rawMessage}`;
  }
  mutable.details.push({
    desc: ErrorInfoSchema,
    value: { reason: reasonFor(err), domain: ERROR_DOMAIN, metadata: {} },
  });
}

function hasErrorInfo(err: ConnectError): boolean {
  return err.details.some((d) => ("desc" in d ? d.desc.typeName : d.type) === ErrorInfoSchema.typeName);
}

function reasonFor(err: ConnectError): string {
  switch (err.code) {
    // Our own refusals all carry reasons, so an INVALID_ARGUMENT without one is the framework's decode failure.
    case Code.InvalidArgument:
      // protobuf-es refuses an unpaired surrogate in a JSON string field itself; name it as the input rules do.
      return /invalid UTF8/.test(err.rawMessage) ? "invalid_character" : "malformed_request";
    case Code.ResourceExhausted:
      return /readMaxBytes|larger than/i.test(err.rawMessage) ? "message_too_large" : "resource_exhausted";
    case Code.Canceled:
      return "cancelled";
    default:
      // DeadlineExceeded → deadline_exceeded, Unimplemented → unimplemented, Internal → internal, …
      return Code[err.code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
  }
}
