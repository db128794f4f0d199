import type { DescService } from "@bufbuild/protobuf";
import { type ConnectRouter, createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "pino";
import { descriptorSetRegistry } from "../../gen/descriptor_set.js";
import type { Auth } from "../auth/index.js";
import { DomainError } from "../errors.js";
import { kClientAddress } from "./context.js";
import { DrainSignal } from "./drain-signal.js";
import type { ConsoleFiles } from "./console-files.js";
import { applyCors } from "./cors.js";
import { errorReasonGate } from "./error-reasons.js";
import { fromDomainError } from "./errors.js";
import { type HealthStatusRegistry, healthRoutes } from "./health.js";
import type { NodeRequest, NodeResponse } from "./http-types.js";
import { type AddHttpRoute, HttpRoutes } from "./http-routes.js";
import { MAX_JSON_DEPTH, inputRulesInterceptor } from "./input-rules.js";
import { GrpcCalls } from "./grpc-calls.js";
import { authInterceptor, errorInterceptor, observingInterceptor } from "./interceptors.js";
import type { Metrics } from "../metrics/index.js";
import type { Tracing } from "../tracing/index.js";
import { metricsRoute } from "./metrics-route.js";
import { type Listener, listen } from "./listener.js";
import { notFound } from "./not-found.js";
import { reflectionRoutes } from "./reflection.js";

const jsonRequestOptions = {
  ignoreUnknownFields: false,
  textDecoder: new TextDecoder("utf-8", { fatal: true }),
};

export interface RpcServerOptions {
  host: string;
  port: number;
  corsOrigins: readonly string[];
  logger: Logger;
  auth: Auth;
  /** Methods (`service/method`) and whole services callable without credentials. */
  publicMethods: ReadonlySet<string>;
  /** The gateway's metrics: calls are counted into them; `GET /metrics` serves them when `serve` is set. */
  metrics: { metrics: Metrics; serve: boolean; token: string | undefined };
  /** Every call gets a server span (continuing the caller's `traceparent`) when tracing is on. */
  tracing: Tracing;
  /** The web console's files, served at `/` and `/console/`; undefined when it is turned off. */
  console: ConsoleFiles | undefined;
  /** Every service served, for reflection. */
  services: DescService[];
  /** What grpc.health.v1.Health answers; the gateway flips it when the database goes and comes back. */
  health: HealthStatusRegistry;
  /** Registers the application's services; `addHttpRoute` serves plain HTTP routes beside them. */
  register(router: ConnectRouter, addHttpRoute: AddHttpRoute): void;
}

/** The one port: gRPC, gRPC-Web and Connect, with health, reflection and plain HTTP routes. */
export interface RpcServer {
  readonly port: number;
  /**
   * Health goes NOT_SERVING and live streams end (both before this returns), then connections close within
   * `graceMs`. Idempotent.
   */
  close(graceMs: number): Promise<void>;
}

/** Opens the port. Throws a one-line error when it is unusable. */
export async function startRpcServer(options: RpcServerOptions): Promise<RpcServer> {
  const { logger } = options;
  const drain = new DrainSignal();
  const { health } = options;
  // Plain HTTP routes (the Agora seed's /get_config …) that services add beside their RPCs.
  const httpRoutes = new HttpRoutes(logger);
  const { metrics } = options.metrics;
  if (options.metrics.serve) httpRoutes.add("GET", "/metrics", metricsRoute(metrics, options.metrics.token));
  // The application's unary and server-streaming calls over gRPC are served by GrpcCalls; all else by connect.
  const grpcCalls = new GrpcCalls({
    logger,
    auth: options.auth,
    publicMethods: options.publicMethods,
    drain,
    metrics: metrics.rpc,
    tracing: options.tracing,
  });
  const routes = (router: ConnectRouter) => {
    healthRoutes(health)(router);
    reflectionRoutes(descriptorSetRegistry(), options.services)(router);
    options.register(grpcCalls.collecting(router), httpRoutes.add);
  };
  const connectHandler = connectNodeAdapter({
    routes,
    interceptors: [
      observingInterceptor(logger, metrics.rpc, options.tracing),
      errorInterceptor(),
      authInterceptor({ auth: options.auth, publicMethods: options.publicMethods }),
      inputRulesInterceptor(),
    ],
    requestGate: errorReasonGate,
    // JSON requests fail closed: an unknown field or enum name is refused rather than dropped (an unknown
    // MESSAGE_KIND would otherwise become DIRECT), and bytes that are not UTF-8 are refused rather than stored
    // as U+FFFD. (Binary requests already verify UTF-8; unknown enum numbers are checked by inputRulesInterceptor.)
    jsonOptions: jsonRequestOptions,
    // Every JSON level of a Struct is three nested messages in binary; leave room for the 64 levels the input
    // rules allow, so a deep payload is refused with `too_deep` rather than as an unparseable body.
    binaryOptions: { recursionLimit: 4 * MAX_JSON_DEPTH },
    shutdownSignal: drain.asAbortSignal(),
    // Responses are compressed (gzip or br, as the client accepts) only from 64 KiB: below that, compressing costs
    // the gateway more CPU than it saves on the wire (a 4 KiB envelope pushed per message, or a SendBatch answer,
    // went through zlib each time at connect's default of 1 KiB: 2.5 % of the gateway's CPU under load).
    compressMinBytes: 64 * 1024,
    contextValues: (req) => createContextValues().set(kClientAddress, req.socket?.remoteAddress ?? ""),
    // Paths no RPC owns: a plain HTTP route if one was added, the console's files, else UNIMPLEMENTED / 404.
    fallback: (req, res) => {
      if (!httpRoutes.handle(req, res) && !options.console?.handle(req, res)) notFound(req, res);
    },
    // Browsers' fetch can only send the Connect protocol header when told to; curl users should not need it.
    requireConnectProtocolHeader: false,
  });

  const handler = (req: NodeRequest, res: NodeResponse) => {
    if (applyCors(options.corsOrigins, req, res)) return;
    connectHandler(req, res);
  };
  const listener: Listener = await listen(options.host, options.port, handler, (stream, headers) =>
    grpcCalls.handle(stream, headers),
  ).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "EADDRINUSE") throw new Error(`PORT ${options.port} is already in use on ${options.host}`);
    if (err.code === "EACCES") throw new Error(`no permission to listen on ${options.host}:${options.port} (PORT)`);
    throw err;
  });
  logger.info(
    { host: options.host, port: listener.port },
    `agentnet listening on ${options.host}:${listener.port} (gRPC, gRPC-Web and Connect)`,
  );

  let closing: Promise<void> | undefined;
  return {
    port: listener.port,
    close(graceMs) {
      closing ??= (async () => {
        health.shutdown();
        drain.abort(fromDomainError(new DomainError("unavailable", "shutting_down", "the server is shutting down; retry")));
        await listener.close(graceMs);
      })();
      return closing;
    },
  };
}
