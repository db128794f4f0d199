import type { GatewayProcess } from "./gateway.js";
import type { Infra } from "./infra.js";
import { GroupMeter, ProcessMeter } from "./usage.js";

export interface GatewayUsage {
  gateway: string;
  cpuPercent: number;
  rssMaxMiB: number;
  rssEndMiB: number;
}

export interface WindowUsage {
  gateways: GatewayUsage[];
  /** PostgreSQL (all its processes), % of one core; absent on embedded setups. */
  postgresCpuPercent?: number;
  natsCpuPercent?: number;
  /** The load processes (or the coordinator), % of one core. */
  loadCpuPercent?: number;
}

/** CPU and RSS of everything a measurement window touches: gateways, PostgreSQL, NATS and the load. */
export class WindowMeters {
  private readonly gateways: ProcessMeter[];
  private readonly postgres: GroupMeter | undefined;
  private readonly nats: GroupMeter | undefined;
  private readonly load: GroupMeter;

  constructor(
    private readonly gws: GatewayProcess[],
    infra: Infra,
    opts: { postgres: boolean; loadPids: number[] },
  ) {
    this.gateways = gws.map((g) => new ProcessMeter(g.pid));
    this.postgres = opts.postgres ? new GroupMeter(() => infra.postgresPids()) : undefined;
    const natsPid = infra.natsPid();
    this.nats = opts.postgres && natsPid !== undefined ? new GroupMeter(() => [natsPid]) : undefined;
    this.load = new GroupMeter(() => opts.loadPids);
  }

  async start(): Promise<void> {
    await Promise.all(this.gateways.map((m) => m.start()));
    this.postgres?.start();
    this.nats?.start();
    this.load.start();
  }

  async stop(): Promise<WindowUsage> {
    const load = this.load.stop();
    const postgres = this.postgres?.stop();
    const nats = this.nats?.stop();
    const gws = await Promise.all(this.gateways.map((m) => m.stop()));
    return {
      gateways: gws.map((u, i) => ({ gateway: this.gws[i]!.name, ...u })),
      ...(postgres !== undefined && { postgresCpuPercent: postgres }),
      ...(nats !== undefined && { natsCpuPercent: nats }),
      loadCpuPercent: load,
    };
  }
}
