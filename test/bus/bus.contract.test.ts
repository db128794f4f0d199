import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { pino } from "pino";
import type { Bus, BusMessage } from "../../src/bus/bus.js";
import { BusError, type BusErrorCode } from "../../src/bus/errors.js";
import { MemoryBroker } from "../../src/bus/memory.js";
import { connectNatsBus } from "../../src/bus/nats.js";
import { barrier, collect, dec, enc, uniquePrefix, until } from "./helpers.js";

/**
 * One contract, two buses. Each test gets a "world" (a broker, or the run's nats-server) and opens
 * connections to it; on NATS a fresh subject prefix per test keeps parallel test files apart.
 */
interface World {
  connect(): Promise<Bus>;
}

const silent = pino({ level: "silent" });

const implementations: Array<{ kind: Bus["kind"]; world: () => World }> = [
  {
    kind: "memory",
    world: () => {
      const broker = new MemoryBroker();
      return { connect: async () => broker.connect({ name: "contract", logger: silent }) };
    },
  },
  {
    kind: "nats",
    world: () => ({ connect: () => connectNatsBus(inject("natsUrl"), { name: "contract", logger: silent }) }),
  },
];

async function expectBusError(p: Promise<unknown> | (() => unknown), code: BusErrorCode): Promise<BusError> {
  let caught: unknown;
  try {
    await (typeof p === "function" ? p() : p);
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected BusError ${code}`).toBeInstanceOf(BusError);
  expect((caught as BusError).code).toBe(code);
  return caught as BusError;
}

describe.each(implementations)("$kind bus contract", ({ kind, world }) => {
  let connections: Bus[];
  let connect: () => Promise<Bus>;
  let p: string;

  beforeEach(() => {
    const w = world();
    connections = [];
    connect = async () => {
      const bus = await w.connect();
      connections.push(bus);
      return bus;
    };
    p = uniquePrefix();
  });

  afterEach(async () => {
    await Promise.all(connections.map((c) => c.close()));
  });

  it(`reports kind ${kind}`, async () => {
    expect((await connect()).kind).toBe(kind);
  });

  it("delivers to exact subjects only", async () => {
    const [pub, sub] = [await connect(), await connect()];
    const got = collect(sub, `${p}.a.b`);
    await sub.flush();
    for (const s of [`${p}.a.b`, `${p}.a.c`, `${p}.a`, `${p}.a.b.c`, `${p}.A.b`, `${p}.a.b`]) pub.publish(s, enc(s));
    await barrier(pub, sub, p);
    expect(got.texts()).toEqual([`${p}.a.b`, `${p}.a.b`]);
    expect(got.msgs.every((m) => m.subject === `${p}.a.b`)).toBe(true);
  });

  it("matches '*' to exactly one token", async () => {
    const [pub, sub] = [await connect(), await connect()];
    const got = collect(sub, `${p}.*.b`);
    await sub.flush();
    const yes = [`${p}.x.b`, `${p}.y.b`];
    const no = [`${p}.b`, `${p}.x.c`, `${p}.x.y.b`, `${p}.x.b.c`];
    for (const s of [...no, ...yes]) pub.publish(s, enc(s));
    await barrier(pub, sub, p);
    expect(got.texts()).toEqual(yes);
    // The received subject is the concrete one, not the filter.
    expect(got.msgs.map((m) => m.subject)).toEqual(yes);
  });

  it("matches '>' to one or more trailing tokens", async () => {
    const [pub, sub] = [await connect(), await connect()];
    const got = collect(sub, `${p}.a.>`);
    const mixed = collect(sub, `${p}.*.c.>`);
    await sub.flush();
    const subjects = [`${p}.a`, `${p}.a.b`, `${p}.a.b.c.d`, `${p}.b.c`, `${p}.b.c.d`, `${p}.a.c.e.f`, `${p}`];
    for (const s of subjects) pub.publish(s, enc(s));
    await barrier(pub, sub, p);
    expect(got.texts()).toEqual([`${p}.a.b`, `${p}.a.b.c.d`, `${p}.a.c.e.f`]);
    expect(mixed.texts()).toEqual([`${p}.b.c.d`, `${p}.a.c.e.f`]);
  });

  it("gives a message to every matching subscription, on one connection or several", async () => {
    const [pub, a, b] = [await connect(), await connect(), await connect()];
    const got = [collect(a, `${p}.x`), collect(a, `${p}.*`), collect(a, `${p}.>`), collect(b, `${p}.x`)];
    await Promise.all([a.flush(), b.flush()]);
    pub.publish(`${p}.x`, enc("hello"));
    await until(() => got.every((g) => g.msgs.length === 1), 5_000, "all four subscriptions");
    await barrier(pub, a, p);
    expect(got.map((g) => g.texts())).toEqual([["hello"], ["hello"], ["hello"], ["hello"]]);
  });

  it("gives each message to exactly one member of a queue group, spread over the members", async () => {
    const [pub, a, b] = [await connect(), await connect(), await connect()];
    const workers = [
      collect(a, `${p}.jobs`, { queue: "workers" }),
      collect(a, `${p}.jobs`, { queue: "workers" }),
      collect(b, `${p}.*`, { queue: "workers" }),
    ];
    const auditors = [collect(b, `${p}.jobs`, { queue: "auditors" }), collect(a, `${p}.jobs`, { queue: "auditors" })];
    const plain = [collect(a, `${p}.jobs`), collect(b, `${p}.>`)];
    await Promise.all([a.flush(), b.flush()]);

    const n = 300;
    for (let i = 0; i < n; i++) pub.publish(`${p}.jobs`, enc(String(i)));
    const total = (gs: Array<{ msgs: BusMessage[] }>) => gs.reduce((sum, g) => sum + g.msgs.length, 0);
    await until(() => total(workers) >= n && total(auditors) >= n && plain.every((g) => g.msgs.length >= n), 10_000, "all deliveries");
    await barrier(pub, a, p);
    await barrier(pub, b, p);

    for (const group of [workers, auditors]) {
      const seen = group.flatMap((g) => g.texts()).map(Number);
      expect(seen.length).toBe(n);
      expect(new Set(seen).size).toBe(n);
    }
    // Spread: no member is starved (an even split gives 100 each; random picks stay far above 30).
    for (const w of workers) expect(w.msgs.length).toBeGreaterThan(30);
    for (const w of auditors) expect(w.msgs.length).toBeGreaterThan(50);
    for (const g of plain) expect(g.texts()).toEqual(Array.from({ length: n }, (_, i) => String(i)));
  });

  it("answers a request through reply, with headers both ways", async () => {
    const [client, server] = [await connect(), await connect()];
    let seenRequest: BusMessage | undefined;
    server.subscribe(`${p}.echo`, (m) => {
      seenRequest = m;
      m.respond(enc(`echo:${dec(m.data)}`), { "X-Handled-By": "server-1" });
    });
    await server.flush();
    const reply = await client.request(`${p}.echo`, enc("ping"), { timeoutMs: 5_000, headers: { "X-Trace": "t-1" } });
    expect(dec(reply.data)).toBe("echo:ping");
    expect(reply.headers.get("x-handled-by")).toBe("server-1");
    expect(seenRequest?.reply).toBeTypeOf("string");
    expect(seenRequest?.headers.get("x-trace")).toBe("t-1");

    // Concurrent requests each get their own answer.
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => client.request(`${p}.echo`, enc(String(i)), { timeoutMs: 5_000 })),
    );
    expect(answers.map((a) => dec(a.data))).toEqual(Array.from({ length: 50 }, (_, i) => `echo:${i}`));
  });

  it("serves requests from a queue group, one answer per request", async () => {
    const [client, a, b] = [await connect(), await connect(), await connect()];
    const served = { a: 0, b: 0 };
    a.subscribe(`${p}.svc`, (m) => void (served.a++, m.respond(enc("a"))), { queue: "svc" });
    b.subscribe(`${p}.svc`, (m) => void (served.b++, m.respond(enc("b"))), { queue: "svc" });
    await Promise.all([a.flush(), b.flush()]);
    const replies = await Promise.all(Array.from({ length: 60 }, () => client.request(`${p}.svc`, enc("?"), { timeoutMs: 5_000 })));
    expect(served.a + served.b).toBe(60);
    expect(served.a).toBeGreaterThan(5);
    expect(served.b).toBeGreaterThan(5);
    expect(replies.filter((r) => dec(r.data) === "a").length).toBe(served.a);
  });

  it("reports false from respond() on a message that expects no answer", async () => {
    const bus = await connect();
    let result: boolean | undefined;
    bus.subscribe(`${p}.fire`, (m) => {
      result = m.respond(enc("nobody listens"));
    });
    bus.publish(`${p}.fire`, enc("x"));
    await until(() => result !== undefined);
    expect(result).toBe(false);
  });

  it("times out a request nobody answers", async () => {
    const [client, server] = [await connect(), await connect()];
    server.subscribe(`${p}.silent`, () => {});
    await server.flush();
    const started = Date.now();
    const err = await expectBusError(client.request(`${p}.silent`, enc("hello?"), { timeoutMs: 200 }), "timeout");
    // Not before its timeout; how much later a loaded machine gets to it is not this test's business.
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(err.message).toContain(`${p}.silent`);
  });

  it("fails a request at once when nobody subscribes", async () => {
    const client = await connect();
    // At once is told by the answer: waiting out the timeout would end in 'timeout', not 'no_responders'.
    await expectBusError(client.request(`${p}.nobody`, enc("anyone?"), { timeoutMs: 10_000 }), "no_responders");
  });

  it("carries headers, normalised to lower-case names and trimmed values", async () => {
    const [pub, sub] = [await connect(), await connect()];
    const got = collect(sub, `${p}.h`);
    await sub.flush();
    pub.publish(`${p}.h`, enc("with"), { headers: { "X-Trace-Id": " abc-123 ", "content-type": "application/json" } });
    pub.publish(`${p}.h`, enc("without"));
    await until(() => got.msgs.length === 2);
    const [withHeaders, without] = got.msgs as [BusMessage, BusMessage];
    expect(Object.fromEntries(withHeaders.headers)).toEqual({ "x-trace-id": "abc-123", "content-type": "application/json" });
    expect(without.headers.size).toBe(0);
  });

  it("refuses invalid header names and values", async () => {
    const bus = await connect();
    await expectBusError(() => bus.publish(`${p}.h`, enc(""), { headers: { "bad:name": "x" } }), "invalid_header");
    await expectBusError(() => bus.publish(`${p}.h`, enc(""), { headers: { "bad name": "x" } }), "invalid_header");
    await expectBusError(() => bus.publish(`${p}.h`, enc(""), { headers: { ok: "line\r\nbreak" } }), "invalid_header");
  });

  it("stops delivery on unsubscribe, and unsubscribe is idempotent", async () => {
    const [pub, sub] = [await connect(), await connect()];
    const texts: string[] = [];
    const s = sub.subscribe(`${p}.u`, (m) => void texts.push(dec(m.data)));
    const other = collect(sub, `${p}.u`);
    await sub.flush();
    pub.publish(`${p}.u`, enc("one"));
    await until(() => texts.length === 1);
    s.unsubscribe();
    s.unsubscribe();
    await sub.flush();
    pub.publish(`${p}.u`, enc("two"));
    await barrier(pub, sub, p);
    expect(texts).toEqual(["one"]);
    expect(other.texts()).toEqual(["one", "two"]);
    expect(s.subject).toBe(`${p}.u`);
  });

  it("keeps the publish order for each subscriber", async () => {
    const [pub, sub] = [await connect(), await connect()];
    const remote = collect(sub, `${p}.seq`);
    const local = collect(pub, `${p}.seq`);
    const queued = collect(sub, `${p}.seq`, { queue: "q" });
    await sub.flush();
    const n = 2_000;
    for (let i = 0; i < n; i++) pub.publish(`${p}.seq`, enc(String(i)));
    await until(() => remote.msgs.length === n && local.msgs.length === n && queued.msgs.length === n, 10_000);
    const expected = Array.from({ length: n }, (_, i) => String(i));
    expect(remote.texts()).toEqual(expected);
    expect(local.texts()).toEqual(expected);
    expect(queued.texts()).toEqual(expected);
  });

  it("keeps publishes in order with the connection's other commands: a subscription made after a publish misses it", async () => {
    const bus = await connect();
    bus.publish(`${p}.before`, enc("before"));
    const late = collect(bus, `${p}.before`);
    bus.publish(`${p}.before`, enc("after"));
    // A request made after a publish reaches its responder after it, and the published message is seen first.
    const seen: string[] = [];
    bus.subscribe(`${p}.order`, (m) => {
      seen.push(dec(m.data));
      if (m.reply) m.respond(enc("pong"));
    });
    await bus.flush();
    bus.publish(`${p}.order`, enc("first"));
    const answer = await bus.request(`${p}.order`, enc("second"), { timeoutMs: 5_000 });
    expect(dec(answer.data)).toBe("pong");
    expect(seen).toEqual(["first", "second"]);
    await until(() => late.texts().length >= 1);
    await barrier(bus, bus, p);
    expect(late.texts()).toEqual(["after"]);
  });

  it("never runs a handler inside the publisher’s call stack", async () => {
    const bus = await connect();
    let inPublish = false;
    let ranInside: boolean | undefined;
    bus.subscribe(`${p}.async`, () => {
      ranInside = inPublish;
    });
    inPublish = true;
    bus.publish(`${p}.async`, enc("x"));
    inPublish = false;
    await until(() => ranInside !== undefined);
    expect(ranInside).toBe(false);
  });

  it("keeps delivering after a handler throws or rejects", async () => {
    const bus = await connect();
    const texts: string[] = [];
    bus.subscribe(`${p}.boom`, (m) => {
      const t = dec(m.data);
      texts.push(t);
      if (t === "throw") throw new Error("handler failure (expected by the test)");
      if (t === "reject") return Promise.reject(new Error("async handler failure (expected by the test)"));
      return undefined;
    });
    for (const t of ["throw", "reject", "after"]) bus.publish(`${p}.boom`, enc(t));
    await until(() => texts.length === 3);
    expect(texts).toEqual(["throw", "reject", "after"]);
  });

  it("refuses invalid subjects and queue names", async () => {
    const bus = await connect();
    for (const s of ["", "a..b", ".a", "a.", "a b", "a.*", "*", "a.>", ">", "a.\tb"]) {
      await expectBusError(() => bus.publish(s, enc("x")), "invalid_subject");
      await expectBusError(bus.request(s, enc("x"), { timeoutMs: 100 }), "invalid_subject");
    }
    for (const s of ["", "a..b", "a.>.b", ">.a", "a b"]) {
      await expectBusError(() => bus.subscribe(s, () => {}), "invalid_subject");
    }
    await expectBusError(() => bus.subscribe(`${p}.q`, () => {}, { queue: "has space" }), "invalid_subject");
  });

  it("refuses payloads over the 1 MiB limit NATS applies by default", async () => {
    const bus = await connect();
    const got = collect(bus, `${p}.big`);
    bus.publish(`${p}.big`, new Uint8Array(512 * 1024));
    await expectBusError(() => bus.publish(`${p}.big`, new Uint8Array(2 * 1024 * 1024)), "payload_too_large");
    await until(() => got.msgs.length === 1);
    expect(got.msgs[0]!.data.byteLength).toBe(512 * 1024);
  });

  it("does not let a publisher change a message after publishing it", async () => {
    const bus = await connect();
    const got = collect(bus, `${p}.copy`);
    const buf = enc("original");
    bus.publish(`${p}.copy`, buf);
    buf.fill(0);
    await until(() => got.msgs.length === 1);
    expect(got.texts()).toEqual(["original"]);
  });

  it("delivers what was already published to its own subscriptions before close resolves", async () => {
    const bus = await connect();
    const got = collect(bus, `${p}.drain`);
    for (let i = 0; i < 100; i++) bus.publish(`${p}.drain`, enc(String(i)));
    await bus.close();
    expect(got.msgs.length).toBe(100);
  });

  it("fails with closed after close, and close is idempotent", async () => {
    const bus = await connect();
    const other = await connect();
    other.subscribe(`${p}.echo`, (m) => void m.respond(m.data));
    await other.flush();
    await Promise.all([bus.close(), bus.close()]);
    await bus.close();
    await expectBusError(() => bus.publish(`${p}.x`, enc("x")), "closed");
    await expectBusError(() => bus.subscribe(`${p}.x`, () => {}), "closed");
    await expectBusError(bus.request(`${p}.echo`, enc("x"), { timeoutMs: 1_000 }), "closed");
    await expectBusError(bus.flush(), "closed");
  });
});
