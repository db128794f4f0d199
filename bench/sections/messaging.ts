import { grpcTransport, registerAgents } from "../clients.js";
import type { RunContext } from "../context.js";
import type { GatewayProcess } from "../gateway.js";
import { decodeHistogram, type LatencySummary, merge, summarize } from "../histogram.js";
import type { Backend, SetupName } from "../infra.js";
import { LoadPool } from "../load/pool.js";
import { type WindowUsage, WindowMeters } from "../meters.js";
import { round1 } from "../usage.js";

export interface MessagingRun {
  setup: SetupName;
  payloadBytes: number;
  /** Messages in flight at once per sender. */
  inFlightPerSender: number;
  /** `batch`: SendBatch per sender and millisecond; `unary`: Send per message. */
  call: "batch" | "unary";
  senders: number;
  receivers: number;
  /** Offered msg/s; null for the unthrottled (flow-controlled) step. */
  offeredPerSecond: number | null;
  windowSeconds: number;
  sentPerSecond: number;
  deliveredPerSecond: number;
  /** Send → delivery on the receiver's stream, for messages sent in the window. */
  latencyMs: LatencySummary;
  /** Send RPC until the message is stored (ACCEPTED). */
  sendRpcMs: LatencySummary;
  /** The offered load was not reached (sent or delivered below 95 % of it). */
  saturated: boolean;
  sendErrors: number;
  errorSamples: string[];
  /** Accepted but not received within the drain timeout after the window (late, not necessarily lost). */
  missing: number;
  duplicates: number;
  ackErrors: number;
  receipts: Record<string, number>;
  usage: WindowUsage;
}

export interface MessagingSection {
  runs: MessagingRun[];
}

export async function runMessaging(ctx: RunContext): Promise<MessagingSection> {
  const runs: MessagingRun[] = [];
  if (ctx.runsOn("embedded")) {
    const embedded = await ctx.setups.embeddedBackend();
    runs.push(...(await sweep(ctx, "embedded", embedded, embedded.gateways[0]!, embedded.gateways[0]!)));
  }
  if (ctx.runsOn("postgres+nats")) {
    const postgres = await ctx.setups.postgresBackend();
    runs.push(...(await sweep(ctx, "postgres+nats", postgres, postgres.gateways[0]!, postgres.gateways[0]!)));
  }
  if (ctx.runsOn("two-gateways")) {
    const postgres = await ctx.setups.postgresBackend();
    const second = await ctx.setups.secondGateway();
    try {
      runs.push(...(await sweep(ctx, "postgres+nats, 2 gateways", postgres, postgres.gateways[0]!, second)));
    } finally {
      await ctx.setups.removeGateway(second);
    }
  }
  return { runs };
}

let setupCounter = 0;

async function sweep(
  ctx: RunContext,
  setup: SetupName,
  backend: Backend,
  sendGw: GatewayProcess,
  receiveGw: GatewayProcess,
): Promise<MessagingRun[]> {
  const p = ctx.profile.messaging;
  const tag = `m${++setupCounter}`;
  ctx.progress(
    `messaging · ${setup}: registering ${p.senders} senders on ${sendGw.name} and ${p.receivers} receivers on ${receiveGw.name}`,
  );
  const senders = await registerAgents(grpcTransport(sendGw.url, backend.apiKey), `${tag}_send`, p.senders);
  const receivers = await registerAgents(grpcTransport(receiveGw.url, backend.apiKey), `${tag}_recv`, p.receivers);

  const pool = new LoadPool(ctx.loadWorkers);
  const runs: MessagingRun[] = [];
  try {
    await pool.open(
      { sendUrl: sendGw.url, receiveUrl: receiveGw.url, apiKey: backend.apiKey, maxInFlight: p.maxInFlight },
      senders,
      receivers,
    );
    const gateways = sendGw === receiveGw ? [sendGw] : [sendGw, receiveGw];
    let stepId = 0;
    for (const { payloadBytes: bytes, rate, inFlightPerSender, call } of p.steps) {
      stepId++;
      const meters = new WindowMeters(gateways, ctx.infra, { backend, loadPids: pool.pids });
      // The meters cover the measured window only, not the warm-up or the drain.
      const metered = (async () => {
        await sleep(p.warmupMs);
        await meters.start();
        await sleep(p.durationMs);
        return meters.stop();
      })();
      const results = await pool.step({
        stepId,
        ratePerSecond: rate,
        payloadBytes: bytes,
        warmupMs: p.warmupMs,
        durationMs: p.durationMs,
        drainTimeoutMs: p.drainTimeoutMs,
        inFlightPerSender,
        call,
        maxUndelivered: p.maxUndelivered,
      });
      const usage = await metered;
      const windowS = p.durationMs / 1000;
      const sum = (f: (r: (typeof results)[number]) => number) => results.reduce((a, r) => a + f(r), 0);
      const sentPerSecond = round1(sum((r) => r.sentInWindow) / windowS);
      const deliveredPerSecond = round1(sum((r) => r.receivedInWindow) / windowS);
      const receipts: Record<string, number> = {};
      for (const r of results) for (const [k, v] of Object.entries(r.receipts)) receipts[k] = (receipts[k] ?? 0) + v;
      const run: MessagingRun = {
        setup,
        payloadBytes: bytes,
        inFlightPerSender,
        call,
        senders: senders.length,
        receivers: receivers.length,
        offeredPerSecond: rate,
        windowSeconds: windowS,
        sentPerSecond,
        deliveredPerSecond,
        latencyMs: summarize(merge(results.map((r) => decodeHistogram(r.latency)))),
        sendRpcMs: summarize(merge(results.map((r) => decodeHistogram(r.sendRpc)))),
        saturated: rate !== null && (sentPerSecond < 0.95 * rate || deliveredPerSecond < 0.95 * rate),
        sendErrors: sum((r) => r.sendErrors),
        errorSamples: results.flatMap((r) => r.errorSamples).slice(0, 5),
        missing: sum((r) => r.missing),
        duplicates: sum((r) => r.duplicates),
        ackErrors: sum((r) => r.ackErrors),
        receipts,
        usage,
      };
      runs.push(run);
      ctx.progress(
        `messaging · ${setup} · ${bytes} B · ${rate ?? "max"} msg/s offered · ${inFlightPerSender} in flight per sender · ${call}: delivered ${deliveredPerSecond}/s, ` +
          `p50 ${run.latencyMs.p50} ms p99 ${run.latencyMs.p99} ms, gateway CPU ${usage.gateways.map((g) => `${g.cpuPercent}%`).join("+")}` +
          (run.sendErrors ? `, ${run.sendErrors} send errors (${run.errorSamples[0]})` : "") +
          (run.missing ? `, ${run.missing} not delivered within the drain time` : ""),
      );
    }
  } finally {
    await pool.stop();
    ctx.noteGatewayErrors(`messaging (${setup})`, sendGw === receiveGw ? [sendGw] : [sendGw, receiveGw]);
  }
  return runs;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
