import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderKind, SessionEventType, SessionStatus, SessionType } from "../../gen/agentnet/v1/session_pb.js";
import { expectError, fieldOf, retryDelayMs } from "../support/errors.js";
import { type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";
import { type SessionUser, loginAdmin, newUser, ofType, sleep, stored, view } from "./helpers.js";

// What SessionService refuses, with which codes and reasons; listing, idempotency, pings and expiry.

describe("chat sessions: refusals and lifecycle (embedded)", () => {
  let backend: TestBackend;
  let gw: TestGateway;
  let admin: SessionUser;

  beforeAll(async () => {
    backend = await createBackend("embedded");
    gw = await startTestGateway(backend, {
      AGENTNET_CHAT_SESSION_LIFETIME_SECONDS: "3",
      AGENTNET_CHAT_INACTIVITY_SECONDS: "2",
      AGENTNET_CHAT_PING_INTERVAL_MS: "300",
      AGENTNET_SWEEP_INTERVAL_MS: "100",
      AGENTNET_CHAT_QUERY_RATE_PER_MINUTE: "10000",
      ANTHROPIC_API_KEY: "",
    });
    admin = await loginAdmin(gw);
  });
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
  });

  const echo = { provider: "echo" };

  it("refuses the wrong number of agents, bad names, unknown or unconfigured providers", async () => {
    const alice = await newUser(gw, admin, "alice");
    const two = await expectError(
      alice.sessions.createSession({ sessionType: SessionType.HUMAN_AGENT, agents: { a: echo, b: echo } }),
      Code.InvalidArgument,
      "invalid_agent_count",
    );
    expect(two.rawMessage).toMatch(/HUMAN_AGENT session takes exactly 1 agent, got 2/);
    expect(fieldOf(two)).toBe("agents");
    const one = await expectError(
      alice.sessions.createSession({ sessionType: SessionType.AGENT_AGENT, agents: { a: echo } }),
      Code.InvalidArgument,
      "invalid_agent_count",
    );
    expect(one.rawMessage).toMatch(/AGENT_AGENT session takes exactly 2 agents, got 1/);
    await expectError(alice.sessions.createSession({ agents: { a: echo } }), Code.InvalidArgument, "invalid_session_type");
    await expectError(
      alice.sessions.createSession({ sessionType: SessionType.HUMAN_AGENT, agents: { "Not OK": echo } }),
      Code.InvalidArgument,
      "invalid_agent_name",
    );
    // Refused creations count against the creation limit too: another user for the rest.
    const amy = await newUser(gw, admin, "amy");
    await expectError(
      amy.sessions.createSession({ sessionType: SessionType.HUMAN_AGENT, agents: { a: { provider: "skynet" } } }),
      Code.InvalidArgument,
      "unknown_provider",
    );
    await expectError(
      amy.sessions.createSession({ sessionType: SessionType.HUMAN_AGENT, agents: { a: { provider: "anthropic" } } }),
      Code.FailedPrecondition,
      "provider_not_configured",
    );
    await expectError(
      amy.sessions.createSession({ sessionType: SessionType.AGENT_AGENT, agents: { a: echo, b: echo }, firstSpeaker: "c" }),
      Code.InvalidArgument,
      "unknown_agent",
    );
  });

  it("refuses the 6th creation in a minute with RESOURCE_EXHAUSTED and retry info", async () => {
    const bob = await newUser(gw, admin, "bob");
    for (let i = 0; i < 5; i++) await bob.sessions.createSession({ sessionType: SessionType.HUMAN_AGENT, agents: { a: echo } });
    const err = await expectError(
      bob.sessions.createSession({ sessionType: SessionType.HUMAN_AGENT, agents: { a: echo } }),
      Code.ResourceExhausted,
      "rate_limited",
    );
    expect(retryDelayMs(err)).toBeGreaterThan(0);
    // Per user: someone else still may.
    const carol = await newUser(gw, admin, "carol");
    await carol.sessions.createSession({ sessionType: SessionType.HUMAN_AGENT, agents: { a: echo } });
  });

  it("hides a session from everyone but its creator and admins", async () => {
    const dave = await newUser(gw, admin, "dave");
    const eve = await newUser(gw, admin, "eve");
    const { session } = await dave.sessions.createSession({ sessionType: SessionType.HUMAN_AGENT, agents: { a: echo } });
    const sessionId = session!.sessionId;
    await expectError(eve.sessions.getSession({ sessionId }), Code.NotFound, "session_not_found");
    await expectError(eve.sessions.sendSessionMessage({ sessionId, content: "hi" }), Code.NotFound, "session_not_found");
    await expectError(eve.sessions.streamSession({ sessionId })[Symbol.asyncIterator]().next(), Code.NotFound, "session_not_found");
    await expectError(eve.sessions.deleteSession({ sessionId }), Code.NotFound, "session_not_found");
    expect((await eve.sessions.listSessions({ all: true })).sessions.map((s) => s.sessionId)).not.toContain(sessionId);
    expect((await admin.sessions.getSession({ sessionId })).session?.owner).toBe(dave.username);
    expect((await admin.sessions.listSessions({ all: true })).sessions.map((s) => s.sessionId)).toContain(sessionId);
    await expectError(dave.sessions.getSession({ sessionId: "chat_01ARZ3NDEKTSV4RRFFQ69G5FAV" }), Code.NotFound, "session_not_found");
  });

  it("checks messages: empty, too long, unknown agents", async () => {
    const frank = await newUser(gw, admin, "frank");
    const { session } = await frank.sessions.createSession({
      sessionType: SessionType.AGENT_AGENT,
      agents: { a: echo, b: echo },
      maxTurns: 1,
    });
    const sessionId = session!.sessionId;
    const { session: human } = await frank.sessions.createSession({ sessionType: SessionType.HUMAN_AGENT, agents: { solo: echo } });
    await expectError(
      frank.sessions.sendSessionMessage({ sessionId: human!.sessionId, content: "  " }),
      Code.InvalidArgument,
      "empty_content",
    );
    await expectError(
      frank.sessions.sendSessionMessage({ sessionId: human!.sessionId, content: "x".repeat(32_001) }),
      Code.InvalidArgument,
      "content_too_long",
    );
    await expectError(
      frank.sessions.sendSessionMessage({ sessionId: human!.sessionId, content: "hi", toAgent: "nobody" }),
      Code.InvalidArgument,
      "unknown_agent",
    );
    await expectError(
      frank.sessions.sendSessionMessage({ sessionId: human!.sessionId, content: "hi", asAgent: "solo" }),
      Code.InvalidArgument,
      "unknown_agent",
    );
    // max_turns 1: the AGENT_AGENT session stops after the first answer.
    await view(frank.sessions, sessionId).ended();
    await expectError(
      frank.sessions.sendSessionMessage({ sessionId, content: "hi", asAgent: "a" }),
      Code.FailedPrecondition,
      "session_stopped",
    );
  });

  it("lists own sessions newest first with paging; answers repeats of an idempotency key with the first seq", async () => {
    const gina = await newUser(gw, admin, "gina");
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await gina.sessions.createSession({ sessionType: SessionType.HUMAN_AGENT, agents: { a: echo } })).session!.sessionId);
    const first = await gina.sessions.listSessions({ pageSize: 2 });
    const second = await gina.sessions.listSessions({ pageSize: 2, pageToken: first.nextPageToken });
    expect([...first.sessions, ...second.sessions].map((s) => s.sessionId)).toEqual([...ids].reverse());
    expect(second.nextPageToken).toBe("");
    expect((await gina.sessions.listSessions({ sessionType: SessionType.AGENT_AGENT })).sessions).toHaveLength(0);
    await expectError(gina.sessions.listSessions({ pageToken: "nope" }), Code.InvalidArgument, "invalid_page_token");

    const a = await gina.sessions.sendSessionMessage({ sessionId: ids[0]!, content: "once", idempotencyKey: "k1" });
    const b = await gina.sessions.sendSessionMessage({ sessionId: ids[0]!, content: "once", idempotencyKey: "k1" });
    expect(b.seq).toBe(a.seq);
    expect(b.messageId).toBe(a.messageId);
  });

  it("lists providers, echo first and configured", async () => {
    const { providers, nextPageToken } = await admin.sessions.listProviders({});
    expect(providers[0]).toMatchObject({ name: "echo", kind: ProviderKind.ECHO, configured: true });
    expect(providers.map((p) => p.name)).toEqual(["echo", "openai", "groq", "together", "novita", "openai_compatible", "anthropic"]);
    expect(providers.find((p) => p.name === "anthropic")).toMatchObject({ kind: ProviderKind.ANTHROPIC, configured: false });
    expect(nextPageToken).toBe("");
    const paged = await admin.sessions.listProviders({ pageSize: 3 });
    const rest = await admin.sessions.listProviders({ pageSize: 3, pageToken: paged.nextPageToken });
    expect(rest.providers[0]?.name).toBe("together");
  });

  it("pings idle viewers, and expires sessions after inactivity or their lifetime", async () => {
    const hank = await newUser(gw, admin, "hank");
    const { session: idle } = await hank.sessions.createSession({ sessionType: SessionType.HUMAN_AGENT, agents: { a: echo } });
    const { session: busy } = await hank.sessions.createSession({ sessionType: SessionType.HUMAN_AGENT, agents: { a: echo } });
    const idleViewer = view(hank.sessions, idle!.sessionId);
    // Keep one session active: it lives until its 3 s lifetime instead of expiring after 2 s of inactivity.
    const keepBusy = (async () => {
      for (let i = 0; i < 8; i++) {
        await sleep(400);
        await hank.sessions.sendSessionMessage({ sessionId: busy!.sessionId, content: `still here ${i}` }).catch(() => undefined);
      }
    })();
    const idleEvents = await idleViewer.ended(20_000);
    expect(ofType(idleEvents, SessionEventType.PING).length).toBeGreaterThan(0);
    expect(ofType(idleEvents, SessionEventType.PING).every((p) => p.seq === 0n)).toBe(true);
    expect(stored(idleEvents).at(-1)).toMatchObject({ type: SessionEventType.STOP, reason: "inactivity_timeout" });
    await keepBusy;
    const { session: busyAfter } = await hank.sessions.getSession({ sessionId: busy!.sessionId });
    expect(busyAfter).toMatchObject({ status: SessionStatus.EXPIRED, stopReason: "session_expired" });

    const { session: idleAfter } = await hank.sessions.getSession({ sessionId: idle!.sessionId });
    expect(idleAfter).toMatchObject({ status: SessionStatus.EXPIRED, stopReason: "inactivity_timeout" });
    await expectError(
      hank.sessions.sendSessionMessage({ sessionId: idle!.sessionId, content: "hello?" }),
      Code.FailedPrecondition,
      "session_expired",
    );
    await expectError(
      hank.sessions.streamSession({ sessionId: idle!.sessionId })[Symbol.asyncIterator]().next(),
      Code.FailedPrecondition,
      "session_expired",
    );
    // DeleteSession still removes it.
    await hank.sessions.deleteSession({ sessionId: idle!.sessionId });
    await expectError(hank.sessions.getSession({ sessionId: idle!.sessionId }), Code.NotFound, "session_not_found");
    await expectError(hank.sessions.deleteSession({ sessionId: idle!.sessionId }), Code.NotFound, "session_not_found");
  });
});

describe("chat sessions: query rate limit (embedded)", () => {
  let backend: TestBackend;
  let gw: TestGateway;

  beforeAll(async () => {
    backend = await createBackend("embedded");
    gw = await startTestGateway(backend, { AGENTNET_CHAT_MESSAGE_RATE_PER_MINUTE: "2" });
  });
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
  });

  it("allows 10 session queries a minute per user and 2 messages as configured", async () => {
    const admin = await loginAdmin(gw);
    const ivy = await newUser(gw, admin, "ivy");
    const { session } = await ivy.sessions.createSession({ sessionType: SessionType.HUMAN_AGENT, agents: { a: { provider: "echo" } } });
    for (let i = 0; i < 10; i++) await ivy.sessions.getSession({ sessionId: session!.sessionId });
    const err = await expectError(ivy.sessions.listSessions({}), Code.ResourceExhausted, "rate_limited");
    expect(retryDelayMs(err)).toBeGreaterThan(0);
    await ivy.sessions.sendSessionMessage({ sessionId: session!.sessionId, content: "one" });
    await ivy.sessions.sendSessionMessage({ sessionId: session!.sessionId, content: "two" });
    await expectError(
      ivy.sessions.sendSessionMessage({ sessionId: session!.sessionId, content: "three" }),
      Code.ResourceExhausted,
      "rate_limited",
    );
  });
});
