import { pino } from "pino";
import { readConfig } from "../config.js";
import { startGateway } from "../server/gateway.js";

export async function runServe(): Promise<void> {
  const config = readConfig();
  const logger = pino({ level: config.logLevel, base: { service: "agentnet" } });
  const gateway = await startGateway(config, logger);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting at once");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "signal received");
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
}
