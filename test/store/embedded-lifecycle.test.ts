import { existsSync, readFileSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import { layout, shareUrl } from "../../src/store/embedded/index.js";
import { freePort } from "../harness/ports.js";
import { type RunningServer, runCli, startCliServer } from "../support/cli.js";
import { client } from "../support/clients.js";

// The embedded PostgreSQL as a user meets it: `agentnet serve` with no DATABASE_URL starts a server of its own in
// the data folder, and the folder survives whatever happens to the processes. Real `agentnet` processes, real
// signals (SIGKILL included), one data folder carried through the cases in order.

const root = process.getuid?.() === 0;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function postmasterPid(dataDir: string): number | undefined {
  try {
    return Number(readFileSync(path.join(layout(dataDir).cluster, "postmaster.pid"), "utf8").split("\n")[0]);
  } catch {
    return undefined;
  }
}

/** Processes whose parent is `pid` (the postmaster's backends and helpers). */
function children(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

function uidOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^Uid:\s+(\d+)/m.exec(status)![1]);
}

async function withClient<T>(dataDir: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: shareUrl({ host: layout(dataDir).cluster, user: "agentnet", database: "agentnet" }) });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

describe("the embedded PostgreSQL of `agentnet serve`", () => {
  let dataDir: string;
  let env: Record<string, string>;
  let server: RunningServer | undefined;
  let port: number;

  const serve = async () => {
    port = await freePort();
    server = await startCliServer({ ...env, PORT: String(port) });
    return server;
  };
  const url = () => `http://127.0.0.1:${port}`;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "agentnet-embedded-"));
    env = {
      AGENTNET_DATA_DIR: dataDir,
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      AGENTNET_ADMIN_PASSWORD: "admin-password-embedded",
      AGENTNET_SHUTDOWN_GRACE_SECONDS: "1",
    };
  });
  afterAll(async () => {
    if (server && server.child.exitCode === null) await server.stop("SIGKILL");
    const pid = postmasterPid(dataDir);
    if (pid !== undefined && alive(pid)) process.kill(pid, "SIGQUIT");
    await rm(dataDir, { recursive: true, force: true });
  });

  it("initialises a durable server in the data folder on first start, reachable only through its socket, logging to a file", async () => {
    const gw = await serve();
    const where = layout(dataDir);
    expect(readFileSync(path.join(where.cluster, "PG_VERSION"), "utf8").trim()).toBe("17");
    expect(existsSync(where.socket)).toBe(true);
    const settings = await withClient(dataDir, async (c) => {
      const names = [
        "listen_addresses",
        "fsync",
        "synchronous_commit",
        "full_page_writes",
        "shared_buffers",
        "max_connections",
        "logging_collector",
      ];
      const { rows } = await c.query<{ name: string; setting: string; unit: string | null }>(
        "select name, setting, unit from pg_settings where name = any($1)",
        [names],
      );
      return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
    });
    expect(settings).toMatchObject({
      listen_addresses: "",
      fsync: "on",
      synchronous_commit: "on",
      full_page_writes: "on",
      logging_collector: "off",
    });
    // 32 MB in 8 kB pages; connections for the pool (10) and as many again plus room for commands.
    expect(Number(settings["shared_buffers"])).toBe(4096);
    expect(Number(settings["max_connections"])).toBeGreaterThanOrEqual(20);
    const pid = postmasterPid(dataDir)!;
    expect(alive(pid)).toBe(true);
    if (root) expect(uidOf(pid)).not.toBe(0);
    // The server's own lines are in its log file, not in the gateway's output.
    expect(await readFile(where.log, "utf8")).toContain("database system is ready to accept connections");
    expect(gw.output()).not.toContain("database system is ready");
    expect(gw.output()).toContain(`embedded PostgreSQL 17.`);
  });

  it("refuses a second `serve` on the same data folder at once, with one line, and the first keeps serving", async () => {
    const second = await runCli(["serve"], { ...env, PORT: String(await freePort()) }, undefined, 30_000);
    expect(second.code).toBe(1);
    const lines = second.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^agentnet: agentnet serve \(pid \d+, since .+\) is already running on the data folder .+: stop it first/);
    expect(lines[0]).toContain(`DATABASE_URL=postgresql:///agentnet?host=`);
    const login = await client(AuthService, url()).login({ username: "admin", password: "admin-password-embedded" });
    expect(login.accessToken).not.toBe("");
  });

  it("lets `users add`, `keys create` and `migrate` work on the running gateway's database", async () => {
    const added = await runCli(["users", "add", "carol", "--password-stdin"], env, "carol-password\n");
    expect(added.code, added.stderr).toBe(0);
    const key = await runCli(["keys", "create", "--user", "carol"], env);
    expect(key.code, key.stderr).toBe(0);
    const secret = /secret \(shown once\): (agk_\S+)/.exec(key.stdout)![1];
    const migrated = await runCli(["migrate"], env);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toMatch(/^schema is up to date \(embedded PostgreSQL 17\.\d+ in .+ \(shared with agentnet serve, pid \d+\)\)/);
    // The gateway sees what the commands wrote, at once.
    expect(await client(AuthService, url()).login({ username: "carol", password: "carol-password" })).toMatchObject({
      tokenType: "bearer",
    });
    expect(await client(AuthService, url(), secret).verify({})).toMatchObject({ valid: true, user: "carol" });
  });

  it("after the gateway is killed with SIGKILL, the next start stops the server it left and starts clean, keeping the data", async () => {
    const leftover = postmasterPid(dataDir)!;
    await server!.stop("SIGKILL");
    // The server outlives a SIGKILLed gateway (nothing runs in a killed process)...
    expect(alive(leftover)).toBe(true);
    // ...and the next start takes over without manual steps.
    const gw = await serve();
    expect(gw.output()).toContain(`stopping the embedded PostgreSQL (pid ${leftover}) left running`);
    expect(alive(leftover)).toBe(false);
    expect(postmasterPid(dataDir)).not.toBe(leftover);
    expect(await client(AuthService, url()).login({ username: "carol", password: "carol-password" })).toMatchObject({
      tokenType: "bearer",
    });
  });

  it("exits non-zero, saying so, when its PostgreSQL dies under it; the next start recovers", async () => {
    const pid = postmasterPid(dataDir)!;
    const gw = server!;
    const exited = new Promise<number | null>((resolve) => gw.child.on("exit", (code) => resolve(code)));
    process.kill(pid, "SIGKILL");
    expect(await exited).toBe(1);
    expect(gw.output()).toMatch(/the embedded PostgreSQL \(pid \d+\) exited unexpectedly \(signal SIGKILL\); its log is .*postgres\.log/);
    expect(existsSync(layout(dataDir).lock)).toBe(false);
    await serve();
    expect(await client(AuthService, url()).login({ username: "carol", password: "carol-password" })).toMatchObject({
      tokenType: "bearer",
    });
  });

  it("stops its PostgreSQL on SIGTERM and SIGINT, leaving no process and no lock behind", async () => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const pid = postmasterPid(dataDir)!;
      const helpers = children(pid);
      expect(helpers.length).toBeGreaterThan(0);
      expect(await server!.stop(signal)).toBe(0);
      expect(alive(pid)).toBe(false);
      for (const h of helpers) expect(alive(h)).toBe(false);
      expect(existsSync(layout(dataDir).lock)).toBe(false);
      // A clean shutdown removes postmaster.pid.
      expect(postmasterPid(dataDir)).toBeUndefined();
      if (signal === "SIGTERM") await serve();
    }
    server = undefined;
  });

  it("runs a server for a command's own duration when no gateway runs, and stops it", async () => {
    const added = await runCli(["users", "add", "dave", "--password-stdin"], env, "dave-password\n");
    expect(added.code, added.stderr).toBe(0);
    expect(postmasterPid(dataDir)).toBeUndefined();
    expect(existsSync(layout(dataDir).lock)).toBe(false);
    await serve();
    expect(await client(AuthService, url()).login({ username: "dave", password: "dave-password" })).toMatchObject({ tokenType: "bearer" });
    expect(await server!.stop()).toBe(0);
    server = undefined;
  });

  it("is not held up by a lock or postmaster.pid of a process that is gone", async () => {
    const where = layout(dataDir);
    await writeFile(
      where.lock,
      JSON.stringify({ pid: 2 ** 22 + 17, command: "serve", startedAt: "2020-01-01T00:00:00Z", socketDir: where.cluster }),
    );
    const gw = await serve();
    expect(await client(AuthService, url()).login({ username: "dave", password: "dave-password" })).toMatchObject({ tokenType: "bearer" });
    expect(await gw.stop()).toBe(0);
    server = undefined;
  });
});

describe("data folders the embedded PostgreSQL refuses", () => {
  it("refuses a folder written by PGlite (agentnet 0.1) with what to do, and touches nothing", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "agentnet-pglite-"));
    try {
      await mkdir(path.join(dataDir, "pgdata"));
      await writeFile(path.join(dataDir, "pgdata", "PG_VERSION"), "17\n");
      const res = await runCli(["serve"], { AGENTNET_DATA_DIR: dataDir, PORT: String(await freePort()), HOST: "127.0.0.1" });
      expect(res.code).toBe(1);
      expect(res.stderr.trim().split("\n")).toHaveLength(1);
      expect(res.stderr).toMatch(/holds a database written by PGlite .*: move .*pgdata away \(or set AGENTNET_DATA_DIR to a new folder\)/);
      expect(existsSync(layout(dataDir).cluster)).toBe(false);
      expect(existsSync(layout(dataDir).lock)).toBe(false);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("refuses a data folder whose path is too long for a Unix socket, naming the variable", async () => {
    const base = await mkdtemp(path.join(tmpdir(), "agentnet-long-"));
    try {
      const dataDir = path.join(base, "x".repeat(100));
      await mkdir(dataDir);
      const res = await runCli(["users", "add", "erin"], { AGENTNET_DATA_DIR: dataDir });
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/too long for the embedded PostgreSQL's socket .*: set AGENTNET_DATA_DIR to a shorter path/);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});
