import { afterEach, describe, expect, inject, it } from "vitest";
import { pino } from "pino";
import type { Bus } from "../../src/bus/bus.js";
import { BusError } from "../../src/bus/errors.js";
import { openBus } from "../../src/bus/index.js";
import { connectNatsBus, parseNatsUrl } from "../../src/bus/nats.js";
import { startNats, type NatsServer } from "../harness/nats.js";
import { freePort } from "../harness/ports.js";
import { collect, dec, enc, recordingLogger, until } from "./helpers.js";

const silent = pino({ level: "silent" });

describe("NATS bus", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("reconnects after the server restarts on the same port and keeps its subscriptions", async () => {
    let server: NatsServer = await startNats();
    cleanups.push(() => server.stop());
    const { logger, records } = recordingLogger();
    const bus = await connectNatsBus(server.url, {
      name: "reconnect-test",
      logger,
      reconnectTimeWaitMs: 50,
      reconnectMaxWaitMs: 250,
    });
    cleanups.push(() => bus.close());

    const events = collect(bus, "svc.events");
    bus.subscribe("svc.echo", (m) => void m.respond(enc(`echo:${dec(m.data)}`)), { queue: "echoers" });
    await bus.flush();
    expect(dec((await bus.request("svc.echo", enc("before"), { timeoutMs: 2_000 })).data)).toBe("echo:before");

    await server.stop();
    await until(() => records.some((r) => r.msg === "disconnected from NATS; reconnecting"), 10_000, "disconnect log");
    // While the server is down, requests fail with a bus error rather than hanging.
    await expect(bus.request("svc.echo", enc("during"), { timeoutMs: 200 })).rejects.toBeInstanceOf(BusError);

    server = await startNats({ port: server.port });
    await until(() => records.some((r) => r.msg === "reconnected to NATS"), 15_000, "reconnect log");

    // The subscriptions were replayed: a request is answered and another connection's publish arrives.
    expect(dec((await bus.request("svc.echo", enc("after"), { timeoutMs: 2_000 })).data)).toBe("echo:after");
    const other = await connectNatsBus(server.url, { name: "other", logger: silent });
    cleanups.push(() => other.close());
    other.publish("svc.events", enc("hello again"));
    await until(() => events.msgs.length === 1, 5_000, "event after reconnect");
    expect(events.texts()).toEqual(["hello again"]);
  });

  it("rejects a failing first connection with the URL, without its credentials", async () => {
    const port = await freePort();
    const err = await connectNatsBus(`nats://alice:s3cr3t@127.0.0.1:${port}`, { name: "x", logger: silent }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message).toContain(`nats://127.0.0.1:${port}`);
    expect(message).not.toContain("s3cr3t");
    expect(message).not.toContain("alice");
  });

  it("parses server lists and takes credentials out of the URLs", () => {
    expect(parseNatsUrl("127.0.0.1:4222")).toEqual({ servers: ["nats://127.0.0.1:4222"], display: "nats://127.0.0.1:4222", auth: {} });
    expect(parseNatsUrl("nats://u:p%40ss@a:1, nats://b:2")).toEqual({
      servers: ["nats://a:1", "nats://b:2"],
      display: "nats://a:1,nats://b:2",
      auth: { user: "u", pass: "p@ss" },
    });
    expect(parseNatsUrl("tls://tok@nats.example:4443").auth).toEqual({ token: "tok" });
    expect(() => parseNatsUrl(" , ")).toThrow(/empty/);
  });
});

describe("openBus", () => {
  let bus: Bus | undefined;
  afterEach(async () => {
    await bus?.close();
    bus = undefined;
  });

  it("opens the in-process bus without a NATS URL", async () => {
    bus = await openBus({ name: "test", logger: silent });
    expect(bus.kind).toBe("memory");
    const got = collect(bus, "a.b");
    bus.publish("a.b", enc("x"));
    await until(() => got.msgs.length === 1);
  });

  it("opens NATS with a NATS URL", async () => {
    bus = await openBus({ natsUrl: inject("natsUrl"), name: "test", logger: silent });
    expect(bus.kind).toBe("nats");
  });
});
