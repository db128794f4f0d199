import type { GatewayProcess } from "./gateway.js";
import type { Backend, Infra } from "./infra.js";
import { GroupMeter, ProcessMeter } from "./usage.js";

export interface GatewayUsage {
  gateway: string;
  cpuPercent: number;
  rssMaxMiB: number;
  rssEndMiB: number;
}

export interface WindowUsage {
  gateways: GatewayUsage[];
  /**
   * PostgreSQL (postmaster and all its children), % of one core: the run's shared server on the postgres+nats
   * setups, the gateway's own embedded server on the embedded one.
   */
  postgresCpuPercent?: number;
  /** Sum of PostgreSQL's processes' RSS at the end of the window, MiB (shared memory counted once per process). */
  postgresRssEndMiB?: number;
  /** Largest such sum during the window (sampled every second), MiB. */
  postgresRssMaxMiB?: number;
  /** Sum of their PSS at the end of the window (shared pages split among the processes), MiB; absent if unreadable. */
  postgresPssEndMiB?: number;
  /** PostgreSQL processes at the end of the window. */
  postgresProcesses?: number;
  natsCpuPercent?: number;
  /** The load processes (or the coordinator), % of one core. */
  loadCpuPercent?: number;
}

/** CPU and RSS of everything a measurement window touches: gateways, PostgreSQL, NATS and the load. */
export class WindowMeters {
  private readonly gateways: ProcessMeter[];
  private readonly postgres: GroupMeter;
  private readonly nats: GroupMeter | undefined;
  private readonly load: GroupMeter;

  constructor(
    private readonly gws: GatewayProcess[],
    infra: Infra,
    opts: { backend: Backend; loadPids: number[] },
  ) {
    this.gateways = gws.map((g) => new ProcessMeter(g.pid));
    const { backend } = opts;
    // Both setups have a PostgreSQL, measured alike; only postgres+nats has a nats-server.
    this.postgres = new GroupMeter(
      () => backend.postgresPids(),
      () => backend.postmasterPid(),
    );
    const natsPid = infra.natsPid();
    this.nats = backend.usesNats && natsPid !== undefined ? new GroupMeter(() => [natsPid]) : undefined;
    this.load = new GroupMeter(() => opts.loadPids);
  }

  async start(): Promise<void> {
    await Promise.all(this.gateways.map((m) => m.start()));
    this.postgres.start({ sampleMemory: true });
    this.nats?.start();
    this.load.start();
  }

  async stop(): Promise<WindowUsage> {
    const load = this.load.stop();
    const postgres = this.postgres.stopWithMemory();
    const nats = this.nats?.stop();
    const gws = await Promise.all(this.gateways.map((m) => m.stop()));
    return {
      gateways: gws.map((u, i) => ({ gateway: this.gws[i]!.name, ...u })),
      ...(postgres.memory.processes > 0 && {
        postgresCpuPercent: postgres.cpuPercent,
        postgresRssEndMiB: postgres.memory.rssMiB,
        postgresRssMaxMiB: postgres.rssMaxMiB,
        ...(postgres.memory.pssMiB !== undefined && { postgresPssEndMiB: postgres.memory.pssMiB }),
        postgresProcesses: postgres.memory.processes,
      }),
      ...(nats !== undefined && { natsCpuPercent: nats }),
      loadCpuPercent: load,
    };
  }
}
