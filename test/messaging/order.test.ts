import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestAgent, createUser, loginAdmin, openInbox, registerAgent } from "../support/agents.js";
import { MODES, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";

// One sender, one recipient: messages reach the recipient's stream in the order they were stored, also when the
// stream was full for a while and new messages arrive while the older ones still wait in the store.
describe.each(MODES)("delivery order (%s)", (mode) => {
  let backend: TestBackend;
  let gw: TestGateway;
  let s: TestAgent;
  let r: TestAgent;

  beforeAll(async () => {
    backend = await createBackend(mode);
    gw = await startTestGateway(backend, { AGENTNET_SEND_RATE_PER_SECOND: "1000000", AGENTNET_SEND_RATE_BURST: "1000000" });
    const admin = await loginAdmin(gw.url);
    s = await registerAgent(await createUser(gw.url, admin, "sender"), "orderly_sender");
    r = await registerAgent(await createUser(gw.url, admin, "receiver"), "orderly_receiver");
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
  });

  const batch = (from: number, count: number) =>
    s.user.messaging.sendBatch({
      messages: Array.from({ length: count }, (_, k) => ({
        asAccountId: s.accountId,
        to: { target: { case: "accountId" as const, value: r.accountId } },
        payload: { i: from + k },
      })),
    });

  it("keeps the store's order when live messages arrive while older ones wait for room", async () => {
    const TOTAL = 400;
    const inbox = openInbox(r, { maxInFlight: 10 });
    await inbox.pendingAtStart;
    // 100 stored while the stream holds 10: 90 wait in the store.
    await batch(0, 100);
    await inbox.waitFor(10);
    // Ack as messages come (room opens a few at a time) while more are sent in small batches: new ones keep
    // arriving while older ones still wait in the store.
    let acked = 0;
    const acking = (async () => {
      while (acked < TOTAL) {
        await inbox.waitFor(acked + 1, 60_000);
        const ids = inbox.received.slice(acked).map((m) => m.messageId);
        acked += ids.length;
        await r.user.messaging.ack({ acks: ids.map((messageId) => ({ messageId })) });
      }
    })();
    for (let from = 100; from < TOTAL; from += 5) await batch(from, 5);
    await acking;
    const order = inbox.received.map((m) => (m.payload as { i: number }).i);
    const first = order.findIndex((i, k) => i !== k);
    expect(first === -1 ? "in order" : `out of order from ${first}: ${order.slice(Math.max(0, first - 2), first + 4).join(", ")}`).toBe(
      "in order",
    );
    expect(order.length).toBe(TOTAL);
    await inbox.close();
  });
});
