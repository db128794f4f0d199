// StatsService.GetNetworkStats through a live gateway: admins get the network's figures, other users their own
// accounts' (what others send is not theirs to count), nobody without credentials; the rate is the messages
// stored over the window between reads, so sends between two reads show up as exactly that many.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GetNetworkStatsResponse, StatsScope, StatsService } from "../../gen/agentnet/v1/stats_pb.js";
import { type TestAgent, type TestUser, createUser, loginAdmin, registerAgent, text } from "../support/agents.js";
import { client } from "../support/clients.js";
import { expectError } from "../support/errors.js";
import { MODES, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";

describe.each(MODES)("StatsService (%s)", (mode) => {
  let backend: TestBackend;
  let gw: TestGateway;
  let admin: TestUser;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let sender: TestAgent;
  let receiver: TestAgent;
  const stats = (u: TestUser) => client(StatsService, gw.url, u.token);

  beforeAll(async () => {
    backend = await createBackend(mode);
    gw = await startTestGateway(backend);
    admin = await loginAdmin(gw.url);
    [alice, bob, carol] = (await Promise.all(["alice", "bob", "carol"].map((n) => createUser(gw.url, admin, `stats_${n}`)))) as [
      TestUser,
      TestUser,
      TestUser,
    ];
    sender = await registerAgent(alice, "stats_sender");
    receiver = await registerAgent(bob, "stats_receiver");
  });
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
  });

  /** Polls until the gateway read its figures again (it reads at most every 2 s), then returns the new read. */
  async function nextRead(u: TestUser, after: GetNetworkStatsResponse): Promise<GetNetworkStatsResponse> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const s = await stats(u).getNetworkStats({});
      if (
        (s.readAt?.seconds ?? 0n) * 1000n + BigInt(Math.floor((s.readAt?.nanos ?? 0) / 1e6)) >
        (after.readAt?.seconds ?? 0n) * 1000n + BigInt(Math.floor((after.readAt?.nanos ?? 0) / 1e6))
      )
        return s;
      if (Date.now() > deadline) throw new Error("the figures were not read again within 30 s");
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  it("needs credentials", async () => {
    await expectError(client(StatsService, gw.url).getNetworkStats({}), Code.Unauthenticated, "missing_credentials");
  });

  it("counts the network for admins and only the caller's own accounts for everyone else", async () => {
    const first = await stats(admin).getNetworkStats({});
    expect(first.scope).toBe(StatsScope.NETWORK);
    expect(first.agentsOnline).toBe(2n);
    expect(first.sessionsOnline).toBe(2n);

    // Five messages to an agent that is not reading its inbox: they stay pending.
    for (let i = 0; i < 5; i++) {
      await alice.messaging.send({ to: { target: { case: "accountId", value: receiver.accountId } }, payload: text(`m${i}`) });
    }
    const network = await nextRead(admin, first);
    expect(network.messagesPending).toBe(5n);
    expect(network.rateWindowSeconds).toBeGreaterThan(0);
    // The rate times its window is the number of messages stored in it: exactly the five.
    expect(Math.round(network.messagesPerSecond * network.rateWindowSeconds)).toBe(5);

    const [a, b, c] = await Promise.all([alice, bob, carol].map((u) => stats(u).getNetworkStats({})));
    for (const own of [a, b, c]) {
      expect(own?.scope).toBe(StatsScope.OWN_ACCOUNTS);
      // Agents online are the network's for everyone.
      expect(own?.agentsOnline).toBe(2n);
    }
    // Bob's agent has the five waiting; Alice sent them (nothing waits for her); Carol has no account at all.
    expect([a?.messagesPending, b?.messagesPending, c?.messagesPending]).toEqual([0n, 5n, 0n]);
    expect(Math.round((a?.messagesPerSecond ?? 0) * (a?.rateWindowSeconds ?? 0))).toBe(5);
    expect(Math.round((b?.messagesPerSecond ?? 0) * (b?.rateWindowSeconds ?? 0))).toBe(5);
    expect(c?.messagesPerSecond).toBe(0);
    void sender;
  });
});
