// Agentnet agents reached by the official A2A JavaScript SDK (@a2a-js/sdk), which knows nothing of agentnet: it
// discovers an agent by its card, talks JSON-RPC or gRPC to it, streams its answer, and reads its tasks back after
// the gateway restarts. The agent on the other side is an ordinary agentnet agent written with our TypeScript SDK.
import { randomUUID } from "node:crypto";
import { Role, TaskState } from "@a2a-js/sdk";
import { type Client, ClientFactory, ClientFactoryOptions } from "@a2a-js/sdk/client";
import { GrpcTransportFactory } from "@a2a-js/sdk/client/grpc";
import { TaskNotCancelableError, TaskNotFoundError, UnsupportedOperationError } from "@a2a-js/sdk/errors";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Agent, AgentnetClient, MessageView } from "../../clients/ts/src/index.js";
import { DeliveryStatus, MessagingService } from "../../gen/agentnet/v1/messaging_pb.js";
import { client as rpcClient } from "../support/clients.js";
import { type Network, startNetwork, until } from "../clients/ts/helpers.js";

interface CardJson {
  name: string;
  description: string;
  skills: Array<{ id: string }>;
  supportedInterfaces: unknown[];
  securitySchemes: Record<string, unknown>;
  capabilities: { extensions: Array<{ uri: string; params: Record<string, unknown> }> };
}
type Part = { content?: { $case: string; value: unknown }; mediaType?: string; filename?: string };
type Task = Awaited<ReturnType<Client["getTask"]>>;
type StreamItem = Awaited<ReturnType<Client["sendMessageStream"]> extends AsyncGenerator<infer T> ? T : never>;

// Every field of a part is given: the SDK's gRPC transport sends an absent media type or filename as "undefined".
const part = (content: Part["content"], mediaType = "", filename = ""): Part =>
  ({ content, metadata: undefined, mediaType, filename }) as Part;
const textPart = (value: string): Part => part({ $case: "text", value });
const userMessage = (parts: Part[], extra: Record<string, unknown> = {}) => ({
  messageId: randomUUID(),
  contextId: "",
  taskId: "",
  role: Role.ROLE_USER,
  parts,
  metadata: undefined,
  extensions: [],
  referenceTaskIds: [],
  ...extra,
});
const send = (parts: Part[], configuration?: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  ({ tenant: "", message: userMessage(parts, extra), configuration, metadata: undefined }) as unknown as Parameters<
    Client["sendMessage"]
  >[0];
const listing = (o: Record<string, unknown>) =>
  ({ tenant: "", contextId: "", status: TaskState.TASK_STATE_UNSPECIFIED, pageToken: "", ...o }) as unknown as Parameters<
    Client["listTasks"]
  >[0];
const textsOf = (parts: Part[] | undefined) =>
  (parts ?? []).filter((p) => p.content?.$case === "text").map((p) => p.content!.value as string);

async function collect(stream: AsyncGenerator<StreamItem>): Promise<StreamItem[]> {
  const items: StreamItem[] = [];
  for await (const item of stream) items.push(item);
  return items;
}

/** The text an A2A client assembles from artifact updates (append adds, otherwise replaces). */
function assembled(items: StreamItem[]): string {
  let text = "";
  for (const item of items) {
    if (item.payload?.$case !== "artifactUpdate") continue;
    const piece = textsOf(item.payload.value.artifact?.parts as Part[]).join("");
    text = item.payload.value.append ? text + piece : piece;
  }
  return text;
}

describe("A2A with @a2a-js/sdk (postgres+nats)", () => {
  let net: Network;
  let ownerToken: string;
  let callerToken: string;
  let echo: Agent;
  let hidden: Agent;
  let owner: AgentnetClient;
  const received: MessageView[] = [];
  const auth = () => ({ serviceParameters: { authorization: `Bearer ${callerToken}` } });

  beforeAll(async () => {
    net = await startNetwork("postgres+nats", { AGENTNET_SEND_RATE_PER_SECOND: "1000", AGENTNET_SEND_RATE_BURST: "1000" });
    const o = await net.user("a2a_owner");
    ownerToken = o.token;
    owner = o.client();
    echo = await owner.register({ username: "echo", displayName: "Echo", capabilities: ["echo", "streaming"], bio: "Says it back." });
    echo.onMessage(async (m) => {
      received.push(m);
      if (m.text === "stream please") {
        const s = m.stream();
        await s.start();
        for (const piece of ["str", "eam", "ed"]) await s.delta(piece);
        await s.end();
        return;
      }
      if (m.text === "refuse please") return void (await m.replyError("no_can_do", "asked to refuse"));
      if (m.text === "hold please") return void (await new Promise((r) => setTimeout(r, 3000)));
      if (m.isRequest) await m.replyText(`echo: ${m.text ?? ""}`);
    });
    await echo.ready();
    hidden = await owner.register({ username: "hidden", visibility: "private", bio: "Owner's eyes only." });
    hidden.onMessage(async (m) => void (m.isRequest && (await m.replyText("psst"))));
    await hidden.ready();
    const c = await net.user("a2a_caller");
    callerToken = c.token;
    await c.client().register({ username: "a2a_caller_acct" });
  }, 120_000);
  afterAll(async () => net?.close());

  const viaJsonRpc = () => new ClientFactory().createFromUrl(`${net.url}/a2a/echo/.well-known/agent-card.json`, "");
  const viaGrpc = () =>
    new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        transports: [new GrpcTransportFactory()],
        preferredTransports: ["GRPC"],
      }),
    ).createFromUrl(`${net.url}/a2a/echo/.well-known/agent-card.json`, "");

  it("serves an agent card a plain A2A client reads: skills from capabilities, both bindings, security schemes, presence", async () => {
    const res = await fetch(`${net.url}/a2a/echo/.well-known/agent-card.json`);
    expect(res.status).toBe(200);
    const card = (await res.json()) as CardJson;
    expect(card.name).toBe("Echo");
    expect(card.description).toBe("Says it back.");
    expect(card.skills.map((s) => s.id)).toEqual(["echo", "streaming"]);
    expect(card.supportedInterfaces).toEqual([
      { url: `${net.url}/a2a/echo`, protocolBinding: "JSONRPC", protocolVersion: "1.0" },
      { url: new URL(net.url).host, protocolBinding: "GRPC", tenant: "echo", protocolVersion: "1.0" },
    ]);
    expect(Object.keys(card.securitySchemes)).toEqual(["bearer", "apiKey"]);
    const presence = card.capabilities.extensions.find((e) => e.uri.includes("presence"));
    expect(presence?.params).toMatchObject({ online: true, sessions: 1, username: "echo" });

    // The gateway's card links every agent the caller may see.
    const gateway = (await (await fetch(`${net.url}/.well-known/agent-card.json`)).json()) as CardJson;
    const directory = gateway.capabilities.extensions.find((e) => e.uri.includes("directory"))!;
    const agents = directory.params["agents"] as Array<{ username: string; card: string }>;
    const listed = agents.map((a) => a.username);
    expect(listed).toContain("echo");
    expect(listed).not.toContain("hidden");
    expect(agents.find((a) => a.username === "echo")?.card).toBe(`${net.url}/a2a/echo/.well-known/agent-card.json`);
  });

  it("a private agent's card is for its owner only; others get 404 and cannot send to it", async () => {
    expect((await fetch(`${net.url}/a2a/hidden/.well-known/agent-card.json`)).status).toBe(404);
    const asCaller = await fetch(`${net.url}/a2a/hidden/.well-known/agent-card.json`, {
      headers: { authorization: `Bearer ${callerToken}` },
    });
    expect(asCaller.status).toBe(404);
    const asOwner = await fetch(`${net.url}/a2a/hidden/.well-known/agent-card.json`, {
      headers: { authorization: `Bearer ${ownerToken}` },
    });
    expect(asOwner.status).toBe(200);
    // Through the gateway's card (its JSON-RPC endpoint takes the agent as `tenant`).
    const client = await new ClientFactory().createFromUrl(net.url);
    const toHidden = { ...send([textPart("hi")]), tenant: "hidden" };
    const refused = await client.sendMessage(toHidden, auth()).catch((e: unknown) => e);
    expect(String(refused)).toMatch(/no agent @hidden/);
    // The owner has two accounts: the sending one is named as a service parameter, as as_account_id is on Send.
    const twoAccounts = await client
      .sendMessage(toHidden, { serviceParameters: { authorization: `Bearer ${ownerToken}` } })
      .catch((e: unknown) => e);
    expect(String(twoAccounts)).toMatch(/agentnet-as-account/);
    const answered = (await client.sendMessage(toHidden, {
      serviceParameters: { authorization: `Bearer ${ownerToken}`, "agentnet-as-account": echo.accountId },
    })) as Task;
    expect(textsOf(answered.artifacts[0]?.parts as Part[])).toEqual(["psst"]);
  });

  for (const [binding, connect] of [
    ["JSON-RPC", viaJsonRpc],
    ["gRPC", viaGrpc],
  ] as const) {
    it(`${binding}: SendMessage reaches the agent as a request with the parts preserved, and its reply completes the task`, async () => {
      const client = await connect();
      const before = received.length;
      const parts: Part[] = [
        textPart(`hello over ${binding}`),
        part({ $case: "data", value: { n: 1, list: ["a", "b"] } }, "application/json"),
        part({ $case: "url", value: "https://example.com/a.png" }, "image/png", "a.png"),
      ];
      const task = (await client.sendMessage(send(parts), auth())) as Task;
      expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
      expect(textsOf(task.artifacts[0]?.parts as Part[])).toEqual([`echo: hello over ${binding}`]);
      expect(textsOf(task.status?.message?.parts as Part[])).toEqual([`echo: hello over ${binding}`]);
      expect(task.history.map((m) => m.role)).toEqual([Role.ROLE_USER, Role.ROLE_AGENT]);

      await until(() => received.length > before);
      const request = received.at(-1)!;
      expect(request.isRequest).toBe(true);
      expect(request.text).toBe(`hello over ${binding}`);
      expect(request.from.username).toBe("a2a_caller_acct");
      const carried = (request.payload["a2a"] as { message: { parts: unknown[]; taskId: string; role: string } }).message;
      expect(carried.taskId).toBe(task.id);
      expect(carried.role).toBe("ROLE_USER");
      expect(carried.parts).toEqual([
        { text: `hello over ${binding}` },
        { data: { n: 1, list: ["a", "b"] }, mediaType: "application/json" },
        { url: "https://example.com/a.png", mediaType: "image/png", filename: "a.png" },
      ]);
    });

    it(`${binding}: SendStreamingMessage shows the agent's streamed answer as status and artifact updates`, async () => {
      const client = await connect();
      const items = await collect(client.sendMessageStream(send([textPart("stream please")]), auth()));
      expect(items[0]?.payload?.$case).toBe("task");
      const kinds = items.map((i) => i.payload?.$case);
      expect(kinds.filter((k) => k === "artifactUpdate").length).toBeGreaterThanOrEqual(4);
      expect(assembled(items)).toBe("streamed");
      const last = items.at(-1)!;
      expect(last.payload?.$case).toBe("statusUpdate");
      expect(last.payload?.$case === "statusUpdate" && last.payload.value.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
      // Pieces are appended; the last chunk is the whole artifact again.
      const updates = items.flatMap((i) => (i.payload?.$case === "artifactUpdate" ? [i.payload.value] : []));
      expect(updates.map((u) => textsOf(u.artifact?.parts as Part[]).join(""))).toEqual(["str", "eam", "ed", "streamed"]);
      expect(updates.map((u) => u.lastChunk)).toEqual([false, false, false, true]);
    });
  }

  it("an agent's error answer fails the task, with the reason in its status", async () => {
    const task = (await (await viaJsonRpc()).sendMessage(send([textPart("refuse please")]), auth())) as Task;
    expect(task.status?.state).toBe(TaskState.TASK_STATE_FAILED);
    expect(textsOf(task.status?.message?.parts as Part[])[0]).toBe("no_can_do: asked to refuse");
  });

  it("leaves nothing waiting in the asking account's inbox: answers are consumed as the task shows them", async () => {
    const client = await viaJsonRpc();
    const later = (await client.sendMessage(send([textPart("later")], { returnImmediately: true }), auth())) as Task;
    const streamed = await collect(client.sendMessageStream(send([textPart("stream please")]), auth()));
    const tasks = [later.id, streamed[0]?.payload?.$case === "task" ? streamed[0].payload.value.id : ""];
    await expect
      .poll(async () => (await client.getTask({ tenant: "", id: later.id }, auth())).status?.state, { timeout: 30_000 })
      .toBe(TaskState.TASK_STATE_COMPLETED);
    const messaging = rpcClient(MessagingService, net.url, callerToken);
    for (const id of tasks) {
      const task = await client.getTask({ tenant: "", id }, auth());
      const threadId = (task.metadata as Record<string, string>)["agentnet.dev/thread_id"]!;
      await expect
        .poll(async () => (await messaging.getThreadMessages({ threadId })).messages.map((m) => DeliveryStatus[m.status]), {
          timeout: 30_000,
        })
        .toSatisfy((statuses: string[]) => statuses.length >= 2 && statuses.every((st) => st === "PROCESSED"));
    }
  });

  it("lists the caller's tasks newest first, page by page, and nobody else's", async () => {
    const client = await viaJsonRpc();
    const contextId = randomUUID();
    for (const n of [1, 2, 3]) await client.sendMessage(send([textPart(`ctx ${n}`)], undefined, { contextId }), auth());
    const first = await client.listTasks(listing({ contextId, pageSize: 2, includeArtifacts: true }), auth());
    expect(first.totalSize).toBe(3);
    expect(first.tasks.map((t) => textsOf(t.artifacts[0]?.parts as Part[])[0])).toEqual(["echo: ctx 3", "echo: ctx 2"]);
    const second = await client.listTasks(listing({ contextId, pageSize: 2, pageToken: first.nextPageToken }), auth());
    expect(second.tasks).toHaveLength(1);
    expect(second.nextPageToken).toBe("");
    expect(second.tasks[0]?.artifacts ?? []).toEqual([]);
    const asOwner = await client.listTasks(listing({ contextId }), {
      serviceParameters: { authorization: `Bearer ${ownerToken}` },
    });
    expect(asOwner.tasks).toEqual([]);
    // One context, one agentnet thread.
    const threads = new Set(first.tasks.concat(second.tasks).map((t) => (t.metadata as Record<string, string>)["agentnet.dev/thread_id"]));
    expect(threads.size).toBe(1);
  });

  it("cancels a running task; an ended one refuses with TaskNotCancelable", async () => {
    const client = await viaJsonRpc();
    const started = (await client.sendMessage(send([textPart("hold please")], { returnImmediately: true }), auth())) as Task;
    expect([TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING]).toContain(started.status?.state);
    // A subscriber on the gRPC binding sees the cancellation made over JSON-RPC, and its stream ends there.
    const watching = collect((await viaGrpc()).resubscribeTask({ tenant: "", id: started.id }, auth()));
    await new Promise((r) => setTimeout(r, 300));
    const canceled = await client.cancelTask({ tenant: "", id: started.id, metadata: undefined }, auth());
    expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    const watched = await watching;
    expect(watched[0]?.payload?.$case).toBe("task");
    const end = watched.at(-1)!;
    expect(end.payload?.$case === "statusUpdate" && end.payload.value.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    const again = await client.cancelTask({ tenant: "", id: started.id, metadata: undefined }, auth()).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(TaskNotCancelableError);
    // The agent finishing later does not revive it.
    await new Promise((r) => setTimeout(r, 3500));
    expect((await client.getTask({ tenant: "", id: started.id }, auth())).status?.state).toBe(TaskState.TASK_STATE_CANCELED);
  });

  it("refuses an unknown task with TaskNotFound on both bindings, and a task of someone else's the same way", async () => {
    for (const connect of [viaJsonRpc, viaGrpc]) {
      const client = await connect();
      const missing = await client.getTask({ tenant: "", id: "no-such-task" }, auth()).catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(TaskNotFoundError);
      expect((missing as TaskNotFoundError).reason).toBe("TASK_NOT_FOUND");
      const mine = (await client.sendMessage(send([textPart("mine")]), auth())) as Task;
      const theirs = await client
        .getTask({ tenant: "", id: mine.id }, { serviceParameters: { authorization: `Bearer ${ownerToken}` } })
        .catch((e: unknown) => e);
      expect(theirs).toBeInstanceOf(TaskNotFoundError);
      const ended = await collect(client.resubscribeTask({ tenant: "", id: mine.id }, auth())).catch((e: unknown) => e);
      expect(ended).toBeInstanceOf(UnsupportedOperationError);
    }
  });

  it("refuses calls without credentials: HTTP 401 on JSON-RPC, UNAUTHENTICATED on gRPC", async () => {
    const res = await fetch(`${net.url}/a2a/echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "GetTask", params: { id: "x" } }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    const body = (await res.json()) as { id: number; error: { code: number; data: Array<{ reason: string }> } };
    expect(body.id).toBe(7);
    expect(body.error.data[0]?.reason).toBe("missing_credentials");
    const grpc = await (await viaGrpc()).getTask({ tenant: "", id: "x" }).catch((e: unknown) => e);
    expect(String(grpc)).toMatch(/credentials/);
  });

  it("reads a task back after the gateway restarts, on both bindings", async () => {
    const client = await viaJsonRpc();
    const task = (await client.sendMessage(send([textPart("remember me")]), auth())) as Task;
    const streamed = await collect(client.sendMessageStream(send([textPart("stream please")]), auth()));
    const streamedTask = streamed[0]?.payload?.$case === "task" ? streamed[0].payload.value : undefined;
    await net.restart();
    await until(async () => (await fetch(`${net.url}/a2a/echo/.well-known/agent-card.json`)).ok);
    for (const connect of [viaJsonRpc, viaGrpc]) {
      const after = await (await connect()).getTask({ tenant: "", id: task.id }, auth());
      expect(after.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
      expect(textsOf(after.artifacts[0]?.parts as Part[])).toEqual(["echo: remember me"]);
      const s = await (await connect()).getTask({ tenant: "", id: streamedTask!.id }, auth());
      expect(textsOf(s.artifacts[0]?.parts as Part[])).toEqual(["streamed"]);
    }
  });
});
