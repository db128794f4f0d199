import type { Client, Transport } from "@connectrpc/connect";
import { MessagingService, SubscribeMode } from "../../gen/agentnet/v1/messaging_pb.js";
import { RegistryService } from "../../gen/agentnet/v1/registry_pb.js";
import { type BenchAgent, clientOf, grpcTransport } from "../clients.js";
import { addGateway } from "../infra.js";
import type { RunContext } from "../context.js";
import { createHistogram, type LatencySummary, recordMs, summarize } from "../histogram.js";
import { type WindowUsage, WindowMeters } from "../meters.js";
import { TARGET_AGENTS } from "../profile.js";
import { type PresenceBurst, presenceBurst } from "./presence-burst.js";
import { type RegistryStore, registryStore } from "./registry-store.js";
import { rssMiB, round1 } from "../usage.js";

// N agents register, each opens a Subscribe stream (a connected agent) and heartbeats at the interval Register
// tells it; the gateway's CPU is measured while they heartbeat, its RSS with all of them connected, and
// SearchAgents / ListOnline latency with those accounts in the registry. Runs on a fresh gateway per setup.
//
// A run with fewer agents than the 10 000 of the targets heartbeats proportionally faster, so the gateway sees
// the heartbeat rate of 10 000 agents at the real interval.

export interface RegistryRun {
  setup: "embedded" | "postgres+nats";
  agents: number;
  /** Every agent on its own HTTP/2 connection, as separate agent processes are (else many share one). */
  ownConnections: boolean;
  /** Gateways sharing the PostgreSQL and NATS, each with its share of the agents (round robin). */
  gateways: number;
  /** Each gateway's figures, in order (one entry with one gateway). */
  perGateway: Array<{ cpuPercent: number; rssIdleMiB: number; rssConnectedMiB: number }>;
  /** Agents per second through Register followed by opening their Subscribe stream. */
  registerPerSecond: number;
  /** The Register call alone. */
  registerMs: LatencySummary;
  /** Heartbeat interval Register answered, seconds. */
  serverHeartbeatIntervalSeconds: number;
  /** Interval the agents used (scaled when agents < 10 000), seconds. */
  heartbeatIntervalSeconds: number;
  heartbeatsPerSecond: number;
  heartbeatMs: LatencySummary;
  heartbeatErrors: number;
  /** Heartbeats not sent because MAX_OUTSTANDING_HEARTBEATS were already waiting for the gateway. */
  heartbeatsSkipped: number;
  streamsOpen: number;
  connections: number;
  /** Gateway while the agents heartbeat with their streams open. */
  usage: WindowUsage;
  /** The most of any gateway, idle and with its agents connected. */
  rssIdleMiB: number;
  rssConnectedMiB: number;
  /** RSS extrapolated linearly to 10 000 agents when fewer ran. */
  rssAt10kMiB: number;
  /**
   * The figures to keep, per agent: what one more connected agent adds to the gateway's RSS (connected minus idle,
   * over the agents), and the gateway's and PostgreSQL's CPU per heartbeat (all their work while the agents
   * heartbeat with their streams open, over the heartbeats answered).
   */
  perAgent: { rssKiB: number; gatewayCpuUsPerHeartbeat: number; postgresCpuUsPerHeartbeat: number | undefined };
  searchAgentsMs: LatencySummary;
  listOnlineMs: LatencySummary;
  /** The agents' rows and bytes in PostgreSQL after the heartbeat window (undefined when it could not be read). */
  store: RegistryStore | undefined;
  /** WatchPresence: a burst of new agents joining while watchers stream presence (agents still connected). */
  presenceBurst: PresenceBurst;
  /** ListOnline first page size and the online count the registry reported. */
  listOnlinePageSize: number;
  errors: string[];
  /** Error-level lines the gateway logged during the run (message → count). */
  gatewayErrors: Record<string, number>;
}

export interface RegistrySection {
  runs: RegistryRun[];
}

/** Heartbeats in flight before the bench skips more (the gateway is behind). */
const MAX_OUTSTANDING_HEARTBEATS = 2000;

/** Microseconds of CPU per heartbeat from a process's CPU (% of one core) over the heartbeats per second. */
function cpuPerHeartbeatUs(cpuPercent: number, heartbeatsPerSecond: number): number {
  return heartbeatsPerSecond > 0 ? round1((cpuPercent / 100 / heartbeatsPerSecond) * 1e6) : 0;
}

export async function runRegistry(ctx: RunContext): Promise<RegistrySection> {
  const runs: RegistryRun[] = [];
  const setups = ctx.setupsFor(ctx.profile.registry.setups, ["embedded", "postgres+nats"]);
  for (const setup of setups) runs.push(await registryRun(ctx, setup));
  const { ownConnectionAgents: own, spread } = ctx.profile.registry;
  if (own > 0 && setups.includes("postgres+nats")) {
    runs.push(await registryRun(ctx, "postgres+nats", { agents: own, streamsPerConnection: 1, gateways: 1 }));
  }
  if (spread && setups.includes("postgres+nats")) {
    runs.push(await registryRun(ctx, "postgres+nats", { agents: spread.gateways * spread.agentsPerGateway, gateways: spread.gateways }));
  }
  return { runs };
}

async function registryRun(
  ctx: RunContext,
  setup: "embedded" | "postgres+nats",
  shape?: { agents: number; streamsPerConnection?: number; gateways: number },
): Promise<RegistryRun> {
  const p = { ...ctx.profile.registry, gateways: 1, ...shape };
  const n = p.agents;
  const name = `registry-${setup === "embedded" ? "embedded" : "pg"}${p.streamsPerConnection === 1 ? "-own-connections" : ""}`;
  const backend = await ctx.setups.fresh(setup, p.gateways > 1 ? `${name}-gw1` : name);
  for (let g = 2; g <= p.gateways; g++) await addGateway(backend, `${name}-gw${g}`, ctx.setups.options);
  const gws = backend.gateways;
  const gw = gws[0]!;
  const errors: string[] = [];
  const abort = new AbortController();
  const streams: Array<Promise<void>> = [];
  let heartbeating: Promise<void> | undefined;
  const stopHeartbeats = new AbortController();
  try {
    await sleep(1000);
    const rssIdle = await Promise.all(gws.map((g) => rssMiB(g.pid)));

    // Agent i on gateway i mod G; one HTTP/2 connection per `streamsPerConnection` agents of a gateway (the server
    // allows 1000 streams per connection).
    const perGateway = Math.ceil(n / gws.length);
    const connectionsPerGateway = Math.ceil(perGateway / p.streamsPerConnection);
    const transports: Transport[][] = gws.map((g) =>
      Array.from({ length: connectionsPerGateway }, () => grpcTransport(g.url, backend.apiKey)),
    );
    const connections = transports.length * connectionsPerGateway;
    const transportOf = (i: number) => transports[i % gws.length]![Math.floor(Math.floor(i / gws.length) / p.streamsPerConnection)]!;

    // Each agent registers and then opens its Subscribe stream at once, as an agent process does: the stream
    // holds its session, which would otherwise be evicted after the TTL while the other agents register.
    ctx.progress(`registry · ${setup}: registering ${n} agents, each opening its Subscribe stream (${connections} connections)`);
    const registerH = createHistogram();
    const r0 = performance.now();
    const agents: BenchAgent[] = new Array(n);
    let open = 0;
    let next = 0;
    const registerAndSubscribe = async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        const username = `agent_${String(i).padStart(5, "0")}`;
        const t = performance.now();
        const res = await clientOf(RegistryService, transportOf(i)).register({
          agentId: username,
          username,
          displayName: `Bench agent ${i}`,
          capabilities: [`cap_${i % 20}`, i % 2 === 0 ? "even" : "odd"],
        });
        recordMs(registerH, performance.now() - t);
        const agent = {
          accountId: res.accountId,
          sessionTag: res.sessionTag,
          username: res.username,
          heartbeatInterval: res.heartbeatInterval,
        };
        agents[i] = agent;
        const { started, done } = subscribe(clientOf(MessagingService, transportOf(i)), agent, abort.signal, () => open++);
        streams.push(done.catch((err: unknown) => void (errors.length < 5 && errors.push(`Subscribe: ${String(err)}`))));
        await Promise.race([started, done]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(p.registerConcurrency, n) }, registerAndSubscribe));
    const registerPerSecond = Math.round((n / (performance.now() - r0)) * 1000);
    const registry = clientOf(RegistryService, transports[0]![0]!);
    const serverInterval = agents[0]!.heartbeatInterval;

    // Heartbeats, spread evenly over the interval, through the agents' own connections.
    const interval = (serverInterval * Math.min(n, TARGET_AGENTS)) / TARGET_AGENTS;
    if (n < TARGET_AGENTS) {
      ctx.note(
        `registry (${setup}): ${n} agents heartbeat every ${round1(interval)} s instead of ${serverInterval} s — the heartbeat rate of ${TARGET_AGENTS} agents; RSS is extrapolated linearly to ${TARGET_AGENTS} agents`,
      );
    }
    const hbH = createHistogram();
    let hbErrors = 0;
    let hbCount = 0;
    let hbIssued = 0;
    let hbDone = 0;
    let hbSkipped = 0;
    let measuring = false;
    const registries = transports.map((ts) => ts.map((t) => clientOf(RegistryService, t)));
    heartbeating = heartbeatLoop(n, interval, stopHeartbeats.signal, (k) => {
      const i = k % n;
      // A gateway that falls behind must not make the bench pile up unbounded calls: skip and count.
      if (hbIssued - hbDone >= MAX_OUTSTANDING_HEARTBEATS) {
        hbSkipped++;
        return;
      }
      hbIssued++;
      const t = performance.now();
      const counted = measuring;
      registries[i % gws.length]![Math.floor(Math.floor(i / gws.length) / p.streamsPerConnection)]!.heartbeat({
        sessionTag: agents[i]!.sessionTag,
      })
        .finally(() => hbDone++)
        .then(
          () => {
            if (counted) {
              hbCount++;
              recordMs(hbH, performance.now() - t);
            }
          },
          (err: unknown) => {
            hbErrors++;
            if (errors.length < 5) errors.push(`Heartbeat: ${String(err)}`);
          },
        );
    });
    ctx.progress(
      `registry · ${setup}: ${n} agents connected, heartbeating every ${round1(interval)} s; measuring ${p.intervals} intervals`,
    );
    await sleep(interval * 1000); // every agent has heartbeaten once
    const meters = new WindowMeters(gws, ctx.infra, { backend, loadPids: [process.pid] });
    measuring = true;
    await meters.start();
    const windowMs = interval * p.intervals * 1000;
    for (let w = 0; w < p.intervals; w++) {
      await sleep(interval * 1000);
      ctx.progress(`registry · ${setup}: heartbeats issued ${hbIssued}, answered ${hbDone}, skipped (gateway behind) ${hbSkipped}`);
    }
    const usage = await meters.stop();
    measuring = false;
    const rssConnected = usage.gateways.map((g) => g.rssMaxMiB);
    const rssIdleMiB = Math.max(...rssIdle);
    const rssConnectedMiB = Math.max(...rssConnected);
    const gatewaysCpu = usage.gateways.reduce((sum, g) => sum + g.cpuPercent, 0);
    // What one more agent adds, over all gateways: their RSS growth and CPU together, over all agents.
    const rssGrowthMiB = rssConnected.reduce((sum, r, g) => sum + r - rssIdle[g]!, 0);

    // Discovery with the agents still connected, heartbeats paused: the figure is the query's own cost, not
    // its wait behind a heartbeat backlog (reported above) on a gateway that cannot keep up.
    stopHeartbeats.abort();
    await heartbeating;
    while (hbIssued > hbDone) await sleep(50);
    ctx.progress(`registry · ${setup}: SearchAgents × ${p.searchQueries}, ListOnline × ${p.listQueries}`);
    const searchH = createHistogram();
    for (let q = 0; q < p.searchQueries; q++) {
      const kind = q % 4;
      const req =
        kind === 0
          ? { query: `agent_${String((q * 7919) % n).padStart(5, "0")}` } // one match
          : kind === 1
            ? { query: "agent_0", pageSize: 20 } // many matches
            : kind === 2
              ? { capability: `cap_${q % 20}`, onlineOnly: true, pageSize: 50 }
              : { query: "bench agent 1", onlineOnly: true, pageSize: 20 }; // display name
      const t = performance.now();
      await registry.searchAgents(req).catch((err: unknown) => void (errors.length < 5 && errors.push(`SearchAgents: ${String(err)}`)));
      recordMs(searchH, performance.now() - t);
    }
    const listH = createHistogram();
    let pageSize = 0;
    for (let q = 0; q < p.listQueries; q++) {
      const t = performance.now();
      const res = await registry
        .listOnline(q % 2 === 0 ? {} : { capability: `cap_${q % 20}` })
        .catch((err: unknown) => void (errors.length < 5 && errors.push(`ListOnline: ${String(err)}`)));
      recordMs(listH, performance.now() - t);
      if (q === 0 && res) pageSize = res.agents.length;
    }

    const store = await registryStore(backend).catch((err: unknown) => {
      errors.push(`reading the store's size: ${String(err)}`);
      return undefined;
    });
    ctx.progress(`registry · ${setup}: WatchPresence burst, ${p.presenceJoins} joins to ${p.presenceWatchers} watchers`);
    const burst = await presenceBurst({
      url: gw.url,
      apiKey: backend.apiKey,
      watchers: p.presenceWatchers,
      joins: p.presenceJoins,
      concurrency: p.registerConcurrency,
      prefix: "burst_",
      timeoutMs: 60_000,
    });

    const result: RegistryRun = {
      setup,
      agents: n,
      ownConnections: p.streamsPerConnection === 1,
      gateways: gws.length,
      perGateway: usage.gateways.map((g, k) => ({ cpuPercent: g.cpuPercent, rssIdleMiB: rssIdle[k]!, rssConnectedMiB: g.rssMaxMiB })),
      registerPerSecond,
      registerMs: summarize(registerH),
      serverHeartbeatIntervalSeconds: serverInterval,
      heartbeatIntervalSeconds: round1(interval),
      heartbeatsPerSecond: round1(hbCount / (windowMs / 1000)),
      heartbeatMs: summarize(hbH),
      heartbeatErrors: hbErrors,
      heartbeatsSkipped: hbSkipped,
      streamsOpen: open,
      connections,
      usage,
      rssIdleMiB,
      rssConnectedMiB,
      rssAt10kMiB: n >= TARGET_AGENTS ? rssConnectedMiB : round1(rssIdleMiB + ((rssConnectedMiB - rssIdleMiB) * TARGET_AGENTS) / n),
      perAgent: {
        rssKiB: round1((rssGrowthMiB * 1024) / n),
        gatewayCpuUsPerHeartbeat: cpuPerHeartbeatUs(gatewaysCpu, hbCount / (windowMs / 1000)),
        postgresCpuUsPerHeartbeat:
          usage.postgresCpuPercent === undefined ? undefined : cpuPerHeartbeatUs(usage.postgresCpuPercent, hbCount / (windowMs / 1000)),
      },
      searchAgentsMs: summarize(searchH),
      listOnlineMs: summarize(listH),
      listOnlinePageSize: pageSize,
      store,
      presenceBurst: burst,
      errors,
      gatewayErrors: gws.reduce<Record<string, number>>((all, g) => {
        for (const [line, count] of Object.entries(g.errors())) all[line] = (all[line] ?? 0) + count;
        return all;
      }, {}),
    };
    ctx.progress(
      `registry · ${setup}: ${n} agents, ${result.heartbeatsPerSecond} heartbeats/s → gateway CPU ${usage.gateways[0]!.cpuPercent}%, ` +
        `RSS ${rssIdleMiB} → ${rssConnectedMiB} MiB; SearchAgents p50 ${result.searchAgentsMs.p50} ms, ListOnline p50 ${result.listOnlineMs.p50} ms`,
    );
    return result;
  } finally {
    ctx.noteGatewayErrors(`registry (${setup})`, gws);
    stopHeartbeats.abort();
    await heartbeating;
    abort.abort();
    await Promise.allSettled(streams);
    await backend.stop();
  }
}

/** Calls `beat(k)` for k = 0, 1, 2, … evenly spaced so that each of `n` agents beats once per `intervalS`. */
async function heartbeatLoop(n: number, intervalS: number, signal: AbortSignal, beat: (k: number) => void): Promise<void> {
  const start = performance.now();
  let k = 0;
  while (!signal.aborted) {
    const due = Math.floor(((performance.now() - start) / 1000 / intervalS) * n);
    while (k < due) beat(k++);
    await sleep(5);
  }
}

function subscribe(messaging: Client<typeof MessagingService>, agent: BenchAgent, signal: AbortSignal, onStarted: () => void) {
  let started!: () => void;
  const startedP = new Promise<void>((r) => (started = r));
  const done = (async () => {
    try {
      const stream = messaging.subscribe(
        { asAccountId: agent.accountId, sessionTag: agent.sessionTag, mode: SubscribeMode.CONSUME },
        { signal },
      );
      for await (const item of stream) {
        if (item.event.case === "started") {
          onStarted();
          started();
        }
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  })();
  return { started: startedP, done };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
