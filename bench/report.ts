import type { Machine } from "./machine.js";
import type { WindowUsage } from "./meters.js";
import type { Profile } from "./profile.js";
import type { BaselinesSection } from "./sections/baselines.js";
import type { GhzSection } from "./sections/ghz.js";
import type { MessagingRun, MessagingSection } from "./sections/messaging.js";
import type { PythonClientSection } from "./sections/python-client.js";
import { pythonClientLines } from "./sections/python-client-report.js";
import type { RegistryRun, RegistrySection } from "./sections/registry.js";
import type { RequestReplySection } from "./sections/request-reply.js";
import { type SdkTsSection, sdkTsLines } from "./sections/sdk-ts.js";
import { type A2aSection, a2aLines } from "./sections/a2a.js";

export interface Sections {
  baselines?: BaselinesSection;
  messaging?: MessagingSection;
  requestReply?: RequestReplySection;
  pythonClient?: PythonClientSection;
  ghz?: GhzSection;
  registry?: RegistrySection;
  sdkTs?: SdkTsSection;
  a2a?: A2aSection;
}

/** One target of issue #4 (or an informational ratio) with what was measured. */
export interface TargetResult {
  id: string;
  target: string;
  measured: string;
  value: number | null;
  /** true/false against the target; null when not measured or informational. */
  pass: boolean | null;
  note?: string;
}

export interface Report {
  tool: string;
  version: number;
  profile: "quick" | "full";
  command: string;
  startedAt: string;
  durationSeconds: number;
  commit: string;
  machine: Machine;
  parameters: Profile;
  loadWorkers: number;
  sections: Sections;
  failures: Record<string, string>;
  targets: TargetResult[];
  notes: string[];
}

const num = (n: number | null | undefined, digits = 0): string =>
  n === null || n === undefined || Number.isNaN(n)
    ? "—"
    : n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
/** PostgreSQL's memory at the end of a window: sum of PSS, or of RSS (marked) where PSS was not readable. */
const pgMem = (u: WindowUsage): string =>
  u.postgresPssEndMiB !== undefined
    ? num(u.postgresPssEndMiB)
    : u.postgresRssEndMiB !== undefined
      ? `${num(u.postgresRssEndMiB)} (RSS)`
      : "—";
const ms = (n: number | undefined): string =>
  n === undefined || Number.isNaN(n) ? "—" : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0);

export function evaluateTargets(report: Report): TargetResult[] {
  const out: TargetResult[] = [];
  const s = report.sections;
  const small = (setup: string) => (s.messaging?.runs ?? []).filter((r) => r.setup === setup && r.payloadBytes === 128);
  const best = (runs: MessagingRun[]) =>
    runs.reduce<MessagingRun | undefined>((b, r) => (!b || r.deliveredPerSecond > b.deliveredPerSecond ? r : b), undefined);

  // Issue #14's targets are for one PostgreSQL+NATS gateway; embedded and two gateways are to come within 25 %.
  const setups: Array<[string, number]> = [
    ["postgres+nats", 1],
    ["embedded", 1.25],
    ["postgres+nats, 2 gateways", 1.25],
  ];
  const unthrottled = (setup: string, inFlight: number) =>
    small(setup).find((r) => r.offeredPerSecond === null && r.inFlightPerSender === inFlight && r.call === "batch");
  for (const [setup, slack] of setups) {
    if (!s.messaging) break;
    const within = slack === 1 ? "" : " (within 25 %)";
    for (const [inFlight, goal] of [
      [32, 10_000],
      [1, 2_000],
    ] as const) {
      const r = unthrottled(setup, inFlight);
      if (!r) continue;
      const floor = goal / slack;
      out.push({
        id: `throughput.${inFlight}.${setup}`,
        target: `delivered ≥ ${num(floor)} msg/s${within} · ${inFlight} in flight per sender · 128 B · ${setup}`,
        measured: `${num(r.deliveredPerSecond)} msg/s`,
        value: r.deliveredPerSecond,
        pass: r.deliveredPerSecond >= floor && r.missing === 0 && r.duplicates === 0,
      });
    }
    for (const [rate, bound] of [
      [2000, 10],
      [5000, 25],
    ] as const) {
      const r = small(setup).find((x) => x.offeredPerSecond === rate);
      if (!r) continue;
      const limit = bound * slack;
      out.push({
        id: `latency.p99.${rate}.${setup}`,
        target: `p99 send→deliver < ${num(limit, limit % 1 ? 1 : 0)} ms at ${num(rate)} msg/s offered${within} · ${setup}`,
        measured: `${ms(r.latencyMs.p99)} ms`,
        value: r.latencyMs.p99,
        pass: r.latencyMs.p99 < limit && !r.saturated,
        ...(r.saturated && {
          note: `${num(rate)}/s not sustained: sent ${num(r.sentPerSecond)}/s, delivered ${num(r.deliveredPerSecond)}/s`,
        }),
      });
    }
    const r = unthrottled(setup, 32);
    if (r && r.deliveredPerSecond > 0) {
      const serverCpu =
        r.usage.gateways.reduce((a, g) => a + g.cpuPercent, 0) + (r.usage.postgresCpuPercent ?? 0) + (r.usage.natsCpuPercent ?? 0);
      const perMessage = (serverCpu * 10) / r.deliveredPerSecond; // % of a core → ms of CPU per second, per message
      const limit = 0.15 * slack;
      out.push({
        id: `cpu-per-message.${setup}`,
        target: `server CPU (gateways + PostgreSQL + NATS) ≤ ${limit.toFixed(3).replace(/0+$/, "")} ms per delivered message${within} · ${setup}`,
        measured: `${perMessage.toFixed(3)} ms`,
        value: Math.round(perMessage * 1000) / 1000,
        pass: perMessage <= limit,
        note: `at the unthrottled 32-in-flight step: ${num(serverCpu)} % of a core for ${num(r.deliveredPerSecond)} msg/s`,
      });
    }
  }

  const raw = s.baselines?.requestReply ?? [];
  const rrRuns = s.requestReply?.runs ?? [];
  for (const r of rrRuns) {
    const base = raw.find((b) => b.ratePerSecond === r.ratePerSecond);
    if (r.roundTripMs.count === 0) {
      out.push({
        id: `request-reply.p50-ratio.${r.setup}.${r.ratePerSecond}`,
        target: `request/reply p50 ≤ 3× raw NATS · ${r.setup} · ${num(r.ratePerSecond)}/s`,
        measured: "no request completed",
        value: null,
        pass: false,
        note: `${r.errors} errors`,
      });
      continue;
    }
    const ratio = base ? r.roundTripMs.p50 / base.roundTripMs.p50 : null;
    out.push({
      id: `request-reply.p50-ratio.${r.setup}.${r.ratePerSecond}`,
      target: `request/reply p50 ≤ 3× raw NATS · ${r.setup} · ${num(r.ratePerSecond)}/s`,
      measured:
        ratio === null
          ? `${ms(r.roundTripMs.p50)} ms (no raw NATS figure)`
          : `${ratio.toFixed(1)}× (${ms(r.roundTripMs.p50)} vs ${ms(base!.roundTripMs.p50)} ms)`,
      value: ratio === null ? null : Math.round(ratio * 100) / 100,
      pass: ratio === null ? null : ratio <= 3 && r.errors === 0,
      ...(r.errors > 0 && { note: `${r.errors} errors` }),
    });
    out.push({
      id: `request-reply.p99.${r.setup}.${r.ratePerSecond}`,
      target: `request/reply p99 ≤ 8 ms · ${r.setup} · ${num(r.ratePerSecond)}/s`,
      measured: `${ms(r.roundTripMs.p99)} ms`,
      value: r.roundTripMs.p99,
      pass: r.roundTripMs.p99 <= 8 && r.errors === 0,
    });
  }

  for (const r of s.registry?.runs ?? []) {
    // Agents spread over several gateways: per-agent figures for the extrapolation, no target of their own.
    if (r.gateways > 1) continue;
    const scaled = r.agents < 10_000 ? ` (${num(r.agents)} agents at the heartbeat rate of 10,000)` : "";
    // The run where every agent has its own connection: its own rows, measured as they are (not extrapolated).
    const own = r.ownConnections ? ".own-connections" : "";
    const ownLabel = r.ownConnections ? `, ${num(r.agents)} agents on their own connections` : "";
    out.push({
      id: `registry.heartbeat-cpu.${r.setup}${own}`,
      target: `10,000 heartbeating agents < 25 % of one core · ${r.setup}${ownLabel}`,
      measured: `${num(r.usage.gateways[0]!.cpuPercent, 1)} %${scaled}`,
      value: r.usage.gateways[0]!.cpuPercent,
      pass: r.usage.gateways[0]!.cpuPercent < 25 && r.heartbeatErrors === 0 && r.heartbeatsSkipped === 0,
      ...((r.heartbeatErrors > 0 || r.heartbeatsSkipped > 0) && {
        note: [
          r.heartbeatErrors > 0 ? `${r.heartbeatErrors} heartbeat errors` : "",
          r.heartbeatsSkipped > 0 ? `gateway fell behind: ${r.heartbeatsSkipped} heartbeats skipped` : "",
        ]
          .filter(Boolean)
          .join(", "),
      }),
    });
    const extrapolated = r.agents < 10_000 && !r.ownConnections;
    const rss = r.ownConnections ? r.rssConnectedMiB : r.rssAt10kMiB;
    out.push({
      id: `registry.rss.${r.setup}${own}`,
      target: r.ownConnections
        ? `gateway RSS < 300 MiB with ${num(r.agents)} agents on their own connections · ${r.setup}`
        : `gateway RSS < 300 MiB with 10,000 connected agents · ${r.setup}`,
      measured: extrapolated
        ? `~${num(r.rssAt10kMiB)} MiB extrapolated (${num(r.rssConnectedMiB)} MiB with ${num(r.agents)})`
        : `${num(r.rssConnectedMiB)} MiB`,
      value: rss,
      pass: rss < 300 && r.streamsOpen === r.agents,
      ...(r.streamsOpen !== r.agents && { note: `only ${r.streamsOpen} of ${r.agents} streams opened` }),
    });
    if (r.ownConnections) continue;
    // 10,000 in < 10 s is 1,000 agents/s, each registered and streaming, whatever the number registered.
    out.push({
      id: `registry.register-rate.${r.setup}`,
      target: `register 10,000 agents in < 10 s (≥ 1,000/s, each opening its stream) · ${r.setup}`,
      measured: `${num(r.registerPerSecond)} agents/s (${num(r.agents)} in ${num(r.agents / Math.max(1, r.registerPerSecond), 1)} s)`,
      value: r.registerPerSecond,
      pass: r.registerPerSecond >= 1000 && r.streamsOpen === r.agents,
    });
    for (const [rpc, h] of [
      ["ListOnline", r.listOnlineMs],
      ["SearchAgents", r.searchAgentsMs],
    ] as const) {
      out.push({
        id: `registry.${rpc.toLowerCase()}-p50.${r.setup}`,
        target: `${rpc} p50 < 10 ms with ${num(r.agents)} online · ${r.setup}`,
        measured: `${ms(h.p50)} ms (p99 ${ms(h.p99)})`,
        value: h.p50,
        pass: h.p50 < 10,
      });
    }
  }

  for (const r of s.registry?.runs ?? []) {
    const b = r.presenceBurst;
    out.push({
      id: `registry.presence-burst.${r.setup}${r.ownConnections ? ".own-connections" : ""}`,
      target: `WatchPresence: a burst of 1,000 joins to 100 watchers, none falling behind · ${runLabel(r)}`,
      measured: `${num(b.complete)} of ${num(b.watchers)} watchers saw all ${num(b.joins)} joins in ${b.seconds} s`,
      value: b.complete,
      pass: b.complete === b.watchers && b.joins >= 1000 && b.watchers >= 100,
      ...((b.ended > 0 || b.errors.length > 0) && {
        note: [b.ended > 0 ? `${b.ended} streams ended early` : "", b.errors[0] ?? ""].filter(Boolean).join(", "),
      }),
    });
  }

  // Informational ratios against the raw NATS ceiling.
  const rawSmall = s.baselines?.pubSub.find((p) => p.payloadBytes === 128);
  const pgBest = best(small("postgres+nats"));
  if (rawSmall && pgBest) {
    out.push({
      id: "ratio.throughput",
      target: "(no target) agentnet durable / raw NATS pub→sub · 128 B",
      measured: `${((pgBest.deliveredPerSecond / rawSmall.messagesPerSecond) * 100).toFixed(1)} % (${num(pgBest.deliveredPerSecond)} vs ${num(rawSmall.messagesPerSecond)} msg/s)`,
      value: Math.round((pgBest.deliveredPerSecond / rawSmall.messagesPerSecond) * 10_000) / 10_000,
      pass: null,
    });
  }
  return out;
}

/** Fixed-width table; numbers right-aligned. */
function table(headers: string[], rows: string[][], rightAlign: (col: number) => boolean = () => false): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (rightAlign(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((w) => "─".repeat(w))), ...rows.map(line)].map((l) => `  ${l}`).join("\n");
}

export function printReport(r: Report): void {
  const out: string[] = [];
  const m = r.machine;
  out.push("");
  out.push(`agentnet bench · ${r.profile} · commit ${r.commit} · ${r.durationSeconds} s`);
  out.push(
    `machine: ${m.cores} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node}, load average ${m.loadAverageAtStart} at start, ${m.loadAverageAtEnd ?? "?"} at end (the machine is shared)`,
  );
  out.push("");
  out.push("Targets (messaging and request/reply: issue #14; registry: issues #4 and #15)");
  out.push(
    table(
      ["", "target", "measured", "note"],
      r.targets.map((t) => [t.pass === null ? "·" : t.pass ? "✓" : "✗", t.target, t.measured, t.note ?? ""]),
    ),
  );

  const s = r.sections;
  if (s.messaging) {
    const p = r.parameters.messaging;
    out.push("");
    out.push(
      `Messaging: ${p.senders} senders → ${p.receivers} receivers, durable (ACCEPTED; receipts streamed), ${p.durationMs / 1000} s per step, ` +
        `${r.loadWorkers} load process${r.loadWorkers > 1 ? "es" : ""}`,
    );
    out.push(
      table(
        [
          "setup",
          "payload",
          "in flight",
          "call",
          "offered/s",
          "sent/s",
          "delivered/s",
          "p50 ms",
          "p95 ms",
          "p99 ms",
          "Send p50",
          "gateway CPU %",
          "gateway RSS MiB",
          "pg CPU %",
          "pg PSS MiB",
          "load CPU %",
          "note",
        ],
        s.messaging.runs.map((x) => [
          x.setup,
          x.payloadBytes === 128 ? "128 B" : `${x.payloadBytes / 1024} KiB`,
          num(x.inFlightPerSender),
          x.call === "batch" ? "SendBatch" : "Send",
          x.offeredPerSecond === null ? "max" : num(x.offeredPerSecond),
          num(x.sentPerSecond),
          num(x.deliveredPerSecond),
          ms(x.latencyMs.p50),
          ms(x.latencyMs.p95),
          ms(x.latencyMs.p99),
          ms(x.sendRpcMs.p50),
          x.usage.gateways.map((g) => num(g.cpuPercent)).join(" + "),
          x.usage.gateways.map((g) => num(g.rssMaxMiB)).join(" + "),
          x.usage.postgresCpuPercent === undefined ? "—" : num(x.usage.postgresCpuPercent),
          pgMem(x.usage),
          num(x.usage.loadCpuPercent),
          [
            x.saturated ? "not sustained" : "",
            x.sendErrors ? `${x.sendErrors} send errors` : "",
            x.missing ? `${x.missing} not delivered within the drain time` : "",
            x.duplicates ? `${x.duplicates} redelivered` : "",
          ]
            .filter(Boolean)
            .join(", "),
        ]),
        (c) => c === 2 || (c >= 4 && c <= 15),
      ),
    );
  }
  if (s.requestReply || s.baselines) {
    out.push("");
    out.push("Request/reply round trip (Request → responder's stream → Reply), fixed rates");
    const rows: string[][] = [];
    for (const x of s.requestReply?.runs ?? []) {
      rows.push([
        `agentnet · ${x.setup}`,
        num(x.ratePerSecond),
        num(x.completedPerSecond),
        ms(x.roundTripMs.p50),
        ms(x.roundTripMs.p99),
        num(x.usage.gateways[0]?.cpuPercent),
        x.errors ? `${x.errors} errors` : "",
      ]);
    }
    for (const x of s.baselines?.requestReply ?? []) {
      rows.push([
        "raw NATS (Node)",
        num(x.ratePerSecond),
        "",
        ms(x.roundTripMs.p50),
        ms(x.roundTripMs.p99),
        "",
        x.errors ? `${x.errors} errors` : "",
      ]);
    }
    out.push(table(["", "rate/s", "done/s", "p50 ms", "p99 ms", "gateway CPU %", "note"], rows, (c) => c >= 1 && c <= 5));
  }
  out.push(...pythonClientLines(s, table));
  if (s.baselines) {
    out.push("");
    out.push(
      `Raw NATS pub→sub from Node (same nats-server): ${s.baselines.pubSub.map((p) => `${p.payloadBytes} B ${num(p.messagesPerSecond)} msg/s`).join(", ")}`,
    );
  }
  if (s.registry) {
    out.push("");
    out.push("Registry: agents registered, each with an open Subscribe stream, heartbeating");
    out.push(
      table(
        [
          "setup",
          "agents",
          "connections",
          "joined/s",
          "heartbeat every",
          "heartbeats/s",
          "heartbeat p50/p99",
          "gateway CPU %",
          "pg CPU %",
          "pg PSS MiB",
          "load CPU %",
          "RSS idle → connected",
          "per agent: RSS · CPU per heartbeat (gateway / pg)",
          "SearchAgents p50/p99",
          "ListOnline p50/p99",
          "note",
        ],
        s.registry.runs.map((x) => [
          x.gateways > 1 ? `${x.setup}, ${x.gateways} gateways` : x.setup,
          num(x.agents),
          x.ownConnections ? `${num(x.connections)} (one each)` : num(x.connections),
          num(x.registerPerSecond),
          `${x.heartbeatIntervalSeconds} s`,
          num(x.heartbeatsPerSecond),
          `${ms(x.heartbeatMs.p50)} / ${ms(x.heartbeatMs.p99)} ms`,
          x.usage.gateways.map((g) => num(g.cpuPercent, 1)).join(" + "),
          x.usage.postgresCpuPercent === undefined ? "—" : num(x.usage.postgresCpuPercent, 1),
          pgMem(x.usage),
          x.usage.loadCpuPercent === undefined ? "—" : num(x.usage.loadCpuPercent, 1),
          `${x.perGateway.map((g) => `${num(g.rssIdleMiB)} → ${num(g.rssConnectedMiB)}`).join(" + ")} MiB`,
          `${num(x.perAgent.rssKiB, 1)} KiB · ${num(x.perAgent.gatewayCpuUsPerHeartbeat)} / ${
            x.perAgent.postgresCpuUsPerHeartbeat === undefined ? "—" : num(x.perAgent.postgresCpuUsPerHeartbeat)
          } µs`,
          `${ms(x.searchAgentsMs.p50)} / ${ms(x.searchAgentsMs.p99)} ms`,
          `${ms(x.listOnlineMs.p50)} / ${ms(x.listOnlineMs.p99)} ms`,
          [
            x.heartbeatsSkipped ? `${num(x.heartbeatsSkipped)} heartbeats skipped (gateway behind)` : "",
            x.heartbeatErrors ? `${num(x.heartbeatErrors)} heartbeat errors` : "",
            x.streamsOpen < x.agents ? `${num(x.streamsOpen)} streams open` : "",
            x.errors.length ? x.errors[0]! : "",
          ]
            .filter(Boolean)
            .join(", "),
        ]),
        (c) => c >= 1 && c <= 14,
      ),
    );
    for (const x of s.registry.runs) {
      if (x.store) {
        out.push(
          `  In PostgreSQL (${runLabel(x)}): ${num(x.store.accounts)} accounts, ${num(x.store.sessions)} sessions, ` +
            `${num(x.store.bytes / 1024 / 1024, 1)} MiB with indexes — ${num(x.store.bytes / x.agents / 1024, 1)} KiB per agent`,
        );
      }
      const b = x.presenceBurst;
      out.push(
        `  WatchPresence burst (${runLabel(x)}): ${num(b.joins)} joins at ${num(b.joinsPerSecond)}/s to ${num(b.watchers)} watchers — ` +
          `${num(b.complete)} saw every join, ${num(b.ended)} ended early; done in ${b.seconds} s, ` +
          `event lag after Register p50 ${ms(b.lagMs.p50)} / p99 ${ms(b.lagMs.p99)} ms`,
      );
    }
  }
  if (s.ghz) {
    out.push("");
    const g = s.ghz;
    if (g.skipped) out.push(`ghz: skipped — ${g.skipped}`);
    else {
      const first = g.runs[0];
      out.push(
        `ghz${g.ghzVersion && g.ghzVersion !== "dev" ? ` ${g.ghzVersion}` : ""} (outside gRPC load generator, server reflection) · ${first?.call ?? ""}, ` +
          `${first?.concurrency ?? ""} concurrent on ${first?.connections ?? ""} connection, ${first?.durationSeconds ?? ""} s`,
      );
      out.push(
        table(
          ["setup", "req/s", "p50 ms", "p95 ms", "p99 ms", "gateway CPU %", "errors"],
          g.runs.map((x) => [
            x.setup,
            num(x.requestsPerSecond),
            ms(x.latencyMs?.p50),
            ms(x.latencyMs?.p95),
            ms(x.latencyMs?.p99),
            num(x.usage?.gateways[0]?.cpuPercent),
            Object.keys(x.errors ?? {}).length === 0 ? "none" : JSON.stringify(x.errors),
          ]),
          (c) => c >= 1 && c <= 5,
        ),
      );
    }
  }
  if (s.sdkTs) out.push(...sdkTsLines(s.sdkTs, table));
  if (s.a2a) out.push(...a2aLines(s.a2a, table));
  for (const [name, message] of Object.entries(r.failures)) out.push(`\n${name}: FAILED — ${message}`);
  if (r.notes.length > 0) {
    out.push("");
    out.push("Notes");
    for (const n of r.notes) out.push(`  - ${n}`);
  }
  out.push("");
  process.stdout.write(`${out.join("\n")}\n`);
}

/** A registry run's setup, and whether its agents had their own connections. */
function runLabel(r: RegistryRun): string {
  if (r.gateways > 1) return `${r.setup}, ${num(r.gateways)} gateways × ${num(r.agents / r.gateways)} agents`;
  return r.ownConnections ? `${r.setup}, ${num(r.agents)} agents on their own connections` : r.setup;
}
