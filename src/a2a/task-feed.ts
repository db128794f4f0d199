import type { Kysely } from "kysely";
import type { Principal } from "../auth/index.js";
import { type Messaging, type StoredMessage, requestProgress } from "../messaging/index.js";
import type { Database } from "../store/schema.js";
import type { StreamEvent } from "./model.js";
import { canceledAt } from "./task-store.js";
import type { TaskView } from "./task-view.js";

// A task's updates as they happen. The store is the truth: each wake-up re-reads the request and its new answers
// and folds them into the view, so a stream shows the same events on any gateway, after any restart, and misses
// nothing a wake-up missed. Wake-ups come from the bus (a copy of every message to the caller's account, the
// request's receipts), from a cancellation on this gateway, and from a slow poll that covers a bus outage.

/**
 * The poll under the wake-ups: an update the bus did not announce shows within POLL_MS while the task moves, and
 * within MAX_POLL_MS once it has been quiet a while (a blocking call to an offline agent costs a read per 8 s).
 */
const POLL_MS = 1000;
const MAX_POLL_MS = 8000;
/** Why a feed's listeners stop (a plain value: an abort without one builds a DOMException and its stack each time). */
const FOLLOWED = Symbol("feed ended");

export class TaskFeed {
  private readonly pokes = new Map<string, Set<() => void>>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly messaging: Messaging,
  ) {}

  /** Wakes the feeds of `taskId` on this gateway (a cancellation). */
  poke(taskId: string): void {
    for (const wake of this.pokes.get(taskId) ?? []) wake();
  }

  /**
   * The events of `view`'s task after its position, until it ends or `signal` aborts. The caller's answers are
   * acked as they are shown (the bridge is their consumer), so they neither wait in its inbox nor expire there.
   */
  async *follow(view: TaskView, principal: Principal, signal: AbortSignal): AsyncGenerator<StreamEvent> {
    const { record } = view;
    const stop = new AbortController();
    const done = AbortSignal.any([signal, stop.signal]);
    let wake: () => void = () => undefined;
    let woken = false;
    // A wake-up other than the bus's (the poll, a cancellation here) may mean a cancellation: re-read it then.
    let maybeCanceled = !view.fresh;
    const poke = () => {
      woken = true;
      maybeCanceled = true;
      wake();
    };
    const busPoke = () => {
      woken = true;
      wake();
    };
    const waiters = this.pokes.get(record.taskId) ?? new Set();
    waiters.add(poke);
    this.pokes.set(record.taskId, waiters);
    const copies = this.wakeOn(this.messaging.observe([record.senderAccountId], done), (m) =>
      m === "keepalive" ? false : m.parentMessageId === record.requestMessageId,
    );
    const receipts = this.wakeOn(
      this.messaging.liveReceipts(record.senderAccountId, record.agentAccountId, done),
      (r) => r !== "keepalive" && r.messageId === record.requestMessageId,
    );
    // The reply comes straight here when it is stored (it is then processed on arrival, not left in the inbox).
    const stopTaking = this.messaging.takeReplies(record.requestMessageId, busPoke);
    const listeners = [copies(busPoke), receipts(busPoke)];
    let pollMs = POLL_MS;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => wake();
    done.addEventListener("abort", onAbort);
    try {
      while (!done.aborted) {
        woken = false;
        if (maybeCanceled && !record.canceledAt) record.canceledAt = await canceledAt(this.db, record.taskId);
        maybeCanceled = false;
        const progress = await requestProgress(this.db, record.threadId, record.requestMessageId, view.position);
        if (progress) {
          const events = view.fold(progress);
          this.consume(principal, view, progress.answers);
          pollMs = events.length > 0 ? POLL_MS : Math.min(pollMs * 2, MAX_POLL_MS);
          for (const event of events) yield event;
        }
        if (view.terminal) return;
        clearTimeout(timer);
        timer = setTimeout(poke, pollMs);
        if (!woken && !done.aborted) await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      clearTimeout(timer);
      done.removeEventListener("abort", onAbort);
      stopTaking();
      stop.abort(FOLLOWED);
      waiters.delete(poke);
      if (waiters.size === 0) this.pokes.delete(record.taskId);
      await Promise.allSettled(listeners);
    }
  }

  /** Reads `items` in the background, calling the wake-up for each one that matters. */
  private wakeOn<T>(items: AsyncGenerator<T>, matters: (item: T) => boolean) {
    return async (poke: () => void): Promise<void> => {
      try {
        for await (const item of items) if (matters(item)) poke();
      } catch {
        // The bus went away or the stream ended: the poll carries on.
      }
    };
  }

  /**
   * Acks the answers of the owner's task still waiting in the inbox of the account that asked (stream parts, and a
   * reply nobody took as it arrived): the bridge has shown them. In the background; an answer left unacked is
   * shown all the same.
   */
  consume(principal: Principal, view: TaskView, answers: StoredMessage[]): void {
    if (principal.userId !== view.record.ownerUserId) return;
    const waiting = answers.filter(
      (a) => a.toAccountId === view.record.senderAccountId && (a.status === "accepted" || a.status === "delivered"),
    );
    if (waiting.length > 0)
      void this.ack(
        principal,
        waiting.map((a) => a.messageId),
      );
  }

  private async ack(principal: Principal, messageIds: string[]): Promise<void> {
    try {
      await this.messaging.ack(
        principal,
        messageIds.map((messageId) => ({ messageId, outcome: "processed", code: "", detail: "" })),
        "",
      );
    } catch {
      // Best effort: an answer left unacked is shown all the same, and expires in the inbox as any other.
    }
  }
}
