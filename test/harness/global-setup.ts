import type { TestProject } from "vitest/node";
import { startNats, type NatsServer } from "./nats.js";
import { startEmbeddedForRun, type EmbeddedForRun } from "./embedded.js";
import { startPostgres, type PostgresServer } from "./postgres.js";

declare module "vitest" {
  export interface ProvidedContext {
    /**
     * Superuser URL of a PostgreSQL server for this run: DATABASE_URL when given, else a throwaway server.
     * Tests do not use it directly: `createDatabase(inject('databaseUrl'))` gives each file its own database.
     */
    databaseUrl: string;
    /**
     * The embedded PostgreSQL (the server a gateway without DATABASE_URL starts), once per run: the "embedded" leg
     * makes its databases here with `createDatabase(inject('embeddedUrl'))`.
     */
    embeddedUrl: string;
    /** NATS_URL when given, else a throwaway nats-server (with JetStream) for this run. */
    natsUrl: string;
  }
}

/**
 * Starts PostgreSQL and nats-server once per `vitest run` (in parallel, a few seconds), unless the
 * environment already names them, and stops them at the end.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const envDb = process.env.DATABASE_URL?.trim();
  const envNats = process.env.NATS_URL?.trim();

  const [pgResult, natsResult, embeddedResult] = await Promise.allSettled([
    envDb ? Promise.resolve(undefined) : startPostgres(),
    envNats ? Promise.resolve(undefined) : startNats(),
    startEmbeddedForRun(),
  ]);
  const started: Array<PostgresServer | NatsServer | EmbeddedForRun> = [];
  for (const r of [pgResult, natsResult, embeddedResult]) if (r.status === "fulfilled" && r.value) started.push(r.value);
  const teardown = async () => {
    await Promise.allSettled(started.map((s) => s.stop()));
  };
  const failures = [pgResult, natsResult, embeddedResult].filter((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failures.length > 0) {
    await teardown();
    throw new Error(
      `test harness could not start its servers (or set DATABASE_URL / NATS_URL):\n${failures
        .map((f) => (f.reason instanceof Error ? f.reason.message : String(f.reason)))
        .join("\n")}`,
    );
  }

  project.provide("databaseUrl", envDb || (pgResult.status === "fulfilled" ? pgResult.value?.url : undefined) || "");
  project.provide("embeddedUrl", embeddedResult.status === "fulfilled" ? embeddedResult.value.url : "");
  project.provide("natsUrl", envNats || (natsResult.status === "fulfilled" ? natsResult.value?.url : undefined) || "");
  return teardown;
}
