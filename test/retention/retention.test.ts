import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser } from "../../src/auth/users.js";
import { type RetentionReport, pruneOnce, Retention } from "../../src/retention/retention.js";
import { type Store, openStore } from "../../src/store/database.js";
import { migrateToLatest } from "../../src/store/migrate.js";
import { MODES, type TestBackend, createBackend } from "../support/gateway.js";
import { type TestAccount, insertAccount, insertMessage } from "../support/messages.js";

const DAY = 86_400_000;
const RETENTION_DAYS = 30;

describe.each(MODES)("thread retention (%s)", (mode) => {
  let backend: TestBackend;
  let store: Store;
  let a: TestAccount;
  let b: TestAccount;
  const daysAgo = (days: number, now = Date.now()) => new Date(now - days * DAY);

  // The store alone, without a gateway: a gateway's own retention job would race these tests.
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

  const counts = async (threadIds: string[]) => {
    const db = store.db;
    const n = async (q: Promise<{ n: number | string | bigint }>) => Number((await q).n);
    return {
      threads: await n(
        db
          .selectFrom("threads")
          .select((eb) => eb.fn.countAll().as("n"))
          .where("thread_id", "in", threadIds)
          .executeTakeFirstOrThrow(),
      ),
      messages: await n(
        db
          .selectFrom("messages")
          .select((eb) => eb.fn.countAll().as("n"))
          .where("thread_id", "in", threadIds)
          .executeTakeFirstOrThrow(),
      ),
      receipts: await n(
        db
          .selectFrom("receipts")
          .select((eb) => eb.fn.countAll().as("n"))
          .where("thread_id", "in", threadIds)
          .executeTakeFirstOrThrow(),
      ),
      participants: await n(
        db
          .selectFrom("thread_participants")
          .select((eb) => eb.fn.countAll().as("n"))
          .where("thread_id", "in", threadIds)
          .executeTakeFirstOrThrow(),
      ),
    };
  };

  it("prunes threads inactive past the retention with their messages, receipts and participants, and keeps fresh ones", async () => {
    for (let i = 0; i < 3; i++) await insertMessage(store.db, { from: a, to: b, threadId: "old_1", sentAt: daysAgo(40 - i), ttlMs: 1000 });
    await insertMessage(store.db, { from: b, to: a, threadId: "old_2", sentAt: daysAgo(31), ttlMs: 1000 });
    await insertMessage(store.db, { from: a, to: b, threadId: "fresh", sentAt: daysAgo(1) });
    // Old messages, but recent activity: the thread stays whole.
    await insertMessage(store.db, { from: a, to: b, threadId: "revived", sentAt: daysAgo(60), ttlMs: 1000 });
    await insertMessage(store.db, { from: b, to: a, threadId: "revived", sentAt: daysAgo(29) });

    const report = await pruneOnce(store.db, new Date(), { threadRetentionDays: RETENTION_DAYS });
    expect(report).toMatchObject({ threads: 2, messages: 4, receipts: 4, participants: 4, batches: 1, more: false });
    expect(await counts(["old_1", "old_2"])).toEqual({ threads: 0, messages: 0, receipts: 0, participants: 0 });
    expect(await counts(["fresh", "revived"])).toEqual({ threads: 2, messages: 3, receipts: 3, participants: 4 });

    // Nothing left to do: a second run is a no-op.
    expect(await pruneOnce(store.db, new Date(), { threadRetentionDays: RETENTION_DAYS })).toMatchObject({ threads: 0, messages: 0 });
  });

  it("keeps a stale thread whose message is still live (TTL longer than the retention)", async () => {
    await insertMessage(store.db, { from: a, to: b, threadId: "slow_mail", sentAt: daysAgo(31), ttlMs: 40 * DAY });
    expect((await pruneOnce(store.db, new Date(), { threadRetentionDays: RETENTION_DAYS })).threads).toBe(0);
    expect((await counts(["slow_mail"])).messages).toBe(1);
    // Once it has expired, the thread goes.
    expect(
      (await pruneOnce(store.db, new Date(Date.now() + 10 * DAY), { threadRetentionDays: RETENTION_DAYS })).threads,
    ).toBeGreaterThanOrEqual(1);
    expect((await counts(["slow_mail"])).threads).toBe(0);
  });

  it("works in bounded batches and says when work is left", async () => {
    const ids = ["batch_1", "batch_2", "batch_3", "batch_4", "batch_5"];
    for (const id of ids) await insertMessage(store.db, { from: a, to: b, threadId: id, sentAt: daysAgo(45), ttlMs: 1000 });
    const limits = { threadRetentionDays: RETENTION_DAYS, batchSize: 2, maxBatches: 2 };
    const first = await pruneOnce(store.db, new Date(), limits);
    expect(first).toMatchObject({ threads: 4, messages: 4, batches: 2, more: true });
    // Oldest activity first; ties in any order. One is left for the next run.
    expect((await counts(ids)).threads).toBe(1);
    const second = await pruneOnce(store.db, new Date(), limits);
    expect(second).toMatchObject({ threads: 1, batches: 1, more: false });
    expect((await counts(ids)).threads).toBe(0);
  });

  it("splits the work between concurrent runs without errors or double counting", async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `concurrent_${i}`);
    for (const id of ids) await insertMessage(store.db, { from: a, to: b, threadId: id, sentAt: daysAgo(35), ttlMs: 1000 });
    const limits = { threadRetentionDays: RETENTION_DAYS, batchSize: 3 };
    const reports: RetentionReport[] = await Promise.all([1, 2, 3].map(() => pruneOnce(store.db, new Date(), limits)));
    expect(reports.reduce((n, r) => n + r.threads, 0)).toBe(12);
    expect(reports.reduce((n, r) => n + r.messages, 0)).toBe(12);
    expect(await counts(ids)).toEqual({ threads: 0, messages: 0, receipts: 0, participants: 0 });
  });

  it("runs as a background job on an interval, logs its counts, and stops", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const logger = pino({ level: "info" }, sink);
    const controller = new AbortController();
    // A clock 40 days ahead: this thread, written "now", is stale to the job.
    const job = new Retention({
      db: store.db,
      logger,
      config: { threadRetentionDays: RETENTION_DAYS, retentionIntervalSeconds: 3600 },
      intervalMs: 50,
      now: () => new Date(Date.now() + 40 * DAY),
    });
    const running = job.run(controller.signal);
    await insertMessage(store.db, { from: a, to: b, threadId: "job_thread", ttlMs: 1000 });
    const deadline = Date.now() + 20_000;
    while ((await counts(["job_thread"])).threads > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    expect((await counts(["job_thread"])).threads).toBe(0);
    const runsBefore = job.runs;
    // It keeps running: wait for the next run instead of assuming one fits in 200 ms on this machine.
    await expect.poll(() => job.runs).toBeGreaterThan(runsBefore);

    controller.abort();
    await running;
    const stoppedAt = job.runs;
    await new Promise((r) => setTimeout(r, 200));
    expect(job.runs).toBe(stoppedAt);

    const pruned = lines.find((l) => typeof l["threads"] === "number" && (l["threads"] as number) > 0);
    expect(pruned).toMatchObject({
      job: "retention",
      messages: expect.any(Number),
      receipts: expect.any(Number),
      participants: expect.any(Number),
    });
    expect(String(pruned?.["msg"])).toContain("retention: pruned");
  });
});
