import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PresenceEventType, RegistryService } from "../../gen/agentnet/v1/registry_pb.js";
import { connect } from "../../clients/ts/src/index.js";
import { reasonOf } from "../../src/server/errors.js";
import { type NatsServer, startNats } from "../harness/nats.js";
import { type TestUser, createUser, loginAdmin, registerAgent } from "../support/agents.js";
import { client } from "../support/clients.js";
import { type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";

// Presence events travel only on the bus, with no log to replay: a gateway that loses NATS for a moment may miss
// some. Its WatchPresence streams are therefore ended with UNAVAILABLE `presence_resync` once the bus is back, and
// a client that reopens with a snapshot (every SDK does) sees again who is online, including agents that came
// during the outage.

const MINUTE = 60_000;

describe("presence watchers across a NATS outage (postgres+nats)", () => {
  let nats: NatsServer;
  let backend: TestBackend;
  let gw1: TestGateway;
  let gw2: TestGateway;
  let alice: TestUser;

  beforeAll(async () => {
    nats = await startNats();
    backend = await createBackend("postgres+nats");
    gw1 = await startTestGateway(backend, { NATS_URL: nats.url });
    gw2 = await startTestGateway(backend, { NATS_URL: nats.url });
    alice = await createUser(gw1.url, await loginAdmin(gw1.url), `presence_outage_${process.pid}`);
  }, 2 * MINUTE);
  afterAll(async () => {
    await gw2?.close();
    await gw1?.close();
    await backend?.dispose();
    await nats?.stop();
  });

  it(
    "ends open watches with presence_resync once the bus is back; the SDK's watch reopens and sees an agent that came meanwhile",
    async () => {
      const abort = new AbortController();
      // A raw stream on gateway 2, to see how it ends.
      let rawSynced = false;
      let rawEnd: ConnectError | "ended" | undefined;
      const raw = (async () => {
        try {
          for await (const item of client(RegistryService, gw2.url, alice.token).watchPresence({}, { signal: abort.signal })) {
            if (item.event.case === "synced") rawSynced = true;
          }
          rawEnd = "ended";
        } catch (err) {
          rawEnd = ConnectError.from(err);
        }
      })();
      // The SDK's watch on gateway 2, as an application would keep it.
      const sdk = connect({ url: gw2.url, token: alice.token });
      const online = new Map<string, boolean>();
      let sdkSynced = false;
      const watching = (async () => {
        for await (const event of sdk.watchPresence({ signal: abort.signal, onSynced: () => (sdkSynced = true) })) {
          const id = event.account?.accountId ?? "";
          if (event.type === PresenceEventType.ONLINE) online.set(id, true);
          else if (event.type === PresenceEventType.OFFLINE) online.set(id, false);
        }
      })().catch(() => undefined);
      try {
        await expect.poll(() => rawSynced && sdkSynced, { timeout: MINUTE }).toBe(true);

        const port = nats.port;
        await nats.kill("SIGKILL");
        // An agent comes online through gateway 1 while the bus is away: its event reaches no watcher.
        const late = await registerAgent(alice, `late_${process.pid}`);
        nats = await startNats({ port });

        await expect.poll(() => rawEnd !== undefined, { timeout: 2 * MINUTE, interval: 200 }).toBe(true);
        expect(rawEnd).toBeInstanceOf(ConnectError);
        const end = rawEnd as unknown as ConnectError;
        expect([Code[end.code], reasonOf(end)]).toEqual(["Unavailable", "presence_resync"]);
        // The SDK reopened with a snapshot by itself: the agent that came during the outage is there.
        await expect.poll(() => online.get(late.accountId), { timeout: 2 * MINUTE, interval: 200 }).toBe(true);
      } finally {
        abort.abort();
        await Promise.all([raw, watching]);
        await sdk.close();
      }
    },
    5 * MINUTE,
  );
});
