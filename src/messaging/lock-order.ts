import { type RawBuilder, sql } from "kysely";

/**
 * A subquery that locks the given messages in message_id order and yields their ids, for a statement that
 * changes several messages to use as `message_id = any(array(…))`. PostgreSQL runs it as an InitPlan before the
 * statement's own scan, so every such statement takes its row locks in one global order whatever plan it gets,
 * and two of them touching the same messages wait for each other instead of deadlocking.
 */
export function messagesLockedInOrder(ids: readonly string[]): RawBuilder<unknown> {
  return sql`select message_id from messages where message_id = any(cast(${ids} as text[])) order by message_id for no key update`;
}
