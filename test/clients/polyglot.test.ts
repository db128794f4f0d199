// A TypeScript agent, a Python agent and a Go agent on two gateways sharing PostgreSQL and NATS exchange requests,
// replies and receipts, and an A2A client reaches the Python and Go ones. Needs the Python client's virtualenv
// (clients/scripts/setup.sh) and a Go toolchain.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Role, TaskState } from "@a2a-js/sdk";
import { ClientFactory } from "@a2a-js/sdk/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import { type Agent, type AgentnetClient, type StatusName, connect, statusName } from "../../clients/ts/src/index.js";
import { client } from "../support/clients.js";
import { ADMIN_PASSWORD, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const python = path.join(root, "clients/python/.venv/bin/python");
const havePython = existsSync(python) && spawnSync(python, ["-c", "import agentnet"]).status === 0;
const haveGo = spawnSync("go", ["version"]).status === 0;

interface Proc {
  child: ChildProcess;
  output: () => string;
  waitFor: (text: string, timeoutMs?: number) => Promise<void>;
}

function start(command: string, args: string[], env: Record<string, string>, cwd: string): Proc {
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  return {
    child,
    output: () => out,
    async waitFor(text, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!out.includes(text)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${command}: no "${text}" in:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

describe.skipIf(!havePython || !haveGo)("TypeScript, Python and Go agents on two gateways", () => {
  let backend: TestBackend;
  let gw1: TestGateway;
  let gw2: TestGateway;
  let buildDir: string;
  let ts: AgentnetClient;
  let hub: Agent;
  const procs: Proc[] = [];
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    backend = await createBackend("postgres+nats");
    [gw1, gw2] = [await startTestGateway(backend), await startTestGateway(backend)];
    const { accessToken } = await client(AuthService, gw1.url).login({ username: "admin", password: ADMIN_PASSWORD });
    const admin = client(AuthService, gw1.url, accessToken);
    for (const name of ["ts_user", "py_user", "go_user"]) {
      await admin.createUser({ username: name, password: `${name}-password` });
      tokens[name] = (await client(AuthService, gw2.url).login({ username: name, password: `${name}-password` })).accessToken;
    }
    buildDir = await mkdtemp(path.join(tmpdir(), "agentnet-go-"));
    const build = spawnSync("go", ["build", "-o", path.join(buildDir, "go-echo"), "./examples/echo"], {
      cwd: path.join(root, "clients/go"),
      encoding: "utf8",
    });
    if (build.status !== 0) throw new Error(`go build failed:\n${build.stderr}`);

    ts = connect({ url: gw1.url, token: tokens["ts_user"] });
    hub = await ts.register({ username: "ts_hub" });
    hub.onMessage(async (m) => {
      if (m.isRequest) await m.replyText(`ts: ${m.text ?? ""}`);
    });
    await hub.ready();
  }, 180_000);

  afterAll(async () => {
    for (const p of procs) p.child.kill("SIGTERM");
    await ts?.close();
    await gw1?.close();
    await gw2?.close();
    await backend?.dispose();
    if (buildDir) await rm(buildDir, { recursive: true, force: true });
  });

  it("exchange requests, replies and receipts across languages and gateways", async () => {
    const goEnv = (username: string, url: string, ask?: string) => ({
      AGENTNET_URL: url,
      AGENTNET_TOKEN: tokens["go_user"]!,
      AGENTNET_USERNAME: username,
      ...(ask ? { AGENTNET_ASK: ask } : {}),
    });
    // Go on gateway 1, Python on gateway 2.
    const goEcho = start(path.join(buildDir, "go-echo"), [], goEnv("go_echo", gw1.url), buildDir);
    procs.push(goEcho);
    await goEcho.waitFor("ready");
    const pyEcho = start(
      python,
      [path.join(root, "clients/python/examples/echo.py")],
      {
        AGENTNET_URL: gw2.url,
        AGENTNET_TOKEN: tokens["py_user"]!,
        AGENTNET_USERNAME: "py_echo",
        AGENTNET_ASK: "@go_echo",
      },
      root,
    );
    procs.push(pyEcho);
    await pyEcho.waitFor("asked @go_echo: echo: hello from @py_echo"); // Python (gw2) → Go (gw1)

    const goAsker = start(path.join(buildDir, "go-echo"), [], goEnv("go_asker", gw1.url, "@py_echo"), buildDir);
    procs.push(goAsker);
    await goAsker.waitFor("asked @py_echo: echo: hello from @go_asker"); // Go (gw1) → Python (gw2)
    const goToTs = start(path.join(buildDir, "go-echo"), [], goEnv("go_to_ts", gw2.url, "@ts_hub"), buildDir);
    procs.push(goToTs);
    await goToTs.waitFor("asked @ts_hub: ts: hello from @go_to_ts"); // Go (gw2) → TypeScript (gw1)

    // TypeScript (gw1) asks both, then sends and watches the receipts of what it sent.
    expect((await hub.askText("@py_echo", "hi python")).text).toBe("echo: hi python");
    expect((await hub.askText("@go_echo", "hi go")).text).toBe("echo: hi go");
    const seen = new Map<string, StatusName[]>();
    const abort = new AbortController();
    let live!: () => void;
    const synced = new Promise<void>((r) => (live = r));
    const watching = (async () => {
      for await (const r of hub.watchReceipts({ onSynced: () => live(), signal: abort.signal })) {
        seen.set(r.messageId, [...(seen.get(r.messageId) ?? []), statusName(r.status) as StatusName]);
      }
    })().catch(() => undefined);
    await synced;
    const toPy = await hub.sendText("@py_echo", "fyi python", { waitFor: "processed" });
    const toGo = await hub.sendText("@go_echo", "fyi go", { waitFor: "processed" });
    expect([statusName(toPy.status), statusName(toGo.status)]).toEqual(["processed", "processed"]);
    await expect
      .poll(() => [seen.get(toPy.messageId), seen.get(toGo.messageId)], { timeout: 20_000 })
      .toEqual([
        ["accepted", "delivered", "processed"],
        ["accepted", "delivered", "processed"],
      ]);
    abort.abort();
    await watching;
    // An A2A client that knows nothing of agentnet reaches the Python and Go agents through their cards.
    for (const username of ["py_echo", "go_echo"]) {
      const a2a = await new ClientFactory().createFromUrl(`${gw1.url}/a2a/${username}/.well-known/agent-card.json`, "");
      const message = {
        messageId: randomUUID(),
        role: Role.ROLE_USER,
        parts: [{ content: { $case: "text", value: `hello ${username}` } }],
      };
      const task = (await a2a.sendMessage({ message } as unknown as Parameters<typeof a2a.sendMessage>[0], {
        serviceParameters: { authorization: `Bearer ${tokens["ts_user"]}` },
      })) as { status?: { state: number }; artifacts: Array<{ parts: Array<{ content?: { value: unknown } }> }> };
      expect(task.status?.state, username).toBe(TaskState.TASK_STATE_COMPLETED);
      expect(task.artifacts[0]?.parts[0]?.content?.value, username).toBe(`echo: hello ${username}`);
    }
    // Both agents stayed online through it all.
    const profiles = await Promise.all(["py_echo", "go_echo"].map((u) => hub.getProfile(u)));
    expect(profiles.map((p) => p.online)).toEqual([true, true]);
  }, 120_000);
});
