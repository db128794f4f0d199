import { Code, ConnectError, type Interceptor, type StreamResponse } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { Auth } from "../auth/index.js";
import type { RpcMetrics } from "../metrics/index.js";
import { type TraceSpan, type Tracing, traceIdOf } from "../tracing/index.js";
import { endCallSpan, startCallSpan } from "./call-trace.js";
import { toConnectError } from "./errors.js";
import { kClientAddress, kPrincipal, kTraceparent } from "./context.js";

// Three interceptors, outermost first: observing (log line and metrics) sees the final code of every call
// (including refusals by auth), error mapping turns domain errors into ConnectErrors with reasons, auth resolves
// the caller.

/**
 * One log line per RPC (method, code, duration, principal, client, trace; never a credential or message body),
 * its metrics and its server span.
 */
export function observingInterceptor(logger: Logger, metrics: RpcMetrics, tracing: Tracing): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    const method = `${req.service.typeName}/${req.method.name}`;
    // The protocol is only a span attribute: not looked up when nothing is traced.
    const protocol = tracing.enabled && req.header.get("content-type")?.startsWith("application/grpc") ? "grpc" : "connect";
    const span = startCallSpan(tracing, method, protocol, req.header.get("traceparent"), req.contextValues);
    let openStreams: { inc(): void; dec(): void } | undefined;
    const log = (err: unknown) => {
      openStreams?.dec();
      openStreams = undefined;
      recordRpc(
        logger,
        metrics,
        {
          method,
          started,
          streaming: req.method.methodKind !== "unary",
          span,
          traceparent: req.contextValues.get(kTraceparent),
          principal: req.contextValues.get(kPrincipal)?.username,
          client: req.contextValues.get(kClientAddress),
        },
        err,
      );
    };
    try {
      const res = await next(req);
      if (!res.stream) {
        log(undefined);
        return res;
      }
      openStreams = metrics.openStreams(method);
      openStreams.inc();
      return { ...res, message: observe(res.message, log) } as StreamResponse;
    } catch (err) {
      log(err);
      throw err;
    }
  };
}

/**
 * The log line and metrics of one finished call, whoever served it (connect, or GrpcCalls): INTERNAL ones are
 * logged as errors.
 */
export function recordRpc(
  logger: Logger,
  metrics: RpcMetrics,
  call: {
    method: string;
    started: number;
    streaming: boolean;
    span: TraceSpan | undefined;
    /** The call's trace context (its span's, or the caller's when not traced here). */
    traceparent: string;
    principal: string | undefined;
    client: string;
  },
  err: unknown,
): void {
  const ms = performance.now() - call.started;
  const failure = err === undefined ? undefined : toConnectError(err);
  const status = failure?.code;
  metrics.finished(call.method, status, call.streaming ? undefined : ms / 1000);
  if (call.span) endCallSpan(call.span, status, failure?.rawMessage);
  const code = status === undefined ? "ok" : Code[status].toLowerCase();
  const fields = {
    method: call.method,
    code,
    ms: Math.round(ms * 10) / 10,
    principal: call.principal,
    client: call.client || undefined,
    trace: call.span?.traceId ?? (call.traceparent === "" ? undefined : traceIdOf(call.traceparent)),
  };
  if (err !== undefined && code === "internal") logger.error({ ...fields, err }, "rpc failed");
  else logger.info(fields, "rpc");
}

/** Domain and bus errors become ConnectErrors with a reason; unexpected ones become INTERNAL. */
export function errorInterceptor(): Interceptor {
  return (next) => async (req) => {
    try {
      const res = await next(req);
      if (!res.stream) return res;
      return { ...res, message: mapErrors(res.message, req.signal) } as StreamResponse;
    } catch (err) {
      throw toConnectError(err);
    }
  };
}

export interface AuthInterceptorOptions {
  auth: Auth;
  /** Fully qualified methods ("pkg.Service/Method") or whole services ("pkg.Service") callable without credentials. */
  publicMethods: ReadonlySet<string>;
}

/** Resolves the caller from `authorization` and refuses calls without valid credentials. */
export function authInterceptor({ auth, publicMethods }: AuthInterceptorOptions): Interceptor {
  return (next) => async (req) => {
    const service = req.service.typeName;
    if (publicMethods.has(service) || publicMethods.has(`${service}/${req.method.name}`)) return next(req);
    const principal = await auth.authenticate(req.header.get("authorization"));
    req.contextValues.set(kPrincipal, principal);
    return next(req);
  };
}

async function* observe<T>(messages: AsyncIterable<T>, done: (err: unknown) => void): AsyncIterable<T> {
  let outcome: { err: unknown } | undefined;
  try {
    yield* messages;
    outcome = { err: undefined };
  } catch (err) {
    outcome = { err };
    throw err;
  } finally {
    // No outcome means the consumer stopped early: the client went away or the server is shutting down.
    done(outcome ? outcome.err : new ConnectError("stream ended by the peer", Code.Canceled));
  }
}

async function* mapErrors<T>(messages: AsyncIterable<T>, signal: AbortSignal): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (err) {
    throw streamError(err, signal);
  }
}

/** What a server stream that failed tells its client. */
export function streamError(err: unknown, signal: AbortSignal): ConnectError {
  // A stream that fails because its client went away was cancelled, not broken.
  if (signal.aborted && !(err instanceof ConnectError && err.code !== Code.Internal)) {
    return new ConnectError("the client cancelled the stream", Code.Canceled, undefined, undefined, err);
  }
  return toConnectError(err);
}
