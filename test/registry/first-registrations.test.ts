import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Principal } from "../../src/auth/index.js";
import { createUser } from "../../src/auth/users.js";
import { type NewRegistration, NewRegistrations } from "../../src/registry/register-new.js";
import { type Store, openStore } from "../../src/store/database.js";
import { migrateToLatest } from "../../src/store/migrate.js";
import { MODES, type TestBackend, createBackend } from "../support/gateway.js";

// First registrations that arrive together share one insert: each caller still gets its own account and session,
// a name given twice goes in once, and a registration the database refuses fails alone.
describe.each(MODES)("first registrations in one flush (%s)", (mode) => {
  let backend: TestBackend;
  let store: Store;
  let registrations: NewRegistrations;
  let owner: Principal;

  const principal = (u: { userId: string; username: string }): Principal => ({
    userId: u.userId,
    username: u.username,
    admin: false,
    credential: "access",
    issuedAt: 0,
    expiresAt: 0,
  });
  const item = (username: string, by: Principal = owner, extra: Partial<NewRegistration> = {}): NewRegistration => ({
    owner: by,
    username,
    agentId: `agent-${username}`,
    displayName: `Agent ${username}`,
    bio: `bio of ${username}`,
    capabilities: [`cap_${username}`, "shared"],
    metadataJson: JSON.stringify({ name: username }),
    visibility: undefined,
    publicKey: undefined,
    sessionMetadataJson: JSON.stringify({ pid: username }),
    ...extra,
  });

  beforeAll(async () => {
    backend = await createBackend(mode);
    store = await openStore({ databaseUrl: backend.env["DATABASE_URL"], dataDir: backend.env["AGENTNET_DATA_DIR"]! });
    await migrateToLatest(store);
    owner = principal(await createUser(store.db, { username: "fleet", password: "fleet-password", admin: false }));
    registrations = new NewRegistrations(store.db, { ttlSeconds: 40, gatewayId: "gw_test" });
  });
  afterAll(async () => {
    await store?.close();
    await backend?.dispose();
  });

  it("gives each registration of a batch its own account and session, with what it asked for", async () => {
    const key = new Uint8Array(32).fill(7);
    const items = [
      ...Array.from({ length: 10 }, (_, i) => item(`batch_${String(i).padStart(2, "0")}`)),
      item("batch_keyed", owner, { publicKey: Buffer.from(key), visibility: "private", capabilities: [] }),
    ];
    const results = await Promise.all(items.map((i) => registrations.submit(i)));
    expect(new Set(results.map((r) => r?.profile.accountId)).size).toBe(items.length);
    for (const [i, r] of results.entries()) {
      const asked = items[i]!;
      expect(r?.profile).toMatchObject({
        username: asked.username,
        agentId: asked.agentId,
        displayName: asked.displayName,
        bio: asked.bio,
        capabilities: asked.capabilities,
        metadata: JSON.parse(asked.metadataJson!),
        ownerUserId: owner.userId,
        visibility: asked.visibility ?? "public",
      });
      expect(r?.session).toMatchObject({ accountId: r?.profile.accountId, agentId: asked.agentId, gatewayId: "gw_test" });
      expect(r!.session.expiresAt.getTime() - r!.session.connectedAt.getTime()).toBe(40_000);
      expect(r?.session.metadata).toEqual(JSON.parse(asked.sessionMetadataJson));
    }
    expect(new Uint8Array(results.at(-1)!.profile.publicKey!)).toEqual(key);
    const stored = await store.db
      .selectFrom("agent_sessions")
      .innerJoin("accounts", "accounts.account_id", "agent_sessions.account_id")
      .select(["accounts.username", "agent_sessions.session_tag"])
      .where("accounts.username", "like", "batch_%")
      .orderBy("accounts.username")
      .execute();
    expect(stored).toEqual(
      items
        .map((i, k) => ({ username: i.username, session_tag: results[k]!.session.sessionTag }))
        .sort((a, b) => (a.username < b.username ? -1 : 1)),
    );
  });

  it("inserts a name given twice in one batch once, and answers undefined for a name already taken", async () => {
    const taken = await registrations.submit(item("already_here"));
    expect(taken).toBeDefined();
    const results = await Promise.all([
      registrations.submit(item("twice_in_batch")),
      registrations.submit(item("twice_in_batch")),
      registrations.submit(item("already_here")),
      registrations.submit(item("alone_in_batch")),
    ]);
    expect(results.map((r) => r !== undefined)).toEqual([true, false, false, true]);
    const rows = await store.db
      .selectFrom("accounts")
      .select("username")
      .where("username", "in", ["twice_in_batch", "already_here"])
      .execute();
    expect(rows).toHaveLength(2);
  });

  it("fails only the registration the database refuses, registering the others of its batch", async () => {
    // An owner that does not exist (deleted while registering): the foreign key refuses that row alone.
    const ghost = principal({ userId: "usr_gone_while_registering", username: "ghost" });
    const results = await Promise.allSettled([
      registrations.submit(item("beside_ghost_1")),
      registrations.submit(item("ghost_agent", ghost)),
      registrations.submit(item("beside_ghost_2")),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const rows = await store.db
      .selectFrom("accounts")
      .select("username")
      .where("username", "in", ["beside_ghost_1", "ghost_agent", "beside_ghost_2"])
      .orderBy("username")
      .execute();
    expect(rows.map((r) => r.username)).toEqual(["beside_ghost_1", "beside_ghost_2"]);
  });

  it("refreshes the planner's statistics once a fleet has registered, so discovery walks the username index", async () => {
    const analyzed = async () => {
      const { rows } = await sql<{ n: string }>`
        select coalesce(sum(analyze_count), 0) as n from pg_stat_user_tables where relname in ('accounts', 'agent_sessions')`.execute(
        store.db,
      );
      return Number(rows[0]!.n);
    };
    const before = await analyzed();
    await Promise.all(Array.from({ length: 1000 }, (_, i) => registrations.submit(item(`fleet_${String(i).padStart(4, "0")}`))));
    // Both tables, by the gateway (a manual ANALYZE: autovacuum's count is another column).
    await expect.poll(analyzed, { timeout: 20_000, interval: 100 }).toBeGreaterThanOrEqual(before + 2);
  });
});
