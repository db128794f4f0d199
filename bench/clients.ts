import type { DescService } from "@bufbuild/protobuf";
import { type Client, type Transport, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AuthService } from "../gen/agentnet/v1/auth_pb.js";
import { RegistryService } from "../gen/agentnet/v1/registry_pb.js";
import { ADMIN_PASSWORD } from "./gateway.js";

// Load goes through the generated clients over gRPC (HTTP/2). Many agents share one transport (one HTTP/2
// connection) so the bench process does not pay for a connection per agent; the server allows 1000 concurrent
// streams per connection, so stream-heavy loads spread agents over several transports.

/** A gRPC transport that sends `authorization: Bearer <credential>` on every call. */
export function grpcTransport(baseUrl: string, credential?: string): Transport {
  return createGrpcTransport({
    baseUrl,
    interceptors: credential
      ? [
          (next) => (req) => {
            req.header.set("authorization", `Bearer ${credential}`);
            return next(req);
          },
        ]
      : [],
  });
}

export function clientOf<S extends DescService>(service: S, transport: Transport): Client<S> {
  return createClient(service, transport);
}

/** An agent registered for the bench: its account and the session its process holds. */
export interface BenchAgent {
  accountId: string;
  sessionTag: string;
  username: string;
  /** Seconds between heartbeats that Register asked for. */
  heartbeatInterval: number;
}

/**
 * The credential agents of a backend use: a user `bench` (not an admin, as agent owners are) created by the
 * admin, and an API key of that user.
 */
export async function benchCredential(url: string, username = "bench"): Promise<{ adminToken: string; apiKey: string; userToken: string }> {
  const anonymous = clientOf(AuthService, grpcTransport(url));
  const { accessToken: adminToken } = await anonymous.login({ username: "admin", password: ADMIN_PASSWORD });
  const admin = clientOf(AuthService, grpcTransport(url, adminToken));
  const password = `${username}-password-for-the-bench`;
  await admin.createUser({ username, password }).catch((err: unknown) => {
    if (!/already/i.test(String(err))) throw err;
  });
  const { accessToken: userToken } = await anonymous.login({ username, password });
  const user = clientOf(AuthService, grpcTransport(url, userToken));
  const { secret } = await user.createApiKey({ name: "bench agents" });
  return { adminToken, apiKey: secret, userToken };
}

/** Registers `count` agents named `<prefix>_<i>` with `concurrency` Register calls in flight; returns them in order. */
export async function registerAgents(
  transport: Transport,
  prefix: string,
  count: number,
  opts: { concurrency?: number; capabilities?: (i: number) => string[]; onLatencyMs?: (ms: number) => void } = {},
): Promise<BenchAgent[]> {
  const registry = clientOf(RegistryService, transport);
  const agents: BenchAgent[] = new Array(count);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      const username = `${prefix}_${String(i).padStart(5, "0")}`;
      const started = performance.now();
      const res = await registry.register({
        agentId: username,
        username,
        displayName: `Bench agent ${i}`,
        capabilities: opts.capabilities?.(i) ?? [],
      });
      opts.onLatencyMs?.(performance.now() - started);
      agents[i] = {
        accountId: res.accountId,
        sessionTag: res.sessionTag,
        username: res.username,
        heartbeatInterval: res.heartbeatInterval,
      };
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 16, count) }, worker));
  return agents;
}
