import type { JsonObject } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import { type Envelope, MessagingService, SubscribeMode } from "../../gen/agentnet/v1/messaging_pb.js";
import { RegistryService } from "../../gen/agentnet/v1/registry_pb.js";
import { client, type Protocol } from "./clients.js";
import { ADMIN_PASSWORD } from "./gateway.js";

/** A user of a test gateway with clients bound to its token. */
export interface TestUser {
  username: string;
  token: string;
  auth: Client<typeof AuthService>;
  registry: Client<typeof RegistryService>;
  messaging: Client<typeof MessagingService>;
}

export async function loginAdmin(url: string, protocol: Protocol = "grpc"): Promise<TestUser> {
  const { accessToken } = await client(AuthService, url).login({ username: "admin", password: ADMIN_PASSWORD });
  return userClients(url, "admin", accessToken, protocol);
}

/** Creates a user through the admin and logs it in. */
export async function createUser(url: string, admin: TestUser, username: string): Promise<TestUser> {
  const password = `${username}-password`;
  await admin.auth.createUser({ username, password });
  const { accessToken } = await client(AuthService, url).login({ username, password });
  return userClients(url, username, accessToken);
}

export function userClients(url: string, username: string, token: string, protocol: Protocol = "grpc"): TestUser {
  return {
    username,
    token,
    auth: client(AuthService, url, token, protocol),
    registry: client(RegistryService, url, token, protocol),
    messaging: client(MessagingService, url, token, protocol),
  };
}

export interface TestAgent {
  user: TestUser;
  accountId: string;
  username: string;
  sessionTag: string;
}

export async function registerAgent(user: TestUser, username: string, capabilities: string[] = []): Promise<TestAgent> {
  const res = await user.registry.register({ agentId: username, username, capabilities });
  return { user, accountId: res.accountId, username: res.username, sessionTag: res.sessionTag };
}

/** A running CONSUME stream that collects what it receives and can ack it. */
export interface Inbox {
  received: Envelope[];
  /** Resolves once `n` messages arrived in total. */
  waitFor(n: number, timeoutMs?: number): Promise<Envelope[]>;
  /** Resolves when every ack sent so far got its answer. */
  settled(): Promise<void>;
  close(): Promise<void>;
  pendingAtStart: Promise<bigint>;
}

export function openInbox(
  agent: TestAgent,
  options: { autoAck?: boolean; messaging?: Client<typeof MessagingService>; maxInFlight?: number } = {},
): Inbox {
  const messaging = options.messaging ?? agent.user.messaging;
  const abort = new AbortController();
  const received: Envelope[] = [];
  const waiters: Array<() => void> = [];
  const acks: Array<Promise<unknown>> = [];
  let startedResolve: (n: bigint) => void = () => undefined;
  const pendingAtStart = new Promise<bigint>((r) => (startedResolve = r));
  const running = (async () => {
    try {
      const stream = messaging.subscribe(
        { asAccountId: agent.accountId, sessionTag: agent.sessionTag, mode: SubscribeMode.CONSUME, maxInFlight: options.maxInFlight },
        { signal: abort.signal },
      );
      for await (const item of stream) {
        if (item.event.case === "started") startedResolve(item.event.value.pendingCount);
        if (item.event.case !== "message") continue;
        const envelope = item.event.value;
        received.push(envelope);
        if (options.autoAck) acks.push(messaging.ack({ acks: [{ messageId: envelope.messageId }] }).catch(() => undefined));
        for (const w of waiters.splice(0)) w();
      }
    } catch (err) {
      if (!abort.signal.aborted) throw err;
    }
  })();
  // A stream cut by a gateway that stops (or is killed) rejects `running`; whoever waits on the inbox sees it, and a
  // test that closes the inbox afterwards must not get an unhandled rejection meanwhile.
  running.catch(() => undefined);
  return {
    received,
    pendingAtStart,
    async waitFor(n, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < n) {
        if (Date.now() > deadline) throw new Error(`waited for ${n} messages, got ${received.length}`);
        await Promise.race([new Promise<void>((r) => waiters.push(r)), new Promise((r) => setTimeout(r, 100)), running]);
      }
      return received.slice(0, n);
    },
    async settled() {
      await Promise.all(acks);
    },
    async close() {
      abort.abort();
      await running.catch(() => undefined);
    },
  };
}

export function text(body: string): JsonObject {
  return { text: body };
}
