import { describe, expect, inject, it } from "vitest";
import pg from "pg";
import { createDatabase, dropDatabase, findPostgresBinaries, startPostgres } from "./postgres.js";

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

describe("PostgreSQL harness", () => {
  it("starts a throwaway server, makes databases on it, and stops it", async () => {
    const { majorVersion } = await findPostgresBinaries();
    // Production runs Debian 12's PostgreSQL 15; the harness must test against that, not something newer.
    expect(majorVersion).toBe(15);

    const server = await startPostgres();
    let stopped = false;
    try {
      expect(server.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
      const [row] = await query<{ version: string }>(server.url, "select version()");
      expect(row?.version).toMatch(/^PostgreSQL 15\./);
      const [fsync] = await query<{ fsync: string }>(server.url, "show fsync");
      expect(fsync?.fsync).toBe("off");

      const a = await createDatabase(server.url);
      const b = await createDatabase(server.url);
      expect(a).not.toBe(b);
      const [current] = await query<{ db: string }>(a, "select current_database() as db");
      expect(`/${current?.db}`).toBe(new URL(a).pathname);
      await query(a, "create table t (id int primary key)");
      await query(a, "insert into t values (1)");
      // Databases are independent: b does not see a's table.
      await expect(query(b, "select * from t")).rejects.toThrow(/does not exist/);

      await dropDatabase(a);
      await expect(query(a, "select 1")).rejects.toThrow(/does not exist/);

      await server.stop();
      stopped = true;
      await expect(query(server.url, "select 1")).rejects.toThrow(/ECONNREFUSED/);
      await server.stop(); // idempotent
    } finally {
      if (!stopped) await server.stop();
    }
  });

  it('provides the run-wide server to tests as inject("databaseUrl")', async () => {
    const url = await createDatabase(inject("databaseUrl"));
    const [row] = await query<{ one: number }>(url, "select 1 as one");
    expect(row?.one).toBe(1);
    await dropDatabase(url);
  });
});
