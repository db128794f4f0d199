import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createUser, findUserByName } from "../../src/auth/users.js";
import { openStore, StoreUnavailableError, type Store } from "../../src/store/database.js";
import { Migrator } from "kysely/migration";
import { migrateToLatest } from "../../src/store/migrate.js";
import { migrations } from "../../src/store/migrations/index.js";
import { PREPARED } from "../../src/store/prepared-pool.js";
import { searchAgents } from "../../src/registry/discovery.js";
import { createDatabase, dropDatabase } from "../harness/postgres.js";

/** The run's embedded PostgreSQL (the server a gateway without DATABASE_URL starts) and Debian's PostgreSQL 15. */
type Kind = "embedded" | "postgres";

describe.each<Kind>(["embedded", "postgres"])("store on %s", (kind) => {
  let dataDir: string;
  let databaseUrl: string | undefined;
  let store: Store;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "agentnet-store-"));
    databaseUrl = await createDatabase(inject(kind === "postgres" ? "databaseUrl" : "embeddedUrl"));
    store = await openStore({ databaseUrl, dataDir });
  });
  afterAll(async () => {
    await store?.close();
    if (databaseUrl) await dropDatabase(databaseUrl);
    await rm(dataDir, { recursive: true, force: true });
  });

  it("is the expected engine: the embedded PostgreSQL 17, and Debian's 15", async () => {
    const { rows } = await sql<{ v: string }>`select current_setting('server_version_num') as v`.execute(store.db);
    const major = Math.floor(Number(rows[0]!.v) / 10000);
    expect(major).toBe(kind === "postgres" ? 15 : 17);
  });

  it("runs statements marked PREPARED as named prepared statements, parsed once per connection, and nothing else", async () => {
    const marked = (n: number) => sql<{ n: number }>`${sql.raw(PREPARED)} select ${n}::int + 1 as n`;
    await store.db.connection().execute(async (conn) => {
      // Same text, new values: one prepared statement, bound again.
      expect((await marked(1).execute(conn)).rows[0]!.n).toBe(2);
      expect((await marked(41).execute(conn)).rows[0]!.n).toBe(42);
      await sql`select ${"unmarked"}::text as t`.execute(conn);
      const { rows } = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(conn);
      expect(rows.map((r) => r.statement)).toEqual([expect.stringContaining("select $1::int + 1 as n")]);
    });
  });

  it("migrates once; a second run finds nothing to do", async () => {
    expect((await migrateToLatest(store)).applied).toContain("0001_auth");
    expect((await migrateToLatest(store)).applied).toEqual([]);
  });

  it("takes the participants' foreign key away (0007) and gives it back on the way down, dropping orphans first", async () => {
    await migrateToLatest(store);
    const migrator = new Migrator({ db: store.db, provider: { getMigrations: async () => migrations } });
    // Without the key a participant row may name a thread that is not there (retention deletes both itself).
    await sql`insert into thread_participants (thread_id, account_id) values ('thread_orphan', 'acc_x')`.execute(store.db);
    const down = await migrator.migrateTo("0006_sessions");
    expect(down.error).toBeUndefined();
    expect(down.results?.map((r) => r.migrationName)).toEqual([
      "0011_a2a_tasks",
      "0010_message_traceparent",
      "0009_search_trigram_indexes",
      "0008_sessions_hot_heartbeats",
      "0007_participants_without_fk",
    ]);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from thread_participants where thread_id = 'thread_orphan'`.execute(
      store.db,
    );
    expect(rows[0]!.n).toBe(0);
    await expect(
      sql`insert into thread_participants (thread_id, account_id) values ('thread_orphan', 'acc_x')`.execute(store.db),
    ).rejects.toThrow(/foreign key/);
    expect((await migrateToLatest(store)).applied).toEqual([
      "0007_participants_without_fk",
      "0008_sessions_hot_heartbeats",
      "0009_search_trigram_indexes",
      "0010_message_traceparent",
      "0011_a2a_tasks",
    ]);
  });

  it("renews a session's lease in place (a HOT update) after 0008, and did not before it", async () => {
    await migrateToLatest(store);
    const migrator = new Migrator({ db: store.db, provider: { getMigrations: async () => migrations } });
    await sql`insert into users (user_id, username, password_hash, admin) values ('usr_hot', 'hot', 'x', false)`.execute(store.db);
    await sql`insert into accounts (account_id, username, owner_user_id, owner_username, agent_id, display_name, bio, capabilities,
                                    metadata, visibility, updated_at)
              values ('acc_hot', 'hot', 'usr_hot', 'hot', 'hot', 'hot', '', '{}', '{}', 'public', now())`.execute(store.db);
    await sql`insert into agent_sessions (session_tag, account_id, agent_id, gateway_id, last_seen_at, expires_at, status)
              values ('sess_hot', 'acc_hot', 'hot', 'gw', now(), now() + interval '40 seconds', 'online')`.execute(store.db);
    // What a heartbeat changes, five times (clock_timestamp: now() is fixed within a transaction, and an unchanged
    // value would not count); the backend's statistics before and after count the updates that were HOT.
    const beats = () =>
      store.db.transaction().execute(async (trx) => {
        const stats = async () =>
          (
            await sql<{ upd: number; hot: number }>`
              select n_tup_upd::int as upd, n_tup_hot_upd::int as hot from pg_stat_xact_user_tables where relname = 'agent_sessions'`.execute(
              trx,
            )
          ).rows[0]!;
        const before = await stats();
        for (let i = 0; i < 5; i++) {
          await sql`update agent_sessions
                       set last_seen_at = clock_timestamp(), expires_at = clock_timestamp() + interval '40 seconds', gateway_id = ${`gw_${i}`}
                     where session_tag = 'sess_hot'`.execute(trx);
        }
        const after = await stats();
        return { upd: after.upd - before.upd, hot: after.hot - before.hot };
      });
    expect(await beats()).toEqual({ upd: 5, hot: 5 });
    expect((await migrator.migrateTo("0007_participants_without_fk")).results?.map((r) => r.migrationName)).toEqual([
      "0011_a2a_tasks",
      "0010_message_traceparent",
      "0009_search_trigram_indexes",
      "0008_sessions_hot_heartbeats",
    ]);
    expect(await beats()).toEqual({ upd: 5, hot: 0 });
    expect((await migrateToLatest(store)).applied).toEqual([
      "0008_sessions_hot_heartbeats",
      "0009_search_trigram_indexes",
      "0010_message_traceparent",
      "0011_a2a_tasks",
    ]);
  });

  it("gives messages a traceparent column, empty for the rows already there (0010), and takes it away on the way down", async () => {
    await migrateToLatest(store);
    const migrator = new Migrator({ db: store.db, provider: { getMigrations: async () => migrations } });
    const column = async () =>
      (
        await sql<{ column_default: string | null; is_nullable: string }>`
          select column_default, is_nullable from information_schema.columns
           where table_name = 'messages' and column_name = 'traceparent'`.execute(store.db)
      ).rows;
    expect(await column()).toEqual([{ column_default: "''::text", is_nullable: "NO" }]);
    expect((await migrator.migrateTo("0009_search_trigram_indexes")).results?.map((r) => r.migrationName)).toEqual([
      "0011_a2a_tasks",
      "0010_message_traceparent",
    ]);
    expect(await column()).toEqual([]);
    expect((await migrateToLatest(store)).applied).toEqual(["0010_message_traceparent", "0011_a2a_tasks"]);
    expect(await column()).toHaveLength(1);
  });

  it("serves substring searches of username and display name from trigram indexes (0009)", async () => {
    await migrateToLatest(store);
    // With seq scans off the plan shows whether an index can serve '%…%' at all (a small table is scanned anyway).
    const plan = await store.db.transaction().execute(async (trx) => {
      await sql`set local enable_seqscan = off`.execute(trx);
      const { rows } = await sql<{ "QUERY PLAN": string }>`
        explain select account_id from accounts where username ilike '%finder%' or display_name ilike '%finder%'`.execute(trx);
      return rows.map((r) => r["QUERY PLAN"]).join("\n");
    });
    expect(plan).toContain("accounts_username_trgm_idx");
    expect(plan).toContain("accounts_display_name_trgm_idx");
  });

  it("returns the same JavaScript types on both servers", async () => {
    const { rows } = await sql<{ big: unknown; ts: unknown; j: unknown; b: unknown }>`
      select 9007199254740991::int8 as big, now() as ts, '{"a":[1,"x"]}'::jsonb as j, true as b`.execute(store.db);
    expect(rows[0]).toEqual({ big: Number.MAX_SAFE_INTEGER, ts: expect.any(Date), j: { a: [1, "x"] }, b: true });
    const count = await store.db
      .selectFrom("users")
      .select((eb) => eb.fn.countAll().as("n"))
      .executeTakeFirstOrThrow();
    expect(typeof count.n).toBe("number");
  });

  it("stores users with hashed passwords and unique names", async () => {
    const user = await createUser(store.db, { username: "Erin", password: "erin-password", admin: false });
    const found = await findUserByName(store.db, "ERIN");
    expect(found?.userId).toBe(user.userId);
    expect(found?.passwordHash).toMatch(/^\$argon2id\$/);
    expect(found?.passwordHash).not.toContain("erin-password");
    await expect(createUser(store.db, { username: "erin", password: "other-password", admin: false })).rejects.toMatchObject({
      reason: "username_taken",
    });
  });
});

describe("store on postgres, several gateways", () => {
  it("lets gateways migrate the same database at once", async () => {
    const url = await createDatabase(inject("databaseUrl"));
    const stores = await Promise.all([1, 2, 3].map(() => openStore({ databaseUrl: url, dataDir: tmpdir() })));
    try {
      const reports = await Promise.all(stores.map((s) => migrateToLatest(s)));
      expect(reports.flatMap((r) => r.applied)).toEqual(Object.keys(migrations));
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await dropDatabase(url);
    }
  });

  it("migrates without the trigram indexes for a role that may not create extensions, and search still works", async () => {
    const url = await createDatabase(inject("databaseUrl"));
    const role = `agentnet_plain_${Date.now().toString(36)}`;
    const admin = await openStore({ databaseUrl: url, dataDir: tmpdir() });
    // Owns the schema it migrates, but has no CREATE on the database, which a trusted extension needs.
    await sql`create role ${sql.id(role)} login password 'plain-password'`.execute(admin.db);
    await sql`alter schema public owner to ${sql.id(role)}`.execute(admin.db);
    const asRole = new URL(url);
    asRole.username = role;
    asRole.password = "plain-password";
    const store = await openStore({ databaseUrl: asRole.toString(), dataDir: tmpdir() });
    try {
      expect((await migrateToLatest(store)).applied).toEqual(Object.keys(migrations));
      const { rows } = await sql<{ indexname: string }>`
        select indexname from pg_indexes where tablename = 'accounts' and indexname like '%trgm%'`.execute(store.db);
      expect(rows).toEqual([]);
      await sql`insert into users (user_id, username, password_hash, admin) values ('usr_plain', 'plain', 'x', false)`.execute(store.db);
      await sql`insert into accounts (account_id, username, owner_user_id, owner_username, agent_id, display_name, bio, capabilities,
                                      metadata, visibility, updated_at)
                values ('acc_plain', 'plain_finder', 'usr_plain', 'plain', 'p', 'The Finder', '', '{}', '{}', 'public', now())`.execute(
        store.db,
      );
      const viewer = { userId: "usr_other", username: "other", admin: false } as Parameters<typeof searchAgents>[1];
      const found = await searchAgents(store.db, viewer, {
        query: "FINDER",
        capability: "",
        onlineOnly: false,
        pageSize: 0,
        pageToken: "",
      });
      expect(found.items.map((p) => p.username)).toEqual(["plain_finder"]);
    } finally {
      await store.close();
      await admin.close();
      await dropDatabase(url);
      const cleanup = await openStore({ databaseUrl: inject("databaseUrl"), dataDir: tmpdir() });
      await sql`drop role if exists ${sql.id(role)}`.execute(cleanup.db);
      await cleanup.close();
    }
  });

  it("starts no server of its own when DATABASE_URL is set: nothing is written to the data folder", async () => {
    const url = await createDatabase(inject("databaseUrl"));
    const dataDir = await mkdtemp(path.join(tmpdir(), "agentnet-store-url-"));
    try {
      const store = await openStore({ databaseUrl: url, dataDir, command: "serve" });
      expect(store.kind).toBe("postgres");
      expect(store.embedded).toBeUndefined();
      expect(await readdir(dataDir)).toEqual([]);
      await store.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
      await dropDatabase(url);
    }
  });

  it("refuses an unreachable database with one clear line", async () => {
    const err = await openStore({ databaseUrl: "postgres://u:secret@127.0.0.1:1/db", dataDir: tmpdir() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toMatch(/^cannot connect to DATABASE_URL \(postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/db\)/);
    expect((err as Error).message).not.toContain("secret");
  });
});
