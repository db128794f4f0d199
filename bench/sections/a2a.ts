import { randomUUID } from "node:crypto";
import { connect } from "@agentnet/client";
import type { RunContext } from "../context.js";
import { createHistogram, type LatencySummary, recordMs, summarize } from "../histogram.js";

// Issue #19: what the A2A bridge costs over agentnet's own request/reply. An A2A client (plain fetch, JSON-RPC
// SendMessage, blocking) asks a TypeScript SDK agent that replies at once, on one PostgreSQL + NATS gateway:
// sequentially, then with 16 calls in flight (the agent runs up to 64 handlers at once). Each call is a whole task:
// stored, delivered, answered, read back.

export interface A2aRun {
  inFlight: number;
  tasksPerSecond: number;
  latencyMs: LatencySummary;
  errors: number;
  errorSamples: string[];
}

export interface A2aSection {
  setup: "postgres+nats";
  windowSeconds: number;
  runs: A2aRun[];
}

const IN_FLIGHT = [1, 16];

export async function runA2a(ctx: RunContext): Promise<A2aSection> {
  const full = ctx.profile.name === "full";
  const durationMs = full ? 5000 : 1500;
  const backend = await ctx.setups.postgresBackend();
  const gw = backend.gateways[0]!;
  const sdk = connect({ url: gw.url, apiKey: backend.apiKey });
  const runs: A2aRun[] = [];
  try {
    // Handlers at once past the seed's default of 4, so 16 calls in flight measure the bridge, not the agent.
    const echo = await sdk.register({ username: "a2a_bench_echo" }, { guardrails: { maxConcurrency: 64 } });
    echo.onMessage(async (m) => void (m.isRequest && (await m.replyText("pong"))));
    await echo.ready();
    const caller = await sdk.register({ username: "a2a_bench_caller" });
    const headers = {
      "content-type": "application/json",
      authorization: `Bearer ${backend.apiKey}`,
      "agentnet-as-account": caller.accountId,
      "a2a-version": "1.0",
    };
    const call = async (): Promise<void> => {
      const res = await fetch(`${gw.url}/a2a/a2a_bench_echo`, {
        method: "POST",
        headers,
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "SendMessage",
          params: { message: { messageId: randomUUID(), role: "ROLE_USER", parts: [{ text: "ping" }] } },
        }),
      });
      const body = (await res.json()) as { result?: { task?: { status?: { state?: string } } }; error?: { message: string } };
      const state = body.result?.task?.status?.state;
      if (state !== "TASK_STATE_COMPLETED") throw new Error(body.error?.message ?? `task ended ${state}`);
    };
    for (let i = 0; i < 30; i++) await call().catch(() => undefined);
    for (const inFlight of IN_FLIGHT) {
      const h = createHistogram();
      let done = 0;
      let errors = 0;
      const errorSamples: string[] = [];
      const start = performance.now();
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          while (performance.now() - start < durationMs) {
            const t = performance.now();
            try {
              await call();
              recordMs(h, performance.now() - t);
              done++;
            } catch (err) {
              errors++;
              if (errorSamples.length < 5) errorSamples.push(err instanceof Error ? err.message : String(err));
            }
          }
        }),
      );
      const run: A2aRun = {
        inFlight,
        tasksPerSecond: Math.round((done * 1000) / (performance.now() - start)),
        latencyMs: summarize(h),
        errors,
        errorSamples,
      };
      runs.push(run);
      ctx.progress(
        `a2a · JSON-RPC SendMessage, ${inFlight} in flight: ${run.tasksPerSecond} tasks/s, p50 ${run.latencyMs.p50} ms p99 ${run.latencyMs.p99} ms` +
          (errors ? `, ${errors} errors (${errorSamples[0]})` : ""),
      );
    }
  } finally {
    await sdk.close();
  }
  ctx.noteGatewayErrors("a2a (postgres+nats)", [gw]);
  return { setup: "postgres+nats", windowSeconds: durationMs / 1000, runs };
}

/** The section's table, for the report. */
export function a2aLines(s: A2aSection, table: (headers: string[], rows: string[][], right?: (c: number) => boolean) => string): string[] {
  return [
    "",
    `A2A: blocking JSON-RPC SendMessage to a TypeScript SDK agent that replies at once (each call a whole task), ${s.setup}, ${s.windowSeconds} s per step`,
    table(
      ["in flight", "tasks/s", "p50 ms", "p99 ms", "note"],
      s.runs.map((r) => [
        String(r.inFlight),
        r.tasksPerSecond.toLocaleString("en-US"),
        r.latencyMs.p50.toFixed(2),
        r.latencyMs.p99.toFixed(2),
        r.errors ? `${r.errors} errors` : "",
      ]),
      (c) => c >= 0 && c <= 3,
    ),
  ];
}
