import type { Logger } from "pino";
import type { BusHandler, BusMessage } from "./bus.js";

/** Runs a subscriber's handler so that its failure stays its own: logged, never fatal to delivery. */
export function invokeHandler(handler: BusHandler, msg: BusMessage, filter: string, logger: Logger): void {
  try {
    const result = handler(msg);
    if (result !== undefined && typeof (result as Promise<void>).then === "function") {
      (result as Promise<void>).then(undefined, (err: unknown) => logFailure(logger, err, filter, msg));
    }
  } catch (err) {
    logFailure(logger, err, filter, msg);
  }
}

function logFailure(logger: Logger, err: unknown, filter: string, msg: BusMessage): void {
  logger.error({ err, subscription: filter, subject: msg.subject }, "bus handler failed");
}
