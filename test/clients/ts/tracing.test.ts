import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Agent, AgentnetClient } from "../../../clients/ts/src/index.js";
import { OtlpReceiver } from "../../support/otlp-receiver.js";
import { type Network, startNetwork } from "./helpers.js";

// The TypeScript SDK continues a message's trace: its handler runs in a span under the delivery's, its Reply and
// Ack carry that span, and its calls carry the application's active span. Without an OpenTelemetry SDK in the
// application the context still travels (the answers continue the delivery's span).

const parentOf = (tp: string) => tp.split("-")[2];

describe("TypeScript SDK and traces (postgres+nats)", () => {
  let receiver: OtlpReceiver;
  let net: Network;
  let alice: AgentnetClient;
  let bob: AgentnetClient;
  let echo: Agent;
  let caller: Agent;
  const seen: string[] = [];

  beforeAll(async () => {
    receiver = await new OtlpReceiver().start();
    net = await startNetwork("postgres+nats", { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: "50" });
    alice = (await net.user("tr-alice")).client();
    bob = (await net.user("tr-bob")).client();
    echo = await bob.register({ username: "tr-echo" });
    echo.onMessage(async (m) => {
      seen.push(m.traceparent);
      if (m.isRequest) await m.replyText(`echo: ${m.text ?? ""}`);
    });
    await echo.ready();
    caller = await alice.register({ username: "tr-caller" });
  });
  afterAll(async () => {
    trace.disable();
    context.disable();
    await net?.close();
    await receiver?.close();
  });

  it("without an OpenTelemetry SDK in the application: the reply and the ack continue the delivery's span", async () => {
    const answer = await caller.askText("@tr-echo", "one");
    expect(answer.text).toBe("echo: one");
    const delivered = seen.at(-1)!;
    const [, traceId, deliverSpan] = delivered.split("-");
    const spans = await receiver.waitForTrace(traceId!, (s) => s.some((x) => x.name.endsWith("/Reply")), "the Reply");
    // The Request call started the trace (no traceparent from the application), the delivery is under it.
    const request = spans.find((s) => s.name === "agentnet.v1.MessagingService/Request")!;
    expect(request.parentSpanId).toBe("");
    expect(spans.find((s) => s.name === "agentnet.deliver")).toMatchObject({ spanId: deliverSpan, parentSpanId: request.spanId });
    expect(spans.find((s) => s.name === "agentnet.v1.MessagingService/Reply")?.parentSpanId).toBe(deliverSpan);

    // A message that is not a request is acked: the outcome's span is in the message's trace, under the delivery.
    await caller.sendText("@tr-echo", "just so you know");
    await expect.poll(() => seen.length, { timeout: 20_000 }).toBe(2);
    const [, ackTrace, ackParent] = seen[1]!.split("-");
    const acked = await receiver.waitForTrace(ackTrace!, (s) => s.some((x) => x.name === "agentnet.settle"), "the ack's settle span");
    expect(acked.find((s) => s.name === "agentnet.settle")).toMatchObject({ parentSpanId: ackParent });
    expect(acked.find((s) => s.name === "agentnet.settle")?.attributes["agentnet.status"]).toBe("processed");
  });

  it("with an OpenTelemetry SDK: the caller's active span is the parent, the handler's span is under the delivery and above the Reply", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(provider);
    const tracer = trace.getTracer("test-app");

    let callerSpanId = "";
    let traceId = "";
    await tracer.startActiveSpan("ask echo", async (span) => {
      callerSpanId = span.spanContext().spanId;
      traceId = span.spanContext().traceId;
      await caller.askText("@tr-echo", "two");
      span.end();
    });
    expect(seen.at(-1)!.split("-")[1]).toBe(traceId);

    const spans = await receiver.waitForTrace(traceId, (s) => s.some((x) => x.name.endsWith("/Reply")), "the Reply");
    const request = spans.find((s) => s.name === "agentnet.v1.MessagingService/Request")!;
    expect(request.parentSpanId).toBe(callerSpanId);
    const deliver = spans.find((s) => s.name === "agentnet.deliver")!;
    expect(deliver.parentSpanId).toBe(request.spanId);
    expect(parentOf(seen.at(-1)!)).toBe(deliver.spanId);

    // The SDK's own span of handling the request, recorded by the application's provider.
    await provider.forceFlush();
    const handling = exporter.getFinishedSpans().find((s) => s.name === "process request");
    expect(handling).toBeDefined();
    expect(handling!.spanContext().traceId).toBe(traceId);
    expect(handling!.parentSpanContext?.spanId).toBe(deliver.spanId);
    expect(handling!.attributes["messaging.message.id"]).toBe(deliver.attributes["messaging.message.id"]);
    const reply = spans.find((s) => s.name === "agentnet.v1.MessagingService/Reply")!;
    expect(reply.parentSpanId).toBe(handling!.spanContext().spanId);
  });
});
