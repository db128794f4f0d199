import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { RunContext } from "../context.js";
import { createHistogram, type LatencySummary, recordMs, summarize } from "../histogram.js";
import { round1 } from "../usage.js";

// The ceiling one gateway hop can approach: core NATS from Node against the same nats-server the
// PostgreSQL + NATS gateways use, with the same payload sizes and request rates as the agentnet measurements.

export interface PubSubRun {
  payloadBytes: number;
  messages: number;
  /** Messages received per second, first publish to last receipt. */
  messagesPerSecond: number;
}

export interface RawRequestRun {
  ratePerSecond: number;
  roundTripMs: LatencySummary;
  errors: number;
}

export interface BaselinesSection {
  natsUrl: string;
  pubSub: PubSubRun[];
  requestReply: RawRequestRun[];
}

export async function runBaselines(ctx: RunContext): Promise<BaselinesSection> {
  const nats = await ctx.infra.nats();
  const pub = await connect({ servers: nats.url, name: "bench-pub" });
  const sub = await connect({ servers: nats.url, name: "bench-sub" });
  try {
    const pubSub = [
      await pubSubThroughput(pub, sub, 128, ctx.profile.baselines.pubSubMessages),
      await pubSubThroughput(pub, sub, 4096, ctx.profile.baselines.largePubSubMessages),
    ];
    for (const r of pubSub) ctx.progress(`baselines · NATS pub→sub ${r.payloadBytes} B: ${r.messagesPerSecond} msg/s`);
    const requestReply: RawRequestRun[] = [];
    for (const rate of ctx.profile.requestReply.rates) {
      const run = await requestReplyAt(pub, sub, rate, ctx.profile.requestReply.durationMs);
      requestReply.push(run);
      ctx.progress(`baselines · NATS request/reply at ${rate}/s: p50 ${run.roundTripMs.p50} ms p99 ${run.roundTripMs.p99} ms`);
    }
    return { natsUrl: nats.url, pubSub, requestReply };
  } finally {
    await Promise.allSettled([pub.drain(), sub.drain()]);
  }
}

async function pubSubThroughput(pub: NatsConnection, sub: NatsConnection, bytes: number, count: number): Promise<PubSubRun> {
  const subject = `bench.pubsub.${bytes}`;
  let received = 0;
  let last = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const s = sub.subscribe(subject, {
    callback: () => {
      received++;
      if (received === count) {
        last = performance.now();
        resolveDone();
      }
    },
  });
  await sub.flush();
  const payload = new Uint8Array(bytes).fill(120);
  const start = performance.now();
  // Publish in slices, flushing between them, so the client's buffer stays bounded, as a real publisher would.
  for (let i = 0; i < count; i += 1000) {
    for (let j = i; j < Math.min(count, i + 1000); j++) pub.publish(subject, payload);
    await pub.flush();
  }
  const timeout = setTimeout(() => resolveDone(), 30_000);
  await done;
  clearTimeout(timeout);
  s.unsubscribe();
  const elapsed = (last || performance.now()) - start;
  return { payloadBytes: bytes, messages: received, messagesPerSecond: round1((received / elapsed) * 1000) };
}

async function requestReplyAt(
  requester: NatsConnection,
  responder: NatsConnection,
  rate: number,
  durationMs: number,
): Promise<RawRequestRun> {
  const subject = "bench.rr";
  const answer = new TextEncoder().encode(JSON.stringify({ ok: true }));
  const s = responder.subscribe(subject, { callback: (_err, msg) => void msg.respond(answer) });
  await responder.flush();
  const payload = new TextEncoder().encode(JSON.stringify({ text: "ping", pad: "x".repeat(64) }));
  const h = createHistogram();
  let errors = 0;
  const pending: Array<Promise<void>> = [];
  const start = performance.now();
  let issued = 0;
  while (performance.now() - start < durationMs) {
    const due = Math.floor(((performance.now() - start) * rate) / 1000);
    while (issued < due) {
      issued++;
      const t = performance.now();
      pending.push(
        requester.request(subject, payload, { timeout: 5000 }).then(
          () => recordMs(h, performance.now() - t),
          () => void errors++,
        ),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  s.unsubscribe();
  return { ratePerSecond: rate, roundTripMs: summarize(h), errors };
}
