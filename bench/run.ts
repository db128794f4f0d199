// `npm run bench`: agentnet's benchmark suite (issue #4). See the README's "Benchmarks" section.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError, Option } from "commander";
import type { RunContext } from "./context.js";
import { DEFAULT_SEMI_SPACE_MIB } from "./gateway.js";
import { createInfra } from "./infra.js";
import { findPostgresBinaries } from "../test/harness/postgres.js";
import { embeddedPostgresVersion, gitCommit, machineFacts, toolVersion } from "./machine.js";
import { FULL, QUICK } from "./profile.js";
import { type Report, type Sections, evaluateTargets, printReport } from "./report.js";
import { runBaselines } from "./sections/baselines.js";
import { runGhz } from "./sections/ghz.js";
import { runMessaging } from "./sections/messaging.js";
import { runPythonClient } from "./sections/python-client.js";
import { runRegistry } from "./sections/registry.js";
import { runRequestReply } from "./sections/request-reply.js";
import { runSdkTs } from "./sections/sdk-ts.js";
import { runA2a } from "./sections/a2a.js";
import { printSoak, runSoak, type SoakSection } from "./sections/soak.js";
import { Setups } from "./setups.js";

const SECTIONS = ["baselines", "messaging", "request-reply", "python-client", "sdk-ts", "a2a", "ghz", "registry"] as const;
type SectionName = (typeof SECTIONS)[number];

const RESULTS = fileURLToPath(new URL("../../bench/results/", import.meta.url));

const program = new Command()
  .name("npm run bench --")
  .description("Benchmarks agentnet end to end: durable messaging, request/reply, registry scale, against raw NATS and ghz.")
  .addOption(new Option("--quick", "short run, about 2 minutes (default)").conflicts("full"))
  .option("--full", "long run with larger sweeps and 10 000 agents, under 15 minutes")
  .option(
    "--only <section>",
    `run one section: ${SECTIONS.join(", ")} (repeat or comma-separate for several)`,
    (value: string, prev: SectionName[] = []) => {
      const names = value.split(",").map((s) => s.trim());
      for (const n of names) if (!(SECTIONS as readonly string[]).includes(n)) throw new InvalidArgumentError(`unknown section "${n}"`);
      return [...prev, ...(names as SectionName[])];
    },
  )
  .option("--setup <names>", "run sections only on these setups: embedded, postgres+nats, two-gateways (comma-separated)", (v: string) => {
    const names = v.split(",").map((s) => s.trim());
    for (const n of names)
      if (!["embedded", "postgres+nats", "two-gateways"].includes(n)) throw new InvalidArgumentError(`unknown setup "${n}"`);
    return names;
  })
  .option("--out <file>", "also write the JSON report to this file")
  .option("--load-workers <n>", "forked load processes for the messaging sweeps", (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 8) throw new InvalidArgumentError("must be 1..8");
    return n;
  })
  .option("--step-seconds <s>", "override the measured seconds of each messaging step (for profiling)", (v) => {
    const n = Number(v);
    if (!(n > 0 && n <= 600)) throw new InvalidArgumentError("must be 0..600");
    return n;
  })
  .option("--cpu-prof", "write V8 CPU profiles of the gateways to bench/results/profiles/", false)
  .option(
    "--semi-space <MiB>",
    "--max-semi-space-size of the gateway processes, MiB",
    (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 1024) throw new InvalidArgumentError("must be an integer 1..1024");
      return n;
    },
    DEFAULT_SEMI_SPACE_MIB,
  )
  .option(
    "--gateway-node-args <args>",
    "extra node options for the gateway processes, space-separated (e.g. --heapsnapshot-signal=SIGUSR2)",
  )
  .option("--log-level <level>", "LOG_LEVEL of the gateways", "warn")
  .option("--no-metrics", "run the gateways with AGENTNET_METRICS=false (to measure what metrics cost)")
  .option(
    "--gateway-env <pairs>",
    "extra environment of the gateways, KEY=VALUE pairs separated by commas (e.g. OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318)",
    (v: string) => {
      const env: Record<string, string> = {};
      for (const pair of v.split(",")) {
        const eq = pair.indexOf("=");
        if (eq <= 0) throw new InvalidArgumentError(`"${pair}" is not KEY=VALUE`);
        env[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
      return env;
    },
  )
  .option("--no-save", "do not write bench/results/<timestamp>.json and latest.json")
  .option("--soak", "instead of the sections: a memory soak, two gateways under steady load; fails when RSS grows > 10 %", false)
  .option("--soak-minutes <n>", "length of the soak, minutes (default 10)", (v) => {
    const n = Number(v);
    if (!(n >= 1 && n <= 240)) throw new InvalidArgumentError("must be 1..240");
    return n;
  })
  .option("--soak-rate <n>", "msg/s offered during the soak (default 200)", (v) => {
    const n = Number(v);
    if (!(n > 0 && n <= 100_000)) throw new InvalidArgumentError("must be 1..100000");
    return n;
  })
  .option(
    "--soak-heap-snapshots <dir>",
    "run the soak's gateways with --heapsnapshot-signal=SIGUSR2 and write a snapshot of each after the warm-up and at the end into <dir>",
  );

program.parse();
const opts = program.opts<{
  quick?: boolean;
  full?: boolean;
  only?: SectionName[];
  out?: string;
  setup?: string[];
  stepSeconds?: number;
  loadWorkers?: number;
  cpuProf: boolean;
  gatewayNodeArgs?: string;
  semiSpace: number;
  logLevel: string;
  metrics: boolean;
  gatewayEnv?: Record<string, string>;
  save: boolean;
  soak: boolean;
  soakMinutes?: number;
  soakRate?: number;
  soakHeapSnapshots?: string;
}>();

if (opts.soak) await soak();

const base = opts.full ? FULL : QUICK;
const profile = opts.stepSeconds === undefined ? base : { ...base, messaging: { ...base.messaging, durationMs: opts.stepSeconds * 1000 } };
const wanted = new Set<SectionName>(opts.only ?? SECTIONS);
const startedAt = new Date();
const loadAverageAtStart = machineFacts().loadAverageAtStart;
const t0 = performance.now();
const notes: string[] = [
  "PostgreSQL is durable on every setup (fsync, synchronous_commit and full_page_writes on): the embedded gateway's own server always is, and the shared server of postgres+nats is started so; pg CPU/PSS are its postmaster and all its children (PSS: shared memory split among them; the sums of RSS are in the JSON)",
];
const infra = createInfra();
const setups = new Setups(infra, {
  logLevel: opts.logLevel,
  cpuProfileDir: opts.cpuProf ? path.join(RESULTS, "profiles") : undefined,
  nodeArgs: opts.gatewayNodeArgs?.split(/\s+/).filter(Boolean),
  semiSpaceMiB: opts.semiSpace,
  env: { ...(opts.metrics ? {} : { AGENTNET_METRICS: "false" }), ...opts.gatewayEnv },
});
if (!opts.metrics) notes.push("gateways run with AGENTNET_METRICS=false");
if (opts.gatewayEnv) notes.push(`gateways run with ${Object.keys(opts.gatewayEnv).join(", ")} set`);
if (opts.semiSpace !== DEFAULT_SEMI_SPACE_MIB)
  notes.push(`gateways run with --max-semi-space-size=${opts.semiSpace} (the bench default is ${DEFAULT_SEMI_SPACE_MIB})`);
const ctx: RunContext = {
  profile,
  infra,
  setups,
  loadWorkers: opts.loadWorkers ?? 1,
  runsOn: (setup) => opts.setup === undefined || opts.setup.includes(setup),
  setupsFor: (defaults, possible) => (opts.setup === undefined ? defaults : possible.filter((s) => opts.setup!.includes(s))),
  progress: (line) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`),
  note: (line) => notes.push(line),
  noteGatewayErrors(where, gateways) {
    for (const gw of gateways) {
      const entries = Object.entries(gw.errors());
      if (entries.length === 0) continue;
      const text = entries
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([msg, n]) => `${n} × ${msg}`)
        .join("; ");
      this.note(`${where}: gateway ${gw.name} logged errors: ${text}`);
    }
  },
};

// Stop servers on Ctrl-C too; a second Ctrl-C exits at once.
let interrupted = false;
process.on("SIGINT", () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  ctx.progress("interrupted: stopping gateways and servers");
  void cleanup().finally(() => process.exit(130));
});
async function cleanup(): Promise<void> {
  await setups.stop().catch(() => undefined);
  await infra.stop().catch(() => undefined);
}

// Every run stops by itself: past the watchdog, stop servers and exit non-zero.
setTimeout(() => {
  ctx.progress(`watchdog: the run exceeded ${profile.watchdogSeconds} s; stopping`);
  void cleanup().finally(() => process.exit(2));
}, profile.watchdogSeconds * 1000).unref();

const sections: Sections = {};
const failures: Record<string, string> = {};
const runners: Record<SectionName, () => Promise<void>> = {
  baselines: async () => void (sections.baselines = await runBaselines(ctx)),
  messaging: async () => void (sections.messaging = await runMessaging(ctx)),
  "request-reply": async () => void (sections.requestReply = await runRequestReply(ctx)),
  "python-client": async () => void (sections.pythonClient = await runPythonClient(ctx)),
  ghz: async () => void (sections.ghz = await runGhz(ctx)),
  registry: async () => void (sections.registry = await runRegistry(ctx)),
  "sdk-ts": async () => void (sections.sdkTs = await runSdkTs(ctx)),
  a2a: async () => void (sections.a2a = await runA2a(ctx)),
};

ctx.progress(`agentnet bench (${profile.name}): ${[...wanted].join(", ")}`);
try {
  for (const name of SECTIONS) {
    if (!wanted.has(name) || interrupted) continue;
    const s0 = performance.now();
    try {
      await runners[name]();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      failures[name] = message;
      ctx.progress(`${name} failed: ${message}`);
    }
    ctx.progress(`${name} done in ${((performance.now() - s0) / 1000).toFixed(1)} s`);
  }
} finally {
  await cleanup();
}

const machine = { ...machineFacts(), loadAverageAtStart };
machine.loadAverageAtEnd = machineFacts().loadAverageAtStart;
machine.postgres = await findPostgresBinaries().then(
  (b) => toolVersion(path.join(b.binDir, "postgres"), ["--version"]),
  () => undefined,
);
machine.embeddedPostgres = embeddedPostgresVersion();
machine.natsServer = toolVersion("nats-server", ["--version"]) ?? toolVersion("/usr/sbin/nats-server", ["--version"]);
const report: Report = {
  tool: "agentnet bench",
  version: 1,
  profile: profile.name,
  command: `npm run bench --${profile.name === "full" ? " --full" : ""}${opts.only ? ` --only ${opts.only.join(",")}` : ""}${opts.semiSpace !== DEFAULT_SEMI_SPACE_MIB ? ` --semi-space ${opts.semiSpace}` : ""}`,
  startedAt: startedAt.toISOString(),
  durationSeconds: Math.round((performance.now() - t0) / 100) / 10,
  commit: gitCommit(),
  machine,
  parameters: profile,
  loadWorkers: ctx.loadWorkers,
  sections,
  failures,
  targets: [],
  notes,
};
report.targets = evaluateTargets(report);
printReport(report);

if (opts.save) {
  await mkdir(RESULTS, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
  const text = `${JSON.stringify(report, null, 2)}\n`;
  await writeFile(path.join(RESULTS, `${stamp}.json`), text);
  await writeFile(path.join(RESULTS, "latest.json"), text);
  process.stderr.write(`report: bench/results/${stamp}.json (and bench/results/latest.json)\n`);
}
if (opts.out) {
  await writeFile(opts.out, `${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(`report: ${opts.out}\n`);
}
process.exit(Object.keys(failures).length > 0 ? 1 : 0);

/** `--soak`: the soak alone, its own report (bench/results/soak-<timestamp>.json and soak-latest.json); exits. */
async function soak(): Promise<never> {
  const minutes = opts.soakMinutes ?? 10;
  const startedAt = new Date();
  const t0 = performance.now();
  const loadAverageAtStart = machineFacts().loadAverageAtStart;
  const snapshotDir = opts.soakHeapSnapshots ? path.resolve(opts.soakHeapSnapshots) : undefined;
  if (snapshotDir) await mkdir(snapshotDir, { recursive: true });
  const nodeArgs = [
    ...(opts.gatewayNodeArgs?.split(/\s+/).filter(Boolean) ?? []),
    ...(snapshotDir ? ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${snapshotDir}`] : []),
    // Heap figures are read through the inspector (loopback, a free port): process.memoryUsage() every sample.
    "--inspect=127.0.0.1:0",
  ];
  const infra = createInfra();
  const setups = new Setups(infra, { logLevel: opts.logLevel, nodeArgs, semiSpaceMiB: opts.semiSpace });
  const notes: string[] = [];
  const progress = (line: string) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  const ctx: RunContext = {
    profile: QUICK,
    infra,
    setups,
    loadWorkers: 1,
    runsOn: () => true,
    setupsFor: (defaults) => defaults,
    progress,
    note: (line) => notes.push(line),
    noteGatewayErrors(where, gateways) {
      for (const gw of gateways) {
        const entries = Object.entries(gw.errors())
          .sort((a, b) => b[1] - a[1])
          .slice(0, 3);
        if (entries.length) notes.push(`${where}: gateway ${gw.name} logged errors: ${entries.map(([m, n]) => `${n} × ${m}`).join("; ")}`);
      }
    },
  };
  const stopAll = async () => {
    await setups.stop().catch(() => undefined);
    await infra.stop().catch(() => undefined);
  };
  process.on("SIGINT", () => void stopAll().finally(() => process.exit(130)));
  setTimeout(
    () => {
      progress("watchdog: the soak ran 5 minutes past its length; stopping");
      void stopAll().finally(() => process.exit(2));
    },
    (minutes * 60 + 300) * 1000,
  ).unref();
  progress(`agentnet bench: soak for ${minutes} min`);
  let section: SoakSection | undefined;
  let failure: string | undefined;
  try {
    section = await runSoak(ctx, {
      minutes,
      ratePerSecond: opts.soakRate ?? 200,
      requestsPerSecond: 5,
      heapSnapshots: snapshotDir !== undefined,
      sampleEveryMs: 10_000,
    });
  } catch (err) {
    failure = err instanceof Error ? err.message : String(err);
    progress(`soak failed: ${failure}`);
  } finally {
    await stopAll();
  }
  const machine = { ...machineFacts(), loadAverageAtStart, loadAverageAtEnd: machineFacts().loadAverageAtStart };
  const report = {
    tool: "agentnet bench --soak",
    version: 1,
    command: `npm run bench -- --soak${opts.soakMinutes ? ` --soak-minutes ${minutes}` : ""}${opts.soakRate ? ` --soak-rate ${opts.soakRate}` : ""}${opts.semiSpace !== DEFAULT_SEMI_SPACE_MIB ? ` --semi-space ${opts.semiSpace}` : ""}`,
    startedAt: startedAt.toISOString(),
    durationSeconds: Math.round((performance.now() - t0) / 100) / 10,
    commit: gitCommit(),
    machine,
    soak: section,
    failure,
    notes,
  };
  if (section) printSoak(section);
  for (const n of notes) process.stdout.write(`note: ${n}\n`);
  if (opts.save) {
    await mkdir(RESULTS, { recursive: true });
    const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
    const text = `${JSON.stringify(report, null, 2)}\n`;
    await writeFile(path.join(RESULTS, `soak-${stamp}.json`), text);
    await writeFile(path.join(RESULTS, "soak-latest.json"), text);
    process.stderr.write(`report: bench/results/soak-${stamp}.json (and bench/results/soak-latest.json)\n`);
  }
  if (opts.out) await writeFile(opts.out, `${JSON.stringify(report, null, 2)}\n`);
  process.exit(section?.pass ? 0 : 1);
}
