import { type Kysely, sql } from "kysely";
import type { Logger } from "pino";
import type { Principal } from "../auth/index.js";
import type { Bus, BusSubscription } from "../bus/index.js";
import type { Config } from "../config.js";
import { DomainError } from "../errors.js";
import { runPeriodically } from "../lifecycle/index.js";
import { FailureLog } from "../store/errors.js";
import { GroupCommit } from "../store/group-commit.js";
import type { Database } from "../store/schema.js";
import { LiveStream } from "../streams/index.js";
import { listOnline } from "./discovery.js";
import { ALL_PRESENCE, type PresenceEventRecord, decodePresenceEvent, encodePresenceEvent, presenceSubject } from "../wire/index.js";
import { type SessionRecord, loadProfiles, mayDiscover, toSession } from "./profiles.js";
import { holdLeases, renewHeldLeases, reviveHeldLeases } from "./held-leases.js";
import { expiryAfter } from "./sessions.js";
import { evictExpired, pruneOfflineSessions } from "./sweeper.js";

// Presence shared by all gateways: the store says who is live (sessions with a lease), the bus tells every
// gateway's WatchPresence streams what changed. This class runs this gateway's part of it: leases held by open
// Subscribe streams, the eviction sweeper, and the fan-out of bus events to local watchers.

const EVICT_BATCH = 500;
const MAX_EVICT_BATCHES_PER_SWEEP = 20;
const PRUNE_BATCH = 1000;
const MAX_PRUNE_BATCHES_PER_SWEEP = 10;
const PRUNE_EVERY_MS = 60_000;
const RENEW_CHUNK = 1000;
const DEFAULT_KEEPALIVE_MS = 30_000;
/** Events a watcher may fall behind by before its stream is ended (it reconnects with a snapshot). */
const MAX_WATCHER_BACKLOG = 10_000;

export type PresenceConfig = Pick<Config, "heartbeatIntervalSeconds" | "sessionTtlSeconds" | "sweepIntervalMs" | "sessionRetentionDays">;

export interface PresenceOptions {
  db: Kysely<Database>;
  bus: Bus;
  logger: Logger;
  config: PresenceConfig;
  gatewayId: string;
  /** Told of each session the sweeper evicts. */
  evictions?: { inc(n: number): void };
  /** Idle time after which a WatchPresence stream gets a keepalive; default 30 s. */
  keepaliveMs?: number;
}

export interface WatchFilter {
  /** Only these accounts; empty: all the viewer may see. */
  accountIds: readonly string[];
  /** Only accounts offering this capability; empty: any. */
  capability: string;
  includeSnapshot: boolean;
}

export type WatchItem =
  | { kind: "presence"; event: PresenceEventRecord }
  | { kind: "synced"; onlineCount: number }
  | { kind: "keepalive"; at: Date };

interface Watcher {
  push(event: PresenceEventRecord): void;
  /** Events may have been missed: end the stream with an error that has the client reopen with a snapshot. */
  resync(): void;
  close(): void;
}

export class Presence {
  private readonly db: Kysely<Database>;
  private readonly bus: Bus;
  private readonly logger: Logger;
  private readonly config: PresenceConfig;
  private readonly gatewayId: string;
  private readonly evictions: { inc(n: number): void } | undefined;
  private readonly keepaliveMs: number;
  /** Leases this gateway holds for open Subscribe streams: session tag → number of streams. */
  private readonly held = new Map<string, number>();
  /**
   * Held sessions whose lease a heartbeat through this gateway renewed since the last renewal round: that round
   * leaves them out. Agents that keep a stream open and heartbeat too (the seed's clients do) otherwise had every
   * lease written twice per interval.
   */
  private heartbeaten = new Set<string>();
  /** Sessions being taken hold of by streams that open, one statement per flush. */
  private readonly holds: GroupCommit<string, boolean>;
  private renewTimer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private lastPruneAt = 0;
  // A sweep or renewal that fails (the database restarting) is retried at the next tick; logged once per outage.
  private readonly sweepFailures: FailureLog;
  private readonly renewFailures: FailureLog;
  private readonly watchers = new Set<Watcher>();
  private subscription: BusSubscription | undefined;
  private subscribed: Promise<void> | undefined;
  private stopListening: (() => void) | undefined;

  constructor(options: PresenceOptions) {
    this.db = options.db;
    this.bus = options.bus;
    this.logger = options.logger.child({ component: "presence" });
    this.config = options.config;
    this.gatewayId = options.gatewayId;
    this.evictions = options.evictions;
    this.keepaliveMs = options.keepaliveMs ?? DEFAULT_KEEPALIVE_MS;
    this.sweepFailures = new FailureLog(this.logger, "presence sweep");
    this.renewFailures = new FailureLog(this.logger, "renewing held sessions");
    this.holds = new GroupCommit(async (tags) => {
      const opts = { ttlSeconds: this.config.sessionTtlSeconds, gatewayId: this.gatewayId };
      const taken = await holdLeases(this.db, [...new Set(tags)], opts);
      return tags.map((t) => taken.has(t));
    });
  }

  /** A heartbeat through this gateway renewed this session's lease (see `heartbeaten`). */
  renewedByHeartbeat(sessionTag: string): void {
    if (this.held.has(sessionTag)) this.heartbeaten.add(sessionTag);
  }

  /** How often held leases are renewed: well inside the TTL, and no more often than agents heartbeat. */
  get renewIntervalMs(): number {
    return Math.max(100, Math.min(this.config.heartbeatIntervalSeconds * 1000, (this.config.sessionTtlSeconds * 1000) / 3));
  }

  /**
   * Keeps a live session online while a Subscribe stream is open for it: marks it subscribed and renews its lease
   * periodically, so the agent needs no heartbeats meanwhile. Resolves with the release function (idempotent),
   * after which the session lives on heartbeats again for one more TTL. NOT_FOUND `session_not_found` when the
   * session is unknown, deregistered or evicted.
   */
  async holdSession(sessionTag: string): Promise<() => Promise<void>> {
    if (!(await this.holds.submit(sessionTag))) {
      throw new DomainError("not_found", "session_not_found", `no live session ${sessionTag}: call Register again`, {
        field: "session_tag",
      });
    }
    this.held.set(sessionTag, (this.held.get(sessionTag) ?? 0) + 1);
    this.renewTimer ??= unref(setInterval(() => this.renewSoon(), this.renewIntervalMs));
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      const holders = (this.held.get(sessionTag) ?? 1) - 1;
      if (holders > 0) {
        this.held.set(sessionTag, holders);
        return;
      }
      this.held.delete(sessionTag);
      if (this.held.size === 0) this.stopRenewing();
      // A renewal in flight would set `subscribed` again after us.
      await this.renewing;
      try {
        await this.db
          .updateTable("agent_sessions")
          .set({ subscribed: false, last_seen_at: sql<Date>`now()`, expires_at: expiryAfter(this.config.sessionTtlSeconds) })
          .where("session_tag", "=", sessionTag)
          .where("status", "=", "online")
          .execute();
      } catch (err) {
        this.logger.warn({ err, sessionTag }, "could not release a held session; it expires after its TTL");
      }
    };
  }

  /**
   * Runs this gateway's eviction sweeper (every sweepIntervalMs) until `signal` aborts; then stops lease renewals,
   * ends local watch streams and waits for work in flight.
   */
  async run(signal: AbortSignal): Promise<void> {
    await runPeriodically(signal, {
      intervalMs: this.config.sweepIntervalMs,
      pass: () =>
        this.sweepOnce().then(
          () => this.sweepFailures.succeeded(),
          (err: unknown) => this.sweepFailures.failed(err),
        ),
    });
    this.stopRenewing();
    for (const watcher of this.watchers) watcher.close();
    await this.renewing?.catch(() => undefined);
    this.unsubscribe();
  }

  /**
   * One sweep: evicts sessions past their lease (bounded batches) and announces the accounts that changed; at
   * most once a minute also prunes sessions offline for longer than the retention. Safe on several gateways.
   */
  async sweepOnce(): Promise<{ evicted: number; pruned: number }> {
    let evicted = 0;
    for (let i = 0; i < MAX_EVICT_BATCHES_PER_SWEEP; i++) {
      const batch = await evictExpired(this.db, EVICT_BATCH);
      evicted += batch.length;
      if (batch.length > 0) this.evictions?.inc(batch.length);
      if (batch.length > 0) await this.announceEnded(batch);
      if (batch.length < EVICT_BATCH) break;
    }
    let pruned = 0;
    if (Date.now() - this.lastPruneAt >= PRUNE_EVERY_MS) {
      this.lastPruneAt = Date.now();
      for (let i = 0; i < MAX_PRUNE_BATCHES_PER_SWEEP; i++) {
        const n = await pruneOfflineSessions(this.db, this.config.sessionRetentionDays, PRUNE_BATCH);
        pruned += n;
        if (n < PRUNE_BATCH) break;
      }
    }
    if (evicted > 0 || pruned > 0) this.logger.debug({ evicted, pruned }, "presence sweep");
    return { evicted, pruned };
  }

  /** Tells every gateway's watchers about a change. Never throws: presence events are best effort. */
  publish(event: PresenceEventRecord): void {
    try {
      this.bus.publish(presenceSubject(event.account.accountId), encodePresenceEvent(event, this.gatewayId));
    } catch (err) {
      this.logger.warn({ err, accountId: event.account.accountId, type: event.type }, "could not publish a presence event");
    }
  }

  /**
   * The WatchPresence stream for one viewer: optionally a snapshot of who is online now, then `synced`, then live
   * events of the accounts the viewer may discover, with a keepalive after `keepaliveMs` without traffic. Ends
   * when `signal` aborts or the presence stops.
   */
  async *watch(viewer: Principal, filter: WatchFilter, signal: AbortSignal): AsyncGenerator<WatchItem> {
    const accountIds = new Set(filter.accountIds);
    const capability = filter.capability.trim().toLowerCase();
    // Closed by the abort or by stop(); what is still buffered then is not delivered.
    const stream = new LiveStream<WatchItem>({
      signal,
      limit: MAX_WATCHER_BACKLOG,
      // Events dropped here cannot be replayed, so a watcher that falls behind is ended and resyncs with a snapshot.
      overflow: {
        policy: "fail",
        error: () =>
          new DomainError(
            "resource_exhausted",
            "watcher_too_slow",
            "this presence stream fell too far behind; reconnect with include_snapshot",
          ),
      },
      keepalive: { ms: this.keepaliveMs, item: () => ({ kind: "keepalive", at: new Date() }) },
    });
    const watcher: Watcher = {
      push(event) {
        if (!mayDiscover(viewer, event.account)) return;
        if (accountIds.size > 0 && !accountIds.has(event.account.accountId)) return;
        if (capability !== "" && !event.account.capabilities.includes(capability)) return;
        stream.push({ kind: "presence", event });
      },
      resync() {
        stream.end(
          new DomainError(
            "unavailable",
            "presence_resync",
            "this gateway lost the bus for a moment and may have missed presence changes; reconnect with include_snapshot",
          ),
        );
      },
      close: () => stream.close(),
    };
    this.watchers.add(watcher);
    try {
      // Subscribed before the snapshot is read, so nothing falls between the two.
      await this.subscribe();
      let onlineCount = 0;
      if (filter.includeSnapshot) {
        for await (const account of this.onlineNow(viewer, [...accountIds], capability)) {
          if (stream.signal.aborted) return;
          onlineCount++;
          yield { kind: "presence", event: { type: "online", account, session: null, eventAt: new Date(), reason: "", snapshot: true } };
        }
      }
      yield { kind: "synced", onlineCount };
      yield* stream;
    } finally {
      stream.close();
      this.watchers.delete(watcher);
      if (this.watchers.size === 0) this.unsubscribe();
    }
  }

  private async *onlineNow(viewer: Principal, accountIds: string[], capability: string) {
    let pageToken = "";
    do {
      const page = await listOnline(this.db, viewer, { pageSize: 1000, pageToken, capability, accountIds });
      yield* page.items;
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
  }

  private subscribe(): Promise<void> {
    if (!this.subscription) {
      this.subscription = this.bus.subscribe(ALL_PRESENCE, (msg) => {
        const event = decodePresenceEvent(msg.data);
        if (!event) {
          this.logger.warn({ subject: msg.subject }, "ignoring a malformed presence event");
          return;
        }
        for (const watcher of this.watchers) watcher.push(event);
      });
      // On NATS the subscription is live once the server has seen it.
      this.subscribed = this.bus.flush();
      // Events published while the bus was away are lost (presence has no log to replay), so every watcher is
      // ended once it is back: the SDKs reopen with a snapshot, and their view is whole again.
      this.stopListening = this.bus.onConnectionChange((event) => {
        if (event !== "reconnected") return;
        if (this.watchers.size > 0) this.logger.info({ watchers: this.watchers.size }, "bus reconnected: presence watchers resync");
        for (const watcher of this.watchers) watcher.resync();
      });
    }
    return this.subscribed ?? Promise.resolve();
  }

  private unsubscribe(): void {
    try {
      this.subscription?.unsubscribe();
    } catch (err) {
      this.logger.debug({ err }, "presence unsubscribe failed");
    }
    this.stopListening?.();
    this.stopListening = undefined;
    this.subscription = undefined;
    this.subscribed = undefined;
  }

  private renewSoon(): void {
    this.renewing ??= this.renewHeld()
      .then(
        () => this.renewFailures.succeeded(),
        (err: unknown) => this.renewFailures.failed(err),
      )
      .finally(() => (this.renewing = undefined));
  }

  private stopRenewing(): void {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }

  /**
   * Renews every lease this gateway holds, a chunk per statement. A held session that another gateway evicted
   * meanwhile (this one stalled past the TTL) comes back online and is announced again; one that was deregistered
   * stays ended.
   */
  private async renewHeld(): Promise<void> {
    // A heartbeat renews to a full TTL and rounds come every TTL/3 at most, so a lease left out of one round has
    // two thirds of its TTL left at the next.
    const fresh = this.heartbeaten;
    this.heartbeaten = new Set();
    const tags = [...this.held.keys()].filter((t) => !fresh.has(t));
    const opts = { ttlSeconds: this.config.sessionTtlSeconds, gatewayId: this.gatewayId };
    for (let i = 0; i < tags.length; i += RENEW_CHUNK) {
      const chunk = tags.slice(i, i + RENEW_CHUNK);
      const renewed = await renewHeldLeases(this.db, chunk, opts);
      if (renewed.size === chunk.length) continue;
      const revived = await reviveHeldLeases(
        this.db,
        chunk.filter((t) => !renewed.has(t)),
        opts,
      );
      if (revived.length > 0) await this.announceStarted(revived.map(toSession));
    }
  }

  /** Offline events for accounts whose last session ended, `updated` for those still online. */
  private async announceEnded(sessions: SessionRecord[]): Promise<void> {
    const profiles = await loadProfiles(
      this.db,
      sessions.map((s) => s.accountId),
    );
    const lastByAccount = new Map(sessions.map((s) => [s.accountId, s]));
    for (const [accountId, session] of lastByAccount) {
      const account = profiles.get(accountId);
      if (!account) continue;
      this.publish({
        type: account.online ? "updated" : "offline",
        account,
        session,
        eventAt: new Date(),
        reason: account.online ? "" : "ttl_expired",
        snapshot: false,
      });
    }
  }

  private async announceStarted(sessions: SessionRecord[]): Promise<void> {
    const profiles = await loadProfiles(
      this.db,
      sessions.map((s) => s.accountId),
    );
    const counts = new Map<string, number>();
    for (const s of sessions) counts.set(s.accountId, (counts.get(s.accountId) ?? 0) + 1);
    for (const session of sessions) {
      const account = profiles.get(session.accountId);
      if (!account) continue;
      // Online when the revived sessions are all the account has.
      const type = account.sessionCount <= (counts.get(session.accountId) ?? 0) ? "online" : "updated";
      this.publish({ type, account, session, eventAt: new Date(), reason: "", snapshot: false });
      counts.set(session.accountId, 0);
    }
  }
}

function unref(timer: NodeJS.Timeout): NodeJS.Timeout {
  timer.unref();
  return timer;
}
