import { type Kysely, type Selectable, sql } from "kysely";
import type { Principal } from "../auth/index.js";
import { decodePageToken, encodePageToken, positionString } from "../paging/index.js";
import { GroupCommit } from "../store/group-commit.js";
import type { Database } from "../store/schema.js";
import { type Message, TERMINAL_STATES, type TaskState } from "./model.js";
import type { A2aTasksTable } from "./tables.js";

// The a2a_tasks rows: created when an A2A message is sent, read only by the user who sent it (and admins).

export interface TaskRecord {
  taskId: string;
  contextId: string;
  ownerUserId: string;
  senderAccountId: string;
  agentAccountId: string;
  agentUsername: string;
  threadId: string;
  requestMessageId: string;
  message: Message;
  state: TaskState;
  stateAt: Date;
  canceledAt: Date | null;
  createdAt: Date;
}

export interface ListTasksFilter {
  agentAccountId?: string | undefined;
  contextId?: string | undefined;
  state?: TaskState | undefined;
  stateAfter?: Date | undefined;
  pageSize: number;
  pageToken: string;
}

const LISTING = "a2a_tasks";

/**
 * Stores new tasks through a group commit: the tasks of concurrent SendMessage calls share one INSERT and one
 * commit (each commit is a WAL flush on a durable server; one per task was the bridge's bottleneck).
 */
export class TaskInserts {
  private readonly commits: GroupCommit<TaskRecord, boolean>;

  constructor(db: Kysely<Database>) {
    this.commits = new GroupCommit(async (records) => {
      const inserted = await db
        .insertInto("a2a_tasks")
        .values(records.map(toRow))
        .onConflict((oc) => oc.column("request_message_id").doNothing())
        .returning("task_id")
        .execute();
      const ids = new Set(inserted.map((r) => r.task_id));
      return records.map((r) => ids.has(r.taskId));
    });
  }

  /** Stores a new task; false when its request already has one (a retry that raced the first call). */
  insert(record: TaskRecord): Promise<boolean> {
    return this.commits.submit(record);
  }
}

function toRow(record: TaskRecord) {
  return {
    task_id: record.taskId,
    context_id: record.contextId,
    owner_user_id: record.ownerUserId,
    sender_account_id: record.senderAccountId,
    agent_account_id: record.agentAccountId,
    agent_username: record.agentUsername,
    thread_id: record.threadId,
    request_message_id: record.requestMessageId,
    message: JSON.stringify(record.message),
    state: record.state,
    state_at: record.stateAt,
    created_at: record.createdAt,
  };
}

/**
 * The caller's task `taskId` (or the one of request `{ requestMessageId }`); undefined when there is none or it is
 * someone else's (A2A must not tell which).
 */
export async function findTask(
  db: Kysely<Database>,
  principal: Principal,
  id: string | { requestMessageId: string },
): Promise<TaskRecord | undefined> {
  let query = db.selectFrom("a2a_tasks").selectAll();
  query = typeof id === "string" ? query.where("task_id", "=", id) : query.where("request_message_id", "=", id.requestMessageId);
  if (!principal.admin) query = query.where("owner_user_id", "=", principal.userId);
  const row = await query.executeTakeFirst();
  return row && toRecord(row);
}

/** The thread an earlier task of this owner's context used, so a conversation stays in one agentnet thread. */
export async function contextThread(db: Kysely<Database>, ownerUserId: string, contextId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom("a2a_tasks")
    .select("thread_id")
    .where("owner_user_id", "=", ownerUserId)
    .where("context_id", "=", contextId)
    .orderBy("created_at")
    .limit(1)
    .executeTakeFirst();
  return row?.thread_id;
}

/** Records the state a read found, when it moved on (ListTasks filters on it). */
export async function saveState(db: Kysely<Database>, taskId: string, state: TaskState, at: Date): Promise<void> {
  await db.updateTable("a2a_tasks").set({ state, state_at: at }).where("task_id", "=", taskId).where("state", "<>", state).execute();
}

/** Marks the task canceled unless it already was; the time of the first cancellation stands. */
export async function markCanceled(db: Kysely<Database>, taskId: string): Promise<Date> {
  const row = await db
    .updateTable("a2a_tasks")
    .set({ canceled_at: sql<Date>`coalesce(canceled_at, now())` })
    .where("task_id", "=", taskId)
    .returning("canceled_at")
    .executeTakeFirstOrThrow();
  return row.canceled_at ?? new Date();
}

/** When the task was canceled, if it was (a feed learns of a cancellation made on another gateway this way). */
export async function canceledAt(db: Kysely<Database>, taskId: string): Promise<Date | null> {
  const row = await db.selectFrom("a2a_tasks").select("canceled_at").where("task_id", "=", taskId).executeTakeFirst();
  return row?.canceled_at ?? null;
}

/** The caller's tasks not yet seen in a terminal state (most recent first), to refresh before a filtered listing. */
export async function openTasks(db: Kysely<Database>, principal: Principal, limit: number): Promise<TaskRecord[]> {
  const rows = await db
    .selectFrom("a2a_tasks")
    .selectAll()
    .where("owner_user_id", "=", principal.userId)
    .where("state", "not in", [...TERMINAL_STATES])
    .orderBy("created_at", "desc")
    .limit(limit)
    .execute();
  return rows.map(toRecord);
}

/** One page of the caller's tasks, newest first, and how many match in all. */
export async function listTasks(
  db: Kysely<Database>,
  principal: Principal,
  filter: ListTasksFilter,
): Promise<{ records: TaskRecord[]; nextPageToken: string; totalSize: number }> {
  let query = db.selectFrom("a2a_tasks").where("owner_user_id", "=", principal.userId);
  if (filter.agentAccountId !== undefined) query = query.where("agent_account_id", "=", filter.agentAccountId);
  if (filter.contextId !== undefined) query = query.where("context_id", "=", filter.contextId);
  if (filter.state !== undefined) query = query.where("state", "=", filter.state);
  if (filter.stateAfter !== undefined) query = query.where("state_at", ">=", filter.stateAfter);
  const position = decodePageToken(LISTING, filter.pageToken);
  let page = query.selectAll();
  if (position) {
    const at = new Date(positionString(position, "at"));
    const id = positionString(position, "id");
    page = page.where((eb) => eb.or([eb("created_at", "<", at), eb.and([eb("created_at", "=", at), eb("task_id", "<", id)])]));
  }
  const [rows, count] = await Promise.all([
    page
      .orderBy("created_at", "desc")
      .orderBy("task_id", "desc")
      .limit(filter.pageSize + 1)
      .execute(),
    query.select((eb) => eb.fn.countAll<string>().as("n")).executeTakeFirstOrThrow(),
  ]);
  const records = rows.slice(0, filter.pageSize).map(toRecord);
  const last = records.at(-1);
  const nextPageToken =
    rows.length > filter.pageSize && last ? encodePageToken(LISTING, { at: last.createdAt.toISOString(), id: last.taskId }) : "";
  return { records, nextPageToken, totalSize: Number(count.n) };
}

function toRecord(row: Selectable<A2aTasksTable>): TaskRecord {
  return {
    taskId: row.task_id,
    contextId: row.context_id,
    ownerUserId: row.owner_user_id,
    senderAccountId: row.sender_account_id,
    agentAccountId: row.agent_account_id,
    agentUsername: row.agent_username,
    threadId: row.thread_id,
    requestMessageId: row.request_message_id,
    message: row.message as unknown as Message,
    state: row.state as TaskState,
    stateAt: row.state_at,
    canceledAt: row.canceled_at,
    createdAt: row.created_at,
  };
}
