import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser } from "../../src/auth/users.js";
import { releaseLeases } from "../../src/messaging/release.js";
import { StatusWriter } from "../../src/messaging/writer.js";
import { type Store, openStore } from "../../src/store/database.js";
import { migrateToLatest } from "../../src/store/migrate.js";
import { MODES, type TestBackend, createBackend } from "../support/gateway.js";
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

  /**
   * 200 delivered messages stored in the reverse of their id order (a plan that visits rows as they lie on disk
   * then meets the highest id first), listed to the statement in storage order. Runs `change` on all of them
   * while another transaction holds the middle one, and returns what `change` returned once that commits.
   */
  async function crossing<T>(change: (ids: string[]) => Promise<T>): Promise<{ ids: string[]; result: T }> {
    const prefix = `msg_lock_${++n}_`;
    const sorted = Array.from({ length: 200 }, (_, i) => `${prefix}${String(i).padStart(3, "0")}`);
    const stored = [...sorted].reverse();
    for (const messageId of stored) {
      await insertMessage(store.db, { from: a, to: b, threadId: `thread_lock_${n}`, messageId, status: "delivered" });
    }
    await sql`analyze messages`.execute(store.db);
    const middle = sorted[100]!;
    const { pending } = await store.db.transaction().execute(async (trx) => {
      await sql`select 1 from messages where message_id = ${middle} for update`.execute(trx);
      const pending = change(stored);
      const waiting = async () =>
        (
          await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
            where wait_event_type = 'Lock' and datname = current_database() and query ilike '%update%messages%'`.execute(store.db)
        ).rows[0]!.n;
      for (const deadline = Date.now() + 20_000; (await waiting()) === 0; ) {
        if (Date.now() > deadline) throw new Error("the statement never waited for the locked message");
        await new Promise((r) => setTimeout(r, 20));
      }
      // NOWAIT fails at once (55P03) if the waiting statement already holds one of these.
      for (const later of sorted.slice(101)) {
        await sql`select 1 from messages where message_id = ${later} for update nowait`.execute(trx);
      }
      // Wrapped: returning the promise itself would make this transaction wait for the statement waiting for it.
      return { pending };
    });
    return { ids: sorted, result: await pending };
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
