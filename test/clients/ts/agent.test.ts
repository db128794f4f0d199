// The TypeScript SDK's verbs against a live gateway: threads, streams, blobs, typed errors, retries that stay
// idempotent, both wire protocols, and a clean close.
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { RegistryService } from "../../../gen/agentnet/v1/registry_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Agent,
  type AgentnetClient,
  AlreadyExistsError,
  ErrorReply,
  InvalidArgumentError,
  type MessageView,
  NoRespondersError,
  NotFoundError,
  PermissionDeniedError,
  RejectedError,
  StreamCollector,
  TimeoutError,
  UnauthenticatedError,
  blobRefId,
  connect,
} from "../../../clients/ts/src/index.js";
import { type Network, startNetwork, until } from "./helpers.js";

describe("TypeScript SDK", () => {
  let net: Network;
  let alice: AgentnetClient;
  let bob: AgentnetClient;
  let bobToken: string;
  let echo: Agent;
  let caller: Agent;
  const echoed: MessageView[] = [];

  beforeAll(async () => {
    net = await startNetwork("embedded");
    alice = (await net.user("alice")).client();
    const b = await net.user("bob");
    bobToken = b.token;
    bob = b.client({ transport: "connect" }); // bob speaks Connect over HTTP/1.1, as a browser would
    echo = await bob.register({ username: "echo", displayName: "Echo", capabilities: ["echo"], bio: "says it back" });
    echo.onMessage(async (m) => {
      echoed.push(m);
      if (m.text === "stream please") {
        const s = m.stream();
        await s.start({ model: "echo" });
        for (const piece of ["str", "eam", "ed"]) await s.delta(piece);
        await s.end();
        return;
      }
      if (m.text === "fail please") return void (await m.replyError("no_can_do", "asked to fail"));
      if (m.text === "ignore me") return;
      if (m.text === "slow please") return void (await new Promise((r) => setTimeout(r, 1000)));
      const ref = blobRefId(m.payload);
      if (ref) return void (await m.replyText(await echo.getBlobText(ref)));
      if (m.isRequest) await m.replyText(`echo: ${m.text ?? ""}`);
    });
    await echo.ready();
    caller = await alice.register({ username: "caller" });
  });
  afterAll(async () => net?.close());

  it("talks in a thread and reads it back: history, search and status", async () => {
    const ops = caller.thread("ops_1");
    const answer = await ops.askText("@echo", "status?");
    expect(answer.text).toBe("echo: status?");
    expect(answer.reply.threadId).toBe("ops_1");
    await ops.sendText("echo", "fyi");
    const page = await ops.messages({ limit: 10 });
    expect(page.items.map((m) => m.payload?.["text"])).toEqual(["fyi", "echo: status?", "status?"]);
    const status = await ops.status();
    expect(status).toMatchObject({ threadId: "ops_1", messageCount: 3n, status: "ok" });
    expect(status.participants.map((p) => p.username).sort()).toEqual(["caller", "echo"]);
    const threads = await caller.listThreads({ participant: "@echo" });
    expect(threads.items.map((t) => t.threadId)).toContain("ops_1");
    const requests = await caller.searchMessages({ threadId: "ops_1", kind: "request" });
    expect(requests.items).toHaveLength(1);
  });

  it("streams an answer in parts that the receiver reassembles", async () => {
    const collector = new StreamCollector();
    const listener = await alice.register({ username: "listener" });
    const done: string[] = [];
    listener.onMessage((m) => {
      const state = collector.add(m);
      if (state?.done) done.push(state.text);
    });
    await listener.ready();
    const sent = await listener.sendText("@echo", "stream please");
    await until(() => done.length === 1, 20_000, "the stream to end");
    expect(done).toEqual(["streamed"]);
    const parts = await listener.getThreadMessages(sent.threadId);
    const streamParts = parts.items.filter((m) => m.payload?.["type"]?.toString().startsWith("stream_"));
    expect(streamParts).toHaveLength(5);
    expect(new Set(streamParts.map((m) => m.parentMessageId))).toEqual(new Set([sent.messageId]));
    await listener.close();
  });

  it("stores a blob, sends a blob_ref, and the recipient reads it", async () => {
    const blob = await caller.putBlob("chart data", { filename: "chart.txt" });
    expect(blob.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect((await caller.headBlob(blob.blobId)).sizeBytes).toBe(10n);
    await caller.sendBlobRef("@echo", blob);
    await until(() => echoed.some((m) => blobRefId(m.payload) === blob.blobId), 20_000, "the blob_ref to arrive");
    const ref = echoed.find((m) => blobRefId(m.payload) === blob.blobId)!;
    expect(ref.payload).toMatchObject({
      type: "blob_ref",
      blob_id: blob.blobId,
      sha256: blob.sha256,
      size_bytes: 10,
      filename: "chart.txt",
    });
    // History reads carry the referenced blobs' metadata (pushed envelopes do not, yet).
    const [stored] = (await caller.searchMessages({ to: "@echo", limit: 1 })).items;
    expect(stored?.blobs.map((b) => b.blobId)).toEqual([blob.blobId]);
    expect(await echo.getBlobText(blob.blobId)).toBe("chart data");
  });

  it("turns the server's reasons into typed errors", async () => {
    const notFound = await caller.getProfile("@nobody_here").catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(NotFoundError);
    expect(notFound).toBeInstanceOf(ConnectError);
    expect((notFound as NotFoundError).reason).toBe("account_not_found");

    const spoof = await (await alice.as(echo.accountId)).sendText("@caller", "spoof").catch((e: unknown) => e);
    expect(spoof).toBeInstanceOf(PermissionDeniedError);
    expect((spoof as PermissionDeniedError).reason).toBe("not_account_owner");

    const taken = await alice.register({ username: "echo" }).catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(AlreadyExistsError);
    expect((taken as AlreadyExistsError).reason).toBe("username_taken");

    const tooBig = await caller.send("@echo", { blob: "x".repeat(256_001) }).catch((e: unknown) => e);
    expect(tooBig).toBeInstanceOf(InvalidArgumentError);
    expect((tooBig as InvalidArgumentError).reason).toBe("payload_too_large");

    const slow = await caller.request("@echo", { text: "slow please" }, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(slow).toBeInstanceOf(TimeoutError);
    expect((slow as TimeoutError).reason).toBe("timeout");

    // A request the handler finished without answering counts as processed with no reply: rejected.
    const ignored = await caller.request("@echo", { text: "ignore me" }).catch((e: unknown) => e);
    expect(ignored).toBeInstanceOf(RejectedError);
    expect((ignored as RejectedError).reason).toBe("rejected");

    const failed = await caller.askText("@echo", "fail please").catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(ErrorReply);
    expect((failed as ErrorReply).code).toBe("no_can_do");

    const offline = await alice.register({ username: "gone" });
    await offline.close();
    const nobody = await caller.askText("@gone", "anyone?").catch((e: unknown) => e);
    expect(nobody).toBeInstanceOf(NoRespondersError);

    const stranger = connect({ url: net.url, token: "not-a-token" });
    const unauth = await stranger.listOnline().catch((e: unknown) => e);
    expect(unauth).toBeInstanceOf(UnauthenticatedError);
    expect((unauth as UnauthenticatedError).code).toBe(Code.Unauthenticated);
    await stranger.close();
  });

  it("retries a send whose answer was lost with the same message id: one message arrives", async () => {
    let dropped = 0;
    // Lets the first Send reach the server, then loses its answer, as a dropped connection would.
    const loseFirstAnswer: Interceptor = (next) => async (req) => {
      const res = await next(req);
      if (req.method.name === "Send" && dropped++ === 0) throw new ConnectError("connection reset", Code.Unavailable);
      return res;
    };
    const flaky = connect({ url: net.url, token: bobToken, interceptors: [loseFirstAnswer] });
    const sender = await flaky.as(echo.accountId);
    const before = echoed.length;
    const res = await sender.sendText("@caller", "exactly once");
    expect(res.duplicate).toBe(true); // the retry found the first attempt stored
    const inbox: string[] = [];
    const reader = await alice.register({ username: "caller" }); // a second process of the same account
    reader.onMessage((m) => void inbox.push(m.messageId));
    await until(() => inbox.includes(res.messageId), 20_000, "the message");
    await new Promise((r) => setTimeout(r, 300));
    expect(inbox.filter((id) => id === res.messageId)).toHaveLength(1);
    expect(echoed.length).toBe(before);
    await reader.close();
    await flaky.close();
  });

  it("acks what the handler processed, but not a request it answered with Reply (Reply marks it processed)", async () => {
    const acked: string[] = [];
    const countAcks: Interceptor = (next) => async (req) => {
      if (req.method.name === "Ack")
        for (const a of (req.message as unknown as { acks: { messageId: string }[] }).acks) acked.push(a.messageId);
      return next(req);
    };
    const { token } = await net.user("dave"); // a user of its own: bob's and alice's accounts stay as the other tests expect
    const responderClient = connect({ url: net.url, token, interceptors: [countAcks] });
    const responder = await responderClient.register({ username: "answerer" });
    const requests: string[] = [];
    responder.onMessage(async (m) => {
      if (m.isRequest) {
        requests.push(m.messageId);
        await m.replyText("answered");
      }
    });
    await responder.ready();
    for (let i = 0; i < 3; i++) expect((await caller.askText("@answerer", `q${i}`)).text).toBe("answered");
    const plain = await caller.sendText("@answerer", "just so you know");
    await until(() => acked.includes(plain.messageId), 10_000, "the plain message's ack");
    await new Promise((r) => setTimeout(r, 100)); // a late ack batch would have gone by now
    expect(requests).toHaveLength(3);
    for (const id of requests) expect(acked).not.toContain(id);
    await responderClient.close();
  });

  it("finds agents and says who is calling", async () => {
    expect((await bob.whoami()).user).toBe("bob");
    expect((await caller.listOnline()).map((p) => p.username)).toEqual(expect.arrayContaining(["caller", "echo"]));
    expect((await caller.searchAgents({ capability: "echo" })).map((p) => p.username)).toEqual(["echo"]);
    const profile = await caller.getProfile("echo");
    expect(profile).toMatchObject({ displayName: "Echo", bio: "says it back", owner: "bob", online: true });
    expect(profile.sessions.length).toBeGreaterThanOrEqual(1);
    expect((await bob.ownedAccounts()).map((a) => a.username)).toEqual(["echo"]);
  });

  it("registers again when the server forgot its session, and keeps receiving", async () => {
    const agent = await alice.register({ username: "forgotten" });
    const got: string[] = [];
    const tags: string[] = [];
    agent.on("reregistered", (tag) => tags.push(tag));
    agent.onMessage((m) => void got.push(m.text ?? ""));
    await agent.ready();
    const first = agent.sessionTag;
    // As if evicted: the session ends behind the agent's back; its inbox is told session_not_found.
    await alice.service(RegistryService).deregister({ sessionTag: first });
    await until(() => tags.length === 1, 30_000, "the agent to register again");
    expect(agent.sessionTag).not.toBe(first);
    expect(tags).toEqual([agent.sessionTag]);
    await caller.sendText("@forgotten", "still there?");
    await until(() => got.includes("still there?"), 20_000, "the message after re-registering");
    expect((await caller.getProfile("forgotten")).online).toBe(true);
    await agent.close();
  });

  it("deregisters on close: the account goes offline", async () => {
    const temp = await alice.register({ username: "temp_agent" });
    expect((await caller.getProfile("temp_agent")).online).toBe(true);
    await temp.close();
    expect((await caller.getProfile("temp_agent")).online).toBe(false);
    await expect(temp.onMessage.bind(temp, () => undefined)).toThrow(/closed/);
  });
});
