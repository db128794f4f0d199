import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  DeliveryStatus,
  MessagingService,
  type SendBatchResponse,
  type SendError,
  type SendRequestSchema,
  type SendResponse,
  WaitFor,
} from "../../gen/agentnet/v1/messaging_pb.js";
import { client } from "../support/clients.js";
import { type TestAgent, type TestUser, createUser, loginAdmin, openInbox, registerAgent, text } from "../support/agents.js";
import { expectError, fieldOf } from "../support/errors.js";
import { MODES, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";

type Item = MessageInitShape<typeof SendRequestSchema>;

const BURST = 60;

function sent(res: SendBatchResponse, i: number): SendResponse {
  const r = res.results[i]!.result;
  if (r.case !== "sent") throw new Error(`item ${i} was refused: ${JSON.stringify(r.value)}`);
  return r.value;
}

function refused(res: SendBatchResponse, i: number): SendError {
  const r = res.results[i]!.result;
  if (r.case !== "error") throw new Error(`item ${i} was stored, not refused`);
  return r.value;
}

describe.each(MODES)("SendBatch (%s)", (mode) => {
  let backend: TestBackend;
  let gw: TestGateway;
  let alice: TestUser;
  let bob: TestUser;
  let n = 0;
  const pair = async () => {
    n += 1;
    return [await registerAgent(alice, `batch_sender_${n}`), await registerAgent(bob, `batch_receiver_${n}`)] as const;
  };
  const to = (r: TestAgent) => ({ target: { case: "accountId" as const, value: r.accountId } });

  beforeAll(async () => {
    backend = await createBackend(mode);
    // Refill at the slowest rate config allows, so "the burst is used up" does not depend on this machine's speed.
    gw = await startTestGateway(backend, { AGENTNET_SEND_RATE_PER_SECOND: "1", AGENTNET_SEND_RATE_BURST: String(BURST) });
    const admin = await loginAdmin(gw.url);
    alice = await createUser(gw.url, admin, "alice");
    bob = await createUser(gw.url, admin, "bob");
  });
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
  });

  it("stores every message of a batch, answers each in request order, and delivers them in that order", async () => {
    const [s, r] = await pair();
    const messages: Item[] = Array.from({ length: 50 }, (_, i) => ({ asAccountId: s.accountId, to: to(r), payload: { i } }));
    const res = await s.user.messaging.sendBatch({ messages });
    expect(res.results).toHaveLength(50);
    const ids = res.results.map((_, i) => sent(res, i).messageId);
    expect(new Set(ids).size).toBe(50);
    for (let i = 0; i < 50; i++) {
      expect(sent(res, i)).toMatchObject({ status: DeliveryStatus.ACCEPTED, toAccountId: r.accountId, duplicate: false });
    }
    const inbox = openInbox(r, { autoAck: true });
    const got = await inbox.waitFor(50);
    expect(got.map((e) => e.messageId)).toEqual(ids);
    expect(got.map((e) => (e.payload as { i: number }).i)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    await inbox.close();
  });

  it("refuses bad items one by one with Send's code, reason and field, and stores the rest", async () => {
    const [s, r] = await pair();
    const [stranger] = await pair(); // alice's too, but a different account than the one named below
    const [, notMine] = await pair(); // bob's: alice may not send as it
    const ok = (label: string): Item => ({ asAccountId: s.accountId, to: to(r), payload: text(label) });
    const messages: Item[] = [
      ok("first"),
      { asAccountId: s.accountId, to: { target: { case: "accountId", value: "acct_does_not_exist" } }, payload: text("x") },
      { asAccountId: s.accountId, to: to(r), payload: text("x"), expiry: { case: "ttlMs", value: 0n } },
      { asAccountId: s.accountId, payload: text("no recipient") },
      { asAccountId: s.accountId, to: to(r), payload: text("x"), waitFor: WaitFor.PROCESSED },
      { asAccountId: notMine.accountId, to: to(r), payload: text("x") },
      { asAccountId: s.accountId, to: to(r), payload: text("x"), schemaVersion: "2.0" },
      { asAccountId: s.accountId, to: to(r), payload: text("x"), messageId: "not a valid id!" },
      { asAccountId: s.accountId, to: to(r), payload: text("x".repeat(300_000)) },
      { asAccountId: stranger.accountId, to: to(r), payload: text("second") },
    ];
    const res = await s.user.messaging.sendBatch({ messages });
    expect(res.results).toHaveLength(messages.length);
    expect(sent(res, 0).status).toBe(DeliveryStatus.ACCEPTED);
    expect(refused(res, 1)).toMatchObject({ code: "NOT_FOUND", reason: "recipient_not_found", field: "to.account_id" });
    expect(refused(res, 2)).toMatchObject({ code: "INVALID_ARGUMENT", reason: "invalid_ttl", field: "ttl_ms" });
    expect(refused(res, 3)).toMatchObject({ code: "INVALID_ARGUMENT", field: "to" });
    expect(refused(res, 4)).toMatchObject({ code: "INVALID_ARGUMENT", reason: "wait_not_supported", field: "wait_for" });
    expect(refused(res, 5)).toMatchObject({ code: "PERMISSION_DENIED", reason: "not_account_owner" });
    expect(refused(res, 6)).toMatchObject({ code: "INVALID_ARGUMENT", reason: "unsupported_schema_version" });
    expect(refused(res, 7)).toMatchObject({ code: "INVALID_ARGUMENT", reason: "invalid_message_id" });
    // The ErrorInfo metadata of Send's error comes along: how big, against which limit.
    expect(refused(res, 8)).toMatchObject({ code: "INVALID_ARGUMENT", reason: "payload_too_large", field: "payload" });
    expect(refused(res, 8).metadata).toMatchObject({ field: "payload", limit_bytes: "256000" });
    expect(Number(refused(res, 8).metadata["size_bytes"])).toBeGreaterThan(300_000);
    expect(sent(res, 9).status).toBe(DeliveryStatus.ACCEPTED);
    for (let i = 1; i <= 8; i++) expect(refused(res, i).message).not.toBe("");

    // Only the two good ones were stored: nothing of a refused item reaches the recipient.
    const inbox = openInbox(r, { autoAck: true });
    const got = await inbox.waitFor(2);
    expect(got.map((e) => e.payload)).toEqual([text("first"), text("second")]);
    expect(await inbox.pendingAtStart).toBe(2n);
    await inbox.settled();
    await inbox.close();
  });

  it("answers repeats inside a batch and of a whole retried batch with the originals, delivering each once", async () => {
    const [s, r] = await pair();
    const messages: Item[] = [
      { asAccountId: s.accountId, to: to(r), payload: text("a"), messageId: "batch-a" },
      { asAccountId: s.accountId, to: to(r), payload: text("b"), idempotencyKey: "key-b" },
      { asAccountId: s.accountId, to: to(r), payload: text("a"), messageId: "batch-a" },
    ];
    const first = await s.user.messaging.sendBatch({ messages });
    expect(sent(first, 0)).toMatchObject({ messageId: "batch-a", duplicate: false });
    expect(sent(first, 2)).toMatchObject({ messageId: "batch-a", duplicate: true });
    const again = await s.user.messaging.sendBatch({ messages });
    expect(again.results.map((_, i) => sent(again, i).duplicate)).toEqual([true, true, true]);
    expect(sent(again, 1).messageId).toBe(sent(first, 1).messageId);

    // Another sender's message id is not theirs to reuse: refused for that item alone.
    const [other] = await pair();
    const conflict = await other.user.messaging.sendBatch({
      messages: [
        { asAccountId: other.accountId, to: to(r), payload: text("c"), messageId: "batch-a" },
        { asAccountId: other.accountId, to: to(r), payload: text("d") },
      ],
    });
    expect(refused(conflict, 0)).toMatchObject({ code: "ALREADY_EXISTS", reason: "message_id_conflict", field: "message_id" });
    expect(sent(conflict, 1).duplicate).toBe(false);

    const inbox = openInbox(r, { autoAck: true });
    await inbox.waitFor(3);
    await new Promise((res) => setTimeout(res, 300));
    expect(inbox.received.map((e) => e.payload)).toEqual([text("a"), text("b"), text("d")]);
    await inbox.close();
  });

  it("counts every item against the sender's rate limit and refuses those past the burst with a retry delay", async () => {
    const [s, r] = await pair();
    const messages: Item[] = Array.from({ length: BURST + 3 }, (_, i) => ({ asAccountId: s.accountId, to: to(r), payload: { i } }));
    const res = await s.user.messaging.sendBatch({ messages });
    const outcomes = res.results.map((x) => x.result.case);
    expect(outcomes.filter((c) => c === "sent")).toHaveLength(BURST);
    // Tokens are taken in request order, so the refused ones are the last.
    expect(outcomes.slice(BURST)).toEqual(["error", "error", "error"]);
    const err = refused(res, BURST);
    expect(err).toMatchObject({ code: "RESOURCE_EXHAUSTED", reason: "rate_limited" });
    expect(err.retryAfterMs).toBeGreaterThan(0n);
    expect(err.retryAfterMs).toBeLessThanOrEqual(1000n);
  });

  it("refuses as a whole a batch with an item that breaks the rules of every request, naming the item", async () => {
    const [s, r] = await pair();
    const messages: Item[] = [
      { asAccountId: s.accountId, to: to(r), payload: text("fine") },
      { asAccountId: s.accountId, to: to(r), payload: text("fine"), threadId: "nul\u0000inside" },
    ];
    const err = await expectError(s.user.messaging.sendBatch({ messages }), Code.InvalidArgument);
    expect(fieldOf(err)).toBe("messages[1].thread_id");
    const inbox = openInbox(r);
    expect(await inbox.pendingAtStart).toBe(0n);
    await inbox.close();
  });

  it("refuses an empty batch and one over 1,000 messages as a whole", async () => {
    const [s, r] = await pair();
    const empty = await expectError(s.user.messaging.sendBatch({ messages: [] }), Code.InvalidArgument, "empty_batch");
    expect(fieldOf(empty)).toBe("messages");
    const messages: Item[] = Array.from({ length: 1001 }, () => ({ asAccountId: s.accountId, to: to(r), payload: text("x") }));
    const big = await expectError(s.user.messaging.sendBatch({ messages }), Code.InvalidArgument, "too_many_items");
    expect(fieldOf(big)).toBe("messages");
    // Nothing of the refused call was stored.
    const inbox = openInbox(r);
    expect(await inbox.pendingAtStart).toBe(0n);
    await inbox.close();
  });

  it("needs credentials", async () => {
    const anonymous = client(MessagingService, gw.url);
    await expectError(anonymous.sendBatch({ messages: [{ payload: text("x") }] }), Code.Unauthenticated);
  });
});
