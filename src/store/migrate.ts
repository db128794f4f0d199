import { Migrator, type MigrationResultSet } from "kysely/migration";
import type { Store } from "./database.js";
import { migrations } from "./migrations/index.js";

export interface MigrationReport {
  applied: string[];
}

/**
 * Brings the schema to the latest version. Safe to run from several gateways at once: Kysely's migrator takes
 * a lock in the database, so one applies and the others find nothing left to do.
 */
export async function migrateToLatest(store: Store): Promise<MigrationReport> {
  const migrator = new Migrator({
    db: store.db,
    provider: { getMigrations: async () => migrations },
  });
  const result: MigrationResultSet = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    const reason = result.error instanceof Error ? result.error.message : String(result.error);
    throw new Error(`migration ${failed} failed: ${reason}`, { cause: result.error });
  }
  return { applied: (result.results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName) };
}
