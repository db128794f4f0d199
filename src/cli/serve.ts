import { pino } from "pino";
import { readConfig } from "../config.js";
import { startGateway } from "../server/gateway.js";

export async function runServe(): Promise<void> {
  const config = readConfig();
  const logger = pino({ level: config.logLevel, base: { service: "agentnet" } });
  const gateway = await startGateway(config, logger);
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
