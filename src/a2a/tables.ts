import type { ColumnType } from "kysely";

type Json<T> = ColumnType<T, string, string>;

/**
 * An A2A task: one A2A message sent to an agent, carried as an agentnet REQUEST. The task's progress is not copied
 * here — it is read from the request and its answers in the messages table — only what A2A adds: the ids the
 * A2A client knows, who asked, the message as sent, a cancellation, and the last state seen (for listing).
 */
export interface A2aTasksTable {
  task_id: string;
  context_id: string;
  /** The user whose credentials sent it; only they (and admins) read it. */
  owner_user_id: string;
  /** The caller's account the request was sent from. */
  sender_account_id: string;
  agent_account_id: string;
  agent_username: string;
  /** The agentnet thread of the task's context (one per context and owner). */
  thread_id: string;
  request_message_id: string;
  /** The A2A Message as the client sent it (ProtoJSON), with task and context ids filled in. */
  message: Json<Record<string, unknown>>;
  /** The last TaskState seen (a TaskState name); refreshed whenever the task is read. */
  state: string;
  /** When its state last changed. */
  state_at: Date;
  canceled_at: Date | null;
  created_at: ColumnType<Date, Date | undefined, never>;
}
