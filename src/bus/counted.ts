import type { Bus } from "./bus.js";

/** What a counted bus reports. */
export interface BusCounters {
  published(): void;
  received(): void;
  reconnected(): void;
}

/**
 * The bus, with every publish, every message handed to a subscription and every reconnect reported to
 * `counters`; otherwise the same bus (the same engine, the same errors).
 */
export function countedBus(bus: Bus, counters: BusCounters): Bus {
  bus.onConnectionChange((event) => {
    if (event === "reconnected") counters.reconnected();
  });
  return {
    kind: bus.kind,
    publish(subject, data, opts) {
      bus.publish(subject, data, opts);
      counters.published();
    },
    subscribe(subject, handler, opts) {
      return bus.subscribe(
        subject,
        (msg) => {
          counters.received();
          return handler(msg);
        },
        opts,
      );
    },
    request: (subject, data, opts) => {
      counters.published();
      return bus.request(subject, data, opts);
    },
    onConnectionChange: (listener) => bus.onConnectionChange(listener),
    flush: () => bus.flush(),
    close: () => bus.close(),
  };
}
