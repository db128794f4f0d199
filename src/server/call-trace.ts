import { Code, type ContextValues } from "@connectrpc/connect";
import { SpanKind, type TraceSpan, type Tracing, validTraceparent } from "../tracing/index.js";
import { kTraceparent } from "./context.js";

/** Codes that mean the server failed, not the caller (OpenTelemetry's gRPC conventions): those spans are errors. */
const SERVER_FAULTS = new Set([Code.Unknown, Code.DeadlineExceeded, Code.Unimplemented, Code.Internal, Code.Unavailable, Code.DataLoss]);

/**
 * Starts the server span of a call (`method` is "package.Service/Method") as a child of the caller's `traceparent`,
 * and puts the call's trace context in `values` for the handlers. Undefined when tracing is off or sampled out.
 */
export function startCallSpan(
  tracing: Tracing,
  method: string,
  protocol: string,
  header: string | null | undefined,
  values: ContextValues,
): TraceSpan | undefined {
  const incoming = validTraceparent(header);
  const span = tracing.enabled
    ? tracing.start(method, {
        kind: SpanKind.SERVER,
        parent: incoming,
        attributes: {
          "rpc.system": protocol === "grpc" ? "grpc" : "connect_rpc",
          "rpc.service": method.slice(0, method.lastIndexOf("/")),
          "rpc.method": method.slice(method.lastIndexOf("/") + 1),
        },
      })
    : undefined;
  const traceparent = span?.traceparent ?? incoming;
  if (traceparent) values.set(kTraceparent, traceparent);
  return span;
}

/** Ends a call's span with its status code. */
export function endCallSpan(span: TraceSpan, code: Code | undefined, message: string | undefined): void {
  span.setAttributes({ "rpc.grpc.status_code": code ?? 0 });
  span.end(code !== undefined && SERVER_FAULTS.has(code) ? (message ?? Code[code]) : undefined);
}
