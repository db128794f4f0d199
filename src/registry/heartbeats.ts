import { type Kysely, sql } from "kysely";
import type { Principal } from "../auth/index.js";
import { invalidArgument } from "../errors.js";
import type { Database } from "../store/schema.js";
import { GroupCommit } from "../store/group-commit.js";
import type { FlushObserver } from "../metrics/index.js";
import { PREPARED } from "../store/prepared-pool.js";
import { type Lease, refusedHeartbeat } from "./sessions.js";

// Heartbeats renew leases in batches: the heartbeats that arrive while one batch is written go out together in
// one UPDATE, so 10,000 agents heartbeating every 12 s cost a statement per flush, not per agent. Measured at
// the heartbeat rate of 10,000 agents (856/s), one statement per heartbeat kept the gateway 96 % of a core busy,
// most of it writing and awaiting statements.

/**
 * How long a heartbeat waits for others to share its statement. A lease runs for a TTL of tens of seconds, so
 * milliseconds do not matter to it; flushed on each turn of the event loop, 833 heartbeats/s (10,000 agents) went
 * out one or two per statement, and every statement costs the gateway about 0.3 ms of CPU and PostgreSQL a commit.
 * 10,000 agents on PostgreSQL+NATS, gateway / PostgreSQL CPU: 27.7 / 12.2 % without, 24.8 / 6.8 % at 10 ms,
 * 20.8 / 5.6 % at 25 ms (heartbeat p50 3.3 → 26 ms).
 */
const HEARTBEAT_LINGER_MS = 25;

interface Beat {
  sessionTag: string;
  /** The user who must own the session's account; null for an admin, who may heartbeat any session. */
  ownerUserId: string | null;
}

export class Heartbeats {
  private readonly commit: GroupCommit<Beat, Lease | undefined>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly opts: { ttlSeconds: number; gatewayId: string; observe?: FlushObserver },
  ) {
    this.commit = new GroupCommit((beats) => this.flush(beats), 500, HEARTBEAT_LINGER_MS, { observe: opts.observe });
  }

  /**
   * Renews a live session's lease to now + ttl. NOT_FOUND `session_not_found` when it is unknown, deregistered
   * or past its lease; PERMISSION_DENIED when it belongs to an account the caller does not own.
   */
  async beat(caller: Principal, sessionTag: string): Promise<Lease> {
    if (sessionTag.trim() === "") throw invalidArgument("session_tag", "must not be empty");
    const lease = await this.commit.submit({ sessionTag, ownerUserId: caller.admin ? null : caller.userId });
    // Why it was refused is only looked up when the renewal found nothing.
    return lease ?? refusedHeartbeat(this.db, caller, sessionTag);
  }

  private async flush(beats: Beat[]): Promise<Array<Lease | undefined>> {
    const results = new Array<Lease | undefined>(beats.length);
    // One statement renews each session once: a session heartbeated twice in this batch (by callers who may
    // differ in what they own) gets its other heartbeats in a further round.
    let left = beats.map((beat, i) => ({ beat, i }));
    while (left.length > 0) {
      const round: typeof left = [];
      const later: typeof left = [];
      const tags = new Set<string>();
      for (const item of left) {
        if (tags.has(item.beat.sessionTag)) later.push(item);
        else {
          tags.add(item.beat.sessionTag);
          round.push(item);
        }
      }
      const renewed = await this.renew(round.map((r) => r.beat));
      for (const { beat, i } of round) results[i] = renewed.get(beat.sessionTag);
      left = later;
    }
    return results;
  }

  /** Renews the sessions (distinct tags) whose callers may; the leases renewed, by session tag. */
  private async renew(unsorted: Beat[]): Promise<Map<string, Lease>> {
    // In session_tag order: the plan walks the unnest in order and looks each session up by its key, so the rows
    // are locked in that order, as the held-lease renewals lock them (held-leases.ts); crossing in different
    // orders they deadlocked.
    const beats = [...unsorted].sort((a, b) => (a.sessionTag < b.sessionTag ? -1 : 1));
    const { rows } = await sql<{ session_tag: string; account_id: string; expires_at: Date }>`${sql.raw(PREPARED)}
      update agent_sessions s
         set last_seen_at = now(),
             expires_at = now() + ${this.opts.ttlSeconds}::double precision * interval '1 second',
             gateway_id = ${this.opts.gatewayId}
        from unnest(${beats.map((b) => b.sessionTag)}::text[], ${beats.map((b) => b.ownerUserId)}::text[]) as v(session_tag, owner),
             accounts a
       where s.session_tag = v.session_tag
         and a.account_id = s.account_id
         and (v.owner is null or a.owner_user_id = v.owner)
         and s.status = 'online'
         -- Past its lease it is evicted, whether or not a sweeper has marked it yet: late heartbeats do not revive it.
         and s.expires_at > now()
      returning s.session_tag, s.account_id, s.expires_at`.execute(this.db);
    return new Map(rows.map((r) => [r.session_tag, { accountId: r.account_id, sessionTag: r.session_tag, expiresAt: r.expires_at }]));
  }
}
