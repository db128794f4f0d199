import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { DomainError } from "../../src/errors.js";
import { reasonOf, toConnectError } from "../../src/server/errors.js";
import { StoreUnavailableError } from "../../src/store/database.js";
import { FailureLog, isUnavailable } from "../../src/store/errors.js";
import { retryWhileUnavailable } from "../../src/store/startup.js";
import { retryDelayMs } from "../support/errors.js";

// The one place that decides "the database cannot be reached right now": such failures answer UNAVAILABLE
// `database_unavailable` with RetryInfo, never INTERNAL; everything unknown stays INTERNAL.

function pgError(code: string, message = "x"): Error {
  return Object.assign(new Error(message), { code, severity: "FATAL" });
}

const unavailable: Array<[string, unknown]> = [
  ["57P01 admin shutdown", pgError("57P01", "terminating connection due to administrator command")],
  ["57P02 crash shutdown", pgError("57P02", "terminating connection because of crash of another server process")],
  ["57P03 cannot connect now", pgError("57P03", "the database system is shutting down")],
  ["53300 too many connections", pgError("53300", "sorry, too many clients already")],
  ["08006 connection failure", pgError("08006")],
  ["08001 unable to connect", pgError("08001")],
  ["ECONNREFUSED", Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" })],
  ["ECONNRESET", Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })],
  ["EPIPE", Object.assign(new Error("write EPIPE"), { code: "EPIPE" })],
  ["ETIMEDOUT", Object.assign(new Error("connect ETIMEDOUT"), { code: "ETIMEDOUT" })],
  ["connection ended", new Error("Connection terminated unexpectedly")],
  ["connect timeout", new Error("Connection terminated due to connection timeout")],
  ["pool checkout timeout", new Error("timeout exceeded when trying to connect")],
  ["not queryable", new Error("Client has encountered a connection error and is not queryable")],
  [
    "AggregateError of refusals",
    new AggregateError([Object.assign(new Error("connect ECONNREFUSED ::1:5432"), { code: "ECONNREFUSED" })], ""),
  ],
  ["wrapped as cause", new Error("migration 0001 failed: x", { cause: pgError("57P01") })],
  ["store that cannot be opened for now", new StoreUnavailableError("cannot connect", { cause: pgError("57P03"), retriable: true })],
];

const notUnavailable: Array<[string, unknown]> = [
  ["unique violation", pgError("23505", "duplicate key value violates unique constraint")],
  ["syntax error", pgError("42601", "syntax error at or near")],
  ["database does not exist", pgError("3D000", 'database "x" does not exist')],
  ["serialization failure", pgError("40001")],
  ["plain bug", new TypeError("cannot read properties of undefined")],
  ["a string", "boom"],
  ["undefined", undefined],
];

describe("database errors", () => {
  it.each(unavailable)("%s is UNAVAILABLE database_unavailable with RetryInfo", (_name, err) => {
    expect(isUnavailable(err)).toBe(true);
    const mapped = toConnectError(err);
    expect(mapped.code).toBe(Code.Unavailable);
    expect(reasonOf(mapped)).toBe("database_unavailable");
    expect(retryDelayMs(mapped)).toBe(1000);
    // The client learns nothing of the database's own words.
    expect(mapped.rawMessage).toBe("the database is unavailable right now; retry");
  });

  it.each(notUnavailable)("%s stays INTERNAL", (_name, err) => {
    expect(isUnavailable(err)).toBe(false);
    expect(toConnectError(err).code).toBe(Code.Internal);
  });

  it("leaves domain errors alone", () => {
    const err = new DomainError("not_found", "recipient_not_found", "no such recipient");
    expect(toConnectError(err).code).toBe(Code.NotFound);
  });
});

describe("startup retry", () => {
  const quiet = { warn: () => undefined };

  it("retries while the database is unavailable, then returns", async () => {
    let calls = 0;
    const lines: string[] = [];
    const result = await retryWhileUnavailable(
      async () => {
        calls += 1;
        if (calls < 4) throw pgError("57P03", "the database system is starting up");
        return "up";
      },
      { logger: { warn: (_o, msg) => void lines.push(msg) }, what: "opening", initialDelayMs: 1, maxDelayMs: 4 },
    );
    expect(result).toBe("up");
    expect(calls).toBe(4);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^opening: the database is unavailable; retrying in /);
  });

  it("throws other failures at once", async () => {
    let calls = 0;
    await expect(
      retryWhileUnavailable(
        async () => {
          calls += 1;
          throw pgError("28P01", "password authentication failed");
        },
        { logger: quiet, what: "opening", initialDelayMs: 1 },
      ),
    ).rejects.toThrow(/password authentication failed/);
    expect(calls).toBe(1);
  });

  it("stops when signalled, and gives up after its bound", async () => {
    const abort = new AbortController();
    const refused = async () => {
      throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    };
    const waiting = retryWhileUnavailable(refused, { logger: quiet, what: "opening", signal: abort.signal, initialDelayMs: 60_000 });
    abort.abort();
    await expect(waiting).rejects.toThrow(/ECONNREFUSED/);
    await expect(retryWhileUnavailable(refused, { logger: quiet, what: "opening", initialDelayMs: 5, giveUpAfterMs: 30 })).rejects.toThrow(
      /ECONNREFUSED/,
    );
  });
});

describe("background job failure log", () => {
  it("warns once per run of failures and notes the recovery", () => {
    const seen: string[] = [];
    const logger = {
      warn: (_o: object, msg: string) => void seen.push(`warn ${msg}`),
      info: (_o: object, msg: string) => void seen.push(`info ${msg}`),
      debug: (_o: object, _msg: string) => void seen.push("debug"),
    };
    const log = new FailureLog(logger, "expiry sweep");
    for (let i = 0; i < 5; i++) log.failed(pgError("57P01"));
    log.succeeded();
    log.succeeded();
    log.failed(new Error("other"));
    expect(seen).toEqual([
      "warn expiry sweep failed: the database is unavailable; retrying at the next tick",
      "debug",
      "debug",
      "debug",
      "debug",
      "info expiry sweep works again",
      "warn expiry sweep failed; retrying at the next tick",
    ]);
  });
});
