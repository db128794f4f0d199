import type { Kysely } from "kysely";
import type { Principal } from "../auth/index.js";
import type { Bus } from "../bus/index.js";
import { DomainError, invalidArgument } from "../errors.js";
import {
  type Account,
  accountsOwnedBy,
  mayActAs,
  normaliseUsername,
  onlineAccountsWithCapability,
  resolveActingAccount,
} from "../registry/index.js";
import type { Database } from "../store/schema.js";
import { AccountDirectory } from "./account-directory.js";

/** How a sender names a recipient: exactly one of the three. */
export interface Target {
  accountId?: string;
  username?: string;
  capability?: string;
}

/**
 * Who a call acts as and who it addresses: the sender, the recipient, and the accounts a caller may act as or
 * watch. Accounts and sessions are looked up through one cache (the account directory), which presence events
 * keep fresh on every gateway.
 */
export class Addressing {
  private readonly directory: AccountDirectory;
  private capabilityTurn = 0;

  constructor(
    private readonly db: Kysely<Database>,
    bus: Bus,
  ) {
    this.directory = new AccountDirectory(db, bus);
  }

  /** The account a caller acts as: `asAccountId`, else the session's account, else the caller's only account. */
  async sender(principal: Principal, asAccountId: string, sessionTag: string): Promise<Account> {
    if (asAccountId !== "") {
      // The session's owner first: its lookup brings the account along, so the usual call (an agent naming its
      // own account and session) reads one row, not two.
      const sessionOwner = sessionTag === "" ? undefined : await this.directory.sessionOwner(sessionTag);
      const account = await this.directory.account(asAccountId);
      if (!account) throw new DomainError("not_found", "account_not_found", `no account ${asAccountId}`, { field: "as_account_id" });
      this.mustActAs(principal, account);
      if (sessionTag !== "" && sessionOwner !== account.accountId) {
        throw new DomainError("not_found", "session_not_found", `session ${sessionTag} is not a session of ${account.accountId}`, {
          field: "session_tag",
        });
      }
      return account;
    }
    if (sessionTag !== "") {
      const accountId = await this.directory.sessionOwner(sessionTag);
      const account = accountId === undefined ? undefined : await this.directory.account(accountId);
      if (!account) throw new DomainError("not_found", "session_not_found", `no session ${sessionTag}`, { field: "session_tag" });
      this.mustActAs(principal, account);
      return account;
    }
    // Neither named: the caller's only account (the registry refuses none or several).
    return resolveActingAccount(this.db, principal, {});
  }

  /** The recipient a target names; capability targets rotate over the online accounts offering it. */
  async recipient(to: Target): Promise<Account> {
    if (to.accountId !== undefined) {
      const account = await this.directory.account(to.accountId);
      if (!account) throw new DomainError("not_found", "recipient_not_found", `no account ${to.accountId}`, { field: "to.account_id" });
      return account;
    }
    if (to.username !== undefined) {
      const account = await this.directory.accountByUsername(to.username);
      if (!account)
        throw new DomainError("not_found", "recipient_not_found", `no account named ${normaliseUsername(to.username) || to.username}`, {
          field: "to.username",
        });
      return account;
    }
    if (to.capability !== undefined) {
      const candidates = await onlineAccountsWithCapability(this.db, to.capability.trim().toLowerCase());
      if (candidates.length === 0) {
        throw new DomainError("unavailable", "no_responders", `no online agent offers the capability "${to.capability}"`);
      }
      const chosen = candidates[this.capabilityTurn++ % candidates.length]!;
      return (await this.directory.account(chosen))!;
    }
    throw invalidArgument("to", "give an account_id, a username or a capability");
  }

  /** An account by id through the cache, or undefined. */
  account(accountId: string): Promise<Account | undefined> {
    return this.directory.account(accountId);
  }

  /** The accounts whose traffic or receipts a caller may watch; undefined means every account (admins). */
  async watchable(principal: Principal, accountIds: string[]): Promise<string[] | undefined> {
    if (accountIds.length === 0) {
      if (principal.admin) return undefined;
      const owned = await accountsOwnedBy(this.db, principal.userId);
      if (owned.length === 0) throw invalidArgument("account_ids", "you own no agent account yet: Register one first");
      return owned.map((a) => a.accountId);
    }
    for (const id of accountIds) {
      const account = await this.directory.account(id);
      if (!account || !mayActAs(principal, account)) {
        throw new DomainError("permission_denied", "not_account_owner", `you do not own account ${id}`);
      }
    }
    return accountIds;
  }

  close(): void {
    this.directory.close();
  }

  private mustActAs(principal: Principal, account: Account): void {
    if (!mayActAs(principal, account)) {
      throw new DomainError("permission_denied", "not_account_owner", `you do not own account ${account.accountId}`);
    }
  }
}
