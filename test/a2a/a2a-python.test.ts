// An agentnet agent reached by the official A2A Python SDK (a2a-sdk from PyPI) as an outside client: it discovers
// the agent by its card, sends, streams, lists, is refused as A2A says, and reads its tasks back after the gateway
// restarts. The SDK lives in test/a2a/python/.venv (clients/scripts/setup.sh makes it; CI counts that step).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Network, startNetwork, until } from "../clients/ts/helpers.js";

const here = path.dirname(new URL(import.meta.url).pathname);
const python = path.join(here, "python/.venv/bin/python");
const probe = path.join(here, "python/a2a_probe.py");
const haveSdk = existsSync(python) && spawnSync(python, ["-c", "import a2a.client"]).status === 0;
const run = promisify(execFile);

async function probeRun(args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(python, [probe, ...args], { timeout: 120_000 }).catch((err: { stderr?: string; message: string }) => {
    throw new Error(`a2a_probe.py ${args[0]} failed: ${err.stderr ?? err.message}`);
  });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
}

describe.skipIf(!haveSdk)("A2A with the Python a2a-sdk (postgres+nats)", () => {
  let net: Network;
  let token: string;

  beforeAll(async () => {
    net = await startNetwork("postgres+nats", { AGENTNET_SEND_RATE_PER_SECOND: "1000", AGENTNET_SEND_RATE_BURST: "1000" });
    const owner = (await net.user("py_owner")).client();
    const agent = await owner.register({ username: "py_echo", displayName: "Python's echo", capabilities: ["echo"] });
    agent.onMessage(async (m) => {
      if (m.text !== "stream please") return void (m.isRequest && (await m.replyText(`echo: ${m.text ?? ""}`)));
      const s = m.stream();
      await s.start();
      for (const piece of ["py", "th", "on"]) await s.delta(piece);
      await s.end();
    });
    await agent.ready();
    await owner.register({ username: "py_hidden", visibility: "private" });
    const caller = await net.user("py_caller");
    token = caller.token;
    await caller.client().register({ username: "py_caller_acct" });
  }, 120_000);
  afterAll(async () => net?.close());

  it("discovers, sends, streams, lists and is refused as A2A says; reads the tasks back after a gateway restart", async () => {
    const talked = await probeRun(["talk", net.url, token, "py_echo"]);
    expect(talked["card_name"]).toBe("Python's echo");
    expect(talked["answer"]).toEqual(["echo: hello from python"]);
    expect((talked["stream_kinds"] as string[])[0]).toBe("task");
    expect(talked["stream_pieces"]).toEqual(["py", "th", "on", "python"]);
    expect(talked["stream_final"]).toBe("TASK_STATE_COMPLETED");
    expect(talked["listed"]).toEqual([1, true]);
    expect(talked["unknown_task"]).toBe("TaskNotFoundError");
    expect(talked["no_credentials"]).toBe("401");
    expect(talked["private_card_status"]).toBe(404);

    await net.restart();
    await until(async () => (await fetch(`${net.url}/a2a/py_echo/.well-known/agent-card.json`)).ok);
    const ids = [talked["task_id"] as string, talked["stream_task_id"] as string];
    const read = await probeRun(["read", net.url, token, "py_echo", ...ids]);
    expect(read[ids[0]!]).toEqual({ state: "TASK_STATE_COMPLETED", answer: ["echo: hello from python"] });
    expect(read[ids[1]!]).toEqual({ state: "TASK_STATE_COMPLETED", answer: ["python"] });
  }, 240_000);
});
