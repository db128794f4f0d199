import { type ChildProcess, execFile, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, renameSync, statSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, readFile, rm, rmdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { type ServerAccount, type Views, serverAccount, serverCommand, serverEnv } from "./account.js";
import { type Binaries, findBinaries } from "./binaries.js";
import { type Lock, type LockHolder, acquireLock, processExists } from "./lock.js";
import { serverSettings } from "./settings.js";

const run = promisify(execFile);

/** The role and database agentnet uses on its embedded server (initdb makes the role its superuser). */
export const EMBEDDED_USER = "agentnet";
export const EMBEDDED_DATABASE = "agentnet";

/** Where things live in a data folder. */
export function layout(dataDir: string) {
  const cluster = path.join(dataDir, "postgres");
  return {
    cluster,
    /** The server's Unix socket is in the cluster folder (mode 0700: only the server's user and root get in). */
    socket: path.join(cluster, ".s.PGSQL.5432"),
    log: path.join(dataDir, "postgres.log"),
    lock: path.join(dataDir, "agentnet.lock"),
    /** Where agentnet before 0.2 kept its PGlite database. */
    pglite: path.join(dataDir, "pgdata"),
  };
}

/** How clients reach the server: pg's `host` is the socket's folder. */
export interface EmbeddedConnection {
  host: string;
  user: string;
  database: string;
}

/** A URL another process (a second gateway, psql) can use to share the embedded server while it runs. */
export function shareUrl(connection: EmbeddedConnection): string {
  // No authority: a URL with a user but no host is not a URL to WHATWG's parser (DATABASE_URL is checked with it).
  return `postgresql:///${connection.database}?host=${encodeURIComponent(connection.host)}&user=${connection.user}`;
}

export interface EmbeddedLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface EmbeddedOptions {
  dataDir: string;
  /** The agentnet command, for the lock file and for messages to whoever finds it held ("serve", "users add"). */
  command: string;
  /**
   * `serve` needs the server for itself: a data folder in use by another process is an error. A one-shot command
   * shares the server of a running gateway, and starts one for its own run otherwise.
   */
  exclusive: boolean;
  /** Connections the caller's pool opens (sizes max_connections). */
  poolSize: number;
  /** Server settings over agentnet's own (the test harness trades durability for speed with fsync=off). */
  overrides?: Record<string, string> | undefined;
  logger?: EmbeddedLogger | undefined;
}

/** An embedded server this process started (`owned`) or shares with the gateway that started it. */
export interface EmbeddedServer {
  readonly connection: EmbeddedConnection;
  readonly owned: boolean;
  /** "17.10". */
  readonly version: string;
  readonly cluster: string;
  readonly logFile: string;
  /** Postmaster's pid, when owned. */
  readonly pid: number | undefined;
  /** The process that started the server, when shared. */
  readonly owner?: LockHolder | undefined;
  /** Called once if the server exits without being asked to (only for an owned server). */
  onUnexpectedExit(listener: (err: Error) => void): void;
  /** Stops an owned server (fast shutdown) and releases the data folder; nothing for a shared one. Idempotent. */
  stop(): Promise<void>;
}

/** The embedded server cannot be used; the message is one line fit for an operator. */
export class EmbeddedError extends Error {
  override name = "EmbeddedError";
}

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
const LOG_ROTATE_BYTES = 10 * 1024 * 1024;
/** sun_path is 108 bytes on Linux (104 on macOS), including the terminating NUL. */
const MAX_SOCKET_PATH = process.platform === "darwin" ? 103 : 107;

/**
 * Starts (or, for a one-shot command, joins) the PostgreSQL server of a data folder: initialises the cluster on
 * first use, stops a server left behind by a killed gateway, and waits until it accepts connections.
 */
export async function openEmbedded(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const { dataDir } = options;
  const where = layout(dataDir);
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new EmbeddedError(`cannot create the data folder ${dataDir}: ${message(err)}`);
  }
  refusePGlite(where);
  if (Buffer.byteLength(where.socket) > MAX_SOCKET_PATH) {
    throw new EmbeddedError(
      `the data folder's path is too long for the embedded PostgreSQL's socket (${where.socket}, ${Buffer.byteLength(where.socket)} bytes, at most ${MAX_SOCKET_PATH}): set AGENTNET_DATA_DIR to a shorter path`,
    );
  }
  const connection: EmbeddedConnection = { host: where.cluster, user: EMBEDDED_USER, database: EMBEDDED_DATABASE };

  const [binaries, account] = await Promise.all([findBinaries(), serverAccount()]);
  const viewsDir = account.kind === "unprivileged" && account.isolate ? await makeViews() : undefined;
  const holder: LockHolder = {
    pid: process.pid,
    command: options.command,
    startedAt: new Date().toISOString(),
    socketDir: where.cluster,
    viewsDir,
  };
  const acquired = await acquireLock(where.lock, holder);
  if ("held" in acquired) {
    if (viewsDir) await removeViews(viewsDir);
    const other = acquired.held;
    const who = `agentnet ${other.command} (pid ${other.pid}${other.startedAt ? `, since ${other.startedAt}` : ""})`;
    if (options.exclusive) {
      throw new EmbeddedError(
        `${who} is already running on the data folder ${dataDir}: stop it first, use another AGENTNET_DATA_DIR, or share its database with DATABASE_URL=${shareUrl(connection)}`,
      );
    }
    if (!existsSync(where.socket))
      throw new EmbeddedError(`${who} holds the data folder ${dataDir} but its database is not up yet; try again`);
    return shared(connection, binaries, where, other);
  }
  const { lock, stale } = acquired;
  try {
    if (stale?.viewsDir) await removeViews(stale.viewsDir);
    await stopLeftover(where.cluster, options.logger);
    const views: Views | undefined = viewsDir
      ? { cluster: [where.cluster, path.join(viewsDir, "data")], native: [binaries.nativeDir, path.join(viewsDir, "native")] }
      : undefined;
    const initialised = await initialise(where, binaries, account, views, options.logger);
    const server = await launch({
      where,
      binaries,
      account,
      views,
      connection,
      lock,
      viewsDir,
      poolSize: options.poolSize,
      overrides: options.overrides,
    });
    try {
      await ensureDatabase(connection);
    } catch (err) {
      await server.stop();
      throw err;
    }
    options.logger?.info(
      { cluster: where.cluster, version: binaries.version, pid: server.pid, log: where.log, initialised },
      `embedded PostgreSQL ${binaries.version} ${initialised ? "initialised and " : ""}started in ${where.cluster}`,
    );
    return server;
  } catch (err) {
    await lock.release();
    if (viewsDir) await removeViews(viewsDir);
    throw err;
  }
}

function refusePGlite(where: ReturnType<typeof layout>): void {
  if (existsSync(path.join(where.pglite, "PG_VERSION")) && !existsSync(path.join(where.cluster, "PG_VERSION"))) {
    throw new EmbeddedError(
      `the data folder ${path.dirname(where.pglite)} holds a database written by PGlite (agentnet 0.1), which this version no longer runs and cannot convert: move ${where.pglite} away (or set AGENTNET_DATA_DIR to a new folder) to start with an empty database, or keep running agentnet 0.1 on it`,
    );
  }
}

/** Mount points for the server's private view of the cluster and the binaries (see serverCommand). */
async function makeViews(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "agentnet-pg-"));
  await chmod(dir, 0o755);
  await mkdir(path.join(dir, "data"), { mode: 0o755 });
  await mkdir(path.join(dir, "native"), { mode: 0o755 });
  return dir;
}

/** Removes mount-point folders; rmdir only, so a folder that is somehow not empty is left alone. */
async function removeViews(dir: string): Promise<void> {
  for (const sub of ["data", "native"]) await rmdir(path.join(dir, sub)).catch(() => undefined);
  await rmdir(dir).catch(() => undefined);
}

/** The postmaster pid recorded in the cluster (first line of postmaster.pid), if any. */
async function postmasterPid(cluster: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(path.join(cluster, "postmaster.pid"), "utf8")).split("\n")[0]);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A gateway killed with SIGKILL leaves its server running (it runs in its own process group so that a Ctrl-C
 * reaches the gateway first, which then stops it in order). Whoever takes the lock next stops that server — it
 * serves nobody — and starts clean. A postmaster.pid naming a process that is not PostgreSQL (a pid reused after
 * a reboot) is removed; one naming no process is left for PostgreSQL, which discards it itself.
 */
async function stopLeftover(cluster: string, logger: EmbeddedLogger | undefined): Promise<void> {
  const pid = await postmasterPid(cluster);
  if (pid === undefined || !processExists(pid)) return;
  if (!(await isPostgres(pid))) {
    await rm(path.join(cluster, "postmaster.pid"), { force: true });
    return;
  }
  logger?.warn({ pid, cluster }, `stopping the embedded PostgreSQL (pid ${pid}) left running by an agentnet process that was killed`);
  await signalUntilGone(pid);
}

async function isPostgres(pid: number): Promise<boolean> {
  try {
    return (await readFile(`/proc/${pid}/comm`, "utf8")).trim().startsWith("postgres");
  } catch {
    // No /proc (macOS): ask ps.
    try {
      return /postgres/.test((await run("ps", ["-o", "comm=", "-p", String(pid)])).stdout);
    } catch {
      return false;
    }
  }
}

/** Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL, until the process is gone. */
async function signalUntilGone(pid: number, exited?: Promise<unknown>): Promise<void> {
  const gone = exited ?? pollUntil(() => !processExists(pid));
  for (const [signal, waitMs] of [
    ["SIGINT", STOP_TIMEOUT_MS],
    ["SIGQUIT", 5000],
    ["SIGKILL", 5000],
  ] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    if (await within(gone, waitMs)) return;
  }
}

function pollUntil(condition: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (condition()) {
        clearInterval(timer);
        resolve();
      }
    }, 50);
  });
}

async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs initdb when the cluster folder holds no database yet; true when it did. */
async function initialise(
  where: ReturnType<typeof layout>,
  binaries: Binaries,
  account: ServerAccount,
  views: Views | undefined,
  logger: EmbeddedLogger | undefined,
): Promise<boolean> {
  const versionFile = path.join(where.cluster, "PG_VERSION");
  if (existsSync(versionFile)) {
    const major = Number((await readFile(versionFile, "utf8")).trim());
    if (major !== binaries.major) {
      throw new EmbeddedError(
        `the database in ${where.cluster} was made by PostgreSQL ${major} and this agentnet runs PostgreSQL ${binaries.major}: dump it with that version's pg_dump and restore it into a new data folder, or use an agentnet built on PostgreSQL ${major}`,
      );
    }
    return false;
  }
  logger?.info({ cluster: where.cluster }, "initialising the embedded PostgreSQL (first start)");
  await mkdir(where.cluster, { recursive: true, mode: 0o700 });
  if (account.kind === "unprivileged") await chown(where.cluster, account.uid, account.gid);
  const dataArg = views ? views.cluster[1] : where.cluster;
  const [cmd, args] = serverCommand(
    account,
    binaries.initdb,
    [
      "-D",
      dataArg,
      "-U",
      EMBEDDED_USER,
      "-E",
      "UTF8",
      "--locale=C",
      "--auth-local=trust",
      "--auth-host=scram-sha-256",
      "--no-instructions",
    ],
    views,
  );
  const log = openLog(where.log);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(cmd, args, { cwd: "/", env: serverEnv(), stdio: ["ignore", log, log] });
      child.on("error", reject);
      child.on("exit", (code, signal) => (code === 0 ? resolve() : reject(new Error(`initdb ended with ${code ?? signal}`))));
    });
  } catch (err) {
    throw new EmbeddedError(`cannot initialise the embedded PostgreSQL in ${where.cluster}: ${message(err)}${await logTail(where.log)}`);
  } finally {
    closeSync(log);
  }
  return true;
}

/** Opens the server's log for appending, moving a big one aside first (one old generation is kept). */
function openLog(file: string): number {
  try {
    if (statSync(file).size > LOG_ROTATE_BYTES) renameSync(file, `${file}.1`);
  } catch {
    // No log yet.
  }
  return openSync(file, "a", 0o600);
}

async function logTail(file: string, lines = 8): Promise<string> {
  try {
    const text = (await readFile(file, "utf8")).trimEnd();
    if (!text) return "";
    return ` — last lines of ${file}: ${text.split("\n").slice(-lines).join(" | ")}`;
  } catch {
    return "";
  }
}

interface LaunchArgs {
  where: ReturnType<typeof layout>;
  binaries: Binaries;
  account: ServerAccount;
  views: Views | undefined;
  connection: EmbeddedConnection;
  lock: Lock;
  viewsDir: string | undefined;
  poolSize: number;
  overrides: Record<string, string> | undefined;
}

async function launch(a: LaunchArgs): Promise<EmbeddedServer> {
  const { where, binaries, account, views } = a;
  const socketDir = views ? views.cluster[1] : where.cluster;
  const settings = { ...serverSettings({ socketDir, poolSize: a.poolSize }), ...a.overrides };
  const args = ["-D", socketDir, ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`])];
  const [cmd, argv] = serverCommand(account, binaries.postgres, args, views);
  const log = openLog(where.log);
  let child: ChildProcess;
  try {
    // Its own process group: a Ctrl-C in the terminal reaches the gateway, which stops the server after its
    // streams have ended, instead of reaching both at once.
    child = spawn(cmd, argv, { cwd: "/", env: serverEnv(), stdio: ["ignore", log, log], detached: true });
  } finally {
    closeSync(log);
  }
  let stopping = false;
  const listeners: Array<(err: Error) => void> = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal }));
    child.on("error", () => resolve({ code: null, signal: null }));
  });
  void exited.then(async ({ code, signal }) => {
    if (stopping) return;
    process.off("exit", onProcessExit);
    a.lock.releaseSync();
    if (a.viewsDir) await removeViews(a.viewsDir);
    const err = new EmbeddedError(
      `the embedded PostgreSQL (pid ${child.pid}) exited unexpectedly (${signal ? `signal ${signal}` : `code ${code}`}); its log is ${where.log}${await logTail(where.log)}`,
    );
    for (const l of listeners.splice(0)) l(err);
  });
  // Whatever way this process ends (process.exit, an uncaught exception), the server does not outlive it; only
  // SIGKILL escapes, and the next start cleans up after that.
  const onProcessExit = () => {
    if (child.pid !== undefined && !stopping) {
      try {
        process.kill(child.pid, "SIGINT");
      } catch {
        // Already gone.
      }
    }
    a.lock.releaseSync();
  };
  process.on("exit", onProcessExit);

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      stopping = true;
      process.off("exit", onProcessExit);
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) await signalUntilGone(child.pid, exited);
      await a.lock.release();
      if (a.viewsDir) await removeViews(a.viewsDir);
    })();
    return stopped;
  };

  const ready = await waitReady(a.connection, exited);
  if (ready !== true) {
    await stop();
    throw new EmbeddedError(`the embedded PostgreSQL did not start (${ready})${await logTail(where.log)}`);
  }
  return {
    connection: a.connection,
    owned: true,
    version: binaries.version,
    cluster: where.cluster,
    logFile: where.log,
    pid: child.pid,
    onUnexpectedExit: (l) => void listeners.push(l),
    stop,
  };
}

/** Polls until the server accepts a connection on its socket; otherwise says why it did not. */
async function waitReady(
  connection: EmbeddedConnection,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
): Promise<true | string> {
  let ended: string | undefined;
  void exited.then(({ code, signal }) => {
    ended = `it exited with ${signal ? `signal ${signal}` : `code ${code}`}`;
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = "";
  while (Date.now() < deadline) {
    if (ended) return ended;
    const client = new pg.Client({ ...connection, database: "postgres", connectionTimeoutMillis: 2000 });
    client.on("error", () => undefined);
    try {
      await client.connect();
      await client.query("select 1");
      return true;
    } catch (err) {
      last = message(err);
    } finally {
      await client.end().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return `no connection within ${READY_TIMEOUT_MS / 1000} s: ${last}`;
}

async function ensureDatabase(connection: EmbeddedConnection): Promise<void> {
  const client = new pg.Client({ ...connection, database: "postgres" });
  client.on("error", () => undefined);
  await client.connect();
  try {
    const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [connection.database]);
    if (!rowCount) await client.query(`create database "${connection.database}"`);
  } finally {
    await client.end();
  }
}

function shared(connection: EmbeddedConnection, binaries: Binaries, where: ReturnType<typeof layout>, owner: LockHolder): EmbeddedServer {
  return {
    connection,
    owned: false,
    owner,
    version: binaries.version,
    cluster: where.cluster,
    logFile: where.log,
    pid: undefined,
    onUnexpectedExit: () => undefined,
    stop: async () => undefined,
  };
}

function message(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return message(err.errors[0]);
  return err instanceof Error ? err.message || err.name : String(err);
}
