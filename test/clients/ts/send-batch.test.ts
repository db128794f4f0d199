// The SDK's coalesced sends (issue #14): sends that answer once stored go out together as SendBatch calls, and
// each caller still gets what its own Send gave — the same answer, the same typed error, the same retries with the
// same message id. Against a live gateway (counting calls with an interceptor, cutting a connection with a real TCP
// proxy), and against small HTTP/2 Connect servers made here for an older gateway without SendBatch (UNIMPLEMENTED)
// and for a gateway that refuses one item as UNAVAILABLE once.
import http2 from "node:http2";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { type MessageInitShape, create } from "@bufbuild/protobuf";
import { type ConnectRouter, Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DeliveryStatus,
  MessagingService,
  type SendBatchResultSchema,
  type SendRequest,
  SendResponseSchema,
} from "../../../gen/agentnet/v1/messaging_pb.js";
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import {
  type Agent,
  AgentnetError,
  type AgentnetClient,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  TimeoutError,
  connect,
} from "../../../clients/ts/src/index.js";
import { type Network, startNetwork, until } from "./helpers.js";

/** Counts the calls of each MessagingService method a client makes (how many left the client, retries included). */
function callCounter() {
  const calls = { send: 0, sendBatch: 0, batchSizes: [] as number[] };
  const interceptor: Interceptor = (next) => async (req) => {
    if (req.method.name === "Send") calls.send += 1;
    if (req.method.name === "SendBatch") {
      calls.sendBatch += 1;
      calls.batchSizes.push((req.message as unknown as { messages: unknown[] }).messages.length);
    }
    return next(req);
  };
  return { calls, interceptor };
}

/** Everything a caller can see of an error, for comparing the coalesced path with Send's. */
function visible(err: unknown) {
  if (!(err instanceof AgentnetError)) throw new Error(`not an AgentnetError: ${String(err)}`);
  return {
    class: err.constructor.name,
    name: err.name,
    code: err.code,
    message: err.message,
    rawMessage: err.rawMessage,
    reason: err.reason,
    field: err.field,
    info: err.info,
    retryAfterMs: err.retryAfterMs,
    errorInfo: err.findDetails(ErrorInfoSchema),
    badRequest: err.findDetails(BadRequestSchema),
    retryInfo: err.findDetails(RetryInfoSchema),
    detailTypes: err.details.map((d) => ("desc" in d ? d.desc.typeName : d.type)),
  };
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a failure");
}

describe("TypeScript SDK: coalesced sends on a live gateway", () => {
  let network: Network;
  let counter: ReturnType<typeof callCounter>;
  let sender: Agent;
  let plain: Agent; // the same account (another session), coalescing off: what Send itself answers
  let plainCounter: ReturnType<typeof callCounter>;
  let receiver: Agent;
  const received: { id: string; payload: Record<string, unknown> }[] = [];
  const run = Math.random().toString(36).slice(2, 8);

  beforeAll(async () => {
    // The per-sender limit raised: a burst of 200 is what this test sends at once.
    network = await startNetwork("embedded", { AGENTNET_SEND_RATE_PER_SECOND: "1000", AGENTNET_SEND_RATE_BURST: "1000" });
    const alice = await network.user(`tsb${run}_a`);
    counter = callCounter();
    plainCounter = callCounter();
    sender = await alice.client({ interceptors: [counter.interceptor] }).register({ username: `tsb${run}_sender` });
    plain = await alice
      .client({ interceptors: [plainCounter.interceptor], coalesceSends: false })
      .register({ username: `tsb${run}_sender` });
    receiver = await (await network.user(`tsb${run}_b`)).client().register({ username: `tsb${run}_receiver` });
    receiver.onMessage((m) => void received.push({ id: m.messageId, payload: m.payload as Record<string, unknown> }));
    await receiver.ready();
  }, 120_000);
  afterAll(async () => network?.close());

  const reset = () => {
    Object.assign(counter.calls, { send: 0, sendBatch: 0, batchSizes: [] });
    Object.assign(plainCounter.calls, { send: 0, sendBatch: 0, batchSizes: [] });
  };

  it("sends issued together go out as one SendBatch call, answered each, delivered in order", async () => {
    reset();
    const n = 200;
    const answers = await Promise.all(Array.from({ length: n }, (_, i) => sender.send(receiver.username, { i, run })));
    expect(counter.calls).toEqual({ send: 0, sendBatch: 1, batchSizes: [n] });
    for (const a of answers)
      expect(a).toMatchObject({ status: DeliveryStatus.ACCEPTED, toAccountId: receiver.accountId, duplicate: false });
    expect(new Set(answers.map((a) => a.messageId)).size).toBe(n);
    await until(() => received.filter((r) => r.payload["run"] === run).length >= n, 20_000, "all delivered");
    const mine = received.filter((r) => r.payload["run"] === run);
    expect(mine.map((r) => r.payload["i"])).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(mine.map((r) => r.id)).toEqual(answers.map((a) => a.messageId));
  });

  it("sends issued while a batch is on its way go out together in the next one", async () => {
    reset();
    const first = Promise.all([sender.sendText(receiver.username, "a"), sender.sendText(receiver.username, "b")]);
    const nextTurn = () => new Promise((r) => setImmediate(r));
    while (counter.calls.sendBatch === 0) await nextTurn(); // the first batch has left
    const later: Promise<unknown>[] = [];
    for (let i = 0; i < 5; i++) {
      later.push(sender.sendText(receiver.username, `later ${i}`));
      await nextTurn(); // each in a turn of its own: they wait for the batch on its way, not for each other
    }
    await Promise.all([first, ...later]);
    expect(counter.calls.sendBatch).toBe(2);
    expect(counter.calls.batchSizes).toEqual([2, 5]);
  });

  it("a lone send, and a send that waits for its receipt, go out as Send", async () => {
    reset();
    const lone = await sender.sendText(receiver.username, "alone");
    expect(lone.status).toBe(DeliveryStatus.ACCEPTED);
    const waited = await Promise.all([
      sender.sendText(receiver.username, "wait", { waitFor: "processed", waitTimeoutMs: 10_000 }),
      sender.sendText(receiver.username, "wait too", { waitFor: "delivered", waitTimeoutMs: 10_000 }),
    ]);
    expect(waited.map((w) => w.status)).toEqual([DeliveryStatus.PROCESSED, expect.any(Number)]);
    expect(counter.calls).toEqual({ send: 3, sendBatch: 0, batchSizes: [] });
  });

  it("refused items fail their own callers with exactly Send's error, while the others are stored", async () => {
    const bad: Array<[string, Parameters<Agent["send"]>]> = [
      ["unknown recipient", [{ accountId: "acct_does_not_exist" }, { x: 1 }]],
      ["ttl of 0", [receiver.username, { x: 1 }, { ttlMs: 0 }]],
      ["bad message id", [receiver.username, { x: 1 }, { messageId: "not a valid id!" }]],
      ["schema 2", [receiver.username, { x: 1 }, { schemaVersion: "2.0" }]],
      ["expired", [receiver.username, { x: 1 }, { expiresAt: new Date(Date.now() - 60_000) }]],
      ["unknown blob", [receiver.username, { x: 1 }, { blobIds: ["blob_nope"] }]],
      ["too large", [receiver.username, { big: "x".repeat(260_000) }]],
    ];
    // What Send answers for each, one call each (coalescing off).
    reset();
    const expected = [];
    for (const [, args] of bad) expected.push(visible(await failure(plain.send(...args))));
    expect(plainCounter.calls.sendBatch).toBe(0);

    reset();
    const tag = `refusals ${run}`;
    const outcomes = await Promise.allSettled([
      sender.send(receiver.username, { tag, n: 0 }),
      ...bad.map(([, args]) => sender.send(...args)),
      sender.send(receiver.username, { tag, n: 1 }),
    ]);
    // One call for all: SendError carries the ErrorInfo metadata too (blob_id; size_bytes and limit_bytes), so no
    // refusal needs asking again by Send.
    expect(counter.calls).toEqual({ send: 0, sendBatch: 1, batchSizes: [bad.length + 2] });
    expect(outcomes[0]!.status).toBe("fulfilled");
    expect(outcomes.at(-1)!.status).toBe("fulfilled");
    const got = outcomes.slice(1, -1).map((o) => (o.status === "rejected" ? visible(o.reason) : o.value));
    expect(got).toEqual(expected);
    expect(got.map((e) => ("class" in e ? e.class : ""))).toEqual([
      NotFoundError.name,
      InvalidArgumentError.name,
      InvalidArgumentError.name,
      InvalidArgumentError.name,
      "ExpiredError",
      InvalidArgumentError.name,
      InvalidArgumentError.name,
    ]);
    await until(() => received.filter((r) => r.payload["tag"] === tag).length === 2, 10_000, "the two good ones");
  });

  it("a refusal of the whole call for one item (the rules of every request) fails only that item, as Send would", async () => {
    reset();
    const expected = visible(await failure(plain.sendText(receiver.username, "x", { threadId: "nul\u0000inside" })));
    expect(expected.field).toBe("thread_id");
    reset();
    const [good, badOne, alsoGood] = await Promise.allSettled([
      sender.sendText(receiver.username, "fine"),
      sender.sendText(receiver.username, "x", { threadId: "nul\u0000inside" }),
      sender.sendText(receiver.username, "fine too"),
    ]);
    expect(good.status).toBe("fulfilled");
    expect(alsoGood.status).toBe("fulfilled");
    expect(badOne.status === "rejected" && visible(badOne.reason)).toEqual(expected);
    // The batch was refused as a whole, then each message went as Send.
    expect(counter.calls).toEqual({ send: 3, sendBatch: 1, batchSizes: [3] });
  });

  it("a send as an account the caller does not own fails as Send's PERMISSION_DENIED", async () => {
    const expected = visible(await failure(plainSendAs(plain, receiver.accountId)));
    reset();
    const [ok, refused] = await Promise.allSettled([sender.sendText(receiver.username, "mine"), plainSendAs(sender, receiver.accountId)]);
    expect(ok.status).toBe("fulfilled");
    expect(refused.status === "rejected" && visible(refused.reason)).toEqual(expected);
    expect(expected.class).toBe(PermissionDeniedError.name);
    expect(counter.calls.sendBatch).toBe(1);
  });

  it("a caller that gives up (abort, deadline) fails alone and at once; the others are sent", async () => {
    reset();
    const abort = new AbortController();
    abort.abort();
    const aborted = new AbortController();
    const p = Promise.allSettled([
      sender.sendText(receiver.username, "one"),
      sender.sendText(receiver.username, "aborted later", { signal: aborted.signal }),
      sender.sendText(receiver.username, "no time", { timeoutMs: 0 }),
      sender.sendText(receiver.username, "two"),
    ]);
    aborted.abort();
    const [one, later, noTime, two] = await p;
    expect(one.status).toBe("fulfilled");
    expect(two.status).toBe("fulfilled");
    expect(later.status === "rejected" && visible(later.reason)).toMatchObject({ code: Code.Canceled });
    expect(noTime.status === "rejected" && noTime.reason).toBeInstanceOf(TimeoutError);
    // Already aborted before sending: as Send, at once.
    expect(visible(await failure(sender.sendText(receiver.username, "never", { signal: abort.signal })))).toMatchObject({
      code: Code.Canceled,
    });
  });

  it("a batch whose connection is cut is sent again whole, with the same message ids: each message arrives once", async () => {
    const p = await cuttingProxy(network.gw.port);
    const { calls, interceptor } = callCounter();
    const client = connect({ url: p.url, token: (await network.user(`tsb${run}_c`)).token, interceptors: [interceptor] });
    try {
      const agent = await client.register({ username: `tsb${run}_cut` });
      const tag = `cut ${run}`;
      p.state.cutNext = true;
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => agent.send(receiver.username, { tag, i })));
      expect(p.state.cuts).toBe(1);
      expect(calls.sendBatch).toBe(2); // the cut one, and its retry on a new connection
      expect(p.state.connections).toBeGreaterThanOrEqual(2);
      await until(() => received.filter((r) => r.payload["tag"] === tag).length >= 10, 10_000, "all ten");
      await new Promise((r) => setTimeout(r, 300));
      const mine = received.filter((r) => r.payload["tag"] === tag);
      expect(mine.map((r) => r.id).sort()).toEqual(answers.map((a) => a.messageId).sort());
    } finally {
      await client.close();
      p.close();
    }
  });
});

/** Sends as an account of another user: refused PERMISSION_DENIED `not_account_owner`. */
async function plainSendAs(agent: Agent, accountId: string) {
  const actor = Object.create(agent, { accountId: { value: accountId } }) as Agent;
  return actor.sendText({ accountId }, "not yours");
}

/** A TCP proxy that cuts the connection (both ways) when the next request carrying an SDK message id goes by. */
function cuttingProxy(upstreamPort: number) {
  const state = { connections: 0, cuts: 0, cutNext: false };
  const server = net.createServer((client) => {
    state.connections += 1;
    const up = net.connect(upstreamPort, "127.0.0.1");
    const cut = () => (client.destroy(), up.destroy());
    client.on("data", (data: Buffer) => {
      if (state.cutNext && /m_[0-9a-f]{8}-/.test(data.toString("latin1"))) {
        state.cutNext = false;
        state.cuts += 1;
        return cut();
      }
      up.write(data);
    });
    up.on("data", (data: Buffer) => client.write(data));
    client.on("error", cut).on("close", cut);
    up.on("error", cut).on("close", cut);
  });
  return new Promise<{ url: string; state: typeof state; close: () => void }>((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, state, close: () => server.close() }),
    ),
  );
}

/** An HTTP/2 Connect server of MessagingService with only the methods given (the rest answer UNIMPLEMENTED). */
async function fakeGateway(routes: (router: ConnectRouter) => void) {
  const server = http2.createServer(connectNodeAdapter({ routes }));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const stored = (req: SendRequest, duplicate = false) =>
  create(SendResponseSchema, { messageId: req.messageId, threadId: `thread_${req.messageId}`, status: DeliveryStatus.ACCEPTED, duplicate });

describe("TypeScript SDK: coalesced sends against other gateways", () => {
  const clients: AgentnetClient[] = [];
  afterAll(async () => Promise.all(clients.map((c) => c.close())));

  it("falls back to Send for good when the gateway has no SendBatch (UNIMPLEMENTED)", async () => {
    const seen: string[] = [];
    const gw = await fakeGateway((router) =>
      router.service(MessagingService, {
        send(req) {
          seen.push((req.payload as { i: number }).i.toString());
          return stored(req);
        },
      }),
    );
    const { calls, interceptor } = callCounter();
    const client = connect({ url: gw.url, token: "t", interceptors: [interceptor] });
    clients.push(client);
    try {
      const first = await Promise.all(Array.from({ length: 5 }, (_, i) => client.send({ accountId: "acct_x" }, { i })));
      expect(first.map((r) => r.status)).toEqual(Array(5).fill(DeliveryStatus.ACCEPTED));
      expect(calls).toEqual({ send: 5, sendBatch: 1, batchSizes: [5] });
      const again = await Promise.all(Array.from({ length: 3 }, (_, i) => client.send({ accountId: "acct_x" }, { i: 10 + i })));
      expect(again).toHaveLength(3);
      expect(calls.sendBatch).toBe(1); // never asked again
      expect(calls.send).toBe(8);
      expect(seen.sort()).toEqual(["0", "1", "10", "11", "12", "2", "3", "4"]);
    } finally {
      await gw.close();
    }
  }, 30_000);

  it("retries an item refused UNAVAILABLE with its message id, and a whole call that failed UNAVAILABLE", async () => {
    const batches: string[][] = [];
    let failCall = true;
    const refusedOnce = new Set<string>();
    const sends: string[] = [];
    const gw = await fakeGateway((router) =>
      router.service(MessagingService, {
        send(req) {
          sends.push(req.messageId);
          return stored(req, true);
        },
        sendBatch(req) {
          batches.push(req.messages.map((m) => m.messageId));
          if (failCall) {
            failCall = false;
            throw new ConnectError("the gateway is shutting down; retry", Code.Unavailable);
          }
          return {
            results: req.messages.map((m): MessageInitShape<typeof SendBatchResultSchema> => {
              const flaky = (m.payload as { flaky?: boolean }).flaky === true;
              if (flaky && !refusedOnce.has(m.messageId)) {
                refusedOnce.add(m.messageId);
                return {
                  result: {
                    case: "error",
                    value: { code: "UNAVAILABLE", reason: "database_unavailable", message: "retry", retryAfterMs: 50n },
                  },
                };
              }
              return { result: { case: "sent", value: stored(m) } };
            }),
          };
        },
      }),
    );
    const { calls, interceptor } = callCounter();
    const client = connect({ url: gw.url, token: "t", interceptors: [interceptor] });
    clients.push(client);
    try {
      const answers = await Promise.all([
        client.send({ accountId: "acct_x" }, { i: 0 }),
        client.send({ accountId: "acct_x" }, { i: 1, flaky: true }),
        client.send({ accountId: "acct_x" }, { i: 2 }),
      ]);
      // Call 1 failed as a whole; call 2 carried the same three ids and refused the flaky one; it went again alone,
      // as a Send (a lone send), with its id.
      expect(batches).toHaveLength(2);
      expect(batches[1]).toEqual(batches[0]);
      expect(calls.send).toBe(1);
      expect(sends).toEqual([batches[0]![1]]);
      expect(answers.map((a) => a.messageId)).toEqual(batches[0]);
      expect(answers.map((a) => a.duplicate)).toEqual([false, true, false]);
    } finally {
      await gw.close();
    }
  }, 30_000);
});
