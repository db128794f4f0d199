import { type Insertable, type Kysely, type Selectable, type Transaction, sql } from "kysely";
import { grantBlobs } from "../blobs/index.js";
import type { Database } from "../store/schema.js";
import { GroupCommit } from "../store/group-commit.js";
import type { ReceiptRecord } from "../wire/index.js";
import { type StoredMessage, toStoredMessage } from "./message.js";
import type { MessagesTable, MessageStatus } from "./tables.js";

// The durable side of messaging: inserting messages (with their `accepted` receipt and thread counters) and
// moving them through their statuses (with a receipt per change), each through group commit.

/** A message ready to store: everything but what storage assigns. */
export type MessageDraft = Omit<StoredMessage, "seq" | "status" | "deliveryAttempts" | "statusCode" | "statusDetail"> & {
  /** The payload as compact JSON when the draft already made it (measuring it): stored as it is, not encoded again. */
  payloadJson?: string;
};

export type WriteResult =
  | { outcome: "inserted"; message: StoredMessage; receipt: ReceiptRecord }
  /** The same sender already stored this message id or idempotency key: the original. */
  | { outcome: "duplicate"; message: StoredMessage }
  /** The message id belongs to another sender's message. */
  | { outcome: "conflict" };

export class MessageWriter {
  private readonly commit: GroupCommit<MessageDraft, WriteResult>;

  constructor(private readonly db: Kysely<Database>) {
    this.commit = new GroupCommit((drafts) => this.flush(drafts));
  }

  write(draft: MessageDraft): Promise<WriteResult> {
    return this.commit.submit(draft);
  }

  private flush(drafts: MessageDraft[]): Promise<WriteResult[]> {
    return this.db.transaction().execute(async (trx) => {
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
      const inserted = await trx
        .insertInto("messages")
        .values(firsts.map(toRow))
        .onConflict((oc) => oc.doNothing())
        .returningAll()
        .execute();
      const insertedById = new Map(inserted.map((r) => [r.message_id, toStoredMessage(r)]));
      const receipts = await insertReceipts(
        trx,
        inserted.map((r) => ({ row: r, status: "accepted" as const, sessionTag: "", code: "", detail: "", attempt: 0 })),
      );
      const receiptById = new Map(receipts.map((r) => [r.messageId, r]));
      await updateThreads(trx, [...insertedById.values()]);
      // Recipients may read the blobs their messages reference.
      await grantBlobs(
        trx,
        [...insertedById.values()].flatMap((m) => m.blobIds.map((blobId) => ({ blobId, accountId: m.toAccountId }))),
      );

      const insertedDrafts = new Set(firsts.filter((d) => insertedById.has(d.messageId)));
      const originals = await findOriginals(
        trx,
        drafts.filter((d) => !insertedDrafts.has(d)),
      );
      return drafts.map((d): WriteResult => {
        if (insertedDrafts.has(d)) {
          return { outcome: "inserted", message: insertedById.get(d.messageId)!, receipt: receiptById.get(d.messageId)! };
        }
        const original = originals.find(
          (o) =>
            o.fromAccountId === d.fromAccountId &&
            (o.messageId === d.messageId || (d.idempotencyKey !== "" && o.idempotencyKey === d.idempotencyKey)),
        );
        return original ? { outcome: "duplicate", message: original } : { outcome: "conflict" };
      });
    });
  }
}

/** Stored messages that a batch's repeats point at: by id, or by sender and idempotency key. */
async function findOriginals(trx: Transaction<Database>, repeats: MessageDraft[]): Promise<StoredMessage[]> {
  if (repeats.length === 0) return [];
  const ids = [...new Set(repeats.map((d) => d.messageId))];
  const keyed = repeats.filter((d) => d.idempotencyKey !== "");
  const rows = await trx
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

function toRow(d: MessageDraft): Insertable<MessagesTable> {
  return {
    message_id: d.messageId,
    thread_id: d.threadId,
    parent_message_id: d.parentMessageId,
    trace_id: d.traceId,
    kind: d.kind,
    from_account_id: d.fromAccountId,
    from_username: d.fromUsername,
    from_agent_id: d.fromAgentId,
    from_session_tag: d.fromSessionTag,
    to_target: JSON.stringify({
      ...(d.to.accountId !== undefined && { account_id: d.to.accountId }),
      ...(d.to.username !== undefined && { username: d.to.username }),
      ...(d.to.capability !== undefined && { capability: d.to.capability }),
    }),
    to_account_id: d.toAccountId,
    to_username: d.toUsername,
    payload: d.payloadJson ?? JSON.stringify(d.payload),
    payload_bytes: d.payloadBytes,
    payload_chars: d.payloadChars,
    sent_at: d.sentAt,
    ttl_ms: d.ttlMs,
    expires_at: d.expiresAt,
    schema_version: d.schemaVersion,
    idempotency_key: d.idempotencyKey === "" ? null : d.idempotencyKey,
    signature:
      d.signature &&
      JSON.stringify({
        scheme: d.signature.scheme,
        public_key: Buffer.from(d.signature.publicKey).toString("base64"),
        signature: Buffer.from(d.signature.signature).toString("base64"),
      }),
    blob_ids: d.blobIds,
    status: "accepted",
    status_session_tag: "",
    status_code: "",
    status_detail: "",
    lease_until: null,
    updated_at: d.sentAt,
  };
}

/** Adds the batch's messages to their threads' counters and participants, creating threads as needed. */
async function updateThreads(trx: Transaction<Database>, messages: StoredMessage[]): Promise<void> {
  if (messages.length === 0) return;
  const threads = new Map<
    string,
    { created: Date; last: StoredMessage; count: number; bytes: number; chars: number; checkpoint: string; participants: Set<string> }
  >();
  for (const m of messages) {
    const t = threads.get(m.threadId) ?? {
      created: m.sentAt,
      last: m,
      count: 0,
      bytes: 0,
      chars: 0,
      checkpoint: "",
      participants: new Set<string>(),
    };
    t.count += 1;
    t.bytes += m.payloadBytes;
    t.chars += m.payloadChars;
    if (m.seq >= t.last.seq) t.last = m;
    if (m.payload["type"] === "checkpoint" && m.payload["end"] !== undefined) t.checkpoint = String(m.payload["end"]);
    t.participants.add(m.fromAccountId).add(m.toAccountId);
    threads.set(m.threadId, t);
  }
  // A fixed order keeps concurrent batches on several gateways from deadlocking on the same threads.
  const ordered = [...threads.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  await trx
    .insertInto("threads")
    .values(
      ordered.map(([threadId, t]) => ({
        thread_id: threadId,
        created_at: t.created,
        last_message_at: t.last.sentAt,
        last_message_id: t.last.messageId,
        message_count: t.count,
        byte_count: t.bytes,
        char_count: t.chars,
        latest_checkpoint_end: t.checkpoint,
      })),
    )
    .onConflict((oc) =>
      oc.column("thread_id").doUpdateSet({
        message_count: sql`threads.message_count + excluded.message_count`,
        byte_count: sql`threads.byte_count + excluded.byte_count`,
        char_count: sql`threads.char_count + excluded.char_count`,
        last_message_at: sql`greatest(threads.last_message_at, excluded.last_message_at)`,
        last_message_id: sql`excluded.last_message_id`,
        latest_checkpoint_end: sql`case when excluded.latest_checkpoint_end <> '' then excluded.latest_checkpoint_end
                                        else threads.latest_checkpoint_end end`,
      }),
    )
    .execute();
  const participants = ordered.flatMap(([threadId, t]) =>
    [...t.participants].sort().map((accountId) => ({ thread_id: threadId, account_id: accountId })),
  );
  await trx
    .insertInto("thread_participants")
    .values(participants)
    .onConflict((oc) => oc.doNothing())
    .execute();
}

interface ReceiptDraft {
  row: Selectable<MessagesTable>;
  status: MessageStatus;
  sessionTag: string;
  code: string;
  detail: string;
  attempt: number;
}

/** Stores one receipt per status change; returns them with their ids (the resume cursors). */
export async function insertReceipts(trx: Transaction<Database>, drafts: ReceiptDraft[]): Promise<ReceiptRecord[]> {
  if (drafts.length === 0) return [];
  const now = new Date();
  const rows = await trx
    .insertInto("receipts")
    .values(
      drafts.map((d) => ({
        message_id: d.row.message_id,
        sender_account_id: d.row.from_account_id,
        recipient_account_id: d.row.to_account_id,
        status: d.status,
        event_at: d.status === "accepted" ? d.row.sent_at : now,
        recipient_session_tag: d.sessionTag,
        thread_id: d.row.thread_id,
        trace_id: d.row.trace_id,
        code: d.code,
        detail: d.detail,
        delivery_attempt: d.attempt,
      })),
    )
    .returningAll()
    .execute();
  return rows.map(toReceiptRecord);
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
}

export interface TransitionResult {
  /** The message after the change; undefined when it was unknown. */
  message: StoredMessage | undefined;
  /** The receipt of the change; undefined when nothing changed (unknown, or already final). */
  receipt: ReceiptRecord | undefined;
}

/** How long a pushed, unacked message stays with its stream before it may be offered to another (the default). */
export const DEFAULT_LEASE_MS = 30_000;

/**
 * Moves messages to delivered (again), processed, rejected or expired, in batches: one UPDATE … FROM (VALUES …)
 * plus one receipts INSERT per batch. Final statuses never change again; `delivered` takes the lease (only when
 * no other stream holds one) and counts the attempt.
 */
export class StatusWriter {
  private readonly commit: GroupCommit<Transition, TransitionResult>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly leaseMs = DEFAULT_LEASE_MS,
  ) {
    this.commit = new GroupCommit((items) => this.flush(items), 1000);
  }

  apply(transition: Transition): Promise<TransitionResult> {
    return this.commit.submit(transition);
  }

  private flush(items: Transition[]): Promise<TransitionResult[]> {
    return this.db.transaction().execute(async (trx) => {
      // Deliveries first, then final outcomes: an ack that shares a batch with its message's delivery record
      // must end the message, not be overtaken by it. Within a phase the first change of a message wins.
      const phases = [items.filter((t) => t.to === "delivered"), items.filter((t) => t.to !== "delivered")];
      const winners = new Set<Transition>();
      const latest = new Map<string, StoredMessage>();
      const receiptOf = new Map<Transition, ReceiptRecord>();
      for (const phase of phases) {
        const firsts = new Map<string, Transition>();
        for (const t of phase) if (!firsts.has(t.messageId)) firsts.set(t.messageId, t);
        if (firsts.size === 0) continue;
        const rows = await updateStatuses(trx, [...firsts.values()], this.leaseMs);
        const receipts = await insertReceipts(
          trx,
          rows.map((row) => ({
            row,
            status: row.status,
            sessionTag: row.status_session_tag,
            code: row.status_code,
            detail: row.status_detail,
            attempt: row.status === "delivered" ? row.delivery_attempts : 0,
          })),
        );
        const byMessage = new Map(receipts.map((r) => [r.messageId, r]));
        for (const row of rows) {
          const t = firsts.get(row.message_id)!;
          winners.add(t);
          receiptOf.set(t, byMessage.get(row.message_id)!);
          latest.set(row.message_id, toStoredMessage(row));
        }
      }
      const unchangedIds = [...new Set(items.map((t) => t.messageId))].filter((id) => !latest.has(id));
      if (unchangedIds.length > 0) {
        for (const row of await trx.selectFrom("messages").selectAll().where("message_id", "in", unchangedIds).execute()) {
          latest.set(row.message_id, toStoredMessage(row));
        }
      }
      return items.map((t) => ({ message: latest.get(t.messageId), receipt: winners.has(t) ? receiptOf.get(t) : undefined }));
    });
  }
}

/** One UPDATE … FROM (VALUES …) for a set of changes, each to a different message; returns the changed rows. */
async function updateStatuses(trx: Transaction<Database>, changes: Transition[], leaseMs: number): Promise<Selectable<MessagesTable>[]> {
  const values = sql.join(
    [...changes]
      .sort((a, b) => (a.messageId < b.messageId ? -1 : 1))
      .map((t) => sql`(${t.messageId}, ${t.to}, ${t.sessionTag}, ${t.code}, ${t.detail})`),
  );
  const { rows } = await sql<Selectable<MessagesTable>>`
    update messages as m set
      status = v.status,
      status_session_tag = v.session_tag,
      status_code = v.code,
      status_detail = v.detail,
      delivery_attempts = case when v.status = 'delivered' then m.delivery_attempts + 1 else m.delivery_attempts end,
      lease_until = case when v.status = 'delivered' then now() + make_interval(secs => ${leaseMs / 1000}) else null end,
      updated_at = now()
    from (values ${values}) as v(message_id, status, session_tag, code, detail)
    where m.message_id = v.message_id and m.status in ('accepted', 'delivered')
      -- A delivery claims the message only when nobody holds it: a live lease means another stream has it.
      and (v.status <> 'delivered' or m.status = 'accepted' or m.lease_until is null or m.lease_until <= now())
    returning m.*`.execute(trx);
  return rows;
}
