// grpc.health.v1.Health (https://github.com/grpc/grpc/blob/master/doc/health-checking.md) for Connect,
// backed by an in-process status registry. Load balancers, Kubernetes probes and grpc-health-probe
// speak this protocol; the server flips everything to NOT_SERVING on shutdown so they drain first.
import { Code, ConnectError } from "@connectrpc/connect";
import type { ConnectRouter, HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { LiveStream } from "../streams/index.js";

export { ServingStatus };

/** The empty name is the server as a whole, as the health-checking protocol defines it. */
export const OVERALL_SERVICE = "";

/** The List limit from health.proto: more services than this is RESOURCE_EXHAUSTED. */
const MAX_LISTED_SERVICES = 100;

export class HealthStatusRegistry {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<string, Set<LiveStream<ServingStatus>>>();
  private down = false;

  /** Starts with the overall service "" and each named service SERVING (or `initial`). */
  constructor(services: Iterable<string> = [], initial: ServingStatus = ServingStatus.SERVING) {
    this.statuses.set(OVERALL_SERVICE, initial);
    for (const service of services) this.statuses.set(service, initial);
  }

  get isShutdown(): boolean {
    return this.down;
  }

  /** Undefined for a service nobody registered. */
  getStatus(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /** A snapshot; includes the overall service "". */
  snapshot(): ReadonlyMap<string, ServingStatus> {
    return new Map(this.statuses);
  }

  /**
   * Registers or updates a service. Ignored after shutdown(), so a late component reporting SERVING
   * cannot send traffic back to a draining server (grpc-go behaves the same way).
   */
  setStatus(service: string, status: ServingStatus): void {
    if (this.down) return;
    this.update(service, status);
  }

  /** Sets several services at once (see setStatus). */
  setStatuses(services: Iterable<string>, status: ServingStatus): void {
    for (const service of services) this.setStatus(service, status);
  }

  /** Everything goes NOT_SERVING, every Watch stream gets that status and then ends. Idempotent. */
  shutdown(): void {
    if (this.down) return;
    this.down = true;
    for (const service of this.statuses.keys()) this.update(service, ServingStatus.NOT_SERVING);
    // Each watcher still gets the NOT_SERVING just pushed, then its stream ends.
    for (const set of this.watchers.values()) for (const watcher of set) watcher.end();
  }

  /**
   * The current status first (SERVICE_UNKNOWN for an unknown service, without ending), then each
   * change. Ends after shutdown() or when `signal` aborts.
   */
  async *watch(service: string, signal?: AbortSignal): AsyncGenerator<ServingStatus, void, undefined> {
    // A slow watcher only ever sees the newest status: a one-item buffer that keeps the latest.
    const watcher = new LiveStream<ServingStatus>({ signal, limit: 1, overflow: { policy: "drop-oldest" } });
    watcher.push(this.statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN);
    if (this.down) watcher.end();
    let set = this.watchers.get(service);
    if (set === undefined) {
      set = new Set();
      this.watchers.set(service, set);
    }
    set.add(watcher);
    let last: ServingStatus | undefined;
    try {
      for await (const status of watcher) {
        // A change and its reversal between two reads coalesce into the status the watcher already has.
        if (status === last) continue;
        last = status;
        yield status;
      }
    } finally {
      watcher.close();
      set.delete(watcher);
      if (set.size === 0) this.watchers.delete(service);
    }
  }

  private update(service: string, status: ServingStatus): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    for (const watcher of this.watchers.get(service) ?? []) watcher.push(status);
  }
}

function serviceNotFound(service: string): ConnectError {
  return new ConnectError(`unknown service "${service}"`, Code.NotFound, undefined, [
    { desc: ErrorInfoSchema, value: { reason: "service_not_found", domain: "agentnet.dev", metadata: { service } } },
  ]);
}

export function createHealthServiceImpl(registry: HealthStatusRegistry): ServiceImpl<typeof Health> {
  return {
    check(request) {
      const status = registry.getStatus(request.service);
      if (status === undefined) throw serviceNotFound(request.service);
      return { status };
    },
    list() {
      const statuses = registry.snapshot();
      if (statuses.size > MAX_LISTED_SERVICES) {
        throw new ConnectError(`more than ${MAX_LISTED_SERVICES} services`, Code.ResourceExhausted);
      }
      return { statuses: Object.fromEntries([...statuses].map(([name, status]) => [name, { status }])) };
    },
    async *watch(request, context: HandlerContext) {
      for await (const status of registry.watch(request.service, context.signal)) yield { status };
    },
  };
}

/** For `connectNodeAdapter({ routes })`: registers grpc.health.v1.Health. */
export function healthRoutes(registry: HealthStatusRegistry): (router: ConnectRouter) => void {
  return (router) => {
    router.service(Health, createHealthServiceImpl(registry));
  };
}
