import type { Logger } from "pino";
import type { Bus } from "./bus.js";
import { MemoryBroker } from "./memory.js";
import { connectNatsBus, type NatsBusOptions } from "./nats.js";

export type {
  Bus,
  BusHandler,
  ConnectionEvent,
  BusMessage,
  BusSubscription,
  PublishOptions,
  RequestOptions,
  SubscribeOptions,
} from "./bus.js";
export { BusError, isBusError, type BusErrorCode } from "./errors.js";

export interface OpenBusOptions {
  /** Set: NATS (one URL or a comma-separated list). Unset: the in-process bus. */
  natsUrl?: string | undefined;
  /** Names this process's connection (NATS monitoring shows it). */
  name: string;
  logger: Logger;
  /** Reconnect tuning for NATS; defaults suit production. */
  nats?: Partial<Omit<NatsBusOptions, "name" | "logger">>;
}

export async function openBus(opts: OpenBusOptions): Promise<Bus> {
  if (opts.natsUrl !== undefined && opts.natsUrl.trim() !== "") {
    return connectNatsBus(opts.natsUrl, { ...opts.nats, name: opts.name, logger: opts.logger });
  }
  return new MemoryBroker().connect({ name: opts.name, logger: opts.logger });
}
export { type BusCounters, countedBus } from "./counted.js";
