import { mkdir } from "node:fs/promises";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { Kysely, PGliteDialect, PostgresDialect, sql } from "kysely";
import pg from "pg";
import type { Database } from "./schema.js";
import { isUnavailable } from "./errors.js";
import { typeParsers } from "./types.js";

export { FailureLog, isUnavailable } from "./errors.js";

/** What the store logs: connection losses of the pool (at warn, once per outage). */
export interface StoreLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

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
  /** Where the pool reports lost connections; silent when unset. */
  logger?: StoreLogger | undefined;
}

/**
 * A store that cannot be opened; the message is one line fit for an operator. `retriable` when the database
 * is unreachable for now (refused, shutting down, starting up) rather than misconfigured or broken.
 */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
  readonly retriable: boolean;
  constructor(message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retriable = options.retriable ?? false;
  }
}

export async function openStore(options: StoreOptions): Promise<Store> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options.poolSize ?? 10, options.logger) : openPGlite(options.dataDir);
}

/** How long a query waits for a pooled connection (also bounds connecting to a server that does not answer). */
export const CONNECT_TIMEOUT_MS = 5000;

async function openPostgres(url: string, poolSize: number, logger: StoreLogger | undefined): Promise<Store> {
  const location = redactUrl(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    // During an outage a checkout fails after this instead of queueing forever; connecting to a server that is
    // down fails at once (ECONNREFUSED). Broken clients are dropped by the pool, so it reconnects by itself.
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    // A server that vanished without closing the socket (host down, network cut) is noticed by TCP keepalive.
    keepAlive: true,
    types: { getTypeParser: ((oid: number, format?: string) => typeParsers[oid] ?? pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser },
  });
  const lost = connectionLossLog(logger, location);
  // An idle client that loses its server emits 'error' on the pool; without a listener that kills the process.
  pool.on("error", lost);
  // A checked-out client (a query or transaction in flight) emits 'error' on itself when its server goes away
  // (pg_ctl restart, a crash): pg-pool only listens while it is idle, and an unheard 'error' event kills the
  // process. The query in flight is failed separately and its caller sees that error.
  pool.on("connect", (client) => {
    client.on("error", lost);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw new StoreUnavailableError(`cannot connect to DATABASE_URL (${location}): ${describe(err)}`, {
      cause: err,
      retriable: isUnavailable(err),
    });
  }
  return { db, kind: "postgres", location, close: () => db.destroy() };
}

/** A listener for lost connections that logs at warn once per burst (an outage drops every pooled connection). */
function connectionLossLog(logger: StoreLogger | undefined, location: string): (err: Error) => void {
  let lastWarnAt = 0;
  let suppressed = 0;
  return (err) => {
    if (!logger) return;
    const now = Date.now();
    if (now - lastWarnAt < 10_000) {
      suppressed += 1;
      return;
    }
    lastWarnAt = now;
    logger.warn(
      { err: { message: err.message, code: (err as { code?: unknown }).code }, location, alsoLost: suppressed },
      "lost a database connection; the pool reconnects on demand",
    );
    suppressed = 0;
  };
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
