// Which database failures mean "the database cannot be reached right now" (retry later) rather than a bug.
// node-postgres reports them several ways: a server ErrorResponse with a SQLSTATE (`code`), a socket error with
// an errno code, or a plain Error whose message is all there is (the connection ended, a pool checkout timed
// out). Kysely passes them through unchanged; our own wrappers keep them as `cause`.

/** SQLSTATEs of a server that is going away, coming up, or full. Class 08 (connection exception) is matched by prefix. */
const UNAVAILABLE_SQLSTATES = new Set([
  "57P01", // admin_shutdown: terminating connection due to administrator command (pg_ctl stop/restart -m fast)
  "57P02", // crash_shutdown: terminating connection because of crash of another server process (-m immediate)
  "57P03", // cannot_connect_now: the database system is starting up / shutting down / in recovery
  "57P05", // idle_session_timeout ended the connection
  "53300", // too_many_connections
]);

/** Socket-level failures to reach or keep the server. */
const UNAVAILABLE_ERRNOS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
]);

/** node-postgres / pg-pool messages that carry no code. */
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated/, // "… unexpectedly", "… due to connection timeout"
  /timeout exceeded when trying to connect/, // pg-pool checkout timeout (connectionTimeoutMillis)
  /Client has encountered a connection error and is not queryable/,
  /^Query read timeout$/,
  /the database system is (starting up|shutting down|in recovery mode)/,
  /terminating connection due to administrator command/,
];

/**
 * True when `err` (or what it wraps) says the database is unreachable for now: the caller should answer
 * UNAVAILABLE and retry, not report a bug. Everything else — constraint violations, syntax errors, unknown
 * failures — is false.
 */
export function isUnavailable(err: unknown): boolean {
  const seen = new Set<unknown>();
  const check = (e: unknown, depth: number): boolean => {
    if (e === null || typeof e !== "object" || seen.has(e) || depth > 8) return false;
    seen.add(e);
    const { code, message, cause } = e as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof code === "string") {
      if (/^08[0-9A-Z]{3}$/.test(code) || UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_ERRNOS.has(code)) return true;
    }
    if (typeof message === "string" && UNAVAILABLE_MESSAGES.some((re) => re.test(message))) return true;
    if (e instanceof AggregateError && e.errors.some((inner) => check(inner, depth + 1))) return true;
    if (e instanceof StoreUnavailable) return true;
    return check(cause, depth + 1);
  };
  return check(err, 0);
}

/** Thrown by store code that already knows the database is unreachable (kept here so isUnavailable sees it). */
export class StoreUnavailable extends Error {
  override name = "StoreUnavailable";
}

/**
 * Logs a recurring background job's failures without flooding the log during an outage: the first failure of a
 * run of failures at warn, repeats of the same kind at debug, and one info line when the job works again.
 */
export class FailureLog {
  private failing = false;
  private failures = 0;

  constructor(
    private readonly logger: {
      warn(obj: object, msg: string): void;
      info(obj: object, msg: string): void;
      debug(obj: object, msg: string): void;
    },
    private readonly what: string,
  ) {}

  failed(err: unknown): void {
    this.failures += 1;
    if (!this.failing) {
      this.failing = true;
      const unavailable = isUnavailable(err);
      this.logger.warn(
        { err, unavailable },
        unavailable
          ? `${this.what} failed: the database is unavailable; retrying at the next tick`
          : `${this.what} failed; retrying at the next tick`,
      );
    } else {
      this.logger.debug({ err, failures: this.failures }, `${this.what} failed again`);
    }
  }

  succeeded(): void {
    if (this.failing) this.logger.info({ failures: this.failures }, `${this.what} works again`);
    this.failing = false;
    this.failures = 0;
  }
}
