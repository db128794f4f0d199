import { randomBytes } from "node:crypto";
import type { Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Envelope, MessageKind, type MessagingService, SubscribeMode } from "../../gen/agentnet/v1/messaging_pb.js";
import { readConfig } from "../../src/config.js";
import { refusal } from "../support/config.js";
import { type TestAgent, createUser, loginAdmin, registerAgent, text, userClients } from "../support/agents.js";
import { type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";
import { OtlpReceiver, type ReceivedSpan } from "../support/otlp-receiver.js";

// One request/reply between two agents on two gateways is one trace: the caller's `traceparent` is the parent of
// the Send call's span, the message carries the trace to the gateway that delivers it, the envelope hands it to
// the recipient's handler, whose Ack and Reply continue it, and the reply's delivery back is in it too.

const SERVER = 2;
const PRODUCER = 4;

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const traceparent = (traceId: string, spanId: string) => `00-${traceId}-${spanId}-01`;
const parse = (tp: string) => {
  const [, traceId, spanId] = tp.split("-");
  return { traceId: traceId!, spanId: spanId! };
};

/** A CONSUME stream that keeps what it receives. */
function stream(messaging: Client<typeof MessagingService>, agent: TestAgent) {
  const abort = new AbortController();
  const received: Envelope[] = [];
  let started!: () => void;
  const ready = new Promise<void>((r) => (started = r));
  const running = (async () => {
    for await (const item of messaging.subscribe(
      { asAccountId: agent.accountId, sessionTag: agent.sessionTag, mode: SubscribeMode.CONSUME },
      { signal: abort.signal },
    )) {
      if (item.event.case === "started") started();
      if (item.event.case === "message") received.push(item.event.value);
    }
  })().catch(() => undefined);
  return {
    ready,
    received,
    async next(n: number): Promise<Envelope> {
      const deadline = Date.now() + 20_000;
      while (received.length < n) {
        if (Date.now() > deadline) throw new Error(`waited for message ${n}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return received[n - 1]!;
    },
    async close() {
      abort.abort();
      await running;
    },
  };
}

const one = (spans: ReceivedSpan[], name: string, where: (s: ReceivedSpan) => boolean = () => true) => {
  const found = spans.filter((s) => s.name === name && where(s));
  expect(found, `${name} spans`).toHaveLength(1);
  return found[0]!;
};

describe("traces across two gateways (postgres+nats)", () => {
  let receiver: OtlpReceiver;
  let backend: TestBackend;
  let gw1: TestGateway;
  let gw2: TestGateway;

  beforeAll(async () => {
    receiver = await new OtlpReceiver().start();
    backend = await createBackend("postgres+nats");
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: "50", OTEL_SERVICE_NAME: "agentnet-test" };
    gw1 = await startTestGateway(backend, env);
    gw2 = await startTestGateway(backend, env);
  }, 60_000);
  afterAll(async () => {
    await gw1?.close();
    await gw2?.close();
    await backend?.dispose();
    await receiver?.close();
  });

  it("Send → delivery → Ack → Reply → the reply's delivery is one trace, with the right parents, over gRPC and Connect", async () => {
    const admin = await loginAdmin(gw1.url);
    const aliceUser = await createUser(gw1.url, admin, "t-alice");
    const bobUser = await createUser(gw1.url, admin, "t-bob");
    const alice = await registerAgent(aliceUser, "t-alice");
    const bob = await registerAgent(bobUser, "t-bob");
    // Alice streams through gateway 1; Bob streams, acks and replies through gateway 2, his acks over Connect.
    const bobOnGw2 = userClients(gw2.url, bobUser.username, bobUser.token);
    const bobOverConnect = userClients(gw2.url, bobUser.username, bobUser.token, "connect");
    const aliceInbox = stream(aliceUser.messaging, alice);
    const bobInbox = stream(bobOnGw2.messaging, bob);
    await Promise.all([aliceInbox.ready, bobInbox.ready]);

    // The caller's own span, as an SDK with OpenTelemetry would send it.
    const traceId = hex(16);
    const callerSpan = hex(8);
    const sent = await aliceUser.messaging.send(
      {
        asAccountId: alice.accountId,
        to: { target: { case: "accountId", value: bob.accountId } },
        kind: MessageKind.REQUEST,
        payload: text("what time is it?"),
      },
      { headers: { traceparent: traceparent(traceId, callerSpan) } },
    );
    const request = await bobInbox.next(1);
    expect(request.messageId).toBe(sent.messageId);
    const delivered = parse(request.traceparent);
    expect(delivered.traceId).toBe(traceId);
    // agentnet's own correlation id is unchanged by tracing.
    expect(request.traceId).toBe(sent.messageId);

    // Bob's handler: a span of its own under the delivery, sent on its Ack and Reply.
    const handlerSpan = hex(8);
    const handler = traceparent(traceId, handlerSpan);
    await bobOverConnect.messaging.ack({ acks: [{ messageId: request.messageId }] }, { headers: { traceparent: handler } });
    await bobOnGw2.messaging.reply(
      { requestMessageId: request.messageId, payload: text("noon"), sessionTag: bob.sessionTag },
      { headers: { traceparent: handler } },
    );
    const reply = await aliceInbox.next(1);
    expect(reply.kind).toBe(MessageKind.REPLY);
    expect(parse(reply.traceparent).traceId).toBe(traceId);

    const spans = await receiver.waitForTrace(
      traceId,
      (s) => s.filter((x) => x.name === "agentnet.deliver").length >= 2 && s.some((x) => x.name.endsWith("/Reply")),
      "both deliveries and the Reply",
    );
    const gw1Id = one(spans, "agentnet.v1.MessagingService/Send").resource["service.instance.id"];
    const send = one(spans, "agentnet.v1.MessagingService/Send");
    expect(send).toMatchObject({ kind: SERVER, parentSpanId: callerSpan });
    expect(send.attributes).toMatchObject({ "rpc.system": "grpc", "rpc.service": "agentnet.v1.MessagingService", "rpc.method": "Send" });
    expect(send.resource["service.name"]).toBe("agentnet-test");

    // The request's delivery happened on gateway 2, under the Send, and is the span the envelope named.
    const deliverRequest = one(spans, "agentnet.deliver", (s) => s.attributes["messaging.message.id"] === sent.messageId);
    expect(deliverRequest).toMatchObject({ kind: PRODUCER, parentSpanId: send.spanId, spanId: delivered.spanId });
    expect(deliverRequest.resource["service.instance.id"]).not.toBe(gw1Id);
    expect(deliverRequest.attributes).toMatchObject({ "agentnet.trace_id": sent.messageId, "agentnet.delivery_attempt": 1 });

    // Storing it: the insert's span under the Send.
    expect(spans.some((s) => s.name === "agentnet.store.messages" && s.parentSpanId === send.spanId)).toBe(true);

    // Bob's Ack (over Connect) and Reply, on gateway 2, under his handler's span.
    const ack = one(spans, "agentnet.v1.MessagingService/Ack");
    expect(ack).toMatchObject({ kind: SERVER, parentSpanId: handlerSpan });
    expect(ack.attributes["rpc.system"]).toBe("connect_rpc");
    expect(ack.resource["service.instance.id"]).not.toBe(gw1Id);
    const replyCall = one(spans, "agentnet.v1.MessagingService/Reply");
    expect(replyCall).toMatchObject({ kind: SERVER, parentSpanId: handlerSpan });

    // The reply's delivery to Alice, on gateway 1, under the Reply call, and named by the envelope she got.
    const deliverReply = one(spans, "agentnet.deliver", (s) => s.attributes["messaging.message.id"] === reply.messageId);
    expect(deliverReply).toMatchObject({ parentSpanId: replyCall.spanId, spanId: parse(reply.traceparent).spanId });
    expect(deliverReply.resource["service.instance.id"]).toBe(gw1Id);

    await Promise.all([aliceInbox.close(), bobInbox.close()]);
  });

  it("a call without traceparent starts its own trace; an invalid traceparent is ignored, not refused", async () => {
    const admin = await loginAdmin(gw1.url);
    for (const header of [undefined, "not-a-traceparent", `00-${"0".repeat(32)}-${hex(8)}-01`, `00-${hex(16)}-${hex(8)}`]) {
      const user = await createUser(gw1.url, admin, `t-${hex(3)}`);
      const agent = await registerAgent(user, user.username);
      const res = await user.registry.heartbeat({ sessionTag: agent.sessionTag }, header ? { headers: { traceparent: header } } : {});
      expect(res.expiresAt).toBeDefined();
    }
    const roots = await receiver.waitFor(
      (spans) => spans.filter((s) => s.name === "agentnet.v1.RegistryService/Heartbeat"),
      (found) => found.length >= 4,
      "four Heartbeat spans",
    );
    for (const span of roots) {
      expect(span.parentSpanId).toBe("");
      expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(span.traceId).not.toBe("0".repeat(32));
    }
  });
});

describe("trace context through a gateway with tracing off (postgres+nats)", () => {
  let backend: TestBackend;
  let gw: TestGateway;

  beforeAll(async () => {
    backend = await createBackend("postgres+nats");
    gw = await startTestGateway(backend);
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
  });

  it("passes the sender's traceparent to the recipient unchanged, and stores it for history", async () => {
    const admin = await loginAdmin(gw.url);
    const user = await createUser(gw.url, admin, "p-user");
    const from = await registerAgent(user, "p-from");
    const to = await registerAgent(user, "p-to");
    const inbox = stream(user.messaging, to);
    await inbox.ready;
    const tp = traceparent(hex(16), hex(8));
    const sent = await user.messaging.send(
      { asAccountId: from.accountId, to: { target: { case: "accountId", value: to.accountId } }, payload: text("hi") },
      { headers: { traceparent: tp } },
    );
    expect((await inbox.next(1)).traceparent).toBe(tp);
    const history = await user.messaging.getThreadMessages({ threadId: sent.threadId });
    expect(history.messages.map((m) => m.traceparent)).toEqual([tp]);
    await user.messaging.send({
      asAccountId: from.accountId,
      to: { target: { case: "accountId", value: to.accountId } },
      payload: text("untraced"),
    });
    expect((await inbox.next(2)).traceparent).toBe("");
    await inbox.close();
  });
});

describe("tracing configuration", () => {
  const refused = (env: Record<string, string>) => refusal(env)?.message;

  it("reads the standard OTEL_* variables: endpoint, headers, service name, sampler, batch processor", () => {
    expect(readConfig({}).tracing.endpoint).toBeUndefined();
    const t = readConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/",
      OTEL_EXPORTER_OTLP_HEADERS: "api-key=abc%20def,x-tenant=7",
      OTEL_SERVICE_NAME: "edge",
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0.25",
      OTEL_BSP_SCHEDULE_DELAY: "200",
      OTEL_BSP_MAX_QUEUE_SIZE: "100",
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "50",
      OTEL_BSP_EXPORT_TIMEOUT: "2500",
    }).tracing;
    expect(t).toEqual({
      endpoint: "http://collector:4318/v1/traces",
      headers: { "api-key": "abc def", "x-tenant": "7" },
      serviceName: "edge",
      sampler: "parentbased_traceidratio",
      samplerRatio: 0.25,
      scheduleDelayMs: 200,
      maxQueueSize: 100,
      maxExportBatchSize: 50,
      exportTimeoutMs: 2500,
    });
    // The SDK's defaults; a queue smaller than the default batch makes the batch that size.
    expect(readConfig({}).tracing).toMatchObject({ maxQueueSize: 2048, maxExportBatchSize: 512, exportTimeoutMs: 30_000 });
    expect(readConfig({ OTEL_BSP_MAX_QUEUE_SIZE: "100" }).tracing.maxExportBatchSize).toBe(100);
    expect(
      readConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://b/traces" }).tracing.endpoint,
    ).toBe("https://b/traces");
    expect(readConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318", OTEL_SDK_DISABLED: "true" }).tracing.endpoint).toBeUndefined();
    expect(readConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318", OTEL_TRACES_EXPORTER: "none" }).tracing.endpoint).toBeUndefined();
  });

  it("refuses values it cannot honour, naming the variable", () => {
    expect(refused({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" })).toMatch(/OTEL_EXPORTER_OTLP_ENDPOINT/);
    expect(refused({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toMatch(/OTEL_EXPORTER_OTLP_PROTOCOL/);
    expect(refused({ OTEL_TRACES_EXPORTER: "zipkin" })).toMatch(/OTEL_TRACES_EXPORTER/);
    expect(refused({ OTEL_TRACES_SAMPLER: "sometimes" })).toMatch(/OTEL_TRACES_SAMPLER/);
    expect(refused({ OTEL_TRACES_SAMPLER_ARG: "1.5" })).toMatch(/OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1/);
    expect(refused({ OTEL_EXPORTER_OTLP_HEADERS: "novalue" })).toMatch(/OTEL_EXPORTER_OTLP_HEADERS must be key=value/);
    expect(refused({ OTEL_BSP_SCHEDULE_DELAY: "0" })).toMatch(/OTEL_BSP_SCHEDULE_DELAY/);
    expect(refused({ OTEL_BSP_MAX_QUEUE_SIZE: "0" })).toMatch(/OTEL_BSP_MAX_QUEUE_SIZE/);
    expect(refused({ OTEL_BSP_EXPORT_TIMEOUT: "soon" })).toMatch(/OTEL_BSP_EXPORT_TIMEOUT/);
    expect(refused({ OTEL_BSP_MAX_QUEUE_SIZE: "10", OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "20" })).toMatch(
      /OTEL_BSP_MAX_EXPORT_BATCH_SIZE must not exceed OTEL_BSP_MAX_QUEUE_SIZE \(20 > 10\)/,
    );
  });
});
