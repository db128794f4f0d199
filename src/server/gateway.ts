import { hostname } from "node:os";
import { createContextValues, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "pino";
import { Auth } from "../auth/auth.js";
import { ensureAdmin, ensureJwtSecret } from "../auth/bootstrap.js";
import { TokenSigner } from "../auth/tokens.js";
import { type Bus, openBus } from "../bus/index.js";
import type { Config } from "../config.js";
import { DomainError } from "../errors.js";
import { registerServices, servedServices, PUBLIC_METHODS } from "../services/index.js";
import { openStore, shareableUrl, type Store } from "../store/database.js";
import { migrateToLatest } from "../store/migrate.js";
import { kClientAddress } from "./context.js";
import { applyCors } from "./cors.js";
import { HealthStatusRegistry, healthRoutes } from "./health.js";
import { HttpRoutes } from "./http-routes.js";
import { errorReasonGate } from "./error-reasons.js";
import { fromDomainError } from "./errors.js";
import { MAX_JSON_DEPTH, inputRulesInterceptor } from "./input-rules.js";
import { authInterceptor, errorInterceptor, loggingInterceptor } from "./interceptors.js";
import { type Listener, listen } from "./listener.js";
import { notFound } from "./not-found.js";
import { reflectionRoutes } from "./reflection.js";
import { descriptorSetRegistry } from "../../gen/descriptor_set.js";

const jsonRequestOptions = {
  ignoreUnknownFields: false,
  textDecoder: new TextDecoder("utf-8", { fatal: true }),
};

/** A running gateway: the one port plus what it stands on. */
export interface Gateway {
  readonly port: number;
  readonly store: Store;
  readonly bus: Bus;
  readonly auth: Auth;
  /** Resolves if the gateway cannot go on (its embedded PostgreSQL exited by itself); the caller should close and exit non-zero. */
  readonly failed: Promise<Error>;
  /** Graceful stop: health goes NOT_SERVING, streams end, connections close, then bus and store. Idempotent. */
  close(): Promise<void>;
}

/** Opens the store (migrating it), the bus and the port. Throws a one-line error when something is unusable. */
export async function startGateway(config: Config, logger: Logger): Promise<Gateway> {
  const cleanup: Array<() => Promise<unknown>> = [];
  try {
    const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, command: "serve", logger });
    cleanup.unshift(() => store.close());
    const failed = new Promise<Error>((resolve) => store.onFatal(resolve));
    const { applied } = await migrateToLatest(store);
    logger.info({ store: store.kind, location: store.location, applied, shareWith: shareableUrl(store) }, "store ready");

    const secret = await ensureJwtSecret(store.db, config.jwtSecret);
    await ensureAdmin(store.db, { password: config.adminPassword, dataDir: config.dataDir, logger });
    const auth = new Auth(store.db, new TokenSigner(secret, config.jwtTtlSeconds));

    const bus = await openBus({ natsUrl: config.natsUrl, name: `agentnet-gateway@${hostname()}:${process.pid}`, logger });
    cleanup.unshift(() => bus.close());
    logger.info({ bus: bus.kind }, "bus ready");

    const shutdown = new AbortController();
    const gatewayId = `gw_${hostname()}_${process.pid}_${Date.now().toString(36)}`;
    const closeHooks: Array<() => Promise<void> | void> = [];
    const services = servedServices();
    // Plain HTTP routes (the Agora seed's /get_config …) that services add beside their RPCs.
    const httpRoutes = new HttpRoutes(logger);
    const health = new HealthStatusRegistry(services.map((s) => s.typeName));
    const routes = (router: ConnectRouter) => {
      healthRoutes(health)(router);
      reflectionRoutes(descriptorSetRegistry(), services)(router);
      registerServices(router, {
        auth,
        config,
        store,
        bus,
        logger,
        gatewayId,
        shutdownSignal: shutdown.signal,
        onClose: (fn) => closeHooks.push(fn),
        addHttpRoute: httpRoutes.add,
      });
    };
    const connectHandler = connectNodeAdapter({
      routes,
      interceptors: [
        loggingInterceptor(logger),
        errorInterceptor(),
        authInterceptor({ auth, publicMethods: PUBLIC_METHODS }),
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
      shutdownSignal: shutdown.signal,
      contextValues: (req) => createContextValues().set(kClientAddress, req.socket?.remoteAddress ?? ""),
      // Paths no RPC owns: a plain HTTP route if one was added, else UNIMPLEMENTED / 404.
      fallback: (req, res) => {
        if (!httpRoutes.handle(req, res)) notFound(req, res);
      },
      // Browsers' fetch can only send the Connect protocol header when told to; curl users should not need it.
      requireConnectProtocolHeader: false,
    });

    const listener: Listener = await listen(config.host, config.port, (req, res) => {
      if (applyCors(config.corsOrigins, req, res)) return;
      connectHandler(req, res);
    }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE") throw new Error(`PORT ${config.port} is already in use on ${config.host}`);
      if (err.code === "EACCES") throw new Error(`no permission to listen on ${config.host}:${config.port} (PORT)`);
      throw err;
    });
    logger.info(
      { host: config.host, port: listener.port },
      `agentnet listening on ${config.host}:${listener.port} (gRPC, gRPC-Web and Connect)`,
    );

    let closing: Promise<void> | undefined;
    return {
      port: listener.port,
      store,
      bus,
      auth,
      failed,
      close() {
        closing ??= (async () => {
          logger.info("shutting down");
          health.shutdown();
          shutdown.abort(fromDomainError(new DomainError("unavailable", "shutting_down", "the server is shutting down; retry")));
          await listener.close(config.shutdownGraceSeconds * 1000);
          for (const hook of closeHooks.reverse()) {
            await Promise.resolve()
              .then(hook)
              .catch((err: unknown) => logger.warn({ err }, "error during shutdown"));
          }
          for (const step of cleanup) await step().catch((err: unknown) => logger.warn({ err }, "error during shutdown"));
          logger.info("stopped");
        })();
        return closing;
      },
    };
  } catch (err) {
    for (const step of cleanup) await step().catch(() => undefined);
    throw err;
  }
}
