import { describe, expect, inject, it } from "vitest";
import { pino } from "pino";
import { connectNatsBus } from "../../src/bus/nats.js";
import { startNats } from "./nats.js";
import { waitForPort } from "./ports.js";

const silent = pino({ level: "silent" });

describe("nats-server harness", () => {
  it("starts a server with JetStream on a free port and stops it", async () => {
    const server = await startNats();
    const bus = await connectNatsBus(server.url, { name: "harness-test", logger: silent });
    await bus.flush();
    await bus.close();
    await server.stop();
    await expect(waitForPort(server.port, { timeoutMs: 200 })).rejects.toThrow(/nothing answered/);
    await server.stop(); // idempotent
  });

  it("refuses a port that is taken, naming the problem", async () => {
    const first = await startNats();
    try {
      await expect(startNats({ port: first.port, startTimeoutMs: 5_000 })).rejects.toThrow(/exited|address already in use/i);
    } finally {
      await first.stop();
    }
  });

  it('provides the run-wide server to tests as inject("natsUrl")', async () => {
    const bus = await connectNatsBus(inject("natsUrl"), { name: "harness-test", logger: silent });
    await bus.flush();
    await bus.close();
  });
});
