import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openEmbedded, shareUrl } from "../../src/store/embedded/index.js";
import { reapAfterExit } from "./cleanup.js";

export interface EmbeddedForRun {
  /** A URL of the `agentnet` database on the server (its Unix socket), for createDatabase(). */
  url: string;
  majorVersion: number;
  stop(): Promise<void>;
}

/**
 * The embedded PostgreSQL, started once per test run exactly as a gateway starts its own (same binaries, same
 * code, same settings), in a throwaway data folder: the "embedded" leg of the suites makes a database per file on
 * it. Only durability is traded for speed (fsync off), as on the run's other PostgreSQL.
 */
export async function startEmbeddedForRun(): Promise<EmbeddedForRun> {
  const dataDir = await mkdtemp(join(tmpdir(), "agentnet-embedded-run-"));
  try {
    const server = await openEmbedded({
      dataDir,
      command: "test harness",
      exclusive: true,
      // Test files run in parallel, each with gateways and pools of their own.
      poolSize: 145,
      overrides: { fsync: "off", synchronous_commit: "off", full_page_writes: "off" },
    });
    const unregister = server.pid === undefined ? () => {} : reapAfterExit({ pid: server.pid, signal: "QUIT", dir: dataDir });
    return {
      url: shareUrl(server.connection),
      majorVersion: Number(server.version.split(".")[0]),
      async stop() {
        unregister();
        await server.stop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}
