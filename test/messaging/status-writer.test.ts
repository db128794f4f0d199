import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser } from "../../src/auth/users.js";
import { StatusWriter, type Transition } from "../../src/messaging/writer.js";
import { type Store, openStore } from "../../src/store/database.js";
import { migrateToLatest } from "../../src/store/migrate.js";
import { MODES, type TestBackend, createBackend } from "../support/gateway.js";
import { type TestAccount, insertAccount, insertMessage } from "../support/messages.js";

// Status changes that arrive together share a flush: deliveries, acks and refusals of many messages, in any mix,
// each answered for itself as if it had come alone.
describe.each(MODES)("status changes in one flush (%s)", (mode) => {
  let backend: TestBackend;
  let store: Store;
  let writer: StatusWriter;
  let owner: { userId: string; username: string };
  let stranger: { userId: string; username: string };
  let a: TestAccount;
  let b: TestAccount;
  let n = 0;

  beforeAll(async () => {
    backend = await createBackend(mode);
    store = await openStore({ databaseUrl: backend.env["DATABASE_URL"], dataDir: backend.env["AGENTNET_DATA_DIR"]! });
    await migrateToLatest(store);
    owner = await createUser(store.db, { username: "owner", password: "owner-password", admin: false });
    stranger = await createUser(store.db, { username: "stranger", password: "stranger-password", admin: false });
    a = await insertAccount(store.db, owner, "agent_a");
    b = await insertAccount(store.db, owner, "agent_b");
    writer = new StatusWriter(store.db);
  });
  afterAll(async () => {
    await store?.close();
    await backend?.dispose();
  });

  const message = () => insertMessage(store.db, { from: a, to: b, threadId: `thread_sw_${++n}` });
  const change = (messageId: string, to: Transition["to"], extra: Partial<Transition> = {}): Transition => ({
    messageId,
    to,
    sessionTag: "s1",
    code: to === "rejected" ? "nope" : "",
    detail: "",
    ...extra,
  });
  /** Submits all in one tick, so they share a flush. */
  const together = (changes: Transition[]) => Promise.all(changes.map((c) => writer.apply(c)));
  const receipts = (messageId: string) =>
    store.db
      .selectFrom("receipts")
      .select(["status", "receipt_id", "delivery_attempt"])
      .where("message_id", "=", messageId)
      .orderBy("receipt_id")
      .execute();

  it("records a delivery and its message's ack sent together in that order: the ack ends the message", async () => {
    const id = await message();
    // The ack is submitted first; the delivery still goes first.
    const [ack, delivery] = await together([change(id, "processed"), change(id, "delivered")]);
    expect(delivery?.receipt?.status).toBe("delivered");
    expect(ack?.receipt?.status).toBe("processed");
    expect(ack?.message?.status).toBe("processed");
    expect((await receipts(id)).map((r) => [r.status, r.delivery_attempt])).toEqual([
      ["accepted", 0],
      ["delivered", 1],
      ["processed", 0],
    ]);
  });

  it("mixes deliveries, acks and refusals of different messages in one flush, each with its own outcome", async () => {
    const ids = await Promise.all(Array.from({ length: 6 }, () => message()));
    // Delivered earlier, so that they can be acked now.
    await together(ids.slice(3).map((id) => change(id, "delivered")));
    const results = await together([
      change(ids[0]!, "delivered"),
      change(ids[1]!, "delivered"),
      change(ids[2]!, "rejected", { detail: "not for me" }),
      change(ids[3]!, "processed"),
      change(ids[4]!, "rejected"),
      change(ids[5]!, "processed", { recipientOwner: stranger.userId }),
    ]);
    expect(results.map((r) => [r.message?.status, r.receipt?.status])).toEqual([
      ["delivered", "delivered"],
      ["delivered", "delivered"],
      ["rejected", "rejected"],
      ["processed", "processed"],
      ["rejected", "rejected"],
      // Not the stranger's to ack: nothing changes.
      ["delivered", undefined],
    ]);
  });

  it("applies the owner's ack even when a stranger's ack of the same message came first in the same flush", async () => {
    const id = await message();
    const results = await together([
      change(id, "delivered"),
      change(id, "processed", { recipientOwner: stranger.userId }),
      change(id, "processed", { recipientOwner: owner.userId }),
    ]);
    expect(results.map((r) => r.receipt?.status)).toEqual(["delivered", undefined, "processed"]);
    expect((await receipts(id)).map((r) => r.status)).toEqual(["accepted", "delivered", "processed"]);
  });

  it("counts a second delivery of the same message in one flush once: the first takes the lease", async () => {
    const id = await message();
    const results = await together([change(id, "delivered", { sessionTag: "s1" }), change(id, "delivered", { sessionTag: "s2" })]);
    expect(results.map((r) => r.receipt?.status)).toEqual(["delivered", undefined]);
    expect(results[1]?.message).toMatchObject({ status: "delivered", deliveryAttempts: 1 });
  });
});
