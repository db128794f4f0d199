// The TypeScript SDK's chat-session, voice and presence verbs against a live gateway: chat with the built-in echo
// provider (the answer arrives as deltas while it is generated, a stream resumes after its last seq), voice agents
// against the fake Agora server, and presence and receipt watches that survive a gateway restart.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PresenceEventType, type PresenceEvent } from "../../../gen/agentnet/v1/registry_pb.js";
import { type SessionEvent, SessionEventType } from "../../../gen/agentnet/v1/session_pb.js";
import { VoiceAgentStatus } from "../../../gen/agentnet/v1/voice_pb.js";
import {
  type AgentnetClient,
  connect,
  InvalidArgumentError,
  NotFoundError,
  sessionEventTypeName,
  statusName,
} from "../../../clients/ts/src/index.js";
import { FakeAgora } from "../../voice/fake-agora.js";
import { voiceEnv } from "../../voice/voice-env.js";
import { startTestGateway } from "../../support/gateway.js";
import { type Network, startNetwork, until } from "./helpers.js";

const presenceName = (t: PresenceEventType) => (PresenceEventType[t] ?? "").toLowerCase();

describe("TypeScript SDK: chat sessions, voice, presence, receipts", () => {
  let fake: FakeAgora;
  let net: Network;
  let alice: AgentnetClient;
  let aliceToken: string;
  let bob: AgentnetClient;

  beforeAll(async () => {
    fake = await new FakeAgora().start();
    net = await startNetwork("embedded", voiceEnv(fake));
    const aliceUser = await net.user("chat_alice");
    aliceToken = aliceUser.token;
    alice = aliceUser.client();
    bob = (await net.user("chat_bob")).client();
  });
  afterAll(async () => {
    await net?.close();
    await fake?.close();
  });

  it("chat: the echo answer streams in as deltas, then the whole response; a resumed stream starts after its seq", async () => {
    const providers = await alice.listChatProviders();
    expect(providers.find((p) => p.name === "echo")?.configured).toBe(true);
    const session = await alice.createChatSession({ agents: { helper: { provider: "echo" } }, goal: "test" });
    expect((await alice.listChatSessions()).map((s) => s.sessionId)).toContain(session.sessionId);
    expect((await alice.getChatSession(session.sessionId)).agents["helper"]?.provider).toBe("echo");

    // Watch live first, then speak: the pieces arrive before the response that joins them.
    const abort = new AbortController();
    const seen: SessionEvent[] = [];
    const watching = (async () => {
      for await (const event of alice.streamChatSession(session.sessionId, { signal: abort.signal })) {
        seen.push(event);
        if (event.type === SessionEventType.RESPONSE) break;
      }
    })();
    await until(() => seen.length >= 1, 20_000, "the session's opening event");
    const sent = await alice.sendChatMessage(session.sessionId, "one two three four");
    expect(sent.seq).toBeGreaterThan(0n);
    await watching;
    const types = seen.map((e) => sessionEventTypeName(e.type));
    expect(types.filter((t) => t !== "delta")).toEqual(["system", "text", "response"]);
    const deltas = seen.filter((e) => e.type === SessionEventType.DELTA);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((d) => d.content).join("")).toBe(seen.at(-1)!.content);
    expect(seen.at(-1)!.content).toContain("one two three four");
    // Seqs strictly increase: nothing repeated, in order.
    expect(seen.map((e) => e.seq)).toEqual([...seen.map((e) => e.seq)].sort((a, b) => (a < b ? -1 : 1)));

    const next = alice.streamChatSession(session.sessionId, { afterSeq: seen.at(-1)!.seq, signal: abort.signal });
    const pending = next.next();
    await alice.sendChatMessage(session.sessionId, "later");
    const first = (await pending).value as SessionEvent;
    await next.return(undefined);
    expect([sessionEventTypeName(first.type), first.content]).toEqual(["text", "later"]);
    abort.abort();

    // Another user cannot see it; refusals are typed.
    await expect(bob.getChatSession(session.sessionId)).rejects.toBeInstanceOf(NotFoundError);
    await expect(alice.createChatSession({ agents: { helper: { provider: "nope" } } })).rejects.toMatchObject({
      reason: "unknown_provider",
      constructor: InvalidArgumentError,
    });
    await alice.deleteChatSession(session.sessionId);
    await expect(alice.getChatSession(session.sessionId)).rejects.toMatchObject({ reason: "session_not_found" });
  });

  it("voice: a config for a channel, a voice agent started, listed, read and stopped through Agora", async () => {
    const config = await alice.voiceConfig({ channelName: "sdk_room", expiresInSeconds: 600 });
    expect(config.channelName).toBe("sdk_room");
    expect(config.token.startsWith("007")).toBe(true);
    expect(config.agentUid).not.toBe(config.uid);
    const started = await alice.startVoiceAgent({ channelName: "sdk_room", agentUid: config.agentUid, remoteUids: [config.uid] });
    expect(started.channelName).toBe("sdk_room");
    expect(fake.calls("join")).toHaveLength(1);
    expect((await alice.listVoiceAgents({ channelName: "sdk_room" })).map((a) => a.agentId)).toEqual([started.agentId]);
    expect((await alice.getVoiceAgent(started.agentId)).status).toBe(VoiceAgentStatus.RUNNING);
    await expect(bob.getVoiceAgent(started.agentId)).rejects.toMatchObject({ reason: "agent_not_found", constructor: NotFoundError });
    await alice.stopVoiceAgent(started.agentId);
    expect(fake.calls("leave")).toHaveLength(1);
    await expect(alice.getVoiceAgent("va_does_not_exist")).rejects.toBeInstanceOf(NotFoundError);
    await expect(alice.voiceConfig({ expiresInSeconds: 0 })).rejects.toMatchObject({ reason: "invalid_expiry" });
    expect(fake.violations).toEqual([]);
  });

  it("presence: a watch reopens after a gateway restart with a snapshot of who is online", async () => {
    const abort = new AbortController();
    const events: PresenceEvent[] = [];
    let synced = 0;
    const watching = (async () => {
      for await (const e of alice.watchPresence({ capability: "presence.sdk", onSynced: () => synced++, signal: abort.signal })) {
        events.push(e);
      }
    })().catch(() => undefined);
    await until(() => synced === 1, 20_000, "the watch to be live");
    const agent = await bob.register({ username: "presence_target", capabilities: ["presence.sdk"] });
    await until(() => events.some((e) => e.type === PresenceEventType.ONLINE && !e.snapshot), 20_000, "the live online event");
    await net.restart(300);
    // No snapshot was asked for; only the reopened watch sends one: who is online after the gap.
    await until(() => events.some((e) => e.snapshot), 30_000, "the watch to reopen with a snapshot");
    expect(events.filter((e) => e.snapshot).map((e) => [presenceName(e.type), e.account?.username])).toEqual([
      ["online", "presence_target"],
    ]);
    expect(synced).toBe(1);
    abort.abort();
    await watching;
    await agent.close();
  });

  it("receipts: a watch resumes after a gateway restart, missing and repeating nothing", async () => {
    const target = await bob.register({ username: "receipt_target" });
    target.onMessage(() => undefined);
    await target.ready();
    const sender = await alice.register({ username: "receipt_sender" });
    const abort = new AbortController();
    const seen: string[] = [];
    let synced!: () => void;
    const live = new Promise<void>((r) => (synced = r));
    const watching = (async () => {
      for await (const r of sender.watchReceipts({ accountIds: [sender.accountId], onSynced: () => synced(), signal: abort.signal })) {
        seen.push(`${r.messageId}:${statusName(r.status)}`);
      }
    })().catch(() => undefined);
    await live;
    const before = await sender.sendText("@receipt_target", "before", { waitFor: "processed" });
    await until(() => seen.length === 3, 20_000, "the first message's receipts");
    await net.restart(300);
    const after = await sender.sendText("@receipt_target", "after", { waitFor: "processed" });
    await until(() => seen.length >= 6, 30_000, "the second message's receipts");
    const statuses = ["accepted", "delivered", "processed"];
    expect(seen).toEqual([...statuses.map((s) => `${before.messageId}:${s}`), ...statuses.map((s) => `${after.messageId}:${s}`)]);
    abort.abort();
    await watching;

    // Resuming by hand from the last cursor seen gives exactly what happened since.
    let cursor = "";
    for await (const r of sender.watchReceipts({ accountIds: [sender.accountId], since: new Date(Date.now() - 60_000) })) {
      cursor = r.cursor;
      if (r.messageId === after.messageId && statusName(r.status) === "processed") break;
    }
    const later = await sender.sendText("@receipt_target", "later", { waitFor: "processed" });
    const resumed: string[] = [];
    for await (const r of sender.watchReceipts({ accountIds: [sender.accountId], afterCursor: cursor })) {
      resumed.push(`${r.messageId}:${statusName(r.status)}`);
      if (resumed.length === 3) break;
    }
    expect(resumed).toEqual(statuses.map((s) => `${later.messageId}:${s}`));
  });

  it("receipts: a live watch dropped before its first receipt gets the receipts made while it was down", async () => {
    // The watch goes through a second gateway on the same database; the messages through the first. Stopping the
    // second drops the watch with nothing seen yet, and what is sent meanwhile exists only in the receipt log.
    const target = await bob.register({ username: "gap_target" });
    target.onMessage(() => undefined);
    await target.ready();
    const sender = await alice.register({ username: "gap_sender" });
    let second = await startTestGateway(net.backend, voiceEnv(fake));
    const port = second.port;
    const watcher = connect({ url: second.url, token: aliceToken });
    const abort = new AbortController();
    const seen: string[] = [];
    let synced!: () => void;
    const live = new Promise<void>((r) => (synced = r));
    const watching = (async () => {
      for await (const r of watcher.watchReceipts({ accountIds: [sender.accountId], onSynced: () => synced(), signal: abort.signal })) {
        seen.push(`${r.messageId}:${statusName(r.status)}`);
      }
    })().catch(() => undefined);
    try {
      await live;
      await second.close();
      const during = await sender.sendText("@gap_target", "while the watch is down", { waitFor: "processed" });
      second = await startTestGateway(net.backend, { ...voiceEnv(fake), PORT: String(port) });
      const statuses = ["accepted", "delivered", "processed"];
      await until(() => seen.length >= 3, 20_000, "the receipts made while the watch was down");
      expect(seen).toEqual(statuses.map((s) => `${during.messageId}:${s}`));
    } finally {
      abort.abort();
      await watching;
      await watcher.close();
      await second.close();
    }
  });
});
