/** How big and how long each section runs; `quick` takes about 2 minutes (watchdog 4), `full` under 15. */
export interface Profile {
  name: "quick" | "full";
  /** The whole run is stopped (and reported as failed) past this many seconds. */
  watchdogSeconds: number;
  messaging: {
    senders: number;
    receivers: number;
    /** The steps, in order (each its own window); see MessagingStep. */
    steps: MessagingStep[];
    warmupMs: number;
    durationMs: number;
    drainTimeoutMs: number;
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
    /** Agents of a further run on PostgreSQL+NATS where each agent has its own connection (0: no such run). */
    ownConnectionAgents: number;
    /** A further run with the agents spread over several gateways on one PostgreSQL+NATS (issue #15's 100,000). */
    spread?: { gateways: number; agentsPerGateway: number };
    /** WatchPresence streams open during the presence burst, and the new agents that join in it. */
    presenceWatchers: number;
    presenceJoins: number;
  };
  baselines: {
    pubSubMessages: number;
    largePubSubMessages: number;
  };
  ghz: { durationS: number; concurrency: number; connections: number };
}

/** One messaging step: what is offered, how many sends each sender keeps in flight, and through which RPC. */
export interface MessagingStep {
  payloadBytes: number;
  /** Offered msg/s in total; `null`: unthrottled (as fast as the in-flight bound lets the senders go). */
  rate: number | null;
  /** Sends (messages) in flight at once per sender; paced steps use it as a cap. */
  inFlightPerSender: number;
  /**
   * `batch`: each sender's due messages go out together in one SendBatch call, as the SDKs coalesce sends made
   * within a millisecond; `unary`: one Send call per message.
   */
  call: "batch" | "unary";
}

const step = (payloadBytes: number, rate: number | null, inFlightPerSender: number, call: "batch" | "unary" = "batch"): MessagingStep => ({
  payloadBytes,
  rate,
  inFlightPerSender,
  call,
});

export const QUICK: Profile = {
  name: "quick",
  watchdogSeconds: 240,
  messaging: {
    senders: 8,
    receivers: 8,
    steps: [
      step(128, null, 1),
      step(128, 2000, 32),
      step(128, 5000, 32),
      step(128, null, 32),
      step(128, null, 32, "unary"),
      step(4096, null, 32),
    ],
    warmupMs: 500,
    durationMs: 2000,
    drainTimeoutMs: 3000,
    maxUndelivered: 2000,
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
    ownConnectionAgents: 0,
    presenceWatchers: 100,
    presenceJoins: 1000,
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
    steps: [
      step(128, null, 1),
      step(128, null, 1, "unary"),
      step(128, 1000, 32),
      step(128, 2000, 32),
      step(128, 5000, 32),
      step(128, 10_000, 32),
      step(128, 20_000, 32),
      step(128, null, 32),
      step(128, null, 32, "unary"),
      step(4096, 1000, 32),
      step(4096, 5000, 32),
      step(4096, null, 32),
    ],
    warmupMs: 1000,
    durationMs: 6000,
    drainTimeoutMs: 15_000,
    maxUndelivered: 8000,
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
    ownConnectionAgents: 1000,
    spread: { gateways: 2, agentsPerGateway: 20_000 },
    presenceWatchers: 100,
    presenceJoins: 1000,
  },
  baselines: { pubSubMessages: 1_000_000, largePubSubMessages: 200_000 },
  ghz: { durationS: 10, concurrency: 50, connections: 1 },
};

/** Agents whose heartbeats the registry targets speak of. */
export const TARGET_AGENTS = 10_000;
