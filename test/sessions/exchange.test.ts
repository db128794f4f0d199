import { timestampDate } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentState } from "../../gen/agentnet/v1/common_pb.js";
import { AgentType } from "../../gen/agentnet/v1/registry_pb.js";
import { SessionEventType, SessionRole, SessionStatus, SessionType } from "../../gen/agentnet/v1/session_pb.js";
import { MODES, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";
import { type FakeOpenAi, startFakeOpenAi } from "./fake-openai.js";
import { type SessionUser, hasStop, loginAdmin, newUser, ofType, stored, view } from "./helpers.js";

// The core exchange on both ways agentnet runs: a person talking with one hosted agent, streamed delta by delta.

describe.each(MODES)("chat sessions: human and agent (%s)", (mode) => {
  let backend: TestBackend;
  let gw: TestGateway;
  let fake: FakeOpenAi;
  let admin: SessionUser;

  beforeAll(async () => {
    fake = await startFakeOpenAi();
    backend = await createBackend(mode);
    gw = await startTestGateway(backend, {
      AGENTNET_CHAT_QUERY_RATE_PER_MINUTE: "10000",
      AGENTNET_CHAT_MESSAGE_RATE_PER_MINUTE: "10000",
      OPENAI_COMPATIBLE_BASE_URL: fake.baseUrl,
      OPENAI_COMPATIBLE_API_KEY: "sk-test-fake",
      OPENAI_COMPATIBLE_MODEL: "fake-model",
    });
    admin = await loginAdmin(gw);
  });
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
    await fake?.close();
  });

  it("streams an echo agent's answer delta by delta; the response is the deltas joined", async () => {
    const alice = await newUser(gw, admin, "alice");
    const { session } = await alice.sessions.createSession({
      sessionType: SessionType.HUMAN_AGENT,
      agents: { primary: { provider: "echo", capabilities: ["conversation"], personality: "helpful and professional" } },
    });
    expect(session?.sessionId).toMatch(/^chat_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(session).toMatchObject({
      sessionType: SessionType.HUMAN_AGENT,
      status: SessionStatus.ACTIVE,
      owner: alice.username,
      lastSeq: 1n,
    });
    const agent = session!.agents["primary"]!;
    expect(agent).toMatchObject({
      name: "primary",
      provider: "echo",
      model: "echo",
      status: AgentState.ACTIVE,
      capabilities: ["conversation"],
    });
    expect(agent.username.length).toBeLessThanOrEqual(32);

    const viewer = view(alice.sessions, session!.sessionId);
    const sent = await alice.sessions.sendSessionMessage({ sessionId: session!.sessionId, content: "hello there from the test suite" });
    expect(sent.seq).toBe(2n);
    expect(sent.messageId).toMatch(/^msg_/);
    const events = await viewer.until((es) => ofType(es, SessionEventType.RESPONSE).length === 1);
    await viewer.close();

    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => BigInt(i + 1)));
    expect(events[0]).toMatchObject({ type: SessionEventType.SYSTEM, sender: "system" });
    expect(events[1]).toMatchObject({
      type: SessionEventType.TEXT,
      sender: alice.username,
      receiver: "primary",
      role: SessionRole.USER,
      messageId: sent.messageId,
    });
    const deltas = ofType(events, SessionEventType.DELTA);
    const response = ofType(events, SessionEventType.RESPONSE)[0]!;
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.every((d) => d.responseId === response.responseId && d.sender === "primary")).toBe(true);
    expect(response.content).toBe("echo: hello there from the test suite");
    expect(deltas.map((d) => d.content).join("")).toBe(response.content);
    expect(response).toMatchObject({ sender: "primary", receiver: alice.username, role: SessionRole.ASSISTANT, turn: 1 });
    expect(response.messageId).toMatch(/^msg_/);
    expect(response.metadata).toMatchObject({ role: "assistant", provider: "echo", model: "echo" });
  });

  it("streams an OpenAI-compatible provider's SSE answer, and waits for it when asked", async () => {
    const bob = await newUser(gw, admin, "bob");
    const { session } = await bob.sessions.createSession({
      sessionType: SessionType.HUMAN_AGENT,
      agents: { helper: { provider: "openai_compatible" } },
    });
    expect(session?.agents["helper"]?.model).toBe("fake-model");
    const viewer = view(bob.sessions, session!.sessionId);
    const sent = await bob.sessions.sendSessionMessage({
      sessionId: session!.sessionId,
      content: "what is agentnet",
      waitForResponse: true,
    });
    expect(sent.response).toMatchObject({ type: SessionEventType.RESPONSE, content: "fake: what is agentnet", sender: "helper" });
    const events = await viewer.until((es) => ofType(es, SessionEventType.RESPONSE).length === 1);
    await viewer.close();
    const deltas = ofType(events, SessionEventType.DELTA);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((d) => d.content).join("")).toBe("fake: what is agentnet");
    const request = fake.requests.at(-1)!;
    expect(request.authorization).toBe("Bearer sk-test-fake");
    expect(request.body).toMatchObject({ model: "fake-model", stream: true });
    expect(request.body.messages[0]?.role).toBe("system");
    expect(request.body.messages.at(-1)).toEqual({ role: "user", content: "what is agentnet" });
  });

  it("leaves the creator's hosted agents out of the default sender: a plain Send still comes from their own agent", async () => {
    const erin = await newUser(gw, admin, "erin");
    const { session } = await erin.sessions.createSession({
      sessionType: SessionType.HUMAN_AGENT,
      agents: { primary: { provider: "echo" } },
    });
    const hosted = session!.agents["primary"]!.accountId;
    const to = { target: { case: "accountId" as const, value: hosted } };
    // Only a hosted agent: nothing to send as by default, and the refusal says what to do.
    await expect(erin.messaging.send({ to, payload: { text: "hi" } })).rejects.toThrow(/you own no agent account yet: Register one first/);

    const own = await erin.registry.register({ agentId: "erin_bot", username: `erin_bot_${process.pid}` });
    const sent = await erin.messaging.send({ to, payload: { text: "from my agent" } });
    const [stored] = (await erin.messaging.getThreadMessages({ threadId: sent.threadId })).messages;
    expect(stored).toMatchObject({ messageId: sent.messageId, fromAccountId: own.accountId });

    // Naming the hosted agent stays allowed (its owner may speak as it), and a second own agent makes the default
    // ambiguous again, counted without the hosted one.
    const asHosted = await erin.messaging.send({
      asAccountId: hosted,
      to: { target: { case: "accountId", value: own.accountId } },
      payload: { text: "as hosted" },
    });
    expect((await erin.messaging.getThreadMessages({ threadId: asHosted.threadId })).messages[0]?.fromAccountId).toBe(hosted);
    await erin.registry.register({ agentId: "erin_bot2", username: `erin_bot2_${process.pid}` });
    await expect(erin.messaging.send({ to, payload: { text: "which one?" } })).rejects.toThrow(
      /you own 2 agent accounts: say which one with as_account_id or session_tag/,
    );
  });

  it("keeps session messages as thread messages and shows the hosted agent in the registry", async () => {
    const carol = await newUser(gw, admin, "carol");
    const dave = await newUser(gw, admin, "dave");
    const { session } = await carol.sessions.createSession({
      sessionType: SessionType.HUMAN_AGENT,
      agents: { primary: { provider: "echo", capabilities: ["conversation"] } },
      interactionModes: ["chat"],
    });
    const sent = await carol.sessions.sendSessionMessage({
      sessionId: session!.sessionId,
      content: "remember this",
      waitForResponse: true,
    });

    const page = await carol.messaging.getThreadMessages({ threadId: session!.threadId });
    expect(page.messages.map((m) => m.payload?.["text"])).toEqual(["echo: remember this", "remember this"]);
    expect(page.messages[1]).toMatchObject({
      messageId: sent.messageId,
      fromUsername: carol.username,
      toAccountId: session!.agents["primary"]!.accountId,
    });
    expect(page.messages[0]).toMatchObject({ messageId: sent.response!.messageId, fromAccountId: session!.agents["primary"]!.accountId });
    const threads = await carol.messaging.listThreads({});
    expect(threads.threads.find((t) => t.threadId === session!.threadId)?.chatSessionId).toBe(session!.sessionId);
    await expect(dave.messaging.getThreadMessages({ threadId: session!.threadId })).rejects.toThrow(/thread/);

    const { agent } = await carol.registry.getAgentStatus({ agent: { case: "accountId", value: session!.agents["primary"]!.accountId } });
    expect(agent).toMatchObject({
      agentType: AgentType.HOSTED,
      status: AgentState.ACTIVE,
      isRunning: true,
      owner: carol.username,
      capabilities: ["conversation"],
      interactionModes: ["chat"],
      messageCount: 1n,
    });
    expect(agent?.metadata).toMatchObject({ provider: "echo", model: "echo", activeConversations: 1 });
    const listed = await carol.registry.listAgents({ agentType: AgentType.HOSTED });
    expect(listed.agents.map((a) => a.accountId)).toContain(session!.agents["primary"]!.accountId);
    const active = await carol.registry.listAgents({ agentType: AgentType.HOSTED, state: AgentState.ACTIVE });
    expect(active.agents.map((a) => a.accountId)).toContain(session!.agents["primary"]!.accountId);
    expect((await carol.registry.listAgents({ state: AgentState.COOLDOWN })).agents).toHaveLength(0);
    // Hosted agents are private: other users do not see them.
    expect((await dave.registry.listAgents({ agentType: AgentType.HOSTED })).agents).toHaveLength(0);
    const profile = await carol.registry.getProfile({ account: { case: "accountId", value: session!.agents["primary"]!.accountId } });
    expect(profile.profile?.online).toBe(true);

    // Deleting stops everything: viewers get a final stop, the agent goes offline, the session is gone.
    const viewer = view(carol.sessions, session!.sessionId, session!.lastSeq);
    await new Promise((r) => setTimeout(r, 200));
    await carol.sessions.deleteSession({ sessionId: session!.sessionId });
    const events = await viewer.ended();
    expect(stored(events).at(-1)).toMatchObject({ type: SessionEventType.STOP, reason: "deleted" });
    const after = await carol.registry.getAgentStatus({ agent: { case: "accountId", value: session!.agents["primary"]!.accountId } });
    expect(after.agent).toMatchObject({ status: AgentState.INACTIVE, isRunning: false });
    expect(after.agent?.metadata?.activeConversations).toBe(0);
    await expect(carol.sessions.getSession({ sessionId: session!.sessionId })).rejects.toThrow(/session/);
    // The thread stays readable.
    expect((await carol.messaging.getThreadMessages({ threadId: session!.threadId })).messages).toHaveLength(2);
    expect(hasStop(events)).toBe(true);
    expect(timestampDate(events.at(-1)!.timestamp!).getTime()).toBeGreaterThan(0);
  });
});
