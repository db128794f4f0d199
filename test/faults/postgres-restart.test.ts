import { Code, ConnectError } from "@connectrpc/connect";
import pg from "pg";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { MessagingService, SubscribeMode } from "../../gen/agentnet/v1/messaging_pb.js";
import { readConfig } from "../../src/config.js";
import { reasonOf } from "../../src/server/errors.js";
import { startGateway } from "../../src/app/index.js";
import { retryWhileUnavailable } from "../../src/store/startup.js";
import { type ControllablePostgres, type ShutdownMode, startPostgres } from "../harness/postgres.js";
import { type TestAgent, type TestUser, createUser, loginAdmin, registerAgent, userClients } from "../support/agents.js";
import { client } from "../support/clients.js";
import { type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";
import { retryDelayMs } from "../support/errors.js";
import { sampleValue, scrape } from "../support/metrics.js";

// A PostgreSQL restart (fast: clients are told 57P01 and disconnected; immediate: a crash) under a steady stream
// of sends between two gateways. The gateways must ride it out: calls in the gap answer UNAVAILABLE with a
// reason, never INTERNAL, and no process exits; afterwards everything works, nothing accepted is lost, and
// resending what failed with the same message_id makes every message stored and handled exactly once.
// Bounds are generous polls, never stopwatches.

const MINUTE = 60_000;
const fast = { AGENTNET_SEND_RATE_PER_SECOND: "1000000", AGENTNET_SEND_RATE_BURST: "1000000", AGENTNET_SHUTDOWN_GRACE_SECONDS: "1" };

interface Failure {
  messageId: string;
  code: Code;
  reason: string | undefined;
  retryDelayMs: number | undefined;
  message: string;
}

/** B's receiving side on gateway 2: a CONSUME stream that resubscribes when it ends, acking what it handled. */
function startReceiver(gwUrl: string, agent: { user: TestUser; accountId: string; sessionTag: string; username: string }) {
  const handled = new Set<string>();
  let duplicates = 0;
  const unacked = new Set<string>();
  const streamEnds: string[] = [];
  const abort = new AbortController();
  let sessionTag = agent.sessionTag;
  const messaging = client(MessagingService, gwUrl, agent.user.token);
  const registry = agent.user.registry;

  const ackPump = setInterval(() => {
    if (unacked.size === 0) return;
    const ids = [...unacked].slice(0, 500);
    void messaging.ack({ acks: ids.map((messageId) => ({ messageId })) }).then(
      () => ids.forEach((id) => unacked.delete(id)),
      () => undefined, // the database is restarting: acked again at the next tick
    );
  }, 50);

  const running = (async () => {
    while (!abort.signal.aborted) {
      try {
        const stream = messaging.subscribe(
          { asAccountId: agent.accountId, sessionTag, mode: SubscribeMode.CONSUME, maxInFlight: 500 },
          { signal: abort.signal },
        );
        for await (const item of stream) {
          if (item.event.case !== "message") continue;
          const id = item.event.value.messageId;
          if (handled.has(id)) duplicates += 1;
          handled.add(id);
          unacked.add(id);
        }
        streamEnds.push("ended");
      } catch (err) {
        if (abort.signal.aborted) return;
        const e = ConnectError.from(err);
        streamEnds.push(`${Code[e.code]}:${reasonOf(e) ?? ""}`);
        if (e.code === Code.NotFound) {
          // The session lapsed during the outage: register again, as an SDK does.
          try {
            sessionTag = (await registry.register({ agentId: agent.username, username: agent.username })).sessionTag;
          } catch {
            // retried on the next round
          }
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();

  return {
    handled,
    unacked,
    streamEnds,
    get duplicates() {
      return duplicates;
    },
    async close() {
      abort.abort();
      clearInterval(ackPump);
      await running.catch(() => undefined);
    },
  };
}

describe("PostgreSQL restarts under two gateways", () => {
  let server: ControllablePostgres;
  let backend: TestBackend;
  let gw1: TestGateway;
  let gw2: TestGateway;
  let a: TestAgent;
  let b: TestAgent;
  let c: TestAgent;
  let db: pg.Pool;
  // Closed after each test even when it fails, so a leftover stream never takes the next test's messages.
  const receivers: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  beforeAll(async () => {
    // Commits durable before they are acknowledged (the harness's default trades that for speed), so a crash keeps
    // every message whose Send answered.
    server = await startPostgres({ durableCommits: true });
    backend = await createBackend("postgres+nats", { postgresUrl: server.url });
    gw1 = await startTestGateway(backend, fast);
    gw2 = await startTestGateway(backend, fast);
    const admin = await loginAdmin(gw1.url);
    const alice = await createUser(gw1.url, admin, "alice");
    const bob = await createUser(gw1.url, admin, "bob");
    a = await registerAgent(alice, "agent_a");
    b = await registerAgent(userClients(gw2.url, "bob", bob.token), "agent_b");
    // C never reads: what is sent to it with a short TTL is expired by the gateways' background sweep.
    c = await registerAgent(await createUser(gw1.url, admin, "carol"), "agent_c");
    db = new pg.Pool({ connectionString: backend.env["DATABASE_URL"], max: 2 });
    db.on("error", () => undefined);
  }, 2 * MINUTE);
  afterAll(async () => {
    await db?.end().catch(() => undefined);
    await gw1?.close();
    await gw2?.close();
    await backend?.dispose().catch(() => undefined);
    await server?.stop();
  });

  /** Rows of these messages in the database (polled: the first query after a restart may still fail). */
  async function storedStatuses(ids: string[]): Promise<Map<string, string>> {
    for (;;) {
      try {
        const { rows } = await db.query<{ message_id: string; status: string }>(
          "select message_id, status from messages where message_id = any($1)",
          [ids],
        );
        return new Map(rows.map((r) => [r.message_id, r.status]));
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  async function serving(url: string): Promise<HealthCheckResponse_ServingStatus | string> {
    try {
      return (await client(Health, url).check({ service: "" })).status;
    } catch (err) {
      return String(err);
    }
  }

  const run = (mode: ShutdownMode) => async () => {
    const prefix = `m_${mode}_${Date.now().toString(36)}`;
    const receiver = startReceiver(gw2.url, b);
    receivers.push(receiver);
    const accepted: string[] = [];
    const duplicatesOnFirstTry: string[] = [];
    const failures: Failure[] = [];
    let next = 0;
    let sending = true;
    const sendOne = async (messageId: string) =>
      a.user.messaging.send({
        asAccountId: a.accountId,
        messageId,
        to: { target: { case: "accountId", value: b.accountId } },
        payload: { id: messageId },
      });
    // Four senders in a steady stream from gateway 1.
    const senders = Array.from({ length: 4 }, async () => {
      while (sending) {
        const messageId = `${prefix}_${next++}`;
        try {
          const res = await sendOne(messageId);
          accepted.push(messageId);
          if (res.duplicate) duplicatesOnFirstTry.push(messageId);
        } catch (err) {
          const e = ConnectError.from(err);
          failures.push({ messageId, code: e.code, reason: reasonOf(e), retryDelayMs: retryDelayMs(e), message: e.rawMessage });
          await new Promise((r) => setTimeout(r, 20)); // a failing call comes back at once: do not spin
        }
      }
    });
    try {
      await expect.poll(() => receiver.handled.size, { timeout: MINUTE, interval: 100 }).toBeGreaterThan(50);

      await server.restart(mode);
      // The stream goes on through the restart, then past some successful sends after it.
      const acceptedAtRestart = accepted.length;
      await expect.poll(() => accepted.length, { timeout: 2 * MINUTE, interval: 100 }).toBeGreaterThan(acceptedAtRestart + 100);
    } finally {
      sending = false;
      await Promise.all(senders);
    }

    // Both gateways are alive and serving; a new Send succeeds on each.
    for (const gw of [gw1, gw2]) {
      await expect.poll(() => serving(gw.url), { timeout: MINUTE, interval: 200 }).toBe(HealthCheckResponse_ServingStatus.SERVING);
    }
    const fresh = `${prefix}_fresh`;
    await expect(sendOne(fresh)).resolves.toMatchObject({ messageId: fresh, duplicate: false });
    accepted.push(fresh);
    const viaGw2 = client(MessagingService, gw2.url, a.user.token);
    const fresh2 = `${prefix}_fresh2`;
    await expect(
      viaGw2.send({ asAccountId: a.accountId, messageId: fresh2, to: { target: { case: "accountId", value: b.accountId } }, payload: {} }),
    ).resolves.toMatchObject({ messageId: fresh2 });
    accepted.push(fresh2);

    // The background loops carried on: the expiry sweep still expires what is past its TTL.
    const shortLived = `ttl_${prefix}`;
    await a.user.messaging.send({
      asAccountId: a.accountId,
      messageId: shortLived,
      expiry: { case: "ttlMs", value: 200n },
      to: { target: { case: "accountId", value: c.accountId } },
      payload: {},
    });
    await expect.poll(async () => (await storedStatuses([shortLived])).get(shortLived), { timeout: MINUTE, interval: 200 }).toBe("expired");

    // Sends in the gap failed only with UNAVAILABLE and a reason (with RetryInfo for the database's), never INTERNAL.
    const summary = failures.reduce<Record<string, number>>((acc, f) => {
      const key = `${Code[f.code]}:${f.reason ?? "(none)"}`;
      acc[key] = (acc[key] ?? 0) + 1;
      return acc;
    }, {});
    console.info(
      `restart -m ${mode}: ${accepted.length} accepted, failures ${JSON.stringify(summary)}, stream ends ${JSON.stringify(receiver.streamEnds)}`,
    );
    expect(failures.filter((f) => f.code !== Code.Unavailable || !f.reason)).toEqual([]);
    for (const f of failures.filter((f) => f.reason === "database_unavailable")) expect(f.retryDelayMs).toBeGreaterThan(0);
    expect(duplicatesOnFirstTry).toEqual([]);

    // Every accepted message is in the database and reaches the receiver.
    const stored = await storedStatuses(accepted);
    expect(accepted.filter((id) => !stored.has(id))).toEqual([]);
    await expect.poll(() => accepted.filter((id) => !receiver.handled.has(id)).length, { timeout: 2 * MINUTE, interval: 200 }).toBe(0);

    // Retrying what failed with the same message_id: stored ones come back duplicate, the rest are sent now.
    const failedIds = failures.map((f) => f.messageId);
    const storedBeforeRetry = await storedStatuses(failedIds);
    for (const id of failedIds) {
      const res = await sendOne(id);
      expect(res.messageId).toBe(id);
      expect(res.duplicate).toBe(storedBeforeRetry.has(id));
    }
    console.info(`restart -m ${mode}: ${failedIds.length} retried, ${storedBeforeRetry.size} of them had been stored`);

    // All sent exactly once: one row per id, each handled by the receiver and processed once its ack lands.
    const all = [...accepted, ...failedIds];
    expect(new Set(all).size).toBe(all.length);
    const { rows } = await db.query<{ n: string }>("select count(*) as n from messages where message_id like $1", [`${prefix}\\_%`]);
    expect(Number(rows[0]!.n)).toBe(all.length);
    await expect.poll(() => all.filter((id) => !receiver.handled.has(id)).length, { timeout: 2 * MINUTE, interval: 200 }).toBe(0);
    await expect
      .poll(async () => [...(await storedStatuses(all)).values()].filter((s) => s !== "processed").length, {
        timeout: 2 * MINUTE,
        interval: 500,
      })
      .toBe(0);
  };

  it("rides out pg_ctl restart -m fast", run("fast"), 10 * MINUTE);
  it("rides out pg_ctl restart -m immediate (a crash)", run("immediate"), 10 * MINUTE);
});

describe("a gateway started while its PostgreSQL is down", () => {
  let server: ControllablePostgres;
  let backend: TestBackend;
  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;

  beforeAll(async () => {
    server = await startPostgres();
    backend = await createBackend("postgres+nats", { postgresUrl: server.url });
  }, 2 * MINUTE);
  afterAll(async () => {
    await gateway?.close();
    await backend?.dispose().catch(() => undefined);
    await server?.stop();
  });

  it(
    "waits, logging each attempt, and comes up once PostgreSQL starts",
    async () => {
      await server.halt("fast");
      const config = readConfig({ HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "silent", ...backend.env });
      const attempts: string[] = [];
      const logger = { warn: (_obj: object, msg: string) => void attempts.push(msg) };
      const starting = retryWhileUnavailable(() => startGateway(config, pino({ level: "silent" })), {
        logger,
        what: "starting the gateway",
        maxDelayMs: 500,
      });
      let settled = false;
      void starting.finally(() => (settled = true)).catch(() => undefined);
      await expect.poll(() => attempts.length, { timeout: MINUTE }).toBeGreaterThanOrEqual(3);
      expect(settled).toBe(false);
      expect(attempts[0]).toMatch(/^starting the gateway: the database is unavailable; retrying in/);

      await server.resume();
      gateway = await starting;
      const url = `http://127.0.0.1:${gateway.port}`;
      expect((await client(Health, url).check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      const admin = await loginAdmin(url);
      expect(admin.token).not.toBe("");
    },
    3 * MINUTE,
  );

  it(
    "answers /metrics while PostgreSQL is down: store figures keep their last values, failed statements are counted",
    async () => {
      const url = `http://127.0.0.1:${gateway!.port}`;
      const before = (await scrape(url)).samples;
      const pending = sampleValue(before, "agentnet_messages_pending");
      expect(Number.isFinite(pending)).toBe(true);
      await server.halt("fast");
      try {
        // The sweeps keep trying the store every second; each failure is counted, and scrapes keep answering.
        await expect
          .poll(async () => sampleValue((await scrape(url)).samples, "agentnet_store_query_errors_total"), { timeout: MINUTE })
          .toBeGreaterThan(sampleValue(before, "agentnet_store_query_errors_total"));
        // Past the 5 s the figures are cached for, a read fails: the last figures stay.
        await new Promise((r) => setTimeout(r, 5_500));
        const during = (await scrape(url)).samples;
        expect(sampleValue(during, "agentnet_messages_pending")).toBe(pending);
        expect(sampleValue(during, "agentnet_registry_accounts")).toBe(sampleValue(before, "agentnet_registry_accounts"));
      } finally {
        await server.resume();
      }
      const admin = await loginAdmin(url);
      expect(admin.token).not.toBe("");
    },
    3 * MINUTE,
  );

  it(
    "says NOT_SERVING while PostgreSQL is down, to Check and Watch, and SERVING once it is back",
    async () => {
      const url = `http://127.0.0.1:${gateway!.port}`;
      const health = client(Health, url);
      const check = async (service: string) => (await health.check({ service })).status;
      await expect.poll(() => check(""), { timeout: MINUTE }).toBe(HealthCheckResponse_ServingStatus.SERVING);
      const watched: HealthCheckResponse_ServingStatus[] = [];
      const abort = new AbortController();
      const watching = (async () => {
        for await (const res of health.watch({ service: "" }, { signal: abort.signal })) watched.push(res.status);
      })().catch(() => undefined);
      try {
        await server.halt("fast");
        try {
          await expect.poll(() => check(""), { timeout: MINUTE }).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
          // The services that need the database say so too; health itself still answers.
          expect(await check(MessagingService.typeName)).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
          expect(await check(Health.typeName)).toBe(HealthCheckResponse_ServingStatus.SERVING);
        } finally {
          await server.resume();
        }
        await expect.poll(() => check(""), { timeout: MINUTE }).toBe(HealthCheckResponse_ServingStatus.SERVING);
        expect(await check(MessagingService.typeName)).toBe(HealthCheckResponse_ServingStatus.SERVING);
        await expect
          .poll(() => watched, { timeout: MINUTE })
          .toEqual([
            HealthCheckResponse_ServingStatus.SERVING,
            HealthCheckResponse_ServingStatus.NOT_SERVING,
            HealthCheckResponse_ServingStatus.SERVING,
          ]);
      } finally {
        abort.abort();
        await watching;
      }
      const admin = await loginAdmin(url);
      expect(admin.token).not.toBe("");
    },
    3 * MINUTE,
  );

  it(
    "gives up at once on a database that does not exist (a configuration error, not an outage)",
    async () => {
      const url = new URL(backend.env["DATABASE_URL"]!);
      url.pathname = "/agentnet_no_such_database";
      const config = readConfig({ HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "silent", ...backend.env, DATABASE_URL: url.toString() });
      const attempts: string[] = [];
      await expect(
        retryWhileUnavailable(() => startGateway(config, pino({ level: "silent" })), {
          logger: { warn: (_o: object, msg: string) => void attempts.push(msg) },
          what: "starting the gateway",
        }),
      ).rejects.toThrow(/does not exist/);
      expect(attempts).toEqual([]);
    },
    MINUTE,
  );
});
