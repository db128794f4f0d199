import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ed25519RawPublicKey, signEnvelope } from "../../src/messaging/signature.js";
import { AckOutcome, DeliveryStatus, MessageKind, WaitFor } from "../../gen/agentnet/v1/messaging_pb.js";
import { type TestAgent, type TestUser, createUser, loginAdmin, openInbox, registerAgent, text } from "../support/agents.js";
import { expectError, retryDelayMs } from "../support/errors.js";
import { MODES, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";

describe.each(MODES)("delivery (%s)", (mode) => {
  let backend: TestBackend;
  let gw: TestGateway;
  let alice: TestUser;
  let bob: TestUser;
  let a: TestAgent;
  let b: TestAgent;
  let n = 0;
  // Fresh agents per test keep rate limits and inboxes apart.
  const pair = async () => {
    n += 1;
    return [await registerAgent(alice, `sender_${n}`), await registerAgent(bob, `receiver_${n}`)] as const;
  };

  beforeAll(async () => {
    backend = await createBackend(mode);
    // The slowest refill config allows (1 token/s) with the seed's burst of 10: a burst of sends finishes long
    // before a token can refill, so the rate-limit test does not depend on how fast this machine sends.
    gw = await startTestGateway(backend, {
      AGENTNET_SWEEP_INTERVAL_MS: "100",
      AGENTNET_SEND_RATE_PER_SECOND: "1",
      AGENTNET_SEND_RATE_BURST: "10",
    });
    const admin = await loginAdmin(gw.url);
    alice = await createUser(gw.url, admin, "alice");
    bob = await createUser(gw.url, admin, "bob");
    [a, b] = await pair();
  });
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
  });

  it("stores, delivers and records processing: receipts accepted → delivered → processed", async () => {
    const [s, r] = await pair();
    const receipts: DeliveryStatus[] = [];
    const abort = new AbortController();
    let synced: () => void = () => undefined;
    const live = new Promise<void>((res) => (synced = res));
    const watching = (async () => {
      for await (const item of s.user.messaging.watchReceipts({ accountIds: [s.accountId] }, { signal: abort.signal })) {
        if (item.event.case === "synced") synced();
        if (item.event.case === "receipt") receipts.push(item.event.value.status);
      }
    })().catch(() => undefined);
    // Send only once the receipt stream is live (its `synced` marker), however long that takes.
    await live;

    const inbox = openInbox(r, { autoAck: true });
    const sent = await s.user.messaging.send({
      asAccountId: s.accountId,
      to: { target: { case: "username", value: `@${r.username}` } },
      payload: text("yo"),
      waitFor: WaitFor.PROCESSED,
      waitTimeoutMs: 5000n,
    });
    expect(sent.status).toBe(DeliveryStatus.PROCESSED);
    expect(sent.waitTimedOut).toBe(false);
    expect(sent.threadId).toBe(`thread_${sent.messageId}`);
    const [got] = await inbox.waitFor(1);
    expect(got).toMatchObject({ messageId: sent.messageId, fromAccountId: s.accountId, toAccountId: r.accountId, deliveryAttempt: 1 });
    expect(got!.payload).toEqual({ text: "yo" });
    await expect
      .poll(() => receipts, { timeout: 20_000 })
      .toEqual([DeliveryStatus.ACCEPTED, DeliveryStatus.DELIVERED, DeliveryStatus.PROCESSED]);
    abort.abort();
    await watching;
    await inbox.close();
  });

  it("keeps messages for an offline recipient and re-pushes unacked ones on the next Subscribe", async () => {
    const [s, r] = await pair();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(
        (
          await s.user.messaging.send({
            asAccountId: s.accountId,
            to: { target: { case: "accountId", value: r.accountId } },
            payload: text(`m${i}`),
          })
        ).messageId,
      );
    }
    const first = openInbox(r); // no acks
    expect(await first.pendingAtStart).toBe(3n);
    expect((await first.waitFor(3)).map((m) => m.messageId)).toEqual(ids);
    await first.close();

    const second = openInbox(r, { autoAck: true });
    const again = await second.waitFor(3);
    // Redelivery order is best effort (released messages race the backlog); the set is what counts.
    expect(again.map((m) => m.messageId).sort()).toEqual([...ids].sort());
    expect(again.every((m) => m.deliveryAttempt === 2)).toBe(true);
    await second.settled();
    await second.close();
    const third = openInbox(r);
    expect(await third.pendingAtStart).toBe(0n);
    await third.close();
  });

  it("starts streams that open together each with its own pending count and backlog", async () => {
    // Streams opening at once share their first read (one statement for all): each must still get its own.
    const pairs: Array<readonly [TestAgent, TestAgent]> = [];
    for (let i = 0; i < 8; i++) pairs.push(await pair());
    const sent = await Promise.all(
      pairs.map(async ([s, r], i) => {
        const ids: string[] = [];
        for (let k = 0; k < i % 4; k++) {
          const res = await s.user.messaging.send({
            asAccountId: s.accountId,
            to: { target: { case: "accountId", value: r.accountId } },
            payload: text(`to ${r.username} #${k}`),
          });
          ids.push(res.messageId);
        }
        return ids;
      }),
    );
    // Two streams of one account among them: both count the same backlog.
    const inboxes = [...pairs.map(([, r]) => openInbox(r)), openInbox(pairs[3]![1])];
    const expected = [...sent, sent[3]!];
    expect(await Promise.all(inboxes.map((i) => i.pendingAtStart))).toEqual(expected.map((ids) => BigInt(ids.length)));
    for (const [i, ids] of sent.entries()) {
      if (i === 3) continue; // its messages are shared out between its two streams
      expect((await inboxes[i]!.waitFor(ids.length)).map((m) => m.messageId)).toEqual(ids);
    }
    const shared = () => [...inboxes[3]!.received, ...inboxes[8]!.received].map((m) => m.messageId);
    await expect.poll(() => new Set(shared()), { timeout: 20_000 }).toEqual(new Set(sent[3]));
    await Promise.all(inboxes.map((i) => i.close()));
  });

  it("gives the sender an expired receipt for a message nobody took in time", async () => {
    const [s, r] = await pair();
    const since = timestampFromDate(new Date());
    const sent = await s.user.messaging.send({
      asAccountId: s.accountId,
      to: { target: { case: "accountId", value: r.accountId } },
      payload: text("too late"),
      expiry: { case: "ttlMs", value: 300n },
      waitFor: WaitFor.PROCESSED,
    });
    // The wait is bounded by the TTL: it ends around the moment the message expires, reported or not yet.
    expect([DeliveryStatus.ACCEPTED, DeliveryStatus.EXPIRED]).toContain(sent.status);
    const abort = new AbortController();
    const seen: Array<{ status: DeliveryStatus; code: string }> = [];
    const watching = (async () => {
      for await (const item of s.user.messaging.watchReceipts({ since, messageIds: [sent.messageId] }, { signal: abort.signal })) {
        if (item.event.case === "receipt") seen.push({ status: item.event.value.status, code: item.event.value.code });
      }
    })().catch(() => undefined);
    await expect.poll(() => seen.at(-1), { timeout: 20_000 }).toEqual({ status: DeliveryStatus.EXPIRED, code: "ttl_expired" });
    expect(seen[0]?.status).toBe(DeliveryStatus.ACCEPTED);
    abort.abort();
    await watching;
    const inbox = openInbox(r);
    expect(await inbox.pendingAtStart).toBe(0n);
    await inbox.close();
  });

  it("refuses missing or past TTLs, unsupported schema versions and oversize payloads with reasons", async () => {
    const send = (extra: object) =>
      a.user.messaging.send({
        asAccountId: a.accountId,
        to: { target: { case: "accountId", value: b.accountId } },
        payload: text("x"),
        ...extra,
      });
    await expectError(send({ expiry: { case: "ttlMs", value: 0n } }), Code.InvalidArgument, "invalid_ttl");
    await expectError(
      send({ expiry: { case: "expiresAt", value: timestampFromDate(new Date(Date.now() - 1000)) } }),
      Code.FailedPrecondition,
      "expired",
    );
    await expectError(send({ expiry: { case: "ttlMs", value: BigInt(30 * 86_400_000) } }), Code.InvalidArgument, "ttl_too_long");
    await expectError(send({ schemaVersion: "2.0" }), Code.InvalidArgument, "unsupported_schema_version");
    // Streamed answers carry their part in payload.type (stream_start | stream_delta | stream_end | stream_error).
    await expectError(send({ kind: MessageKind.STREAM, payload: { text: "no part" } }), Code.InvalidArgument);
    const part = await send({ kind: MessageKind.STREAM, payload: { type: "stream_delta", stream_id: "s1", seq: 1, text: "he" } });
    expect(part.messageId).not.toBe("");
    const big = await expectError(send({ payload: { blob: "x".repeat(256_001) } }), Code.InvalidArgument, "payload_too_large");
    expect(big.rawMessage).toMatch(/over the limit of 256000/);
    await expectError(
      a.user.messaging.send({ asAccountId: a.accountId, to: { target: { case: "username", value: "nobody_here" } }, payload: text("x") }),
      Code.NotFound,
      "recipient_not_found",
    );
  });

  it("returns the original for a repeated message id or idempotency key", async () => {
    const [s, r] = await pair();
    const to = { target: { case: "accountId" as const, value: r.accountId } };
    const first = await s.user.messaging.send({ asAccountId: s.accountId, to, payload: text("once"), idempotencyKey: "order_123_step_1" });
    const repeat = await s.user.messaging.send({ asAccountId: s.accountId, to, payload: text("once"), idempotencyKey: "order_123_step_1" });
    expect(repeat).toMatchObject({ messageId: first.messageId, duplicate: true });
    const byId = await s.user.messaging.send({ asAccountId: s.accountId, to, payload: text("id"), messageId: "client-chosen-1" });
    const byIdAgain = await s.user.messaging.send({ asAccountId: s.accountId, to, payload: text("id"), messageId: "client-chosen-1" });
    expect(byId.duplicate).toBe(false);
    expect(byIdAgain).toMatchObject({ messageId: "client-chosen-1", duplicate: true });
    // Someone else's message id is not theirs to reuse.
    const [other] = await pair();
    await expectError(
      other.user.messaging.send({ asAccountId: other.accountId, to, payload: text("id"), messageId: "client-chosen-1" }),
      Code.AlreadyExists,
      "message_id_conflict",
    );
    const inbox = openInbox(r, { autoAck: true });
    await inbox.waitFor(2);
    await new Promise((res) => setTimeout(res, 300));
    expect(inbox.received).toHaveLength(2);
    await inbox.close();
  });

  it("lets 10 sends pass in a burst, refuses the 11th, and passes one again after the RetryInfo delay", async () => {
    const [s, r] = await pair();
    const send = () =>
      s.user.messaging.send({
        asAccountId: s.accountId,
        to: { target: { case: "accountId", value: r.accountId } },
        payload: text("burst"),
      });
    // All 11 at once: the bucket is taken within the time the gateway needs to look up 11 senders, far below the
    // one second a token takes to refill at this gateway's 1/s. Which of the 11 is refused is up to the gateway.
    const outcomes = await Promise.allSettled(Array.from({ length: 11 }, () => send()));
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(10);
    expect(refused).toHaveLength(1);
    const err = await expectError(Promise.reject(refused[0]!.reason), Code.ResourceExhausted, "rate_limited");
    const delay = retryDelayMs(err)!;
    expect(delay).toBeGreaterThan(0);
    expect(delay).toBeLessThanOrEqual(1000); // at most one token's refill time at 1/s
    // After the advertised delay a send passes again; a loaded machine may need a few tries, hence the poll.
    await new Promise((res) => setTimeout(res, delay));
    await expect
      .poll(
        () =>
          send().then(
            () => "sent",
            () => "refused",
          ),
        { timeout: 20_000, interval: 200 },
      )
      .toBe("sent");
  });

  it("answers a Request with the Reply, keeping thread, trace and parent", async () => {
    const [s, r] = await pair();
    const abort = new AbortController();
    const responder = (async () => {
      for await (const item of r.user.messaging.subscribe(
        { asAccountId: r.accountId, sessionTag: r.sessionTag },
        { signal: abort.signal },
      )) {
        if (item.event.case !== "message" || item.event.value.kind !== MessageKind.REQUEST) continue;
        await r.user.messaging.reply({ requestMessageId: item.event.value.messageId, payload: { answer: 42 }, sessionTag: r.sessionTag });
      }
    })().catch(() => undefined);
    const res = await s.user.messaging.request({
      asAccountId: s.accountId,
      to: { target: { case: "accountId", value: r.accountId } },
      payload: text("ping"),
      threadId: "ops_1",
      traceId: "trace-abc",
      timeoutMs: 5000n,
    });
    expect(res.reply).toMatchObject({
      kind: MessageKind.REPLY,
      threadId: "ops_1",
      traceId: "trace-abc",
      parentMessageId: res.requestMessageId,
      fromAccountId: r.accountId,
      toAccountId: s.accountId,
    });
    expect(res.reply?.payload).toEqual({ answer: 42 });
    abort.abort();
    await responder;
  });

  it("fails a Request fast when the recipient has no live session", async () => {
    const [s, r] = await pair();
    await r.user.registry.deregister({ sessionTag: r.sessionTag });
    // Failing fast is told by the answer, not by a stopwatch: without the fast path this request would wait its
    // two minutes and end DEADLINE_EXCEEDED `timeout` (or trip the test's timeout first).
    await expectError(
      s.user.messaging.request({
        asAccountId: s.accountId,
        to: { target: { case: "accountId", value: r.accountId } },
        payload: text("?"),
        timeoutMs: 120_000n,
      }),
      Code.Unavailable,
      "no_responders",
    );
  });

  it("records rejections with their code and detail", async () => {
    const [s, r] = await pair();
    const inbox = openInbox(r);
    const sending = s.user.messaging.send({
      asAccountId: s.accountId,
      to: { target: { case: "accountId", value: r.accountId } },
      payload: text("bad"),
      waitFor: WaitFor.PROCESSED,
    });
    const [m] = await inbox.waitFor(1);
    const ack = await r.user.messaging.ack({
      acks: [{ messageId: m!.messageId, outcome: AckOutcome.REJECTED, code: "busy", detail: "queue full" }],
    });
    expect(ack.results[0]).toMatchObject({ ok: true, status: DeliveryStatus.REJECTED });
    const sent = await sending;
    expect(sent.status).toBe(DeliveryStatus.REJECTED);
    expect(sent.receipt).toMatchObject({ code: "busy", detail: "queue full" });
    const missing = await r.user.messaging.ack({ acks: [{ messageId: m!.messageId, outcome: AckOutcome.REJECTED }] });
    expect(missing.results[0]).toMatchObject({ ok: false, error: "missing_code" });
    await inbox.close();
  });

  it("answers each of several Sends waiting between the same two accounts with its own message's outcome", async () => {
    const [s, r] = await pair();
    const inbox = openInbox(r);
    const sending = Array.from({ length: 6 }, (_, i) =>
      s.user.messaging.send({
        asAccountId: s.accountId,
        to: { target: { case: "accountId", value: r.accountId } },
        payload: text(`m${i}`),
        waitFor: WaitFor.PROCESSED,
        waitTimeoutMs: 20_000n,
      }),
    );
    const got = await inbox.waitFor(6);
    // Settled in reverse order, every other one rejected: each Send must report its own message.
    const rejected = new Set<string>();
    for (const [i, m] of [...got].reverse().entries()) {
      const reject = i % 2 === 0;
      if (reject) rejected.add(m.messageId);
      await r.user.messaging.ack({
        acks: [{ messageId: m.messageId, outcome: reject ? AckOutcome.REJECTED : AckOutcome.PROCESSED, code: reject ? `no_${i}` : "" }],
      });
    }
    const sent = await Promise.all(sending);
    expect(new Set(sent.map((x) => x.messageId))).toEqual(new Set(got.map((m) => m.messageId)));
    for (const x of sent) {
      expect(x.waitTimedOut).toBe(false);
      expect(x.receipt?.messageId).toBe(x.messageId);
      expect(x.status).toBe(rejected.has(x.messageId) ? DeliveryStatus.REJECTED : DeliveryStatus.PROCESSED);
    }
    await inbox.close();
  });

  it("refuses acting as, reading the inbox of, or watching the receipts of someone else's account", async () => {
    await expectError(
      alice.messaging.send({ asAccountId: b.accountId, to: { target: { case: "accountId", value: a.accountId } }, payload: text("spoof") }),
      Code.PermissionDenied,
      "not_account_owner",
    );
    const stream = alice.messaging.subscribe({ asAccountId: b.accountId });
    await expectError(
      (async () => {
        for await (const _ of stream) break;
      })(),
      Code.PermissionDenied,
      "not_account_owner",
    );
    const receipts = alice.messaging.watchReceipts({ accountIds: [b.accountId] });
    await expectError(
      (async () => {
        for await (const _ of receipts) break;
      })(),
      Code.PermissionDenied,
      "not_account_owner",
    );
    // Acking a message addressed to someone else reports it as unknown and changes nothing.
    const sent = await alice.messaging.send({
      asAccountId: a.accountId,
      to: { target: { case: "accountId", value: b.accountId } },
      payload: text("x"),
    });
    const ack = await alice.messaging.ack({ acks: [{ messageId: sent.messageId }] });
    expect(ack.results[0]).toMatchObject({ ok: false, error: "message_not_found" });
  });

  it("lets nobody but the recipient's owner ack a message, even when both ack at the same moment", async () => {
    const [s, r] = await pair();
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const sent = await s.user.messaging.send({
        asAccountId: s.accountId,
        to: { target: { case: "accountId", value: r.accountId } },
        payload: text(`m${i}`),
      });
      ids.push(sent.messageId);
    }
    // The sender (alice) tries to mark them rejected while the recipient's owner (bob) acks them: sent together,
    // they share the gateway's batched status writes, and the intruder's ack must neither win nor block.
    const [intruder, owner] = await Promise.all([
      s.user.messaging.ack({ acks: ids.map((messageId) => ({ messageId, outcome: AckOutcome.REJECTED, code: "spoof" })) }),
      r.user.messaging.ack({ acks: ids.map((messageId) => ({ messageId })) }),
    ]);
    expect(intruder.results.map((x) => x.error)).toEqual(ids.map(() => "message_not_found"));
    expect(owner.results.map((x) => [x.ok, x.status])).toEqual(ids.map(() => [true, DeliveryStatus.PROCESSED]));
    // Repeating the owner's ack is a no-op that reports the final status; the intruder still learns nothing.
    const again = await r.user.messaging.ack({ acks: [{ messageId: ids[0]! }] });
    expect(again.results[0]).toMatchObject({ ok: true, status: DeliveryStatus.PROCESSED, error: "" });
    const probe = await s.user.messaging.ack({ acks: [{ messageId: ids[0]! }] });
    expect(probe.results[0]).toMatchObject({ ok: false, error: "message_not_found" });
  });

  it("verifies signatures against the account's bound key and keeps them on the envelope", async () => {
    n += 1;
    const seed = randomBytes(32);
    const signer = await alice.registry.register({ agentId: `signer_${n}`, username: `signer_${n}`, publicKey: ed25519RawPublicKey(seed) });
    const [, r] = await pair();
    const fields = {
      messageId: `signed-${n}`,
      fromAccountId: signer.accountId,
      to: { accountId: r.accountId },
      threadId: `thread_signed-${n}`,
      parentMessageId: "",
      traceId: `signed-${n}`,
      kind: "direct" as const,
      ttlMs: 30_000,
      schemaVersion: "1.1",
      idempotencyKey: "",
      blobIds: [],
      payload: { text: "signed" },
    };
    const request = {
      asAccountId: signer.accountId,
      to: { target: { case: "accountId" as const, value: r.accountId } },
      payload: fields.payload,
      messageId: fields.messageId,
      expiry: { case: "ttlMs" as const, value: 30_000n },
    };
    const sent = await alice.messaging.send({ ...request, signature: { scheme: "ed25519-v1", signature: signEnvelope(seed, fields) } });
    const inbox = openInbox(r, { autoAck: true });
    const [got] = await inbox.waitFor(1);
    expect(got?.messageId).toBe(sent.messageId);
    expect(got?.signature?.publicKey).toEqual(ed25519RawPublicKey(seed));
    await inbox.close();
    // The same signature over a different payload, or another key's signature, is refused.
    await expectError(
      alice.messaging.send({
        ...request,
        messageId: `${fields.messageId}-b`,
        signature: { scheme: "ed25519-v1", signature: signEnvelope(seed, fields) },
      }),
      Code.PermissionDenied,
      "invalid_signature",
    );
    const otherSeed = randomBytes(32);
    const fieldsC = {
      ...fields,
      messageId: `${fields.messageId}-c`,
      threadId: `thread_${fields.messageId}-c`,
      traceId: `${fields.messageId}-c`,
    };
    const sendC = () =>
      alice.messaging.send({
        ...request,
        messageId: fieldsC.messageId,
        signature: { scheme: "ed25519-v1", signature: signEnvelope(otherSeed, fieldsC) },
      });
    await expectError(sendC(), Code.PermissionDenied, "invalid_signature");
    // After the owner rotates the key, the new key's signatures verify at once (gateways drop what they cached).
    await alice.registry.updateProfile({
      accountId: signer.accountId,
      publicKey: ed25519RawPublicKey(otherSeed),
      updateMask: { paths: ["public_key"] },
    });
    await expect
      .poll(
        () =>
          sendC().then(
            () => "sent",
            () => "refused",
          ),
        { timeout: 20_000 },
      )
      .toBe("sent");
  });

  it("lets the recipient read a blob its message references, and nobody else", async () => {
    const [s, r] = await pair();
    const { blob } = await s.user.messaging.putBlob({
      asAccountId: s.accountId,
      data: new TextEncoder().encode("chart"),
      mimeType: "text/plain",
      filename: "chart.txt",
    });
    await expectError(r.user.messaging.getBlob({ blobId: blob!.blobId }), Code.NotFound, "blob_not_found");
    await s.user.messaging.send({
      asAccountId: s.accountId,
      to: { target: { case: "accountId", value: r.accountId } },
      payload: { type: "blob_ref", blob_id: blob!.blobId, sha256: blob!.sha256 },
      blobIds: [blob!.blobId],
    });
    const inbox = openInbox(r, { autoAck: true });
    const [pushed] = await inbox.waitFor(1);
    expect(pushed?.blobs.map((b) => b.blobId)).toEqual([blob!.blobId]);
    expect(pushed?.blobs[0]?.filename).toBe("chart.txt");
    await inbox.close();
    const got = await r.user.messaging.getBlob({ blobId: blob!.blobId });
    expect(new TextDecoder().decode(got.data)).toBe("chart");
    await expectError(
      r.user.messaging.send({
        asAccountId: r.accountId,
        to: { target: { case: "accountId", value: s.accountId } },
        payload: text("x"),
        blobIds: [blob!.blobId],
      }),
      Code.InvalidArgument,
      "blob_not_found",
    );
  });
});
