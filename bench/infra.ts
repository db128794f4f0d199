import pg from "pg";
import { type NatsServer, startNats } from "../test/harness/nats.js";
import { createDatabase, type PostgresServer, startPostgres } from "../test/harness/postgres.js";
import { benchCredential } from "./clients.js";
import { type GatewayProcess, startGatewayProcess } from "./gateway.js";
import { findProcess, parentPid, withChildren } from "./usage.js";

// What the gateways stand on. postgres+nats: one throwaway PostgreSQL and one nats-server for the whole run (the
// test harness starts them on free loopback ports and deletes them afterwards), a fresh database per backend.
// embedded: no DATABASE_URL, so the gateway starts its own PostgreSQL server in its data folder and uses its
// in-process bus. Both PostgreSQLs are durable (fsync, synchronous_commit and full_page_writes on), as the
// embedded one always is and production runs: a benchmark of the shared server with fsync off would compare a
// server that skips the disk with one that does not.

export type SetupName = "embedded" | "postgres+nats" | "postgres+nats, 2 gateways";

export interface Infra {
  postgres(): Promise<PostgresServer>;
  nats(): Promise<NatsServer>;
  /** The shared PostgreSQL's postmaster, once started. */
  postmasterPid(): number | undefined;
  /** The shared PostgreSQL's processes (postmaster and its children), for CPU and memory accounting. */
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
      pgServer ??= startPostgres({ durable: true }).then(async (server) => {
        // The harness does not expose the postmaster's pid: a backend's parent is it.
        const client = new pg.Client({ connectionString: server.url });
        await client.connect();
        try {
          const { rows } = await client.query<{ pid: number }>("select pg_backend_pid() as pid");
          // Read while the backend still exists.
          postmaster = parentPid(rows[0]!.pid);
          // The comparison with the embedded server is only fair if this one pays for durability too.
          const settings = await client.query<{ name: string; setting: string }>(
            "select name, setting from pg_settings where name in ('fsync', 'synchronous_commit', 'full_page_writes')",
          );
          const off = settings.rows.filter((r) => r.setting !== "on");
          if (off.length > 0 || settings.rows.length !== 3) {
            throw new Error(
              `the bench's PostgreSQL is not durable (${off.map((r) => `${r.name}=${r.setting}`).join(", ")}): startPostgres({ durable: true }) must turn fsync, synchronous_commit and full_page_writes on`,
            );
          }
        } catch (err) {
          await server.stop().catch(() => undefined);
          throw err;
        } finally {
          await client.end().catch(() => undefined);
        }
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
    postmasterPid: () => postmaster,
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
  /** Its gateways share the run's nats-server (postgres+nats); the embedded gateway's bus is in-process. */
  usesNats: boolean;
  /** Its PostgreSQL's postmaster: the run's shared server, or the embedded gateway's own. */
  postmasterPid(): number | undefined;
  /** Its PostgreSQL's processes (postmaster and its children), for CPU and memory accounting. */
  postgresPids(): number[];
  stop(): Promise<void>;
}

export interface BackendOptions {
  logLevel: string;
  cpuProfileDir?: string | undefined;
  nodeArgs?: string[] | undefined;
  /** --max-semi-space-size of the gateways, MiB (default 16, as `npm start`). */
  semiSpaceMiB?: number | undefined;
  /** Extra environment for the gateways (e.g. heartbeat interval). */
  env?: Record<string, string>;
}

/**
 * A fresh backend with one gateway: its embedded PostgreSQL (in its data folder) + in-process bus, or a new
 * database on the run's PostgreSQL + NATS.
 */
export async function startBackend(infra: Infra, kind: "embedded" | "postgres+nats", name: string, opts: BackendOptions): Promise<Backend> {
  const env: Record<string, string> = { ...opts.env };
  if (kind === "postgres+nats") {
    const [pgServer, nats] = await Promise.all([infra.postgres(), infra.nats()]);
    env["DATABASE_URL"] = await createDatabase(pgServer.url, "agentnet_bench");
    env["NATS_URL"] = nats.url;
  }
  const first = await startGatewayProcess({
    name,
    env,
    logLevel: opts.logLevel,
    cpuProfileDir: opts.cpuProfileDir,
    nodeArgs: opts.nodeArgs,
    semiSpaceMiB: opts.semiSpaceMiB,
  });
  const gateways = [first];
  // The embedded server's postmaster is read from the data folder once the gateway is serving.
  const postmasterPid = kind === "embedded" ? () => first.embeddedPostmasterPid : () => infra.postmasterPid();
  try {
    const { apiKey, adminToken } = await benchCredential(first.url);
    return {
      setup: kind,
      gateways,
      apiKey,
      adminToken,
      env,
      usesNats: kind === "postgres+nats",
      postmasterPid,
      postgresPids: () => {
        const pid = postmasterPid();
        return pid === undefined ? [] : withChildren(pid);
      },
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
  const gw = await startGatewayProcess({
    name,
    env: backend.env,
    logLevel: opts.logLevel,
    cpuProfileDir: opts.cpuProfileDir,
    nodeArgs: opts.nodeArgs,
    semiSpaceMiB: opts.semiSpaceMiB,
  });
  backend.gateways.push(gw);
  return gw;
}
