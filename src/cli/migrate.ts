import { readConfig } from "../config.js";
import { openStore } from "../store/database.js";
import { migrateToLatest } from "../store/migrate.js";
import { retryWhileUnavailable } from "../store/startup.js";

/** How long `agentnet migrate` waits for an unreachable database before giving up. */
const MIGRATE_WAIT_MS = 60_000;

export async function runMigrate(): Promise<void> {
  const config = readConfig();
  const stderr = {
    warn: (_obj: object, msg: string) => void process.stderr.write(`agentnet: ${msg}\n`),
  };
  const { applied, location } = await retryWhileUnavailable(
    async () => {
      const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, command: "migrate", poolSize: 1 });
      try {
        return { ...(await migrateToLatest(store)), location: store.location };
      } finally {
        await store.close();
      }
    },
    { logger: stderr, what: "migrating", giveUpAfterMs: MIGRATE_WAIT_MS },
  );
  process.stdout.write(applied.length === 0 ? `schema is up to date (${location})\n` : `applied ${applied.join(", ")} (${location})\n`);
}
