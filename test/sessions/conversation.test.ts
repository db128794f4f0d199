import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentState } from "../../gen/agentnet/v1/common_pb.js";
import { SessionEventType, SessionStatus, SessionType } from "../../gen/agentnet/v1/session_pb.js";
import { expectError } from "../support/errors.js";
import { MODES, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";
import { type FakeOpenAi, startFakeOpenAi } from "./fake-openai.js";
import { type SessionUser, loginAdmin, newUser, ofType, stored, summary, view } from "./helpers.js";

// Agent↔agent conversations, token budgets, reconnecting viewers and failing providers.

describe.each(MODES)("chat sessions: conversations (%s)", (mode) => {
  let backend: TestBackend;
  let gw: TestGateway;
  let fake: FakeOpenAi;
  let admin: SessionUser;

  beforeAll(async () => {
    fake = await startFakeOpenAi({ slowMs: 3000 });
    backend = await createBackend(mode);
    gw = await startTestGateway(backend, {
      AGENTNET_CHAT_QUERY_RATE_PER_MINUTE: "10000",
      AGENTNET_CHAT_MESSAGE_RATE_PER_MINUTE: "10000",
      AGENTNET_CHAT_TOKEN_WINDOW_SECONDS: "2",
      AGENTNET_CHAT_PROVIDER_TIMEOUT_MS: "800",
      AGENTNET_CHAT_ECHO_DELAY_MS: "10",
      AGENTNET_SWEEP_INTERVAL_MS: "200",
      OPENAI_COMPATIBLE_BASE_URL: fake.baseUrl,
    });
    admin = await loginAdmin(gw);
  });
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
    await fake?.close();
  });

  it("converses agent to agent until max_turns, then stops", async () => {
    const alice = await newUser(gw, admin, "alice");
    const { session } = await alice.sessions.createSession({
      sessionType: SessionType.AGENT_AGENT,
      agents: { ada: { provider: "echo" }, bob: { provider: "echo" } },
      maxTurns: 4,
      goal: "agree on a name",
      tokensPerMinute: 0,
    });
    expect(session).toMatchObject({ maxTurns: 4, goal: "agree on a name" });
    const events = await view(alice.sessions, session!.sessionId).ended();
    const all = stored(events);
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => BigInt(i + 1)));
    const opening = ofType(all, SessionEventType.TEXT)[0]!;
    expect(opening).toMatchObject({ sender: alice.username, receiver: "ada" });
    expect(opening.content).toContain("agree on a name");
    const responses = ofType(all, SessionEventType.RESPONSE);
    expect(responses.map((r) => r.sender)).toEqual(["ada", "bob", "ada", "bob"]);
    expect(responses.map((r) => r.turn)).toEqual([1, 2, 3, 4]);
    expect(responses[1]?.content).toBe(`echo: ${responses[0]?.content}`);
    for (const r of responses) {
      expect(
        ofType(all, SessionEventType.DELTA)
          .filter((d) => d.responseId === r.responseId)
          .map((d) => d.content)
          .join(""),
      ).toBe(r.content);
    }
    expect(all.at(-1)).toMatchObject({ type: SessionEventType.STOP, reason: "max_turns" });

    const { session: after } = await alice.sessions.getSession({ sessionId: session!.sessionId });
    expect(after).toMatchObject({ status: SessionStatus.STOPPED, stopReason: "max_turns", turnCount: 4, lastSeq: all.at(-1)!.seq });
    expect(after?.agents["ada"]?.messageCount).toBe(2n);
    await expectError(
      alice.sessions.sendSessionMessage({ sessionId: session!.sessionId, content: "more?" }),
      Code.FailedPrecondition,
      "session_stopped",
    );
    // A stopped session's stream replays and ends.
    expect(stored(await view(alice.sessions, session!.sessionId, 2n).ended()).length).toBe(all.length - 2);
  });

  it("stops at the stop word, and lets a client speak as either agent", async () => {
    const alice = await newUser(gw, admin, "alice");
    const { session } = await alice.sessions.createSession({
      sessionType: SessionType.AGENT_AGENT,
      agents: { ada: { provider: "echo" }, bob: { provider: "echo" } },
      openingMessage: "hi",
      firstSpeaker: "bob",
      maxTurns: 50,
      tokensPerMinute: 0,
    });
    const viewer = view(alice.sessions, session!.sessionId);
    await viewer.until((es) => ofType(es, SessionEventType.RESPONSE).length >= 2);
    const injected = await alice.sessions.sendSessionMessage({
      sessionId: session!.sessionId,
      content: "time to wrap up __EXIT__",
      asAgent: "ada",
    });
    const events = await viewer.ended();
    const text = stored(events).find((e) => e.seq === injected.seq)!;
    expect(text).toMatchObject({ type: SessionEventType.TEXT, sender: "ada", receiver: "bob" });
    expect(stored(events).at(-1)).toMatchObject({ type: SessionEventType.STOP, reason: "stop_word" });
    expect(ofType(events, SessionEventType.RESPONSE)[0]?.sender).toBe("bob");
  });

  it("cools an agent down when it spends its token budget, then resumes", async () => {
    const alice = await newUser(gw, admin, "alice");
    const { session } = await alice.sessions.createSession({
      sessionType: SessionType.AGENT_AGENT,
      agents: { ada: { provider: "echo" }, bob: { provider: "echo" } },
      maxTurns: 4,
      openingMessage: "a short opening",
      tokensPerMinute: 5,
    });
    const viewer = view(alice.sessions, session!.sessionId);
    const untilCooldown = await viewer.until((es) => ofType(es, SessionEventType.COOLDOWN).length > 0);
    const cooldown = ofType(untilCooldown, SessionEventType.COOLDOWN)[0]!;
    expect(cooldown.cooldownUntil).toBeDefined();
    expect(cooldown.sender).toBe("ada");
    const until = timestampDate(cooldown.cooldownUntil!);
    // While it lasts, the agent's status says so, in the session and in the registry.
    const { session: during } = await alice.sessions.getSession({ sessionId: session!.sessionId });
    if (Date.now() < until.getTime() - 200) {
      expect(during?.agents["ada"]).toMatchObject({ status: AgentState.COOLDOWN });
      const status = await alice.registry.getAgentStatus({ agent: { case: "accountId", value: during!.agents["ada"]!.accountId } });
      expect(status.agent?.status).toBe(AgentState.COOLDOWN);
      expect(status.agent?.metadata?.cooldownUntil).toBeDefined();
      const cooling = await alice.registry.listAgents({ state: AgentState.COOLDOWN });
      expect(cooling.agents.map((a) => a.accountId)).toEqual([during!.agents["ada"]!.accountId]);
    }
    const events = await viewer.ended(20_000);
    const all = stored(events);
    const afterCooldown = all.filter((e) => e.seq > cooldown.seq && e.type === SessionEventType.RESPONSE);
    expect(afterCooldown.length, summary(all)).toBeGreaterThan(0);
    expect(timestampDate(afterCooldown[0]!.timestamp!).getTime()).toBeGreaterThanOrEqual(until.getTime() - 50);
    expect(ofType(all, SessionEventType.RESPONSE)).toHaveLength(4);
    expect(all.at(-1)).toMatchObject({ type: SessionEventType.STOP, reason: "max_turns" });
  });

  it("resumes a viewer with after_seq with nothing lost or repeated; a second viewer sees the same", async () => {
    const alice = await newUser(gw, admin, "alice");
    const { session } = await alice.sessions.createSession({
      sessionType: SessionType.AGENT_AGENT,
      agents: { ada: { provider: "echo" }, bob: { provider: "echo" } },
      maxTurns: 6,
      tokensPerMinute: 0,
    });
    const second = view(alice.sessions, session!.sessionId);
    const first = view(alice.sessions, session!.sessionId);
    const before = stored(await first.until((es) => stored(es).length >= 12));
    await first.close();
    const last = before.at(-1)!.seq;
    const resumed = stored(await view(alice.sessions, session!.sessionId, last).ended(20_000));
    expect(resumed[0]?.seq).toBe(last + 1n);
    const joined = [...before, ...resumed];
    expect(joined.map((e) => e.seq)).toEqual(joined.map((_, i) => BigInt(i + 1)));
    expect(joined.at(-1)).toMatchObject({ type: SessionEventType.STOP, reason: "max_turns" });
    const other = stored(await second.ended(20_000));
    expect(other.map((e) => [e.seq, e.type, e.content])).toEqual(joined.map((e) => [e.seq, e.type, e.content]));
    await expectError(
      alice.sessions
        .streamSession({ sessionId: session!.sessionId, afterSeq: last + 1000n })
        [Symbol.asyncIterator]()
        .next(),
      Code.InvalidArgument,
      "invalid_seq",
    );
  });

  it("ends a failing or too slow provider call with an error event; the session stays usable", async () => {
    const alice = await newUser(gw, admin, "alice");
    const { session } = await alice.sessions.createSession({
      sessionType: SessionType.HUMAN_AGENT,
      agents: { helper: { provider: "openai_compatible", model: "fake-model" } },
    });
    const id = session!.sessionId;
    const failed = await alice.sessions.sendSessionMessage({ sessionId: id, content: "please #fail", waitForResponse: true });
    expect(failed.response).toMatchObject({ type: SessionEventType.ERROR, reason: "provider_error", sender: "helper" });
    expect(failed.response?.content).toContain("HTTP 500");
    expect(failed.response?.content).toContain("the fake model is down");
    expect((await alice.sessions.getSession({ sessionId: id })).session?.agents["helper"]?.status).toBe(AgentState.ERROR);

    const ok = await alice.sessions.sendSessionMessage({ sessionId: id, content: "and now?", waitForResponse: true });
    expect(ok.response).toMatchObject({ type: SessionEventType.RESPONSE, content: "fake: and now?" });
    expect((await alice.sessions.getSession({ sessionId: id })).session?.agents["helper"]?.status).toBe(AgentState.ACTIVE);

    // The gateway's 800 ms deadline cut the call: had it waited for the fake's answer (after 3 s) the turn would
    // end in a RESPONSE, not `provider_timeout`. The answer says so; a stopwatch would also measure the machine.
    const slow = await alice.sessions.sendSessionMessage({ sessionId: id, content: "take your time #slow", waitForResponse: true });
    expect(slow.response).toMatchObject({ type: SessionEventType.ERROR, reason: "provider_timeout" });

    const broken = await alice.sessions.sendSessionMessage({ sessionId: id, content: "one two three #midfail", waitForResponse: true });
    expect(broken.response).toMatchObject({ type: SessionEventType.ERROR, reason: "provider_error" });

    const again = await alice.sessions.sendSessionMessage({ sessionId: id, content: "still there?", waitForResponse: true });
    expect(again.response).toMatchObject({ type: SessionEventType.RESPONSE, content: "fake: still there?" });
    const events = stored(await view(alice.sessions, id).until((es) => stored(es).length >= Number(again.response!.seq)));
    expect(ofType(events, SessionEventType.ERROR).map((e) => e.reason)).toEqual(["provider_error", "provider_timeout", "provider_error"]);
  });
});
