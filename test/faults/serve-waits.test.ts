import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { type ControllablePostgres, createDatabase, startPostgres } from "../harness/postgres.js";
import { freePort } from "../harness/ports.js";
import { MAIN } from "../support/cli.js";
import { client } from "../support/clients.js";

// `agentnet serve` started while its PostgreSQL is down waits for it (one log line per attempt) instead of
// exiting, comes up when it starts, and a signal during the wait stops it cleanly. Runs the built command.

function serve(env: Record<string, string>) {
  const child = spawn(process.execPath, [MAIN, "serve"], {
    env: { PATH: process.env["PATH"] ?? "", ...env },
    cwd: env["AGENTNET_DATA_DIR"],
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));
  return { child, output: () => out, exited, exitCode: () => exitCode };
}

describe("agentnet serve while PostgreSQL is down", () => {
  let server: ControllablePostgres;
  let databaseUrl: string;
  let dataDir: string;

  beforeAll(async () => {
    server = await startPostgres();
    databaseUrl = await createDatabase(server.url);
    dataDir = await mkdtemp(path.join(tmpdir(), "agentnet-serve-waits-"));
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const retryLines = (out: string) => out.split("\n").filter((l) => l.includes("the database is unavailable; retrying in")).length;

  it("waits with a log line per attempt and serves once PostgreSQL starts", async () => {
    await server.halt("fast");
    const port = await freePort();
    const env = {
      AGENTNET_DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl,
      NATS_URL: inject("natsUrl"),
      HOST: "127.0.0.1",
      PORT: String(port),
      LOG_LEVEL: "info",
      AGENTNET_SHUTDOWN_GRACE_SECONDS: "1",
    };
    const gw = serve(env);
    try {
      await expect.poll(() => retryLines(gw.output()), { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
      expect(gw.exitCode()).toBeUndefined();
      await server.resume();
      await expect.poll(() => gw.output(), { timeout: 60_000 }).toContain("agentnet listening on");
      const health = await client(Health, `http://127.0.0.1:${port}`).check({ service: "" });
      expect(health.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    } finally {
      gw.child.kill("SIGTERM");
      expect(await gw.exited).toBe(0);
    }
  }, 180_000);

  it("stops cleanly on SIGTERM while still waiting", async () => {
    await server.halt("immediate");
    try {
      const gw = serve({ AGENTNET_DATA_DIR: dataDir, DATABASE_URL: databaseUrl, HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "info" });
      await expect.poll(() => retryLines(gw.output()), { timeout: 60_000 }).toBeGreaterThanOrEqual(1);
      gw.child.kill("SIGTERM");
      expect(await gw.exited).toBe(0);
      expect(gw.output()).toContain("stopped before the database became available");
    } finally {
      await server.resume();
    }
  }, 120_000);
});
