import path from "node:path";
import pg from "pg";
import type { Backend } from "../infra.js";

// What the registry's agents occupy in PostgreSQL, for the per-agent figures issue #15 asks to keep (so that
// 100,000 agents can be extrapolated honestly): rows and bytes (tables, their indexes and TOAST) of the accounts
// and their sessions.

export interface RegistryStore {
  accounts: number;
  sessions: number;
  /** accounts + agent_sessions, with indexes and TOAST. */
  bytes: number;
}

export async function registryStore(backend: Backend): Promise<RegistryStore> {
  const gw = backend.gateways[0]!;
  // The embedded server listens on a socket in the gateway's data folder, as `agentnet serve` prints it.
  const connectionString =
    backend.env["DATABASE_URL"] ?? `postgresql:///agentnet?host=${encodeURIComponent(path.join(gw.dataDir, "postgres"))}&user=agentnet`;
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const { rows } = await client.query<{ accounts: number; sessions: number; bytes: string }>(
      `select (select count(*) from accounts)::int as accounts, (select count(*) from agent_sessions)::int as sessions,
              pg_total_relation_size('accounts') + pg_total_relation_size('agent_sessions') as bytes`,
    );
    const row = rows[0]!;
    return { accounts: row.accounts, sessions: row.sessions, bytes: Number(row.bytes) };
  } finally {
    await client.end();
  }
}
