import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryStatus, MessageKind } from "../../gen/agentnet/v1/messaging_pb.js";
import { type TestAgent, type TestUser, createUser, loginAdmin, registerAgent, text, userClients } from "../support/agents.js";
import { expectError } from "../support/errors.js";
import { type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";

// Request/reply wherever the two sides are: a reply stored on the gateway where the Request waits is handed over
// there, one stored elsewhere crosses the bus; Reply works whether or not its gateway pushed the request, and the
// request's recipient is checked either way.
describe("request/reply across gateways (postgres+nats)", () => {
  let backend: TestBackend;
  let gw1: TestGateway;
  let gw2: TestGateway;
  let alice: TestUser;
  let bob: TestUser;
  let bobOnGw2: TestUser;
  let n = 0;

  beforeAll(async () => {
    backend = await createBackend("postgres+nats");
    gw1 = await startTestGateway(backend);
    gw2 = await startTestGateway(backend);
    const admin = await loginAdmin(gw1.url);
    alice = await createUser(gw1.url, admin, "alice");
    bob = await createUser(gw1.url, admin, "bob");
    bobOnGw2 = userClients(gw2.url, "bob", bob.token);
  }, 60_000);
  afterAll(async () => {
    await gw1?.close();
    await gw2?.close();
    await backend?.dispose();
  });

  /**
   * A responder whose stream is on `streamVia`'s gateway and whose Reply calls go through `replyVia`'s; it answers
   * each request with the request's payload back, counted.
   */
  const responder = (agent: TestAgent, streamVia: TestUser, replyVia: TestUser) => {
    const abort = new AbortController();
    let started: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (started = resolve));
    const done = (async () => {
      for await (const item of streamVia.messaging.subscribe(
        { asAccountId: agent.accountId, sessionTag: agent.sessionTag },
        { signal: abort.signal },
      )) {
        if (item.event.case === "started") started();
        if (item.event.case !== "message" || item.event.value.kind !== MessageKind.REQUEST) continue;
        await replyVia.messaging.reply({
          requestMessageId: item.event.value.messageId,
          payload: { echo: item.event.value.payload ?? null },
          sessionTag: agent.sessionTag,
        });
      }
    })().catch(() => undefined);
    return {
      ready,
      stop: async () => {
        abort.abort();
        await done;
      },
    };
  };

  const cases: Array<[string, () => TestUser, () => TestUser, () => TestUser]> = [
    ["requester, stream and reply on one gateway", () => alice, () => bob, () => bob],
    ["stream and reply on the other gateway (the reply crosses the bus)", () => alice, () => bobOnGw2, () => bobOnGw2],
    ["reply through a gateway that did not push the request", () => alice, () => bobOnGw2, () => bob],
  ];
  it.each(cases)("answers every request with its own reply: %s", async (_, requester, stream, replies) => {
    n += 1;
    const s = await registerAgent(requester(), `asker_${n}`);
    const r = await registerAgent(bob, `answerer_${n}`);
    const answering = responder(r, stream(), replies());
    await answering.ready;
    const results = await Promise.all(
      [0, 1, 2].map((i) =>
        s.user.messaging.request({
          asAccountId: s.accountId,
          to: { target: { case: "accountId", value: r.accountId } },
          payload: text(`question ${i}`),
          timeoutMs: 20_000n,
        }),
      ),
    );
    results.forEach((res, i) => {
      expect(res.reply).toMatchObject({ kind: MessageKind.REPLY, parentMessageId: res.requestMessageId, fromAccountId: r.accountId });
      expect(res.reply?.payload).toEqual({ echo: text(`question ${i}`) });
    });
    // Both sides end processed in the store, and nothing else is in the thread: the request answered, the reply
    // taken by its Request call.
    for (const res of results) {
      await expect
        .poll(
          async () => (await s.user.messaging.getThreadMessages({ threadId: res.threadId })).messages.map((m) => [m.kind, m.status]).sort(),
          { timeout: 20_000 },
        )
        .toEqual(
          [
            [MessageKind.REQUEST, DeliveryStatus.PROCESSED],
            [MessageKind.REPLY, DeliveryStatus.PROCESSED],
          ].sort(),
        );
    }
    await answering.stop();
  });

  it("refuses a Reply from anyone but the request's recipient, on the gateway that pushed the request too", async () => {
    n += 1;
    const s = await registerAgent(alice, `asker_${n}`);
    const r = await registerAgent(bob, `answerer_${n}`);
    const abort = new AbortController();
    const pushed = new Promise<string>((resolve, reject) => {
      void (async () => {
        for await (const item of bob.messaging.subscribe(
          { asAccountId: r.accountId, sessionTag: r.sessionTag },
          { signal: abort.signal },
        )) {
          if (item.event.case === "message") resolve(item.event.value.messageId);
        }
      })().catch(reject);
    }).catch(() => "");
    const asking = s.user.messaging.request({
      asAccountId: s.accountId,
      to: { target: { case: "accountId", value: r.accountId } },
      payload: text("only bob may answer"),
      timeoutMs: 20_000n,
    });
    const requestId = await pushed;
    // Alice (the requester's owner) and an outsider try to answer it, through the gateway holding the request.
    const admin = await loginAdmin(gw1.url);
    const mallory = await createUser(gw1.url, admin, `mallory_${n}`);
    await registerAgent(mallory, `mallory_agent_${n}`);
    for (const intruder of [alice, mallory]) {
      await expectError(
        intruder.messaging.reply({ requestMessageId: requestId, payload: { forged: true } }),
        Code.PermissionDenied,
        "not_recipient",
      );
    }
    await bob.messaging.reply({ requestMessageId: requestId, payload: { genuine: true }, sessionTag: r.sessionTag });
    const res = await asking;
    expect(res.reply?.payload).toEqual({ genuine: true });
    abort.abort();
  });
});
