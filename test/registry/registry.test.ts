import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema, timestampDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentState, Visibility } from "../../gen/agentnet/v1/common_pb.js";
import { AgentType } from "../../gen/agentnet/v1/registry_pb.js";
import { expectError, fieldOf } from "../support/errors.js";
import { MODES, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";
import { type Caller, callers } from "./helpers.js";

const mask = (...paths: string[]) => create(FieldMaskSchema, { paths });

describe.each(MODES)("registry (%s)", (mode) => {
  let backend: TestBackend;
  let gw: TestGateway;
  let admin: Caller;
  let alice: Caller;
  let bob: Caller;

  beforeAll(async () => {
    backend = await createBackend(mode);
    gw = await startTestGateway(backend);
    ({ admin, alice, bob } = await callers(gw, ["alice", "bob"]));
  });
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
  });

  it("normalises usernames as the seed does and opens a session per Register", async () => {
    const res = await alice.registry.register({ agentId: "weather", displayName: "Weather Bot", username: "  Weather Bot!! " });
    expect(res.username).toBe("weather_bot");
    expect(res.accountId).toMatch(/^acct_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(res.sessionTag).toMatch(/^sess_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(res.heartbeatInterval).toBe(12);
    expect(res.ttlSeconds).toBe(40);
    expect(res.created).toBe(true);
    expect(res.profile).toMatchObject({
      username: "weather_bot",
      displayName: "Weather Bot",
      owner: "alice",
      online: true,
      sessionCount: 1,
    });
    expect(res.profile?.visibility).toBe(Visibility.PUBLIC);

    // Without a username, the agent id is normalised into one.
    const derived = await alice.registry.register({ agentId: "Mesh Agent #1" });
    expect(derived.username).toBe("mesh_agent_1");
    const dotted = await alice.registry.register({ agentId: "x", username: "@__Ops.Team--" });
    expect(dotted.username).toBe("ops.team");
    const long = await alice.registry.register({ agentId: "x", username: "a".repeat(40) });
    expect(long.username).toBe("a".repeat(32));

    const err = await expectError(alice.registry.register({ agentId: "x", username: "!!!" }), Code.InvalidArgument, "invalid_username");
    expect(fieldOf(err)).toBe("username");
    await expectError(alice.registry.register({ agentId: "" }), Code.InvalidArgument);
    await expectError(
      alice.registry.register({ agentId: "x", username: "caps", capabilities: ["Bad Cap!"] }),
      Code.InvalidArgument,
      "invalid_capability",
    );
    await expectError(
      alice.registry.register({ agentId: "x", username: "big", metadata: { blob: "x".repeat(16_001) } }),
      Code.InvalidArgument,
      "metadata_too_large",
    );
  });

  it("answers a first Register with the profile and session GetProfile then reads", async () => {
    const key = randomBytes(32);
    const reg = await alice.registry.register({
      agentId: "first",
      username: "first_time",
      displayName: "First Time",
      bio: "new here",
      capabilities: ["search", "summarise"],
      metadata: { team: "x", n: 1 },
      visibility: Visibility.PRIVATE,
      publicKey: key,
      sessionMetadata: { host: "h1" },
    });
    const { profile } = await alice.registry.getProfile({ account: { case: "accountId", value: reg.accountId } });
    const { sessions, ...read } = profile!;
    const { sessions: _none, ...answered } = reg.profile!;
    expect(answered).toEqual(read);
    expect(read).toMatchObject({ username: "first_time", online: true, sessionCount: 1, visibility: Visibility.PRIVATE });
    expect(read.publicKey).toEqual(new Uint8Array(key));
    expect(sessions.map((s) => s.sessionTag)).toEqual([reg.sessionTag]);
    expect(sessions[0]!.metadata).toEqual({ host: "h1" });
  });

  it("returns the same account when its owner registers the name again, updating it", async () => {
    const first = await alice.registry.register({ agentId: "echo", username: "echo_bot", capabilities: ["chat"], bio: "first" });
    const again = await alice.registry.register({
      agentId: "echo",
      username: "Echo Bot",
      displayName: "Echo",
      capabilities: ["Chat", "summarize", "chat"],
      metadata: { team: "ops" },
    });
    expect(again.accountId).toBe(first.accountId);
    expect(again.created).toBe(false);
    expect(again.sessionTag).not.toBe(first.sessionTag);
    expect(again.profile).toMatchObject({
      displayName: "Echo",
      bio: "first", // empty strings leave the text as it was
      capabilities: ["chat", "summarize"],
      metadata: { team: "ops" },
      sessionCount: 2,
    });
  });

  it("refuses a username that belongs to another user (no takeover)", async () => {
    const owned = await alice.registry.register({ agentId: "taken", username: "takeover_target" });
    for (const username of ["takeover_target", "@Takeover Target", " TAKEOVER_TARGET! "]) {
      await expectError(bob.registry.register({ agentId: "mallory", username }), Code.AlreadyExists, "username_taken");
    }
    // Not even an admin takes it over.
    await expectError(admin.registry.register({ agentId: "root", username: "takeover_target" }), Code.AlreadyExists, "username_taken");
    const profile = await bob.registry.getProfile({ account: { case: "username", value: "takeover_target" } });
    expect(profile.profile).toMatchObject({ accountId: owned.accountId, owner: "alice", sessionCount: 1 });
  });

  it("binds the first public key, refuses a second one, and rotates it only through UpdateProfile by the owner", async () => {
    const keyA = new Uint8Array(randomBytes(32));
    const keyB = new Uint8Array(randomBytes(32));
    const reg = await alice.registry.register({ agentId: "signer", username: "signer", publicKey: keyA });
    expect(reg.profile?.publicKey).toEqual(keyA);
    await alice.registry.register({ agentId: "signer", username: "signer", publicKey: keyA });
    await alice.registry.register({ agentId: "signer", username: "signer" }); // no key: no change
    await expectError(
      alice.registry.register({ agentId: "signer", username: "signer", publicKey: keyB }),
      Code.PermissionDenied,
      "auth_public_key_mismatch",
    );
    await expectError(
      alice.registry.register({ agentId: "x", username: "badkey", publicKey: new Uint8Array(31) }),
      Code.InvalidArgument,
      "invalid_public_key",
    );

    await expectError(
      bob.registry.updateProfile({ accountId: reg.accountId, publicKey: keyB, updateMask: mask("public_key") }),
      Code.PermissionDenied,
      "not_account_owner",
    );
    const rotated = await alice.registry.updateProfile({ accountId: reg.accountId, publicKey: keyB, updateMask: mask("public_key") });
    expect(rotated.profile?.publicKey).toEqual(keyB);
    await alice.registry.register({ agentId: "signer", username: "signer", publicKey: keyB });
    await expectError(
      alice.registry.register({ agentId: "signer", username: "signer", publicKey: keyA }),
      Code.PermissionDenied,
      "auth_public_key_mismatch",
    );
    // Empty bytes under the mask remove the key; the next key given is bound again.
    const removed = await alice.registry.updateProfile({
      accountId: reg.accountId,
      publicKey: new Uint8Array(),
      updateMask: mask("public_key"),
    });
    expect(removed.profile?.publicKey).toEqual(new Uint8Array());
    const rebound = await alice.registry.register({ agentId: "signer", username: "signer", publicKey: keyA });
    expect(rebound.profile?.publicKey).toEqual(keyA);
  });

  it("gives a new name registered by two owners at once to one of them, and refuses the other", async () => {
    // Registrations that arrive together share one insert; a name in it twice is inserted once, for its first caller.
    const calls = [
      ...Array.from({ length: 3 }, () => alice.registry.register({ agentId: "race", username: "contested_name" })),
      ...Array.from({ length: 3 }, () => bob.registry.register({ agentId: "race", username: "contested_name" })),
    ];
    const results = await Promise.allSettled(calls);
    const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [i < 3 ? "alice" : "bob"] : []));
    expect(new Set(won).size).toBe(1);
    const winner = won[0]!;
    for (const [i, r] of results.entries()) {
      if ((i < 3 ? "alice" : "bob") === winner) {
        expect(r.status).toBe("fulfilled");
      } else {
        await expectError(Promise.reject((r as PromiseRejectedResult).reason), Code.AlreadyExists, "username_taken");
      }
    }
    const ok = results.filter((r) => r.status === "fulfilled").map((r) => r.value);
    expect(new Set(ok.map((r) => r.accountId)).size).toBe(1);
    expect(new Set(ok.map((r) => r.sessionTag)).size).toBe(3);
    expect(ok.filter((r) => r.created)).toHaveLength(1);
  });

  it("answers heartbeats that arrive together each for itself, and a stranger's renews nothing", async () => {
    const regs = await Promise.all(
      Array.from({ length: 12 }, (_, i) => alice.registry.register({ agentId: "crowd", username: `crowd_${i}` })),
    );
    const bystander = await alice.registry.register({ agentId: "crowd", username: "crowd_bystander" });
    const seenBefore = async () => {
      const profile = await alice.registry.getProfile({ account: { case: "accountId", value: bystander.accountId } });
      return timestampDate(profile.profile!.sessions[0]!.lastSeenAt!).getTime();
    };
    const lastSeen = await seenBefore();
    // Issued in one tick on one connection, so the gateway writes them in the same flushes.
    const calls = [
      ...regs.map((r) => alice.registry.heartbeat({ sessionTag: r.sessionTag })),
      ...regs.map((r) => alice.registry.heartbeat({ sessionTag: r.sessionTag })), // the same sessions again
      bob.registry.heartbeat({ sessionTag: regs[0]!.sessionTag }), // a stranger on a session renewed beside it
      bob.registry.heartbeat({ sessionTag: bystander.sessionTag }), // a stranger alone on a session
      admin.registry.heartbeat({ sessionTag: regs[1]!.sessionTag }),
      alice.registry.heartbeat({ sessionTag: "sess_unknown_in_a_crowd" }),
    ];
    const results = await Promise.allSettled(calls);
    for (let i = 0; i < regs.length * 2; i++) {
      const r = results[i]!;
      expect(r.status).toBe("fulfilled");
      if (r.status === "fulfilled") expect(r.value.sessionTag).toBe(regs[i % regs.length]!.sessionTag);
    }
    const [strangerBeside, strangerAlone, byAdmin, unknown] = results.slice(regs.length * 2);
    await expectError(Promise.reject((strangerBeside as PromiseRejectedResult).reason), Code.PermissionDenied, "not_account_owner");
    await expectError(Promise.reject((strangerAlone as PromiseRejectedResult).reason), Code.PermissionDenied, "not_account_owner");
    expect(byAdmin!.status).toBe("fulfilled");
    await expectError(Promise.reject((unknown as PromiseRejectedResult).reason), Code.NotFound, "session_not_found");
    // The stranger's heartbeat did not touch the session it named.
    expect(await seenBefore()).toBe(lastSeen);
  });

  it("renews a session on Heartbeat and ends it on Deregister", async () => {
    const reg = await alice.registry.register({ agentId: "beat", username: "beat" });
    const before = Date.now();
    const hb = await alice.registry.heartbeat({ sessionTag: reg.sessionTag });
    const after = Date.now();
    expect(hb).toMatchObject({ accountId: reg.accountId, sessionTag: reg.sessionTag, heartbeatInterval: 12 });
    // The TTL (40 s) counts from the moment the gateway handled the heartbeat, somewhere between before and after
    // however slow the call was (1 s of slack for timestamp rounding).
    const expiresAt = timestampDate(hb.expiresAt!).getTime();
    expect(expiresAt).toBeGreaterThanOrEqual(before + 40_000 - 1000);
    expect(expiresAt).toBeLessThanOrEqual(after + 40_000 + 1000);

    await expectError(bob.registry.heartbeat({ sessionTag: reg.sessionTag }), Code.PermissionDenied, "not_account_owner");
    await expectError(bob.registry.deregister({ sessionTag: reg.sessionTag }), Code.PermissionDenied, "not_account_owner");
    await expectError(alice.registry.heartbeat({ sessionTag: "sess_unknown" }), Code.NotFound, "session_not_found");
    await expectError(alice.registry.heartbeat({ sessionTag: "" }), Code.InvalidArgument);
    // Admins act for any account.
    await admin.registry.heartbeat({ sessionTag: reg.sessionTag });

    const second = await alice.registry.register({ agentId: "beat", username: "beat" });
    expect((await alice.registry.deregister({ sessionTag: reg.sessionTag })).accountOnline).toBe(true);
    await expectError(alice.registry.heartbeat({ sessionTag: reg.sessionTag }), Code.NotFound, "session_not_found");
    expect((await alice.registry.deregister({ sessionTag: second.sessionTag })).accountOnline).toBe(false);
    // Deregistering twice, or an unknown session, succeeds.
    expect((await alice.registry.deregister({ sessionTag: second.sessionTag })).accountOnline).toBe(false);
    await alice.registry.deregister({ sessionTag: "sess_never_existed" });

    const profile = await alice.registry.getProfile({ account: { case: "accountId", value: reg.accountId } });
    expect(profile.profile).toMatchObject({ online: false, sessionCount: 0, sessions: [] });
    expect(profile.profile?.lastSeenAt).toBeDefined();
  });

  it("returns profiles with their live sessions", async () => {
    const a = await alice.registry.register({
      agentId: "prof",
      username: "profiled",
      displayName: "Profiled",
      bio: "I answer questions",
      capabilities: ["qa"],
      sessionMetadata: { host: "worker-1" },
    });
    const b = await alice.registry.register({ agentId: "prof", username: "profiled", sessionMetadata: { host: "worker-2" } });
    const { profile } = await bob.registry.getProfile({ account: { case: "username", value: "@Profiled" } });
    expect(profile).toMatchObject({ accountId: a.accountId, bio: "I answer questions", online: true, sessionCount: 2 });
    expect(profile?.sessions.map((s) => s.sessionTag).sort()).toEqual([a.sessionTag, b.sessionTag].sort());
    const s = profile!.sessions.find((x) => x.sessionTag === b.sessionTag)!;
    expect(s).toMatchObject({ accountId: a.accountId, agentId: "prof", subscribed: false, metadata: { host: "worker-2" } });
    expect(s.gatewayId).not.toBe("");
    expect(s.expiresAt).toBeDefined();
    await expectError(bob.registry.getProfile({ account: { case: "username", value: "nobody_here" } }), Code.NotFound, "account_not_found");
    await expectError(bob.registry.getProfile({}), Code.InvalidArgument);
    // Listings leave sessions out.
    const online = await bob.registry.listOnline({});
    expect(online.agents.find((p) => p.accountId === a.accountId)?.sessions).toEqual([]);
  });

  it("applies UpdateProfile with and without an update mask", async () => {
    const reg = await alice.registry.register({
      agentId: "upd",
      username: "updatable",
      displayName: "Before",
      bio: "old bio",
      capabilities: ["one"],
      metadata: { a: 1 },
    });
    const id = reg.accountId;
    // No mask: what is present changes; absent optional fields, unset metadata and empty lists stay.
    let p = (await alice.registry.updateProfile({ accountId: id, displayName: "After" })).profile!;
    expect(p).toMatchObject({ displayName: "After", bio: "old bio", capabilities: ["one"], metadata: { a: 1 } });
    expect(timestampDate(p.updatedAt!).getTime()).toBeGreaterThanOrEqual(timestampDate(reg.profile!.updatedAt!).getTime());
    p = (await alice.registry.updateProfile({ accountId: id, capabilities: ["two", "three"], metadata: { b: 2 } })).profile!;
    expect(p).toMatchObject({ capabilities: ["two", "three"], metadata: { b: 2 } });
    // A mask names fields that take the given value, empty included.
    p = (await alice.registry.updateProfile({ accountId: id, displayName: "Ignored", updateMask: mask("bio", "capabilities") })).profile!;
    expect(p).toMatchObject({ displayName: "After", bio: "", capabilities: [] });
    p = (await alice.registry.updateProfile({ accountId: id, visibility: Visibility.PRIVATE, updateMask: mask("visibility") })).profile!;
    expect(p.visibility).toBe(Visibility.PRIVATE);
    p = (await alice.registry.updateProfile({ accountId: id, visibility: Visibility.PUBLIC })).profile!;
    expect(p.visibility).toBe(Visibility.PUBLIC);

    const err = await expectError(
      alice.registry.updateProfile({ accountId: id, updateMask: mask("username") }),
      Code.InvalidArgument,
      "invalid_update_mask",
    );
    expect(fieldOf(err)).toBe("update_mask");
    await expectError(
      alice.registry.updateProfile({ accountId: id, capabilities: ["NOT OK"] }),
      Code.InvalidArgument,
      "invalid_capability",
    );
    await expectError(
      alice.registry.updateProfile({ accountId: id, metadata: { x: "y".repeat(20_000) } }),
      Code.InvalidArgument,
      "metadata_too_large",
    );
    await expectError(alice.registry.updateProfile({ accountId: "acct_nope", bio: "x" }), Code.NotFound, "account_not_found");
    await expectError(bob.registry.updateProfile({ accountId: id, bio: "mine now" }), Code.PermissionDenied, "not_account_owner");
    // Admins may change any account.
    p = (await admin.registry.updateProfile({ accountId: id, bio: "set by admin" })).profile!;
    expect(p.bio).toBe("set by admin");
  });

  it("hides private accounts from other users, but not from their owner or admins", async () => {
    const secret = await alice.registry.register({
      agentId: "spy",
      username: "secret_agent",
      capabilities: ["covert"],
      visibility: Visibility.PRIVATE,
    });
    expect(secret.profile?.visibility).toBe(Visibility.PRIVATE);
    const ids = (agents: { accountId: string }[]) => agents.map((a) => a.accountId);

    expect(ids((await bob.registry.listOnline({ capability: "covert" })).agents)).toEqual([]);
    expect(ids((await bob.registry.searchAgents({ query: "secret" })).agents)).toEqual([]);
    expect(ids((await bob.registry.listAgents({ pageSize: 500 })).agents)).not.toContain(secret.accountId);
    await expectError(
      bob.registry.getProfile({ account: { case: "accountId", value: secret.accountId } }),
      Code.NotFound,
      "account_not_found",
    );
    await expectError(
      bob.registry.getAgentStatus({ agent: { case: "username", value: "secret_agent" } }),
      Code.NotFound,
      "account_not_found",
    );
    await expectError(bob.registry.updateProfile({ accountId: secret.accountId, bio: "x" }), Code.NotFound, "account_not_found");
    // Hidden from listings, not from someone who knows the name: it can still be messaged.
    expect(await bob.registry.resolveAccount({ username: "@secret_agent" })).toMatchObject({
      accountId: secret.accountId,
      username: "secret_agent",
    });

    for (const viewer of [alice, admin]) {
      expect(ids((await viewer.registry.listOnline({ capability: "covert" })).agents)).toEqual([secret.accountId]);
      expect(ids((await viewer.registry.searchAgents({ query: "secret" })).agents)).toEqual([secret.accountId]);
      expect((await viewer.registry.getProfile({ account: { case: "accountId", value: secret.accountId } })).profile?.username).toBe(
        "secret_agent",
      );
    }
  });

  it("resolves usernames to account ids", async () => {
    const reg = await alice.registry.register({ agentId: "resolver", username: "Resolve Me" });
    expect(await bob.registry.resolveAccount({ username: "resolve_me" })).toMatchObject({
      accountId: reg.accountId,
      username: "resolve_me",
    });
    expect((await bob.registry.resolveAccount({ username: " @Resolve Me " })).accountId).toBe(reg.accountId);
    await expectError(bob.registry.resolveAccount({ username: "nobody_at_all" }), Code.NotFound, "account_not_found");
    await expectError(bob.registry.resolveAccount({ username: "" }), Code.InvalidArgument);
  });

  it("lists online accounts by username, one row per account, in pages", async () => {
    const names = ["pg_e", "pg_b", "pg_d", "pg_a", "pg_c"];
    for (const username of names) await alice.registry.register({ agentId: "pager", username, capabilities: ["pager"] });
    await alice.registry.register({ agentId: "pager", username: "pg_a", capabilities: ["pager"] }); // second session
    const offline = await alice.registry.register({ agentId: "pager", username: "pg_f", capabilities: ["pager"] });
    await alice.registry.deregister({ sessionTag: offline.sessionTag });

    const seen: string[] = [];
    const sizes: number[] = [];
    let pageToken = "";
    do {
      const page = await bob.registry.listOnline({ capability: "pager", pageSize: 2, pageToken });
      sizes.push(page.agents.length);
      seen.push(...page.agents.map((a) => a.username));
      for (const a of page.agents) expect(a.sessionCount).toBe(a.username === "pg_a" ? 2 : 1);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen).toEqual(["pg_a", "pg_b", "pg_c", "pg_d", "pg_e"]);

    await expectError(bob.registry.listOnline({ pageToken: "garbage" }), Code.InvalidArgument, "invalid_page_token");
    const search = await bob.registry.searchAgents({ query: "pg_", pageSize: 1 });
    await expectError(bob.registry.listOnline({ pageToken: search.nextPageToken }), Code.InvalidArgument, "invalid_page_token");
    await expectError(bob.registry.listOnline({ pageSize: -1 }), Code.InvalidArgument);
  });

  it("searches by substring of username or display name and capability, online first, in pages", async () => {
    await alice.registry.register({ agentId: "s", username: "zeta_finder", displayName: "Zeta", capabilities: ["find"] });
    const gone = await alice.registry.register({ agentId: "s", username: "alpha_finder", displayName: "Alpha", capabilities: ["find"] });
    await alice.registry.deregister({ sessionTag: gone.sessionTag });
    await alice.registry.register({ agentId: "s", username: "mid_agent", displayName: "The Finder of Things", capabilities: ["index"] });
    await alice.registry.register({ agentId: "s", username: "percent_agent", displayName: "100% sure" });

    const all = await bob.registry.searchAgents({ query: "FINDER" });
    expect(all.agents.map((a) => [a.username, a.online])).toEqual([
      ["mid_agent", true],
      ["zeta_finder", true],
      ["alpha_finder", false],
    ]);
    expect((await bob.registry.searchAgents({ query: "finder", onlineOnly: true })).agents.map((a) => a.username)).toEqual([
      "mid_agent",
      "zeta_finder",
    ]);
    expect((await bob.registry.searchAgents({ query: "finder", capability: "find" })).agents.map((a) => a.username)).toEqual([
      "zeta_finder",
      "alpha_finder",
    ]);
    expect((await bob.registry.searchAgents({ capability: "index" })).agents.map((a) => a.username)).toEqual(["mid_agent"]);
    // LIKE wildcards in the query are plain characters.
    expect((await bob.registry.searchAgents({ query: "0% s" })).agents.map((a) => a.username)).toEqual(["percent_agent"]);
    expect((await bob.registry.searchAgents({ query: "_finder%" })).agents).toEqual([]);

    const paged: string[] = [];
    let pageToken = "";
    do {
      const page = await bob.registry.searchAgents({ query: "finder", pageSize: 2, pageToken });
      paged.push(...page.agents.map((a) => a.username));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(paged).toEqual(["mid_agent", "zeta_finder", "alpha_finder"]);
    await expectError(
      bob.registry.searchAgents({ pageToken: "eyJsIjoibGlzdF9vbmxpbmUiLCJ1IjoieCJ9" }),
      Code.InvalidArgument,
      "invalid_page_token",
    );
    await expectError(bob.registry.searchAgents({ pageToken: "%%%" }), Code.InvalidArgument, "invalid_page_token");
  });

  it("reports agent status and lists agents in AgentConnect's shape", async () => {
    const reg = await bob.registry.register({
      agentId: "status_bot",
      username: "status_bot",
      displayName: "Status Bot",
      capabilities: ["status"],
      metadata: { team: "ops" },
    });
    const { agent } = await alice.registry.getAgentStatus({ agent: { case: "accountId", value: reg.accountId } });
    expect(agent).toMatchObject({
      accountId: reg.accountId,
      username: "status_bot",
      agentId: "status_bot",
      agentType: AgentType.EXTERNAL,
      name: "Status Bot",
      status: AgentState.ACTIVE,
      capabilities: ["status"],
      interactionModes: [],
      ownerId: bob.userId,
      owner: "bob",
      isRunning: true,
      messageCount: 0n,
      extra: { team: "ops" },
    });
    expect(agent?.metadata).toMatchObject({ provider: "", model: "", activeConversations: 0 });
    expect(agent?.metadata?.cooldownUntil).toBeUndefined();
    expect(agent?.lastActive).toBeDefined();

    await bob.registry.deregister({ sessionTag: reg.sessionTag });
    const after = await alice.registry.getAgentStatus({ agent: { case: "username", value: "@Status_Bot" } });
    expect(after.agent).toMatchObject({ status: AgentState.INACTIVE, isRunning: false });
    await expectError(
      alice.registry.getAgentStatus({ agent: { case: "accountId", value: "acct_missing" } }),
      Code.NotFound,
      "account_not_found",
    );
    await expectError(alice.registry.getAgentStatus({}), Code.InvalidArgument);

    await bob.registry.register({ agentId: "b2", username: "bob_second" });
    const everyone = await bob.registry.listAgents({ pageSize: 500 });
    expect(everyone.timestamp).toBeDefined();
    expect(everyone.totalCount).toBe(everyone.agents.length);
    expect(everyone.userOwnedCount).toBe(2);
    const names = everyone.agents.map((a) => a.username);
    expect(names).toEqual([...names].sort());
    const owned = await bob.registry.listAgents({ ownedOnly: true });
    expect(owned.agents.map((a) => a.username)).toEqual(["bob_second", "status_bot"]);
    expect(owned).toMatchObject({ totalCount: 2, userOwnedCount: 2 });
    const active = await bob.registry.listAgents({ ownedOnly: true, state: AgentState.ACTIVE });
    expect(active.agents.map((a) => a.username)).toEqual(["bob_second"]);
    const inactive = await bob.registry.listAgents({ ownedOnly: true, state: AgentState.INACTIVE });
    expect(inactive.agents.map((a) => [a.username, a.status])).toEqual([["status_bot", AgentState.INACTIVE]]);
    expect((await bob.registry.listAgents({ state: AgentState.COOLDOWN })).totalCount).toBe(0);
    expect((await bob.registry.listAgents({ agentType: AgentType.HOSTED })).totalCount).toBe(0);
    expect((await bob.registry.listAgents({ ownedOnly: true, agentType: AgentType.EXTERNAL })).totalCount).toBe(2);

    const first = await bob.registry.listAgents({ ownedOnly: true, pageSize: 1 });
    expect(first.agents.map((a) => a.username)).toEqual(["bob_second"]);
    expect(first.totalCount).toBe(2);
    const second = await bob.registry.listAgents({ ownedOnly: true, pageSize: 1, pageToken: first.nextPageToken });
    expect(second.agents.map((a) => a.username)).toEqual(["status_bot"]);
    expect(second.nextPageToken).toBe("");
    await expectError(bob.registry.listAgents({ pageToken: "bad" }), Code.InvalidArgument, "invalid_page_token");
  });
});
