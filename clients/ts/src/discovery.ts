// Discovery and history reads (the seed's list_online, search, profile, thread_list, thread_messages,
// message_search, thread_status). Lists with a `limit` follow pages until they have that many.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type {
  Envelope,
  GetThreadStatusResponse,
  SearchMessagesRequestSchema,
  ThreadSummary,
} from "@agentnet/gen/agentnet/v1/messaging_pb.js";
import type { Profile } from "@agentnet/gen/agentnet/v1/common_pb.js";
import type { Services } from "./services.js";
import { kindFromName } from "./kinds.js";

export interface ListOnlineOptions {
  capability?: string;
  /** Most profiles to return; default 1000. */
  limit?: number;
}

export interface SearchAgentsOptions {
  /** Case-insensitive substring of username or display name. */
  query?: string;
  capability?: string;
  onlineOnly?: boolean;
  /** Most profiles to return; default 50. */
  limit?: number;
}

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; empty when there is none. */
  nextCursor: string;
}

export interface ListThreadsOptions {
  /** Only threads this account or @username takes part in. */
  participant?: string;
  /** Substring of the thread id. */
  query?: string;
  limit?: number;
  cursor?: string;
}

export interface PageOptions {
  limit?: number;
  cursor?: string;
}

export interface SearchMessagesOptions extends PageOptions {
  threadId?: string;
  /** Sender: account id or @username. */
  from?: string;
  /** Recipient: account id or @username. */
  to?: string;
  kind?: string;
  since?: Date;
  until?: Date;
  traceId?: string;
}

async function collect<T>(
  limit: number,
  page: (pageSize: number, pageToken: string) => Promise<{ items: T[]; next: string }>,
): Promise<T[]> {
  const out: T[] = [];
  let token = "";
  do {
    const res = await page(Math.min(limit - out.length, 1000), token);
    out.push(...res.items);
    token = res.next;
  } while (token !== "" && out.length < limit);
  return out.slice(0, limit);
}

const isAccountId = (s: string) => /^acct_[0-9A-Za-z]+$/.test(s.replace(/^account:/, ""));
const accountOrUser = (s: string): { accountId?: string; username?: string } =>
  isAccountId(s) ? { accountId: s.replace(/^account:/, "") } : { username: s.replace(/^@/, "") };

export function listOnline(s: Services, o: ListOnlineOptions = {}): Promise<Profile[]> {
  return collect(o.limit ?? 1000, async (pageSize, pageToken) => {
    const res = await s.registry.listOnline({ pageSize, pageToken, capability: o.capability ?? "" });
    return { items: res.agents, next: res.nextPageToken };
  });
}

export function searchAgents(s: Services, o: SearchAgentsOptions = {}): Promise<Profile[]> {
  return collect(o.limit ?? 50, async (pageSize, pageToken) => {
    const res = await s.registry.searchAgents({
      pageSize,
      pageToken,
      query: o.query ?? "",
      capability: o.capability ?? "",
      onlineOnly: o.onlineOnly ?? false,
    });
    return { items: res.agents, next: res.nextPageToken };
  });
}

/** One profile by account id ("acct_…") or username ("@name" or "name"), with its live sessions. */
export async function getProfile(s: Services, target: string): Promise<Profile> {
  const who = accountOrUser(target);
  const res = await s.registry.getProfile({
    account: who.accountId ? { case: "accountId", value: who.accountId } : { case: "username", value: who.username ?? "" },
  });
  if (!res.profile) throw new Error("the server answered GetProfile without a profile");
  return res.profile;
}

/** The account id of "acct_…" (as is) or of a username. */
export async function resolveAccount(s: Services, target: string): Promise<string> {
  const who = accountOrUser(target);
  if (who.accountId) return who.accountId;
  return (await s.registry.resolveAccount({ username: who.username ?? "" })).accountId;
}

export async function listThreads(s: Services, o: ListThreadsOptions = {}): Promise<Page<ThreadSummary>> {
  const p = o.participant ? accountOrUser(o.participant) : {};
  const res = await s.messaging.listThreads({
    pageSize: o.limit ?? 0,
    pageToken: o.cursor ?? "",
    participantAccountId: p.accountId ?? "",
    participantUsername: p.username ?? "",
    query: o.query ?? "",
  });
  return { items: res.threads, nextCursor: res.nextPageToken };
}

export async function getThreadMessages(s: Services, threadId: string, o: PageOptions = {}): Promise<Page<Envelope>> {
  const res = await s.messaging.getThreadMessages({ threadId, pageSize: o.limit ?? 0, pageToken: o.cursor ?? "" });
  return { items: res.messages, nextCursor: res.nextPageToken };
}

export async function searchMessages(s: Services, o: SearchMessagesOptions = {}): Promise<Page<Envelope>> {
  const from = o.from ? accountOrUser(o.from) : {};
  const to = o.to ? accountOrUser(o.to) : {};
  const req: MessageInitShape<typeof SearchMessagesRequestSchema> = {
    threadId: o.threadId ?? "",
    fromAccountId: from.accountId ?? "",
    fromUsername: from.username ?? "",
    toAccountId: to.accountId ?? "",
    toUsername: to.username ?? "",
    traceId: o.traceId ?? "",
    pageSize: o.limit ?? 0,
    pageToken: o.cursor ?? "",
  };
  if (o.kind) req.kind = kindFromName(o.kind);
  if (o.since) req.since = timestampFromDate(o.since);
  if (o.until) req.until = timestampFromDate(o.until);
  const res = await s.messaging.searchMessages(req);
  return { items: res.messages, nextCursor: res.nextPageToken };
}

export function threadStatus(s: Services, threadId: string): Promise<GetThreadStatusResponse> {
  return s.messaging.getThreadStatus({ threadId });
}
