import type { Client } from "@connectrpc/connect";
import { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import { MessagingService } from "../../gen/agentnet/v1/messaging_pb.js";
import { RegistryService } from "../../gen/agentnet/v1/registry_pb.js";
import { type SessionEvent, SessionEventType, SessionService } from "../../gen/agentnet/v1/session_pb.js";
import { client } from "../support/clients.js";
import { ADMIN_PASSWORD, type TestGateway } from "../support/gateway.js";

export type Sessions = Client<typeof SessionService>;

export interface SessionUser {
  username: string;
  token: string;
  sessions: Sessions;
  registry: Client<typeof RegistryService>;
  messaging: Client<typeof MessagingService>;
}

export function clientsFor(gw: TestGateway, username: string, token: string): SessionUser {
  return {
    username,
    token,
    sessions: client(SessionService, gw.url, token),
    registry: client(RegistryService, gw.url, token),
    messaging: client(MessagingService, gw.url, token),
  };
}

export async function loginAdmin(gw: TestGateway): Promise<SessionUser> {
  const { accessToken } = await client(AuthService, gw.url).login({ username: "admin", password: ADMIN_PASSWORD });
  return clientsFor(gw, "admin", accessToken);
}

let users = 0;

/** A fresh user (rate limits are per user, so each test gets its own). */
export async function newUser(gw: TestGateway, admin: SessionUser, prefix = "user"): Promise<SessionUser> {
  const username = `${prefix}${++users}_${process.pid}`;
  const password = `${username}-password`;
  await client(AuthService, gw.url, admin.token).createUser({ username, password });
  const { accessToken } = await client(AuthService, gw.url).login({ username, password });
  return clientsFor(gw, username, accessToken);
}

/** A StreamSession read in the background. */
export interface Viewer {
  events: SessionEvent[];
  /** Resolves with the events so far once `done(events)` holds. */
  until(done: (events: SessionEvent[]) => boolean, timeoutMs?: number): Promise<SessionEvent[]>;
  /** Resolves when the stream ended on its own (after `stop`), with its events. */
  ended(timeoutMs?: number): Promise<SessionEvent[]>;
  close(): Promise<void>;
  error(): unknown;
}

export function view(sessions: Sessions, sessionId: string, afterSeq = 0n): Viewer {
  const abort = new AbortController();
  const events: SessionEvent[] = [];
  let failure: unknown;
  let finished = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of waiters) w();
  };
  const done = (async () => {
    try {
      for await (const res of sessions.streamSession({ sessionId, afterSeq }, { signal: abort.signal })) {
        if (res.event) events.push(res.event);
        wake();
      }
    } catch (err) {
      if (!abort.signal.aborted) failure = err;
    } finally {
      finished = true;
      wake();
    }
  })();
  const wait = async (check: () => boolean, timeoutMs: number, what: string) => {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (failure) throw failure;
      if (finished && !check()) throw new Error(`stream ended before ${what}; got ${summary(events)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${summary(events)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        waiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      waiters.clear();
    }
  };
  return {
    events,
    async until(check, timeoutMs = 15_000) {
      await wait(() => check(events), timeoutMs, "the expected events");
      return [...events];
    },
    async ended(timeoutMs = 15_000) {
      await wait(() => finished, timeoutMs, "the end of the stream");
      if (failure) throw failure;
      return [...events];
    },
    async close() {
      abort.abort();
      await done;
    },
    error: () => failure,
  };
}

export const ofType = (events: SessionEvent[], type: SessionEventType) => events.filter((e) => e.type === type);
export const stored = (events: SessionEvent[]) => events.filter((e) => e.type !== SessionEventType.PING);
export const hasStop = (events: SessionEvent[]) => events.some((e) => e.type === SessionEventType.STOP);

export function summary(events: SessionEvent[]): string {
  return events.map((e) => `${e.seq}:${SessionEventType[e.type]}(${e.sender}${e.reason ? `,${e.reason}` : ""})`).join(" ");
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
