import { create } from "@bufbuild/protobuf";
import { TimestampSchema, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, type Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import { DeliveryStatus, MessageKind, MessagingService } from "../../gen/agentnet/v1/messaging_pb.js";
import { encodePageToken } from "../../src/paging/page-token.js";
import { type Protocol, client } from "../support/clients.js";
import { expectError, fieldOf } from "../support/errors.js";
import { ADMIN_PASSWORD, MODES, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";
import { type TestAccount, type TestUser, createTestUser, insertAccount, insertMessage } from "../support/messages.js";

describe.each(MODES)("thread history (%s)", (mode) => {
  let backend: TestBackend;
  let gw: TestGateway;
  let adminToken: string;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let aliceBot: TestAccount;
  let bobBot: TestAccount;
  let carolBot: TestAccount;
  const messaging = (token: string, protocol: Protocol = "grpc"): Client<typeof MessagingService> =>
    client(MessagingService, gw.url, token, protocol);
  // Fixed times an hour ago, one second apart, so ordering and time filters are exact.
  const base = Date.now() - 3_600_000;
  const at = (second: number) => new Date(base + second * 1000);

  // Threads: "paging_5" (alice→bob ×5), "mixed" (bob→alice, alice→bob, checkpoints, statuses), "carol_only".
  const pagingIds: string[] = [];

  beforeAll(async () => {
    backend = await createBackend(mode);
    gw = await startTestGateway(backend);
    adminToken = (await client(AuthService, gw.url).login({ username: "admin", password: ADMIN_PASSWORD })).accessToken;
    alice = await createTestUser(gw.url, adminToken, "alice");
    bob = await createTestUser(gw.url, adminToken, "bob");
    carol = await createTestUser(gw.url, adminToken, "carol");
    const db = gw.store.db;
    aliceBot = await insertAccount(db, alice, "alice_bot");
    bobBot = await insertAccount(db, bob, "bob_bot");
    carolBot = await insertAccount(db, carol, "carol_bot");

    for (let i = 0; i < 5; i++) {
      pagingIds.push(
        await insertMessage(db, { from: aliceBot, to: bobBot, threadId: "paging_5", sentAt: at(i), payload: { text: `m${i}` } }),
      );
    }
    await insertMessage(db, {
      from: bobBot,
      to: aliceBot,
      threadId: "mixed",
      sentAt: at(10),
      kind: "request",
      traceId: "trace_x",
      payload: { text: "abcdefg" },
      status: "processed",
    });
    await insertMessage(db, {
      from: aliceBot,
      to: bobBot,
      threadId: "mixed",
      sentAt: at(11),
      kind: "reply",
      traceId: "trace_x",
      payload: { type: "checkpoint", end: "msg_1" },
    });
    await insertMessage(db, {
      from: aliceBot,
      to: bobBot,
      threadId: "mixed",
      sentAt: at(12),
      payload: { type: "checkpoint", end: 42 },
      status: "delivered",
    });
    await insertMessage(db, { from: aliceBot, to: bobBot, threadId: "mixed", sentAt: at(13), payload: { text: "é" }, status: "rejected" });
    // Accepted but past its TTL: not pending any more, even before the expiry sweep writes its receipt.
    await insertMessage(db, { from: bobBot, to: aliceBot, threadId: "mixed", sentAt: at(14), ttlMs: 1000, payload: { text: "late" } });
    await insertMessage(db, { from: carolBot, to: carolBot, threadId: "carol_only", sentAt: at(20), payload: { text: "note to self" } });
  });
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
  });

  it("pages 5 messages by 2 as 2 + 2 + 1, newest first, then an empty cursor", async () => {
    for (const protocol of ["grpc", "connect"] as const) {
      const m = messaging(alice.token, protocol);
      const p1 = await m.getThreadMessages({ threadId: "paging_5", pageSize: 2 });
      const p2 = await m.getThreadMessages({ threadId: "paging_5", pageSize: 2, pageToken: p1.nextPageToken });
      const p3 = await m.getThreadMessages({ threadId: "paging_5", pageSize: 2, pageToken: p2.nextPageToken });
      expect([p1.messages.length, p2.messages.length, p3.messages.length]).toEqual([2, 2, 1]);
      expect(p1.nextPageToken).not.toBe("");
      expect(p2.nextPageToken).not.toBe("");
      expect(p3.nextPageToken).toBe("");
      const ids = [...p1.messages, ...p2.messages, ...p3.messages].map((e) => e.messageId);
      expect(ids).toEqual([...pagingIds].reverse());
      const newest = p1.messages[0]!;
      expect(newest).toMatchObject({
        threadId: "paging_5",
        kind: MessageKind.DIRECT,
        fromAccountId: aliceBot.accountId,
        fromUsername: "alice_bot",
        toAccountId: bobBot.accountId,
        toUsername: "bob_bot",
        payload: { text: "m4" },
        status: DeliveryStatus.ACCEPTED,
        deliveryAttempt: 0,
      });
      expect(newest.to?.target).toEqual({ case: "accountId", value: bobBot.accountId });
      expect(timestampDate(newest.sentAt!).getTime()).toBe(at(4).getTime());
    }
    // The recipient's owner reads it too; the default page holds all five.
    expect((await messaging(bob.token).getThreadMessages({ threadId: "paging_5" })).messages).toHaveLength(5);
  });

  it("refuses a malformed cursor instead of starting over", async () => {
    const m = messaging(alice.token);
    const bad = [
      "garbage!!",
      "e30", // "{}": no listing tag
      encodePageToken("threads", { u: 1, t: "x" }), // another listing's token
      encodePageToken("thread_messages", { t: "mixed", s: 3 }), // another thread's cursor
      encodePageToken("thread_messages", { t: "paging_5", s: "3" }), // wrong type
      encodePageToken("thread_messages", { t: "paging_5", s: -1 }),
    ];
    for (const pageToken of bad) {
      const err = await expectError(
        m.getThreadMessages({ threadId: "paging_5", pageSize: 2, pageToken }),
        Code.InvalidArgument,
        "invalid_page_token",
      );
      expect(fieldOf(err)).toBe("page_token");
    }
    await expectError(m.listThreads({ pageToken: "garbage!!" }), Code.InvalidArgument, "invalid_page_token");
    await expectError(m.searchMessages({ pageToken: "garbage!!" }), Code.InvalidArgument, "invalid_page_token");
    await expectError(m.getThreadMessages({ threadId: "paging_5", pageSize: -1 }), Code.InvalidArgument);
  });

  it("answers NOT_FOUND for threads the caller is not in, and for unknown ones", async () => {
    const calls = [
      () => messaging(carol.token).getThreadMessages({ threadId: "paging_5" }),
      () => messaging(carol.token).getThreadStatus({ threadId: "paging_5" }),
      () => messaging(alice.token).getThreadMessages({ threadId: "carol_only" }),
      () => messaging(alice.token).getThreadStatus({ threadId: "no_such_thread" }),
      () => messaging(alice.token).getThreadMessages({ threadId: "no_such_thread" }),
    ];
    for (const call of calls) await expectError(call(), Code.NotFound, "thread_not_found");
    // Admins read every thread.
    expect((await messaging(adminToken).getThreadMessages({ threadId: "carol_only" })).messages).toHaveLength(1);
  });

  it("reports a thread's counters, pending messages, checkpoint and participants", async () => {
    const status = await messaging(bob.token).getThreadStatus({ threadId: "mixed" });
    const payloads = [
      { text: "abcdefg" },
      { type: "checkpoint", end: "msg_1" },
      { type: "checkpoint", end: 42 },
      { text: "é" },
      { text: "late" },
    ];
    const chars = payloads.reduce((n, p) => n + JSON.stringify(p).length, 0);
    const bytes = payloads.reduce((n, p) => n + Buffer.byteLength(JSON.stringify(p)), 0);
    expect(bytes).toBe(chars + 1); // "é" is two bytes, one character
    expect(status).toMatchObject({
      threadId: "mixed",
      messageCount: 5n,
      // The accepted reply and the delivered checkpoint; processed, rejected and the one past its TTL are done.
      pendingMessages: 2n,
      byteCount: BigInt(bytes),
      approxTokens: BigInt(Math.ceil(chars / 4)),
      latestCheckpointEnd: "42",
      status: "ok",
    });
    expect(timestampDate(status.createdAt!).getTime()).toBe(at(10).getTime());
    expect(timestampDate(status.lastMessageAt!).getTime()).toBe(at(14).getTime());
    expect(status.participants.map((p) => [p.accountId, p.username])).toEqual([
      [aliceBot.accountId, "alice_bot"],
      [bobBot.accountId, "bob_bot"],
    ]);
  });

  it("lists readable threads, newest activity first, with filters and paging", async () => {
    const names = async (token: string, req: Parameters<Client<typeof MessagingService>["listThreads"]>[0] = {}) =>
      (await messaging(token).listThreads(req)).threads.map((t) => t.threadId);
    expect(await names(alice.token)).toEqual(["mixed", "paging_5"]);
    expect(await names(carol.token)).toEqual(["carol_only"]);
    expect(await names(adminToken)).toEqual(["carol_only", "mixed", "paging_5"]);
    expect(await names(adminToken, { participantUsername: "@Bob_Bot" })).toEqual(["mixed", "paging_5"]);
    expect(await names(adminToken, { participantAccountId: carolBot.accountId })).toEqual(["carol_only"]);
    expect(await names(alice.token, { participantAccountId: carolBot.accountId })).toEqual([]);
    expect(await names(adminToken, { participantUsername: "nobody" })).toEqual([]);
    expect(await names(adminToken, { query: "GING" })).toEqual(["paging_5"]);
    expect(await names(adminToken, { query: "_" })).toEqual(["carol_only", "paging_5"]);

    const first = await messaging(adminToken).listThreads({ pageSize: 2 });
    const second = await messaging(adminToken).listThreads({ pageSize: 2, pageToken: first.nextPageToken });
    expect(first.threads.map((t) => t.threadId)).toEqual(["carol_only", "mixed"]);
    expect(second.threads.map((t) => t.threadId)).toEqual(["paging_5"]);
    expect(second.nextPageToken).toBe("");

    const paging = (await messaging(alice.token).listThreads({ query: "paging" })).threads[0]!;
    expect(paging).toMatchObject({ messageCount: 5n, lastMessageId: pagingIds[4], chatSessionId: "" });
    expect(paging.participants.map((p) => p.username)).toEqual(["alice_bot", "bob_bot"]);
    expect(paging.byteCount).toBe(BigInt(5 * JSON.stringify({ text: "m0" }).length));
    expect(paging.approxTokens).toBe(BigInt(Math.ceil((5 * JSON.stringify({ text: "m0" }).length) / 4)));
  });

  it("searches messages by thread, sender, recipient, kind, trace and time", async () => {
    const search = async (req: Parameters<Client<typeof MessagingService>["searchMessages"]>[0], token = alice.token) =>
      (await messaging(token).searchMessages(req)).messages.map((e) => e.payload);
    expect(await search({ threadId: "mixed", kind: MessageKind.REQUEST })).toEqual([{ text: "abcdefg" }]);
    expect(await search({ traceId: "trace_x" })).toHaveLength(2);
    expect(await search({ fromUsername: "bob_bot" })).toEqual([{ text: "late" }, { text: "abcdefg" }]);
    expect(await search({ fromAccountId: bobBot.accountId, fromUsername: "alice_bot" })).toEqual([]);
    expect(await search({ toAccountId: aliceBot.accountId })).toEqual([{ text: "late" }, { text: "abcdefg" }]);
    expect(await search({ toUsername: "BOB_BOT", threadId: "paging_5" })).toHaveLength(5);
    // since is inclusive, until exclusive.
    expect(await search({ since: timestampFromDate(at(1)), until: timestampFromDate(at(3)) })).toEqual([{ text: "m2" }, { text: "m1" }]);
    // Only messages of threads the caller may read.
    expect(await search({}, carol.token)).toEqual([{ text: "note to self" }]);
    expect(await search({ threadId: "carol_only" })).toEqual([]);
    expect(await search({}, adminToken)).toHaveLength(11);

    const p1 = await messaging(alice.token).searchMessages({ threadId: "paging_5", pageSize: 3 });
    const p2 = await messaging(alice.token).searchMessages({ threadId: "paging_5", pageSize: 3, pageToken: p1.nextPageToken });
    expect([p1.messages.length, p2.messages.length, p2.nextPageToken]).toEqual([3, 2, ""]);
  });

  it("refuses since after until, and timestamps outside the valid range", async () => {
    const m = messaging(alice.token);
    const err = await expectError(
      m.searchMessages({ since: timestampFromDate(at(5)), until: timestampFromDate(at(1)) }),
      Code.InvalidArgument,
      "invalid_time_range",
    );
    expect(fieldOf(err)).toBe("since");
    // Binary gRPC carries what JSON clients could not: negative nanos, seconds past year 9999. Every Timestamp of
    // every request obeys the same input rule (common.proto), with its own reason.
    await expectError(
      m.searchMessages({ since: create(TimestampSchema, { seconds: 10n, nanos: -1 }) }),
      Code.InvalidArgument,
      "invalid_timestamp",
    );
    await expectError(
      m.searchMessages({ until: create(TimestampSchema, { seconds: 253_402_300_800n }) }),
      Code.InvalidArgument,
      "invalid_timestamp",
    );
    // The same instant for both is a valid (empty) range.
    expect((await m.searchMessages({ since: timestampFromDate(at(1)), until: timestampFromDate(at(1)) })).messages).toEqual([]);
    // Connect JSON with a malformed timestamp is refused by the decoder.
    const res = await fetch(`${gw.url}/agentnet.v1.MessagingService/SearchMessages`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${alice.token}` },
      body: JSON.stringify({ since: "yesterday" }),
    });
    expect(res.status).toBe(400);
  });

  it("keeps paging stable across threads that share an activity time", async () => {
    const same = at(30);
    for (const t of ["tie_a", "tie_b", "tie_c"]) await insertMessage(gw.store.db, { from: bobBot, to: bobBot, threadId: t, sentAt: same });
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await messaging(bob.token).listThreads({ pageSize: 1, query: "tie_", pageToken });
      seen.push(...page.threads.map((t) => t.threadId));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(seen).toEqual(["tie_c", "tie_b", "tie_a"]);
  });
});
