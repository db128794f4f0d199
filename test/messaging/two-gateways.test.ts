import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryStatus, MessagingService } from "../../gen/agentnet/v1/messaging_pb.js";
import { type TestAgent, createUser, loginAdmin, openInbox, registerAgent, userClients } from "../support/agents.js";
import { client } from "../support/clients.js";
import { type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";

// Two gateways sharing PostgreSQL and NATS: what one accepts, the other delivers, and a gateway going away
// mid-stream loses nothing.
describe("two gateways on PostgreSQL + NATS", () => {
  const TOTAL = 10_000;
  const fast = { AGENTNET_SEND_RATE_PER_SECOND: "1000000", AGENTNET_SEND_RATE_BURST: "1000000", AGENTNET_SHUTDOWN_GRACE_SECONDS: "1" };
  let backend: TestBackend;
  let gw1: TestGateway;
  let gw2: TestGateway;
  let a: TestAgent;
  let b: TestAgent;

  beforeAll(async () => {
    backend = await createBackend("postgres+nats");
    gw1 = await startTestGateway(backend, fast);
    gw2 = await startTestGateway(backend, fast);
    const admin = await loginAdmin(gw1.url);
    const alice = await createUser(gw1.url, admin, "alice");
    const bob = await createUser(gw1.url, admin, "bob");
    a = await registerAgent(alice, "agent_a");
    // B registers through gateway 2 and reads from it.
    b = await registerAgent(userClients(gw2.url, "bob", bob.token), "agent_b");
  }, 60_000);
  afterAll(async () => {
    await gw1?.close();
    await gw2?.close();
    await backend?.dispose();
  });

  // What this test checks is that nothing is lost and redeliveries are absorbed, not how fast: its bounds are
  // minutes (a loaded 2-core machine moves these 10,000 messages far slower than an idle one); throughput is
  // measured by `npm run bench`.
  const MINUTE = 60_000;
  it(
    `exchanges ${TOTAL} messages with none lost or handled twice, across a gateway stopping mid-stream`,
    async () => {
      const handled = new Set<string>();
      let duplicates = 0;
      // B handles what its inbox received (deduping by message id, as a recipient does) and acks it in batches: one
      // Ack per pump tick instead of one per message keeps the test's own CPU use down.
      let inbox = openInbox(b, { maxInFlight: 500 });
      let acking = b.user.messaging;
      let seen = 0;
      const pump = setInterval(() => {
        const ids: string[] = [];
        while (seen < inbox.received.length) {
          const id = inbox.received[seen++]!.messageId;
          if (handled.has(id)) duplicates += 1;
          handled.add(id);
          ids.push(id); // redeliveries are acked again: their first ack may have died with gateway 2
        }
        for (let i = 0; i < ids.length; i += 1000) {
          // A lost ack (gateway 2 going away) only means a redelivery on the next Subscribe.
          void acking.ack({ acks: ids.slice(i, i + 1000).map((messageId) => ({ messageId })) }).catch(() => undefined);
        }
      }, 20);

      // A sends from gateway 1 through SendBatch, 250 messages a call, two calls in flight.
      const started = Date.now();
      const sentIds: string[] = [];
      const sendAll = (async () => {
        const CALL = 250;
        for (let i = 0; i < TOTAL; i += 2 * CALL) {
          const calls = [i, i + CALL]
            .filter((from) => from < TOTAL)
            .map((from) =>
              a.user.messaging.sendBatch({
                messages: Array.from({ length: Math.min(CALL, TOTAL - from) }, (_, j) => ({
                  asAccountId: a.accountId,
                  to: { target: { case: "accountId", value: b.accountId } },
                  payload: { n: from + j },
                })),
              }),
            );
          for (const res of await Promise.all(calls)) {
            for (const r of res.results) {
              if (r.result.case !== "sent") throw new Error(`a send was refused: ${JSON.stringify(r.result.value)}`);
              sentIds.push(r.result.value.messageId);
            }
          }
        }
      })();
      sendAll.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled meanwhile

      try {
        // Mid-stream, gateway 2 goes away; B reconnects through gateway 1.
        await expect.poll(() => handled.size, { timeout: 3 * MINUTE, interval: 100 }).toBeGreaterThan(TOTAL / 4);
        await gw2.close();
        await inbox.close();
        const bOnGw1 = client(MessagingService, gw1.url, b.user.token);
        acking = bOnGw1;
        inbox = openInbox(b, { messaging: bOnGw1, maxInFlight: 500 });
        seen = 0;

        await sendAll;
        expect(new Set(sentIds).size).toBe(TOTAL);
        await expect.poll(() => handled.size, { timeout: 5 * MINUTE, interval: 500 }).toBe(TOTAL);
      } finally {
        clearInterval(pump);
      }
      expect(sentIds.filter((id) => !handled.has(id))).toEqual([]);
      // Every message ends PROCESSED once the acks land (the last batch of acks may still be on its way).
      const processed = async (): Promise<number> => {
        let count = 0;
        let pageToken = "";
        do {
          const page = await a.user.messaging.searchMessages({ fromAccountId: a.accountId, pageSize: 500, pageToken });
          count += page.messages.filter((m) => m.status === DeliveryStatus.PROCESSED).length;
          pageToken = page.nextPageToken;
        } while (pageToken !== "");
        return count;
      };
      await expect.poll(processed, { timeout: MINUTE, interval: 1000 }).toBe(TOTAL);
      console.info(`two gateways: ${TOTAL} messages in ${Date.now() - started} ms, ${duplicates} redeliveries absorbed by dedupe`);
      await inbox.close();
    },
    10 * MINUTE,
  );
});

// A stream's room in flight comes back when its messages are acked through another gateway: that gateway's final
// receipt reaches this one over the bus (the subscription to it is made when a message first goes in flight). The
// sweeps are a minute apart here, so nothing else can free the room within the test's polls.
describe("an ack through the other gateway", () => {
  const slowSweeps = { AGENTNET_SWEEP_INTERVAL_MS: "60000", AGENTNET_REDELIVERY_INTERVAL_MS: "60000" };
  let backend: TestBackend;
  let gw1: TestGateway;
  let gw2: TestGateway;
  afterAll(async () => {
    await gw1?.close();
    await gw2?.close();
    await backend?.dispose();
  });

  it("frees the stream's room at once, for every message in turn", async () => {
    backend = await createBackend("postgres+nats");
    gw1 = await startTestGateway(backend, slowSweeps);
    gw2 = await startTestGateway(backend, slowSweeps);
    const admin = await loginAdmin(gw1.url);
    const alice = await createUser(gw1.url, admin, "alice");
    const bob = await createUser(gw1.url, admin, "bob");
    const a = await registerAgent(alice, "sender_a");
    const b = await registerAgent(userClients(gw2.url, "bob", bob.token), "reader_b");
    // B reads through gateway 2, one message in flight at a time, and acks through gateway 1.
    const inbox = openInbox(b, { maxInFlight: 1 });
    const ackOnGw1 = client(MessagingService, gw1.url, b.user.token);
    try {
      const sent: string[] = [];
      for (let n = 0; n < 3; n++) {
        const res = await a.user.messaging.send({
          asAccountId: a.accountId,
          to: { target: { case: "accountId", value: b.accountId } },
          payload: { n },
        });
        sent.push(res.messageId);
      }
      for (let k = 0; k < sent.length; k++) {
        await expect.poll(() => inbox.received.length, { timeout: 20_000 }).toBe(k + 1);
        expect(inbox.received[k]!.messageId).toBe(sent[k]);
        const [result] = (await ackOnGw1.ack({ acks: [{ messageId: sent[k]! }] })).results;
        expect(result?.ok).toBe(true);
      }
      // Nothing more comes: each message was pushed once.
      expect(inbox.received.map((e) => e.messageId)).toEqual(sent);
    } finally {
      await inbox.close();
    }
  }, 120_000);
});
