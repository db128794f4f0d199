import type { Client } from "@connectrpc/connect";
import { MessagingService, SubscribeMode } from "../../gen/agentnet/v1/messaging_pb.js";
import { type BenchAgent, clientOf, grpcTransport, registerAgents } from "../clients.js";
import type { RunContext } from "../context.js";
import { createHistogram, type LatencySummary, recordMs, summarize } from "../histogram.js";
import { type WindowUsage, WindowMeters } from "../meters.js";

// Request → the responder's Subscribe stream → Reply → back to the waiting Request call, at fixed rates. The
// round trip is the Request RPC's duration as the requester sees it.

export interface RequestReplyRun {
  setup: "embedded" | "postgres+nats";
  ratePerSecond: number;
  roundTripMs: LatencySummary;
  completedPerSecond: number;
  errors: number;
  errorSamples: string[];
  usage: WindowUsage;
}

export interface RequestReplySection {
  runs: RequestReplyRun[];
}

const PAIRS = 4;

export async function runRequestReply(ctx: RunContext): Promise<RequestReplySection> {
  const runs: RequestReplyRun[] = [];
  const p = ctx.profile.requestReply;
  for (const setup of ctx.setupsFor(p.setups, ["postgres+nats", "embedded"])) {
    const backend = await ctx.setups.backend(setup);
    const gw = backend.gateways[0]!;
    const transport = grpcTransport(gw.url, backend.apiKey);
    const responderTransport = grpcTransport(gw.url, backend.apiKey);
    const requesters = await registerAgents(transport, `rr_${setup === "embedded" ? "e" : "p"}_req`, PAIRS);
    const responders = await registerAgents(responderTransport, `rr_${setup === "embedded" ? "e" : "p"}_resp`, PAIRS);
    const abort = new AbortController();
    const responding = responders.map((r) => respond(clientOf(MessagingService, responderTransport), r, abort.signal));
    await Promise.all(responding.map((r) => Promise.race([r.started, r.done])));
    const messaging = clientOf(MessagingService, transport);
    try {
      for (const rate of p.rates) {
        const meters = new WindowMeters([gw], ctx.infra, { backend, loadPids: [process.pid] });
        await meters.start();
        const run = await paced(messaging, requesters, responders, rate, p.durationMs);
        const usage = await meters.stop();
        runs.push({ setup, ratePerSecond: rate, ...run, usage });
        ctx.progress(
          `request-reply · ${setup} at ${rate}/s: p50 ${run.roundTripMs.p50} ms p99 ${run.roundTripMs.p99} ms` +
            (run.errors ? `, ${run.errors} errors (${run.errorSamples[0]})` : ""),
        );
      }
    } finally {
      abort.abort();
      await Promise.allSettled(responding.map((r) => r.done));
      ctx.noteGatewayErrors(`request-reply (${setup})`, [gw]);
    }
  }
  return { runs };
}

async function paced(
  messaging: Client<typeof MessagingService>,
  requesters: BenchAgent[],
  responders: BenchAgent[],
  rate: number,
  durationMs: number,
): Promise<Omit<RequestReplyRun, "setup" | "ratePerSecond" | "usage">> {
  const h = createHistogram();
  let errors = 0;
  let completed = 0;
  const errorSamples: string[] = [];
  const pending: Array<Promise<void>> = [];
  const start = performance.now();
  let issued = 0;
  while (performance.now() - start < durationMs) {
    const due = Math.floor(((performance.now() - start) * rate) / 1000);
    while (issued < due) {
      const i = issued++;
      const from = requesters[i % requesters.length]!;
      const to = responders[i % responders.length]!;
      const t = performance.now();
      pending.push(
        messaging
          .request(
            {
              to: { target: { case: "accountId", value: to.accountId } },
              payload: { text: "ping", pad: "x".repeat(64) },
              asAccountId: from.accountId,
              sessionTag: from.sessionTag,
              timeoutMs: 3000n,
            },
            { timeoutMs: 6000 },
          )
          .then(
            () => {
              completed++;
              recordMs(h, performance.now() - t);
            },
            (err: unknown) => {
              errors++;
              if (errorSamples.length < 5) errorSamples.push(err instanceof Error ? err.message : String(err));
            },
          ),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  return { roundTripMs: summarize(h), completedPerSecond: Math.round((completed / durationMs) * 1000), errors, errorSamples };
}

/** A responder: replies to every request on its Subscribe stream at once. */
function respond(messaging: Client<typeof MessagingService>, agent: BenchAgent, signal: AbortSignal) {
  let started!: () => void;
  const startedP = new Promise<void>((r) => (started = r));
  const done = (async () => {
    try {
      const stream = messaging.subscribe(
        { asAccountId: agent.accountId, sessionTag: agent.sessionTag, mode: SubscribeMode.CONSUME, maxInFlight: 1000 },
        { signal },
      );
      for await (const item of stream) {
        if (item.event.case === "started") started();
        if (item.event.case !== "message") continue;
        void messaging
          .reply({ requestMessageId: item.event.value.messageId, payload: { ok: true }, sessionTag: agent.sessionTag })
          .catch(() => undefined);
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  })();
  return { started: startedP, done };
}
