import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import { RegistryService, type WatchPresenceRequestSchema, type WatchPresenceResponse } from "../../gen/agentnet/v1/registry_pb.js";
import { client } from "../support/clients.js";
import { ADMIN_PASSWORD, type TestGateway } from "../support/gateway.js";

export type Registry = Client<typeof RegistryService>;

export interface Caller {
  userId: string;
  username: string;
  token: string;
  registry: Registry;
}

/** Logs in as admin, and creates and logs in each of `names` (non-admin users) on a fresh backend. */
export async function callers<N extends string>(gw: TestGateway, names: N[]): Promise<Record<N | "admin", Caller>> {
  const login = async (username: string, password: string, userId: string): Promise<Caller> => {
    const { accessToken } = await client(AuthService, gw.url).login({ username, password });
    return { userId, username, token: accessToken, registry: client(RegistryService, gw.url, accessToken) };
  };
  const admin = await login("admin", ADMIN_PASSWORD, "");
  const out = { admin } as Record<N | "admin", Caller>;
  for (const name of names) {
    const password = `${name}-password`;
    const { user } = await client(AuthService, gw.url, admin.token).createUser({ username: name, password });
    out[name] = await login(name, password, user!.userId);
  }
  return out;
}

/** The same callers against another gateway (tokens are valid on every gateway of one store). */
export function on(gw: TestGateway, caller: Caller): Caller {
  return { ...caller, registry: client(RegistryService, gw.url, caller.token) };
}

/** A WatchPresence stream read in the background; `items` fills as responses arrive. */
export interface Watch {
  items: WatchPresenceResponse[];
  /** Presence events only (no synced/keepalive). */
  events(): Extract<WatchPresenceResponse["event"], { case: "presence" }>["value"][];
  synced(): boolean;
  stop(): Promise<void>;
  /** Why the stream ended, if it did on its own. */
  error(): unknown;
}

export function watch(registry: Registry, request: MessageInitShape<typeof WatchPresenceRequestSchema> = {}): Watch {
  const abort = new AbortController();
  const items: WatchPresenceResponse[] = [];
  let failure: unknown;
  const done = (async () => {
    try {
      for await (const res of registry.watchPresence(request, { signal: abort.signal })) items.push(res);
    } catch (err) {
      if (!abort.signal.aborted) failure = err;
    }
  })();
  return {
    items,
    events: () => items.flatMap((i) => (i.event.case === "presence" ? [i.event.value] : [])),
    synced: () => items.some((i) => i.event.case === "synced"),
    async stop() {
      abort.abort();
      await done;
    },
    error: () => failure,
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
