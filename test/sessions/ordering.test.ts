import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SessionEvent, SessionEventType, SessionType } from "../../gen/agentnet/v1/session_pb.js";
import { MODES, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";
import { type FakeOpenAi, startFakeOpenAi } from "./fake-openai.js";
import { type SessionUser, loginAdmin, newUser, ofType, stored, summary as fullSummary, view } from "./helpers.js";

// Messages sent while an agent is still answering: each answer is to the message it names (in_reply_to), shown
// the conversation as it stood up to that message with every answer right after what it answers, and in
// AGENT_AGENT sessions the agents keep taking turns. And provider answers that are not a stream of text.

const words = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}`).join(" ");
/** The events but deltas, for failure messages. */
const summary = (events: SessionEvent[]) => fullSummary(events.filter((e) => e.type !== SessionEventType.DELTA));
const inReplyTo = (e: SessionEvent) => Number(e.metadata?.["in_reply_to"] ?? 0);

describe.each(MODES)("chat sessions: messages sent during an answer (%s)", (mode) => {
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
      AGENTNET_CHAT_ECHO_DELAY_MS: "10",
      OPENAI_COMPATIBLE_BASE_URL: fake.baseUrl,
      OPENAI_COMPATIBLE_MODEL: "fake-model",
    });
    admin = await loginAdmin(gw);
  });
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
    await fake?.close();
  });

  it("answers each queued message on its own, in order, each answer naming its message", async () => {
    const alice = await newUser(gw, admin, "alice");
    const { session } = await alice.sessions.createSession({
      sessionType: SessionType.HUMAN_AGENT,
      agents: { primary: { provider: "echo" } },
    });
    const id = session!.sessionId;
    const viewer = view(alice.sessions, id);
    // Long enough (150 words, 10 ms apart) that the next two messages are stored while it is being answered.
    const one = `one ${words(150, "w")}`;
    const first = await alice.sessions.sendSessionMessage({ sessionId: id, content: one });
    await viewer.until((es) => ofType(es, SessionEventType.DELTA).length > 0);
    const second = await alice.sessions.sendSessionMessage({ sessionId: id, content: "two" });
    const third = await alice.sessions.sendSessionMessage({ sessionId: id, content: "three", waitForResponse: true });
    expect(third.response).toMatchObject({ type: SessionEventType.RESPONSE, content: "echo: three" });
    expect(inReplyTo(third.response!)).toBe(Number(third.seq));

    const events = stored(await viewer.until((es) => ofType(es, SessionEventType.RESPONSE).length === 3));
    await viewer.close();
    const responses = ofType(events, SessionEventType.RESPONSE);
    // The overlap this is about: both were stored before the first answer was.
    expect(third.seq, summary(events)).toBeLessThan(responses[0]!.seq);
    expect(responses.map((r) => [inReplyTo(r), r.content])).toEqual([
      [Number(first.seq), `echo: ${one}`],
      [Number(second.seq), "echo: two"],
      [Number(third.seq), "echo: three"],
    ]);
    expect(responses.map((r) => r.turn)).toEqual([1, 2, 3]);
  });

  it("shows the next turn the previous answer before the message sent during it", async () => {
    const bob = await newUser(gw, admin, "bob");
    const { session } = await bob.sessions.createSession({
      sessionType: SessionType.HUMAN_AGENT,
      agents: { helper: { provider: "openai_compatible" } },
    });
    const id = session!.sessionId;
    const viewer = view(bob.sessions, id);
    const first = await bob.sessions.sendSessionMessage({ sessionId: id, content: `first ${id} #hold` });
    // The fake has sent the first word of its answer and holds the rest until released.
    await expect.poll(() => fake.held(), { timeout: 10_000 }).toBe(1);
    await viewer.until((es) => ofType(es, SessionEventType.DELTA).length > 0);
    const second = await bob.sessions.sendSessionMessage({ sessionId: id, content: `second ${id}` });
    fake.release();

    const events = stored(await viewer.until((es) => ofType(es, SessionEventType.RESPONSE).length === 2));
    await viewer.close();
    const responses = ofType(events, SessionEventType.RESPONSE);
    expect(responses.map((r) => [inReplyTo(r), r.content])).toEqual([
      [Number(first.seq), `fake: first ${id} #hold`],
      [Number(second.seq), `fake: second ${id}`],
    ]);
    expect(second.seq).toBeLessThan(responses[0]!.seq);
    const asked = fake.requests.filter((r) => r.body.messages.some((m) => m.content.includes(id))).map((r) => r.body.messages);
    expect(asked).toHaveLength(2);
    expect(asked[1]!.map((m) => m.role)).toEqual(["system", "user", "assistant", "user"]);
    expect(asked[1]!.slice(1)).toEqual([
      { role: "user", content: `first ${id} #hold` },
      { role: "assistant", content: `fake: first ${id} #hold` },
      { role: "user", content: `second ${id}` },
    ]);
  });

  it("keeps AGENT_AGENT agents alternating when one is interjected as during the other's answer", async () => {
    const carol = await newUser(gw, admin, "carol");
    const { session } = await carol.sessions.createSession({
      sessionType: SessionType.AGENT_AGENT,
      agents: { ada: { provider: "echo" }, bob: { provider: "echo" } },
      firstSpeaker: "ada",
      // Each answer echoes the last one, so every turn takes about 60 words × 10 ms.
      openingMessage: words(60, "o"),
      maxTurns: 5,
      tokensPerMinute: 0,
    });
    const id = session!.sessionId;
    const viewer = view(carol.sessions, id);
    await viewer.until((es) => ofType(es, SessionEventType.DELTA).some((d) => d.sender === "bob"));
    // Posted as ada, so addressed to bob — who is answering right now.
    const interjection = await carol.sessions.sendSessionMessage({
      sessionId: id,
      content: "ada cuts in: what about bob?",
      asAgent: "ada",
    });
    const events = stored(await viewer.ended(30_000));
    const responses = ofType(events, SessionEventType.RESPONSE);
    expect(interjection.seq, summary(events)).toBeLessThan(responses[1]!.seq);
    expect(
      responses.map((r) => r.sender),
      summary(events),
    ).toEqual(["ada", "bob", "ada", "bob", "ada"]);
    expect(events.at(-1)).toMatchObject({ type: SessionEventType.STOP, reason: "max_turns" });
    // Every answer is to a message addressed to its agent from the other side, and (echo) to the last one shown.
    const bySeq = new Map(events.map((e) => [Number(e.seq), e]));
    for (const r of responses) {
      const answered = bySeq.get(inReplyTo(r));
      expect(answered, `answer ${r.seq} names ${inReplyTo(r)}`).toBeDefined();
      expect(answered!.receiver).toBe(r.sender);
      expect(answered!.sender).not.toBe(r.sender);
      expect(r.content).toBe(`echo: ${answered!.content}`);
    }
    // bob answers the interjection at its next turn, after ada answered bob's answer.
    expect(inReplyTo(responses[3]!)).toBe(Number(interjection.seq));
    expect(responses[3]!.content).toBe("echo: ada cuts in: what about bob?");
    expect(inReplyTo(responses[2]!)).toBe(Number(responses[1]!.seq));
  });

  it("takes a JSON completion from a server that does not stream; an answer without text is a provider_error", async () => {
    const dave = await newUser(gw, admin, "dave");
    const { session } = await dave.sessions.createSession({
      sessionType: SessionType.HUMAN_AGENT,
      agents: { helper: { provider: "openai_compatible" } },
    });
    const id = session!.sessionId;
    const json = await dave.sessions.sendSessionMessage({ sessionId: id, content: "answer as #json please", waitForResponse: true });
    expect(json.response).toMatchObject({ type: SessionEventType.RESPONSE, content: "fake: answer as #json please", sender: "helper" });
    expect(json.response?.metadata?.["usage"]).toMatchObject({ tokens: 10, estimated: false });
    const sent = fake.requests.find((r) => r.body.messages.at(-1)?.content === "answer as #json please");
    expect(sent?.body.stream).toBe(true);

    const empty = await dave.sessions.sendSessionMessage({ sessionId: id, content: "say nothing #empty", waitForResponse: true });
    expect(empty.response).toMatchObject({ type: SessionEventType.ERROR, reason: "provider_error", sender: "helper" });
    expect(empty.response?.content).toContain("without any text");
    expect(inReplyTo(empty.response!)).toBe(Number(empty.seq));

    const events = stored(await view(dave.sessions, id).until((es) => stored(es).length >= Number(empty.response!.seq)));
    expect(ofType(events, SessionEventType.RESPONSE).map((r) => r.content)).toEqual(["fake: answer as #json please"]);
    const deltas = ofType(events, SessionEventType.DELTA);
    expect(deltas.map((d) => d.content).join("")).toBe("fake: answer as #json please");
  });
});
