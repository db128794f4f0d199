import type { Kysely } from "kysely";
import type { Database } from "../store/schema.js";
import { type StoredMessage, toStoredMessage } from "./message.js";
import type { MessageStatus } from "./tables.js";

// What became of one request: its own delivery status and the messages its recipient sent back in answer (stream
// parts, the reply, an error). Bridges that present a request as something else (A2A tasks) read this instead of
// the tables, which stay messaging's own.

export interface RequestProgress {
  status: MessageStatus;
  /** The refusal's code and detail when the request was rejected. */
  statusCode: string;
  statusDetail: string;
  /** When the request's status last changed. */
  updatedAt: Date;
  /** Messages in the request's thread with it as parent, from its recipient, after `afterSeq`, in storage order. */
  answers: StoredMessage[];
}

/**
 * The progress of request `requestMessageId` in thread `threadId`, or undefined when no such request is stored.
 * Answers are looked up through the thread's index (thread_id, seq), so the read stays cheap however large the
 * table grows; `afterSeq` skips what the caller has seen.
 */
export async function requestProgress(
  db: Kysely<Database>,
  threadId: string,
  requestMessageId: string,
  afterSeq = 0,
): Promise<RequestProgress | undefined> {
  // The request first, then its answers: the recipient stores a reply before it marks the request processed, so
  // a request read as processed always comes with its reply (read the other way round, it could be missed).
  const request = await db
    .selectFrom("messages")
    .select(["status", "status_code", "status_detail", "updated_at", "to_account_id", "thread_id"])
    .where("message_id", "=", requestMessageId)
    .executeTakeFirst();
  if (!request || request.thread_id !== threadId) return undefined;
  const answers = await db
    .selectFrom("messages")
    .selectAll()
    .where("thread_id", "=", threadId)
    .where("seq", ">", afterSeq)
    .where("parent_message_id", "=", requestMessageId)
    .where("from_account_id", "=", request.to_account_id)
    .where("kind", "in", ["stream", "reply", "error"])
    .orderBy("seq")
    .execute();
  return {
    status: request.status,
    statusCode: request.status_code,
    statusDetail: request.status_detail,
    updatedAt: request.updated_at,
    answers: answers.map(toStoredMessage),
  };
}
