// Connecting and retrying against a live gateway, through a real TCP proxy that cuts a connection when a request
// carrying an SDK message id goes by (gRPC messages are not compressed): the retried send carries the same id, so
// the server stores it once; many agents register at once; no connection within the bound is a typed error.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentnetClient, UnavailableError, connect } from "../../../clients/ts/src/index.js";
import { type Network, startNetwork, until } from "./helpers.js";

const SDK_MESSAGE_ID = /m_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

function proxy(upstreamPort: number, o: { silent?: boolean } = {}) {
  const state = { connections: 0, cutIds: [] as string[], cutNext: false, sent: [] as string[] };
  const server = net.createServer((client) => {
    state.connections += 1;
    if (o.silent) return; // accepts, never answers: no SETTINGS frame ever comes
    let sent = "";
    state.sent.push("");
    const index = state.sent.length - 1;
    const up = net.connect(upstreamPort, "127.0.0.1");
    const cut = () => (client.destroy(), up.destroy());
    client.on("data", (data: Buffer) => {
      sent += data.toString("latin1");
      state.sent[index] = sent;
      const id = SDK_MESSAGE_ID.exec(sent.slice(-(data.length + 256)))?.[0];
      if (id && state.cutNext) {
        state.cutNext = false;
        state.cutIds.push(id);
        return cut();
      }
      up.write(data);
    });
    up.on("data", (data: Buffer) => client.write(data));
    client.on("error", cut).on("close", cut);
    up.on("error", cut).on("close", cut);
  });
  return new Promise<{ url: string; state: typeof state; close: () => void }>((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, state, close: () => server.close() }),
    ),
  );
}

describe("TypeScript SDK: connecting and retrying", () => {
  let network: Network;
  let token: string;
  let clients: AgentnetClient[] = [];
  const run = Math.random().toString(36).slice(2, 8);

  beforeAll(async () => {
    network = await startNetwork("embedded");
    token = (await network.user(`tsc${run}_a`)).token;
  }, 120_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await network?.close();
  });

  it("registers fifty agents at once, each on its own connection", async () => {
    clients = Array.from({ length: 50 }, () => connect({ url: network.url, token }));
    const agents = await Promise.all(clients.map((c, i) => c.register({ username: `tsc${run}_many_${i}` })));
    expect(new Set(agents.map((a) => a.sessionTag)).size).toBe(50);
  }, 60_000);

  it("retries a send cut before it reached the server with the same message id", async () => {
    const receiverUser = await network.user(`tsc${run}_b`);
    const receiver = await receiverUser.client().register({ username: `tsc${run}_r` });
    const handled: string[] = [];
    receiver.onMessage((m) => void handled.push(m.messageId));
    await receiver.ready();
    const p = await proxy(network.gw.port);
    const sender = connect({ url: p.url, token });
    try {
      const agent = await sender.register({ username: `tsc${run}_s` });
      p.state.cutNext = true;
      const sent = await agent.sendText(receiver.username, "through a cut connection");
      expect(p.state.cutIds).toEqual([sent.messageId]); // the first attempt carried the id, and never arrived
      expect(sent.duplicate).toBe(false);
      expect(p.state.connections).toBeGreaterThanOrEqual(2);
      expect(p.state.sent.at(-1)).toContain(sent.messageId); // the retry, on a new connection
      await until(() => handled.includes(sent.messageId), 10_000);
      await new Promise((r) => setTimeout(r, 300));
      expect(handled.filter((id) => id === sent.messageId)).toHaveLength(1);
    } finally {
      await sender.close();
      p.close();
    }
  }, 60_000);

  it("fails register with UnavailableError connect_timeout when no connection comes up within the bound", async () => {
    const dead = net.createServer(); // a port nobody listens on: every connection is refused
    await new Promise<void>((r) => dead.listen(0, "127.0.0.1", () => r()));
    const port = (dead.address() as net.AddressInfo).port;
    await new Promise((r) => dead.close(r));
    const c = connect({ url: `http://127.0.0.1:${port}`, token, connectTimeoutMs: 500 });
    try {
      const err = await c.register({ username: `tsc${run}_never` }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnavailableError);
      expect((err as UnavailableError).reason).toBe("connect_timeout");
    } finally {
      await c.close();
    }
  }, 30_000);
});
