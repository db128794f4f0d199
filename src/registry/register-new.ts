import { type Kysely, type Selectable, sql } from "kysely";
import type { Principal } from "../auth/index.js";
import { newUlid } from "../ids.js";
import { GroupCommit } from "../store/group-commit.js";
import type { Database } from "../store/schema.js";
import { type ProfileRecord, type SessionRecord, type Visibility, toProfile, toSession } from "./profiles.js";
import type { AccountsTable, AgentSessionsTable } from "./tables.js";
import type { FlushObserver } from "../metrics/index.js";

// First registrations of usernames: the account and its first session inserted together, the profile made from
// what was inserted, and the registrations that arrive together in one statement. A fleet of agents joining a
// gateway registers new names by the thousand; one statement each cost the gateway and PostgreSQL more than the
// rows (a statement is a socket write or two on each side and a commit).

/** What a registration says of its account (beside its owner, username and session). */
export interface AccountFields {
  agentId: string;
  displayName: string;
  bio: string;
  capabilities: string[];
  metadataJson: string | undefined;
  visibility: Visibility | undefined;
  publicKey: Buffer | undefined;
}

export interface NewRegistration extends AccountFields {
  owner: Principal;
  username: string;
  sessionMetadataJson: string;
}

export interface Registered {
  profile: ProfileRecord;
  session: SessionRecord;
}

/**
 * New accounts this gateway inserts before it refreshes the planner's statistics of the registry's tables, the
 * first time; then each time their number doubles. A fleet registering into an empty or small registry otherwise
 * leaves the planner sure the tables are tiny until autovacuum's next round (up to a minute, and only after 10 %
 * changed): with 10,000 online agents ListOnline then read every account and sorted them (20 ms) instead of
 * walking the username index to the end of its page (0.24 ms). An ANALYZE of them reads a bounded sample (tens of
 * milliseconds at 100,000 accounts), and doubling keeps the count of them logarithmic.
 */
const ANALYZE_AFTER_FIRST = 1000;

/** Registers new usernames in batches; a registration whose username exists resolves undefined. */
/** What a refused registration of a batch retried alone resolves with, for its caller alone to throw. */
interface Refused {
  refused: unknown;
}

export class NewRegistrations {
  private inserted = 0;
  private analyzeAt = ANALYZE_AFTER_FIRST;
  private analyzing: Promise<void> | undefined;
  private readonly commit: GroupCommit<NewRegistration, Registered | Refused | undefined>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly opts: { ttlSeconds: number; gatewayId: string; observe?: FlushObserver },
  ) {
    this.commit = new GroupCommit((items) => this.flush(items), 200, undefined, { observe: opts.observe });
  }

  /** The account and session created, or undefined when the username is taken (the caller rebinds it). */
  async submit(item: NewRegistration): Promise<Registered | undefined> {
    const result = await this.commit.submit(item);
    if (result && "refused" in result) throw result.refused;
    return result;
  }

  private async flush(items: NewRegistration[]): Promise<Array<Registered | Refused | undefined>> {
    // One insert per username: a second registration of a name in the same batch takes the rebinding path, where
    // the first one's owner decides whether it may.
    const names = new Set<string>();
    const batch = items.filter((item) => !names.has(item.username) && names.add(item.username));
    try {
      const inserted = await insertNew(this.db, batch, this.opts);
      this.counted(inserted.size);
      return spread(items, inserted);
    } catch (err) {
      if (batch.length === 1) throw err;
      // One registration the database refuses (its owner deleted meanwhile) must not fail the others: each alone.
      return Promise.all(
        items.map((item) =>
          insertNew(this.db, [item], this.opts).then(
            (inserted) => {
              this.counted(inserted.size);
              return inserted.get(item);
            },
            (refused: unknown) => ({ refused }),
          ),
        ),
      );
    }
  }

  private counted(n: number): void {
    this.inserted += n;
    if (this.inserted < this.analyzeAt || this.analyzing) return;
    this.analyzeAt = this.inserted * 2;
    // Best effort: a role that may not analyze gets a warning from PostgreSQL, not an error; autovacuum remains.
    this.analyzing = sql`analyze accounts, agent_sessions`
      .execute(this.db)
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => (this.analyzing = undefined));
  }
}

/** Results in the order of `items`; those not inserted (a repeat of a name in the batch, a name taken) undefined. */
function spread(items: NewRegistration[], inserted: Map<NewRegistration, Registered>): Array<Registered | undefined> {
  return items.map((item) => inserted.get(item));
}

async function insertNew(
  db: Kysely<Database>,
  items: NewRegistration[],
  opts: { ttlSeconds: number; gatewayId: string },
): Promise<Map<NewRegistration, Registered>> {
  const ids = items.map(() => `acct_${newUlid()}`);
  const col = <T>(f: (item: NewRegistration) => T) => items.map(f);
  // In username order, as any concurrent batch on another gateway inserts them: unique-index waits never cross.
  const { rows } = await sql<Selectable<AccountsTable> & { s: Selectable<AgentSessionsTable> }>`
    with v as (
      select * from unnest(
        ${ids}::text[], ${col((i) => i.username)}::text[], ${col((i) => i.owner.userId)}::text[],
        ${col((i) => i.owner.username)}::text[], ${col((i) => i.agentId)}::text[], ${col((i) => i.displayName)}::text[],
        ${col((i) => i.bio)}::text[], ${col((i) => JSON.stringify(i.capabilities))}::text[],
        ${col((i) => i.metadataJson ?? "{}")}::text[], ${col((i) => i.visibility ?? "public")}::text[],
        ${col((i) => i.publicKey ?? null)}::bytea[], ${col(() => `sess_${newUlid()}`)}::text[],
        ${col((i) => i.sessionMetadataJson)}::text[]
      ) as v(account_id, username, owner_user_id, owner_username, agent_id, display_name, bio, capabilities, metadata,
             visibility, public_key, session_tag, session_metadata)
    ), acc as (
      insert into accounts (account_id, username, owner_user_id, owner_username, agent_id, display_name, bio, capabilities,
                            metadata, visibility, public_key, last_seen_at)
      select account_id, username, owner_user_id, owner_username, agent_id, display_name, bio,
             array(select jsonb_array_elements_text(capabilities::jsonb)), metadata::jsonb, visibility, public_key, now()
        from v order by username
      on conflict (username) do nothing
      returning *
    ), sess as (
      insert into agent_sessions (session_tag, account_id, agent_id, gateway_id, connected_at, last_seen_at, expires_at, status, metadata)
      select v.session_tag, acc.account_id, v.agent_id, ${opts.gatewayId}, now(), now(),
             now() + ${opts.ttlSeconds}::double precision * interval '1 second', 'online', v.session_metadata::jsonb
        from acc join v on v.account_id = acc.account_id
      returning *
    )
    select acc.*, to_jsonb(sess) as s from acc join sess on sess.account_id = acc.account_id`.execute(db);
  const byId = new Map(items.map((item, i) => [ids[i]!, item]));
  const inserted = new Map<NewRegistration, Registered>();
  for (const row of rows) {
    const session = toSession({
      ...row.s,
      connected_at: new Date(row.s.connected_at),
      last_seen_at: new Date(row.s.last_seen_at),
      expires_at: new Date(row.s.expires_at),
    });
    const { s: _s, ...account } = row;
    inserted.set(byId.get(row.account_id)!, {
      profile: toProfile({ ...account, session_count: 1, live_seen_at: session.lastSeenAt }),
      session,
    });
  }
  return inserted;
}
