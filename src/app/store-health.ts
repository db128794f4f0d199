import { sql } from "kysely";
import type { Logger } from "pino";
import { type HealthStatusRegistry, OVERALL_SERVICE, ServingStatus } from "../server/health.js";
import { type Service, runPeriodically } from "../lifecycle/index.js";
import type { Store } from "../store/database.js";

// Health follows the database: every RPC of agentnet's services needs PostgreSQL, so while it cannot be reached
// the gateway says NOT_SERVING (a load balancer or probe then sends callers to a gateway that can answer, or
// shows the outage), and SERVING again once a query goes through. Health and reflection keep answering.

/** Between probes. A probe is `select 1` on a pooled connection: nothing next to the message path's traffic. */
export const STORE_PROBE_INTERVAL_MS = 2_000;
/** A probe that has not answered by then counts as a failure (a server that hangs is as down as one that refuses). */
export const STORE_PROBE_TIMEOUT_MS = 3_000;

export interface StoreHealthOptions {
  store: Store;
  health: HealthStatusRegistry;
  /** The services that need the database (the overall status "" is always flipped with them). */
  services: readonly string[];
  logger: Logger;
  intervalMs?: number;
  timeoutMs?: number;
}

export class StoreHealth implements Service {
  private reachable = true;
  private readonly names: string[];

  constructor(private readonly o: StoreHealthOptions) {
    this.names = [OVERALL_SERVICE, ...o.services];
  }

  run(signal: AbortSignal): Promise<void> {
    return runPeriodically(signal, { intervalMs: this.o.intervalMs ?? STORE_PROBE_INTERVAL_MS, pass: () => this.probe() });
  }

  /** One probe; flips health when reachability changed. */
  async probe(): Promise<void> {
    const failure = await this.query();
    if (failure === undefined) {
      if (this.reachable) return;
      this.reachable = true;
      this.o.health.setStatuses(this.names, ServingStatus.SERVING);
      this.o.logger.info("database reachable again: health SERVING");
    } else {
      if (!this.reachable) return;
      this.reachable = false;
      this.o.health.setStatuses(this.names, ServingStatus.NOT_SERVING);
      this.o.logger.warn({ err: failure }, "database unreachable: health NOT_SERVING until it answers");
    }
  }

  /** Undefined when the database answered; else why not. */
  private async query(): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = this.o.timeoutMs ?? STORE_PROBE_TIMEOUT_MS;
    const timedOut = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`no answer to a probe within ${timeoutMs} ms`), timeoutMs);
    });
    try {
      return await Promise.race([
        sql`select 1`.execute(this.o.store.db).then(
          () => undefined,
          (err: unknown) => String(err),
        ),
        timedOut,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
