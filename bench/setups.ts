import { addGateway, type Backend, type BackendOptions, type Infra, startBackend } from "./infra.js";
import type { GatewayProcess } from "./gateway.js";

/**
 * The backends sections share during a run, started on first use and stopped at the end: the embedded one and
 * the PostgreSQL + NATS one (to which the two-gateway setup adds a second gateway for its own measurements).
 */
export class Setups {
  private embedded: Promise<Backend> | undefined;
  private postgres: Promise<Backend> | undefined;
  private extra = 0;

  constructor(
    readonly infra: Infra,
    readonly options: BackendOptions,
  ) {}

  embeddedBackend(): Promise<Backend> {
    this.embedded ??= startBackend(this.infra, "embedded", "embedded", this.options);
    return this.embedded;
  }

  postgresBackend(): Promise<Backend> {
    this.postgres ??= startBackend(this.infra, "postgres+nats", "pg-gw1", this.options);
    return this.postgres;
  }

  backend(kind: "embedded" | "postgres+nats"): Promise<Backend> {
    return kind === "embedded" ? this.embeddedBackend() : this.postgresBackend();
  }

  /** A second gateway on the PostgreSQL + NATS backend; the caller stops it with {@link removeGateway}. */
  async secondGateway(): Promise<GatewayProcess> {
    const backend = await this.postgresBackend();
    return addGateway(backend, `pg-gw${2 + this.extra++}`, this.options);
  }

  async removeGateway(gw: GatewayProcess): Promise<void> {
    const backend = await this.postgresBackend();
    backend.gateways.splice(backend.gateways.indexOf(gw), 1);
    await gw.stop();
  }

  /** A backend of its own (for measurements that need a fresh gateway); the caller stops it. */
  fresh(kind: "embedded" | "postgres+nats", name: string, env: Record<string, string> = {}): Promise<Backend> {
    return startBackend(this.infra, kind, name, { ...this.options, env: { ...this.options.env, ...env } });
  }

  async stop(): Promise<void> {
    const all = await Promise.allSettled([this.embedded, this.postgres]);
    await Promise.all(all.map((r) => (r.status === "fulfilled" && r.value ? r.value.stop() : undefined)));
  }
}
