import { readConfig } from "../config.js";
import { openStore, type Store } from "../store/database.js";
import { migrateToLatest } from "../store/migrate.js";

/**
 * Opens and migrates the configured store for a one-shot command (`command` names it, e.g. "users add"), and
 * closes it afterwards. On the embedded database this shares a running gateway's server, or runs one meanwhile.
 */
export async function withStore<T>(command: string, work: (store: Store) => Promise<T>): Promise<T> {
  const config = readConfig();
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, command, poolSize: 2 });
  try {
    await migrateToLatest(store);
    return await work(store);
  } finally {
    await store.close();
  }
}
