import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { reapAfterExit } from "../test/harness/cleanup.js";
import { freePort } from "../test/harness/ports.js";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import { isAlive, postmasterPidOf, processName } from "./usage.js";

// A gateway under test is a real `agentnet serve` process, configured only through its environment, as an
// operator would run it.

export const ADMIN_PASSWORD = "bench-admin-password";
export const JWT_SECRET = "bench-jwt-secret-shared-by-every-gateway-of-a-run";

/** --max-semi-space-size of the gateways the bench starts, MiB: keep it equal to `npm start` and the Dockerfile (--semi-space overrides it). */
export const DEFAULT_SEMI_SPACE_MIB = 8;
/** --max-old-space-size of the gateways, as `npm start` and the Dockerfile set it (see the Dockerfile for why). */
const MAX_OLD_SPACE_MIB = 1024;

const MAIN = fileURLToPath(new URL("../src/main.js", import.meta.url));

export interface GatewayOptions {
  name: string;
  /** DATABASE_URL / NATS_URL and any overrides. */
  env: Record<string, string>;
  /**
   * Data folder (AGENTNET_DATA_DIR: without DATABASE_URL the gateway runs its embedded PostgreSQL in
   * `<dataDir>/postgres`); a fresh temporary one when omitted.
   */
  dataDir?: string;
  /** Write a V8 CPU profile of the gateway into this folder (node --cpu-prof). */
  cpuProfileDir?: string;
  /** Extra node options for the gateway process (e.g. --heapsnapshot-signal=SIGUSR2). */
  nodeArgs?: string[];
  /** V8 young-generation semi-space, MiB (--max-semi-space-size); {@link DEFAULT_SEMI_SPACE_MIB} when omitted. */
  semiSpaceMiB?: number | undefined;
  logLevel: string;
  startTimeoutMs?: number;
}

export interface GatewayProcess {
  name: string;
  url: string;
  port: number;
  pid: number;
  dataDir: string;
  /**
   * The postmaster of the gateway's embedded PostgreSQL (no DATABASE_URL), read from
   * `<dataDir>/postgres/postmaster.pid` once the gateway is serving; undefined on an external database.
   */
  embeddedPostmasterPid: number | undefined;
  /**
   * SIGTERM, then SIGKILL after 10 s; an embedded PostgreSQL still running after the gateway is gone (it was
   * killed) is stopped too (SIGQUIT, then SIGKILL). Removes the data folder it created.
   */
  stop(): Promise<void>;
  /** Last lines the process wrote (for error messages). */
  output(): string;
  /** Distinct error-level log messages (pino level ≥ 50) with how often each came, e.g. INTERNAL RPC failures. */
  errors(): Record<string, number>;
}

/** Settings that let the bench measure throughput rather than the per-sender and per-user limits. */
export const BENCH_LIMITS: Record<string, string> = {
  AGENTNET_SEND_RATE_PER_SECOND: "1000000",
  AGENTNET_SEND_RATE_BURST: "1000000",
  AGENTNET_REGISTER_RATE_PER_MINUTE: "1000000",
  AGENTNET_VERIFY_RATE_PER_MINUTE: "100000",
};

export async function startGatewayProcess(opts: GatewayOptions): Promise<GatewayProcess> {
  // A free port can be taken between choosing and binding it: try again with another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(opts);
    } catch (err) {
      if (attempt < 3 && /already in use/.test(String(err))) continue;
      throw err;
    }
  }
}

async function launch(opts: GatewayOptions): Promise<GatewayProcess> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(path.join(tmpdir(), "agentnet-bench-")));
  const port = await freePort();
  // As `npm start` and the Dockerfile run it (a bounded young generation keeps RSS flat under load).
  const nodeArgs: string[] = [
    `--max-semi-space-size=${opts.semiSpaceMiB ?? DEFAULT_SEMI_SPACE_MIB}`,
    `--max-old-space-size=${MAX_OLD_SPACE_MIB}`,
    ...(opts.nodeArgs ?? []),
  ];
  if (opts.cpuProfileDir) {
    await mkdir(opts.cpuProfileDir, { recursive: true });
    nodeArgs.push(
      "--cpu-prof",
      "--cpu-prof-dir",
      opts.cpuProfileDir,
      "--cpu-prof-name",
      `${opts.name.replace(/\W+/g, "-")}-${Date.now()}.cpuprofile`,
    );
  }
  // A clean environment: nothing from the caller's DATABASE_URL, NATS_URL or .env files leaks in (cwd is the
  // data folder, where no .env lives).
  const env: Record<string, string> = {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: process.env["HOME"] ?? "/tmp",
    PORT: String(port),
    HOST: "127.0.0.1",
    AGENTNET_DATA_DIR: dataDir,
    AGENTNET_ADMIN_PASSWORD: ADMIN_PASSWORD,
    AGENTNET_JWT_SECRET: JWT_SECRET,
    LOG_LEVEL: opts.logLevel,
    ...BENCH_LIMITS,
    ...opts.env,
  };
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, MAIN, "serve"], {
    cwd: dataDir,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let partial = "";
  let listening = false;
  const errors: Record<string, number> = {};
  const keep = (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    if (text.includes("agentnet listening on")) listening = true;
    output = (output + text).slice(-20_000);
    const lines = (partial + text).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.includes('"level":5') && !line.includes('"level":6')) continue;
      try {
        const entry = JSON.parse(line) as { level: number; msg?: string; method?: string; err?: { message?: string } };
        if (entry.level < 50) continue;
        const key = [entry.method, entry.msg, entry.err?.message].filter(Boolean).join(": ").slice(0, 300);
        if (Object.keys(errors).length < 50 || key in errors) errors[key] = (errors[key] ?? 0) + 1;
      } catch {
        // Not a log line.
      }
    }
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let exited: string | undefined;
  const exitedP = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = `gateway ${opts.name} exited (${signal ?? `code ${code}`})`;
      resolve();
    });
  });
  const cleanupDir = () => (ownDir ? rm(dataDir, { recursive: true, force: true }) : Promise.resolve());
  let postmaster: number | undefined;
  let unregisterPostmaster = () => {};
  const stop = async () => {
    if (exited === undefined) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exitedP;
      clearTimeout(timer);
    }
    // A gateway that stopped in order has stopped its server; one that was killed has left it running.
    if (postmaster !== undefined) await stopLeftoverPostmaster(postmaster);
    unregisterPostmaster();
    await cleanupDir();
  };
  // Keep the run from leaving gateways behind when the bench dies, even by a signal that skips exit handlers.
  const unregister = child.pid === undefined ? () => {} : reapAfterExit({ pid: child.pid, signal: "TERM", dir: ownDir ? dataDir : "" });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  void exitedP.then(() => {
    process.off("exit", killOnExit);
    unregister();
  });

  const url = `http://127.0.0.1:${port}`;
  const embedded = env["DATABASE_URL"] === undefined;
  try {
    await waitUntilServing(
      url,
      () => listening,
      () => exited,
      opts.startTimeoutMs ?? 60_000,
    );
    if (embedded) {
      postmaster = postmasterPidOf(path.join(dataDir, "postgres"));
      if (postmaster === undefined)
        throw new Error(`gateway ${opts.name} is serving but ${path.join(dataDir, "postgres", "postmaster.pid")} names no postmaster`);
      // A bench that exits without stop() SIGKILLs the gateway (or its reaper SIGTERMs it), which leaves the
      // server running: this reaper ends the server then, so nothing outlives the bench.
      unregisterPostmaster = reapAfterExit({ pid: postmaster, signal: "QUIT", dir: "" });
    }
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- gateway output ---\n${output.trim().split("\n").slice(-15).join("\n")}`);
  }
  return {
    name: opts.name,
    url,
    port,
    pid: child.pid!,
    dataDir,
    embeddedPostmasterPid: postmaster,
    stop,
    output: () => output,
    errors: () => ({ ...errors }),
  };
}

/**
 * SIGQUIT (PostgreSQL's immediate shutdown) to a postmaster still running, then SIGKILL; waits until it is gone.
 * A pid that now names something other than PostgreSQL (reused) is left alone.
 */
export async function stopLeftoverPostmaster(pid: number): Promise<void> {
  for (const [signal, waitMs] of [
    ["SIGQUIT", 5000],
    ["SIGKILL", 5000],
  ] as const) {
    if (!isAlive(pid) || !processName(pid).startsWith("postgres")) return;
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    const deadline = Date.now() + waitMs;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Ready when the log says "agentnet listening on" — at LOG_LEVEL=warn (what throughput runs use, so per-RPC
 * logging does not dominate) that info line is not written, so health answering SERVING counts too.
 */
async function waitUntilServing(url: string, listening: () => boolean, exited: () => string | undefined, timeoutMs: number): Promise<void> {
  const health = createClient(Health, createGrpcTransport({ baseUrl: url }));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const dead = exited();
    if (dead) throw new Error(dead);
    if (listening()) return;
    try {
      const res = await health.check({}, { timeoutMs: 1000 });
      if (res.status === HealthCheckResponse_ServingStatus.SERVING) return;
    } catch {
      // Not up yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gateway at ${url} not serving within ${timeoutMs} ms`);
}
