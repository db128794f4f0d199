import { Code } from "@connectrpc/connect";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Visibility } from "../../gen/agentnet/v1/common_pb.js";
import { MessagingService, SubscribeMode } from "../../gen/agentnet/v1/messaging_pb.js";
import { PresenceEventType } from "../../gen/agentnet/v1/registry_pb.js";
import { DomainError } from "../../src/errors.js";
import { Presence, type WatchItem } from "../../src/registry/presence.js";
import { client } from "../support/clients.js";
import { MODES, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";
import { type Caller, callers, on, sleep, watch } from "./helpers.js";

// Short leases so eviction is observable: TTL 2 s, a sweep every 200 ms.
const FAST = {
  AGENTNET_SESSION_TTL_SECONDS: "2",
  AGENTNET_SWEEP_INTERVAL_MS: "200",
  AGENTNET_HEARTBEAT_INTERVAL_SECONDS: "1",
};
const silent = pino({ level: "silent" });

function presenceFor(gw: TestGateway, keepaliveMs?: number): Presence {
  return new Presence({
    db: gw.store.db,
    bus: gw.bus,
    logger: silent,
    config: gw.config,
    gatewayId: "gw_test",
    ...(keepaliveMs === undefined ? {} : { keepaliveMs }),
  });
}

/** What the gateway does on shutdown to a presence it ran: renewals stop, watch streams end, the bus is left. */
async function stopPresence(presence: Presence): Promise<void> {
  await presence.run(AbortSignal.abort());
}

async function isOnline(caller: Caller, accountId: string): Promise<boolean> {
  const { profile } = await caller.registry.getProfile({ account: { case: "accountId", value: accountId } });
  return profile!.online;
}

describe.each(MODES)("presence (%s)", (mode) => {
  let backend: TestBackend;
  let gw: TestGateway;
  let admin: Caller;
  let alice: Caller;
  let bob: Caller;

  beforeAll(async () => {
    backend = await createBackend(mode);
    gw = await startTestGateway(backend, FAST);
    ({ admin, alice, bob } = await callers(gw, ["alice", "bob"]));
  });
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
  });

  it("evicts an agent without heartbeats once its TTL passed, and keeps one that heartbeats", async () => {
    const registering = Date.now();
    const silentAgent = await alice.registry.register({ agentId: "quiet", username: "quiet" });
    const beating = await alice.registry.register({ agentId: "beating", username: "beating" });
    expect(silentAgent.ttlSeconds).toBe(2);
    expect(await isOnline(bob, silentAgent.accountId)).toBe(true);
    // The other one heartbeats every 250 ms on its own timer, well inside its 2 s TTL, whatever the polling does.
    const heartbeats = setInterval(() => void alice.registry.heartbeat({ sessionTag: beating.sessionTag }).catch(() => undefined), 250);
    try {
      // How soon after the TTL the sweep gets to it depends on the machine: wait for it rather than time it. It is
      // never before the TTL, though (a slow machine can only make it later).
      await expect.poll(() => isOnline(bob, silentAgent.accountId), { timeout: 20_000, interval: 100 }).toBe(false);
      expect(Date.now() - registering).toBeGreaterThanOrEqual(2000);
      expect(await isOnline(bob, beating.accountId)).toBe(true);

      // The sweeper marked it offline in the store (not only past its expiry): its session is gone for good.
      await expect
        .poll(
          () =>
            alice.registry.heartbeat({ sessionTag: silentAgent.sessionTag }).then(
              () => "alive",
              (e: { code: Code }) => e.code,
            ),
          { timeout: 20_000 },
        )
        .toBe(Code.NotFound);
    } finally {
      clearInterval(heartbeats);
    }
    await alice.registry.deregister({ sessionTag: beating.sessionTag });
  });

  it("keeps a session held by a Subscribe stream online past its TTL, and lets it expire once released", async () => {
    const presence = presenceFor(gw);
    const reg = await alice.registry.register({ agentId: "held", username: "held" });
    const release = await presence.holdSession(reg.sessionTag);
    try {
      await sleep(3500);
      const { profile } = await alice.registry.getProfile({ account: { case: "accountId", value: reg.accountId } });
      expect(profile).toMatchObject({ online: true, sessionCount: 1 });
      expect(profile!.sessions[0]).toMatchObject({ sessionTag: reg.sessionTag, subscribed: true, gatewayId: "gw_test" });
      // No deadline while held.
      expect(profile!.sessions[0]!.expiresAt).toBeUndefined();
    } finally {
      await release();
      await release(); // idempotent
    }
    const { profile } = await alice.registry.getProfile({ account: { case: "accountId", value: reg.accountId } });
    expect(profile!.sessions[0]).toMatchObject({ subscribed: false });
    expect(profile!.sessions[0]!.expiresAt).toBeDefined();
    await expect.poll(() => isOnline(alice, reg.accountId), { timeout: 20_000, interval: 100 }).toBe(false);

    // Unknown, ended or evicted sessions cannot be held.
    const refusal = await presence.holdSession(reg.sessionTag).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(DomainError);
    expect((refusal as DomainError).reason).toBe("session_not_found");
    await expect(presence.holdSession("sess_unknown")).rejects.toMatchObject({ reason: "session_not_found" });
    await stopPresence(presence);
  });

  it("holds the live sessions of streams that open together and refuses the unknown and ended ones beside them", async () => {
    // Holds requested in one tick share one statement: each caller must still get its own answer.
    const presence = presenceFor(gw);
    const live = await Promise.all(
      Array.from({ length: 6 }, (_, i) => alice.registry.register({ agentId: "crowd", username: `held_crowd_${i}` })),
    );
    const ended = await alice.registry.register({ agentId: "crowd", username: "held_crowd_gone" });
    await alice.registry.deregister({ sessionTag: ended.sessionTag });
    const results = await Promise.allSettled([
      ...live.map((r) => presence.holdSession(r.sessionTag)),
      presence.holdSession(ended.sessionTag),
      presence.holdSession("sess_unknown_in_a_crowd"),
      presence.holdSession(live[0]!.sessionTag), // a second holder of a session in the same batch
    ]);
    expect(results.map((r) => (r.status === "fulfilled" ? "held" : (r.reason as DomainError).reason))).toEqual([
      ...live.map(() => "held"),
      "session_not_found",
      "session_not_found",
      "held",
    ]);
    for (const r of live) {
      const { profile } = await alice.registry.getProfile({ account: { case: "accountId", value: r.accountId } });
      expect(profile!.sessions[0]).toMatchObject({ sessionTag: r.sessionTag, subscribed: true, gatewayId: "gw_test" });
    }
    const { profile } = await alice.registry.getProfile({ account: { case: "accountId", value: ended.accountId } });
    expect(profile).toMatchObject({ online: false });
    for (const r of results) if (r.status === "fulfilled") await r.value();
    await stopPresence(presence);
  });

  it("leaves a held session that a heartbeat just renewed out of the next renewal round, renewing the others", async () => {
    const presence = presenceFor(gw);
    const beating = await alice.registry.register({ agentId: "skip", username: "held_and_beating" });
    const quiet = await alice.registry.register({ agentId: "skip", username: "held_only" });
    const releases = [await presence.holdSession(beating.sessionTag), await presence.holdSession(quiet.sessionTag)];
    // Told of heartbeats that renewed nothing in truth: the rounds leave that lease alone, so it runs out.
    const told = setInterval(() => presence.renewedByHeartbeat(beating.sessionTag), 50);
    try {
      await expect.poll(() => isOnline(alice, beating.accountId), { timeout: 20_000, interval: 100 }).toBe(false);
      expect(await isOnline(alice, quiet.accountId)).toBe(true);
    } finally {
      clearInterval(told);
      for (const release of releases) await release();
      await stopPresence(presence);
    }
  });

  it("keeps an agent that streams and heartbeats online through many TTLs, and after its heartbeats stop", async () => {
    const reg = await alice.registry.register({ agentId: "both", username: "streams_and_beats" });
    const messaging = client(MessagingService, gw.url, alice.token);
    const abort = new AbortController();
    let started = false;
    const stream = (async () => {
      for await (const item of messaging.subscribe(
        { asAccountId: reg.accountId, sessionTag: reg.sessionTag, mode: SubscribeMode.CONSUME },
        { signal: abort.signal },
      )) {
        if (item.event.case === "started") started = true;
      }
    })().catch(() => undefined);
    try {
      await expect.poll(() => started, { timeout: 20_000 }).toBe(true);
      const beats = setInterval(() => void alice.registry.heartbeat({ sessionTag: reg.sessionTag }).catch(() => undefined), 300);
      try {
        await sleep(5000); // 2.5 TTLs
        expect(await isOnline(alice, reg.accountId)).toBe(true);
      } finally {
        clearInterval(beats);
      }
      await sleep(5000); // the stream alone holds it again
      expect(await isOnline(alice, reg.accountId)).toBe(true);
    } finally {
      abort.abort();
      await stream;
    }
  });

  it("counts several holders of one session on one gateway", async () => {
    const presence = presenceFor(gw);
    const reg = await alice.registry.register({ agentId: "twice", username: "twice_held" });
    const first = await presence.holdSession(reg.sessionTag);
    const second = await presence.holdSession(reg.sessionTag);
    await first();
    await sleep(2800);
    expect(await isOnline(alice, reg.accountId)).toBe(true);
    await second();
    await expect.poll(() => isOnline(alice, reg.accountId), { timeout: 20_000, interval: 100 }).toBe(false);
    await stopPresence(presence);
  });

  it("streams online and offline events with WatchPresence, after an optional snapshot", async () => {
    const early = await alice.registry.register({ agentId: "early", username: "early_bird", capabilities: ["watchme"] });
    const w = watch(bob.registry, { includeSnapshot: true, capability: "watchme" });
    try {
      await expect.poll(() => w.synced()).toBe(true);
      const snapshot = w.events();
      expect(snapshot.map((e) => [e.type, e.account?.username, e.snapshot])).toEqual([[PresenceEventType.ONLINE, "early_bird", true]]);
      const synced = w.items.find((i) => i.event.case === "synced")!;
      expect(synced.event.value).toMatchObject({ onlineCount: 1 });

      const reg = await alice.registry.register({ agentId: "late", username: "late_comer", capabilities: ["watchme"] });
      // The early bird never heartbeats, so its eviction may come at any point: look at each account on its own.
      const of = (accountId: string) => w.events().filter((e) => !e.snapshot && e.account?.accountId === accountId);
      await expect.poll(() => of(reg.accountId).length).toBe(1);
      const online = of(reg.accountId)[0]!;
      expect(online).toMatchObject({ type: PresenceEventType.ONLINE, snapshot: false, reason: "" });
      expect(online.account).toMatchObject({ accountId: reg.accountId, online: true, sessionCount: 1 });
      expect(online.session?.sessionTag).toBe(reg.sessionTag);
      expect(online.eventAt).toBeDefined();

      // A second session of an online account is an update; ending one of two is an update too.
      const extra = await alice.registry.register({ agentId: "late", username: "late_comer", capabilities: ["watchme"] });
      await alice.registry.deregister({ sessionTag: extra.sessionTag });
      await alice.registry.deregister({ sessionTag: reg.sessionTag });
      await expect.poll(() => of(reg.accountId).length).toBe(4);
      expect(
        of(reg.accountId)
          .slice(1)
          .map((e) => [e.type, e.reason, e.account?.sessionCount, e.session?.sessionTag]),
      ).toEqual([
        [PresenceEventType.UPDATED, "", 2, extra.sessionTag],
        [PresenceEventType.UPDATED, "", 1, extra.sessionTag],
        [PresenceEventType.OFFLINE, "deregistered", 0, reg.sessionTag],
      ]);

      // The sweeper takes the early bird offline.
      await expect.poll(() => of(early.accountId).length, { timeout: 20_000 }).toBe(1);
      expect(of(early.accountId)[0]).toMatchObject({ type: PresenceEventType.OFFLINE, reason: "ttl_expired" });
      expect(of(early.accountId)[0]!.session?.sessionTag).toBe(early.sessionTag);

      // Profile changes are updates; other capabilities are filtered out.
      await alice.registry.updateProfile({ accountId: early.accountId, bio: "changed" });
      await alice.registry.register({ agentId: "other", username: "not_watched", capabilities: ["other"] });
      await expect.poll(() => of(early.accountId).length).toBe(2);
      expect(of(early.accountId)[1]).toMatchObject({ type: PresenceEventType.UPDATED, account: { bio: "changed" } });
      expect(of(early.accountId)[1]!.session).toBeUndefined();
      await sleep(300);
      expect(w.events().map((e) => e.account?.username)).not.toContain("not_watched");
      expect(w.error()).toBeUndefined();
    } finally {
      await w.stop();
    }
  });

  it("shows presence events only to those who may see the account", async () => {
    const bobWatch = watch(bob.registry, {});
    const aliceWatch = watch(alice.registry, {});
    const adminWatch = watch(admin.registry, {});
    try {
      await expect.poll(() => bobWatch.synced() && aliceWatch.synced() && adminWatch.synced()).toBe(true);
      const hidden = await alice.registry.register({ agentId: "hid", username: "hidden_one", visibility: Visibility.PRIVATE });
      const shown = await alice.registry.register({ agentId: "vis", username: "shown_one" });
      const names = (w: ReturnType<typeof watch>) => w.events().map((e) => e.account?.username);
      await expect.poll(() => names(bobWatch)).toContain("shown_one");
      await expect.poll(() => names(aliceWatch)).toEqual(expect.arrayContaining(["hidden_one", "shown_one"]));
      await expect.poll(() => names(adminWatch)).toEqual(expect.arrayContaining(["hidden_one", "shown_one"]));
      expect(names(bobWatch)).not.toContain("hidden_one");

      // Only the named accounts, when asked.
      const narrow = watch(bob.registry, { accountIds: [shown.accountId] });
      await expect.poll(() => narrow.synced()).toBe(true);
      await alice.registry.deregister({ sessionTag: hidden.sessionTag });
      await alice.registry.deregister({ sessionTag: shown.sessionTag });
      await expect
        .poll(() => narrow.events().map((e) => [e.account?.username, e.type]))
        .toEqual([["shown_one", PresenceEventType.OFFLINE]]);
      await narrow.stop();
    } finally {
      await Promise.all([bobWatch.stop(), aliceWatch.stop(), adminWatch.stop()]);
    }
  });

  it("prunes sessions offline for longer than the retention, keeping the account's last-seen time", async () => {
    const reg = await alice.registry.register({ agentId: "old", username: "old_timer" });
    const fresh = await alice.registry.register({ agentId: "old", username: "old_timer" });
    await alice.registry.deregister({ sessionTag: reg.sessionTag });
    await alice.registry.deregister({ sessionTag: fresh.sessionTag });
    const { profile: before } = await alice.registry.getProfile({ account: { case: "accountId", value: reg.accountId } });
    await gw.store.db
      .updateTable("agent_sessions")
      .set({ disconnected_at: new Date(Date.now() - 15 * 86_400_000) })
      .where("session_tag", "=", reg.sessionTag)
      .execute();
    const presence = presenceFor(gw);
    const { pruned } = await presence.sweepOnce();
    await stopPresence(presence);
    expect(pruned).toBeGreaterThanOrEqual(1);
    const left = await gw.store.db.selectFrom("agent_sessions").select("session_tag").where("account_id", "=", reg.accountId).execute();
    expect(left.map((r) => r.session_tag)).toEqual([fresh.sessionTag]);
    const { profile: after } = await alice.registry.getProfile({ account: { case: "accountId", value: reg.accountId } });
    expect(after!.lastSeenAt).toEqual(before!.lastSeenAt);
  });

  it("sends a keepalive on an idle presence stream and ends it when the caller goes away", async () => {
    const presence = presenceFor(gw, 200);
    const abort = new AbortController();
    const items: WatchItem[] = [];
    const viewer = { userId: bob.userId, username: "bob", admin: false, credential: "access" as const, issuedAt: 0, expiresAt: 0 };
    const done = (async () => {
      for await (const item of presence.watch(viewer, { accountIds: [], capability: "", includeSnapshot: false }, abort.signal))
        items.push(item);
    })();
    await expect.poll(() => items.filter((i) => i.kind === "keepalive").length, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    expect(items[0]).toEqual({ kind: "synced", onlineCount: 0 });
    abort.abort();
    await done;
    await stopPresence(presence);
  });

  it("ends presence streams when the gateway shuts down", async () => {
    const ownBackend = await createBackend(mode);
    try {
      // A grace period far beyond the test's timeout: a close that waited for the stream to be cut would fail
      // the test, without a stopwatch that would also measure the machine.
      const own = await startTestGateway(ownBackend, { ...FAST, AGENTNET_SHUTDOWN_GRACE_SECONDS: "300" });
      const { bob: ownBob } = await callers(own, ["bob"]);
      const w = watch(ownBob.registry, {});
      await expect.poll(() => w.synced()).toBe(true);
      await own.close();
      await w.stop();
      expect(w.items.map((i) => i.event.case)).toEqual(["synced"]);
    } finally {
      await ownBackend.dispose();
    }
  });

  it.skipIf(mode === "embedded")(
    "is shared by gateways on one PostgreSQL and NATS: each sees the other's agents and one eviction",
    async () => {
      const gw2 = await startTestGateway(backend, FAST);
      try {
        const bob2 = on(gw2, bob);
        const alice2 = on(gw2, alice);
        const w1 = watch(bob.registry, {});
        const w2 = watch(bob2.registry, {});
        await expect.poll(() => w1.synced() && w2.synced()).toBe(true);

        // Registered on gateway 1, seen through gateway 2 (store) and by gateway 2's watchers (bus); and back.
        const a = await alice.registry.register({ agentId: "cross", username: "cross_one" });
        const b = await alice2.registry.register({ agentId: "cross", username: "cross_two" });
        const online = await bob2.registry.listOnline({});
        expect(online.agents.map((p) => p.username)).toEqual(expect.arrayContaining(["cross_one", "cross_two"]));
        const events = (w: ReturnType<typeof watch>, accountId: string, type: PresenceEventType) =>
          w.events().filter((e) => e.account?.accountId === accountId && e.type === type);
        for (const w of [w1, w2]) {
          await expect.poll(() => events(w, a.accountId, PresenceEventType.ONLINE).length).toBe(1);
          await expect.poll(() => events(w, b.accountId, PresenceEventType.ONLINE).length).toBe(1);
        }
        // A session lives wherever it heartbeats: gateway 2 renews what gateway 1 opened.
        const hb = await alice2.registry.heartbeat({ sessionTag: a.sessionTag });
        expect(hb.accountId).toBe(a.accountId);

        // Both gateways sweep; each expired session is evicted, and announced, exactly once.
        for (const w of [w1, w2]) {
          await expect.poll(() => events(w, a.accountId, PresenceEventType.OFFLINE).length, { timeout: 20_000 }).toBe(1);
          await expect.poll(() => events(w, b.accountId, PresenceEventType.OFFLINE).length, { timeout: 20_000 }).toBe(1);
        }
        await sleep(1000);
        for (const w of [w1, w2]) {
          expect(events(w, a.accountId, PresenceEventType.OFFLINE)).toHaveLength(1);
          expect(events(w, b.accountId, PresenceEventType.OFFLINE)).toHaveLength(1);
          expect(events(w, a.accountId, PresenceEventType.OFFLINE)[0]!.reason).toBe("ttl_expired");
        }
        await Promise.all([w1.stop(), w2.stop()]);

        // A session held on gateway 2 stays online for watchers and listings on gateway 1.
        const held = await alice2.registry.register({ agentId: "cross", username: "cross_held" });
        const presence2 = presenceFor(gw2);
        const release = await presence2.holdSession(held.sessionTag);
        await sleep(3000);
        expect(await isOnline(bob, held.accountId)).toBe(true);
        await release();
        await stopPresence(presence2);
      } finally {
        await gw2.close();
      }
    },
  );
});
