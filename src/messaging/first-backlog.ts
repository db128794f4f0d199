import { type Kysely, type Selectable, sql } from "kysely";
import type { Database } from "../store/schema.js";
import type { MessagesTable } from "./tables.js";

// The first read of streams that open: each one's pending count (SubscribeStarted.pending_count) and the first page
// of its backlog, for many streams in one statement. Agents open their streams by the thousand when a fleet
// (re)connects, and a statement each cost the gateway and PostgreSQL more than the rows in it.

export interface FirstRead {
  accountId: string;
  /** Messages to read at most. */
  limit: number;
}

export interface FirstPage {
  /** Unacked, unexpired messages of the account. */
  pending: number;
  /** The claimable ones (accepted, or delivered with their lease run out), oldest first, at most `limit`. */
  rows: Array<Selectable<MessagesTable>>;
}

/** Reads the first page of each stream's backlog, with its pending count; results in the order of `reads`. */
export async function readFirstPages(db: Kysely<Database>, reads: readonly FirstRead[], now: Date): Promise<FirstPage[]> {
  const { rows } = await sql<Selectable<MessagesTable> & { i: string; n: string }>`
    select v.i, c.n, m.*
      from unnest(${reads.map((r) => r.accountId)}::text[], ${reads.map((r) => r.limit)}::int[]) with ordinality as v(account_id, lim, i)
      cross join lateral (
        select count(*) as n from messages
         where to_account_id = v.account_id and status in ('accepted', 'delivered') and expires_at > ${now}
      ) c
      left join lateral (
        select * from messages
         where to_account_id = v.account_id
           and (status = 'accepted' or (status = 'delivered' and (lease_until is null or lease_until <= ${now})))
           and expires_at > ${now}
         order by seq
         limit v.lim
      ) m on true
     order by v.i, m.seq`.execute(db);
  const pages: FirstPage[] = reads.map(() => ({ pending: 0, rows: [] }));
  for (const row of rows) {
    const page = pages[Number(row.i) - 1]!;
    page.pending = Number(row.n);
    // A stream with nothing claimable has one row: its count, the message's columns null.
    if (row.message_id !== null) {
      const { i: _i, n: _n, ...message } = row;
      page.rows.push(message);
    }
  }
  return pages;
}
