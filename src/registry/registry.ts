import type { Kysely } from "kysely";
import type { Principal } from "../auth/index.js";
import type { Config } from "../config.js";
import { DomainError, invalidArgument } from "../errors.js";
import type { Database } from "../store/schema.js";
import type { Metrics } from "../metrics/index.js";
import { getAccountByUsername, normaliseUsername } from "./accounts.js";
import { type Page, listOnline, searchAgents } from "./discovery.js";
import type { Presence, WatchFilter, WatchItem } from "./presence.js";
import { type AccountRef, type ProfileRecord, findVisibleProfile, liveSessionsOf, loadProfile } from "./profiles.js";
import { type RegisterInput, type RegisterResult, register } from "./register.js";
import { Heartbeats } from "./heartbeats.js";
import { NewRegistrations } from "./register-new.js";
import { type Ended, type Lease, deregister } from "./sessions.js";
import { type UpdateProfileInput, updateProfile } from "./update-profile.js";

/**
 * The registry as RegistryService uses it: each operation of the domain, plus announcing presence changes on
 * the bus once they are stored.
 */
export class Registry {
  private readonly db: Kysely<Database>;
  private readonly presence: Presence;
  private readonly config: Pick<Config, "sessionTtlSeconds" | "heartbeatIntervalSeconds">;
  private readonly gatewayId: string;
  private readonly heartbeats: Heartbeats;
  private readonly firstRegistrations: NewRegistrations;
  private readonly heartbeatsCounted: { inc(): void };

  constructor(deps: {
    db: Kysely<Database>;
    presence: Presence;
    config: Pick<Config, "sessionTtlSeconds" | "heartbeatIntervalSeconds">;
    gatewayId: string;
    metrics: Metrics;
  }) {
    this.db = deps.db;
    this.presence = deps.presence;
    this.config = deps.config;
    this.gatewayId = deps.gatewayId;
    const opts = { ttlSeconds: deps.config.sessionTtlSeconds, gatewayId: deps.gatewayId };
    this.heartbeats = new Heartbeats(deps.db, { ...opts, observe: deps.metrics.flushObserver("heartbeats") });
    this.firstRegistrations = new NewRegistrations(deps.db, { ...opts, observe: deps.metrics.flushObserver("registrations") });
    this.heartbeatsCounted = deps.metrics.heartbeats;
  }

  get heartbeatIntervalSeconds(): number {
    return this.config.heartbeatIntervalSeconds;
  }

  get ttlSeconds(): number {
    return this.config.sessionTtlSeconds;
  }

  async register(caller: Principal, input: RegisterInput): Promise<RegisterResult> {
    const result = await register(this.db, caller, input, {
      ttlSeconds: this.config.sessionTtlSeconds,
      gatewayId: this.gatewayId,
      firstRegistrations: this.firstRegistrations,
    });
    this.presence.publish(result.event);
    return result;
  }

  async heartbeat(caller: Principal, sessionTag: string): Promise<Lease> {
    const lease = await this.heartbeats.beat(caller, sessionTag);
    this.heartbeatsCounted.inc();
    this.presence.renewedByHeartbeat(sessionTag);
    return lease;
  }

  async deregister(caller: Principal, sessionTag: string): Promise<Ended> {
    const ended = await deregister(this.db, caller, sessionTag);
    if (ended.session) {
      const account = await loadProfile(this.db, ended.session.accountId);
      if (account) {
        this.presence.publish({
          type: ended.accountOnline ? "updated" : "offline",
          account,
          session: ended.session,
          eventAt: new Date(),
          reason: ended.accountOnline ? "" : "deregistered",
          snapshot: false,
        });
      }
    }
    return ended;
  }

  listOnline(caller: Principal, request: { pageSize: number; pageToken: string; capability: string }): Promise<Page<ProfileRecord>> {
    return listOnline(this.db, caller, request);
  }

  searchAgents(
    caller: Principal,
    request: { query: string; capability: string; onlineOnly: boolean; pageSize: number; pageToken: string },
  ): Promise<Page<ProfileRecord>> {
    return searchAgents(this.db, caller, request);
  }

  /** A profile with its live sessions. */
  async getProfile(caller: Principal, ref: AccountRef | undefined): Promise<ProfileRecord> {
    if (!ref) throw invalidArgument("account", "give account_id or username");
    const profile = await findVisibleProfile(this.db, caller, ref);
    return { ...profile, sessions: await liveSessionsOf(this.db, profile.accountId) };
  }

  async updateProfile(caller: Principal, input: UpdateProfileInput): Promise<ProfileRecord> {
    const { profile, changed } = await updateProfile(this.db, caller, input);
    if (changed) {
      this.presence.publish({ type: "updated", account: profile, session: null, eventAt: profile.updatedAt, reason: "", snapshot: false });
    }
    return profile;
  }

  /**
   * A username's account id. Private accounts resolve too: they are hidden from listings, not from people who
   * already know their name.
   */
  async resolveAccount(username: string): Promise<{ accountId: string; username: string }> {
    const name = normaliseUsername(username);
    if (name === "") throw invalidArgument("username", "must not be empty");
    const account = await getAccountByUsername(this.db, name);
    if (!account) throw new DomainError("not_found", "account_not_found", `no account @${name}`);
    return { accountId: account.accountId, username: account.username };
  }

  watchPresence(caller: Principal, filter: WatchFilter, signal: AbortSignal): AsyncGenerator<WatchItem> {
    return this.presence.watch(caller, filter, signal);
  }
}
