// The operator commands, run as the real binary (dist/src/main.js) against a live gateway in this process, with
// agents written with the TypeScript SDK on the other side.
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import { type Agent, type AgentnetClient, connect } from "../../clients/ts/src/index.js";
import { client } from "../support/clients.js";
import { MAIN, type RunResult, runCli } from "../support/cli.js";
import { ADMIN_PASSWORD, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";

describe("agentnet operator commands", () => {
  let backend: TestBackend;
  let gw: TestGateway;
  let env: Record<string, string>;
  let bobEnv: Record<string, string>;
  let admin: AgentnetClient;
  let bob: AgentnetClient;
  let echo: Agent;
  let operator: Agent;

  const cli = (args: string[], input?: string, extraEnv: Record<string, string> = {}) => runCli(args, { ...env, ...extraEnv }, input);
  /** One line on stderr, nothing else. */
  const oneLine = (res: RunResult) => {
    const lines = res.stderr.trim().split("\n");
    expect(lines, res.stderr).toHaveLength(1);
    return lines[0]!;
  };

  beforeAll(async () => {
    backend = await createBackend("embedded");
    gw = await startTestGateway(backend);
    const { accessToken } = await client(AuthService, gw.url).login({ username: "admin", password: ADMIN_PASSWORD });
    env = { AGENTNET_URL: gw.url, AGENTNET_TOKEN: accessToken };
    admin = connect({ url: gw.url, token: accessToken });
    await admin.createUser("bob", "bob-password");
    const bobLogin = await client(AuthService, gw.url).login({ username: "bob", password: "bob-password" });
    bobEnv = { AGENTNET_URL: gw.url, AGENTNET_TOKEN: bobLogin.accessToken };
    bob = connect({ url: gw.url, token: bobLogin.accessToken });
    echo = await bob.register({
      username: "echo",
      displayName: "Echo Bot",
      capabilities: ["echo", "chat"],
      bio: "says it back",
      metadata: { team: "ops" },
    });
    echo.onMessage(async (m) => {
      if (m.isRequest) await m.replyText(`echo: ${m.text ?? JSON.stringify(m.payload)}`);
    });
    await echo.ready();
    operator = await admin.register({ username: "operator" });
    // An account with no live session, owned by someone else (admin and bob each own exactly one account).
    await admin.createUser("carl", "carl-password");
    const carl = connect({
      url: gw.url,
      token: (await client(AuthService, gw.url).login({ username: "carl", password: "carl-password" })).accessToken,
    });
    await (await carl.register({ username: "gone" })).close();
    await carl.close();
  });
  afterAll(async () => {
    await bob?.close();
    await admin?.close();
    await gw?.close();
    await backend?.dispose();
  });

  it("list: online agents as a table, or JSON", async () => {
    const res = await cli(["list"]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^USERNAME\s+ACCOUNT\s+ONLINE\s+SESSIONS\s+CAPABILITIES\s+DISPLAY NAME$/m);
    expect(res.stdout).toMatch(new RegExp(`^@echo\\s+${echo.accountId}\\s+yes\\s+1\\s+echo,chat\\s+Echo Bot$`, "m"));
    const json = await cli(["list", "--capability", "echo", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const agents = JSON.parse(json.stdout) as Array<{ username: string; online: boolean }>;
    expect(agents.map((a) => a.username)).toEqual(["echo"]);
    expect(agents[0]?.online).toBe(true);
  });

  it("search: by query, capability and online state", async () => {
    const res = await cli(["search", "ech", "--online-only"]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain("@echo");
    expect(res.stdout).not.toContain("@operator");
    const json = await cli(["search", "--query", "oper", "--json"]);
    expect((JSON.parse(json.stdout) as Array<{ username: string }>).map((a) => a.username)).toEqual(["operator"]);
    const none = await cli(["search", "--capability", "nothing-offers-this"]);
    expect(none.stdout.trim()).toBe("no matching agents");
  });

  it("profile: one agent with its sessions; an unknown one fails with its reason", async () => {
    const res = await cli(["profile", "--username", "echo"]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^username:\s+echo$/m);
    expect(res.stdout).toMatch(/^owner:\s+bob$/m);
    expect(res.stdout).toMatch(/^online:\s+yes \(1 session\)$/m);
    expect(res.stdout).toMatch(/^metadata:\s+\{"team":"ops"\}$/m);
    expect(res.stdout).toContain(echo.sessionTag);
    const json = await cli(["profile", echo.accountId, "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ accountId: echo.accountId, bio: "says it back", capabilities: ["echo", "chat"] });

    const missing = await cli(["profile", "@nobody"]);
    expect(missing.code).toBe(1);
    expect(oneLine(missing)).toBe("agentnet: no account @nobody (account_not_found)");
    expect(missing.stdout).toBe("");
  });

  it("send: from your only account or --as, with the seed's flags, waiting for processing", async () => {
    const res = await cli(["send", "--to-username", "echo", '{"text":"yo"}', "--wait", "processed", "--thread-id", "cli_send"]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`^sent m_[0-9a-f-]+ to ${echo.accountId} in cli_send: processed$`, "m"));
    const json = await cli(["send", "--to", echo.accountId, "--as", "@operator", "--text", "hi", "--idempotency-key", "k1", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const sent = JSON.parse(json.stdout) as { messageId: string; status: string; duplicate: boolean };
    expect(sent).toMatchObject({ status: "DELIVERY_STATUS_ACCEPTED", duplicate: false });
    const again = await cli(["send", "--to", echo.accountId, "--text", "hi", "--idempotency-key", "k1"]);
    expect(again.stdout).toContain(`sent ${sent.messageId}`);
    expect(again.stdout).toContain("(duplicate: the original was returned)");
  });

  it("send: a chat session's hosted agent does not count as one of your accounts to act as", async () => {
    const session = await bob.createChatSession({ agents: { helper: { provider: "echo" } } });
    try {
      const res = await cli(["send", "--to", "@operator", "--text", "still from echo", "--thread-id", "cli_hosted"], undefined, bobEnv);
      expect(res.code, res.stderr).toBe(0);
      const page = await echo.getThreadMessages("cli_hosted");
      expect(page.items.map((m) => [m.fromUsername, m.payload?.["text"]])).toEqual([["echo", "still from echo"]]);
    } finally {
      await bob.deleteChatSession(session.sessionId);
    }
  });

  it("send: usage errors exit 2, refused requests exit 1, each as one line", async () => {
    const badJson = await cli(["send", "--to", "@echo", "{not json"]);
    expect(badJson.code).toBe(2);
    expect(oneLine(badJson)).toMatch(/^agentnet: the payload is not valid JSON/);
    const noTarget = await cli(["send", "--text", "x"]);
    expect(noTarget.code).toBe(2);
    expect(oneLine(noTarget)).toBe("agentnet: give exactly one recipient: --to, --to-username, --to-account or --to-capability");
    const badWait = await cli(["send", "--to", "@echo", "--text", "x", "--wait", "forever"]);
    expect(badWait.code).toBe(2);
    const unknownFlag = await cli(["send", "--to", "@echo", "--text", "x", "--frobnicate"]);
    expect(unknownFlag.code).toBe(2);
    expect(oneLine(unknownFlag)).toMatch(/unknown option '--frobnicate'/);

    const nobody = await cli(["send", "--to", "@nobody_at_all", "--text", "x"]);
    expect(nobody.code).toBe(1);
    expect(oneLine(nobody)).toMatch(/^agentnet: .*\(recipient_not_found\)$/);
    const notYours = await cli(["send", "--to", "@echo", "--as", "@operator", "--text", "x"], undefined, bobEnv);
    expect(notYours.code).toBe(1);
    expect(oneLine(notYours)).toMatch(/\(not_account_owner\)$/);
    // bob owns only echo: it is his acting account without --as; someone with no account is told what to do.
    await admin.createUser("nobody_owner", "nobody-password");
    const login = await client(AuthService, gw.url).login({ username: "nobody_owner", password: "nobody-password" });
    const noAccount = await cli(["send", "--to", "@echo", "--text", "x"], undefined, { AGENTNET_TOKEN: login.accessToken });
    expect(noAccount.code).toBe(2);
    expect(oneLine(noAccount)).toMatch(/you own no agent account to act as/);
  });

  it("request: prints the reply; an offline recipient fails fast with no_responders", async () => {
    const res = await cli(["request", "--to-username", "echo", "--text", "ping", "--thread-id", "cli_request"]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^@echo \(reply, m_[0-9a-f-]+ in cli_request\):\necho: ping\n$/);
    const json = await cli(["request", "--to", "@echo", '{"n":1}', "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ kind: "MESSAGE_KIND_REPLY", payload: { text: 'echo: {"n":1}' }, fromUsername: "echo" });
    const offline = await cli(["request", "--to", "@gone", "--text", "anyone?"], undefined, bobEnv);
    expect(offline.code).toBe(1);
    expect(oneLine(offline)).toMatch(/\(no_responders\)$/);
  });

  it("watch: live inbox copies and receipts of every account for an admin, as JSON lines", async () => {
    const watch = startCli(["watch", "--count", "4", "--json"], env);
    await watch.stderrIncludes("watching inbox and receipts");
    const sent = await (await admin.as(operator.accountId)).sendText("@echo", "watched", { waitFor: "processed" });
    const res = await watch.done;
    expect(res.code, res.stderr).toBe(0);
    const events = res.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { inbox?: { messageId: string }; receipt?: { messageId: string; status: string } });
    expect(events.find((e) => e.inbox)?.inbox?.messageId).toBe(sent.messageId);
    expect(events.flatMap((e) => (e.receipt?.messageId === sent.messageId ? [e.receipt.status] : []))).toEqual([
      "DELIVERY_STATUS_ACCEPTED",
      "DELIVERY_STATUS_DELIVERED",
      "DELIVERY_STATUS_PROCESSED",
    ]);
  });

  it("watch: only the caller's own accounts for a user, as readable lines", async () => {
    const watch = startCli(["watch", "--inbox", "--count", "1"], bobEnv);
    await watch.stderrIncludes("watching inbox");
    // Traffic to an account bob does not own is not his to see; the next message to echo is.
    await (await admin.as(operator.accountId)).sendText("@operator", "not for bob");
    const seen = await (await admin.as(operator.accountId)).sendText("@echo", "for bob's eyes");
    const res = await watch.done;
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.trim().split("\n")).toEqual([
      expect.stringMatching(
        new RegExp(`^inbox\\s+\\S+Z\\s+@operator -> @echo\\s+direct\\s+\\S+\\s+${seen.messageId}\\s+\\{"text":"for bob's eyes"\\}$`),
      ),
    ]);
    const bad = await cli(["watch", "--inbox", "--since", "2026-01-01T00:00:00Z"]);
    expect(bad.code).toBe(2);
  });

  it("chat: one request per line in the current thread, with /thread, /showthread and /quit", async () => {
    const res = await cli(
      ["chat", "--to-username", "echo", "--thread-id", "ops_thread_1"],
      "hello\n/showthread\n/thread ops_thread_2\nagain\n/showthread\n/quit\nnever sent\n",
    );
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.trim().split("\n")).toEqual([
      "@echo: echo: hello",
      "thread: ops_thread_1",
      "thread: ops_thread_2",
      "@echo: echo: again",
      "thread: ops_thread_2",
    ]);
    const first = await operator.getThreadMessages("ops_thread_1");
    expect(first.items.map((m) => m.payload?.["text"])).toEqual(["echo: hello", "hello"]);
    expect((await operator.getThreadMessages("ops_thread_2")).items).toHaveLength(2);
    const offline = await cli(["chat", "--to", "@gone"], "anyone?\n", bobEnv);
    expect(offline.code).toBe(1);
    expect(oneLine(offline)).toMatch(/\(no_responders\)$/);
  });

  it("chat: a streamed answer is printed piece by piece as it arrives", async () => {
    await admin.createUser("dana", "dana-password");
    const dana = connect({
      url: gw.url,
      token: (await client(AuthService, gw.url).login({ username: "dana", password: "dana-password" })).accessToken,
    });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const streamer = await dana.register({ username: "streamer" });
    streamer.onMessage(async (m) => {
      if (!m.isRequest) return;
      const answer = m.stream();
      await answer.start();
      await answer.delta("first ");
      await gate; // the rest only once the test saw the first piece printed
      await answer.delta("second");
      await answer.end();
    });
    await streamer.ready();
    const child = spawn(process.execPath, [MAIN, "chat", "--to", "@streamer"], { env: { PATH: process.env["PATH"] ?? "", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    try {
      child.stdin.write("go\n");
      await expect.poll(() => stdout, { timeout: 30_000 }).toBe("@streamer: first ");
      release();
      await expect.poll(() => stdout, { timeout: 30_000 }).toBe("@streamer: first second\n");
      child.stdin.end("/quit\n");
      expect(await exited, stderr).toBe(0);
    } finally {
      release();
      child.kill();
      await dana.close();
    }
  });

  it("threads, thread-status, thread-messages and message-search read the stored conversations", async () => {
    await operator.thread("cli_history").askText("@echo", "one");
    await operator.thread("cli_history").sendText("@echo", "two");

    const threads = await cli(["threads", "--participant-username", "echo", "--query", "cli_hist"]);
    expect(threads.code, threads.stderr).toBe(0);
    expect(threads.stdout).toMatch(/^THREAD\s+MESSAGES\s+BYTES\s+TOKENS\s+LAST ACTIVITY\s+PARTICIPANTS$/m);
    expect(threads.stdout).toMatch(/^cli_history\s+3\s+\d+\s+\d+\s+\S+Z\s+@(echo|operator), @(echo|operator)$/m);
    const paged = await cli(["threads", "--limit", "1", "--json"]);
    const page = JSON.parse(paged.stdout) as { threads: unknown[]; nextCursor: string };
    expect(page.threads).toHaveLength(1);
    expect(page.nextCursor).not.toBe("");
    const next = await cli(["threads", "--limit", "1", "--cursor", page.nextCursor]);
    expect(next.code, next.stderr).toBe(0);
    const badCursor = await cli(["threads", "--cursor", "garbage"]);
    expect(badCursor.code).toBe(1);
    expect(oneLine(badCursor)).toMatch(/\(invalid_page_token\)$/);

    const status = await cli(["thread-status", "--thread-id", "cli_history"]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^message_count:\s+3$/m);
    expect(status.stdout).toMatch(/^status:\s+ok$/m);
    expect(status.stdout).toMatch(/^pending_messages:\s+\d+$/m);
    expect(JSON.parse((await cli(["thread-status", "cli_history", "--json"])).stdout)).toMatchObject({
      threadId: "cli_history",
      messageCount: "3",
    });
    const unknown = await cli(["thread-status", "--thread-id", "no_such_thread"]);
    expect(unknown.code).toBe(1);
    expect(oneLine(unknown)).toMatch(/\(thread_not_found\)$/);
    expect((await cli(["thread-status"])).code).toBe(2);

    const messages = await cli(["thread-messages", "--thread-id", "cli_history", "--limit", "2"]);
    expect(messages.code, messages.stderr).toBe(0);
    const rows = messages.stdout.trim().split("\n");
    expect(rows[0]).toMatch(/^SENT\s+FROM\s+TO\s+KIND\s+STATUS\s+MESSAGE\s+PAYLOAD$/);
    expect(rows[1]).toMatch(/@operator\s+@echo\s+direct\s+\S+\s+m_\S+\s+\{"text":"two"\}$/);
    expect(rows[2]).toMatch(/@echo\s+@operator\s+reply\s/);
    expect(rows[3]).toMatch(/^more: --cursor \S+$/);

    const search = await cli(["message-search", "--thread-id", "cli_history", "--kind", "request", "--json"]);
    expect(search.code, search.stderr).toBe(0);
    const found = JSON.parse(search.stdout) as { messages: Array<{ kind: string; payload: unknown }> };
    expect(found.messages).toEqual([expect.objectContaining({ kind: "MESSAGE_KIND_REQUEST", payload: { text: "one" } })]);
    const bySender = await cli(["message-search", "--from-username", "echo", "--thread-id", "cli_history"]);
    expect(bySender.stdout).toContain('{"text":"echo: one"}');
    expect((await cli(["message-search", "--kind", "shout"])).code).toBe(2);
    expect((await cli(["message-search", "--since", "yesterday"])).code).toBe(2);
  });

  it("keys list and keys revoke go through the server; users create too (admins only)", async () => {
    const created = await bob.createApiKey("worker");
    const asBob = await cli(["keys", "list"], undefined, bobEnv);
    expect(asBob.code, asBob.stderr).toBe(0);
    expect(asBob.stdout).toMatch(new RegExp(`^${created.key!.keyId}\\s+worker\\s+\\S+\\s+bob\\s`, "m"));
    // The key works as a credential for the CLI too.
    const withKey = await runCli(["list", "--json"], { AGENTNET_URL: gw.url, AGENTNET_API_KEY: created.secret });
    expect(withKey.code, withKey.stderr).toBe(0);

    const revoked = await cli(["keys", "revoke", created.key!.keyId], undefined, bobEnv);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout.trim()).toMatch(new RegExp(`^revoked ${created.key!.keyId} \\(worker\\) of bob at \\S+Z$`));
    const afterwards = await cli(["keys", "list"], undefined, bobEnv);
    expect(afterwards.stdout.trim()).toBe("no API keys");
    const all = JSON.parse((await cli(["keys", "list", "--include-revoked", "--json"], undefined, bobEnv)).stdout) as Array<{
      keyId: string;
      revokedAt?: string;
    }>;
    expect(all.find((k) => k.keyId === created.key!.keyId)?.revokedAt).toBeDefined();
    const refused = await runCli(["list"], { AGENTNET_URL: gw.url, AGENTNET_API_KEY: created.secret });
    expect(refused.code).toBe(1);
    expect(oneLine(refused)).toMatch(/\(api_key_revoked\)$/);
    const missing = await cli(["keys", "revoke", "key_nope"]);
    expect(missing.code).toBe(1);
    expect(oneLine(missing)).toMatch(/\(api_key_not_found\)$/);

    const user = await cli(["users", "create", "carol", "--password-stdin"], "carol-password\n");
    expect(user.code, user.stderr).toBe(0);
    expect(user.stdout.trim()).toMatch(/^created user carol \(usr_\S+\)$/);
    expect((await client(AuthService, gw.url).login({ username: "carol", password: "carol-password" })).accessToken).not.toBe("");
    const generated = await cli(["users", "create", "dave", "--json"]);
    expect(JSON.parse(generated.stdout)).toMatchObject({ user: { username: "dave" }, password: expect.any(String) });
    const notAdmin = await cli(["users", "create", "eve"], undefined, bobEnv);
    expect(notAdmin.code).toBe(1);
    expect(oneLine(notAdmin)).toMatch(/\(admin_required\)$/);
  });

  it("takes the server and credentials from flags over the environment; missing or bad ones are usage errors", async () => {
    const flags = await runCli(["list", "--url", gw.url, "--token", env["AGENTNET_TOKEN"]!, "--transport", "connect"], {});
    expect(flags.code, flags.stderr).toBe(0);
    expect(flags.stdout).toContain("@echo");
    const none = await runCli(["list"], { AGENTNET_URL: gw.url });
    expect(none.code).toBe(2);
    expect(oneLine(none)).toBe("agentnet: no credentials: pass --token or --api-key, or set AGENTNET_TOKEN or AGENTNET_API_KEY");
    const badLimit = await cli(["list", "--limit", "lots"]);
    expect(badLimit.code).toBe(2);
    expect(oneLine(badLimit)).toBe('agentnet: --limit must be a positive whole number, got "lots"');
    const unreachable = await cli(["list", "--url", "http://127.0.0.1:1"]);
    expect(unreachable.code).toBe(1);
    expect(oneLine(unreachable)).toMatch(/ECONNREFUSED.*\(unavailable\)$/);
    const badToken = await cli(["list", "--token", "not-a-token"]);
    expect(badToken.code).toBe(1);
    expect(oneLine(badToken)).toMatch(/\(invalid_token\)$/);
  });
});

/** Starts `agentnet <args>` in the background, for commands that run until they have seen enough (watch). */
function startCli(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env["PATH"] ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const done = new Promise<RunResult>((resolve) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  return {
    done,
    async stderrIncludes(text: string, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!stderr.includes(text)) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`agentnet ${args.join(" ")}: no "${text}" on stderr:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}
