import { readFileSync } from "node:fs";
import type { Client } from "@connectrpc/connect";
import { DeliveryStatus, MessageKind, MessagingService, SubscribeMode } from "../../gen/agentnet/v1/messaging_pb.js";
import { type BenchAgent, clientOf, grpcTransport, registerAgents } from "../clients.js";
import type { RunContext } from "../context.js";
import type { GatewayProcess } from "../gateway.js";
import { createHistogram, type LatencySummary, recordMs, summarize } from "../histogram.js";
import type { Backend } from "../infra.js";
import { type HeapFigures, InspectorClient } from "../inspector.js";
import { makePayload, nowMs } from "../payload.js";
import { round1 } from "../usage.js";

// `npm run bench -- --soak`: memory under steady load (issue: "memory must be flat"). Two gateways on the run's
// PostgreSQL + NATS; 10 senders → 10 receivers, half of each on either gateway, so deliveries go both within a
// gateway and across NATS; receivers Subscribe (CONSUME) and ack in batches, each gateway's senders have a
// WatchReceipts stream, and a few Request → Reply round trips run alongside. Each gateway's RSS (and its anonymous
// part, RssAnon, which is what a heap leak grows) is sampled every 10 s; the first part of the run is warm-up.

export interface SoakOptions {
  minutes: number;
  /** Offered Send msg/s (all senders together). */
  ratePerSecond: number;
  /** Offered Request/s (all requesters together). */
  requestsPerSecond: number;
  /** Take heap snapshots (the gateways must run with --heapsnapshot-signal=SIGUSR2) at these points. */
  heapSnapshots: boolean;
  sampleEveryMs: number;
}

export interface SoakSample {
  /** Seconds since the load started. */
  t: number;
  gateway: string;
  rssMiB: number;
  rssAnonMiB: number;
  /** process.memoryUsage() of the gateway through its inspector (no GC forced); absent when unavailable. */
  heap?: HeapFigures;
  sent: number;
  delivered: number;
}

export interface SoakGateway {
  gateway: string;
  /** Median of the first 3 samples of the measured window. */
  rssStartMiB: number;
  /** Median of the last 3 samples. */
  rssEndMiB: number;
  growthPercent: number;
  /** Least-squares slope over the measured window, MiB/min. */
  slopeMiBPerMin: number;
  rssAnonStartMiB: number;
  rssAnonEndMiB: number;
  rssMaxMiB: number;
  heapUsedStartMiB?: number;
  heapUsedEndMiB?: number;
  heapTotalEndMiB?: number;
  pass: boolean;
}

export interface SoakSection {
  minutes: number;
  warmupSeconds: number;
  offeredPerSecond: number;
  requestsPerSecond: number;
  sent: number;
  sendErrors: number;
  delivered: number;
  duplicates: number;
  ackErrors: number;
  requestsOk: number;
  requestErrors: number;
  receipts: Record<string, number>;
  deliveredPerSecond: number;
  sendToDeliverMs: LatencySummary;
  requestRoundTripMs: LatencySummary;
  errorSamples: string[];
  rule: string;
  gateways: SoakGateway[];
  samples: SoakSample[];
  pass: boolean;
  /** Why it failed, when it did. */
  failures: string[];
}

export const SOAK_RULE =
  "per gateway: RSS at the end (median of the last 3 samples) ≤ 1.10 × RSS at the start of the measured window " +
  "(median of its first 3 samples, taken after the warm-up); and ≥ 90 % of the offered messages delivered";

const SENDERS = 10;
const RECEIVERS = 10;
const ACK_BATCH = 100;
const ACK_INTERVAL_MS = 20;
const PAYLOAD_BYTES = 256;

interface Receiver {
  agent: BenchAgent;
  client: Client<typeof MessagingService>;
  pending: string[];
  timer: NodeJS.Timeout | undefined;
}

export async function runSoak(ctx: RunContext, opts: SoakOptions): Promise<SoakSection> {
  const totalMs = opts.minutes * 60_000;
  const warmupMs = Math.min(60_000, Math.round(totalMs / 4));
  const backend: Backend = await ctx.setups.postgresBackend();
  const gw1 = backend.gateways[0]!;
  const gw2 = await ctx.setups.secondGateway();
  const gws: GatewayProcess[] = [gw1, gw2];
  try {
    const t1 = grpcTransport(gw1.url, backend.apiKey);
    const t2 = grpcTransport(gw2.url, backend.apiKey);
    const transports = [t1, t2];
    const clients = transports.map((t) => clientOf(MessagingService, t));
    ctx.progress(`soak: registering ${SENDERS} senders and ${RECEIVERS} receivers on ${gw1.name} and ${gw2.name}`);
    const half = (n: number) => Math.ceil(n / 2);
    const senders = [
      ...(await registerAgents(t1, "soak_send_a", half(SENDERS))),
      ...(await registerAgents(t2, "soak_send_b", SENDERS - half(SENDERS))),
    ];
    const receiverAgents = [
      ...(await registerAgents(t2, "soak_recv_a", half(RECEIVERS))),
      ...(await registerAgents(t1, "soak_recv_b", RECEIVERS - half(RECEIVERS))),
    ];
    // Senders 0..4 on gateway 1, 5..9 on gateway 2; receivers 0..4 on gateway 2, 5..9 on gateway 1.
    const senderClient = (i: number) => clients[i < half(SENDERS) ? 0 : 1]!;
    const receivers: Receiver[] = receiverAgents.map((agent, i) => ({
      agent,
      client: clients[i < half(RECEIVERS) ? 1 : 0]!,
      pending: [],
      timer: undefined,
    }));

    // Heap figures through each gateway's inspector (the soak starts them with --inspect=127.0.0.1:0).
    const inspectors = await Promise.all(
      gws.map(async (gw) => {
        const url = InspectorClient.urlIn(gw.output());
        return url ? InspectorClient.connect(url).catch(() => undefined) : undefined;
      }),
    );
    if (inspectors.some((i) => i === undefined)) ctx.note("soak: no inspector on some gateway; heap figures are missing there");

    const abort = new AbortController();
    const streams: Array<Promise<void>> = [];
    let streamError: string | undefined;
    const errorSamples: string[] = [];
    const sample = (e: unknown) => {
      if (errorSamples.length < 8) errorSamples.push(e instanceof Error ? e.message : String(e));
    };
    const latency = createHistogram();
    const rtt = createHistogram();
    const seen = new Set<number>();
    let delivered = 0;
    let duplicates = 0;
    let ackErrors = 0;
    const receipts: Record<string, number> = {};

    const flushAck = (r: Receiver) => {
      clearTimeout(r.timer);
      r.timer = undefined;
      if (r.pending.length === 0) return;
      const ids = r.pending.splice(0);
      r.client.ack({ acks: ids.map((messageId) => ({ messageId })), sessionTag: r.agent.sessionTag }).then(
        (res) => (ackErrors += res.results.filter((x) => !x.ok).length),
        (err: unknown) => {
          ackErrors += ids.length;
          sample(err);
        },
      );
    };
    const consume = async (r: Receiver, started: () => void) => {
      try {
        const stream = r.client.subscribe(
          { asAccountId: r.agent.accountId, sessionTag: r.agent.sessionTag, mode: SubscribeMode.CONSUME, maxInFlight: 500 },
          { signal: abort.signal },
        );
        for await (const item of stream) {
          if (item.event.case === "started") started();
          if (item.event.case !== "message") continue;
          const env = item.event.value;
          if (env.kind === MessageKind.REQUEST) {
            // Answer requests at once; a request is not acked (as in the request-reply section).
            void r.client.reply({ requestMessageId: env.messageId, payload: { ok: true }, sessionTag: r.agent.sessionTag }).catch(sample);
            continue;
          }
          const p = env.payload ?? {};
          if (typeof p["s"] === "number" && typeof p["t"] === "number") {
            if (seen.has(p["s"])) duplicates++;
            else {
              seen.add(p["s"]);
              delivered++;
              recordMs(latency, nowMs() - p["t"]);
            }
          }
          r.pending.push(env.messageId);
          if (r.pending.length >= ACK_BATCH) flushAck(r);
          else r.timer ??= setTimeout(() => flushAck(r), ACK_INTERVAL_MS);
        }
      } catch (err) {
        if (!abort.signal.aborted)
          streamError = `Subscribe of ${r.agent.username} failed: ${err instanceof Error ? err.message : String(err)}`;
      }
    };
    const watch = async (gwIndex: number, accountIds: string[], synced: () => void) => {
      try {
        for await (const item of clients[gwIndex]!.watchReceipts({ accountIds }, { signal: abort.signal })) {
          if (item.event.case === "synced") synced();
          if (item.event.case !== "receipt") continue;
          const status = DeliveryStatus[item.event.value.status]?.toLowerCase() ?? "unknown";
          receipts[status] = (receipts[status] ?? 0) + 1;
        }
      } catch (err) {
        if (!abort.signal.aborted)
          streamError = `WatchReceipts on ${gws[gwIndex]!.name} failed: ${err instanceof Error ? err.message : String(err)}`;
      }
    };
    await Promise.all([
      ...receivers.map((r) => new Promise<void>((resolve) => streams.push(consume(r, resolve)))),
      new Promise<void>((resolve) =>
        streams.push(
          watch(
            0,
            senders.slice(0, half(SENDERS)).map((s) => s.accountId),
            resolve,
          ),
        ),
      ),
      new Promise<void>((resolve) =>
        streams.push(
          watch(
            1,
            senders.slice(half(SENDERS)).map((s) => s.accountId),
            resolve,
          ),
        ),
      ),
    ]);

    // Steady load: every 20 ms, issue the sends and requests due by now.
    let sent = 0;
    let sendErrors = 0;
    let requestsIssued = 0;
    let requestsOk = 0;
    let requestErrors = 0;
    let outstanding = 0;
    const start = nowMs();
    const sendOne = () => {
      const s = sent++;
      const sender = senders[s % SENDERS]!;
      const receiver = receivers[(s + Math.floor(s / SENDERS)) % RECEIVERS]!;
      outstanding++;
      senderClient(s % SENDERS)
        .send({
          to: { target: { case: "accountId", value: receiver.agent.accountId } },
          payload: makePayload(PAYLOAD_BYTES, 1, s, nowMs()),
          asAccountId: sender.accountId,
          sessionTag: sender.sessionTag,
        })
        .then(
          () => undefined,
          (err: unknown) => {
            sendErrors++;
            sample(err);
          },
        )
        .finally(() => outstanding--);
    };
    const requestOne = () => {
      const i = requestsIssued++;
      const from = senders[i % SENDERS]!;
      const to = receivers[(i * 3) % RECEIVERS]!;
      const t = performance.now();
      senderClient(i % SENDERS)
        .request(
          {
            to: { target: { case: "accountId", value: to.agent.accountId } },
            payload: { text: "ping" },
            asAccountId: from.accountId,
            sessionTag: from.sessionTag,
            timeoutMs: 5000n,
          },
          { timeoutMs: 10_000 },
        )
        .then(
          () => {
            requestsOk++;
            recordMs(rtt, performance.now() - t);
          },
          (err: unknown) => {
            requestErrors++;
            sample(err);
          },
        );
    };
    const pacer = setInterval(() => {
      const elapsed = nowMs() - start;
      const due = Math.floor((elapsed * opts.ratePerSecond) / 1000);
      // Never more than 2 s of sends in flight: a stalled gateway shows up as a shortfall, not as a pile-up here.
      while (sent < due && outstanding < opts.ratePerSecond * 2) sendOne();
      const dueRequests = Math.floor((elapsed * opts.requestsPerSecond) / 1000);
      while (requestsIssued < dueRequests) requestOne();
    }, 20);

    const samples: SoakSample[] = [];
    const takeSamples = async () => {
      const t = round1((nowMs() - start) / 1000);
      const heaps = await Promise.all(inspectors.map((i) => i?.heap().catch(() => undefined)));
      const taken = gws.map((gw, i) => {
        const m = procMemory(gw.pid);
        const heap = heaps[i];
        return { t, gateway: gw.name, rssMiB: m.rssMiB, rssAnonMiB: m.rssAnonMiB, ...(heap && { heap }), sent, delivered };
      });
      samples.push(...taken);
      ctx.progress(
        `soak ${String(Math.round(t)).padStart(4)} s${t * 1000 < warmupMs ? " (warm-up)" : ""}: sent ${sent}, delivered ${delivered}, ` +
          `requests ${requestsOk}/${requestsIssued}, errors ${sendErrors + requestErrors}; ` +
          taken
            .map(
              (s) =>
                `${s.gateway} RSS ${s.rssMiB} MiB${s.heap ? ` (heap ${s.heap.heapUsedMiB}/${s.heap.heapTotalMiB}, ext ${s.heap.externalMiB})` : ""}`,
            )
            .join(", "),
      );
    };
    const snapshot = (label: string) => {
      if (!opts.heapSnapshots) return;
      ctx.progress(`soak: heap snapshot "${label}" (SIGUSR2 to ${gws.map((g) => g.name).join(", ")})`);
      for (const gw of gws) process.kill(gw.pid, "SIGUSR2");
    };
    await takeSamples();
    const sampler = setInterval(() => void takeSamples(), opts.sampleEveryMs);
    let snapped = false;
    try {
      while (nowMs() - start < totalMs) {
        if (streamError) throw new Error(streamError);
        await sleep(500);
        if (!snapped && nowMs() - start >= warmupMs + opts.sampleEveryMs * 3) {
          snapped = true;
          snapshot("start");
        }
      }
      clearInterval(sampler);
      await takeSamples();
      snapshot("end");
    } finally {
      clearInterval(pacer);
      clearInterval(sampler);
    }
    // Let the last messages arrive, then stop.
    const drainUntil = nowMs() + 10_000;
    while (nowMs() < drainUntil && (outstanding > 0 || delivered < sent - sendErrors)) await sleep(50);
    for (const r of receivers) flushAck(r);
    if (opts.heapSnapshots) await sleep(15_000); // writing a snapshot of a few hundred MiB takes a while
    abort.abort();
    await Promise.allSettled(streams);
    for (const i of inspectors) i?.close();

    const elapsedS = (nowMs() - start) / 1000;
    const gateways = gws.map((gw) =>
      evaluate(
        gw.name,
        samples.filter((s) => s.gateway === gw.name && s.t * 1000 >= warmupMs),
      ),
    );
    const failures: string[] = [];
    for (const g of gateways) {
      if (!g.pass) failures.push(`${g.gateway}: RSS grew ${g.growthPercent} % (${g.rssStartMiB} → ${g.rssEndMiB} MiB), more than 10 %`);
    }
    const offered = Math.floor((totalMs * opts.ratePerSecond) / 1000);
    if (delivered < 0.9 * offered) failures.push(`only ${delivered} of ${offered} offered messages delivered`);
    return {
      minutes: opts.minutes,
      warmupSeconds: warmupMs / 1000,
      offeredPerSecond: opts.ratePerSecond,
      requestsPerSecond: opts.requestsPerSecond,
      sent,
      sendErrors,
      delivered,
      duplicates,
      ackErrors,
      requestsOk,
      requestErrors,
      receipts,
      deliveredPerSecond: round1(delivered / elapsedS),
      sendToDeliverMs: summarize(latency),
      requestRoundTripMs: summarize(rtt),
      errorSamples,
      rule: SOAK_RULE,
      gateways,
      samples,
      pass: failures.length === 0,
      failures,
    };
  } finally {
    ctx.noteGatewayErrors("soak", gws);
    await ctx.setups.removeGateway(gw2);
  }
}

function evaluate(gateway: string, window: SoakSample[]): SoakGateway {
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
  };
  const first = window.slice(0, 3);
  const last = window.slice(-3);
  const rssStartMiB = median(first.map((s) => s.rssMiB));
  const rssEndMiB = median(last.map((s) => s.rssMiB));
  const n = window.length;
  const mt = window.reduce((a, s) => a + s.t, 0) / n;
  const mr = window.reduce((a, s) => a + s.rssMiB, 0) / n;
  const num = window.reduce((a, s) => a + (s.t - mt) * (s.rssMiB - mr), 0);
  const den = window.reduce((a, s) => a + (s.t - mt) ** 2, 0);
  return {
    gateway,
    rssStartMiB,
    rssEndMiB,
    growthPercent: round1(((rssEndMiB - rssStartMiB) / rssStartMiB) * 100),
    slopeMiBPerMin: den > 0 ? Math.round((num / den) * 60 * 100) / 100 : 0,
    rssAnonStartMiB: median(first.map((s) => s.rssAnonMiB)),
    rssAnonEndMiB: median(last.map((s) => s.rssAnonMiB)),
    rssMaxMiB: Math.max(...window.map((s) => s.rssMiB)),
    ...(first[0]?.heap &&
      last.at(-1)?.heap && {
        heapUsedStartMiB: median(first.map((s) => s.heap?.heapUsedMiB ?? NaN)),
        heapUsedEndMiB: median(last.map((s) => s.heap?.heapUsedMiB ?? NaN)),
        heapTotalEndMiB: median(last.map((s) => s.heap?.heapTotalMiB ?? NaN)),
      }),
    pass: rssEndMiB <= 1.1 * rssStartMiB,
  };
}

/** VmRSS and RssAnon of a process from /proc (MiB). */
function procMemory(pid: number): { rssMiB: number; rssAnonMiB: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
    return { rssMiB: round1(kb("VmRSS") / 1024), rssAnonMiB: round1(kb("RssAnon") / 1024) };
  } catch {
    return { rssMiB: NaN, rssAnonMiB: NaN };
  }
}

export function printSoak(s: SoakSection): void {
  const out: string[] = [];
  out.push("");
  out.push(
    `Soak: ${s.minutes} min, 2 gateways on PostgreSQL + NATS, ${SENDERS} senders → ${RECEIVERS} receivers, ${s.offeredPerSecond} msg/s + ${s.requestsPerSecond} req/s offered; warm-up ${s.warmupSeconds} s`,
  );
  out.push(
    `load: sent ${s.sent} (${s.sendErrors} errors), delivered ${s.delivered} (${s.deliveredPerSecond}/s, ${s.duplicates} duplicates, ${s.ackErrors} ack errors), ` +
      `requests ${s.requestsOk} ok / ${s.requestErrors} failed; send→deliver p50 ${s.sendToDeliverMs.p50} ms p99 ${s.sendToDeliverMs.p99} ms; request p50 ${s.requestRoundTripMs.p50} ms`,
  );
  out.push(
    `receipts: ${
      Object.entries(s.receipts)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ") || "none"
    }`,
  );
  out.push("");
  out.push(
    "| gateway | RSS start MiB | RSS end MiB | growth | slope MiB/min | RssAnon start → end MiB | heap used start → end MiB | RSS max MiB | ≤ +10 % |",
  );
  out.push("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const g of s.gateways) {
    out.push(
      `| ${g.gateway} | ${g.rssStartMiB} | ${g.rssEndMiB} | ${g.growthPercent >= 0 ? "+" : ""}${g.growthPercent} % | ${g.slopeMiBPerMin} | ${g.rssAnonStartMiB} → ${g.rssAnonEndMiB} | ${g.heapUsedStartMiB ?? "?"} → ${g.heapUsedEndMiB ?? "?"} | ${g.rssMaxMiB} | ${g.pass ? "✓" : "✗"} |`,
    );
  }
  out.push("");
  out.push(`rule: ${s.rule}`);
  out.push(s.pass ? "soak: PASS" : `soak: FAIL — ${s.failures.join("; ")}`);
  if (s.errorSamples.length) out.push(`error samples: ${s.errorSamples.slice(0, 3).join(" | ")}`);
  process.stdout.write(`${out.join("\n")}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
