import { AuthService } from "../../../gen/agentnet/v1/auth_pb.js";
import { type AgentnetClient, type ConnectOptions, connect } from "../../../clients/ts/src/index.js";
import { client } from "../../support/clients.js";
import { ADMIN_PASSWORD, type Mode, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../../support/gateway.js";

/** A backend with a gateway that can be restarted on the same port (the SDK reconnects to the same URL). */
export interface Network {
  backend: TestBackend;
  gw: TestGateway;
  url: string;
  adminToken: string;
  /** Stops the gateway (its streams end) and starts a new one on the same port and backend. */
  restart(downMs?: number): Promise<void>;
  /** A new user with its own token. */
  user(name: string): Promise<{ token: string; client: (o?: Partial<ConnectOptions>) => AgentnetClient }>;
  close(): Promise<void>;
}

export async function startNetwork(mode: Mode, overrides: Record<string, string> = {}): Promise<Network> {
  const backend = await createBackend(mode);
  let gw = await startTestGateway(backend, overrides);
  const url = gw.url;
  const { accessToken: adminToken } = await client(AuthService, url).login({ username: "admin", password: ADMIN_PASSWORD });
  const clients: AgentnetClient[] = [];
  const net: Network = {
    backend,
    get gw() {
      return gw;
    },
    url,
    adminToken,
    async restart(downMs = 300) {
      const port = gw.port;
      await gw.close();
      await new Promise((r) => setTimeout(r, downMs));
      gw = await startTestGateway(backend, { ...overrides, PORT: String(port) });
    },
    async user(name) {
      const password = `${name}-password`;
      await client(AuthService, url, adminToken).createUser({ username: name, password });
      const { accessToken } = await client(AuthService, url).login({ username: name, password });
      return {
        token: accessToken,
        client: (o = {}) => {
          const c = connect({ url, token: accessToken, ...o });
          clients.push(c);
          return c;
        },
      };
    },
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await gw.close();
      await backend.dispose();
    },
  };
  return net;
}

/** Polls `check` until it returns true, or fails after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
