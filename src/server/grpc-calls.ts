import type http2 from "node:http2";
import {
  type DescMethodServerStreaming,
  type DescMethodUnary,
  type DescService,
  create,
  fromBinary,
  isMessage,
  toBinary,
} from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { Logger } from "pino";
import type { Auth } from "../auth/index.js";
import type { RpcMetrics } from "../metrics/index.js";
import type { Tracing } from "../tracing/index.js";
import { startCallSpan } from "./call-trace.js";
import { kClientAddress, kPrincipal, kTraceparent } from "./context.js";
import type { DrainSignal } from "./drain-signal.js";
import { giveReason } from "./error-reasons.js";
import { toConnectError } from "./errors.js";
import { MAX_JSON_DEPTH, checkMessage } from "./input-rules.js";
import { recordRpc, streamError } from "./interceptors.js";
import { type Outlet, PushSource } from "../streams/index.js";
import { StreamContext } from "./stream-context.js";

// Unary and server-streaming calls over gRPC — what agents make all day (Heartbeat, SendBatch, Ack) and hold open
// (Subscribe) — served without connect's per-call pipeline. Connect runs each call through a chain of async
// iterables built by TypeScript's downlevel generator helper, every one with its own prototype object: 34 KiB of
// heap held per open stream (against 2–4 KiB for Node's HTTP/2 stream itself; 340 MiB with 10,000 agents
// connected) and 109 KiB allocated per unary call, much of it living long enough to be promoted, so a gateway
// answering 833 heartbeats/s let its heap grow to 4× the live data between collections. The gRPC wire format of
// these calls is small (one length-prefixed request, length-prefixed responses, a status in the trailers), so it
// is written here; everything else (Connect and gRPC-Web, compressed requests, client and bidi streams, HTTP/1.1,
// health and reflection) stays with connect. The calls behave as connect's do: same authentication, input rules,
// error reasons, log line, cancellation, deadlines and shutdown.

/**
 * A gRPC request message larger than this is refused before it is read whole: the largest blob a gateway can be
 * configured to take (AGENTNET_MAX_BLOB_BYTES, at most 256 MiB) and its other fields. Domains check their own
 * bounds below it (a blob over this gateway's cap is `blob_too_large`).
 */
const MAX_REQUEST_BYTES = 257 * 1024 * 1024;
/** The longest grpc-timeout accepted: any (connect's default). */
const MAX_TIMEOUT_MS = Number.MAX_SAFE_INTEGER;
const CONTENT_TYPES = new Set(["application/grpc", "application/grpc+proto"]);
const binaryOptions = { readUnknownFields: true, recursionLimit: 4 * MAX_JSON_DEPTH };

type Route = {
  service: DescService;
  method: DescMethodUnary | DescMethodServerStreaming;
  name: string;
  /** `/service/method`: also the call's URL, one string for every call of the route. */
  path: string;
  public: boolean;
} & (
  | { kind: "unary"; impl: (request: never, context: HandlerContext) => Promise<unknown> | unknown }
  | { kind: "server_streaming"; impl: (request: never, context: HandlerContext) => AsyncIterable<unknown> }
);

export interface GrpcCallsOptions {
  logger: Logger;
  auth: Auth;
  publicMethods: ReadonlySet<string>;
  drain: DrainSignal;
  metrics: RpcMetrics;
  tracing: Tracing;
}

export class GrpcCalls {
  private readonly routes = new Map<string, Route>();

  constructor(private readonly options: GrpcCallsOptions) {}

  /**
   * A router that registers every service with `router` as usual and also keeps its unary and server-streaming
   * methods for {@link handle}.
   */
  collecting(router: ConnectRouter): ConnectRouter {
    const collector: ConnectRouter = {
      get handlers() {
        return router.handlers;
      },
      service: (service, implementation, opts) => {
        for (const method of service.methods) {
          const kind = method.methodKind;
          if (kind !== "unary" && kind !== "server_streaming") continue;
          const impl = (implementation as Record<string, unknown>)[method.localName];
          if (typeof impl !== "function") continue;
          const name = `${service.typeName}/${method.name}`;
          const common = {
            service,
            method: method as DescMethodUnary | DescMethodServerStreaming,
            name,
            path: `/${name}`,
            public: this.options.publicMethods.has(service.typeName) || this.options.publicMethods.has(name),
          };
          const bound = impl.bind(implementation);
          this.routes.set(`/${name}`, kind === "unary" ? { ...common, kind, impl: bound } : { ...common, kind, impl: bound });
        }
        router.service(service, implementation, opts);
        return collector;
      },
      rpc: (method, impl, opts) => {
        router.rpc(method, impl, opts);
        return collector;
      },
    };
    return collector;
  }

  /**
   * Serves the HTTP/2 stream when it is a gRPC call of a collected method; false leaves it to connect. (Calls from
   * a browser origin go to connect too, which adds the CORS headers.)
   */
  handle(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): boolean {
    const path = headers[":path"];
    const route = path === undefined ? undefined : this.routes.get(path);
    if (!route || headers[":method"] !== "POST" || headers.origin !== undefined) return false;
    const contentType = headers["content-type"];
    if (contentType === undefined || !CONTENT_TYPES.has(contentType)) return false;
    const encoding = headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") return false;
    // An HTTP/2 stream with no 'error' listener takes the process down when the client resets it badly.
    stream.on("error", ignore);
    const timeout = parseTimeout(firstHeader(headers["grpc-timeout"]), MAX_TIMEOUT_MS);
    const ctx = new StreamContext(
      route.service,
      route.method,
      route.path,
      headers,
      timeout.timeoutMs === undefined ? undefined : Date.now() + timeout.timeoutMs,
    );
    // The header object itself stays out of serve(): its frame lives as long as the call, a stream's for as long as
    // the agent is connected.
    void this.serve(route, stream, ctx, timeout, firstHeader(headers.authorization), firstHeader(headers.traceparent));
    return true;
  }

  private async serve(
    route: Route,
    res: http2.ServerHttp2Stream,
    ctx: StreamContext,
    timeout: ReturnType<typeof parseTimeout>,
    credentials: string | null,
    traceparent: string | null,
  ): Promise<void> {
    const started = performance.now();
    const client = res.session?.socket?.remoteAddress ?? "";
    ctx.values.set(kClientAddress, client);
    const span = startCallSpan(this.options.tracing, route.name, "grpc", traceparent, ctx.values);
    // Kept in ctx.values when it matters; not in this frame, which lives as long as a stream.
    traceparent = null;
    let ended = false;
    const onClose = () => {
      if (!ended) ctx.abort(new ConnectError("the client cancelled the call", Code.Canceled));
    };
    const onDrain = () => ctx.abort(this.options.drain.reason);
    res.once("close", onClose);
    this.options.drain.addEventListener("abort", onDrain);
    const deadline =
      timeout.timeoutMs === undefined
        ? undefined
        : setTimeout(() => ctx.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded)), timeout.timeoutMs);
    let failure: ConnectError | undefined;
    let openStreams: { inc(): void; dec(): void } | undefined;
    try {
      if (timeout.error) throw timeout.error;
      if (!route.public) ctx.values.set(kPrincipal, await this.options.auth.authenticate(credentials));
      // Read once: not kept in this frame for the life of a stream.
      credentials = null;
      const request = await readRequest(res, route.method);
      if (route.kind === "unary") {
        // As connect does, the answer is written when the implementation gives it (deadlines are the client's).
        const response = await route.impl(request as never, ctx);
        if (res.closed || res.destroyed) throw new ConnectError("the client cancelled the call", Code.Canceled);
        writeHead(res, ctx);
        writeMessage(res, route.method, response);
      } else {
        openStreams = this.options.metrics.openStreams(route.name);
        openStreams.inc();
        ctx.compactHeaders();
        const out = route.impl(request as never, ctx);
        if (out instanceof PushSource) await out.pipe(new StreamOutlet(res, ctx, route.method));
        else await pump(out, ctx, res, route.method);
        // Shutdown or the deadline ended a stream that then returned quietly: the client still hears why.
        if (ctx.signal.aborted) throw ctx.signal.reason;
      }
    } catch (err) {
      failure = route.kind === "unary" ? toConnectError(err) : streamError(err, ctx.signal);
      giveReason(failure);
    } finally {
      ended = true;
      clearTimeout(deadline);
      this.options.drain.removeEventListener("abort", onDrain);
      res.off("close", onClose);
      ctx.end(failure);
      openStreams?.dec();
    }
    finish(res, ctx, failure);
    recordRpc(
      this.options.logger,
      this.options.metrics,
      {
        method: route.name,
        started,
        streaming: route.kind !== "unary",
        span,
        traceparent: ctx.values.get(kTraceparent),
        principal: ctx.values.get(kPrincipal)?.username,
        client,
      },
      failure,
    );
  }
}

/** Reads the call's one request message: a gRPC envelope of protobuf, checked against the input rules. */
async function readRequest(req: http2.ServerHttp2Stream, method: DescMethodUnary | DescMethodServerStreaming): Promise<unknown> {
  const body = await readBody(req);
  if (body.length < 5) throw new ConnectError("protocol error: missing input message", Code.InvalidArgument);
  const flags = body[0]!;
  const length = body.readUInt32BE(1);
  if (flags !== 0) throw new ConnectError("protocol error: received compressed envelope, but no grpc-encoding", Code.InvalidArgument);
  if (body.length !== 5 + length) {
    throw new ConnectError(
      body.length < 5 + length ? "protocol error: premature end of stream" : "protocol error: received extra input message",
      Code.InvalidArgument,
    );
  }
  let message: Record<string, unknown>;
  try {
    message = fromBinary(method.input, body.subarray(5), binaryOptions) as unknown as Record<string, unknown>;
  } catch (err) {
    throw new ConnectError(`parse binary: ${err instanceof Error ? err.message : String(err)}`, Code.InvalidArgument);
  }
  checkMessage(method.input, message, "");
  return message;
}

/** The request body, whole. (Listeners rather than `for await`: an async iterator per call costs 2 KiB more.) */
function readBody(req: http2.ServerHttp2Stream): Promise<Buffer> {
  // An empty last DATA frame ends a stream nobody reads yet ('end' is then already past).
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: unknown) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", done);
      req.off("close", onClose);
      if (err !== undefined) reject(err);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES + 5) done(new ConnectError(`message larger than ${MAX_REQUEST_BYTES} bytes`, Code.ResourceExhausted));
      else chunks.push(chunk);
    };
    const onEnd = () => done();
    const onClose = () => done(new ConnectError("the client cancelled the call", Code.Canceled));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", done);
    req.on("close", onClose);
  });
}

/** Writes each message the implementation yields, waiting while HTTP/2 flow control holds them back. */
async function pump(
  out: AsyncIterable<unknown>,
  ctx: StreamContext,
  res: http2.ServerHttp2Stream,
  method: DescMethodUnary | DescMethodServerStreaming,
) {
  for await (const item of out) {
    if (res.closed || res.destroyed) return;
    if (!res.headersSent) writeHead(res, ctx);
    if (!writeMessage(res, method, item)) await drained(res, ctx.signal);
  }
}

/** Where a pushed stream writes: each item straight onto the HTTP/2 stream, waiting while flow control holds them. */
class StreamOutlet implements Outlet<unknown> {
  constructor(
    private readonly res: http2.ServerHttp2Stream,
    private readonly ctx: StreamContext,
    private readonly method: DescMethodUnary | DescMethodServerStreaming,
  ) {}

  push(item: unknown): boolean {
    // Gone: the close listener has aborted the call's signal, which stops the producer.
    if (this.res.closed || this.res.destroyed) return false;
    if (!this.res.headersSent) writeHead(this.res, this.ctx);
    return writeMessage(this.res, this.method, item);
  }

  ready(): Promise<void> {
    return this.res.closed || this.res.destroyed ? Promise.resolve() : drained(this.res, this.ctx.signal);
  }
}

/** Writes one response message in its gRPC envelope; false when HTTP/2 asks to wait for `drain`. */
function writeMessage(res: http2.ServerHttp2Stream, method: DescMethodUnary | DescMethodServerStreaming, item: unknown): boolean {
  const message = isMessage(item, method.output) ? item : create(method.output, item as never);
  const bytes = toBinary(method.output, message);
  // Not from Node's shared 8 KiB pool: the HTTP/2 stream keeps its last frame, which would hold a whole slab
  // per open stream (3.6 KiB per agent measured).
  const frame = Buffer.allocUnsafeSlow(5 + bytes.length);
  frame[0] = 0;
  frame.writeUInt32BE(bytes.length, 1);
  frame.set(bytes, 5);
  return res.write(frame);
}

function drained(res: http2.ServerHttp2Stream, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
    signal.addEventListener("abort", done);
  });
}

function writeHead(res: http2.ServerHttp2Stream, ctx: StreamContext): void {
  const headers: http2.OutgoingHttpHeaders = {
    ":status": 200,
    "content-type": "application/grpc+proto",
    "grpc-accept-encoding": "gzip,br",
  };
  ctx.setResponseHeaders?.forEach((value, name) => {
    headers[name] = value;
  });
  // The status goes in trailers, sent when the stream asks for them after its last DATA frame.
  res.respond(headers, { waitForTrailers: true });
}

/** Ends the response with the call's status in the trailers (OK, or the error with its details). */
function finish(res: http2.ServerHttp2Stream, ctx: StreamContext, failure: ConnectError | undefined): void {
  if (res.closed || res.destroyed || res.writableEnded) return;
  if (!res.headersSent) writeHead(res, ctx);
  const trailer = new Headers(ctx.setResponseTrailers);
  setTrailerStatus(trailer, failure);
  const trailers: http2.OutgoingHttpHeaders = {};
  trailer.forEach((value, name) => {
    trailers[name] = value;
  });
  res.once("wantTrailers", () => {
    // The client may have reset the stream between the last DATA frame and now.
    if (!res.destroyed) res.sendTrailers(trailers);
  });
  res.end();
}

function ignore(): void {}

function firstHeader(value: string | string[] | undefined): string | null {
  return (Array.isArray(value) ? value[0] : value) ?? null;
}
