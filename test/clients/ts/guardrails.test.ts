// The seed's handler guardrails, live (busy, timeout, circuit breaker through a real inbox) and in isolation
// (dedupe of redeliveries, expiry, idempotency-key duplicates, breaker timing).
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EnvelopeSchema } from "../../../gen/agentnet/v1/messaging_pb.js";
import { CircuitBreaker } from "../../../clients/ts/src/circuit-breaker.js";
import { GuardedHandler, type OutcomeEvent } from "../../../clients/ts/src/guarded-handler.js";
import { DEFAULT_GUARDRAILS, type Guardrails } from "../../../clients/ts/src/guardrails.js";
import { type AgentnetClient, MessageView, Reject, statusName } from "../../../clients/ts/src/index.js";
import { type Network, startNetwork, until } from "./helpers.js";

describe("guardrails on a live inbox", () => {
  let net: Network;
  let senders: AgentnetClient;
  let receivers: AgentnetClient;
  let n = 0;
  const pair = async (guardrails: Partial<Guardrails>, handler: (m: MessageView) => unknown) => {
    n += 1;
    const sender = await senders.register({ username: `g_sender_${n}` });
    const receiver = await receivers.register({ username: `g_receiver_${n}` }, { guardrails });
    const outcomes: OutcomeEvent[] = [];
    receiver.on("outcome", (e) => outcomes.push(e));
    receiver.onMessage(handler);
    await receiver.ready();
    return { sender, receiver, outcomes };
  };
  const codes = (outcomes: OutcomeEvent[]) => outcomes.map((o) => (o.outcome.outcome === "processed" ? "processed" : o.outcome.code));

  beforeAll(async () => {
    net = await startNetwork("embedded");
    senders = (await net.user("g_senders")).client();
    receivers = (await net.user("g_receivers")).client();
  });
  afterAll(async () => net?.close());

  it("rejects `busy` beyond max_pending, and works through the queue once the handler frees up", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { sender, receiver, outcomes } = await pair({ maxConcurrency: 1, maxPending: 1 }, () => gate);
    const sent = [];
    for (let i = 0; i < 4; i++) sent.push(await sender.sendText(receiver.username, `job ${i}`));
    await until(() => outcomes.length === 2, 20_000, "two busy rejections");
    expect(codes(outcomes)).toEqual(["busy", "busy"]);
    expect(receiver.load).toMatchObject({ running: 1, pending: 1 });
    release();
    await until(() => outcomes.length === 4, 20_000, "the running and the queued message to finish");
    expect(codes(outcomes).sort()).toEqual(["busy", "busy", "processed", "processed"]);
    // The sender sees the same outcome in its receipts, with the code.
    const rejected = outcomes.find((o) => o.outcome.outcome === "rejected")!;
    const receipt = await sender.send(receiver.username, {}, { messageId: rejected.message.messageId, waitFor: "processed" });
    expect(receipt).toMatchObject({ duplicate: true });
    expect(statusName(receipt.status)).toBe("rejected");
    expect(receipt.receipt?.code).toBe("busy");
    expect(sent.map((s) => s.messageId)).toContain(rejected.message.messageId);
  });

  it("rejects `timeout` when the handler overruns work_timeout, and aborts its signal", async () => {
    let aborted = false;
    const { sender, receiver } = await pair({ workTimeoutMs: 200 }, (m) => {
      const incoming = m as MessageView & { signal: AbortSignal };
      return new Promise<void>((resolve) => incoming.signal.addEventListener("abort", () => ((aborted = true), resolve())));
    });
    const res = await sender.sendText(receiver.username, "slow", { waitFor: "processed", waitTimeoutMs: 20_000 });
    expect(statusName(res.status)).toBe("rejected");
    expect(res.receipt).toMatchObject({ code: "timeout" });
    expect(res.receipt?.detail).toMatch(/200 ms/);
    expect(aborted).toBe(true);
  });

  it("opens the circuit after repeated failures, rejects `circuit_open` without running the handler, and closes after a good trial", async () => {
    let ran = 0;
    // The reset must outlast one send's round trip on a loaded machine, or the circuit_open send below finds the
    // circuit half-open already.
    const resetMs = 4000;
    const { sender, receiver, outcomes } = await pair({ circuitBreakerFailures: 2, circuitBreakerResetMs: resetMs }, (m) => {
      ran += 1;
      if (m.payload["fail"] === true) throw new Error("model provider down");
      if (m.payload["refuse"] === true) throw new Reject("not_my_job", "ask someone else");
    });
    const send = async (payload: Record<string, boolean>) => {
      const res = await sender.send(receiver.username, payload, { waitFor: "processed", waitTimeoutMs: 20_000 });
      return res.receipt?.code || statusName(res.status);
    };
    expect(await send({ refuse: true })).toBe("not_my_job"); // a deliberate rejection is not a failure
    expect(await send({ fail: true })).toBe("handler_error");
    expect(await send({ fail: true })).toBe("handler_error");
    const ranBefore = ran;
    expect(await send({})).toBe("circuit_open");
    expect(ran).toBe(ranBefore);
    expect(receiver.load.circuit).toBe("open");
    await new Promise((r) => setTimeout(r, resetMs + 50));
    expect(await send({})).toBe("processed");
    expect(receiver.load.circuit).toBe("closed");
    expect(await send({})).toBe("processed");
    expect(outcomes.find((o) => o.outcome.outcome === "rejected" && o.outcome.code === "handler_error")?.outcome).toMatchObject({
      detail: "model provider down",
    });
  });
});

describe("guardrails in isolation", () => {
  const envelope = (id: string, extra: Partial<{ expiresAt: Date; idempotencyKey: string }> = {}) =>
    new MessageView(
      create(EnvelopeSchema, {
        messageId: id,
        fromAccountId: "acct_SENDER",
        idempotencyKey: extra.idempotencyKey ?? "",
        expiresAt: timestampFromDate(extra.expiresAt ?? new Date(Date.now() + 60_000)),
        payload: {},
      }),
    );

  it("absorbs redeliveries: ignored while running, acknowledged again with the same outcome once done", async () => {
    const events: OutcomeEvent[] = [];
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const guard = new GuardedHandler(
      () => ((runs += 1), gate),
      DEFAULT_GUARDRAILS,
      (e) => events.push(e),
    );
    guard.offer(envelope("m1"));
    await until(() => runs === 1);
    guard.offer(envelope("m1")); // pushed again while running
    await new Promise((r) => setTimeout(r, 20));
    expect(runs).toBe(1);
    release();
    await until(() => events.length === 1);
    guard.offer(envelope("m1")); // pushed again after the ack got lost
    expect(runs).toBe(1);
    expect(events.map((e) => [e.outcome.outcome, e.repeat])).toEqual([
      ["processed", false],
      ["processed", true],
    ]);
  });

  it("rejects expired messages and repeated idempotency keys without running the handler", async () => {
    const events: OutcomeEvent[] = [];
    let runs = 0;
    const guard = new GuardedHandler(
      () => void (runs += 1),
      DEFAULT_GUARDRAILS,
      (e) => events.push(e),
    );
    guard.offer(envelope("old", { expiresAt: new Date(Date.now() - 1) }));
    guard.offer(envelope("k1", { idempotencyKey: "order-1" }));
    await until(() => events.length === 2);
    guard.offer(envelope("k2", { idempotencyKey: "order-1" }));
    await until(() => events.length === 3);
    expect(events.map((e) => (e.outcome.outcome === "rejected" ? e.outcome.code : "processed"))).toEqual([
      "expired",
      "processed",
      "duplicate",
    ]);
    expect(runs).toBe(1);
  });

  it("rejects `rate_limited` per sender when the optional receiving-side limit is on", async () => {
    const events: OutcomeEvent[] = [];
    const guard = new GuardedHandler(
      () => undefined,
      { ...DEFAULT_GUARDRAILS, perSenderRate: { perSecond: 5, burst: 2 } },
      (e) => events.push(e),
    );
    for (let i = 0; i < 3; i++) guard.offer(envelope(`r${i}`));
    await until(() => events.length === 3);
    expect(events.filter((e) => e.outcome.outcome === "rejected" && e.outcome.code === "rate_limited")).toHaveLength(1);
  });

  it("lets one trial through when half-open, and reopens when it fails", () => {
    let now = 0;
    const breaker = new CircuitBreaker(5, 15_000, () => now);
    for (let i = 0; i < 4; i++) breaker.failure();
    expect(breaker.state).toBe("closed");
    breaker.failure();
    expect(breaker.state).toBe("open");
    expect(breaker.allow()).toBe(false);
    now = 15_000;
    expect(breaker.state).toBe("half_open");
    expect(breaker.allow()).toBe(true);
    expect(breaker.allow()).toBe(false); // one trial at a time
    breaker.failure();
    expect(breaker.state).toBe("open");
    now = 30_000;
    expect(breaker.allow()).toBe(true);
    breaker.success();
    expect(breaker.state).toBe("closed");
  });
});
