import { createHash } from "node:crypto";
import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from "kysely";
import pg from "pg";

// Named prepared statements for the few hot statements whose text never changes (the message path's batched
// insert and status update): PostgreSQL parses and plans an unnamed statement on every execution, which for those
// CTEs cost more than executing them for small batches (planning 0.17–0.5 ms against 0.3 ms of execution for one
// message). A statement opts in by starting with PREPARED; pg then parses it once per connection and binds it
// after. Only constant texts may opt in: each distinct text stays prepared on every connection for its lifetime.
// (Kysely passes text and parameters to the pool's client and has no notion of statement names, hence this seam.)

/** Put first in a statement's text to run it as a named prepared statement. */
export const PREPARED = "/* prepared */";

/**
 * The pool Kysely sees: pg's, with statements that start with PREPARED sent as named ones. `onConnectError` hears of
 * checkouts that failed (the server down or unreachable): Kysely's log sees only statements that got a connection.
 */
export function preparingPool(pool: pg.Pool, onConnectError?: () => void): PostgresPool {
  const wrapped = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const names = new Map<string, string>();
  const nameOf = (text: string): string => {
    let name = names.get(text);
    if (name === undefined) {
      name = `agentnet_${createHash("sha256").update(text).digest("hex").slice(0, 20)}`;
      names.set(text, name);
    }
    return name;
  };
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    function query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
    function query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
    function query<R>(
      sqlOrCursor: string | PostgresCursor<R>,
      parameters?: ReadonlyArray<unknown>,
    ): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
      if (typeof sqlOrCursor !== "string") return client.query(sqlOrCursor as never) as PostgresCursor<R>;
      const values = parameters === undefined ? undefined : [...parameters];
      const config = sqlOrCursor.startsWith(PREPARED)
        ? { name: nameOf(sqlOrCursor), text: sqlOrCursor, values }
        : { text: sqlOrCursor, values };
      return client.query(config) as unknown as Promise<PostgresQueryResult<R>>;
    }
    return {
      query,
      release: (destroy?: boolean) => client.release(destroy),
      get processID() {
        return (client as pg.PoolClient & { processID?: number }).processID;
      },
    };
  };
  return {
    // Kysely cancels a query through a client of its own, made with this constructor.
    Client: pg.Client as unknown as PostgresPool["Client"],
    options: pool.options,
    connect: async () => {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        onConnectError?.();
        throw err;
      }
      let w = wrapped.get(client);
      if (w === undefined) {
        w = wrap(client);
        wrapped.set(client, w);
      }
      return w;
    },
    end: () => pool.end(),
  };
}
