import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { inject } from "vitest";
import { readConfig, type Config } from "../../src/config.js";
import { type Gateway, startGateway } from "../../src/app/index.js";
import { createDatabase, dropDatabase } from "../harness/postgres.js";

/** The two ways agentnet runs: embedded (its own PostgreSQL + in-process bus) and PostgreSQL + NATS. */
export type Mode = "embedded" | "postgres+nats";
export const MODES: Mode[] = ["embedded", "postgres+nats"];

export const ADMIN_PASSWORD = "admin-password-for-tests";

export interface TestBackend {
  mode: Mode;
  /** Environment for a gateway on this backend (data dir, DATABASE_URL, NATS_URL). */
  env: Record<string, string>;
  dispose(): Promise<void>;
}

/**
 * A fresh backend: a new database on the run's embedded PostgreSQL (the server a gateway without DATABASE_URL
 * starts; started once per run rather than per gateway), or on the run's PostgreSQL plus the run's NATS.
 * `postgresUrl` puts the database on another server instead (a fault test's own, which it may restart).
 */
export async function createBackend(mode: Mode, options: { postgresUrl?: string } = {}): Promise<TestBackend> {
  const dataDir = await mkdtemp(path.join(tmpdir(), "agentnet-test-"));
  const env: Record<string, string> = { AGENTNET_DATA_DIR: dataDir, AGENTNET_ADMIN_PASSWORD: ADMIN_PASSWORD };
  let databaseUrl: string | undefined;
  if (mode === "postgres+nats") {
    databaseUrl = await createDatabase(options.postgresUrl ?? inject("databaseUrl"));
    env["NATS_URL"] = inject("natsUrl");
  } else {
    databaseUrl = await createDatabase(options.postgresUrl ?? inject("embeddedUrl"));
  }
  env["DATABASE_URL"] = databaseUrl;
  return {
    mode,
    env,
    async dispose() {
      if (databaseUrl) await dropDatabase(databaseUrl);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TestGateway extends Gateway {
  url: string;
  config: Config;
}

/** Starts a gateway in this process on a free port; `overrides` are environment variables. */
export async function startTestGateway(backend: TestBackend, overrides: Record<string, string> = {}): Promise<TestGateway> {
  const config = readConfig({ HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "silent", ...backend.env, ...overrides });
  const logger = pino({ level: config.logLevel });
  const gateway = await startGateway(config, logger);
  return Object.assign(gateway, { url: `http://127.0.0.1:${gateway.port}`, config });
}
