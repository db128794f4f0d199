import { readConfig } from "../config.js";
import { type Gateway, startGateway } from "../app/index.js";
import { retryWhileUnavailable } from "../store/startup.js";
import { gatewayLogger } from "./logger.js";

export async function runServe(): Promise<void> {
  const config = readConfig();
  const logger = gatewayLogger(config);
  // A signal while the gateway is still waiting for its database ends the wait; after that it stops the gateway.
  const starting = new AbortController();
  let gateway: Gateway | undefined;
  let stoppingSince: number | undefined;
  const stop = (signal: NodeJS.Signals) => {
    if (stoppingSince !== undefined) {
      // Under `npm start` a Ctrl-C or group kill reaches us twice (directly and forwarded by npm): only a signal
      // that comes well after the first means "stop now".
      if (Date.now() - stoppingSince < 1000) return;
      logger.warn({ signal }, "second signal: exiting at once");
      process.exit(1);
    }
    stoppingSince = Date.now();
    logger.info({ signal }, "signal received");
    if (!gateway) {
      starting.abort();
      return;
    }
    gateway.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  // Started while PostgreSQL is down (or restarting): wait for it rather than exit, so no supervisor is needed.
  try {
    gateway = await retryWhileUnavailable(() => startGateway(config, logger), {
      logger,
      what: "starting the gateway",
      signal: starting.signal,
    });
  } catch (err) {
    if (starting.signal.aborted) {
      logger.info("stopped before the database became available");
      process.exit(0);
    }
    throw err;
  }
  if (starting.signal.aborted) {
    // A signal arrived during the last attempt.
    await gateway.close();
    process.exit(0);
  }
  const running = gateway;
  void running.failed.then(async (err) => {
    logger.fatal({ err: { message: err.message } }, err.message);
    await running.close().catch(() => undefined);
    process.exit(1);
  });
}
