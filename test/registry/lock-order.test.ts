import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Principal } from "../../src/auth/index.js";
import { createUser } from "../../src/auth/users.js";
import { renewHeldLeases, reviveHeldLeases } from "../../src/registry/held-leases.js";
import { Heartbeats } from "../../src/registry/heartbeats.js";
import { type Store, openStore } from "../../src/store/database.js";
import { migrateToLatest } from "../../src/store/migrate.js";
import { MODES, type TestBackend, createBackend } from "../support/gateway.js";
import { crossingTheMiddle } from "../support/lock-order.js";
import { insertAccount } from "../support/messages.js";

// A heartbeat batch and this gateway's renewal of the leases its open streams hold change many sessions at once,
// some of them the same (an agent may heartbeat while its stream is open); the full bench's 10,000 agents had
// heartbeats fail INTERNAL with 40P01 when the two crossed in different orders. Each must lock in session_tag
// order whatever plan PostgreSQL picks: while another transaction holds one session, a statement waiting for it
// holds none of the sessions after it.
describe.each(MODES)("multi-session changes lock in session_tag order (%s)", (mode) => {
  let backend: TestBackend;
  let store: Store;
  let owner: { userId: string; username: string };
  let accountId: string;
  let n = 0;
  const opts = { ttlSeconds: 60, gatewayId: "gw_test" };

  beforeAll(async () => {
    backend = await createBackend(mode);
    store = await openStore({ databaseUrl: backend.env["DATABASE_URL"], dataDir: backend.env["AGENTNET_DATA_DIR"]! });
    await migrateToLatest(store);
    owner = await createUser(store.db, { username: "owner", password: "owner-password", admin: false });
    accountId = (await insertAccount(store.db, owner, "agent_locks")).accountId;
  });
  afterAll(async () => {
    await store?.close();
    await backend?.dispose();
  });

  /** 200 sessions of one account stored in the reverse of their tag order, online or evicted as asked. */
  async function sessions(state: "online" | "evicted"): Promise<string[]> {
    const prefix = `sess_lock_${++n}_`;
    const sorted = Array.from({ length: 200 }, (_, i) => `${prefix}${String(i).padStart(3, "0")}`);
    for (const tag of [...sorted].reverse()) {
      await sql`insert into agent_sessions (session_tag, account_id, agent_id, gateway_id, last_seen_at, expires_at, status,
                                            offline_reason)
                values (${tag}, ${accountId}, 'a', 'gw_other', now(), now() + interval '1 minute',
                        ${state === "online" ? "online" : "offline"}, ${state === "online" ? "" : "ttl_expired"})`.execute(store.db);
    }
    return sorted;
  }

  const crossing = <T>(sorted: string[], change: (tags: string[]) => Promise<T>) =>
    crossingTheMiddle({ db: store.db, table: "agent_sessions", key: "session_tag", sorted, change });

  it("a heartbeat batch", async () => {
    const sorted = await sessions("online");
    const heartbeats = new Heartbeats(store.db, opts);
    const caller = { userId: owner.userId, username: owner.username, admin: false, credential: "access" } as Principal;
    const leases = await crossing(sorted, (tags) => Promise.all(tags.map((tag) => heartbeats.beat(caller, tag))));
    expect(leases.map((l) => l.sessionTag).sort()).toEqual(sorted);
  });

  it("the renewal of held leases, and the revival of held sessions evicted meanwhile", async () => {
    const online = await sessions("online");
    const renewed = await crossing(online, (tags) => renewHeldLeases(store.db, tags, opts));
    expect([...renewed].sort()).toEqual(online);
    const evicted = await sessions("evicted");
    const revived = await crossing(evicted, (tags) => reviveHeldLeases(store.db, tags, opts));
    expect(revived.map((s) => [s.session_tag, s.status, s.gateway_id]).sort()).toEqual(evicted.map((t) => [t, "online", "gw_test"]));
  });
});
