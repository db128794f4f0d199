// One primitive for the server's pulled live streams (OBSERVE subscriptions, WatchReceipts, WatchPresence, session
// events, Health.Watch; a CONSUME Subscribe is pushed instead, see push-source.ts): producers push from bus
// callbacks, one reader pulls with `for await`. Modelled on nats.js v3's QueuedIterator. Each use picks, explicitly,
// what a full buffer does, because the right answer differs: a presence watcher that falls behind must resync (end
// it), a receipt watcher re-reads the store (start over), a health watcher only needs the newest status (keep the
// latest).
//
// Ownership: the stream owns at most one timer (the keepalive) and one abort listener on the caller's signal.
// Both go when the stream is over: the reader reached the end, the caller's signal aborted, or the owner called
// close()/return(). Its own signal is made only when someone asks for it: every open Subscribe holds a stream,
// and each AbortSignal costs half a kilobyte or more (two Maps, a Set) — an AbortSignal.any, as this used, three.

/** What `push` does when `limit` items are already waiting for the reader. */
export type Overflow =
  /** Keep the newest `limit`. With limit 1 the stream is a cell holding the latest value (a doorbell, a status). */
  | { policy: "drop-oldest" }
  /** Refuse the new item and tell `onDrop`: the reader catches up some other way (from the store). */
  | { policy: "drop-newest"; onDrop?: () => void }
  /** Throw everything buffered away, tell `onReset`, then keep the new item: the reader re-reads what it lost. */
  | { policy: "reset"; onReset?: () => void }
  /** End the stream at once with `error()`; what was buffered is dropped, the reader gets the error next. */
  | { policy: "fail"; error: () => unknown };

export interface Keepalive<T> {
  ms: number;
  /** The item handed to the reader in place of traffic. */
  item: () => T;
  /**
   * "idle" (default): one after `ms` in which the reader waited and nothing came. "interval": one is due `ms` after
   * the previous one (the first `ms` after the first read) however busy the stream is, handed out as soon as the
   * reader finds the buffer empty: for streams whose keepalive also does work, such as a periodic store check.
   */
  clock?: "idle" | "interval";
}

export interface LiveStreamOptions<T> {
  /** Ends the stream: the reader gets `done`, buffered items are dropped. */
  signal?: AbortSignal | undefined;
  /** Items that may wait for the reader; past that, `overflow` decides. */
  limit: number;
  overflow: Overflow;
  keepalive?: Keepalive<T>;
}

type Reader<T> = { resolve: (result: IteratorResult<T, undefined>) => void; reject: (error: unknown) => void };

const DONE: IteratorResult<never, undefined> = { done: true, value: undefined };

export class LiveStream<T> implements AsyncIterableIterator<T, undefined> {
  private readonly limit: number;
  private readonly overflow: Overflow;
  private readonly keepalive: Keepalive<T> | undefined;
  private readonly caller: AbortSignal | undefined;
  private over: AbortController | undefined;
  // A queue with a moving head: shift() on a 10 000-item array copies it every time.
  private items: T[] = [];
  private head = 0;
  private state: "open" | "ending" | "closed" = "open";
  private failure: { error: unknown } | undefined;
  private reader: Reader<T> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private keepaliveDueAt: number | undefined;
  private readonly onAbort = (): void => this.close();

  constructor(options: LiveStreamOptions<T>) {
    if (!(options.limit >= 1)) throw new RangeError(`a live stream needs room for at least one item, not ${options.limit}`);
    this.limit = options.limit;
    this.overflow = options.overflow;
    this.keepalive = options.keepalive;
    this.caller = options.signal;
    if (this.caller?.aborted) this.close();
    else this.caller?.addEventListener("abort", this.onAbort, { once: true });
  }

  /** Aborted once the stream is over, whichever way; for work the reader does on the stream's behalf. */
  get signal(): AbortSignal {
    if (!this.over) {
      this.over = new AbortController();
      if (this.state === "closed") this.over.abort();
    }
    return this.over.signal;
  }

  /** Items waiting for the reader. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** False once nothing more is accepted: ended, failed or closed. */
  get open(): boolean {
    return this.state === "open";
  }

  /** Offers one item; false when it was not kept (the stream is no longer open, or the overflow policy refused it). */
  push(item: T): boolean {
    if (this.state !== "open") return false;
    const reader = this.reader;
    if (reader) {
      // A waiting reader means an empty buffer: hand the item over directly.
      this.reader = undefined;
      this.clearTimer();
      reader.resolve({ done: false, value: item });
      return true;
    }
    if (this.size >= this.limit) {
      switch (this.overflow.policy) {
        case "drop-oldest":
          this.dropHead();
          break;
        case "drop-newest":
          this.overflow.onDrop?.();
          return false;
        case "reset":
          this.items = [];
          this.head = 0;
          this.overflow.onReset?.();
          // onReset may have ended the stream.
          if (this.state !== "open") return false;
          break;
        case "fail":
          this.items = [];
          this.head = 0;
          this.end(this.overflow.error());
          return false;
      }
    }
    this.items.push(item);
    return true;
  }

  /** Takes everything buffered at once, oldest first; for readers that reorder or batch what arrived. */
  drain(): T[] {
    const items = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return items;
  }

  /**
   * No more items: the reader gets what is buffered, then `done`, or `error` thrown when one is given. Does
   * nothing once the stream is no longer open.
   */
  end(...error: [] | [unknown]): void {
    if (this.state !== "open") return;
    this.state = "ending";
    if (error.length > 0) this.failure = { error: error[0] };
    const reader = this.reader;
    if (reader) {
      this.reader = undefined;
      this.settle(reader);
    }
  }

  /** Over now: buffered items are dropped, a waiting reader gets `done`, the timer and listener go. Idempotent. */
  close(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.items = [];
    this.head = 0;
    this.failure = undefined;
    this.clearTimer();
    this.caller?.removeEventListener("abort", this.onAbort);
    this.over?.abort();
    const reader = this.reader;
    this.reader = undefined;
    reader?.resolve(DONE);
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.reader) return Promise.reject(new Error("a live stream has one reader, reading one item at a time"));
    const keepalive = this.keepalive;
    if (keepalive?.clock === "interval") this.keepaliveDueAt ??= Date.now() + keepalive.ms;
    if (this.size > 0) {
      const item = this.items[this.head] as T;
      this.dropHead();
      return Promise.resolve({ done: false, value: item });
    }
    if (this.state !== "open") {
      return new Promise((resolve, reject) => this.settle({ resolve, reject }));
    }
    if (keepalive?.clock === "interval" && Date.now() >= (this.keepaliveDueAt ?? 0)) {
      return Promise.resolve({ done: false, value: this.beat(keepalive) });
    }
    return new Promise((resolve, reject) => {
      this.reader = { resolve, reject };
      if (!keepalive) return;
      const wait = keepalive.clock === "interval" ? Math.max(0, (this.keepaliveDueAt ?? 0) - Date.now()) : keepalive.ms;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        const reader = this.reader;
        if (!reader) return;
        this.reader = undefined;
        reader.resolve({ done: false, value: this.beat(keepalive) });
      }, wait);
    });
  }

  /** The reader stopped early (`break` in `for await`, or a generator's return): over now. */
  return(): Promise<IteratorResult<T, undefined>> {
    this.close();
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The end of an ended stream: the failure once, then done, and the stream is closed either way. */
  private settle(reader: Reader<T>): void {
    const failure = this.failure;
    this.close();
    if (failure) reader.reject(failure.error);
    else reader.resolve(DONE);
  }

  /**
   * Moves the head past one item, compacting once the dead part outweighs the live one: amortised O(1), and the
   * array stays bounded even when drop-oldest runs for a reader that never reads.
   */
  private dropHead(): void {
    this.head++;
    if (this.head >= 64 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  private beat(keepalive: Keepalive<T>): T {
    if (keepalive.clock === "interval") this.keepaliveDueAt = Date.now() + keepalive.ms;
    return keepalive.item();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
