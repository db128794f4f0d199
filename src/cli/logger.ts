import { type Logger, pino } from "pino";
import pretty from "pino-pretty";
import type { Config } from "../config.js";

/**
 * The gateway's logger: readable lines on a terminal, JSON lines anywhere else (a pipe, a file, a container's log
 * driver), unless AGENTNET_LOG_FORMAT says which. The pretty stream runs in this thread, synchronously: no worker
 * thread for a terminal's trickle of lines, and nothing lost when the process exits.
 */
export function gatewayLogger(config: Pick<Config, "logLevel" | "logFormat">, stdout: NodeJS.WriteStream = process.stdout): Logger {
  const options = { level: config.logLevel, base: { service: "agentnet" } };
  const format = config.logFormat === "auto" ? (stdout.isTTY ? "pretty" : "json") : config.logFormat;
  // pino writes to fd 1 itself (sonic-boom) unless given another stream.
  if (format === "json") return stdout === process.stdout ? pino(options) : pino(options, stdout);
  return pino(
    options,
    pretty({
      destination: stdout,
      sync: true,
      colorize: stdout.isTTY === true && stdout.hasColors?.() !== false,
      translateTime: "SYS:HH:MM:ss.l",
      ignore: "pid,hostname,service",
      singleLine: true,
    }),
  );
}
