import { Code, ConnectError, type Interceptor, type StreamResponse } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { Auth } from "../auth/index.js";
import { toConnectError } from "./errors.js";
import { kClientAddress, kPrincipal } from "./context.js";

// Three interceptors, outermost first: logging sees the final code of every call (including refusals by auth),
// error mapping turns domain errors into ConnectErrors with reasons, auth resolves the caller.

/** One log line per RPC: method, code, duration, principal, client. Never a credential or message body. */
export function loggingInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    const log = (err: unknown) =>
      logRpc(
        logger,
        {
          method: `${req.service.typeName}/${req.method.name}`,
          started,
          principal: req.contextValues.get(kPrincipal)?.username,
          client: req.contextValues.get(kClientAddress),
        },
        err,
      );
    try {
      const res = await next(req);
      if (!res.stream) {
        log(undefined);
        return res;
      }
      return { ...res, message: observe(res.message, log) } as StreamResponse;
    } catch (err) {
      log(err);
      throw err;
    }
  };
}

/** The log line of one finished call, whoever served it (connect, or GrpcCalls): INTERNAL ones as errors. */
export function logRpc(
  logger: Logger,
  call: { method: string; started: number; principal: string | undefined; client: string },
  err: unknown,
): void {
  const code = err === undefined ? "ok" : Code[toConnectError(err).code].toLowerCase();
  const fields = {
    method: call.method,
    code,
    ms: Math.round((performance.now() - call.started) * 10) / 10,
    principal: call.principal,
    client: call.client || undefined,
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
