import type { RunContext } from "../context.js";
import {
  ClosedLoop,
  type LoopResult,
  type OnDeliver,
  type Peers,
  type RoundTrips,
  rawPeers,
  sdkPeers,
  sequentialRequests,
} from "../load/sdk-ts-load.js";
import { type WindowUsage, WindowMeters } from "../meters.js";

// Issue #14: the same load through the TypeScript SDK as through the generated clients ("raw gRPC"), side by
// side on one PostgreSQL + NATS gateway in one run: 8 sender agents → 8 receiver agents, 128-byte payloads,
// closed loop with 1 and 32 sends outstanding per sender; sequential request/reply between two agents. The SDK
// runs twice, with its coalesced sends (SendBatch) and with `coalesceSends: false` (one Send per message).

export interface SdkTsLoopRun extends LoopResult {
  peers: string;
  inFlightPerSender: number;
  usage: WindowUsage;
  /** CPU of the bench process (the clients: senders and receivers) per delivered message, ms. */
  clientCpuMsPerMessage: number | null;
  /** Gateway CPU per delivered message, ms. */
  gatewayCpuMsPerMessage: number | null;
}

export interface SdkTsRequestRun extends RoundTrips {
  peers: string;
}

export interface SdkTsSection {
  setup: "postgres+nats";
  agents: number;
  payloadBytes: number;
  windowSeconds: number;
  loops: SdkTsLoopRun[];
  requests: SdkTsRequestRun[];
}

const AGENTS = 8;
const PAYLOAD = 128;
const IN_FLIGHT = [1, 32];

export async function runSdkTs(ctx: RunContext): Promise<SdkTsSection> {
  const full = ctx.profile.name === "full";
  const timing = { warmupMs: 500, durationMs: full ? 5000 : 1500, drainTimeoutMs: 3000, requestMs: full ? 4000 : 1500 };
  const backend = await ctx.setups.postgresBackend();
  const gw = backend.gateways[0]!;
  const loop = new ClosedLoop();
  const loops: SdkTsLoopRun[] = [];
  const requests: SdkTsRequestRun[] = [];
  const kinds: Array<{ name: string; open: (prefix: string, onDeliver: OnDeliver) => Promise<Peers>; requests: boolean }> = [
    { name: "raw", open: (prefix, d) => rawPeers(gw.url, backend.apiKey, prefix, AGENTS, d), requests: true },
    { name: "sdk", open: (prefix, d) => sdkPeers(gw.url, backend.apiKey, prefix, AGENTS, d, { coalesceSends: true }), requests: true },
    {
      name: "sdk-nc",
      open: (prefix, d) => sdkPeers(gw.url, backend.apiKey, prefix, AGENTS, d, { coalesceSends: false }),
      requests: false,
    },
  ];
  // Every kind's agents are registered and listening first; then each step runs for every kind in turn, so the
  // kinds share the machine's moods (it is shared) and none gets the cold start: an unmeasured warm-up goes first.
  const opened: Peers[] = [];
  let stepId = 0;
  const step = (peers: Peers, inFlight: number, durationMs: number) =>
    loop.run(peers, {
      stepId: 1000 + ++stepId,
      senders: AGENTS,
      receivers: AGENTS,
      inFlightPerSender: inFlight,
      payloadBytes: PAYLOAD,
      warmupMs: timing.warmupMs,
      durationMs,
      drainTimeoutMs: timing.drainTimeoutMs,
      maxUndelivered: 1000,
    });
  try {
    for (const kind of kinds) opened.push(await kind.open(`sdkts_${kind.name.replace("-", "")}`, loop.deliver));
    for (const peers of opened) await step(peers, 8, 500);
    for (const inFlight of IN_FLIGHT) {
      for (const peers of opened) {
        const meters = new WindowMeters([gw], ctx.infra, { backend, loadPids: [process.pid] });
        const metered = (async () => {
          await sleep(timing.warmupMs);
          await meters.start();
          await sleep(timing.durationMs);
          return meters.stop();
        })();
        const result = await step(peers, inFlight, timing.durationMs);
        const usage = await metered;
        const perMessage = (cpuPercent: number | undefined) =>
          cpuPercent === undefined || result.deliveredPerSecond === 0 ? null : round3((cpuPercent * 10) / result.deliveredPerSecond);
        const run: SdkTsLoopRun = {
          peers: peers.kind,
          inFlightPerSender: inFlight,
          ...result,
          usage,
          clientCpuMsPerMessage: perMessage(usage.loadCpuPercent),
          gatewayCpuMsPerMessage: perMessage(usage.gateways[0]?.cpuPercent),
        };
        loops.push(run);
        ctx.progress(
          `sdk-ts · ${peers.kind} · ${inFlight} in flight per sender: delivered ${run.deliveredPerSecond}/s, ` +
            `p50 ${run.latencyMs.p50} ms p99 ${run.latencyMs.p99} ms, gateway CPU ${usage.gateways[0]?.cpuPercent}%, ` +
            `client CPU ${usage.loadCpuPercent}%` +
            (run.sendErrors ? `, ${run.sendErrors} send errors (${run.errorSamples[0]})` : "") +
            (run.missing ? `, ${run.missing} not delivered within the drain time` : ""),
        );
      }
    }
    for (const [i, peers] of opened.entries()) {
      if (!kinds[i]!.requests) continue;
      const rr = await sequentialRequests(peers, timing.requestMs);
      requests.push({ peers: peers.kind, ...rr });
      ctx.progress(
        `sdk-ts · ${peers.kind} · sequential request/reply: p50 ${rr.roundTripMs.p50} ms p99 ${rr.roundTripMs.p99} ms, ${rr.perSecond}/s` +
          (rr.errors ? `, ${rr.errors} errors (${rr.errorSamples[0]})` : ""),
      );
    }
  } finally {
    await Promise.allSettled(opened.map((p) => p.close()));
  }
  ctx.noteGatewayErrors("sdk-ts (postgres+nats)", [gw]);
  return { setup: "postgres+nats", agents: AGENTS, payloadBytes: PAYLOAD, windowSeconds: timing.durationMs / 1000, loops, requests };
}

/** The section's tables, for the report. */
export function sdkTsLines(
  s: SdkTsSection,
  table: (headers: string[], rows: string[][], right?: (c: number) => boolean) => string,
): string[] {
  const raw = (inFlight: number) => s.loops.find((l) => l.peers === "raw" && l.inFlightPerSender === inFlight);
  const rows = s.loops.map((x) => {
    const base = raw(x.inFlightPerSender);
    return [
      x.peers,
      String(x.inFlightPerSender),
      num(x.sentPerSecond),
      num(x.deliveredPerSecond),
      base && x !== base && base.deliveredPerSecond > 0 ? `${(x.deliveredPerSecond / base.deliveredPerSecond).toFixed(2)}×` : "",
      ms(x.latencyMs.p50),
      ms(x.latencyMs.p99),
      ms(x.sendMs.p50),
      num(x.usage.gateways[0]?.cpuPercent),
      x.gatewayCpuMsPerMessage === null ? "—" : x.gatewayCpuMsPerMessage.toFixed(3),
      num(x.usage.loadCpuPercent),
      x.clientCpuMsPerMessage === null ? "—" : x.clientCpuMsPerMessage.toFixed(3),
      [
        x.sendErrors ? `${x.sendErrors} send errors` : "",
        x.missing ? `${x.missing} not delivered within the drain time` : "",
        x.duplicates ? `${x.duplicates} redelivered` : "",
      ]
        .filter(Boolean)
        .join(", "),
    ];
  });
  const rawRr = s.requests.find((r) => r.peers === "raw");
  const rrRows = s.requests.map((r) => [
    r.peers,
    ms(r.roundTripMs.p50),
    ms(r.roundTripMs.p99),
    rawRr && r !== rawRr ? `${(r.roundTripMs.p50 / rawRr.roundTripMs.p50).toFixed(2)}×` : "",
    num(r.perSecond),
    r.errors ? `${r.errors} errors` : "",
  ]);
  return [
    "",
    `TypeScript SDK vs raw gRPC (generated clients): ${s.agents} senders → ${s.agents} receivers, ${s.payloadBytes} B, closed loop, ` +
      `${s.setup}, ${s.windowSeconds} s per step; sdk-nc = coalesceSends: false; client CPU = the bench process (all agents)`,
    table(
      [
        "peers",
        "in flight/sender",
        "sent/s",
        "delivered/s",
        "vs raw",
        "p50 ms",
        "p99 ms",
        "send p50",
        "gateway CPU %",
        "gw ms/msg",
        "client CPU %",
        "client ms/msg",
        "note",
      ],
      rows,
      (c) => c >= 1 && c <= 11,
    ),
    "",
    "Sequential request/reply through the SDK (agent.request → m.reply) and raw (Request → Subscribe → Reply)",
    table(["peers", "p50 ms", "p99 ms", "vs raw", "round trips/s", "note"], rrRows, (c) => c >= 1 && c <= 4),
  ];
}

const num = (n: number | undefined): string =>
  n === undefined || Number.isNaN(n) ? "—" : n.toLocaleString("en-US", { maximumFractionDigits: 0 });
const ms = (n: number | undefined): string =>
  n === undefined || Number.isNaN(n) ? "—" : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0);
const round3 = (n: number) => Math.round(n * 1000) / 1000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
