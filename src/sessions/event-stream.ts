import type { Kysely } from "kysely";
import type { Bus } from "../bus/index.js";
import type { Database } from "../store/schema.js";
import { LiveStream } from "../streams/index.js";
import { decodeSessionEvent, sessionSubject } from "../wire/index.js";
import { type SessionEventRecord, toEventRecord } from "./records.js";

// One viewer's view of a session: every event after `afterSeq` exactly once, in sequence order, ending with the
// `stop` event. Live events come from the bus, which may reorder events stored by different gateways and may
// lose some (at-most-once), so the bus is only a fast path: events are emitted strictly in seq order, and any
// gap is filled from the store, where everything is (events are published after their transaction commits, and
// a committed event implies every earlier one is committed). At each ping the store is checked as well, so a
// lost event is late by at most one ping interval, and a viewer too slow for the live flow catches up from the
// store instead of buffering without bound.

const PAGE = 500;
const MAX_LIVE_BACKLOG = 10_000;

export type StreamItem = SessionEventRecord | { type: "ping"; at: Date };

export interface StreamOptions {
  db: Kysely<Database>;
  bus: Bus;
  sessionId: string;
  afterSeq: number;
  pingIntervalMs: number;
  /** True when the session had already ended (stopped or expired) when the stream was asked for. */
  ended: boolean;
  signal: AbortSignal;
}

export async function* sessionEvents(options: StreamOptions): AsyncGenerator<StreamItem> {
  const { db, bus, sessionId, signal } = options;
  let overflowed = false;
  const incoming = new LiveStream<StreamItem>({
    signal,
    limit: MAX_LIVE_BACKLOG,
    // Everything is in the store: a viewer too slow for the live flow catches up from there.
    overflow: { policy: "drop-newest", onDrop: () => (overflowed = true) },
    // Pings are periodic, busy or not, because each one is also the store check that finds lost events.
    keepalive: { ms: options.pingIntervalMs, clock: "interval", item: () => ({ type: "ping", at: new Date() }) },
  });
  const subscription = bus.subscribe(sessionSubject(sessionId), (msg) => {
    const event = decodeSessionEvent(msg.data);
    if (event) incoming.push(event);
  });
  /** Live events taken from `incoming`, put in seq order before use; what is left after a gap waits here. */
  let live: SessionEventRecord[] = [];
  let last = options.afterSeq;
  try {
    // Subscribed (and, on NATS, known to the server) before reading the store, so nothing falls between.
    await bus.flush();
    let stopped = false;
    const fromStore = async function* (): AsyncGenerator<SessionEventRecord> {
      for (;;) {
        const rows = await db
          .selectFrom("chat_session_events")
          .selectAll()
          .where("session_id", "=", sessionId)
          .where("seq", ">", last)
          .orderBy("seq")
          .limit(PAGE)
          .execute();
        for (const row of rows) {
          const event = toEventRecord(row);
          last = event.seq;
          yield event;
          if (event.type === "stop") {
            stopped = true;
            return;
          }
        }
        if (rows.length < PAGE) return;
      }
    };

    yield* fromStore();
    // An ended session has nothing more to say once its stored events (up to `stop`) are out.
    if (stopped || options.ended) return;

    let readStore = false;
    while (!signal.aborted) {
      if (overflowed) {
        overflowed = false;
        live = [];
        incoming.drain();
        readStore = true;
      }
      // What arrived meanwhile joins the events held back here, so they are sorted and gap-checked as one lot.
      for (const item of incoming.drain()) if (isEvent(item)) live.push(item);
      if (readStore) {
        readStore = false;
        const before = last;
        yield* fromStore();
        if (stopped) return;
        // Events on the bus that the store no longer has belong to a session deleted meanwhile: take them as they
        // are rather than wait for a gap that will never fill.
        if (last === before && live.length > 0) {
          live.sort((a, b) => a.seq - b.seq);
          const next = live.find((e) => e.seq > last);
          if (next) last = next.seq - 1;
        }
        continue;
      }
      if (live.length > 0) {
        live.sort((a, b) => a.seq - b.seq);
        while (live.length > 0) {
          const event = live[0]!;
          if (event.seq <= last) {
            live.shift();
            continue;
          }
          if (event.seq !== last + 1) {
            readStore = true;
            break;
          }
          live.shift();
          last = event.seq;
          yield event;
          if (event.type === "stop") return;
        }
        continue;
      }
      const next = await incoming.next();
      if (next.done) return;
      if (next.value.type === "ping") {
        yield next.value;
        // The safety net: anything the bus lost is in the store; a session deleted meanwhile ends the stream.
        const exists = await db.selectFrom("chat_sessions").select("status").where("session_id", "=", sessionId).executeTakeFirst();
        if (!exists) return;
        readStore = true;
        continue;
      }
      live.push(next.value);
    }
  } finally {
    incoming.close();
    subscription.unsubscribe();
  }
}

/** Pings are handed to the reader, never buffered; this only tells the compiler so. */
function isEvent(item: StreamItem): item is SessionEventRecord {
  return item.type !== "ping";
}
