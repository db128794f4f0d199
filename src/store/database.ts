import { Kysely, type LogEvent, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { type EmbeddedServer, EmbeddedError, openEmbedded, shareUrl } from "./embedded/index.js";
import type { Database } from "./schema.js";
import { isUnavailable } from "./errors.js";
import { typeParsers } from "./types.js";
import { preparingPool } from "./prepared-pool.js";

export { FailureLog, isUnavailable } from "./errors.js";

/** What the store logs: connection losses of the pool (at warn, once per outage). */
export interface StoreLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** `embedded`: the PostgreSQL server of the data folder, started by this process or shared with its gateway. */
export type StoreKind = "postgres" | "embedded";

/** The system of record: one Kysely instance over a pg pool, on DATABASE_URL's server or the embedded one. */
export interface Store {
  readonly db: Kysely<Database>;
  readonly kind: StoreKind;
  /** Where the data lives, safe to log: the PostgreSQL URL without its password, or the embedded cluster. */
  readonly location: string;
  /** The embedded server when kind is `embedded`. */
  readonly embedded?: EmbeddedServer | undefined;
  /** The pg pool's connections now: open, idle, and queries waiting for one. */
  readonly pool: PoolFigures;
  /** Called once if the database goes away for good (the embedded server exited by itself); never for DATABASE_URL. */
  onFatal(listener: (err: Error) => void): void;
  /** Closes the pool, then stops the embedded server if this process started it. */
  close(): Promise<void>;
}

export interface PoolFigures {
  readonly total: number;
  readonly idle: number;
  readonly waiting: number;
}

export interface StoreOptions {
  /** PostgreSQL URL; when unset the store is the embedded server of `dataDir`. */
  databaseUrl?: string | undefined;
  /** The data folder: the embedded server's cluster, socket, log and lock. */
  dataDir: string;
  /**
   * The agentnet command opening the store. `serve` owns the embedded server (a data folder in use is an error);
   * any other command shares the server of a running gateway, or runs one for its own duration.
   */
  command?: string;
  /** Connections in the pg pool. */
  poolSize?: number;
  /** Where the pool reports lost connections and the embedded server its start; silent when unset. */
  logger?: StoreLogger | undefined;
  /** Told of every statement that failed (in PostgreSQL, or on the way to it). */
  onQueryError?: (() => void) | undefined;
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
  const poolSize = options.poolSize ?? 10;
  if (options.databaseUrl) {
    return openPostgres({ connectionString: options.databaseUrl }, redactUrl(options.databaseUrl), poolSize, options);
  }
  const command = options.command ?? "serve";
  let server: EmbeddedServer;
  try {
    server = await openEmbedded({ dataDir: options.dataDir, command, exclusive: command === "serve", poolSize, logger: options.logger });
  } catch (err) {
    // Not retriable, and without the cause (which could look like an outage to retryWhileUnavailable): a server
    // this process cannot start will not start by waiting.
    if (err instanceof EmbeddedError) throw new StoreUnavailableError(err.message);
    throw new StoreUnavailableError(`cannot start the embedded PostgreSQL in ${options.dataDir}: ${describe(err)}`);
  }
  const location = `embedded PostgreSQL ${server.version} in ${server.cluster}${server.owner ? ` (shared with agentnet ${server.owner.command}, pid ${server.owner.pid})` : ""}`;
  let store: Store;
  try {
    store = await openPostgres(server.connection, location, poolSize, options);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return {
    ...store,
    kind: "embedded",
    embedded: server,
    onFatal: (listener) => server.onUnexpectedExit(listener),
    close: async () => {
      await store.close();
      await server.stop();
    },
  };
}

/** How another process reaches a store's database while it runs: DATABASE_URL, or the embedded server's socket. */
export function shareableUrl(store: Store): string | undefined {
  return store.embedded ? shareUrl(store.embedded.connection) : undefined;
}

/** How long a query waits for a pooled connection (also bounds connecting to a server that does not answer). */
export const CONNECT_TIMEOUT_MS = 5000;

/** Where pg connects: a URL, or (embedded) the socket folder, role and database. */
type Target = { connectionString: string } | { host: string; user: string; database: string };

async function openPostgres(
  target: Target,
  location: string,
  poolSize: number,
  { logger, onQueryError }: Pick<StoreOptions, "logger" | "onQueryError">,
): Promise<Store> {
  const pool = new pg.Pool({
    ...target,
    max: poolSize,
    // During an outage a checkout fails after this instead of queueing forever; connecting to a server that is
    // down fails at once (ECONNREFUSED). Broken clients are dropped by the pool, so it reconnects by itself.
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    // A server that vanished without closing the socket (host down, network cut) is noticed by TCP keepalive.
    keepAlive: true,
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        typeParsers[oid] ?? pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
    },
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
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: preparingPool(pool, onQueryError) }),
    ...(onQueryError && {
      log: (event: LogEvent) => {
        if (event.level === "error") onQueryError();
      },
    }),
  });
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw new StoreUnavailableError(
      `cannot connect to ${"connectionString" in target ? `DATABASE_URL (${location})` : `the ${location}`}: ${describe(err)}`,
      {
        cause: err,
        retriable: isUnavailable(err),
      },
    );
  }
  const figures: PoolFigures = {
    get total() {
      return pool.totalCount;
    },
    get idle() {
      return pool.idleCount;
    },
    get waiting() {
      return pool.waitingCount;
    },
  };
  return { db, kind: "postgres", location, pool: figures, onFatal: () => undefined, close: () => db.destroy() };
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
