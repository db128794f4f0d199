import type { Kysely } from "kysely";
import { boundedCache } from "../bounded-cache.js";
import type { Bus, BusSubscription } from "../bus/index.js";
import { type Account, getAccountByUsername, getAccounts, normaliseUsername, sessionAccounts } from "../registry/index.js";
import { GroupCommit } from "../store/group-commit.js";
import { ALL_PRESENCE, PRESENCE_SUBJECT_PREFIX } from "../wire/index.js";
import type { Database } from "../store/schema.js";

// Every send looks up its sender and recipient. Accounts change rarely (profile updates, key rotation), and every
// change is announced on the bus as a presence `updated` event, so a gateway can keep what it looked up and drop
// an entry when its account's event goes by. The TTL bounds staleness should an event be missed. What is not
// known yet is read in batches: the lookups of one event-loop turn share a statement, so a fleet of agents
// opening their streams at once (each naming its account and session) costs a statement per batch, not per agent.
const TTL_MS = 30_000;

export class AccountDirectory {
  private readonly byId = boundedCache<string, Account>({ maxEntries: 50_000, ttlMs: TTL_MS });
  private readonly idByUsername = boundedCache<string, string>({ maxEntries: 50_000, ttlMs: TTL_MS });
  /** A session belongs to one account forever; only found sessions are kept. */
  private readonly accountBySession = boundedCache<string, string>({ maxEntries: 50_000, ttlMs: TTL_MS });
  private readonly subscription: BusSubscription;
  private readonly readAccounts: GroupCommit<string, Account | undefined>;
  private readonly readSessions: GroupCommit<string, Account | undefined>;

  constructor(
    private readonly db: Kysely<Database>,
    bus: Bus,
  ) {
    this.readAccounts = new GroupCommit(async (ids) => {
      const found = await getAccounts(this.db, [...new Set(ids)]);
      return ids.map((id) => found.get(id));
    });
    this.readSessions = new GroupCommit(async (tags) => {
      const found = await sessionAccounts(this.db, [...new Set(tags)]);
      return tags.map((t) => found.get(t));
    });
    this.subscription = bus.subscribe(ALL_PRESENCE, (msg) => {
      const accountId = msg.subject.slice(PRESENCE_SUBJECT_PREFIX.length + 1);
      const known = this.byId.get(accountId);
      if (known) this.idByUsername.delete(known.username);
      this.byId.delete(accountId);
    });
  }

  async account(accountId: string): Promise<Account | undefined> {
    const cached = this.byId.get(accountId);
    if (cached) return cached;
    const account = await this.readAccounts.submit(accountId);
    if (account) this.remember(account);
    return account;
  }

  async accountByUsername(username: string): Promise<Account | undefined> {
    const id = this.idByUsername.get(normaliseUsername(username));
    const cached = id === undefined ? undefined : await this.account(id);
    if (cached) return cached;
    const account = await getAccountByUsername(this.db, username);
    if (account) this.remember(account);
    return account;
  }

  /** The account id of a session, or undefined when there is no such session. */
  async sessionOwner(sessionTag: string): Promise<string | undefined> {
    const cached = this.accountBySession.get(sessionTag);
    if (cached) return cached;
    const account = await this.readSessions.submit(sessionTag);
    if (!account) return undefined;
    this.remember(account);
    this.accountBySession.set(sessionTag, account.accountId);
    return account.accountId;
  }

  close(): void {
    this.subscription.unsubscribe();
  }

  private remember(account: Account): void {
    this.byId.set(account.accountId, account);
    this.idByUsername.set(account.username, account.accountId);
  }
}
