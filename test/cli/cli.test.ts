import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import { freePort } from "../harness/ports.js";
import { client } from "../support/clients.js";
import { runCli, startCliServer } from "../support/cli.js";

describe("agentnet command", () => {
  let dataDir: string;
  let env: Record<string, string>;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "agentnet-cli-"));
    env = { AGENTNET_DATA_DIR: dataDir, LOG_LEVEL: "info" };
  });
  afterEach(async () => rm(dataDir, { recursive: true, force: true }));

  it.each([
    [{ PORT: "abc" }, /^agentnet: invalid configuration: PORT must be a whole number, got "abc"$/],
    [{ PORT: "70000" }, /^agentnet: invalid configuration: PORT must be between 0 and 65535/],
    [{ DATABASE_URL: "mysql://x" }, /^agentnet: invalid configuration: DATABASE_URL must start with postgres/],
    // A database that does not exist is a configuration error (exit); one that is down is waited for (test/faults).
    [
      { DATABASE_URL: missingDatabase() },
      /^agentnet: cannot connect to DATABASE_URL \(postgres:\/\/.*\/agentnet_no_such_database\): .*does not exist/,
    ],
    [{ AGENTNET_JWT_SECRET: "short" }, /^agentnet: invalid configuration: AGENTNET_JWT_SECRET must be at least 32 characters/],
  ])("exits non-zero with one clear line on bad configuration %o", async (bad, message) => {
    const res = await runCli(["serve"], { ...env, ...bad });
    expect(res.code).toBe(1);
    const lines = res.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(res.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("reads .env and lets .env.local override it, the real environment winning over both", async () => {
    const { writeFile } = await import("node:fs/promises");
    await writeFile(path.join(dataDir, ".env"), "PORT=abc\nLOG_LEVEL=debug\n");
    await writeFile(path.join(dataDir, ".env.local"), "PORT=notaport\n");
    const fromLocal = await runCli(["serve"], env);
    expect(fromLocal.stderr).toContain('got "notaport"');
    const fromEnv = await runCli(["serve"], { ...env, PORT: "xyz" });
    expect(fromEnv.stderr).toContain('got "xyz"');
  });

  it("answers usage errors with exit code 2", async () => {
    const res = await runCli(["users", "add"], env);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("missing required argument");
  });

  it("serves, writes the bootstrap admin password to a private file, and stops cleanly on SIGTERM", async () => {
    const port = await freePort();
    // A grace period far beyond the test's timeout: a shutdown that waited it out instead of stopping at once
    // fails the test, without a stopwatch that would also measure the machine.
    const server = await startCliServer({ ...env, PORT: String(port), HOST: "127.0.0.1", AGENTNET_SHUTDOWN_GRACE_SECONDS: "300" });
    try {
      const file = path.join(dataDir, "admin-password");
      expect(server.output()).toContain(file);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const password = (await readFile(file, "utf8")).trim();
      const login = await client(AuthService, `http://127.0.0.1:${port}`).login({ username: "admin", password });
      expect(login.accessToken).not.toBe("");
      // One log line per RPC, without the password or token. The line is written once the answer is on its way,
      // so it can reach this process's pipe after the answer itself: poll for it.
      await vi.waitFor(() => expect(server.output()).toMatch(/"method":"agentnet.v1.AuthService\/Login","code":"ok"/), {
        timeout: 20_000,
        interval: 50,
      });
      expect(server.output()).not.toContain(password);
      expect(server.output()).not.toContain(login.accessToken);
    } finally {
      expect(await server.stop("SIGTERM")).toBe(0);
    }
  });

  it("migrates, adds users and creates API keys against the configured store", async () => {
    const migrated = await runCli(["migrate"], env);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toMatch(/applied 0001_auth|up to date/);

    const added = await runCli(["users", "add", "dave", "--password-stdin"], env, "dave-password\n");
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/^created user dave \(usr_/);
    const dup = await runCli(["users", "add", "dave"], env);
    expect(dup.code).toBe(1);
    expect(dup.stderr.trim()).toBe("agentnet: a user named dave already exists");

    const key = await runCli(["keys", "create", "--user", "dave", "--name", "worker"], env);
    expect(key.code, key.stderr).toBe(0);
    const secret = /secret \(shown once\): (agk_\S+)/.exec(key.stdout)?.[1];
    expect(secret).toBeDefined();

    const port = await freePort();
    const server = await startCliServer({ ...env, PORT: String(port), HOST: "127.0.0.1" });
    try {
      const url = `http://127.0.0.1:${port}`;
      expect(await client(AuthService, url, secret).verify({})).toMatchObject({ valid: true, user: "dave", type: "api_key" });
      const login = await client(AuthService, url).login({ username: "dave", password: "dave-password" });
      expect(login.tokenType).toBe("bearer");
    } finally {
      await server.stop();
    }
  });
});

/** A database URL on the run's PostgreSQL naming a database that does not exist. */
function missingDatabase(): string {
  const url = new URL(inject("databaseUrl"));
  url.pathname = "/agentnet_no_such_database";
  return url.toString();
}
