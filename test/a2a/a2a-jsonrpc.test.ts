// The JSON-RPC binding seen from the wire (A2A §9): malformed envelopes and parameters get JSON-RPC's codes with a
// reason, never an internal error; the resumable-streams extension replays a stream after the seq a client saw.
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Agent } from "../../clients/ts/src/index.js";
import { type Network, startNetwork } from "../clients/ts/helpers.js";
import { sampleValue, scrape } from "../support/metrics.js";

interface RpcAnswer {
  status: number;
  body: {
    jsonrpc: string;
    id: unknown;
    result?: Record<string, unknown>;
    error?: { code: number; message: string; data: Array<Record<string, unknown>> };
  };
}

const METHODS = ["SendMessage", "SendStreamingMessage", "GetTask", "ListTasks", "CancelTask", "SubscribeToTask", "GetExtendedAgentCard"];

describe("A2A JSON-RPC binding (embedded)", () => {
  let net: Network;
  let token: string;
  let echo: Agent;

  beforeAll(async () => {
    net = await startNetwork("embedded", { AGENTNET_SEND_RATE_PER_SECOND: "1000", AGENTNET_SEND_RATE_BURST: "1000" });
    const u = await net.user("rpc_user");
    token = u.token;
    echo = await u.client().register({ username: "rpc_echo" });
    echo.onMessage(async (m) => {
      if (m.text !== "stream please") return void (m.isRequest && (await m.replyText(`echo: ${m.text ?? ""}`)));
      const s = m.stream();
      await s.start();
      for (const piece of ["a", "b", "c", "d"]) await s.delta(piece);
      await s.end();
    });
    await echo.ready();
  }, 60_000);
  afterAll(async () => net?.close());

  async function post(body: string, headers: Record<string, string> = {}, path = "/a2a/rpc_echo"): Promise<RpcAnswer> {
    const res = await fetch(`${net.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...headers },
      body,
    });
    return { status: res.status, body: (await res.json()) as RpcAnswer["body"] };
  }
  const rpc = (method: string, params: unknown, headers?: Record<string, string>) =>
    post(JSON.stringify({ jsonrpc: "2.0", id: "r1", method, params }), headers);

  /** The SSE events of a streaming call, as parsed JSON-RPC responses. */
  async function events(method: string, params: unknown, headers: Record<string, string> = {}): Promise<Array<RpcAnswer["body"]>> {
    const res = await fetch(`${net.url}/a2a/rpc_echo`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${token}`, ...headers },
      body: JSON.stringify({ jsonrpc: "2.0", id: 9, method, params }),
    });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const text = await res.text();
    return text
      .split("\n\n")
      .filter((chunk) => chunk.startsWith("data: "))
      .map((chunk) => JSON.parse(chunk.slice("data: ".length)) as RpcAnswer["body"]);
  }
  const message = (text: string) => ({ message: { messageId: randomUUID(), role: "ROLE_USER", parts: [{ text }] } });

  it("answers SendMessage in A2A's JSON: a completed task, enum names, ISO timestamps", async () => {
    const answer = await rpc("SendMessage", message("hi"));
    expect(answer.status).toBe(200);
    expect(answer.body.id).toBe("r1");
    const task = answer.body.result!["task"] as { status: { state: string; timestamp: string }; artifacts: Array<{ parts: unknown[] }> };
    expect(task.status.state).toBe("TASK_STATE_COMPLETED");
    expect(task.status.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(task.artifacts[0]?.parts).toEqual([{ text: "echo: hi" }]);
  });

  it("a retried SendMessage (same message id) is the same task, not a second request", async () => {
    const params = message("once");
    const first = await rpc("SendMessage", params);
    const again = await rpc("SendMessage", params);
    expect((again.body.result!["task"] as { id: string }).id).toBe((first.body.result!["task"] as { id: string }).id);
    // Retries racing each other too.
    const raced = message("raced");
    const answers = await Promise.all([1, 2, 3].map(() => rpc("SendMessage", raced)));
    expect(new Set(answers.map((a) => (a.body.result?.["task"] as { id: string } | undefined)?.id)).size, JSON.stringify(answers)).toBe(1);
  });

  it("a message to an agent that is offline waits for it: the task is SUBMITTED, then completes once the agent comes", async () => {
    const owner = (await net.user("rpc_late_owner")).client();
    const late = await owner.register({ username: "rpc_late" });
    const send = await post(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "SendMessage",
        params: { ...message("are you there"), configuration: { returnImmediately: true }, metadata: { "agentnet.dev/ttl_ms": 120_000 } },
      }),
      {},
      "/a2a/rpc_late",
    );
    const task = send.body.result!["task"] as { id: string; status: { state: string } };
    expect(task.status.state).toBe("TASK_STATE_SUBMITTED");
    late.onMessage(async (m) => void (m.isRequest && (await m.replyText("here now"))));
    await expect
      .poll(async () => ((await rpc("GetTask", { id: task.id })).body.result as { status: { state: string } }).status.state, {
        timeout: 30_000,
      })
      .toBe("TASK_STATE_COMPLETED");
    const bad = await rpc("SendMessage", { ...message("x"), metadata: { "agentnet.dev/ttl_ms": "soon" } });
    expect(bad.body.error?.code).toBe(-32602);
    const tooLong = await rpc("SendMessage", { ...message("x"), metadata: { "agentnet.dev/ttl_ms": 10 ** 12 } });
    expect(tooLong.body.error?.data[0]?.["reason"]).toBe("ttl_too_long");
  });

  it("refuses malformed envelopes with JSON-RPC's codes", async () => {
    const cases: Array<[string, string, number]> = [
      ["not JSON", "{nope", -32700],
      ["a batch", JSON.stringify([{ jsonrpc: "2.0", id: 1, method: "GetTask", params: { id: "x" } }]), -32600],
      ["no jsonrpc version", JSON.stringify({ id: 1, method: "GetTask" }), -32600],
      ["an object id", JSON.stringify({ jsonrpc: "2.0", id: {}, method: "GetTask" }), -32600],
      ["an unknown method", JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tasks/get", params: {} }), -32601],
      ["params that are not an object", JSON.stringify({ jsonrpc: "2.0", id: 1, method: "GetTask", params: [1] }), -32602],
      ["an unknown field", JSON.stringify({ jsonrpc: "2.0", id: 1, method: "GetTask", params: { id: "x", bogus: 1 } }), -32602],
      ["a wrong type", JSON.stringify({ jsonrpc: "2.0", id: 1, method: "GetTask", params: { id: 5 } }), -32602],
      [
        "an unknown task state",
        JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ListTasks", params: { status: "TASK_STATE_NAPPING" } }),
        -32602,
      ],
      ["a page size over 100", JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ListTasks", params: { pageSize: 1000 } }), -32602],
      ["a mangled page token", JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ListTasks", params: { pageToken: "zz" } }), -32602],
      [
        "a message without parts",
        JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "SendMessage",
          params: { message: { messageId: "m", role: "ROLE_USER", parts: [] } },
        }),
        -32602,
      ],
      [
        "an agent's role",
        JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "SendMessage",
          params: { message: { messageId: "m", role: "ROLE_AGENT", parts: [{ text: "x" }] } },
        }),
        -32602,
      ],
      [
        "another agent's tenant",
        JSON.stringify({ jsonrpc: "2.0", id: 1, method: "SendMessage", params: { tenant: "someone_else", ...message("x") } }),
        -32602,
      ],
    ];
    for (const [what, body, code] of cases) {
      const answer = await post(body);
      expect([answer.status, answer.body.error?.code], `${what}: ${JSON.stringify(answer.body)}`).toEqual([200, code]);
      expect(answer.body.error?.message, what).not.toBe("");
    }
  });

  it("refuses what A2A defines with A2A's codes and reasons", async () => {
    const cases: Array<[string, unknown, number, string]> = [
      ["GetTask", { id: "nope" }, -32001, "TASK_NOT_FOUND"],
      ["CancelTask", { id: "nope" }, -32001, "TASK_NOT_FOUND"],
      ["SubscribeToTask", { id: "nope" }, -32001, "TASK_NOT_FOUND"],
      ["CreateTaskPushNotificationConfig", { taskId: "t", url: "https://example.com/hook" }, -32003, "PUSH_NOTIFICATION_NOT_SUPPORTED"],
      ["GetExtendedAgentCard", {}, -32007, "EXTENDED_AGENT_CARD_NOT_CONFIGURED"],
      [
        "SendMessage",
        { message: { messageId: "m2", taskId: "nope", role: "ROLE_USER", parts: [{ text: "x" }] } },
        -32001,
        "TASK_NOT_FOUND",
      ],
    ];
    for (const [method, params, code, reason] of cases) {
      const answer = await rpc(method, params);
      expect([answer.body.error?.code, answer.body.error?.data[0]?.["reason"], answer.body.error?.data[0]?.["domain"]], method).toEqual([
        code,
        reason,
        "a2a-protocol.org",
      ]);
    }
    const version = await rpc("GetTask", { id: "x" }, { "a2a-version": "0.3" });
    expect([version.body.error?.code, version.body.error?.data[0]?.["reason"]]).toEqual([-32009, "VERSION_NOT_SUPPORTED"]);
  });

  it("never answers an internal error, for generated parameters to every method", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...METHODS),
        fc.dictionary(
          fc.constantFrom("id", "message", "tenant", "pageSize", "contextId", "status", "historyLength", "configuration", "x"),
          fc.jsonValue({ maxDepth: 3 }),
        ),
        async (method, params) => {
          const answer = await rpc(method, params);
          if (answer.body.result) return;
          const where = `${method} ${JSON.stringify(params)}: ${JSON.stringify(answer.body.error)}`;
          expect(answer.body.error?.code, where).not.toBe(-32603);
          expect(answer.body.error?.data[0]?.["reason"], where).toMatch(/^([a-z][a-z0-9_]*|[A-Z][A-Z0-9_]*)$/);
        },
      ),
      { numRuns: 200 },
    );
  }, 120_000);

  it("resumable streams: every event carries its seq; SubscribeToTask after a seq replays only what followed, even once ended", async () => {
    const all = await events("SendStreamingMessage", message("stream please"));
    const task = all[0]!.result!["task"] as { id: string };
    const seqs = all
      .slice(1)
      .map((e) => (Object.values(e.result!)[0] as { metadata: Record<string, number> }).metadata["agentnet.dev/seq"]);
    expect(seqs.every((s) => typeof s === "number")).toBe(true);
    const pieces = all.flatMap((e) => {
      const update = e.result!["artifactUpdate"] as
        | { artifact: { parts: Array<{ text: string }> }; metadata: Record<string, number> }
        | undefined;
      return update ? [{ text: update.artifact.parts[0]!.text, seq: update.metadata["agentnet.dev/seq"]! }] : [];
    });
    expect(pieces.map((p) => p.text)).toEqual(["a", "b", "c", "d", "abcd"]);
    // A client that saw up to "b" resumes: it gets c, d, the whole artifact and the final status, nothing before.
    const resumed = await events("SubscribeToTask", { id: task.id }, { "agentnet-resume-after": String(pieces[1]!.seq) });
    const resumedPieces = resumed.flatMap((e) => {
      const update = e.result!["artifactUpdate"] as { artifact: { parts: Array<{ text: string }> } } | undefined;
      return update ? [update.artifact.parts[0]!.text] : [];
    });
    expect(resumedPieces).toEqual(["c", "d", "abcd"]);
    const last = resumed.at(-1)!.result!["statusUpdate"] as { status: { state: string } };
    expect(last.status.state).toBe("TASK_STATE_COMPLETED");
    // Without the extension an ended task refuses a subscription, as A2A says.
    const plain = await rpc("SubscribeToTask", { id: task.id });
    expect(plain.body.error?.data[0]?.["reason"]).toBe("UNSUPPORTED_OPERATION");
    const bad = await rpc("SubscribeToTask", { id: task.id }, { "agentnet-resume-after": "soon" });
    expect([bad.body.error?.code, bad.body.error?.data[0]?.["reason"]]).toEqual([-32602, "invalid_argument"]);
  });

  it("counts its calls in the RPC metrics with the gRPC binding's: by A2A method and code, streams when they end", async () => {
    const calls = async () => {
      const samples = (await scrape(net.url)).samples;
      const count = (method: string, code: string) =>
        sampleValue(samples, "agentnet_rpc_requests_total", { service: "lf.a2a.v1.A2AService", method, code });
      const timed = (method: string, code: string) =>
        sampleValue(samples, "agentnet_rpc_duration_seconds_count", { service: "lf.a2a.v1.A2AService", method, code });
      return {
        sent: count("SendMessage", "ok"),
        sentTimed: timed("SendMessage", "ok"),
        notFound: count("GetTask", "not_found"),
        streamed: count("SendStreamingMessage", "ok"),
        streamedTimed: timed("SendStreamingMessage", "ok"),
        invalid: count("InvalidRequest", "invalid_argument"),
        unknownMethod: count("InvalidRequest", "unimplemented"),
        noCredentials: count("SendMessage", "unauthenticated"),
      };
    };
    const before = await calls();
    await rpc("SendMessage", message("counted"));
    await rpc("GetTask", { id: randomUUID() });
    await events("SendStreamingMessage", message("stream please"));
    await post("{not json");
    await rpc("Frobnicate", {});
    await post(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "SendMessage", params: message("x") }), { authorization: "" });
    const after = await calls();
    expect({
      sent: after.sent - before.sent,
      sentTimed: after.sentTimed - before.sentTimed,
      notFound: after.notFound - before.notFound,
      streamed: after.streamed - before.streamed,
      streamedTimed: after.streamedTimed - before.streamedTimed,
      invalid: after.invalid - before.invalid,
      unknownMethod: after.unknownMethod - before.unknownMethod,
      noCredentials: after.noCredentials - before.noCredentials,
    }).toEqual({ sent: 1, sentTimed: 1, notFound: 1, streamed: 1, streamedTimed: 0, invalid: 1, unknownMethod: 1, noCredentials: 1 });
    const open = sampleValue((await scrape(net.url)).samples, "agentnet_rpc_open_streams", {
      service: "lf.a2a.v1.A2AService",
      method: "SendStreamingMessage",
    });
    expect(open).toBe(0);
  });
});
