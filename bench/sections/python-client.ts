import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { RunContext } from "../context.js";

// Issue #14: the message path as a user of the Python client sees it, beside the raw gRPC load. The load is
// clients/python/bench/load.py (one Python process, the client's own verbs): 8 sender agents → 8 receiver agents,
// 128-byte payloads, closed loops of 1 and 32 sends in flight per sender, receivers on `on_message` (guardrails,
// batched acks); then sequential request/reply between two agents. On the PostgreSQL + NATS backend, with the
// client's send coalescing (SendBatch) on, and again with it off (every send a unary Send) for comparison.

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const PYTHON = path.join(ROOT, "clients/python/.venv/bin/python");
const LOAD = path.join(ROOT, "clients/python/bench/load.py");

export interface Summary {
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

export interface PythonClientStep {
  inFlightPerSender: number;
  windowSeconds: number;
  sentPerSecond: number;
  deliveredPerSecond: number;
  /** Send → the receiver's handler, for messages sent in the window. */
  latencyMs: Summary;
  /** `send` until it returned (stored). */
  sendMs: Summary;
  sendErrors: number;
  errorSamples: string[];
  missing: number;
  duplicates: number;
  /** SendBatch calls the senders' client made in the step (0 with batching off). */
  sendBatchCalls: number;
  /** Sends per SendBatch call. */
  meanBatch: number | null;
}

export interface PythonClientRun {
  setup: "postgres+nats";
  batchSends: boolean;
  senders: number;
  receivers: number;
  payloadBytes: number;
  steps: PythonClientStep[];
  requestReply?: { roundTripMs: Summary; roundTripsPerSecond: number; errors: number };
}

export interface PythonClientSection {
  /** Why nothing ran (no virtualenv), when so. */
  skipped?: string;
  runs: PythonClientRun[];
}

/** Why the section cannot run here, or undefined when it can. */
export function pythonClientUnavailable(): string | undefined {
  if (!existsSync(PYTHON)) return `no ${path.relative(ROOT, PYTHON)} (bash clients/scripts/setup.sh makes it)`;
  const check = spawnSync(PYTHON, ["-c", "import agentnet.batch"], { encoding: "utf8" });
  if (check.status !== 0) return `the virtualenv cannot import agentnet: ${(check.stderr || "").trim().split("\n").pop()}`;
  return undefined;
}

let runCounter = 0;

export async function runPythonClient(ctx: RunContext): Promise<PythonClientSection> {
  const skipped = pythonClientUnavailable();
  if (skipped) {
    ctx.note(`python-client skipped: ${skipped}`);
    ctx.progress(`python-client skipped: ${skipped}`);
    return { skipped, runs: [] };
  }
  if (!ctx.runsOn("postgres+nats")) return { skipped: "--setup leaves out postgres+nats", runs: [] };
  const full = ctx.profile.name === "full";
  const backend = await ctx.setups.postgresBackend();
  const gw = backend.gateways[0]!;
  const runs: PythonClientRun[] = [];
  try {
    for (const batch of [true, false]) {
      const args = [
        LOAD,
        "--url",
        gw.url,
        "--api-key",
        backend.apiKey,
        "--in-flight",
        "1,32",
        "--warmup",
        "0.5",
        "--seconds",
        full ? "10" : "2",
        "--drain",
        "5",
        "--rr-seconds",
        batch ? (full ? "10" : "2") : "0",
        "--prefix",
        `pyc${++runCounter}${batch ? "b" : "u"}`,
      ];
      if (!batch) args.push("--no-batch");
      const run = (await runLoad(ctx, args, full ? 300_000 : 90_000)) as PythonClientRun;
      run.setup = "postgres+nats";
      runs.push(run);
    }
  } finally {
    ctx.noteGatewayErrors("python-client (postgres+nats)", [gw]);
  }
  return { runs };
}

/** Runs load.py, relaying its progress lines, and returns the JSON it prints last. */
function runLoad(ctx: RunContext, args: string[], timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PYTHONUNBUFFERED: "1" } });
    let stdout = "";
    let stderrTail = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderrTail = (stderrTail + d).slice(-4000);
      for (const line of d.split("\n")) if (line.startsWith("python-client:")) ctx.progress(line);
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split("\n").pop() ?? "";
      if (code !== 0) {
        reject(new Error(`load.py exited ${code ?? signal}: ${stderrTail.trim().split("\n").slice(-3).join(" | ")}`));
        return;
      }
      try {
        resolve(JSON.parse(last));
      } catch {
        reject(new Error(`load.py printed no JSON: ${last.slice(0, 200)}`));
      }
    });
  });
}
