import { readConfig } from "../config.js";
import { openStore, type Store } from "../store/database.js";
import { migrateToLatest } from "../store/migrate.js";

/** Opens and migrates the configured store for a one-shot command, and closes it afterwards. */
export async function withStore<T>(work: (store: Store) => Promise<T>): Promise<T> {
  const config = readConfig();
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await migrateToLatest(store);
    return await work(store);
  } finally {
    await store.close();
  }
}
