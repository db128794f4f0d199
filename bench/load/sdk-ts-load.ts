import type { JsonObject } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { type Agent, type AgentnetClient, connect } from "@agentnet/client";
import { MessageKind, MessagingService, SubscribeMode } from "../../gen/agentnet/v1/messaging_pb.js";
import { type BenchAgent, clientOf, grpcTransport, registerAgents } from "../clients.js";
import { createHistogram, type Histogram, type LatencySummary, recordMs, summarize } from "../histogram.js";
import { makePayload, nowMs } from "../payload.js";

// The load of the sdk-ts section, in the bench process itself: N sender agents → N receiver agents, closed loop
// (each sender keeps k sends outstanding and sends again when one is answered), and sequential request/reply
// between the first sender and the first receiver. Two kinds of peers run the same loop: the generated clients
// over gRPC ("raw": Send, Subscribe, batched Ack, Request, Reply — as the messaging load does), and the
// TypeScript SDK (`agent.send`, `agent.onMessage` with its guardrails and batched acks, `agent.request`,
// `m.reply`). Senders share one connection and receivers another, in both kinds.

/** One side of a run: agents that send, agents that receive (and answer requests). */
export interface Peers {
  readonly kind: string;
  /** Sends from sender `from` to receiver `to`; resolves once stored (ACCEPTED). */
  send(from: number, to: number, payload: JsonObject): Promise<unknown>;
  /** A request from sender 0 to receiver 0; resolves with the reply. */
  request(payload: JsonObject): Promise<unknown>;
  close(): Promise<void>;
}

/** Called for every message a receiver is handed (requests excluded). */
export type OnDeliver = (payload: JsonObject) => void;

const ACK_BATCH = 500;
const ACK_INTERVAL_MS = 5;

/** Generated clients over gRPC, as the messaging load uses them (without its WatchReceipts stream). */
export async function rawPeers(url: string, apiKey: string, prefix: string, n: number, onDeliver: OnDeliver): Promise<Peers> {
  const sendTransport = grpcTransport(url, apiKey);
  const receiveTransport = grpcTransport(url, apiKey);
  const senders = await registerAgents(sendTransport, `${prefix}_send`, n);
  const receivers = await registerAgents(receiveTransport, `${prefix}_recv`, n);
  const send = clientOf(MessagingService, sendTransport);
  const receive = clientOf(MessagingService, receiveTransport);
  const abort = new AbortController();
  const streams = receivers.map((r) => rawReceiver(receive, r, onDeliver, abort.signal));
  await Promise.all(streams.map((s) => s.started));
  return {
    kind: "raw",
    send: (from, to, payload) =>
      send.send({
        to: { target: { case: "accountId", value: receivers[to]!.accountId } },
        payload,
        asAccountId: senders[from]!.accountId,
        sessionTag: senders[from]!.sessionTag,
      }),
    request: (payload) =>
      send.request(
        {
          to: { target: { case: "accountId", value: receivers[0]!.accountId } },
          payload,
          asAccountId: senders[0]!.accountId,
          sessionTag: senders[0]!.sessionTag,
          timeoutMs: 5000n,
        },
        { timeoutMs: 10_000 },
      ),
    async close() {
      abort.abort();
      await Promise.allSettled(streams.map((s) => s.done));
    },
  };
}

function rawReceiver(messaging: Client<typeof MessagingService>, agent: BenchAgent, onDeliver: OnDeliver, signal: AbortSignal) {
  let started!: () => void;
  const startedP = new Promise<void>((r) => (started = r));
  let pending: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    const acks = pending.map((messageId) => ({ messageId }));
    pending = [];
    void messaging.ack({ acks, sessionTag: agent.sessionTag }).catch(() => undefined);
  };
  const done = (async () => {
    try {
      const stream = messaging.subscribe(
        { asAccountId: agent.accountId, sessionTag: agent.sessionTag, mode: SubscribeMode.CONSUME, maxInFlight: 1000 },
        { signal },
      );
      for await (const item of stream) {
        if (item.event.case === "started") started();
        if (item.event.case !== "message") continue;
        const envelope = item.event.value;
        if (envelope.kind === MessageKind.REQUEST) {
          void messaging
            .reply({ requestMessageId: envelope.messageId, payload: { ok: true }, sessionTag: agent.sessionTag })
            .catch(() => undefined);
          continue;
        }
        onDeliver(envelope.payload ?? {});
        pending.push(envelope.messageId);
        if (pending.length >= ACK_BATCH) flush();
        else timer ??= setTimeout(flush, ACK_INTERVAL_MS);
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    } finally {
      flush();
    }
  })();
  return { started: startedP, done };
}

/** The TypeScript SDK: one client for the senders, one for the receivers, as a user's agent processes would use it. */
export async function sdkPeers(
  url: string,
  apiKey: string,
  prefix: string,
  n: number,
  onDeliver: OnDeliver,
  o: { coalesceSends: boolean },
): Promise<Peers> {
  const sendClient: AgentnetClient = connect({ url, apiKey, coalesceSends: o.coalesceSends });
  const receiveClient: AgentnetClient = connect({ url, apiKey, coalesceSends: o.coalesceSends });
  const senders: Agent[] = [];
  const receivers: Agent[] = [];
  for (let i = 0; i < n; i++) senders.push(await sendClient.register({ username: `${prefix}_send_${i}` }));
  for (let i = 0; i < n; i++) {
    const agent = await receiveClient.register({ username: `${prefix}_recv_${i}` });
    agent.onMessage(async (m) => {
      if (m.isRequest) await m.reply({ ok: true });
      else onDeliver(m.payload);
    });
    receivers.push(agent);
  }
  await Promise.all(receivers.map((r) => r.ready()));
  return {
    kind: o.coalesceSends ? "sdk" : "sdk, coalescing off",
    send: (from, to, payload) => senders[from]!.send({ accountId: receivers[to]!.accountId }, payload),
    request: (payload) => senders[0]!.request({ accountId: receivers[0]!.accountId }, payload, { timeoutMs: 5000 }),
    async close() {
      await Promise.all([sendClient.close(), receiveClient.close()]);
    },
  };
}

export interface LoopSpec {
  stepId: number;
  senders: number;
  receivers: number;
  inFlightPerSender: number;
  payloadBytes: number;
  warmupMs: number;
  durationMs: number;
  drainTimeoutMs: number;
  /** Sent but not yet delivered, at most, before senders wait. */
  maxUndelivered: number;
}

export interface LoopResult {
  sentPerSecond: number;
  deliveredPerSecond: number;
  /** Send → handed to the receiver, for messages sent in the window. */
  latencyMs: LatencySummary;
  /** The send call until stored (ACCEPTED). */
  sendMs: LatencySummary;
  sendErrors: number;
  errorSamples: string[];
  missing: number;
  duplicates: number;
}

/**
 * A closed loop: every sender keeps `inFlightPerSender` sends outstanding, round robin over the receivers, until
 * the window ends; then waits (bounded) for everything stored to be delivered. `deliver` must be called for
 * every delivered payload while the loop runs (see {@link OnDeliver}).
 */
export class ClosedLoop {
  private spec: LoopSpec | undefined;
  private received = new Set<number>();
  private duplicates = 0;
  private receivedInWindow = 0;
  private windowStart = Infinity;
  private windowEnd = -Infinity;
  private latency: Histogram = createHistogram();
  private seq = 0;
  private waiters: Array<() => void> = [];

  readonly deliver: OnDeliver = (p) => {
    const spec = this.spec;
    if (spec === undefined || p["k"] !== spec.stepId || typeof p["s"] !== "number" || typeof p["t"] !== "number") return;
    const now = nowMs();
    if (this.received.has(p["s"])) return void this.duplicates++;
    this.received.add(p["s"]);
    if (p["t"] >= this.windowStart && p["t"] < this.windowEnd) recordMs(this.latency, now - p["t"]);
    if (now >= this.windowStart && now < this.windowEnd) this.receivedInWindow++;
    if (this.waiters.length > 0) for (const wake of this.waiters.splice(0)) wake();
  };

  async run(peers: Peers, spec: LoopSpec): Promise<LoopResult> {
    this.spec = spec;
    this.received = new Set();
    this.duplicates = 0;
    this.receivedInWindow = 0;
    this.latency = createHistogram();
    this.seq = 0;
    const sendMs = createHistogram();
    const start = nowMs();
    this.windowStart = start + spec.warmupMs;
    this.windowEnd = this.windowStart + spec.durationMs;
    let sentOk = 0;
    let sentInWindow = 0;
    let sendErrors = 0;
    const errorSamples: string[] = [];

    const worker = async (from: number, lane: number) => {
      let turn = lane;
      while (nowMs() < this.windowEnd) {
        while (this.seq - this.received.size >= spec.maxUndelivered && nowMs() < this.windowEnd) {
          await new Promise<void>((r) => {
            this.waiters.push(r);
            setTimeout(r, 5);
          });
        }
        const s = this.seq++;
        const to = (from + turn++) % spec.receivers;
        const t = nowMs();
        const inWindow = t >= this.windowStart && t < this.windowEnd;
        if (inWindow) sentInWindow++;
        try {
          await peers.send(from, to, makePayload(spec.payloadBytes, spec.stepId, s, t));
          sentOk++;
          if (inWindow) recordMs(sendMs, nowMs() - t);
        } catch (err) {
          sendErrors++;
          if (errorSamples.length < 5) errorSamples.push(err instanceof Error ? err.message : String(err));
        }
      }
    };
    const workers: Promise<void>[] = [];
    for (let from = 0; from < spec.senders; from++) {
      for (let lane = 0; lane < spec.inFlightPerSender; lane++) workers.push(worker(from, lane));
    }
    await Promise.all(workers);
    const drainStart = nowMs();
    while (this.received.size < sentOk && nowMs() - drainStart < spec.drainTimeoutMs) await new Promise((r) => setTimeout(r, 10));
    const windowS = spec.durationMs / 1000;
    const result: LoopResult = {
      sentPerSecond: Math.round(sentInWindow / windowS),
      deliveredPerSecond: Math.round(this.receivedInWindow / windowS),
      latencyMs: summarize(this.latency),
      sendMs: summarize(sendMs),
      sendErrors,
      errorSamples,
      missing: Math.max(0, sentOk - this.received.size),
      duplicates: this.duplicates,
    };
    this.spec = undefined;
    return result;
  }
}

export interface RoundTrips {
  roundTripMs: LatencySummary;
  perSecond: number;
  errors: number;
  errorSamples: string[];
}

/** Sequential requests (one at a time) for `durationMs` after `warmup` unmeasured ones. */
export async function sequentialRequests(peers: Peers, durationMs: number, warmup = 20): Promise<RoundTrips> {
  const h = createHistogram();
  let errors = 0;
  const errorSamples: string[] = [];
  const payload = { text: "ping", pad: "x".repeat(64) };
  for (let i = 0; i < warmup; i++) await peers.request(payload).catch(() => undefined);
  const start = performance.now();
  let done = 0;
  while (performance.now() - start < durationMs) {
    const t = performance.now();
    try {
      await peers.request(payload);
      recordMs(h, performance.now() - t);
      done++;
    } catch (err) {
      errors++;
      if (errorSamples.length < 5) errorSamples.push(err instanceof Error ? err.message : String(err));
    }
  }
  return { roundTripMs: summarize(h), perSecond: Math.round((done * 1000) / (performance.now() - start)), errors, errorSamples };
}
