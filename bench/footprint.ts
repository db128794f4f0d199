// `node dist/bench/footprint.js` (after `npm run --silent build`): what the embedded mode costs a user who runs
// `agentnet serve` with no DATABASE_URL — start, restart and crash-restart times, and the idle CPU and memory of
// the gateway and of the PostgreSQL server it starts in its data folder. Everything runs in a fresh temporary data
// folder, which is deleted at the end with no process left behind.
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { lstat, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import { freePort } from "../test/harness/ports.js";
import { DEFAULT_SEMI_SPACE_MIB, stopLeftoverPostmaster } from "./gateway.js";
import { embeddedPostgresVersion, gitCommit, machineFacts } from "./machine.js";
import { GroupMeter, cpuMsOf, groupMemory, isAlive, postmasterPidOf, processName, round1, withChildren } from "./usage.js";

const MAIN = fileURLToPath(new URL("../src/main.js", import.meta.url));

const seconds = (what: string, max: number) => (v: string) => {
  const n = Number(v);
  if (!(n >= 0 && n <= max)) throw new InvalidArgumentError(`${what}: 0..${max}`);
  return n;
};
const program = new Command()
  .name("node dist/bench/footprint.js")
  .description(
    "Embedded mode footprint in a fresh data folder: first start, graceful restart and restart after SIGKILL (wall time to the " +
      '"agentnet listening" line), then idle CPU and memory of the gateway and its PostgreSQL.',
  )
  .option("--idle-seconds <s>", "length of the idle measurement", seconds("idle seconds", 3600), 60)
  .option("--settle-seconds <s>", "wait after listening before the idle measurement", seconds("settle seconds", 600), 10)
  .option(
    "--semi-space <MiB>",
    "--max-semi-space-size of the gateway, MiB",
    (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 1024) throw new InvalidArgumentError("must be an integer 1..1024");
      return n;
    },
    DEFAULT_SEMI_SPACE_MIB,
  )
  .option("--out <file>", "also write the JSON result to this file");
program.parse();
const opts = program.opts<{ idleSeconds: number; settleSeconds: number; semiSpace: number; out?: string }>();

interface Started {
  child: ChildProcess;
  /** Spawn → "agentnet listening" line, ms. */
  listeningMs: number;
  /** Spawn → the gateway's "embedded PostgreSQL … started" line, ms. */
  postgresUpMs: number | undefined;
  postmaster: number;
  exited: Promise<void>;
  output(): string;
}

const dataDir = await mkdtemp(path.join(tmpdir(), "agentnet-fp-"));
const cluster = path.join(dataDir, "postgres");
let current: Started | undefined;
/** Every PostgreSQL process seen (pid → start time, so a pid reused meanwhile is not taken for it). */
const seenPostgres = new Map<number, string>();
const see = (pids: number[]) => {
  for (const pid of pids) if (!seenPostgres.has(pid)) seenPostgres.set(pid, startTime(pid));
};
const startedAt = new Date();
const t0 = performance.now();
const progress = (line: string) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);

async function start(label: string): Promise<Started> {
  const port = await freePort();
  // As a user runs it: a clean environment (nothing from this shell's DATABASE_URL, NATS_URL, LOG_LEVEL), cwd the
  // data folder (no .env there), the semi-space of `npm start` (DEFAULT_SEMI_SPACE_MIB unless --semi-space).
  const env: Record<string, string> = {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: process.env["HOME"] ?? "/tmp",
    AGENTNET_DATA_DIR: dataDir,
    PORT: String(port),
    HOST: "127.0.0.1",
    AGENTNET_ADMIN_PASSWORD: "footprint-admin-password",
  };
  const began = performance.now();
  const child = spawn(process.execPath, [`--max-semi-space-size=${opts.semiSpace}`, "--max-old-space-size=1024", MAIN, "serve"], {
    cwd: dataDir,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let postgresUpMs: number | undefined;
  let exitedWith: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      exitedWith = signal ?? `code ${code}`;
      resolve();
    }),
  );
  const listeningMs = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label}: not listening within 120 s`)), 120_000);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      output = (output + text).slice(-20_000);
      if (postgresUpMs === undefined && /embedded PostgreSQL [\d.]+ (initialised and )?started/.test(text))
        postgresUpMs = performance.now() - began;
      if (text.includes("agentnet listening on")) {
        clearTimeout(timer);
        resolve(performance.now() - began);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(
        new Error(`${label}: the gateway exited (${exitedWith}) before listening:\n${output.trim().split("\n").slice(-10).join("\n")}`),
      );
    });
  });
  const postmaster = postmasterPidOf(cluster);
  if (postmaster === undefined) throw new Error(`${label}: listening, but ${cluster}/postmaster.pid names no postmaster`);
  see(withChildren(postmaster));
  current = { child, listeningMs, postgresUpMs, postmaster, exited, output: () => output };
  progress(
    `${label}: listening after ${ms(listeningMs)} ms (embedded PostgreSQL up after ${postgresUpMs === undefined ? "?" : ms(postgresUpMs)} ms), postmaster pid ${postmaster}`,
  );
  return current;
}

/** Sends `signal` to the gateway; resolves with the ms until it exited. */
async function signalGateway(g: Started, signal: NodeJS.Signals, timeoutMs = 60_000): Promise<number> {
  const began = performance.now();
  g.child.kill(signal);
  const timer = setTimeout(() => g.child.kill("SIGKILL"), timeoutMs);
  await g.exited;
  clearTimeout(timer);
  if (current === g) current = undefined;
  return performance.now() - began;
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  return !isAlive(pid);
}

/** Idle figures of the running gateway and its server over `windowS`, sampling memory every second. */
async function idle(g: Started, windowS: number) {
  const gwPid = g.child.pid!;
  const pgPids = () => withChildren(g.postmaster);
  const pg = new GroupMeter(pgPids, () => g.postmaster);
  let gwRssMax = 0;
  const sampleGw = () => (gwRssMax = Math.max(gwRssMax, groupMemory([gwPid]).rssMiB));
  const gwCpu0 = cpuMsOf([gwPid]);
  const began = performance.now();
  pg.start({ sampleMemory: true });
  sampleGw();
  const timer = setInterval(sampleGw, 1000);
  await sleep(windowS * 1000);
  clearInterval(timer);
  const pgUsage = pg.stopWithMemory();
  const gwCpu = round1(((cpuMsOf([gwPid]) - gwCpu0) / (performance.now() - began)) * 100);
  const gwMem = groupMemory([gwPid]);
  see(pgPids());
  return {
    windowSeconds: windowS,
    gateway: { cpuPercent: gwCpu, rssEndMiB: gwMem.rssMiB, rssMaxMiB: round1(Math.max(gwRssMax, gwMem.rssMiB)), pssEndMiB: gwMem.pssMiB },
    postgres: {
      processes: pgUsage.memory.processes,
      cpuPercent: pgUsage.cpuPercent,
      pssEndMiB: pgUsage.memory.pssMiB,
      rssEndMiB: pgUsage.memory.rssMiB,
      rssMaxMiB: pgUsage.rssMaxMiB,
    },
  };
}

async function folderMiB(dir: string): Promise<number> {
  let bytes = 0;
  const walk = async (d: string) => {
    for (const entry of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else bytes += (await lstat(p).catch(() => ({ size: 0 }))).size;
    }
  };
  await walk(dir);
  return round1(bytes / 2 ** 20);
}

/** PostgreSQL processes still running: any seen during the run, or any started from this data folder. */
function leftovers(): number[] {
  const left = new Set<number>();
  for (const [pid, started] of seenPostgres) if (isAlive(pid) && startTime(pid) === started) left.add(pid);
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(dataDir) && processName(Number(entry)).startsWith("postgres"))
        left.add(Number(entry));
    } catch {
      // Gone or not readable.
    }
  }
  return [...left];
}

/** Start time of a process (clock ticks after boot, field 22 of /proc/<pid>/stat); "" when it is gone. */
function startTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
  } catch {
    return "";
  }
}

async function cleanup(): Promise<void> {
  if (current) await signalGateway(current, "SIGTERM", 15_000).catch(() => undefined);
  for (const pid of leftovers()) await stopLeftoverPostmaster(pid);
  await rm(dataDir, { recursive: true, force: true });
}

let interrupted = false;
process.on("SIGINT", () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  progress("interrupted: stopping the gateway and its PostgreSQL");
  void cleanup().finally(() => process.exit(130));
});

const machine = machineFacts();
progress(
  `embedded footprint in ${dataDir} (${embeddedPostgresVersion() ?? "embedded PostgreSQL version unknown"}); idle window ${opts.idleSeconds} s after ${opts.settleSeconds} s`,
);
let result: Record<string, unknown> | undefined;
let failure: string | undefined;
try {
  // (a) First start: initdb, server start, database and migrations.
  const first = await start("first start");
  const dataAfterFirstStartMiB = await folderMiB(dataDir);

  // (b) Graceful stop (SIGTERM: the gateway stops its server), then start on the same folder.
  const firstPostmaster = first.postmaster;
  const gracefulStopMs = await signalGateway(first, "SIGTERM");
  const postmasterGoneAfterStop = await waitGone(firstPostmaster, 1000);
  const second = await start("restart after SIGTERM");

  // (d) Idle, on the restarted gateway (a user's usual start: an existing data folder).
  progress(`idle: settling ${opts.settleSeconds} s, then measuring ${opts.idleSeconds} s`);
  await sleep(opts.settleSeconds * 1000);
  const idleFigures = await idle(second, opts.idleSeconds);

  // (c) SIGKILL: the gateway dies, its server is left running; the next start stops it and starts clean.
  const killedPostmaster = second.postmaster;
  await signalGateway(second, "SIGKILL");
  const postmasterLeftRunning = isAlive(killedPostmaster);
  const third = await start("start after SIGKILL");
  const leftoverStopped = !isAlive(killedPostmaster);

  // End: graceful stop, then check nothing is left.
  const finalPostmaster = third.postmaster;
  const finalStopMs = await signalGateway(third, "SIGTERM");
  await waitGone(finalPostmaster, 5000);
  const left = leftovers();

  result = {
    tool: "agentnet footprint",
    command: `node dist/bench/footprint.js${opts.idleSeconds !== 60 ? ` --idle-seconds ${opts.idleSeconds}` : ""}${opts.settleSeconds !== 10 ? ` --settle-seconds ${opts.settleSeconds}` : ""}${opts.semiSpace !== DEFAULT_SEMI_SPACE_MIB ? ` --semi-space ${opts.semiSpace}` : ""}`,
    startedAt: startedAt.toISOString(),
    commit: gitCommit(),
    machine: { ...machine, loadAverageAtEnd: machineFacts().loadAverageAtStart, embeddedPostgres: embeddedPostgresVersion() },
    firstStart: { listeningMs: round1(first.listeningMs), postgresUpMs: opt1(first.postgresUpMs), dataFolderMiB: dataAfterFirstStartMiB },
    restartAfterSigterm: {
      stopMs: round1(gracefulStopMs),
      postgresStoppedWithGateway: postmasterGoneAfterStop,
      listeningMs: round1(second.listeningMs),
      postgresUpMs: opt1(second.postgresUpMs),
    },
    restartAfterSigkill: {
      postgresLeftRunning: postmasterLeftRunning,
      leftoverStoppedByNextStart: leftoverStopped,
      listeningMs: round1(third.listeningMs),
      postgresUpMs: opt1(third.postgresUpMs),
    },
    idle: { settleSeconds: opts.settleSeconds, ...idleFigures },
    finalStopMs: round1(finalStopMs),
    postgresProcessesLeft: left.length,
  };
  printTable(result);
  if (left.length > 0) failure = `PostgreSQL processes left running after the final stop: ${left.join(", ")}`;
} catch (err) {
  failure = err instanceof Error ? err.message : String(err);
  progress(`failed: ${failure}`);
  if (current) process.stderr.write(`--- gateway output ---\n${current.output().trim().split("\n").slice(-15).join("\n")}\n`);
} finally {
  await cleanup();
}
const stillLeft = leftovers();
if (stillLeft.length > 0) failure ??= `PostgreSQL processes left running: ${stillLeft.join(", ")}`;
const line = JSON.stringify({ ...(result ?? { tool: "agentnet footprint" }), ...(failure && { failure }) });
process.stdout.write(`${line}\n`);
if (opts.out) await writeFile(opts.out, `${line}\n`);
process.exit(failure ? 1 : 0);

function printTable(r: Record<string, unknown>): void {
  const x = r as {
    firstStart: { listeningMs: number; postgresUpMs?: number; dataFolderMiB: number };
    restartAfterSigterm: { stopMs: number; listeningMs: number; postgresUpMs?: number; postgresStoppedWithGateway: boolean };
    restartAfterSigkill: { listeningMs: number; postgresUpMs?: number; postgresLeftRunning: boolean; leftoverStoppedByNextStart: boolean };
    idle: Awaited<ReturnType<typeof idle>> & { settleSeconds: number };
    finalStopMs: number;
  };
  const i = x.idle;
  const upTo = (n: number | undefined) => (n === undefined ? "" : ` (PostgreSQL up at ${ms(n)} ms)`);
  const rows: Array<[string, string]> = [
    ["(a) first start → listening (initdb included)", `${ms(x.firstStart.listeningMs)} ms${upTo(x.firstStart.postgresUpMs)}`],
    ["    data folder after first start", `${x.firstStart.dataFolderMiB} MiB`],
    [
      "(b) SIGTERM → gateway exited",
      `${ms(x.restartAfterSigterm.stopMs)} ms${x.restartAfterSigterm.postgresStoppedWithGateway ? ", PostgreSQL stopped with it" : ", PostgreSQL STILL RUNNING"}`,
    ],
    ["    restart → listening", `${ms(x.restartAfterSigterm.listeningMs)} ms${upTo(x.restartAfterSigterm.postgresUpMs)}`],
    [
      "(c) SIGKILL, start again → listening",
      `${ms(x.restartAfterSigkill.listeningMs)} ms${upTo(x.restartAfterSigkill.postgresUpMs)}; server left by the killed gateway: ${x.restartAfterSigkill.postgresLeftRunning ? "yes" : "no"}, stopped by the next start: ${x.restartAfterSigkill.leftoverStoppedByNextStart ? "yes" : "NO"}`,
    ],
    [`(d) idle ${i.windowSeconds} s (after ${i.settleSeconds} s): gateway CPU`, `${i.gateway.cpuPercent} % of one core`],
    ["    gateway RSS at end (max)", `${i.gateway.rssEndMiB} MiB (${i.gateway.rssMaxMiB})`],
    [`    PostgreSQL CPU (${i.postgres.processes} processes)`, `${i.postgres.cpuPercent} % of one core`],
    [
      "    PostgreSQL memory, sum of PSS at end",
      i.postgres.pssEndMiB === undefined ? "not readable (run as root or as the server's user)" : `${i.postgres.pssEndMiB} MiB`,
    ],
    [
      "    PostgreSQL memory, sum of RSS at end (max)",
      `${i.postgres.rssEndMiB} MiB (${i.postgres.rssMaxMiB}); counts shared memory once per process`,
    ],
    ["final SIGTERM → gateway exited", `${ms(x.finalStopMs)} ms`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(
    `\nagentnet embedded footprint · commit ${String(r["commit"])} · load average ${machine.loadAverageAtStart} at start\n`,
  );
  for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(w)}  ${v}\n`);
  process.stdout.write("\n");
}

function ms(n: number): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: 0 });
}

function opt1(n: number | undefined): number | undefined {
  return n === undefined ? undefined : round1(n);
}

function sleep(msecs: number): Promise<void> {
  return new Promise((r) => setTimeout(r, msecs));
}
