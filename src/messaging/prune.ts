import type { Kysely } from "kysely";
import type { Database } from "../store/schema.js";

// Thread retention: a thread with no message since `cutoff` goes, with its messages, their receipts and its
// participants. The retention job (src/retention) decides when; this file owns the queries.

export interface PrunedThreads {
  threads: number;
  messages: number;
  receipts: number;
  participants: number;
}

/**
 * Deletes up to `limit` stale threads in one transaction and reports what went. The threads are claimed with
 * FOR UPDATE SKIP LOCKED, so gateways running this at the same time take disjoint batches instead of waiting
 * on each other; a Send into a claimed thread waits for the batch and then starts the thread afresh.
 * A thread still holding a live (unexpired, unfinished) message is kept whatever its age, so retention never
 * drops a message that is still being delivered (possible when the maximum TTL exceeds the retention).
 */
export async function pruneStaleThreads(db: Kysely<Database>, cutoff: Date, limit: number, now = new Date()): Promise<PrunedThreads> {
  return db.transaction().execute(async (trx) => {
    const claimed = await trx
      .selectFrom("threads")
      .select("thread_id")
      .where("last_message_at", "<", cutoff)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom("messages")
              .select("messages.seq")
              .whereRef("messages.thread_id", "=", "threads.thread_id")
              .where("messages.status", "in", ["accepted", "delivered"])
              .where("messages.expires_at", ">", now),
          ),
        ),
      )
      .orderBy("last_message_at")
      .limit(limit)
      .forUpdate()
      .skipLocked()
      .execute();
    const ids = claimed.map((r) => r.thread_id);
    if (ids.length === 0) return { threads: 0, messages: 0, receipts: 0, participants: 0 };

    // Receipts first (found through their messages' ids, which receipts are indexed by), then messages.
    const receipts = await trx
      .deleteFrom("receipts")
      .where("message_id", "in", trx.selectFrom("messages").select("message_id").where("thread_id", "in", ids))
      .executeTakeFirst();
    const messages = await trx.deleteFrom("messages").where("thread_id", "in", ids).executeTakeFirst();
    const participants = await trx.deleteFrom("thread_participants").where("thread_id", "in", ids).executeTakeFirst();
    const threads = await trx.deleteFrom("threads").where("thread_id", "in", ids).executeTakeFirst();
    return {
      threads: Number(threads.numDeletedRows),
      messages: Number(messages.numDeletedRows),
      receipts: Number(receipts.numDeletedRows),
      participants: Number(participants.numDeletedRows),
    };
  });
}
