import { type Transaction, sql } from "kysely";
import type { Logger } from "pino";
import type { Bus } from "../bus/index.js";
import type { Database } from "../store/schema.js";
import { encodeSessionEvent, sessionSubject } from "../wire/index.js";
import { type EventDraft, type SessionEventRecord, toEventRecord } from "./records.js";
import type { SessionStatusName } from "./tables.js";

// Storing and announcing session events. Sequence numbers come from the session row: `last_seq` is raised by
// the number of events in the transaction that inserts them, so concurrent writers on several gateways queue on
// the row lock and every session's events are numbered 1, 2, 3, … without gaps. The row lock also means that
// once event n is committed, every event before it is too, which StreamSession's gap filling relies on.

export interface AppendOptions {
  /** Only while this claim holds the session's turn (a turn's own events); renews the claim for `leaseMs`. */
  leaseToken?: string;
  leaseMs?: number;
}

/**
 * Stores events of an active session and returns them numbered; undefined when the session is no longer active
 * (stopped, expired, deleted) or the turn claim given is no longer held.
 */
export async function appendEvents(
  trx: Transaction<Database>,
  sessionId: string,
  drafts: EventDraft[],
  options: AppendOptions = {},
): Promise<SessionEventRecord[] | undefined> {
  if (drafts.length === 0) return [];
  let update = trx
    .updateTable("chat_sessions")
    .set({ last_seq: sql<number>`last_seq + ${drafts.length}`, last_activity_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
    .where("session_id", "=", sessionId)
    .where("status", "=", "active");
  if (options.leaseToken !== undefined) {
    update = update.where("turn_lease_token", "=", options.leaseToken);
    if (options.leaseMs !== undefined) update = update.set({ turn_lease_until: leaseUntil(options.leaseMs) });
  }
  const row = await update.returning("last_seq").executeTakeFirst();
  if (!row) return undefined;
  return insertEvents(trx, sessionId, row.last_seq - drafts.length + 1, drafts);
}

/**
 * Ends an active session with its `stop` event (the last event of a session) and clears its pending turn.
 * Undefined when it had already ended.
 */
export async function appendStop(
  trx: Transaction<Database>,
  sessionId: string,
  stop: { status: Exclude<SessionStatusName, "active">; reason: string; content: string },
  options: AppendOptions = {},
): Promise<SessionEventRecord | undefined> {
  let update = trx
    .updateTable("chat_sessions")
    .set({
      status: stop.status,
      stop_reason: stop.reason,
      last_seq: sql<number>`last_seq + 1`,
      updated_at: sql<Date>`now()`,
      pending_agent: null,
      pending_not_before: null,
      pending_enqueued_at: null,
      turn_lease_token: null,
      turn_lease_until: null,
    })
    .where("session_id", "=", sessionId)
    .where("status", "=", "active");
  if (options.leaseToken !== undefined) update = update.where("turn_lease_token", "=", options.leaseToken);
  const row = await update.returning("last_seq").executeTakeFirst();
  if (!row) return undefined;
  const [event] = await insertEvents(trx, sessionId, row.last_seq, [
    { type: "stop", content: stop.content, sender: "system", role: "system", reason: stop.reason },
  ]);
  return event;
}

export function leaseUntil(leaseMs: number) {
  return sql<Date>`now() + ${leaseMs}::double precision * interval '1 millisecond'`;
}

async function insertEvents(
  trx: Transaction<Database>,
  sessionId: string,
  firstSeq: number,
  drafts: EventDraft[],
): Promise<SessionEventRecord[]> {
  const rows = await trx
    .insertInto("chat_session_events")
    .values(
      drafts.map((d, i) => ({
        session_id: sessionId,
        seq: firstSeq + i,
        type: d.type,
        content: d.content ?? "",
        sender: d.sender ?? "",
        receiver: d.receiver ?? "",
        ts: sql<Date>`clock_timestamp()`,
        metadata: JSON.stringify(d.metadata ?? {}),
        role: d.role ?? "",
        response_id: d.responseId ?? "",
        turn: d.turn ?? 0,
        cooldown_until: d.cooldownUntil ?? null,
        reason: d.reason ?? "",
        message_id: d.messageId ?? "",
        idempotency_key: d.idempotencyKey ?? null,
      })),
    )
    .returningAll()
    .execute();
  return rows.map(toEventRecord).sort((a, b) => a.seq - b.seq);
}

// ---- the bus ----------------------------------------------------------------------------------------------

/** Announces stored events to every gateway's viewers. Best effort: viewers fill gaps from the store. */
export function publishEvents(bus: Bus, logger: Logger, events: readonly SessionEventRecord[]): void {
  for (const event of events) {
    try {
      bus.publish(sessionSubject(event.sessionId), encodeSessionEvent(event));
    } catch (err) {
      logger.warn({ err, sessionId: event.sessionId, seq: event.seq }, "could not publish a session event; viewers read it from the store");
    }
  }
}
