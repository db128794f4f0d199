// A2A through a crash: an A2A client streams an answer through one gateway while the agent answers on another;
// the client's gateway is killed with SIGKILL mid-stream. The client resumes on the surviving gateway with the
// resumable-streams extension (after the last seq it saw) and gets exactly the rest, and the task reads complete.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentnetClient, connect } from "../../clients/ts/src/index.js";
import { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import { freePort } from "../harness/ports.js";
import { type RunningServer, startCliServer } from "../support/cli.js";
import { client } from "../support/clients.js";
import { ADMIN_PASSWORD, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";

const FAST = { AGENTNET_SEND_RATE_PER_SECOND: "100000", AGENTNET_SEND_RATE_BURST: "100000" };

interface Event {
  kind: string;
  text?: string;
  seq: number;
  state?: string;
  taskId?: string;
  /** An error event's reason (kind "error"). */
  reason?: string;
}

/** Reads an SSE response of A2A stream events as they come, handing each to `onEvent`. */
async function readEvents(res: Response, onEvent: (e: Event) => void): Promise<void> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffered += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffered.indexOf("\n\n")) >= 0) {
        const chunk = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (!chunk.startsWith("data: ")) continue;
        const answer = JSON.parse(chunk.slice(6)) as {
          result?: Record<string, Record<string, unknown>>;
          error?: { data: Array<{ reason?: string }> };
        };
        if (answer.error) {
          onEvent({ kind: "error", seq: 0, reason: answer.error.data[0]?.reason ?? "" });
          continue;
        }
        const result = answer.result!;
        const [kind, value] = Object.entries(result)[0]!;
        const metadata = (value["metadata"] ?? {}) as Record<string, number>;
        const artifact = value["artifact"] as { parts: Array<{ text?: string }> } | undefined;
        const status = value["status"] as { state: string } | undefined;
        onEvent({
          kind,
          seq: metadata["agentnet.dev/seq"] ?? 0,
          ...(artifact && { text: artifact.parts.map((p) => p.text ?? "").join("") }),
          ...(status && { state: status.state }),
          ...(kind === "task" && { taskId: value["id"] as string, state: (value["status"] as { state: string }).state }),
        });
      }
    }
  } catch {
    // The connection died with its gateway: what arrived is what the client saw.
  }
}

describe("A2A through a gateway crash (postgres+nats)", () => {
  let backend: TestBackend;
  let gw: TestGateway;
  let child: RunningServer | undefined;
  let agents: AgentnetClient;
  let token: string;
  let release: () => void = () => undefined;

  beforeAll(async () => {
    backend = await createBackend("postgres+nats");
    gw = await startTestGateway(backend, FAST);
    const admin = client(AuthService, gw.url);
    const { accessToken: adminToken } = await admin.login({ username: "admin", password: ADMIN_PASSWORD });
    for (const name of ["crash_owner", "crash_caller"]) {
      await client(AuthService, gw.url, adminToken).createUser({ username: name, password: `${name}-pw` });
    }
    const owner = (await admin.login({ username: "crash_owner", password: "crash_owner-pw" })).accessToken;
    token = (await admin.login({ username: "crash_caller", password: "crash_caller-pw" })).accessToken;
    agents = connect({ url: gw.url, token: owner });
    const agent = await agents.register({ username: "crash_streamer" });
    agent.onMessage(async (m) => {
      const s = m.stream();
      await s.start();
      for (const piece of ["one ", "two "]) await s.delta(piece);
      // The rest waits until the client's gateway is dead.
      await new Promise<void>((r) => (release = r));
      for (const piece of ["three ", "four"]) await s.delta(piece);
      await s.end();
    });
    await agent.ready();
    const callerAgents = connect({ url: gw.url, token });
    await callerAgents.register({ username: "crash_caller_acct" });
    await callerAgents.close();
  }, 120_000);
  afterAll(async () => {
    await child?.stop("SIGKILL");
    await agents?.close();
    await gw?.close();
    await backend?.dispose();
  });

  const rpc = (url: string, method: string, params: unknown, extra: Record<string, string> = {}) =>
    fetch(`${url}/a2a/crash_streamer`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...extra },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });

  /** A gateway of its own (a child process), and a streamed answer through it read up to the agent's pause. */
  async function streamThroughChild(env: Record<string, string> = {}) {
    const port = await freePort();
    child = await startCliServer({ ...backend.env, ...FAST, HOST: "127.0.0.1", PORT: String(port), LOG_LEVEL: "info", ...env });
    const seen: Event[] = [];
    const res = await rpc(`http://127.0.0.1:${port}`, "SendStreamingMessage", {
      message: { messageId: randomUUID(), role: "ROLE_USER", parts: [{ text: "go" }] },
    });
    let ended = false;
    const reading = readEvents(res, (e) => seen.push(e)).finally(() => (ended = true));
    await expect.poll(() => seen.filter((e) => e.kind === "artifactUpdate").length, { timeout: 30_000 }).toBe(2);
    expect(seen[0]!.kind).toBe("task");
    return { seen, taskId: seen[0]!.taskId!, reading, ended: () => ended };
  }

  /** Lets the agent finish, resumes on the surviving gateway after the last seq seen, and checks the whole answer. */
  async function resumeAndFinish(seen: Event[], taskId: string) {
    release();
    const lastSeq = Math.max(...seen.map((e) => e.seq));
    const rest: Event[] = [];
    await readEvents(await rpc(gw.url, "SubscribeToTask", { id: taskId }, { "agentnet-resume-after": String(lastSeq) }), (e) =>
      rest.push(e),
    );
    const pieces = [...seen, ...rest].filter((e) => e.kind === "artifactUpdate").map((e) => e.text);
    expect(pieces).toEqual(["one ", "two ", "three ", "four", "one two three four"]);
    expect(rest.every((e) => e.seq >= lastSeq)).toBe(true);
    expect(rest.at(-1)).toMatchObject({ kind: "statusUpdate", state: "TASK_STATE_COMPLETED" });
  }

  it("resumes after the last seq seen on another gateway: the rest arrives once, and the task reads complete", async () => {
    const { seen, taskId, reading } = await streamThroughChild();
    await child!.stop("SIGKILL");
    child = undefined;
    await reading;
    await resumeAndFinish(seen, taskId);

    const task = (await (await rpc(gw.url, "GetTask", { id: taskId })).json()) as {
      result: { status: { state: string }; artifacts: Array<{ parts: Array<{ text: string }> }> };
    };
    expect(task.result.status.state).toBe("TASK_STATE_COMPLETED");
    expect(task.result.artifacts[0]?.parts).toEqual([{ text: "one two three four" }]);
  }, 180_000);

  it("a gateway that shuts down ends its SSE streams at once with shutting_down, not after its grace period; the client resumes elsewhere", async () => {
    // A grace period longer than the test's wait: only an ended stream lets the test go on in time.
    const { seen, taskId, reading, ended } = await streamThroughChild({ AGENTNET_SHUTDOWN_GRACE_SECONDS: "120" });
    child!.child.kill("SIGTERM");
    await expect.poll(ended, { timeout: 60_000 }).toBe(true);
    await reading;
    expect(seen.at(-1)).toMatchObject({ kind: "error", reason: "shutting_down" });
    await resumeAndFinish(seen, taskId);
    await child!.stop("SIGKILL");
    child = undefined;
  }, 240_000);
});
