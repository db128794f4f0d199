import { readConfig } from "../config.js";
import { openStore } from "../store/database.js";
import { migrateToLatest } from "../store/migrate.js";

export async function runMigrate(): Promise<void> {
  const config = readConfig();
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
  try {
    const { applied } = await migrateToLatest(store);
    process.stdout.write(
      applied.length === 0 ? `schema is up to date (${store.location})\n` : `applied ${applied.join(", ")} (${store.location})\n`,
    );
  } finally {
    await store.close();
  }
}
