import { type Kysely, type Transaction, sql } from "kysely";
import { DomainError } from "../errors.js";
import type { Database } from "../store/schema.js";
import { DEFAULT_SCHEMA_VERSION } from "./validate.js";
import { MessageWriter, StatusWriter } from "./writer.js";

// Threads of SessionService chat sessions. A chat session's messages are ordinary thread messages, so history
// (GetThreadMessages, SearchMessages, ListThreads) reads them like any others; they are written through the
// same group-commit writers as Send's and marked processed at once, since the session itself delivered them.

/** Someone on either end of a chat message: a hosted agent's account, or the session's user. */
export interface ChatParty {
  /** An account id, or the user id when a person speaks (people have no account). */
  accountId: string;
  username: string;
  agentId: string;
}

export interface ChatMessageInput {
  threadId: string;
  messageId: string;
  /** The chat session's id; also the trace id of its messages. */
  chatSessionId: string;
  from: ChatParty;
  to: ChatParty;
  /** The message's JSON payload (`text` plus what the session adds). */
  payload: Record<string, unknown>;
  parentMessageId: string;
  /** Makes a retried write return the first one's message. */
  idempotencyKey: string;
  ttlMs: number;
}

/**
 * Creates the thread of a chat session (marked with its id) with the session's agents as participants, inside
 * the transaction that creates the session, so the thread is readable before its first message.
 */
export async function openChatThread(
  trx: Transaction<Database>,
  input: { threadId: string; chatSessionId: string; participantAccountIds: string[] },
): Promise<void> {
  await trx
    .insertInto("threads")
    .values({
      thread_id: input.threadId,
      created_at: sql<Date>`now()`,
      last_message_at: sql<Date>`now()`,
      last_message_id: "",
      message_count: 0,
      byte_count: 0,
      char_count: 0,
      latest_checkpoint_end: "",
      chat_session_id: input.chatSessionId,
    })
    // A message that got there first created the thread without the mark.
    .onConflict((oc) => oc.column("thread_id").doUpdateSet({ chat_session_id: input.chatSessionId }))
    .execute();
  if (input.participantAccountIds.length > 0) {
    await trx
      .insertInto("thread_participants")
      .values([...input.participantAccountIds].sort().map((accountId) => ({ thread_id: input.threadId, account_id: accountId })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
}

/** Writes chat messages into their threads (group commit), each already processed. */
export class ChatThreadWriter {
  private readonly writer: MessageWriter;
  private readonly status: StatusWriter;

  constructor(db: Kysely<Database>) {
    this.writer = new MessageWriter(db);
    this.status = new StatusWriter(db);
  }

  /** Stores the message and returns its id (the original's id when the idempotency key was used before). */
  async write(input: ChatMessageInput): Promise<string> {
    const json = JSON.stringify(input.payload);
    const sentAt = new Date();
    const result = await this.writer.write({
      messageId: input.messageId,
      threadId: input.threadId,
      parentMessageId: input.parentMessageId,
      traceId: input.chatSessionId,
      traceparent: "",
      kind: "direct",
      fromAccountId: input.from.accountId,
      fromUsername: input.from.username,
      fromAgentId: input.from.agentId,
      fromSessionTag: "",
      to: { accountId: input.to.accountId },
      toAccountId: input.to.accountId,
      toUsername: input.to.username,
      payload: input.payload,
      payloadBytes: Buffer.byteLength(json),
      payloadChars: json.length,
      sentAt,
      ttlMs: input.ttlMs,
      expiresAt: new Date(sentAt.getTime() + input.ttlMs),
      schemaVersion: DEFAULT_SCHEMA_VERSION,
      idempotencyKey: input.idempotencyKey,
      signature: null,
      blobIds: [],
    });
    if (result.outcome === "conflict") {
      throw new DomainError("already_exists", "message_id_conflict", `message id ${input.messageId} is already taken`);
    }
    if (result.outcome === "inserted") {
      await this.status.apply({ messageId: result.message.messageId, to: "processed", sessionTag: "", code: "", detail: "" });
    }
    return result.message.messageId;
  }
}
