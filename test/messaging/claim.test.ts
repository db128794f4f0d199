import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryStatus, type Receipt } from "../../gen/agentnet/v1/messaging_pb.js";
import { type TestAgent, createUser, loginAdmin, openInbox, registerAgent } from "../support/agents.js";
import { MODES, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";

// A message sent through the gateway where its recipient streams, while that stream is caught up, is stored already
// delivered to it: one write for storing and delivering, and its receipts still read accepted → delivered →
// processed with the stream's session and attempt 1.
describe.each(MODES)("delivery claimed in the insert (%s)", (mode) => {
  let backend: TestBackend;
  let gw: TestGateway;
  let s: TestAgent;
  let r: TestAgent;
  let db: pg.Client;

  beforeAll(async () => {
    backend = await createBackend(mode);
    gw = await startTestGateway(backend, { AGENTNET_SEND_RATE_PER_SECOND: "1000000", AGENTNET_SEND_RATE_BURST: "1000000" });
    const admin = await loginAdmin(gw.url);
    s = await registerAgent(await createUser(gw.url, admin, "claim_sender"), "claim_sender");
    r = await registerAgent(await createUser(gw.url, admin, "claim_receiver"), "claim_receiver");
    db = new pg.Client({ connectionString: backend.env["DATABASE_URL"] });
    await db.connect();
  }, 60_000);
  afterAll(async () => {
    await db?.end();
    await gw?.close();
    await backend?.dispose();
  });

  /** Rows of `messages` updated so far, once PostgreSQL's statistics stopped moving (they are flushed lazily). */
  const settledUpdateCount = async (atLeast: number): Promise<number> => {
    const read = async () =>
      Number((await db.query<{ n: string }>("select n_tup_upd as n from pg_stat_user_tables where relname = 'messages'")).rows[0]?.n ?? 0);
    let last = -1;
    for (let i = 0; i < 120; i++) {
      const n = await read();
      if (n >= atLeast && n === last) return n;
      last = n;
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    }
    return last;
  };

  it("writes each message once to store and deliver it; its ack is the only update", async () => {
    const COUNT = 40;
    const receipts: Receipt[] = [];
    const abort = new AbortController();
    let synced: () => void = () => undefined;
    const live = new Promise<void>((resolve) => (synced = resolve));
    const watching = (async () => {
      for await (const item of s.user.messaging.watchReceipts({ accountIds: [s.accountId] }, { signal: abort.signal })) {
        if (item.event.case === "synced") synced();
        if (item.event.case === "receipt") receipts.push(item.event.value);
      }
    })().catch(() => undefined);
    await live;
    const inbox = openInbox(r, { autoAck: true });
    try {
      await inbox.pendingAtStart;
      const before = await settledUpdateCount(0);

      // One at a time, then a batch: both find the stream caught up.
      const ids: string[] = [];
      for (let i = 0; i < COUNT / 2; i++) {
        const sent = await s.user.messaging.send({
          asAccountId: s.accountId,
          to: { target: { case: "accountId", value: r.accountId } },
          payload: { i },
        });
        ids.push(sent.messageId);
      }
      const batch = await s.user.messaging.sendBatch({
        messages: Array.from({ length: COUNT / 2 }, (_, k) => ({
          asAccountId: s.accountId,
          to: { target: { case: "accountId" as const, value: r.accountId } },
          payload: { i: COUNT / 2 + k },
        })),
      });
      for (const item of batch.results) ids.push(item.result.case === "sent" ? item.result.value.messageId : "refused");

      const received = await inbox.waitFor(COUNT);
      await inbox.settled();
      expect(received.map((e) => (e.payload as { i: number }).i)).toEqual(Array.from({ length: COUNT }, (_, i) => i));
      expect(received.map((e) => e.deliveryAttempt)).toEqual(received.map(() => 1));
      await expect.poll(() => receipts.filter((x) => x.status === DeliveryStatus.PROCESSED).length, { timeout: 20_000 }).toBe(COUNT);

      for (const id of ids) {
        const own = receipts.filter((x) => x.messageId === id);
        expect(own.map((x) => x.status)).toEqual([DeliveryStatus.ACCEPTED, DeliveryStatus.DELIVERED, DeliveryStatus.PROCESSED]);
        expect(own[1]).toMatchObject({ recipientSessionTag: r.sessionTag, deliveryAttempt: 1 });
      }
      // Storing and delivering is the insert; the acks are the only updates (the usual way writes a delivery too).
      expect((await settledUpdateCount(before + COUNT)) - before).toBe(COUNT);
    } finally {
      abort.abort();
      await watching;
      await inbox.close();
    }
  }, 240_000);

  it("hands an unacked claimed message to the account's next stream when its stream closes", async () => {
    const first = openInbox(r);
    await first.pendingAtStart;
    const sent = await s.user.messaging.send({
      asAccountId: s.accountId,
      to: { target: { case: "accountId", value: r.accountId } },
      payload: { hello: "again" },
    });
    const [pushed] = await first.waitFor(1);
    expect(pushed).toMatchObject({ messageId: sent.messageId, deliveryAttempt: 1 });
    await first.close();
    // Released when the stream ended: the next stream gets it at once, as its second attempt.
    const next = openInbox(r, { autoAck: true });
    const [again] = await next.waitFor(1);
    expect(again).toMatchObject({ messageId: sent.messageId, deliveryAttempt: 2 });
    await next.settled();
    await next.close();
  });
});
