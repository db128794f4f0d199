import type { Client } from "@connectrpc/connect";
import { DeliveryStatus, MessagingService, SubscribeMode } from "../../gen/agentnet/v1/messaging_pb.js";
import { clientOf, grpcTransport } from "../clients.js";
import { createHistogram, encodeHistogram, type Histogram, recordMs } from "../histogram.js";
import { makePayload, nowMs } from "../payload.js";

// Messaging load of one load process: its senders send to its receivers through SendBatch or Send (durable; receipts
// stored and streamed to a WatchReceipts stream), its receivers consume Subscribe streams and ack in batches.
// Sending and receiving happen in the same process, so the send timestamp in the payload and the receive time
// come from the same clock.

export interface LoadAgent {
  accountId: string;
  sessionTag: string;
}

export interface OpenSpec {
  workerId: number;
  /** Gateway the senders talk to. */
  sendUrl: string;
  /** Gateway the receivers' Subscribe streams and acks go to. */
  receiveUrl: string;
  apiKey: string;
  senders: LoadAgent[];
  receivers: LoadAgent[];
  maxInFlight: number;
}

export interface StepSpec {
  stepId: number;
  /** Offered msg/s for this process; null: as fast as flow control allows. */
  ratePerSecond: number | null;
  payloadBytes: number;
  warmupMs: number;
  durationMs: number;
  drainTimeoutMs: number;
  /** Messages in flight at once per sender. */
  inFlightPerSender: number;
  /** `batch`: a sender's due messages go out in one SendBatch call; `unary`: one Send per message. */
  call: "batch" | "unary";
  maxUndelivered: number;
}

export interface StepResult {
  workerId: number;
  windowMs: number;
  /** Sends issued during the measured window. */
  sentInWindow: number;
  sentOk: number;
  sendErrors: number;
  errorSamples: string[];
  /** Distinct messages received whose receive time fell in the window. */
  receivedInWindow: number;
  receivedTotal: number;
  duplicates: number;
  /** Accepted sends never received within the drain timeout. */
  missing: number;
  /** Send→deliver latency of messages sent in the window (encoded HDR histogram, µs). */
  latency: string;
  /** Duration of the Send RPC (until stored) for messages sent in the window. */
  sendRpc: string;
  receipts: Record<string, number>;
  ackErrors: number;
  drainMs: number;
  /** CPU of this load process during the window, ms. */
  cpuMs: number;
}

const ACK_BATCH = 500;
const ACK_INTERVAL_MS = 5;

interface Receiver {
  agent: LoadAgent;
  pending: string[];
  timer: NodeJS.Timeout | undefined;
}

export class MessagingLoad {
  private readonly send: Client<typeof MessagingService>;
  private readonly receive: Client<typeof MessagingService>;
  private readonly abort = new AbortController();
  private readonly receivers: Receiver[];
  private readonly streams: Array<Promise<void>> = [];
  private readonly acksInFlight = new Set<Promise<unknown>>();
  private streamError: string | undefined;

  // Current step.
  private step: StepSpec | undefined;
  private received = new Set<number>();
  private receivedInWindow = 0;
  private duplicates = 0;
  private windowStart = Infinity;
  private windowEnd = -Infinity;
  private latency: Histogram = createHistogram();
  private receipts: Record<string, number> = {};
  private ackErrors = 0;
  private onReceive: () => void = () => undefined;

  constructor(private readonly spec: OpenSpec) {
    this.send = clientOf(MessagingService, grpcTransport(spec.sendUrl, spec.apiKey));
    this.receive = clientOf(MessagingService, grpcTransport(spec.receiveUrl, spec.apiKey));
    this.receivers = spec.receivers.map((agent) => ({ agent, pending: [], timer: undefined }));
  }

  /** Opens the receivers' Subscribe streams and the senders' WatchReceipts stream; resolves once all started. */
  async open(): Promise<void> {
    const started = this.receivers.map((r) => new Promise<void>((resolve, reject) => this.streams.push(this.consume(r, resolve, reject))));
    const receiptsStarted = new Promise<void>((resolve) => this.streams.push(this.watchReceipts(resolve)));
    await Promise.all([...started, receiptsStarted]);
  }

  async close(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled(this.streams);
  }

  async runStep(step: StepSpec): Promise<StepResult> {
    if (this.streamError) throw new Error(this.streamError);
    this.step = step;
    this.received = new Set();
    this.receivedInWindow = 0;
    this.duplicates = 0;
    this.latency = createHistogram();
    this.receipts = {};
    this.ackErrors = 0;
    const sendRpc = createHistogram();
    const senders = this.spec.senders;
    const receivers = this.spec.receivers;
    let seq = 0;
    let outstanding = 0;
    let sentOk = 0;
    let sentInWindow = 0;
    let sendErrors = 0;
    const errorSamples: string[] = [];

    const start = nowMs();
    this.windowStart = start + step.warmupMs;
    this.windowEnd = this.windowStart + step.durationMs;
    let cpuAtWindowStart: NodeJS.CpuUsage | undefined;
    let cpuMs = 0;

    const inFlight = senders.map(() => 0);
    type Pending = { s: number; t: number; inWindow: boolean; receiver: LoadAgent };
    const settle = (sender: number, p: Pending, error: unknown) => {
      if (error === undefined) {
        sentOk++;
        if (p.inWindow) recordMs(sendRpc, nowMs() - p.t);
      } else {
        sendErrors++;
        if (errorSamples.length < 5) errorSamples.push(String(error instanceof Error ? error.message : error));
      }
      inFlight[sender]!--;
      outstanding--;
      kick();
    };
    const request = (sender: LoadAgent, p: Pending) => ({
      to: { target: { case: "accountId" as const, value: p.receiver.accountId } },
      payload: makePayload(step.payloadBytes, step.stepId, p.s, p.t),
      asAccountId: sender.accountId,
      sessionTag: sender.sessionTag,
    });
    const sendGroup = (i: number, group: Pending[]) => {
      const sender = senders[i]!;
      if (step.call === "unary") {
        for (const p of group)
          this.send.send(request(sender, p)).then(
            () => settle(i, p, undefined),
            (err: unknown) => settle(i, p, err),
          );
        return;
      }
      this.send.sendBatch({ messages: group.map((p) => request(sender, p)) }).then(
        (res) =>
          group.forEach((p, j) => {
            const r = res.results[j]?.result;
            settle(i, p, r?.case === "sent" ? undefined : `${r?.value?.code ?? "missing result"}: ${r?.value?.message ?? ""}`);
          }),
        (err: unknown) => {
          for (const p of group) settle(i, p, err);
        },
      );
    };

    let done!: () => void;
    const sendingDone = new Promise<void>((r) => (done = r));
    let scheduled = false;
    let timer: NodeJS.Timeout | undefined;
    const kick = () => {
      if (scheduled) return;
      scheduled = true;
      setImmediate(pump);
    };
    let finished = false;
    const pump = () => {
      scheduled = false;
      if (finished) return;
      const t = nowMs();
      if (cpuAtWindowStart === undefined && t >= this.windowStart) cpuAtWindowStart = process.cpuUsage();
      if (t >= this.windowEnd) {
        finished = true;
        clearTimeout(timer);
        if (cpuAtWindowStart) {
          const used = process.cpuUsage(cpuAtWindowStart);
          cpuMs = (used.user + used.system) / 1000;
        }
        done();
        return;
      }
      const due = step.ratePerSecond === null ? Infinity : Math.floor(((t - start) * step.ratePerSecond) / 1000);
      // What is due now, per sender: one SendBatch per sender and pump (at most a millisecond apart), as a
      // coalescing SDK would send it.
      const groups = new Map<number, Pending[]>();
      while (seq < due && inFlight[seq % senders.length]! < step.inFlightPerSender && seq - this.received.size < step.maxUndelivered) {
        const s = seq++;
        const i = s % senders.length;
        const receiver = receivers[Math.floor(s / senders.length) % receivers.length]!;
        const inWindow = t >= this.windowStart && t < this.windowEnd;
        if (inWindow) sentInWindow++;
        inFlight[i]!++;
        outstanding++;
        let group = groups.get(i);
        if (!group) groups.set(i, (group = []));
        group.push({ s, t, inWindow, receiver });
      }
      for (const [i, group] of groups) sendGroup(i, group);
      clearTimeout(timer);
      timer = setTimeout(pump, 1);
    };
    // Unthrottled steps send again as soon as a send completes or a message arrives.
    this.onReceive = step.ratePerSecond === null ? kick : () => undefined;
    pump();
    await sendingDone;

    const drainStart = nowMs();
    while (nowMs() - drainStart < step.drainTimeoutMs) {
      if (outstanding === 0 && this.received.size >= sentOk) break;
      if (this.streamError) throw new Error(this.streamError);
      await new Promise((r) => setTimeout(r, 10));
    }
    const drainMs = nowMs() - drainStart;
    await this.flushAcks();
    this.onReceive = () => undefined;
    return {
      workerId: this.spec.workerId,
      windowMs: step.durationMs,
      sentInWindow,
      sentOk,
      sendErrors,
      errorSamples,
      receivedInWindow: this.receivedInWindow,
      receivedTotal: this.received.size,
      duplicates: this.duplicates,
      missing: Math.max(0, sentOk - this.received.size),
      latency: encodeHistogram(this.latency),
      sendRpc: encodeHistogram(sendRpc),
      receipts: this.receipts,
      ackErrors: this.ackErrors,
      drainMs,
      cpuMs,
    };
  }

  private async consume(r: Receiver, started: () => void, failed: (err: unknown) => void): Promise<void> {
    try {
      const stream = this.receive.subscribe(
        { asAccountId: r.agent.accountId, sessionTag: r.agent.sessionTag, mode: SubscribeMode.CONSUME, maxInFlight: this.spec.maxInFlight },
        { signal: this.abort.signal },
      );
      for await (const item of stream) {
        if (item.event.case === "started") {
          started();
          continue;
        }
        if (item.event.case !== "message") continue;
        const envelope = item.event.value;
        const now = nowMs();
        const p = envelope.payload ?? {};
        if (this.step !== undefined && p["k"] === this.step.stepId && typeof p["s"] === "number" && typeof p["t"] === "number") {
          const s = p["s"];
          if (this.received.has(s)) this.duplicates++;
          else {
            this.received.add(s);
            if (p["t"] >= this.windowStart && p["t"] < this.windowEnd) recordMs(this.latency, now - p["t"]);
            if (now >= this.windowStart && now < this.windowEnd) this.receivedInWindow++;
          }
        }
        this.ack(r, envelope.messageId);
        this.onReceive();
      }
    } catch (err) {
      if (!this.abort.signal.aborted) {
        this.streamError = `Subscribe stream of ${r.agent.accountId} failed: ${err instanceof Error ? err.message : String(err)}`;
        failed(err);
      }
    }
  }

  private ack(r: Receiver, messageId: string): void {
    r.pending.push(messageId);
    if (r.pending.length >= ACK_BATCH) this.flushAck(r);
    else r.timer ??= setTimeout(() => this.flushAck(r), ACK_INTERVAL_MS);
  }

  private flushAck(r: Receiver): void {
    clearTimeout(r.timer);
    r.timer = undefined;
    if (r.pending.length === 0) return;
    const ids = r.pending.splice(0);
    const p = this.receive.ack({ acks: ids.map((messageId) => ({ messageId })), sessionTag: r.agent.sessionTag }).then(
      (res) => (this.ackErrors += res.results.filter((x) => !x.ok).length),
      () => (this.ackErrors += ids.length),
    );
    this.acksInFlight.add(p);
    void p.finally(() => this.acksInFlight.delete(p));
  }

  private async flushAcks(): Promise<void> {
    for (const r of this.receivers) this.flushAck(r);
    await Promise.allSettled([...this.acksInFlight]);
  }

  private async watchReceipts(synced: () => void): Promise<void> {
    try {
      const stream = this.send.watchReceipts({ accountIds: this.spec.senders.map((s) => s.accountId) }, { signal: this.abort.signal });
      for await (const item of stream) {
        if (item.event.case === "synced") synced();
        if (item.event.case !== "receipt") continue;
        const status = DeliveryStatus[item.event.value.status]?.toLowerCase() ?? "unknown";
        this.receipts[status] = (this.receipts[status] ?? 0) + 1;
      }
    } catch (err) {
      if (!this.abort.signal.aborted) this.streamError = `WatchReceipts failed: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
}
