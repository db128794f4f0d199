import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { RpcMetrics } from "./rpc-metrics.js";

// Every metric a gateway exposes, in one catalogue (docs/operations.md lists them with the same words). One
// registry per gateway, not prom-client's global one: tests run several gateways in one process, and each must
// show its own figures. Names follow Prometheus conventions: `agentnet_` prefix, base units (seconds), counters
// ending in `_total`. Label values come from small fixed sets (methods, codes, statuses, writers, providers),
// never from ids or user input, so the series count stays bounded.

/** Latencies of calls and deliveries, in seconds: 0.5 ms to 30 s. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Provider answers take seconds, not milliseconds. */
const PROVIDER_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160];
/** Items per group-commit flush: 1 to the largest batch any writer takes (1,000). */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

export interface MetricsOptions {
  /** Node's default process metrics (CPU, memory, event-loop lag, GC): only when they will be scraped. */
  processMetrics?: boolean;
}

/** A gauge read when scraped. */
export type GaugeReader = () => number | Promise<number>;

/** One gateway's metrics. */
export class Metrics {
  readonly registry = new Registry();

  readonly rpc: RpcMetrics;

  /** Messages that reached each status here: stored (accepted), pushed (delivered), acked or expired. */
  readonly messages = new Counter({
    name: "agentnet_messages_total",
    help: "Messages that reached a status on this gateway, by status: accepted (stored), delivered (pushed to a stream), processed, rejected, expired.",
    labelNames: ["status"] as const,
    registers: [this.registry],
  });
  readonly redeliveries = new Counter({
    name: "agentnet_message_redeliveries_total",
    help: "Deliveries after the first of a message (its lease ran out, or the stream holding it closed unacked).",
    registers: [this.registry],
  });
  readonly deliveryLatency = new Histogram({
    name: "agentnet_message_delivery_seconds",
    help: "From a message's acceptance to its first push to a stream, in seconds (includes time waiting offline in the inbox).",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly requestReply = new Histogram({
    name: "agentnet_request_reply_seconds",
    help: "Request calls answered by a reply, from the request's storage to its reply reaching the caller, in seconds.",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly groupCommitBatch = new Histogram({
    name: "agentnet_group_commit_batch_size",
    help: "Items written per group-commit flush, by writer (messages, statuses, heartbeats, registrations, holds).",
    labelNames: ["writer"] as const,
    buckets: BATCH_BUCKETS,
    registers: [this.registry],
  });
  readonly groupCommitFlush = new Histogram({
    name: "agentnet_group_commit_flush_seconds",
    help: "Duration of one group-commit flush (one statement or transaction), by writer, in seconds.",
    labelNames: ["writer"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly heartbeats = new Counter({
    name: "agentnet_heartbeats_total",
    help: "Heartbeats answered by this gateway that renewed a session's lease.",
    registers: [this.registry],
  });
  readonly evictions = new Counter({
    name: "agentnet_session_evictions_total",
    help: "Sessions this gateway's sweeper took offline because their lease ran out.",
    registers: [this.registry],
  });

  readonly queryErrors = new Counter({
    name: "agentnet_store_query_errors_total",
    help: "Statements that failed in PostgreSQL or never reached it (lost connection, pool timeout).",
    registers: [this.registry],
  });
  readonly busPublished = new Counter({
    name: "agentnet_bus_published_total",
    help: "Messages this gateway published on the bus.",
    registers: [this.registry],
  });
  readonly busReceived = new Counter({
    name: "agentnet_bus_received_total",
    help: "Messages this gateway's bus subscriptions received.",
    registers: [this.registry],
  });
  readonly busReconnects = new Counter({
    name: "agentnet_bus_reconnects_total",
    help: "Times the bus connection came back after being lost.",
    registers: [this.registry],
  });

  readonly chatTurns = new Counter({
    name: "agentnet_chat_turns_total",
    help: "Chat-session turns answered by hosted agents, by provider and outcome (answered, failed, timeout).",
    labelNames: ["provider", "outcome"] as const,
    registers: [this.registry],
  });
  readonly providerLatency = new Histogram({
    name: "agentnet_chat_provider_seconds",
    help: "From a provider call's start to its last chunk, by provider, in seconds.",
    labelNames: ["provider"] as const,
    buckets: PROVIDER_BUCKETS,
    registers: [this.registry],
  });
  readonly providerErrors = new Counter({
    name: "agentnet_chat_provider_errors_total",
    help: "Provider calls that failed, by provider and reason (provider_error, provider_timeout).",
    labelNames: ["provider", "reason"] as const,
    registers: [this.registry],
  });
  readonly chatTokens = new Counter({
    name: "agentnet_chat_tokens_total",
    help: "Tokens used by hosted agents' answers (input and output; estimated when the provider reports none), by provider.",
    labelNames: ["provider"] as const,
    registers: [this.registry],
  });

  constructor(options: MetricsOptions = {}) {
    this.rpc = new RpcMetrics(this.registry, LATENCY_BUCKETS);
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** A gauge whose value is read from `read` at each scrape (a figure the gateway already keeps, or a cheap query). */
  gauge(name: string, help: string, read: GaugeReader): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        this.set(await read());
      },
    });
  }

  /** A gauge with one label, read from `read` at each scrape as a value per label value. */
  labelledGauge(name: string, help: string, label: string, read: () => Record<string, number>): void {
    new Gauge({
      name,
      help,
      labelNames: [label],
      registers: [this.registry],
      collect() {
        for (const [value, n] of Object.entries(read())) this.set({ [label]: value }, n);
      },
    });
  }

  /** The observer a group-commit writer reports its flushes to. */
  flushObserver(writer: string): FlushObserver {
    const batch = this.groupCommitBatch.labels(writer);
    const flush = this.groupCommitFlush.labels(writer);
    return (items, seconds) => {
      batch.observe(items);
      flush.observe(seconds);
    };
  }

  /** The text a Prometheus scrape gets. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** Told of each group-commit flush: how many items it wrote and how long it took. */
export type FlushObserver = (items: number, seconds: number) => void;
