import type { Kysely } from "kysely";
import type { Bus } from "../bus/index.js";
import type { Database } from "../store/schema.js";
import { LiveStream } from "../streams/index.js";
import {
  ALL_RECEIPTS,
  decodeMessage,
  decodeReceipt,
  observeSubject,
  type ReceiptRecord,
  receiptsOfPair,
  receiptsOfSender,
} from "../wire/index.js";
import type { StoredMessage } from "./message.js";
import { toReceiptRecord } from "./writer.js";

// Watching traffic without taking part in it: receipts for senders (WatchReceipts) and copies of accepted messages
// for operators (Subscribe in OBSERVE mode). Both read the bus, so they see what every gateway does.

export type ReceiptStreamItem = { type: "receipt"; receipt: ReceiptRecord } | { type: "synced"; replayed: number } | { type: "keepalive" };

const KEEPALIVE_MS = 30_000;
/** Items a watcher may fall behind the bus by; past that, receipts are re-read from the store, copies dropped. */
const MAX_BUFFERED = 10_000;

export class TrafficWatch {
  constructor(private readonly deps: { db: Kysely<Database>; bus: Bus }) {}

  /** Copies of messages accepted for the given accounts (every account when undefined), until `signal` aborts. */
  async *observe(accountIds: string[] | undefined, signal: AbortSignal): AsyncGenerator<StoredMessage | "keepalive"> {
    const subjects = accountIds === undefined ? [observeSubject("*")] : accountIds.map(observeSubject);
    // OBSERVE copies are best effort (nothing to replay them from): a watcher too slow for the traffic misses some.
    yield* streamFromBus(
      this.deps.bus,
      subjects,
      (data) => decodeMessage(data),
      signal,
      () => undefined,
    );
  }

  /**
   * Receipts of what `senderAccountId` sends to `recipientAccountId` as the bus carries them: live only, best effort,
   * no store read (for wake-ups of readers whose truth is the store).
   */
  async *liveReceipts(
    senderAccountId: string,
    recipientAccountId: string,
    signal: AbortSignal,
  ): AsyncGenerator<ReceiptRecord | "keepalive"> {
    yield* streamFromBus(this.deps.bus, [receiptsOfPair(senderAccountId, recipientAccountId)], decodeReceipt, signal, () => undefined);
  }

  /**
   * Receipts of messages sent by the given accounts (every account when undefined): stored ones after `after`
   * (a receipt id) or from `since`, then `synced`, then live ones. Keepalives after 30 s of silence. Receipts the
   * bus lost while it was disconnected are read from the store once it is back, so a watcher misses none.
   */
  async *watchReceipts(
    accountIds: string[] | undefined,
    from: { afterReceiptId?: number | undefined; since?: Date | undefined; messageIds: string[] },
    signal: AbortSignal,
  ): AsyncGenerator<ReceiptStreamItem> {
    const subjects = accountIds === undefined ? [ALL_RECEIPTS] : accountIds.map(receiptsOfSender);
    const wanted = from.messageIds.length > 0 ? new Set(from.messageIds) : undefined;
    // Bus outages: the newest receipt seen when the bus went away is where the re-read starts once it is back.
    let newest = 0;
    let gapFrom: number | undefined;
    let live = false;
    let gapBeforeLive = false;
    let replayDue = false;
    let poke: () => void = () => undefined;
    const stopListening = this.deps.bus.onConnectionChange((event) => {
      if (event === "disconnected") {
        if (live) gapFrom ??= newest;
        else gapBeforeLive = true;
      } else {
        replayDue = true;
        poke();
      }
    });
    try {
      // A watcher that falls too far behind is treated like one that missed a bus outage: re-read from the store.
      const fromBus = streamFromBus(this.deps.bus, subjects, decodeReceipt, signal, () => {
        gapFrom ??= newest;
        replayDue = true;
        poke();
      });
      // Start listening before reading the store so nothing falls between the replay and the live stream.
      const first = fromBus.next();
      let last = from.afterReceiptId ?? 0;
      let replayed = 0;
      if (from.afterReceiptId !== undefined || from.since !== undefined) {
        const since = from.afterReceiptId === undefined ? from.since : undefined;
        for await (const receipt of this.storedReceipts(accountIds, wanted, last, since)) {
          last = receipt.receiptId;
          replayed += 1;
          yield { type: "receipt", receipt };
        }
      } else {
        const max = await this.deps.db
          .selectFrom("receipts")
          .select((eb) => eb.fn.max("receipt_id").as("max"))
          .executeTakeFirst();
        last = Number(max?.max ?? 0);
      }
      newest = last;
      live = true;
      if (gapBeforeLive) gapFrom = last;
      yield { type: "synced", replayed };
      // Ids sent since the gap began, so the re-read does not repeat them.
      const sentSinceGap = new Set<number>();
      let next = first;
      for (;;) {
        if (replayDue) {
          replayDue = false;
          const after = gapFrom ?? newest;
          gapFrom = undefined;
          for await (const receipt of this.storedReceipts(accountIds, wanted, after)) {
            if (sentSinceGap.has(receipt.receiptId)) continue;
            newest = Math.max(newest, receipt.receiptId);
            yield { type: "receipt", receipt };
          }
          sentSinceGap.clear();
        }
        const item = await Promise.race([next, new Promise<"replay">((resolve) => (poke = () => resolve("replay")))]);
        if (item === "replay") continue;
        if (item.done) return;
        next = fromBus.next();
        if (item.value === "keepalive") {
          yield { type: "keepalive" };
          continue;
        }
        if (item.value.receiptId <= last || (wanted && !wanted.has(item.value.messageId))) continue;
        newest = Math.max(newest, item.value.receiptId);
        if (gapFrom !== undefined) sentSinceGap.add(item.value.receiptId);
        yield { type: "receipt", receipt: item.value };
      }
    } finally {
      stopListening();
    }
  }

  /** Stored receipts after a receipt id (and from a time), oldest first, in pages. */
  private async *storedReceipts(accountIds: string[] | undefined, wanted: Set<string> | undefined, after: number, since?: Date) {
    let last = after;
    for (;;) {
      let query = this.deps.db.selectFrom("receipts").selectAll().where("receipt_id", ">", last).orderBy("receipt_id").limit(500);
      if (accountIds !== undefined) query = query.where("sender_account_id", "in", accountIds);
      if (since !== undefined) query = query.where("event_at", ">=", since);
      if (wanted) query = query.where("message_id", "in", [...wanted]);
      const rows = await query.execute();
      for (const row of rows) {
        last = row.receipt_id;
        yield toReceiptRecord(row);
      }
      if (rows.length < 500) return;
    }
  }
}

/**
 * Decoded messages from bus subjects as an async stream, with keepalives after 30 s of silence. At most
 * MAX_BUFFERED wait for a slow reader; past that the buffer is dropped and `overflowed` says so.
 */
async function* streamFromBus<T>(
  bus: Bus,
  subjects: string[],
  decode: (data: Uint8Array) => T,
  signal: AbortSignal,
  overflowed: () => void,
): AsyncGenerator<T | "keepalive"> {
  const stream = new LiveStream<T | "keepalive">({
    signal,
    limit: MAX_BUFFERED,
    overflow: { policy: "reset", onReset: overflowed },
    keepalive: { ms: KEEPALIVE_MS, item: () => "keepalive" },
  });
  // Subscribed on the first next(), before its first await: watchReceipts relies on that to miss nothing.
  const subs = subjects.map((s) =>
    bus.subscribe(s, (msg) => {
      stream.push(decode(msg.data));
    }),
  );
  try {
    yield* stream;
  } finally {
    stream.close();
    for (const s of subs) s.unsubscribe();
  }
}
