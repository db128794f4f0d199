import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser } from "../../src/auth/users.js";
import { releaseLeases } from "../../src/messaging/release.js";
import { StatusWriter } from "../../src/messaging/writer.js";
import { type Store, openStore } from "../../src/store/database.js";
import { migrateToLatest } from "../../src/store/migrate.js";
import { MODES, type TestBackend, createBackend } from "../support/gateway.js";
import { crossingTheMiddle } from "../support/lock-order.js";
import { type TestAccount, insertAccount, insertMessage } from "../support/messages.js";

// Statements that change many messages at once (an Ack batch, a closing stream's release of what it did not
// ack) run concurrently on the same messages: the bench's closing streams crossed their own last acks. Each
// must lock in message_id order, whatever plan PostgreSQL picks for it, or two of them deadlock (40P01, which
// reached the caller as INTERNAL). The check: while another transaction holds one message, a statement waiting
// for it holds none of the messages after it.
describe.each(MODES)("multi-message changes lock in message_id order (%s)", (mode) => {
  let backend: TestBackend;
  let store: Store;
  let a: TestAccount;
  let b: TestAccount;
  let n = 0;

  beforeAll(async () => {
    backend = await createBackend(mode);
    store = await openStore({ databaseUrl: backend.env["DATABASE_URL"], dataDir: backend.env["AGENTNET_DATA_DIR"]! });
    await migrateToLatest(store);
    const owner = await createUser(store.db, { username: "owner", password: "owner-password", admin: false });
    a = await insertAccount(store.db, owner, "agent_a");
    b = await insertAccount(store.db, owner, "agent_b");
  });
  afterAll(async () => {
    await store?.close();
    await backend?.dispose();
  });

  /** 200 delivered messages stored in the reverse of their id order, changed while the middle one is held. */
  async function crossing<T>(change: (ids: string[]) => Promise<T>): Promise<{ ids: string[]; result: T }> {
    const prefix = `msg_lock_${++n}_`;
    const sorted = Array.from({ length: 200 }, (_, i) => `${prefix}${String(i).padStart(3, "0")}`);
    for (const messageId of [...sorted].reverse()) {
      await insertMessage(store.db, { from: a, to: b, threadId: `thread_lock_${n}`, messageId, status: "delivered" });
    }
    const result = await crossingTheMiddle({ db: store.db, table: "messages", key: "message_id", sorted, change });
    return { ids: sorted, result };
  }

  it("an Ack batch", async () => {
    const writer = new StatusWriter(store.db);
    const { result } = await crossing((ids) =>
      Promise.all(ids.map((messageId) => writer.apply({ messageId, to: "processed", sessionTag: "s1", code: "", detail: "" }))),
    );
    expect(result.map((r) => r.receipt?.status)).toEqual(Array(200).fill("processed"));
  });

  it("a closing stream's release of its unacked messages", async () => {
    const { ids, result } = await crossing((ids) => releaseLeases(store.db, ids));
    expect(result.map((m) => m.messageId).sort()).toEqual(ids);
  });
});
