import { type Kysely, type Selectable, sql } from "kysely";
import { grantBlobs } from "../blobs/index.js";
import type { Database } from "../store/schema.js";
import { type FlushHooks, GroupCommit } from "../store/group-commit.js";
import { PREPARED } from "../store/prepared-pool.js";
import type { ReceiptRecord } from "../wire/index.js";
import { type StoredMessage, toStoredMessage } from "./message.js";
import type { MessagesTable, MessageStatus } from "./tables.js";

// The durable side of messaging: inserting messages (with their `accepted` receipt and thread counters) and
// moving them through their statuses (with a receipt per change), each through group commit and one statement
// per batch.

/** A message ready to store: everything but what storage assigns. */
export type MessageDraft = Omit<StoredMessage, "seq" | "status" | "deliveryAttempts" | "statusCode" | "statusDetail"> & {
  /** The payload as compact JSON when the draft already made it (measuring it): stored as it is, not encoded again. */
  payloadJson?: string;
  /**
   * Stored already delivered to this stream session (its first attempt, the lease taken, the delivered receipt
   * written beside the accepted one): a stream on this gateway that will push it as soon as it is stored.
   */
  claimedBy?: string;
};

export type WriteResult =
  /** `delivered`: the delivered receipt of a claimed draft. */
  | { outcome: "inserted"; message: StoredMessage; receipt: ReceiptRecord; delivered?: ReceiptRecord }
  /** The same sender already stored this message id or idempotency key: the original. */
  | { outcome: "duplicate"; message: StoredMessage }
  /** The message id belongs to another sender's message. */
  | { outcome: "conflict" };

export class MessageWriter {
  private readonly commit: GroupCommit<MessageDraft, WriteResult>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly leaseMs = DEFAULT_LEASE_MS,
    hooks?: FlushHooks<MessageDraft>,
  ) {
    this.commit = new GroupCommit((drafts) => this.flush(drafts), undefined, undefined, hooks);
  }

  write(draft: MessageDraft): Promise<WriteResult> {
    return this.commit.submit(draft);
  }

  private async flush(drafts: MessageDraft[]): Promise<WriteResult[]> {
    // Keep the first of any drafts in this batch sharing an id or (sender, idempotency key); the rest are
    // repeats of it and are answered after the insert, like repeats of earlier batches.
    const firsts: MessageDraft[] = [];
    const seen = new Set<string>();
    for (const d of drafts) {
      const keys = [`id:${d.messageId}`, ...(d.idempotencyKey ? [`idem:${d.fromAccountId}:${d.idempotencyKey}`] : [])];
      if (keys.some((k) => seen.has(k))) continue;
      for (const k of keys) seen.add(k);
      firsts.push(d);
    }
    // Recipients may read the blobs their messages reference: granted in the same transaction as the insert.
    const withBlobs = firsts.filter((d) => d.blobIds.length > 0);
    const inserted =
      withBlobs.length === 0
        ? await insertMessages(this.db, firsts, this.leaseMs)
        : await this.db.transaction().execute(async (trx) => {
            const rows = await insertMessages(trx, firsts, this.leaseMs);
            const grants = withBlobs
              .filter((d) => rows.has(d.messageId))
              .flatMap((d) => d.blobIds.map((blobId) => ({ blobId, accountId: d.toAccountId })));
            await grantBlobs(trx, grants);
            return rows;
          });
    const insertedDrafts = new Set(firsts.filter((d) => inserted.has(d.messageId)));
    // Repeats point at rows that are committed by now: a conflicting insert waits for the other transaction.
    const originals = await findOriginals(
      this.db,
      drafts.filter((d) => !insertedDrafts.has(d)),
    );
    return drafts.map((d): WriteResult => {
      const stored = insertedDrafts.has(d) ? inserted.get(d.messageId) : undefined;
      if (stored) {
        // The draft without its payload JSON and claim (not part of a stored message), plus what storage assigned.
        const { payloadJson: _json, claimedBy: _claim, ...fields } = d;
        const message: StoredMessage = {
          ...fields,
          seq: stored.seq,
          status: "accepted",
          deliveryAttempts: 0,
          statusCode: "",
          statusDetail: "",
        };
        const receipt: ReceiptRecord = {
          receiptId: stored.receiptId,
          messageId: d.messageId,
          senderAccountId: d.fromAccountId,
          recipientAccountId: d.toAccountId,
          status: "accepted",
          eventAt: d.sentAt,
          recipientSessionTag: "",
          threadId: d.threadId,
          traceId: d.traceId,
          code: "",
          detail: "",
          deliveryAttempt: 0,
        };
        if (d.claimedBy === undefined || stored.delivered === undefined) return { outcome: "inserted", message, receipt };
        const delivered: ReceiptRecord = {
          ...receipt,
          receiptId: stored.delivered.receiptId,
          status: "delivered",
          eventAt: stored.delivered.eventAt,
          recipientSessionTag: d.claimedBy,
          deliveryAttempt: 1,
        };
        return { outcome: "inserted", message, receipt, delivered };
      }
      const original = originals.find(
        (o) =>
          o.fromAccountId === d.fromAccountId &&
          (o.messageId === d.messageId || (d.idempotencyKey !== "" && o.idempotencyKey === d.idempotencyKey)),
      );
      return original ? { outcome: "duplicate", message: original } : { outcome: "conflict" };
    });
  }
}

/**
 * Inserts a batch of messages in one statement, which is its own transaction: the messages (those whose id or
 * idempotency key is new), their `accepted` receipts, their threads' counters (creating threads as needed)
 * and the threads' participants. One round trip instead of a transaction of six: under load the gateway's CPU
 * went to writing and awaiting statements. A claimed draft is stored delivered (first attempt, lease taken)
 * with its `delivered` receipt after the accepted one: nobody else can claim it, and its delivery costs no
 * UPDATE of its own.
 * Returns, per inserted message id, its storage seq, its receipt's id and a claimed one's delivered receipt.
 */
async function insertMessages(
  db: Kysely<Database>,
  drafts: MessageDraft[],
  leaseMs: number,
): Promise<Map<string, { seq: number; receiptId: number; delivered?: { receiptId: number; eventAt: Date } }>> {
  if (drafts.length === 0) return new Map();
  const { rows } = await sql<{
    message_id: string;
    seq: number;
    receipt_id: number;
    delivered_id: number | null;
    delivered_at: Date | null;
  }>`${sql.raw(PREPARED)}
    with v as (
      select * from jsonb_populate_recordset(null::messages, cast(${rowsJson(drafts)} as jsonb)) with ordinality as v(ord)
    ),
    ins as (
      insert into messages (message_id, thread_id, parent_message_id, trace_id, traceparent, kind, from_account_id, from_username,
                            from_agent_id, from_session_tag, to_target, to_account_id, to_username, payload,
                            payload_bytes, payload_chars, sent_at, ttl_ms, expires_at, schema_version,
                            idempotency_key, signature, blob_ids, status, delivery_attempts, status_session_tag,
                            lease_until, updated_at)
      select message_id, thread_id, parent_message_id, trace_id, traceparent, kind, from_account_id, from_username,
             from_agent_id, from_session_tag, to_target, to_account_id, to_username, payload,
             payload_bytes, payload_chars, sent_at, ttl_ms, expires_at, schema_version,
             idempotency_key, signature, blob_ids, status, case when status = 'delivered' then 1 else 0 end,
             status_session_tag,
             case when status = 'delivered' then now() + make_interval(secs => ${leaseMs / 1000}) end, sent_at
        from v order by ord
      on conflict do nothing
      returning seq, message_id, thread_id, trace_id, from_account_id, to_account_id, sent_at, payload_bytes,
                payload_chars, blob_ids, status, status_session_tag,
                case when payload->>'type' = 'checkpoint' then coalesce(payload->>'end', '') else '' end as checkpoint
    ),
    rec as (
      -- The accepted receipt of every message, then the delivered one of a claimed message: ids in that order.
      insert into receipts (message_id, sender_account_id, recipient_account_id, status, event_at,
                            recipient_session_tag, thread_id, trace_id, code, detail, delivery_attempt)
      select message_id, from_account_id, to_account_id, r.status, case when r.n = 1 then sent_at else greatest(now(), sent_at) end,
             case when r.n = 1 then '' else status_session_tag end, thread_id, trace_id, '', '', r.n - 1
        from ins cross join lateral (values (1, 'accepted'), (2, 'delivered')) as r(n, status)
       where r.n = 1 or ins.status = 'delivered'
       order by seq, r.n
      returning receipt_id, message_id, status, event_at
    ),
    thr as (
      -- One row per thread, in a fixed order: concurrent batches on several gateways take the same threads'
      -- locks in the same order and cannot deadlock.
      insert into threads (thread_id, created_at, last_message_at, last_message_id, message_count, byte_count,
                           char_count, latest_checkpoint_end)
      select thread_id, min(sent_at), max(sent_at), (array_agg(message_id order by seq desc))[1], count(*),
             sum(payload_bytes), sum(payload_chars),
             coalesce((array_agg(checkpoint order by seq desc) filter (where checkpoint <> ''))[1], '')
        from ins group by thread_id order by thread_id
      on conflict (thread_id) do update set
        message_count = threads.message_count + excluded.message_count,
        byte_count = threads.byte_count + excluded.byte_count,
        char_count = threads.char_count + excluded.char_count,
        last_message_at = greatest(threads.last_message_at, excluded.last_message_at),
        last_message_id = excluded.last_message_id,
        latest_checkpoint_end = case when excluded.latest_checkpoint_end <> '' then excluded.latest_checkpoint_end
                                     else threads.latest_checkpoint_end end
    ),
    par as (
      insert into thread_participants (thread_id, account_id)
      select distinct ins.thread_id, p.account_id
        from ins cross join lateral (values (ins.from_account_id), (ins.to_account_id)) as p(account_id)
       order by 1, 2
      on conflict do nothing
    )
    select ins.message_id, ins.seq, a.receipt_id, d.receipt_id as delivered_id, d.event_at as delivered_at
      from ins join rec a on a.message_id = ins.message_id and a.status = 'accepted'
      left join rec d on d.message_id = ins.message_id and d.status = 'delivered'`.execute(db);
  return new Map(
    rows.map((r) => [
      r.message_id,
      {
        seq: Number(r.seq),
        receiptId: Number(r.receipt_id),
        ...(r.delivered_id !== null &&
          r.delivered_at !== null && { delivered: { receiptId: Number(r.delivered_id), eventAt: r.delivered_at } }),
      },
    ]),
  );
}

/** The drafts as a JSON array of messages rows; each payload's JSON is spliced in as the draft made it. */
function rowsJson(drafts: MessageDraft[]): string {
  const parts = drafts.map((d) => {
    const row = JSON.stringify({
      message_id: d.messageId,
      thread_id: d.threadId,
      parent_message_id: d.parentMessageId,
      trace_id: d.traceId,
      traceparent: d.traceparent,
      kind: d.kind,
      from_account_id: d.fromAccountId,
      from_username: d.fromUsername,
      from_agent_id: d.fromAgentId,
      from_session_tag: d.fromSessionTag,
      to_target: target(d),
      to_account_id: d.toAccountId,
      to_username: d.toUsername,
      payload_bytes: d.payloadBytes,
      payload_chars: d.payloadChars,
      sent_at: d.sentAt,
      ttl_ms: d.ttlMs,
      expires_at: d.expiresAt,
      schema_version: d.schemaVersion,
      idempotency_key: d.idempotencyKey === "" ? null : d.idempotencyKey,
      signature: signatureJson(d),
      blob_ids: d.blobIds,
      status: d.claimedBy === undefined ? "accepted" : "delivered",
      status_session_tag: d.claimedBy ?? "",
    });
    return `${row.slice(0, -1)},"payload":${d.payloadJson ?? JSON.stringify(d.payload)}}`;
  });
  return `[${parts.join(",")}]`;
}

function target(d: MessageDraft): Record<string, string> {
  return {
    ...(d.to.accountId !== undefined && { account_id: d.to.accountId }),
    ...(d.to.username !== undefined && { username: d.to.username }),
    ...(d.to.capability !== undefined && { capability: d.to.capability }),
  };
}

function signatureJson(d: MessageDraft): { scheme: string; public_key: string; signature: string } | null {
  return (
    d.signature && {
      scheme: d.signature.scheme,
      public_key: Buffer.from(d.signature.publicKey).toString("base64"),
      signature: Buffer.from(d.signature.signature).toString("base64"),
    }
  );
}

/** Stored messages that a batch's repeats point at: by id, or by sender and idempotency key. */
async function findOriginals(db: Kysely<Database>, repeats: MessageDraft[]): Promise<StoredMessage[]> {
  if (repeats.length === 0) return [];
  const ids = [...new Set(repeats.map((d) => d.messageId))];
  const keyed = repeats.filter((d) => d.idempotencyKey !== "");
  const rows = await db
    .selectFrom("messages")
    .selectAll()
    .where((eb) =>
      eb.or([
        eb("message_id", "in", ids),
        ...keyed.map((d) => eb.and([eb("from_account_id", "=", d.fromAccountId), eb("idempotency_key", "=", d.idempotencyKey)])),
      ]),
    )
    .execute();
  return rows.map(toStoredMessage);
}

export function toReceiptRecord(r: Selectable<Database["receipts"]>): ReceiptRecord {
  return {
    receiptId: r.receipt_id,
    messageId: r.message_id,
    senderAccountId: r.sender_account_id,
    recipientAccountId: r.recipient_account_id,
    status: r.status,
    eventAt: r.event_at,
    recipientSessionTag: r.recipient_session_tag,
    threadId: r.thread_id,
    traceId: r.trace_id,
    code: r.code,
    detail: r.detail,
    deliveryAttempt: r.delivery_attempt,
  };
}

/** A requested status change of one message. */
export interface Transition {
  messageId: string;
  to: Exclude<MessageStatus, "accepted">;
  sessionTag: string;
  code: string;
  detail: string;
  /**
   * Make the change only if the message's recipient account belongs to this user (an Ack's caller); the
   * ownership check rides in the UPDATE instead of a read before it. Undefined: no such condition.
   */
  recipientOwner?: string | undefined;
  /** The trace context of the change (the Ack's or Reply's call, the delivery's span), for the flush's span. */
  traceparent?: string | undefined;
}

/** Where a message's delivery stands after a change: what its callers need, not the whole row. */
export interface MessageState {
  messageId: string;
  toAccountId: string;
  status: MessageStatus;
  deliveryAttempts: number;
  statusCode: string;
  statusDetail: string;
}

export interface TransitionResult {
  /** The message's state after the change; undefined when it was unknown. */
  message: MessageState | undefined;
  /** The receipt of the change; undefined when nothing changed (unknown, or already final). */
  receipt: ReceiptRecord | undefined;
}

/** How long a pushed, unacked message stays with its stream before it may be offered to another (the default). */
export const DEFAULT_LEASE_MS = 30_000;

/**
 * Moves messages to delivered (again), processed or rejected, in batches: one UPDATE … FROM unnest(…) with the
 * receipts' INSERT per phase of a batch. Final statuses never change again; `delivered` takes the lease (only when
 * no other stream holds one) and counts the attempt.
 */
export class StatusWriter {
  private readonly commit: GroupCommit<Transition, TransitionResult>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly leaseMs = DEFAULT_LEASE_MS,
    hooks?: FlushHooks<Transition>,
  ) {
    this.commit = new GroupCommit((items) => this.flush(items), 1000, undefined, hooks);
  }

  apply(transition: Transition): Promise<TransitionResult> {
    return this.commit.submit(transition);
  }

  /** A message's current state, or undefined when there is no such message. */
  async state(messageId: string): Promise<MessageState | undefined> {
    const row = await this.db.selectFrom("messages").select(STATE_COLUMNS).where("message_id", "=", messageId).executeTakeFirst();
    return row && toState(row);
  }

  private async flush(items: Transition[]): Promise<TransitionResult[]> {
    // Rounds of one statement each (its own transaction: the changes and their receipts in one round trip), each
    // changing a message at most once: its first delivery still to try, else its first final change. A delivery
    // that shares a batch with its message's ack so goes first, and the ack ends the message instead of being
    // overtaken by it. A change that changed nothing (e.g. from someone who does not own the recipient) gives the
    // next change of its kind a round, so it cannot block the owner's; one that changed something settles its
    // kind for that message. Usually one round: deliveries and acks of different messages share it.
    const kind = (t: Transition) => (t.to === "delivered" ? "delivered" : "final");
    const winners = new Set<Transition>();
    const latest = new Map<string, MessageState>();
    const receiptOf = new Map<Transition, ReceiptRecord>();
    let rest = items;
    while (rest.length > 0) {
      const round = new Map<string, Transition>();
      for (const t of rest) {
        const first = round.get(t.messageId);
        if (!first || (first.to !== "delivered" && t.to === "delivered")) round.set(t.messageId, t);
      }
      const settled = new Set<string>();
      for (const { state, receipt } of await updateStatuses(this.db, [...round.values()], this.leaseMs)) {
        const t = round.get(state.messageId)!;
        winners.add(t);
        receiptOf.set(t, receipt);
        latest.set(state.messageId, state);
        settled.add(`${kind(t)}:${t.messageId}`);
      }
      const tried = new Set(round.values());
      rest = rest.filter((t) => !tried.has(t) && !settled.has(`${kind(t)}:${t.messageId}`));
    }
    const unchangedIds = [...new Set(items.map((t) => t.messageId))].filter((id) => !latest.has(id));
    if (unchangedIds.length > 0) {
      const rows = await this.db.selectFrom("messages").select(STATE_COLUMNS).where("message_id", "in", unchangedIds).execute();
      for (const row of rows) latest.set(row.message_id, toState(row));
    }
    return items.map((t) => ({ message: latest.get(t.messageId), receipt: winners.has(t) ? receiptOf.get(t) : undefined }));
  }
}

const STATE_COLUMNS = ["message_id", "to_account_id", "status", "delivery_attempts", "status_code", "status_detail"] as const;

type StateRow = Pick<
  Selectable<MessagesTable>,
  "message_id" | "to_account_id" | "status" | "delivery_attempts" | "status_code" | "status_detail"
>;

function toState(row: StateRow): MessageState {
  return {
    messageId: row.message_id,
    toAccountId: row.to_account_id,
    status: row.status,
    deliveryAttempts: row.delivery_attempts,
    statusCode: row.status_code,
    statusDetail: row.status_detail,
  };
}

/**
 * One statement for a set of changes, each to a different message: UPDATE … FROM unnest(…) and the receipts of
 * the rows it changed. Returns the changed messages' states with their receipts.
 */
async function updateStatuses(
  db: Kysely<Database>,
  changes: Transition[],
  leaseMs: number,
): Promise<Array<{ state: MessageState; receipt: ReceiptRecord }>> {
  // Six array parameters, not six per row: the statement's text is the same for every batch size, so the pg
  // client binds six values instead of thousands and PostgreSQL parses one short statement.
  // Sorted by id: the plan walks the unnest in order and looks each message up by its key, so the rows are locked
  // in message_id order, as every multi-message change must (test/messaging/lock-order.test.ts). Not the explicit
  // ordered lock of releaseLeases: as an InitPlan in this prepared statement it cut delivered msg/s at 32 in
  // flight 2,688 → 561 (Python client) once the table held the bench's earlier messages.
  const sorted = [...changes].sort((a, b) => (a.messageId < b.messageId ? -1 : 1));
  const column = (pick: (t: Transition) => string | null) => sorted.map(pick);
  type Row = StateRow & {
    from_account_id: string;
    thread_id: string;
    trace_id: string;
    status_session_tag: string;
    receipt_id: number;
    event_at: Date;
  };
  const { rows } = await sql<Row>`${sql.raw(PREPARED)}
    with upd as (
      update messages as m set
        status = v.status,
        status_session_tag = v.session_tag,
        status_code = v.code,
        status_detail = v.detail,
        delivery_attempts = case when v.status = 'delivered' then m.delivery_attempts + 1 else m.delivery_attempts end,
        lease_until = case when v.status = 'delivered' then now() + make_interval(secs => ${leaseMs / 1000}) else null end,
        updated_at = now()
      from unnest(cast(${column((t) => t.messageId)} as text[]), cast(${column((t) => t.to)} as text[]),
                  cast(${column((t) => t.sessionTag)} as text[]), cast(${column((t) => t.code)} as text[]),
                  cast(${column((t) => t.detail)} as text[]), cast(${column((t) => t.recipientOwner ?? null)} as text[]))
             as v(message_id, status, session_tag, code, detail, owner)
      where m.message_id = v.message_id and m.status in ('accepted', 'delivered')
        and (v.owner is null or exists (select 1 from accounts a where a.account_id = m.to_account_id and a.owner_user_id = v.owner))
        -- A delivery claims the message only when nobody holds it: a live lease means another stream has it.
        and (v.status <> 'delivered' or m.status = 'accepted' or m.lease_until is null or m.lease_until <= now())
      returning m.message_id, m.status, m.delivery_attempts, m.status_code, m.status_detail, m.status_session_tag,
                m.from_account_id, m.to_account_id, m.thread_id, m.trace_id
    ),
    rec as (
      insert into receipts (message_id, sender_account_id, recipient_account_id, status, event_at,
                            recipient_session_tag, thread_id, trace_id, code, detail, delivery_attempt)
      select message_id, from_account_id, to_account_id, status, now(), status_session_tag, thread_id, trace_id,
             status_code, status_detail, case when status = 'delivered' then delivery_attempts else 0 end
        from upd order by message_id
      returning receipt_id, message_id, event_at
    )
    select upd.*, rec.receipt_id, rec.event_at from upd join rec using (message_id)`.execute(db);
  return rows.map((r) => ({
    state: toState(r),
    receipt: {
      receiptId: Number(r.receipt_id),
      messageId: r.message_id,
      senderAccountId: r.from_account_id,
      recipientAccountId: r.to_account_id,
      status: r.status,
      eventAt: r.event_at,
      recipientSessionTag: r.status_session_tag,
      threadId: r.thread_id,
      traceId: r.trace_id,
      code: r.status_code,
      detail: r.status_detail,
      deliveryAttempt: r.status === "delivered" ? r.delivery_attempts : 0,
    },
  }));
}
