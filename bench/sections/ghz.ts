import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { grpcTransport, registerAgents } from "../clients.js";
import type { RunContext } from "../context.js";
import { type WindowUsage, WindowMeters } from "../meters.js";

const run = promisify(execFile);

// An outside gRPC load generator (github.com/bojand/ghz, Go) on one unary RPC, using server reflection:
// RegistryService/ResolveAccount with an agent's API key — authentication plus one indexed lookup.

export interface GhzSection {
  skipped?: string;
  ghzVersion?: string;
  runs: GhzRun[];
}

export interface GhzRun {
  setup: "embedded" | "postgres+nats";
  call?: string;
  concurrency?: number;
  connections?: number;
  durationSeconds?: number;
  requests?: number;
  requestsPerSecond?: number;
  latencyMs?: { p50: number; p95: number; p99: number; mean: number; slowest: number };
  statusCodes?: Record<string, number>;
  errors?: Record<string, number>;
  usage?: WindowUsage;
}

const CALL = "agentnet.v1.RegistryService/ResolveAccount";

export async function runGhz(ctx: RunContext): Promise<GhzSection> {
  const ghz = await findOrInstallGhz(ctx);
  if (typeof ghz !== "string") {
    ctx.note(`ghz skipped: ${ghz.skipped}`);
    return { ...ghz, runs: [] };
  }
  const version = await run(ghz, ["--version"]).then(
    (r) => (r.stdout || r.stderr).trim(),
    () => "",
  );
  const runs: GhzRun[] = [];
  for (const setup of ["embedded", "postgres+nats"] as const) {
    if (!ctx.runsOn(setup)) continue;
    runs.push(await ghzRun(ctx, ghz, setup));
  }
  ctx.note(
    'ghz reports the calls still in flight when its -z duration ends as errors ("transport is closing", "client connection is closing"); the errors column leaves those out',
  );
  return { ghzVersion: version, runs };
}

async function ghzRun(ctx: RunContext, ghz: string, setup: "embedded" | "postgres+nats"): Promise<GhzRun> {
  const backend = await ctx.setups.backend(setup);
  const gw = backend.gateways[0]!;
  await registerAgents(grpcTransport(gw.url, backend.apiKey), "ghz_target", 1);
  const p = ctx.profile.ghz;
  const meters = new WindowMeters([gw], ctx.infra, { backend, loadPids: [] });
  await meters.start();
  const { stdout } = await run(
    ghz,
    [
      "--insecure",
      "--call",
      CALL,
      "-d",
      JSON.stringify({ username: "ghz_target_00000" }),
      "-m",
      JSON.stringify({ authorization: `Bearer ${backend.apiKey}` }),
      "-z",
      `${p.durationS}s`,
      "-c",
      String(p.concurrency),
      "--connections",
      String(p.connections),
      "-O",
      "json",
      gw.url.replace("http://", ""),
    ],
    { maxBuffer: 64 * 2 ** 20, timeout: (p.durationS + 60) * 1000 },
  );
  const usage = await meters.stop();
  const out = JSON.parse(stdout) as GhzJson;
  const pct = (n: number) => ns(out.latencyDistribution?.find((d) => d.percentage === n)?.latency ?? NaN);
  const errors = Object.fromEntries(
    Object.entries(out.errorDistribution ?? {}).filter(([k]) => !/transport is closing|client connection is closing/.test(k)),
  );
  const r: GhzRun = {
    setup,
    call: CALL,
    concurrency: p.concurrency,
    connections: p.connections,
    durationSeconds: p.durationS,
    requests: out.statusCodeDistribution?.["OK"] ?? 0,
    requestsPerSecond: Math.round(out.rps),
    latencyMs: { p50: pct(50), p95: pct(95), p99: pct(99), mean: ns(out.average), slowest: ns(out.slowest) },
    statusCodes: out.statusCodeDistribution ?? {},
    errors,
    usage,
  };
  ctx.progress(`ghz · ${CALL} on ${setup}: ${r.requestsPerSecond} req/s, p50 ${r.latencyMs!.p50} ms p99 ${r.latencyMs!.p99} ms`);
  return r;
}

interface GhzJson {
  count: number;
  rps: number;
  average: number;
  slowest: number;
  latencyDistribution?: Array<{ percentage: number; latency: number }>;
  statusCodeDistribution?: Record<string, number>;
  errorDistribution?: Record<string, number>;
}

/** ghz durations are nanoseconds. */
function ns(v: number): number {
  return Math.round(v / 1000) / 1000;
}

async function findOrInstallGhz(ctx: RunContext): Promise<string | { skipped: string }> {
  const onPath = await run("sh", ["-c", "command -v ghz"]).then(
    (r) => r.stdout.trim(),
    () => "",
  );
  if (onPath) return onPath;
  let gopath: string;
  try {
    gopath = (await run("go", ["env", "GOPATH"])).stdout.trim();
  } catch {
    return { skipped: "ghz is not installed and Go is not available to install it (go install github.com/bojand/ghz/cmd/ghz@latest)" };
  }
  const bin = path.join(gopath, "bin", "ghz");
  if (existsSync(bin)) return bin;
  ctx.progress("ghz · installing with go install github.com/bojand/ghz/cmd/ghz@latest");
  try {
    await run("go", ["install", "github.com/bojand/ghz/cmd/ghz@latest"], { timeout: 240_000 });
  } catch (err) {
    return { skipped: `go install github.com/bojand/ghz/cmd/ghz@latest failed: ${String((err as Error).message).split("\n")[0]}` };
  }
  return existsSync(bin) ? bin : { skipped: `go install finished but ${bin} is missing` };
}
