// `agentnet sessions …` and `agentnet voice …`, run as the real binary against a live gateway whose chat sessions use
// the built-in echo provider and whose voice agents talk to the fake Agora server of the voice tests.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import { client } from "../support/clients.js";
import { type RunResult, runCli } from "../support/cli.js";
import { ADMIN_PASSWORD, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";
import { FakeAgora } from "../voice/fake-agora.js";
import { voiceEnv } from "../voice/helpers.js";

describe("agentnet sessions and voice", () => {
  let backend: TestBackend;
  let gw: TestGateway;
  let fake: FakeAgora;
  let env: Record<string, string>;
  const cli = (args: string[]) => runCli(args, env);
  const oneLine = (res: RunResult) => {
    const lines = res.stderr.trim().split("\n");
    expect(lines, res.stderr).toHaveLength(1);
    return lines[0]!;
  };

  beforeAll(async () => {
    fake = await new FakeAgora().start();
    backend = await createBackend("embedded");
    gw = await startTestGateway(backend, voiceEnv(fake));
    const { accessToken } = await client(AuthService, gw.url).login({ username: "admin", password: ADMIN_PASSWORD });
    env = { AGENTNET_URL: gw.url, AGENTNET_TOKEN: accessToken };
  });
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
    await fake?.close();
  });

  it("sessions: providers, create, send with --wait, stream, list, get, delete", async () => {
    const providers = await cli(["sessions", "providers"]);
    expect(providers.code, providers.stderr).toBe(0);
    expect(providers.stdout).toMatch(/^echo\s+yes/m);

    const created = await cli(["sessions", "create", "--agent", "helper=echo", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const session = JSON.parse(created.stdout) as { sessionId: string; threadId: string };
    expect(session.sessionId).not.toBe("");

    const sent = await cli(["sessions", "send", session.sessionId, "hello there", "--wait"]);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout.trim()).toMatch(/^helper: .*hello there/);

    const stream = await cli(["sessions", "stream", session.sessionId, "--count", "3"]);
    expect(stream.code, stream.stderr).toBe(0);
    // The opening system event, the text, the answer's pieces joined on one line, then the whole response.
    const lines = stream.stdout.trim().split("\n");
    expect(lines.map((l) => l.split(/\s+/)[1])).toEqual(["system", "text", "delta", "response"]);
    const response = lines[3]!.slice(lines[3]!.indexOf(": ") + 2);
    expect(response).toMatch(/hello there/);
    expect(lines[2]!.slice(lines[2]!.indexOf(": ") + 2)).toBe(response);
    const whole = await cli(["sessions", "stream", session.sessionId, "--count", "3", "--no-deltas"]);
    expect(
      whole.stdout
        .trim()
        .split("\n")
        .map((l) => l.split(/\s+/)[1]),
    ).toEqual(["system", "text", "response"]);

    const listed = await cli(["sessions", "list"]);
    expect(listed.stdout).toContain(session.sessionId);
    const got = await cli(["sessions", "get", session.sessionId]);
    expect(got.stdout).toMatch(new RegExp(`^session_id:\\s+${session.sessionId}$`, "m"));
    expect(got.stdout).toMatch(/^type:\s+human-agent$/m);

    const deleted = await cli(["sessions", "delete", session.sessionId]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout.trim()).toBe(`deleted ${session.sessionId}`);
    const gone = await cli(["sessions", "get", session.sessionId]);
    expect(gone.code).toBe(1);
    expect(oneLine(gone)).toMatch(/\(session_not_found\)$/);
    const bad = await cli(["sessions", "create", "--agent", "nonsense"]);
    expect(bad.code).toBe(2);
  });

  it("voice: config, start, list and stop against Agora's API", async () => {
    const config = await cli(["voice", "config", "--channel", "room_1"]);
    expect(config.code, config.stderr).toBe(0);
    expect(config.stdout).toMatch(/^channel_name:\s+room_1$/m);
    expect(config.stdout).toMatch(/^token:\s+007\S+$/m);

    const started = await cli(["voice", "start", "--channel", "room_1", "--remote-uid", "1001", "--json"]);
    expect(started.code, started.stderr).toBe(0);
    const agent = JSON.parse(started.stdout) as { agentId: string; channelName: string };
    expect(agent.channelName).toBe("room_1");

    const listed = await cli(["voice", "list"]);
    expect(listed.stdout).toContain(agent.agentId);
    const stopped = await cli(["voice", "stop", agent.agentId]);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout.trim()).toMatch(new RegExp(`^stopped voice agent ${agent.agentId}: \\w+$`));
    const missing = await cli(["voice", "start"]);
    expect(missing.code).toBe(2);
  });
});
