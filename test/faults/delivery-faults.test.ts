import type { Client } from "@connectrpc/connect";
import { ConnectError } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DeliveryStatus, type Envelope, MessagingService, SubscribeMode } from "../../gen/agentnet/v1/messaging_pb.js";
import { type NatsServer, startNats } from "../harness/nats.js";
import { freePort } from "../harness/ports.js";
import { type TestAgent, type TestUser, createUser, loginAdmin, registerAgent, text } from "../support/agents.js";
import { type RunningServer, startCliServer } from "../support/cli.js";
import { client } from "../support/clients.js";
import { type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";

// Faults with real processes: a gateway killed with SIGKILL while it holds a stream's unacked messages, and
// nats-server stopped and killed under a steady stream. Each asserts what a user relies on: every ACCEPTED message
// is stored and processed by a receiver that stays connected (after one reconnect when its own gateway died), none
// processed twice (the receiver dedupes by id, as the SDKs do), and no message waits for a further reconnect.

const FAST = {
  // Short leases and sweeps keep the test short; the mechanisms are the production ones.
  AGENTNET_DELIVERY_LEASE_MS: "3000",
  AGENTNET_REDELIVERY_INTERVAL_MS: "300",
  AGENTNET_SEND_RATE_PER_SECOND: "100000",
  AGENTNET_SEND_RATE_BURST: "100000",
};

/** A receiver that processes each message id once, acking it, and counts redeliveries it absorbed. */
class Receiver {
  readonly processed = new Set<string>();
  redeliveries = 0;
  private readonly abort = new AbortController();
  private readonly running: Promise<void>;

  constructor(
    agent: TestAgent,
    messaging: Client<typeof MessagingService>,
    private readonly ack: boolean,
    maxInFlight = 100,
  ) {
    this.running = (async () => {
      const stream = messaging.subscribe(
        { asAccountId: agent.accountId, sessionTag: agent.sessionTag, mode: SubscribeMode.CONSUME, maxInFlight },
        { signal: this.abort.signal },
      );
      for await (const item of stream) {
        if (item.event.case !== "message") continue;
        this.take(messaging, item.event.value);
      }
    })().catch((err: unknown) => {
      // A stream cut by a killed gateway or our own close ends here; the test decides what that means.
      if (!this.abort.signal.aborted && !(err instanceof ConnectError)) throw err;
    });
  }

  private take(messaging: Client<typeof MessagingService>, m: Envelope): void {
    if (this.processed.has(m.messageId)) {
      this.redeliveries++;
      return;
    }
    this.processed.add(m.messageId);
    if (this.ack) void messaging.ack({ acks: [{ messageId: m.messageId }] }).catch(() => this.processed.delete(m.messageId));
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.running;
  }
}

/** Sends `count` messages with client-chosen ids, retrying any that fail (the SDKs' way); returns the failures seen. */
async function sendAll(
  from: TestAgent,
  to: TestAgent,
  messaging: Client<typeof MessagingService>,
  ids: string[],
  during?: (sent: number) => Promise<void>,
) {
  const failures: ConnectError[] = [];
  let sent = 0;
  for (let i = 0; i < ids.length; i += 20) {
    await Promise.all(
      ids.slice(i, i + 20).map(async (messageId) => {
        for (let attempt = 0; ; attempt++) {
          try {
            await messaging.send({
              asAccountId: from.accountId,
              to: { target: { case: "accountId", value: to.accountId } },
              payload: text(messageId),
              messageId,
            });
            return;
          } catch (err) {
            failures.push(ConnectError.from(err));
            if (attempt > 50) throw err;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
      }),
    );
    sent = Math.min(ids.length, i + 20);
    await during?.(sent);
  }
  return failures;
}

async function countByStatus(gw: TestGateway, ids: string[]): Promise<Record<string, number>> {
  const rows = await gw.store.db.selectFrom("messages").select(["status"]).where("message_id", "in", ids).execute();
  const counts: Record<string, number> = {};
  for (const r of rows) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

describe("delivery through faults (postgres+nats)", () => {
  let backend: TestBackend;
  let gw1: TestGateway | undefined;
  let gw2: TestGateway | undefined;
  let child: RunningServer | undefined;
  let nats: NatsServer | undefined;
  let n = 0;

  beforeAll(async () => {
    backend = await createBackend("postgres+nats");
  });
  afterEach(async () => {
    await gw2?.close();
    await gw1?.close();
    await child?.stop("SIGKILL");
    await nats?.stop();
    gw1 = gw2 = child = nats = undefined;
  });
  afterAll(async () => {
    await backend?.dispose();
  });

  const users = async (url: string): Promise<[TestUser, TestUser]> => {
    n++;
    const admin = await loginAdmin(url);
    return [await createUser(url, admin, `sender${n}`), await createUser(url, admin, `receiver${n}`)];
  };

  it("a gateway killed with SIGKILL holding unacked messages: they reach the agent's new stream when their lease ends, without another reconnect", async () => {
    gw1 = await startTestGateway(backend, FAST);
    const port = await freePort();
    child = await startCliServer({ ...backend.env, ...FAST, HOST: "127.0.0.1", PORT: String(port), LOG_LEVEL: "info" });
    const url2 = `http://127.0.0.1:${port}`;
    const [alice, bob] = await users(gw1.url);
    const a = await registerAgent(alice, `a${n}`);
    const b = await registerAgent(bob, `b${n}`);

    // B takes 100 messages on gateway 2 and does not ack them.
    const first = new Receiver(b, client(MessagingService, url2, bob.token), false, 100);
    const ids = Array.from({ length: 400 }, (_, i) => `kill_${i}`);
    const failures = await sendAll(a, b, alice.messaging, ids);
    expect(failures).toEqual([]);
    await expect.poll(() => first.processed.size, { timeout: 60_000 }).toBe(100);
    const inFlightOnDeadGateway = new Set(first.processed);

    await child.stop("SIGKILL");
    child = undefined;
    await first.close();

    // B reconnects once, on gateway 1, and stays: everything arrives, the 100 stranded ones included.
    const second = new Receiver(b, bob.messaging, true);
    await expect.poll(() => second.processed.size, { timeout: 120_000 }).toBe(ids.length);
    for (const id of inFlightOnDeadGateway) expect(second.processed.has(id)).toBe(true);
    await expect.poll(() => countByStatus(gw1!, ids), { timeout: 60_000 }).toEqual({ processed: ids.length });
    await second.close();
  }, 300_000);

  it("a receiver that stops acking holds at most max_in_flight; the rest waits in the store and flows once it acks again", async () => {
    gw1 = await startTestGateway(backend, FAST);
    const [alice, bob] = await users(gw1.url);
    const a = await registerAgent(alice, `a${n}`);
    const b = await registerAgent(bob, `b${n}`);
    const stalled = new Receiver(b, bob.messaging, false, 10);
    const ids = Array.from({ length: 300 }, (_, i) => `slow_${i}`);
    expect(await sendAll(a, b, alice.messaging, ids)).toEqual([]);
    await expect.poll(() => stalled.processed.size, { timeout: 30_000 }).toBe(10);
    // Leases run out meanwhile and the sweep runs: still never more than 10 pushed to a stream that acks nothing.
    await new Promise((r) => setTimeout(r, 4000));
    expect(stalled.processed.size + stalled.redeliveries).toBeLessThanOrEqual(20);
    expect((await countByStatus(gw1, ids))["accepted"]).toBeGreaterThanOrEqual(ids.length - 20);
    await stalled.close();
    // The same agent acks again: everything arrives, none processed twice.
    const resumed = new Receiver(b, bob.messaging, true, 10);
    await expect.poll(() => resumed.processed.size, { timeout: 120_000 }).toBe(ids.length);
    await expect.poll(() => countByStatus(gw1!, ids), { timeout: 60_000 }).toEqual({ processed: ids.length });
    await resumed.close();
  }, 300_000);

  it.each(["SIGTERM", "SIGKILL"] as const)(
    "a NATS restart (%s) strands nothing: the open stream gets every message and the watcher every receipt",
    async (signal) => {
      nats = await startNats();
      gw1 = await startTestGateway(backend, { ...FAST, NATS_URL: nats.url });
      gw2 = await startTestGateway(backend, { ...FAST, NATS_URL: nats.url });
      const [alice, bob] = await users(gw1.url);
      const a = await registerAgent(alice, `a${n}`);
      const b = await registerAgent(bob, `b${n}`);
      const receiver = new Receiver(b, client(MessagingService, gw2.url, bob.token), true);

      // A watches its receipts on gateway 1 throughout.
      const processedReceipts = new Set<string>();
      const watchAbort = new AbortController();
      const watching = (async () => {
        for await (const item of alice.messaging.watchReceipts({ accountIds: [a.accountId] }, { signal: watchAbort.signal })) {
          if (item.event.case === "receipt" && item.event.value.status === DeliveryStatus.PROCESSED)
            processedReceipts.add(item.event.value.messageId);
        }
      })().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 300));

      const ids = Array.from({ length: 600 }, (_, i) => `nats_${signal}_${i}`);
      let restarted = false;
      const failures = await sendAll(a, b, alice.messaging, ids, async (sent) => {
        if (restarted || sent < 200) return;
        restarted = true;
        const port = nats!.port;
        await nats!.kill(signal);
        await new Promise((r) => setTimeout(r, 1500));
        nats = await startNats({ port });
      });
      // Sends go on during the outage: they are stored; only delivery waits for the bus (or the sweep).
      for (const f of failures) expect(f.code, f.message).not.toBe(13);

      await expect.poll(() => receiver.processed.size, { timeout: 120_000 }).toBe(ids.length);
      await expect.poll(() => countByStatus(gw1!, ids), { timeout: 60_000 }).toEqual({ processed: ids.length });
      await expect.poll(() => ids.filter((id) => !processedReceipts.has(id)).length, { timeout: 60_000 }).toBe(0);
      watchAbort.abort();
      await watching;
      await receiver.close();
    },
    300_000,
  );
});
