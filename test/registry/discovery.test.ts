import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Principal } from "../../src/auth/index.js";
import { listOnline, searchAgents } from "../../src/registry/discovery.js";
import { openStore, type Store } from "../../src/store/database.js";
import { migrateToLatest } from "../../src/store/migrate.js";
import { createDatabase, dropDatabase } from "../harness/postgres.js";
import { tmpdir } from "node:os";

// SearchAgents pages through two keyset walks (online matches by username, then the others) and ListOnline through
// one. Generated registries check that every page size yields each visible match exactly once, in that order,
// whatever mix of live, expired and ended sessions the accounts have.
describe("discovery pages over generated registries", () => {
  let databaseUrl: string;
  let store: Store;
  const viewer: Principal = { userId: "usr_viewer", username: "viewer", admin: false, credential: "access", issuedAt: 0 } as Principal;
  type Account = { username: string; online: boolean; visible: boolean; capable: boolean; finder: boolean };
  const accounts: Account[] = [];

  beforeAll(async () => {
    databaseUrl = await createDatabase(inject("databaseUrl"));
    store = await openStore({ databaseUrl, dataDir: tmpdir() });
    await migrateToLatest(store);
    await sql`insert into users (user_id, username, password_hash, admin) values ('usr_owner', 'owner', 'x', false)`.execute(store.db);
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 90; i++) {
      const finder = random() < 0.6;
      const username = `${finder ? "finder" : "other"}_${String(Math.floor(random() * 1e6)).padStart(6, "0")}_${i}`;
      const visible = random() < 0.85;
      const capable = random() < 0.5;
      const sessions = ["live", "live", "expired", "ended", "none"][Math.floor(random() * 5)]!;
      accounts.push({ username, online: sessions === "live", visible, capable, finder });
      await sql`insert into accounts (account_id, username, owner_user_id, owner_username, agent_id, display_name, bio,
                                      capabilities, metadata, visibility, updated_at)
                values (${`acc_${i}`}, ${username}, 'usr_owner', 'owner', 'a', ${finder && i % 3 === 0 ? "A Finder" : "Agent"}, '',
                        ${capable ? ["pager"] : []}, '{}', ${visible ? "public" : "private"}, now())`.execute(store.db);
      if (sessions !== "none") {
        await sql`insert into agent_sessions (session_tag, account_id, agent_id, gateway_id, last_seen_at, expires_at, status)
                  values (${`sess_${i}`}, ${`acc_${i}`}, 'a', 'gw', now(),
                          now() + ${sessions === "expired" ? "-1 minute" : "1 hour"}::interval, ${sessions === "ended" ? "offline" : "online"})`.execute(
          store.db,
        );
      }
    }
  });
  afterAll(async () => {
    await store?.close();
    if (databaseUrl) await dropDatabase(databaseUrl);
  });

  const byName = (a: Account, b: Account) => (a.username < b.username ? -1 : 1);
  async function pages(
    fetch: (pageToken: string) => Promise<{ items: Array<{ username: string; online: boolean }>; nextPageToken: string }>,
  ) {
    const seen: Array<[string, boolean]> = [];
    let pageToken = "";
    for (let n = 0; n < 200; n++) {
      const page = await fetch(pageToken);
      seen.push(...page.items.map((p): [string, boolean] => [p.username, p.online]));
      pageToken = page.nextPageToken;
      if (pageToken === "") return seen;
    }
    throw new Error("paging did not end");
  }

  for (const pageSize of [1, 2, 3, 7, 50]) {
    it(`SearchAgents: online matches by name, then the others, each once (page size ${pageSize})`, async () => {
      for (const [query, capability, onlineOnly] of [
        ["finder", "", false],
        ["finder", "", true],
        ["", "pager", false],
        ["FIND", "pager", true],
      ] as const) {
        const matches = accounts.filter(
          (a) => a.visible && (query === "" || a.finder) && (capability === "" || a.capable) && (!onlineOnly || a.online),
        );
        const expected = [...matches.filter((a) => a.online).sort(byName), ...matches.filter((a) => !a.online).sort(byName)];
        const seen = await pages((pageToken) =>
          searchAgents(store.db, viewer, { query, capability, onlineOnly, pageSize, pageToken }).then((p) => ({ ...p, items: p.items })),
        );
        expect(seen, `${query}/${capability}/${onlineOnly}`).toEqual(expected.map((a) => [a.username, a.online]));
      }
    });

    it(`ListOnline: the online ones by name, each once (page size ${pageSize})`, async () => {
      for (const capability of ["", "pager"]) {
        const expected = accounts.filter((a) => a.visible && a.online && (capability === "" || a.capable)).sort(byName);
        const seen = await pages((pageToken) => listOnline(store.db, viewer, { capability, pageSize, pageToken }));
        expect(seen).toEqual(expected.map((a) => [a.username, true]));
      }
    });
  }
});
