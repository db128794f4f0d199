import { type Kysely, type Selectable, sql } from "kysely";
import type { Logger } from "pino";
import { runPeriodically } from "../lifecycle/index.js";
import { FailureLog } from "../store/errors.js";
import type { Database } from "../store/schema.js";
import type { ReceiptRecord } from "../wire/index.js";
import { toReceiptRecord } from "./writer.js";

const BATCH = 1000;

/**
 * Marks messages past their TTL as expired (with an `expired` receipt to the sender), in bounded batches.
 * Every gateway runs it; `FOR UPDATE SKIP LOCKED` lets them share the work without reporting a message twice.
 */
export async function expireDue(db: Kysely<Database>, now = new Date()): Promise<ReceiptRecord[]> {
  // Nearly every sweep finds nothing: one indexed look first is cheaper than the locking statement below, and
  // that is most of what an idle gateway does.
  const { rows: probe } = await sql<{ due: boolean }>`
    select exists(select 1 from messages where status in ('accepted', 'delivered') and expires_at <= ${now}) as due`.execute(db);
  if (!probe[0]?.due) return [];
  // One statement, its own transaction: the expired messages and their receipts.
  const { rows } = await sql<Selectable<Database["receipts"]>>`
    with upd as (
      update messages set status = 'expired', status_code = 'ttl_expired', status_detail = '', status_session_tag = '',
                          lease_until = null, updated_at = ${now}
      where message_id in (
        select message_id from messages
        where status in ('accepted', 'delivered') and expires_at <= ${now}
        order by expires_at
        limit ${BATCH}
        for update skip locked)
      returning message_id, from_account_id, to_account_id, thread_id, trace_id
    )
    insert into receipts (message_id, sender_account_id, recipient_account_id, status, event_at, recipient_session_tag,
                          thread_id, trace_id, code, detail, delivery_attempt)
    select message_id, from_account_id, to_account_id, 'expired', ${now}, '', thread_id, trace_id, 'ttl_expired', '', 0
      from upd order by message_id
    returning *`.execute(db);
  return rows.map(toReceiptRecord);
}

/** Runs `expireDue` every `intervalMs` (the first pass at once) until `signal` aborts, handing each receipt to `publish`. */
export function runExpirySweep(options: {
  db: Kysely<Database>;
  logger: Logger;
  intervalMs: number;
  signal: AbortSignal;
  publish: (receipt: ReceiptRecord) => void;
}): Promise<void> {
  const { db, logger, intervalMs, signal, publish } = options;
  // A failed sweep (the database restarting) is retried at the next tick, logged once per outage.
  const failures = new FailureLog(logger, "expiry sweep");
  return runPeriodically(signal, {
    intervalMs,
    firstDelayMs: 0,
    async pass() {
      try {
        let receipts: ReceiptRecord[];
        do {
          receipts = await expireDue(db);
          for (const r of receipts) publish(r);
          if (receipts.length > 0) logger.debug({ expired: receipts.length }, "expired messages");
        } while (receipts.length === BATCH && !signal.aborted);
        failures.succeeded();
      } catch (err) {
        if (!signal.aborted) failures.failed(err);
      }
    },
  });
}
