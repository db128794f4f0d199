import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Principal } from "../../src/auth/index.js";
import { createUser } from "../../src/auth/users.js";
import { DomainError } from "../../src/errors.js";
import { Heartbeats } from "../../src/registry/heartbeats.js";
import { openSession } from "../../src/registry/sessions.js";
import { type Store, openStore } from "../../src/store/database.js";
import { migrateToLatest } from "../../src/store/migrate.js";
import { MODES, type TestBackend, createBackend } from "../support/gateway.js";
import { type TestAccount, insertAccount } from "../support/messages.js";

// Heartbeats that arrive together share one UPDATE: each is still answered as if it had come alone, and a caller
// who does not own a session renews nothing, even beside its owner in the same statement.
describe.each(MODES)("heartbeats in one flush (%s)", (mode) => {
  let backend: TestBackend;
  let store: Store;
  let beats: Heartbeats;
  let owner: Principal;
  let stranger: Principal;
  let admin: Principal;
  let account: TestAccount;
  let n = 0;

  const principal = (u: { userId: string; username: string }, isAdmin = false): Principal => ({
    userId: u.userId,
    username: u.username,
    admin: isAdmin,
    credential: "access",
    issuedAt: 0,
    expiresAt: 0,
  });

  beforeAll(async () => {
    backend = await createBackend(mode);
    store = await openStore({ databaseUrl: backend.env["DATABASE_URL"], dataDir: backend.env["AGENTNET_DATA_DIR"]! });
    await migrateToLatest(store);
    const o = await createUser(store.db, { username: "owner", password: "owner-password", admin: false });
    const s = await createUser(store.db, { username: "stranger", password: "stranger-password", admin: false });
    const a = await createUser(store.db, { username: "boss", password: "boss-password-long", admin: true });
    owner = principal(o);
    stranger = principal(s);
    admin = principal(a, true);
    account = await insertAccount(store.db, o, "beating");
    beats = new Heartbeats(store.db, { ttlSeconds: 40, gatewayId: "gw_test" });
  });
  afterAll(async () => {
    await store?.close();
    await backend?.dispose();
  });

  const session = async (ttlSeconds = 40) =>
    (
      await openSession(store.db, {
        accountId: account.accountId,
        agentId: `p${++n}`,
        gatewayId: "gw_other",
        ttlSeconds,
        metadataJson: "{}",
      })
    ).sessionTag;
  const row = (tag: string) =>
    store.db
      .selectFrom("agent_sessions")
      .select(["last_seen_at", "expires_at", "gateway_id"])
      .where("session_tag", "=", tag)
      .executeTakeFirstOrThrow();
  const reason = (r: PromiseSettledResult<unknown>) =>
    r.status === "rejected" && r.reason instanceof DomainError ? `${r.reason.kind} ${r.reason.reason}` : r.status;

  it("renews every session of a batch, each caller getting its own lease", async () => {
    const tags = await Promise.all(Array.from({ length: 20 }, () => session(1)));
    const leases = await Promise.all(tags.map((t) => beats.beat(owner, t)));
    for (const [i, lease] of leases.entries()) {
      expect(lease).toMatchObject({ sessionTag: tags[i], accountId: account.accountId });
      // Renewed to the heartbeat TTL (40 s), not the 1 s they were opened with.
      const r = await row(tags[i]!);
      expect(r.expires_at.getTime() - r.last_seen_at.getTime()).toBeGreaterThan(30_000);
      expect(r.gateway_id).toBe("gw_test");
      expect(lease.expiresAt.getTime()).toBe(r.expires_at.getTime());
    }
  });

  it("refuses a stranger beside the owner in the same batch, in either order, and the stranger alone renews nothing", async () => {
    const shared = await session();
    const alone = await session();
    const before = await row(alone);
    const results = await Promise.allSettled([
      beats.beat(stranger, shared),
      beats.beat(owner, shared),
      beats.beat(stranger, shared),
      beats.beat(stranger, alone),
      beats.beat(admin, shared),
    ]);
    expect(results.map(reason)).toEqual([
      "permission_denied not_account_owner",
      "fulfilled",
      "permission_denied not_account_owner",
      "permission_denied not_account_owner",
      "fulfilled",
    ]);
    expect(await row(alone)).toEqual(before);
  });

  it("answers not_found for unknown and lapsed sessions without reviving them, beside renewals", async () => {
    const live = await session();
    const lapsed = await session(40);
    await sql`update agent_sessions set expires_at = now() - interval '1 second' where session_tag = ${lapsed}`.execute(store.db);
    const before = await row(lapsed);
    const results = await Promise.allSettled([beats.beat(owner, "sess_unknown"), beats.beat(owner, lapsed), beats.beat(owner, live)]);
    expect(results.map(reason)).toEqual(["not_found session_not_found", "not_found session_not_found", "fulfilled"]);
    expect(await row(lapsed)).toEqual(before);
    await expect(beats.beat(owner, " ")).rejects.toMatchObject({ kind: "invalid_argument" });
  });
});
