import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { gatewayLogger } from "../../src/cli/logger.js";

// `npm start` on a terminal prints lines a person reads; piped or in a container, JSON lines a log shipper reads.

function terminal(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => {
    text += chunk.toString("utf8");
  });
  Object.assign(stream, { isTTY, hasColors: () => false });
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
}

async function logOnce(format: "auto" | "json" | "pretty", isTTY: boolean): Promise<string> {
  const out = terminal(isTTY);
  const logger = gatewayLogger({ logLevel: "info", logFormat: format }, out.stream);
  logger.info({ method: "agentnet.v1.RegistryService/Heartbeat", code: "ok", ms: 1.2 }, "rpc");
  logger.debug("below the level");
  await new Promise((r) => setImmediate(r));
  return out.text();
}

describe("the gateway's log lines", () => {
  it("are pretty on a terminal: level, message and fields on one line, no JSON", async () => {
    const text = await logOnce("auto", true);
    expect(text).toMatch(/INFO.*rpc/);
    expect(text).toContain("method");
    expect(text).toContain("agentnet.v1.RegistryService/Heartbeat");
    expect(text).not.toContain("below the level");
    expect(() => JSON.parse(text)).toThrow();
    expect(text.trim().split("\n")).toHaveLength(1);
  });

  it("are JSON when stdout is not a terminal, or when AGENTNET_LOG_FORMAT=json", async () => {
    for (const text of [await logOnce("auto", false), await logOnce("json", true)]) {
      const line = JSON.parse(text.trim()) as Record<string, unknown>;
      expect(line).toMatchObject({
        level: 30,
        msg: "rpc",
        code: "ok",
        service: "agentnet",
        method: "agentnet.v1.RegistryService/Heartbeat",
      });
    }
  });

  it("are pretty when AGENTNET_LOG_FORMAT=pretty even into a pipe", async () => {
    const text = await logOnce("pretty", false);
    expect(text).toMatch(/INFO.*rpc/);
    expect(() => JSON.parse(text)).toThrow();
  });
});

describe("an RPC's log line", () => {
  it("carries the call's W3C trace id when the call has a trace context, and none otherwise", async () => {
    const { recordRpc } = await import("../../src/server/interceptors.js");
    const { Metrics } = await import("../../src/metrics/index.js");
    const out = terminal(false);
    const logger = gatewayLogger({ logLevel: "info", logFormat: "json" }, out.stream);
    const metrics = new Metrics().rpc;
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const call = {
      method: "agentnet.v1.MessagingService/Send",
      started: performance.now(),
      streaming: false,
      span: undefined,
      principal: "ada",
      client: "",
    };
    recordRpc(logger, metrics, { ...call, traceparent: `00-${traceId}-00f067aa0ba902b7-01` }, undefined);
    recordRpc(logger, metrics, { ...call, traceparent: "" }, undefined);
    await new Promise((r) => setImmediate(r));
    const [traced, untraced] = out
      .text()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(traced).toMatchObject({ msg: "rpc", trace: traceId, principal: "ada" });
    expect(untraced).not.toHaveProperty("trace");
  });
});
