import { mkdir } from "node:fs/promises";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { Kysely, PGliteDialect, PostgresDialect, sql } from "kysely";
import pg from "pg";
import type { Database } from "./schema.js";
import { typeParsers } from "./types.js";

export type StoreKind = "postgres" | "pglite";

/** The system of record: one Kysely instance over PostgreSQL (pg pool) or embedded PGlite. */
export interface Store {
  readonly db: Kysely<Database>;
  readonly kind: StoreKind;
  /** Where the data lives, safe to log: the PGlite folder, or the PostgreSQL URL without its password. */
  readonly location: string;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** PostgreSQL URL; when unset the store is PGlite persisted under `dataDir`. */
  databaseUrl?: string | undefined;
  /** Folder for PGlite's files (`<dataDir>/pgdata`). */
  dataDir: string;
  /** Connections in the pg pool. */
  poolSize?: number;
}

/** A store that cannot be opened; the message is one line fit for an operator. */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
}

export async function openStore(options: StoreOptions): Promise<Store> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options.poolSize ?? 10) : openPGlite(options.dataDir);
}

async function openPostgres(url: string, poolSize: number): Promise<Store> {
  const location = redactUrl(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: 5000,
    types: { getTypeParser: ((oid: number, format?: string) => typeParsers[oid] ?? pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser },
  });
  // An idle client that loses its server emits 'error' on the pool; without a listener that kills the process.
  pool.on("error", () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw new StoreUnavailableError(`cannot connect to DATABASE_URL (${location}): ${describe(err)}`);
  }
  return { db, kind: "postgres", location, close: () => db.destroy() };
}

async function openPGlite(dataDir: string): Promise<Store> {
  const folder = path.join(dataDir, "pgdata");
  try {
    await mkdir(folder, { recursive: true });
  } catch (err) {
    throw new StoreUnavailableError(`cannot create the data folder ${folder}: ${describe(err)}`);
  }
  let pglite: PGlite;
  try {
    pglite = await PGlite.create(folder, { parsers: typeParsers });
  } catch (err) {
    throw new StoreUnavailableError(
      `cannot open the embedded database in ${folder} (is another agentnet process using it?): ${describe(err)}`,
    );
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
  return {
    db,
    kind: "pglite",
    location: folder,
    // Kysely's PGlite driver closes the PGlite instance on destroy.
    close: () => db.destroy(),
  };
}

/** The URL with any password replaced, for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "<unparseable url>";
  }
}

function describe(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return describe(err.errors[0]);
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
