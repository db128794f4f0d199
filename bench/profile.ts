/** How big and how long each section runs; `quick` must finish in under 2 minutes, `full` in under 15. */
export interface Profile {
  name: "quick" | "full";
  /** The whole run is stopped (and reported as failed) past this many seconds. */
  watchdogSeconds: number;
  messaging: {
    senders: number;
    receivers: number;
    /** Offered loads in msg/s for 128-byte payloads; `null` is the unthrottled step (flow-controlled maximum). */
    smallSteps: Array<number | null>;
    /** Offered loads for 4 KiB payloads. */
    largeSteps: Array<number | null>;
    warmupMs: number;
    durationMs: number;
    drainTimeoutMs: number;
    /** Sends in flight at once per load process (unthrottled steps and the cap of paced ones). */
    maxOutstandingSends: number;
    /** Messages sent but not yet received, per load process, before the unthrottled step waits. */
    maxUndelivered: number;
    /** Subscribe max_in_flight per receiver stream. */
    maxInFlight: number;
  };
  requestReply: {
    rates: number[];
    durationMs: number;
    /** Which setups run it (the first is compared with raw NATS). */
    setups: Array<"postgres+nats" | "embedded">;
  };
  registry: {
    agents: number;
    setups: Array<"embedded" | "postgres+nats">;
    /** Heartbeat windows measured, in heartbeat intervals. */
    intervals: number;
    searchQueries: number;
    listQueries: number;
    registerConcurrency: number;
    /** Subscribe streams per HTTP/2 connection (the server allows 1000 concurrent streams per connection). */
    streamsPerConnection: number;
  };
  baselines: {
    pubSubMessages: number;
    largePubSubMessages: number;
  };
  ghz: { durationS: number; concurrency: number; connections: number };
}

export const QUICK: Profile = {
  name: "quick",
  watchdogSeconds: 240,
  messaging: {
    senders: 8,
    receivers: 8,
    smallSteps: [1000, 5000, null],
    largeSteps: [null],
    warmupMs: 500,
    durationMs: 2000,
    drainTimeoutMs: 3000,
    maxOutstandingSends: 256,
    maxUndelivered: 1000,
    maxInFlight: 1000,
  },
  requestReply: { rates: [20, 200], durationMs: 2000, setups: ["postgres+nats"] },
  registry: {
    agents: 1000,
    setups: ["embedded"],
    intervals: 2,
    searchQueries: 60,
    listQueries: 30,
    registerConcurrency: 64,
    streamsPerConnection: 500,
  },
  baselines: { pubSubMessages: 200_000, largePubSubMessages: 50_000 },
  ghz: { durationS: 2, concurrency: 50, connections: 1 },
};

export const FULL: Profile = {
  name: "full",
  watchdogSeconds: 1200,
  messaging: {
    senders: 16,
    receivers: 16,
    smallSteps: [1000, 2000, 5000, 10_000, 20_000, null],
    largeSteps: [1000, 5000, null],
    warmupMs: 1000,
    durationMs: 6000,
    drainTimeoutMs: 15_000,
    maxOutstandingSends: 512,
    maxUndelivered: 4000,
    maxInFlight: 1000,
  },
  requestReply: { rates: [20, 100, 500, 1000], durationMs: 5000, setups: ["postgres+nats", "embedded"] },
  registry: {
    agents: 10_000,
    setups: ["embedded", "postgres+nats"],
    intervals: 2,
    searchQueries: 300,
    listQueries: 100,
    registerConcurrency: 64,
    streamsPerConnection: 500,
  },
  baselines: { pubSubMessages: 1_000_000, largePubSubMessages: 200_000 },
  ghz: { durationS: 10, concurrency: 50, connections: 1 },
};

/** Agents whose heartbeats the registry targets speak of. */
export const TARGET_AGENTS = 10_000;
