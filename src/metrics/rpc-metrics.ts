import { Code } from "@connectrpc/connect";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

// Every call passes here once (unary and streaming, over gRPC, gRPC-Web and Connect), so the label lookup is kept
// off the hot path: prom-client hashes a call's labels on every observation unless given the bound child, so
// children are bound once per method and code and kept.

interface Bound {
  count: { inc(): void };
  duration: { observe(seconds: number): void };
}

/** Calls by service, method and code; unary latency; open streams. */
export class RpcMetrics {
  private readonly requests: Counter<"service" | "method" | "code">;
  private readonly duration: Histogram<"service" | "method" | "code">;
  private readonly streams: Gauge<"service" | "method">;
  private readonly bound = new Map<string, Bound>();
  private readonly streamGauges = new Map<string, { inc(): void; dec(): void }>();

  constructor(registry: Registry, buckets: number[]) {
    this.requests = new Counter({
      name: "agentnet_rpc_requests_total",
      help: "Finished calls, by service, method and status code (ok, invalid_argument, unavailable, …); streams count when they end.",
      labelNames: ["service", "method", "code"] as const,
      registers: [registry],
    });
    this.duration = new Histogram({
      name: "agentnet_rpc_duration_seconds",
      help: "Duration of unary calls, from the request's arrival to the answer, by service, method and code, in seconds.",
      labelNames: ["service", "method", "code"] as const,
      buckets,
      registers: [registry],
    });
    this.streams = new Gauge({
      name: "agentnet_rpc_open_streams",
      help: "Server streams open now (Subscribe, WatchPresence, StreamEvents, …), by service and method.",
      labelNames: ["service", "method"] as const,
      registers: [registry],
    });
  }

  /**
   * One finished call. `method` is "package.Service/Method"; `code` undefined is OK; `seconds` only for unary calls
   * (a stream's life says nothing about latency).
   */
  finished(method: string, code: Code | undefined, seconds: number | undefined): void {
    const key = code === undefined ? method : `${method} ${code}`;
    let bound = this.bound.get(key);
    if (bound === undefined) {
      const labels = { ...split(method), code: codeName(code) };
      bound = { count: this.requests.labels(labels), duration: this.duration.labels(labels) };
      this.bound.set(key, bound);
    }
    bound.count.inc();
    if (seconds !== undefined) bound.duration.observe(seconds);
  }

  /**
   * The open-streams gauge of a method: `inc()` when a stream opens, `dec()` once when it ends. One child per method,
   * kept (nothing is allocated per stream: a stream lives as long as its agent is connected).
   */
  openStreams(method: string): { inc(): void; dec(): void } {
    let gauge = this.streamGauges.get(method);
    if (gauge === undefined) {
      gauge = this.streams.labels(split(method));
      this.streamGauges.set(method, gauge);
    }
    return gauge;
  }
}

function split(method: string): { service: string; method: string } {
  const slash = method.lastIndexOf("/");
  return { service: method.slice(0, slash), method: method.slice(slash + 1) };
}

/** gRPC's status names in Connect's spelling: "ok", "not_found", "resource_exhausted". */
export function codeName(code: Code | undefined): string {
  if (code === undefined) return "ok";
  return Code[code].replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`));
}
