import { type Expression, type ExpressionBuilder, type Kysely, type Selectable, type SqlBool, sql } from "kysely";
import type { Principal } from "../auth/index.js";
import { DomainError, invalidArgument } from "../errors.js";
import { decodePageToken, encodePageToken, type Page, pageSize, positionString } from "../paging/index.js";
import { type Account, accountsOwnedBy, getAccount, getAccountByUsername, mayActAs } from "../registry/index.js";
import type { Database } from "../store/schema.js";
import { type StoredMessage, toStoredMessage } from "./message.js";
import type { MessageKindName, ThreadsTable } from "./tables.js";

// Reading history: threads, their messages, search and counters. Send keeps the thread rows and their counters
// up to date, so everything here is a read. Who may read a thread: admins, and the owners of any of its
// participant accounts; to anyone else a thread does not exist (NOT_FOUND, never PERMISSION_DENIED, so thread
// ids cannot be probed).

/** Characters per token for the seed's token estimate. */
export const CHARS_PER_TOKEN = 4;

export interface Participant {
  accountId: string;
  /** The account's current username; "" when the account no longer exists. */
  username: string;
}

export interface ThreadSummary {
  threadId: string;
  participants: Participant[];
  messageCount: number;
  byteCount: number;
  approxTokens: number;
  createdAt: Date;
  lastMessageAt: Date;
  lastMessageId: string;
  latestCheckpointEnd: string;
  /** "" for agent threads. */
  chatSessionId: string;
}

export interface ThreadStatus extends ThreadSummary {
  /** Messages not yet processed, rejected or expired. */
  pendingMessages: number;
}

export type { Page } from "../paging/index.js";

export function approxTokens(chars: number): number {
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

// ---- access -----------------------------------------------------------------------------------------------

/** Ids of the accounts whose threads the caller reads, or "all" for admins. */
async function readableAccountIds(db: Kysely<Database>, principal: Principal): Promise<string[] | "all"> {
  if (principal.admin) return "all";
  return (await accountsOwnedBy(db, principal.userId)).map((a) => a.accountId);
}

function threadNotFound(threadId: string): DomainError {
  return new DomainError("not_found", "thread_not_found", `no thread ${threadId} that you may read`, { field: "thread_id" });
}

/** Accounts by id (looked up through the registry), each once. */
async function accountsById(db: Kysely<Database>, ids: Iterable<string>): Promise<Map<string, Account | undefined>> {
  const unique = [...new Set(ids)];
  const accounts = await Promise.all(unique.map((id) => getAccount(db, id)));
  return new Map(unique.map((id, i) => [id, accounts[i]]));
}

async function participantIds(db: Kysely<Database>, threadIds: string[]): Promise<Map<string, string[]>> {
  const byThread = new Map<string, string[]>(threadIds.map((id) => [id, []]));
  if (threadIds.length === 0) return byThread;
  const rows = await db.selectFrom("thread_participants").select(["thread_id", "account_id"]).where("thread_id", "in", threadIds).execute();
  for (const r of rows) byThread.get(r.thread_id)?.push(r.account_id);
  return byThread;
}

function toParticipants(ids: string[], accounts: Map<string, Account | undefined>): Participant[] {
  return ids
    .map((accountId) => ({ accountId, username: accounts.get(accountId)?.username ?? "" }))
    .sort((a, b) => a.username.localeCompare(b.username) || a.accountId.localeCompare(b.accountId));
}

function toSummary(row: Selectable<ThreadsTable>, participants: Participant[]): ThreadSummary {
  return {
    threadId: row.thread_id,
    participants,
    messageCount: row.message_count,
    byteCount: row.byte_count,
    approxTokens: approxTokens(row.char_count),
    createdAt: row.created_at,
    lastMessageAt: row.last_message_at,
    lastMessageId: row.last_message_id,
    latestCheckpointEnd: row.latest_checkpoint_end,
    chatSessionId: row.chat_session_id ?? "",
  };
}

/** The thread with its participants, when the caller may read it; NOT_FOUND `thread_not_found` otherwise. */
export async function readableThread(db: Kysely<Database>, principal: Principal, threadId: string): Promise<ThreadSummary> {
  if (threadId === "") throw invalidArgument("thread_id", "must not be empty");
  const row = await db.selectFrom("threads").selectAll().where("thread_id", "=", threadId).executeTakeFirst();
  if (!row) throw threadNotFound(threadId);
  const ids = (await participantIds(db, [threadId])).get(threadId) ?? [];
  const accounts = await accountsById(db, ids);
  if (!principal.admin && ![...accounts.values()].some((a) => a !== undefined && mayActAs(principal, a))) {
    throw threadNotFound(threadId);
  }
  return toSummary(row, toParticipants(ids, accounts));
}

// ---- cursors ----------------------------------------------------------------------------------------------

function malformedToken(): DomainError {
  return new DomainError("invalid_argument", "invalid_page_token", "page_token: malformed", { field: "page_token" });
}

function positionInt(position: Record<string, unknown>, key: string): number {
  const value = position[key];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) throw malformedToken();
  return value;
}

// ---- threads ----------------------------------------------------------------------------------------------

export interface ListThreadsFilter {
  pageSize: number;
  pageToken: string;
  participantAccountId?: string;
  participantUsername?: string;
  /** Case-insensitive substring of the thread id. */
  query?: string;
}

/** Threads the caller may read, most recent activity first, keyset-paged on (last_message_at, thread_id). */
export async function listThreads(db: Kysely<Database>, principal: Principal, filter: ListThreadsFilter): Promise<Page<ThreadSummary>> {
  const limit = pageSize(filter.pageSize, 20, 200);
  const position = decodePageToken("threads", filter.pageToken);
  // The activity position is kept in whole microseconds (PostgreSQL's precision), so no thread is skipped or
  // repeated at a page boundary even when several share a millisecond.
  const after = position && { us: positionInt(position, "u"), threadId: positionString(position, "t") };

  const readable = await readableAccountIds(db, principal);
  if (readable !== "all" && readable.length === 0) return { items: [], nextPageToken: "" };

  let participant = filter.participantAccountId || undefined;
  if (filter.participantUsername) {
    const account = await getAccountByUsername(db, filter.participantUsername);
    if (!account || (participant !== undefined && participant !== account.accountId)) return { items: [], nextPageToken: "" };
    participant = account.accountId;
  }

  const takesPart = (eb: ExpressionBuilder<Database, "threads">, accountIds: string[]) =>
    eb.exists(
      eb
        .selectFrom("thread_participants as tp")
        .select("tp.thread_id")
        .whereRef("tp.thread_id", "=", "threads.thread_id")
        .where("tp.account_id", "in", accountIds),
    );

  let query = db
    .selectFrom("threads")
    .selectAll()
    .select(sql<number>`cast(extract(epoch from threads.last_message_at) * 1000000 as bigint)`.as("activity_us"));
  if (readable !== "all") query = query.where((eb) => takesPart(eb, readable));
  if (participant !== undefined) query = query.where((eb) => takesPart(eb, [participant]));
  const needle = filter.query?.trim().toLowerCase();
  if (needle) query = query.where(sql<SqlBool>`strpos(lower(threads.thread_id), ${needle}) > 0`);
  if (after) {
    query = query.where(
      sql<SqlBool>`(threads.last_message_at, threads.thread_id) <
        (timestamptz 'epoch' + cast(${after.us} as bigint) * interval '1 microsecond', ${after.threadId})`,
    );
  }
  const rows = await query
    .orderBy("threads.last_message_at", "desc")
    .orderBy("threads.thread_id", "desc")
    .limit(limit + 1)
    .execute();

  const page = rows.slice(0, limit);
  const ids = await participantIds(
    db,
    page.map((r) => r.thread_id),
  );
  const accounts = await accountsById(db, [...ids.values()].flat());
  const last = page.at(-1);
  return {
    items: page.map((r) => toSummary(r, toParticipants(ids.get(r.thread_id) ?? [], accounts))),
    nextPageToken: rows.length > limit && last ? encodePageToken("threads", { u: Number(last.activity_us), t: last.thread_id }) : "",
  };
}

/** A thread's counters and participants (the seed's thread_status). */
export async function getThreadStatus(
  db: Kysely<Database>,
  principal: Principal,
  threadId: string,
  now = new Date(),
): Promise<ThreadStatus> {
  const thread = await readableThread(db, principal, threadId);
  const pending = await db
    .selectFrom("messages")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("thread_id", "=", threadId)
    .where("status", "in", ["accepted", "delivered"])
    // Past its TTL a message is as good as expired, even before the sweep writes the receipt.
    .where("expires_at", ">", now)
    .executeTakeFirstOrThrow();
  return { ...thread, pendingMessages: Number(pending.n) };
}

// ---- messages ---------------------------------------------------------------------------------------------

/** One page of a thread's messages, newest first; the cursor is the storage order (`seq`). */
export async function getThreadMessages(
  db: Kysely<Database>,
  principal: Principal,
  request: { threadId: string; pageSize: number; pageToken: string },
): Promise<Page<StoredMessage>> {
  const limit = pageSize(request.pageSize, 50, 500);
  const position = decodePageToken("thread_messages", request.pageToken);
  // A cursor belongs to one thread; handing it to another would silently skip that thread's newer messages.
  if (position && positionString(position, "t") !== request.threadId) {
    throw new DomainError("invalid_argument", "invalid_page_token", "page_token: belongs to another thread", { field: "page_token" });
  }
  const beforeSeq = position && positionInt(position, "s");
  await readableThread(db, principal, request.threadId);

  let query = db.selectFrom("messages").selectAll().where("thread_id", "=", request.threadId);
  if (beforeSeq !== undefined) query = query.where("seq", "<", beforeSeq);
  const rows = await query
    .orderBy("seq", "desc")
    .limit(limit + 1)
    .execute();
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map(toStoredMessage),
    nextPageToken: rows.length > limit && last ? encodePageToken("thread_messages", { t: request.threadId, s: last.seq }) : "",
  };
}

export interface SearchFilter {
  threadId?: string;
  fromAccountId?: string;
  fromUsername?: string;
  toAccountId?: string;
  toUsername?: string;
  kind?: MessageKindName;
  /** Sent at or after. */
  since?: Date;
  /** Sent before. */
  until?: Date;
  traceId?: string;
  pageSize: number;
  pageToken: string;
}

/** Resolves an account given by id and/or username to one id; null when nothing can match. */
async function oneAccount(
  db: Kysely<Database>,
  accountId: string | undefined,
  username: string | undefined,
): Promise<string | undefined | null> {
  if (!username) return accountId || undefined;
  const account = await getAccountByUsername(db, username);
  if (!account || (accountId && accountId !== account.accountId)) return null;
  return account.accountId;
}

/** Messages the caller may read (those of threads it may read) matching every given filter, newest first. */
export async function searchMessages(db: Kysely<Database>, principal: Principal, filter: SearchFilter): Promise<Page<StoredMessage>> {
  const limit = pageSize(filter.pageSize, 50, 500);
  if (filter.since && filter.until && filter.since.getTime() > filter.until.getTime()) {
    throw new DomainError("invalid_argument", "invalid_time_range", "since: must not be after until", { field: "since" });
  }
  const position = decodePageToken("search_messages", filter.pageToken);
  const beforeSeq = position && positionInt(position, "s");
  const empty = { items: [], nextPageToken: "" };

  const readable = await readableAccountIds(db, principal);
  if (readable !== "all" && readable.length === 0) return empty;
  const from = await oneAccount(db, filter.fromAccountId, filter.fromUsername);
  const to = await oneAccount(db, filter.toAccountId, filter.toUsername);
  if (from === null || to === null) return empty;

  let query = db.selectFrom("messages").selectAll();
  if (readable !== "all") {
    query = query.where((eb) =>
      eb(
        "messages.thread_id",
        "in",
        eb
          .selectFrom("thread_participants")
          .select("thread_participants.thread_id")
          .where("thread_participants.account_id", "in", readable),
      ),
    );
  }
  const filters: Array<(eb: ExpressionBuilder<Database, "messages">) => Expression<SqlBool>> = [];
  if (filter.threadId) filters.push((eb) => eb("messages.thread_id", "=", filter.threadId!));
  if (from !== undefined) filters.push((eb) => eb("messages.from_account_id", "=", from));
  if (to !== undefined) filters.push((eb) => eb("messages.to_account_id", "=", to));
  if (filter.kind) filters.push((eb) => eb("messages.kind", "=", filter.kind!));
  if (filter.since) filters.push((eb) => eb("messages.sent_at", ">=", filter.since!));
  if (filter.until) filters.push((eb) => eb("messages.sent_at", "<", filter.until!));
  if (filter.traceId) filters.push((eb) => eb("messages.trace_id", "=", filter.traceId!));
  if (beforeSeq !== undefined) filters.push((eb) => eb("messages.seq", "<", beforeSeq));
  for (const f of filters) query = query.where(f);

  const rows = await query
    .orderBy("messages.seq", "desc")
    .limit(limit + 1)
    .execute();
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map(toStoredMessage),
    nextPageToken: rows.length > limit && last ? encodePageToken("search_messages", { s: last.seq }) : "",
  };
}

/** History reads of one gateway over its store: what MessagingService's thread and search RPCs answer. */
export class History {
  constructor(private readonly db: Kysely<Database>) {}

  listThreads(principal: Principal, filter: ListThreadsFilter): Promise<Page<ThreadSummary>> {
    return listThreads(this.db, principal, filter);
  }

  getThreadStatus(principal: Principal, threadId: string): Promise<ThreadStatus> {
    return getThreadStatus(this.db, principal, threadId);
  }

  getThreadMessages(
    principal: Principal,
    request: { threadId: string; pageSize: number; pageToken: string },
  ): Promise<Page<StoredMessage>> {
    return getThreadMessages(this.db, principal, request);
  }

  searchMessages(principal: Principal, filter: SearchFilter): Promise<Page<StoredMessage>> {
    return searchMessages(this.db, principal, filter);
  }
}
