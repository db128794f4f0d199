import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryStatus, WaitFor } from "../../gen/agentnet/v1/messaging_pb.js";
import { type TestUser, createUser, loginAdmin, openInbox, registerAgent, text } from "../support/agents.js";
import { expectError } from "../support/errors.js";
import { MODES, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";

// Capability routing (the seed's agent.capability.<cap>) and the status a timed-out wait reports.

describe.each(MODES)("routing (%s)", (mode) => {
  let backend: TestBackend;
  let gw: TestGateway;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;

  beforeAll(async () => {
    backend = await createBackend(mode);
    // A generous send rate: these tests are about where messages go, not about limits.
    gw = await startTestGateway(backend, { AGENTNET_SEND_RATE_PER_SECOND: "1000", AGENTNET_SEND_RATE_BURST: "1000" });
    const admin = await loginAdmin(gw.url);
    alice = await createUser(gw.url, admin, "alice");
    bob = await createUser(gw.url, admin, "bob");
    carol = await createUser(gw.url, admin, "carol");
  });
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
  });

  it("sends to a capability: one online agent offering it gets each message, spread across them", async () => {
    const sender = await registerAgent(alice, "cap_sender");
    const first = await registerAgent(bob, "summarizer_1", ["summarize", "chat"]);
    const second = await registerAgent(carol, "summarizer_2", ["summarize"]);
    const bystander = await registerAgent(carol, "chatter", ["chat"]);
    const inboxes = [openInbox(first, { autoAck: true }), openInbox(second, { autoAck: true }), openInbox(bystander, { autoAck: true })];
    await Promise.all(inboxes.map((i) => i.pendingAtStart));

    const sent: string[] = [];
    for (let i = 0; i < 6; i++) {
      // Capability names are matched as normalised (lowercase, trimmed), as Register stores them.
      const capability = i === 0 ? " Summarize " : "summarize";
      const res = await sender.user.messaging.send({
        asAccountId: sender.accountId,
        to: { target: { case: "capability", value: capability } },
        payload: text(`job ${i}`),
      });
      expect([first.accountId, second.accountId]).toContain(res.toAccountId);
      sent.push(res.messageId);
    }
    await expect.poll(() => inboxes[0]!.received.length + inboxes[1]!.received.length, { timeout: 30_000 }).toBe(sent.length);
    const got = [...inboxes[0]!.received, ...inboxes[1]!.received].map((m) => m.messageId);
    expect(got.sort()).toEqual([...sent].sort());
    // Spread: both offering agents took part; the one without the capability got nothing.
    expect(inboxes[0]!.received.length).toBeGreaterThan(0);
    expect(inboxes[1]!.received.length).toBeGreaterThan(0);
    expect(inboxes[2]!.received).toEqual([]);
    for (const m of [...inboxes[0]!.received, ...inboxes[1]!.received])
      expect(m.to?.target).toEqual({ case: "capability", value: expect.stringMatching(/summarize/i) });
    await Promise.all(inboxes.map((i) => i.close()));
  });

  it("answers UNAVAILABLE no_responders when no online agent offers the capability", async () => {
    const sender = await registerAgent(alice, "cap_sender_2");
    // Offering it is not enough: the agent must be online.
    const gone = await registerAgent(bob, "offline_translator", ["translate"]);
    await bob.registry.deregister({ sessionTag: gone.sessionTag });
    for (const capability of ["translate", "nobody.offers.this"]) {
      await expectError(
        sender.user.messaging.send({
          asAccountId: sender.accountId,
          to: { target: { case: "capability", value: capability } },
          payload: text("anyone?"),
        }),
        Code.Unavailable,
        "no_responders",
      );
    }
  });

  it("reports the current status when wait_for times out: DELIVERED for a message pushed but not acked", async () => {
    const sender = await registerAgent(alice, "waiting_sender");
    const receiver = await registerAgent(bob, "slow_receiver");
    const inbox = openInbox(receiver); // receives, never acks
    await inbox.pendingAtStart;
    const waited = await sender.user.messaging.send({
      asAccountId: sender.accountId,
      to: { target: { case: "accountId", value: receiver.accountId } },
      payload: text("take your time"),
      waitFor: WaitFor.PROCESSED,
      // Long enough that the push has surely happened by the time the wait ends, even on a busy machine.
      waitTimeoutMs: 8_000n,
    });
    expect(inbox.received.map((m) => m.messageId)).toContain(waited.messageId);
    expect(waited).toMatchObject({ waitTimedOut: true, status: DeliveryStatus.DELIVERED });
    expect(waited.receipt?.status).toBe(DeliveryStatus.DELIVERED);
    await inbox.close();
  }, 30_000);
});
