// The registry domain's surface: what other rooms may use. Everything else in this folder is its own.
export {
  type Account,
  accountsOwnedBy,
  getAccount,
  getAccounts,
  getAccountByUsername,
  isOnline,
  mayActAs,
  normaliseUsername,
  onlineAccountsWithCapability,
  resolveActingAccount,
  sessionAccounts,
} from "./accounts.js";
export { type HostedAccount, type HostedAgentInput, createHostedAccounts, endHostedPresence, hostedOnlineEvents } from "./hosted.js";
export { Presence, type PresenceOptions, type WatchFilter, type WatchItem } from "./presence.js";
export type {
  OfflineReason,
  PresenceEventRecord,
  PresenceEventType,
} from "../wire/index.js";
export {
  type AccountRef,
  type ProfileRecord,
  type SessionRecord,
  type Visibility,
  findVisibleProfile,
  profileQuery,
  toProfile,
  visibleTo,
} from "./profiles.js";
export { Registry } from "./registry.js";
export { validMetadata } from "./validation.js";
export { ownedAccountIds, registryFigures } from "./stats.js";
