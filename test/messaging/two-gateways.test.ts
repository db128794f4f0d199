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

  it(`exchanges ${TOTAL} messages with none lost or handled twice, across a gateway stopping mid-stream`, async () => {
    const handled = new Set<string>();
    let duplicates = 0;
    const onMessage = (messaging: typeof b.user.messaging) => (id: string) => {
      if (handled.has(id)) duplicates += 1; // the recipient's dedupe by message id
      handled.add(id);
      void messaging.ack({ acks: [{ messageId: id }] }).catch(() => undefined);
    };

    // B consumes on gateway 2.
    let inbox = openInbox(b);
    let ackOn = onMessage(b.user.messaging);
    let seen = 0;
    const pump = setInterval(() => {
      while (seen < inbox.received.length) ackOn(inbox.received[seen++]!.messageId);
    }, 5);

    // A sends from gateway 1, 200 at a time.
    const sentIds: string[] = [];
    const sendAll = (async () => {
      for (let i = 0; i < TOTAL; i += 200) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(200, TOTAL - i) }, (_, j) =>
            a.user.messaging.send({ asAccountId: a.accountId, to: { target: { case: "accountId", value: b.accountId } }, payload: { n: i + j } }),
          ),
        );
        for (const r of batch) sentIds.push(r.messageId);
      }
    })();

    // Mid-stream, gateway 2 goes away; B reconnects through gateway 1.
    await expect.poll(() => handled.size, { timeout: 30_000 }).toBeGreaterThan(TOTAL / 4);
    await gw2.close();
    await inbox.close();
    const bOnGw1 = client(MessagingService, gw1.url, b.user.token);
    inbox = openInbox(b, { messaging: bOnGw1 });
    seen = 0;
    ackOn = onMessage(bOnGw1);

    await sendAll;
    await expect.poll(() => handled.size, { timeout: 60_000, interval: 200 }).toBe(TOTAL);
    clearInterval(pump);
    expect(new Set(sentIds).size).toBe(TOTAL);
    for (const id of sentIds) expect(handled.has(id)).toBe(true);
    // Every message ends PROCESSED once the acks land.
    await expect
      .poll(async () => {
        const page = await a.user.messaging.searchMessages({ fromAccountId: a.accountId, pageSize: 1 }).catch(() => undefined);
        return page === undefined || page.messages[0]?.status === DeliveryStatus.PROCESSED;
      })
      .toBe(true);
    console.info(`two gateways: ${TOTAL} messages, ${duplicates} redeliveries absorbed by dedupe`);
    await inbox.close();
  }, 180_000);
});
