import { hostname } from "node:os";
import type { Logger } from "pino";
import { Auth, TokenSigner, ensureAdmin, ensureJwtSecret } from "../auth/index.js";
import { type Bus, countedBus, openBus } from "../bus/index.js";
import { Metrics } from "../metrics/index.js";
import { Tracing } from "../tracing/index.js";
import { VERSION } from "../version.js";
import type { Config } from "../config.js";
import { Supervisor } from "../lifecycle/index.js";
import { defaultConsoleDir, loadConsoleFiles } from "../server/console-files.js";
import { HealthStatusRegistry } from "../server/health.js";
import { startRpcServer } from "../server/rpc-server.js";
import { PUBLIC_METHODS, TRANSPORT_SERVICES, registerServices, servedServices } from "../services/index.js";
import { type Store, openStore, shareableUrl } from "../store/database.js";
import { migrateToLatest } from "../store/migrate.js";
import { buildDomains } from "./domains.js";
import { registerGauges } from "./gauges.js";
import { StoreHealth } from "./store-health.js";

/** A running gateway: the one port plus what it stands on. */
export interface Gateway {
  readonly port: number;
  readonly store: Store;
  readonly bus: Bus;
  readonly auth: Auth;
  readonly metrics: Metrics;
  /**
   * Resolves if the gateway cannot go on (its embedded PostgreSQL exited by itself, a background service failed);
   * the caller should close and exit non-zero.
   */
  readonly failed: Promise<Error>;
  /** Graceful stop: health goes NOT_SERVING, streams end, connections close, services stop, then bus and store. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a gateway, in order: the store (migrated), credentials, the bus, the domains and their services, and
 * last the port. Stops in reverse. Throws a one-line error when something is unusable.
 */
export async function startGateway(config: Config, logger: Logger): Promise<Gateway> {
  const cleanup: Array<() => Promise<unknown>> = [];
  const warn = (err: unknown) => logger.warn({ err }, "error during shutdown");
  try {
    const gatewayId = `gw_${hostname()}_${process.pid}_${Date.now().toString(36)}`;
    // Counted whether or not they are served: the counting is cheap, and the figures stay whole when read.
    const metrics = new Metrics({ processMetrics: config.metrics.enabled });
    const tracing = await Tracing.create(config.tracing, { gatewayId, version: VERSION });
    // Last to stop: the spans of the shutdown itself are exported too.
    cleanup.unshift(() => tracing.shutdown());
    if (tracing.enabled)
      logger.info({ endpoint: config.tracing.endpoint, sampler: config.tracing.sampler }, "exporting traces over OTLP/HTTP");
    const store = await openStore({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      command: "serve",
      logger,
      onQueryError: () => metrics.queryErrors.inc(),
    });
    cleanup.unshift(() => store.close());
    const { applied } = await migrateToLatest(store);
    logger.info({ store: store.kind, location: store.location, applied, shareWith: shareableUrl(store) }, "store ready");

    const secret = await ensureJwtSecret(store.db, config.jwtSecret);
    await ensureAdmin(store.db, { password: config.adminPassword, dataDir: config.dataDir, logger });

    const rawBus = await openBus({ natsUrl: config.natsUrl, name: `agentnet-gateway@${hostname()}:${process.pid}`, logger });
    cleanup.unshift(() => rawBus.close());
    const bus = countedBus(rawBus, {
      published: () => metrics.busPublished.inc(),
      received: () => metrics.busReceived.inc(),
      reconnected: () => metrics.busReconnects.inc(),
    });
    logger.info({ bus: bus.kind }, "bus ready");

    const auth = new Auth(store.db, new TokenSigner(secret, config.jwtTtlSeconds), { bus, logger });
    const draining = new AbortController();
    const { domains, services } = buildDomains({
      config,
      logger,
      store,
      bus,
      auth,
      gatewayId,
      draining: draining.signal,
      metrics,
      tracing,
    });
    registerGauges(metrics, { store, bus, messaging: domains.messaging });

    const served = servedServices();
    const health = new HealthStatusRegistry(served.map((s) => s.typeName));
    // Health and reflection answer without the database; every other service needs it.
    const needStore = served.map((s) => s.typeName).filter((name) => !TRANSPORT_SERVICES.has(name));
    const supervisor = new Supervisor(logger);
    cleanup.unshift(() => supervisor.stop());
    for (const [name, service] of services) supervisor.start(name, service);
    supervisor.start("store health", new StoreHealth({ store, health, services: needStore, logger }));

    const server = await startRpcServer({
      host: config.host,
      port: config.port,
      corsOrigins: config.corsOrigins,
      logger,
      auth,
      metrics: { metrics, serve: config.metrics.enabled, token: config.metrics.token },
      tracing,
      publicMethods: PUBLIC_METHODS,
      console: config.console ? await loadConsoleFiles(defaultConsoleDir(), logger) : undefined,
      services: served,
      health,
      register: (router, addHttpRoute) =>
        registerServices(router, domains, {
          logger,
          rpcMetrics: metrics.rpc,
          draining: draining.signal,
          addHttpRoute,
          publicSeedRoutes: config.voice.publicSeedRoutes,
        }),
    });

    const failed = Promise.race([new Promise<Error>((resolve) => store.onFatal(resolve)), supervisor.failed]);
    let closing: Promise<void> | undefined;
    return {
      port: server.port,
      store,
      bus,
      auth,
      metrics,
      failed,
      close() {
        closing ??= (async () => {
          logger.info("shutting down");
          // The server's part runs first and at once (health, streams); then no new turns are taken here.
          const serverClosed = server.close(config.shutdownGraceSeconds * 1000);
          draining.abort();
          await serverClosed.catch(warn);
          for (const step of cleanup) await step().catch(warn);
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
