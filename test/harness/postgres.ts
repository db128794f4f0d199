import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { appendFile, chown, mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { reapAfterExit } from "./cleanup.js";
import { freePort } from "./ports.js";

const run = promisify(execFile);

const PG_ROOT = "/usr/lib/postgresql";
/** PostgreSQL refuses to run as root; under root the server runs as this user (created by the Debian package). */
const UNPRIVILEGED_USERS = ["postgres", "nobody"];

export interface PostgresServer {
  /** Superuser URL of the `postgres` database, e.g. postgres://postgres@127.0.0.1:PORT/postgres. */
  url: string;
  port: number;
  /** Major version of the binaries that run it (the newest installed under /usr/lib/postgresql). */
  majorVersion: number;
  stop(): Promise<void>;
}

/** How pg_ctl stops a server: `fast` disconnects clients (57P01), `immediate` is a crash (recovery on start). */
export type ShutdownMode = "fast" | "immediate";

/** A server a test owns alone and may take down: for fault tests, never the run's shared one. */
export interface ControllablePostgres extends PostgresServer {
  /** `pg_ctl restart -m <mode>`; resolves once the server accepts connections again (same port, same data). */
  restart(mode: ShutdownMode): Promise<void>;
  /** Stops the server but keeps its data, until resume(). */
  halt(mode?: ShutdownMode): Promise<void>;
  /** Starts a halted server again; resolves once it accepts connections. */
  resume(): Promise<void>;
}

export interface PostgresBinaries {
  binDir: string;
  majorVersion: number;
}

/** The newest PostgreSQL installed by Debian's packages (/usr/lib/postgresql/<major>/bin). */
export async function findPostgresBinaries(): Promise<PostgresBinaries> {
  let versions: number[] = [];
  try {
    versions = (await readdir(PG_ROOT))
      .filter((d) => /^\d+$/.test(d) && existsSync(join(PG_ROOT, d, "bin", "initdb")))
      .map(Number)
      .sort((a, b) => b - a);
  } catch {
    // Missing directory: reported below.
  }
  const newest = versions[0];
  if (newest === undefined) {
    throw new Error(`PostgreSQL binaries not found under ${PG_ROOT}/<version>/bin: run scripts/setup.sh`);
  }
  return { binDir: join(PG_ROOT, String(newest), "bin"), majorVersion: newest };
}

interface RunAs {
  uid: number;
  gid: number;
  wrap(cmd: string, args: string[]): [string, string[]];
}

function unprivilegedUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const user of UNPRIVILEGED_USERS) {
    try {
      const uid = Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
      const gid = Number(execFileSync("id", ["-g", user], { encoding: "utf8" }).trim());
      // Absolute paths: root's PATH in CI or a container may lack the sbin directories.
      const runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].find((p) => existsSync(p));
      const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p)) ?? "setpriv";
      return {
        uid,
        gid,
        wrap: (cmd, args) =>
          runuser !== undefined
            ? [runuser, ["-u", user, "--", cmd, ...args]]
            : [setpriv, [`--reuid=${uid}`, `--regid=${gid}`, "--init-groups", "--", cmd, ...args]],
      };
    } catch {
      // No such user: try the next.
    }
  }
  throw new Error(
    `running as root, and PostgreSQL refuses to: no unprivileged user (${UNPRIVILEGED_USERS.join(", ")}) to run it as; run scripts/setup.sh`,
  );
}

/**
 * Starts a throwaway PostgreSQL: initdb into a fresh temporary directory, trust authentication, fsync
 * off, listening on 127.0.0.1 only, no Unix socket. stop() kills it and deletes everything. The run's shared
 * server comes from here; a fault test starts its own and uses restart/halt/resume. `durableCommits` turns
 * synchronous_commit back on: without it a crash (`-m immediate`) loses the last commits, as it would in production
 * with that setting, and a test of what a crash keeps needs it on. `durable` runs it as production does (and as
 * agentnet's embedded server always runs): fsync, synchronous_commit and full_page_writes on — the benchmark uses
 * it so that its PostgreSQL pays for the same durability as the embedded one.
 */
export async function startPostgres(options: { durableCommits?: boolean; durable?: boolean } = {}): Promise<ControllablePostgres> {
  const { binDir, majorVersion } = await findPostgresBinaries();
  const runAs = unprivilegedUser();
  const dir = await mkdtemp(join(tmpdir(), "agentnet-pg-"));
  const dataDir = join(dir, "data");
  const logFile = join(dir, "postgres.log");
  if (runAs) await chown(dir, runAs.uid, runAs.gid);

  const exec = async (tool: string, args: string[], what: string): Promise<void> => {
    const [cmd, argv] = runAs ? runAs.wrap(join(binDir, tool), args) : [join(binDir, tool), args];
    try {
      // cwd: the unprivileged user may not be allowed into the caller's working directory.
      await run(cmd, argv, { cwd: dir, env: { ...process.env, LC_ALL: "C", LANG: "C" } });
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      const log = await readFile(logFile, "utf8").catch(() => "");
      throw new Error(`${what} failed: ${(e.stderr || e.stdout || e.message).trim()}${log ? `\n--- postgres log ---\n${tail(log)}` : ""}`);
    }
  };

  let stopped = false;
  let unregister = () => {};
  // SIGQUIT is PostgreSQL's immediate shutdown; postmaster.pid's first line is its pid (new after each start).
  const watchPostmaster = async () => {
    unregister();
    const pid = Number((await readFile(join(dataDir, "postmaster.pid"), "utf8")).split("\n")[0]);
    unregister = reapAfterExit({ pid, signal: "QUIT", dir });
  };
  const forceStop = async () => {
    unregister();
    stopped = true;
    await exec("pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"], "pg_ctl stop").catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await exec("initdb", ["-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"], "initdb");
    // A port can be taken between choosing and binding it: try a few.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      await appendFile(
        join(dataDir, "postgresql.conf"),
        [
          "",
          "# agentnet test harness",
          `port = ${port}`,
          "listen_addresses = '127.0.0.1'",
          "unix_socket_directories = ''",
          `fsync = ${options.durable ? "on" : "off"}`,
          `synchronous_commit = ${options.durable || options.durableCommits ? "on" : "off"}`,
          `full_page_writes = ${options.durable ? "on" : "off"}`,
          "max_connections = 300",
          "log_min_messages = 'warning'",
          "",
        ].join("\n"),
      );
      try {
        await exec("pg_ctl", ["-D", dataDir, "-l", logFile, "-w", "-t", "60", "start"], "pg_ctl start");
        await watchPostmaster();
      } catch (err) {
        const log = await readFile(logFile, "utf8").catch(() => "");
        if (attempt < 3 && /could not bind|Address already in use/i.test(log)) continue;
        throw err;
      }
      return {
        url: `postgres://postgres@127.0.0.1:${port}/postgres`,
        port,
        majorVersion,
        restart: async (mode) => {
          if (stopped) throw new Error("restart after stop");
          await exec("pg_ctl", ["-D", dataDir, "-l", logFile, "-m", mode, "-w", "-t", "60", "restart"], `pg_ctl restart -m ${mode}`);
          await watchPostmaster();
        },
        halt: async (mode = "fast") => {
          if (stopped) throw new Error("halt after stop");
          await exec("pg_ctl", ["-D", dataDir, "-m", mode, "-w", "-t", "60", "stop"], `pg_ctl stop -m ${mode}`);
          unregister();
          unregister = () => {};
        },
        resume: async () => {
          if (stopped) throw new Error("resume after stop");
          await exec("pg_ctl", ["-D", dataDir, "-l", logFile, "-w", "-t", "60", "start"], "pg_ctl start");
          await watchPostmaster();
        },
        stop: async () => {
          if (stopped) return;
          unregister();
          stopped = true;
          try {
            await exec("pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"], "pg_ctl stop");
          } finally {
            await rm(dir, { recursive: true, force: true });
          }
        },
      };
    }
  } catch (err) {
    await forceStop();
    throw err;
  }
}

/**
 * Creates a fresh, uniquely named database on the server of `baseUrl` (whose role must be allowed to
 * create databases) and returns its URL: one per test file keeps files independent when they run in
 * parallel against one server.
 */
export async function createDatabase(baseUrl: string, prefix = "agentnet_test"): Promise<string> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops a database made by {@link createDatabase}, disconnecting whoever still uses it. */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = "/postgres";
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name.replaceAll('"', '""')}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

function tail(text: string, lines = 20): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
