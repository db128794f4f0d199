import pg from "pg";
import { type NatsServer, startNats } from "../test/harness/nats.js";
import { createDatabase, type PostgresServer, startPostgres } from "../test/harness/postgres.js";
import { benchCredential } from "./clients.js";
import { type GatewayProcess, startGatewayProcess } from "./gateway.js";
import { findProcess, parentPid, withChildren } from "./usage.js";

// What the gateways stand on: one throwaway PostgreSQL and one nats-server for the whole run (the test harness
// starts them on free loopback ports and deletes them afterwards), a fresh database per backend.

export type SetupName = "embedded" | "postgres+nats" | "postgres+nats, 2 gateways";

export interface Infra {
  postgres(): Promise<PostgresServer>;
  nats(): Promise<NatsServer>;
  /** PostgreSQL's processes (postmaster and backends), for CPU accounting. */
  postgresPids(): number[];
  natsPid(): number | undefined;
  stop(): Promise<void>;
}

export function createInfra(): Infra {
  let pgServer: Promise<PostgresServer> | undefined;
  let natsServer: Promise<NatsServer> | undefined;
  let postmaster: number | undefined;
  let natsProcess: number | undefined;
  return {
    postgres() {
      pgServer ??= startPostgres().then(async (server) => {
        // The harness does not expose the postmaster's pid: a backend's parent is it.
        const client = new pg.Client({ connectionString: server.url });
        await client.connect();
        const { rows } = await client.query<{ pid: number }>("select pg_backend_pid() as pid");
        // Read while the backend still exists.
        postmaster = parentPid(rows[0]!.pid);
        await client.end();
        return server;
      });
      return pgServer;
    },
    nats() {
      natsServer ??= startNats().then((server) => {
        natsProcess = findProcess(["nats-server", String(server.port)]);
        return server;
      });
      return natsServer;
    },
    postgresPids: () => (postmaster === undefined ? [] : withChildren(postmaster)),
    natsPid: () => natsProcess,
    async stop() {
      const [p, n] = await Promise.allSettled([pgServer, natsServer]);
      if (p.status === "fulfilled" && p.value) await p.value.stop().catch(() => undefined);
      if (n.status === "fulfilled" && n.value) await n.value.stop().catch(() => undefined);
    },
  };
}

/** One store and bus with the gateways on it, and the credential the bench's agents use. */
export interface Backend {
  setup: SetupName;
  gateways: GatewayProcess[];
  apiKey: string;
  adminToken: string;
  /** Env of its gateways (for starting another on the same backend). */
  env: Record<string, string>;
  usesPostgres: boolean;
  stop(): Promise<void>;
}

export interface BackendOptions {
  logLevel: string;
  cpuProfileDir?: string | undefined;
  nodeArgs?: string[] | undefined;
  /** Extra environment for the gateways (e.g. heartbeat interval). */
  env?: Record<string, string>;
}

/** A fresh backend with one gateway: PGlite + in-process bus, or a new database on the run's PostgreSQL + NATS. */
export async function startBackend(infra: Infra, kind: "embedded" | "postgres+nats", name: string, opts: BackendOptions): Promise<Backend> {
  const env: Record<string, string> = { ...opts.env };
  if (kind === "postgres+nats") {
    const [pgServer, nats] = await Promise.all([infra.postgres(), infra.nats()]);
    env["DATABASE_URL"] = await createDatabase(pgServer.url, "agentnet_bench");
    env["NATS_URL"] = nats.url;
  }
  const first = await startGatewayProcess({ name, env, logLevel: opts.logLevel, cpuProfileDir: opts.cpuProfileDir, nodeArgs: opts.nodeArgs });
  const gateways = [first];
  try {
    const { apiKey, adminToken } = await benchCredential(first.url);
    return {
      setup: kind,
      gateways,
      apiKey,
      adminToken,
      env,
      usesPostgres: kind === "postgres+nats",
      async stop() {
        await Promise.all(gateways.map((g) => g.stop()));
      },
    };
  } catch (err) {
    await first.stop();
    throw err;
  }
}

/** Adds a gateway on the same PostgreSQL and NATS. */
export async function addGateway(backend: Backend, name: string, opts: BackendOptions): Promise<GatewayProcess> {
  const gw = await startGatewayProcess({ name, env: backend.env, logLevel: opts.logLevel, cpuProfileDir: opts.cpuProfileDir, nodeArgs: opts.nodeArgs });
  backend.gateways.push(gw);
  return gw;
}
