import { getEventListeners } from "node:events";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LiveStream, type LiveStreamOptions } from "../../src/streams/index.js";

// The live-stream primitive on its own. Time is vitest's fake clock throughout, so nothing here depends on how
// fast the machine is: a keepalive "after 1 s" fires when the test moves the clock, never by itself.

const KEEPALIVE = "keepalive" as const;

type Item = number | string;

function stream(options: Partial<LiveStreamOptions<Item>> = {}): LiveStream<Item> {
  return new LiveStream<Item>({ limit: 100, overflow: { policy: "drop-newest" }, ...options });
}

/** Whether a promise has settled, after letting every queued microtask run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await vi.advanceTimersByTimeAsync(0);
  return done;
}

async function readAll<T>(s: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of s) out.push(item);
  return out;
}

/** Nothing of the stream's is left behind: no timer, no abort listener, on its signal or the caller's. */
function expectCleanedUp(s: { signal: AbortSignal }, caller?: AbortSignal): void {
  expect(vi.getTimerCount()).toBe(0);
  expect(s.signal.aborted).toBe(true);
  expect(getEventListeners(s.signal, "abort")).toHaveLength(0);
  if (caller) expect(getEventListeners(caller, "abort")).toHaveLength(0);
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("LiveStream", () => {
  it("hands items out in the order they were pushed, buffered or to a waiting reader", async () => {
    const s = stream();
    s.push(1);
    s.push(2);
    expect(await s.next()).toEqual({ done: false, value: 1 });
    expect(await s.next()).toEqual({ done: false, value: 2 });
    const waiting = s.next();
    expect(await settled(waiting)).toBe(false);
    s.push(3);
    s.push(4);
    s.push(5);
    expect(await waiting).toEqual({ done: false, value: 3 });
    s.end();
    expect(await readAll(s)).toEqual([4, 5]);
  });

  it("keeps order across many items (the queue compacts as it goes)", async () => {
    const s = stream({ limit: 10_000 });
    const read: Item[] = [];
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 3000; i++) s.push(round * 3000 + i);
      for (let i = 0; i < 2500; i++) read.push((await s.next()).value as number);
    }
    s.end();
    read.push(...(await readAll(s)));
    expect(read).toEqual(Array.from({ length: 15_000 }, (_, i) => i));
  });

  it("refuses a limit below one", () => {
    expect(() => stream({ limit: 0 })).toThrow(RangeError);
  });

  describe("a full buffer does what the use chose", () => {
    it("drop-oldest keeps the newest items; with limit 1 it holds only the latest value", async () => {
      const s = stream({ limit: 2, overflow: { policy: "drop-oldest" } });
      expect([s.push(1), s.push(2), s.push(3)]).toEqual([true, true, true]);
      expect(s.size).toBe(2);
      s.end();
      expect(await readAll(s)).toEqual([2, 3]);

      const cell = stream({ limit: 1, overflow: { policy: "drop-oldest" } });
      for (const v of ["a", "b", "c"]) cell.push(v);
      expect(await cell.next()).toEqual({ done: false, value: "c" });
      cell.close();

      // Long runs of dropping with nobody reading still keep exactly the newest, in order.
      const unread = stream({ limit: 10, overflow: { policy: "drop-oldest" } });
      for (let i = 0; i < 1000; i++) unread.push(i);
      expect(unread.size).toBe(10);
      unread.end();
      expect(await readAll(unread)).toEqual(Array.from({ length: 10 }, (_, i) => 990 + i));
    });

    it("drop-newest refuses the new item and says so", async () => {
      const onDrop = vi.fn();
      const s = stream({ limit: 2, overflow: { policy: "drop-newest", onDrop } });
      expect([s.push(1), s.push(2), s.push(3), s.push(4)]).toEqual([true, true, false, false]);
      expect(onDrop).toHaveBeenCalledTimes(2);
      s.end();
      expect(await readAll(s)).toEqual([1, 2]);
    });

    it("reset throws the buffer away, says so, and keeps the new item", async () => {
      const onReset = vi.fn((): void => expect(s.size).toBe(0));
      const s: LiveStream<Item> = stream({ limit: 2, overflow: { policy: "reset", onReset } });
      expect([s.push(1), s.push(2), s.push(3), s.push(4)]).toEqual([true, true, true, true]);
      expect(onReset).toHaveBeenCalledTimes(1);
      s.end();
      expect(await readAll(s)).toEqual([3, 4]);
    });

    it("reset whose callback ends the stream keeps nothing more", async () => {
      const s: LiveStream<Item> = stream({ limit: 1, overflow: { policy: "reset", onReset: () => s.end() } });
      s.push(1);
      expect(s.push(2)).toBe(false);
      expect(await s.next()).toEqual({ done: true, value: undefined });
    });

    it("fail ends the stream with the error at once: buffered items are dropped, later pushes refused", async () => {
      const error = new Error("too slow");
      const s = stream({ limit: 2, overflow: { policy: "fail", error: () => error } });
      s.push(1);
      s.push(2);
      expect(s.push(3)).toBe(false);
      expect(s.open).toBe(false);
      expect(s.push(4)).toBe(false);
      await expect(s.next()).rejects.toBe(error);
      expect(await s.next()).toEqual({ done: true, value: undefined });
      expectCleanedUp(s);
    });

    it("a buffer that is read keeps up: the policy only acts on items actually waiting", async () => {
      const onDrop = vi.fn();
      const s = stream({ limit: 1, overflow: { policy: "drop-newest", onDrop } });
      for (let i = 0; i < 5; i++) {
        const next = s.next();
        s.push(i);
        expect(await next).toEqual({ done: false, value: i });
      }
      expect(onDrop).not.toHaveBeenCalled();
      s.close();
    });
  });

  describe("abort", () => {
    it("ends a reader that is waiting, cleanly", async () => {
      const abort = new AbortController();
      const s = stream({ signal: abort.signal, keepalive: { ms: 1000, item: () => KEEPALIVE } });
      const waiting = s.next();
      expect(await settled(waiting)).toBe(false);
      abort.abort();
      expect(await waiting).toEqual({ done: true, value: undefined });
      expect(s.push(1)).toBe(false);
      expectCleanedUp(s, abort.signal);
    });

    it("drops items still pending", async () => {
      const abort = new AbortController();
      const s = stream({ signal: abort.signal });
      s.push(1);
      s.push(2);
      abort.abort();
      expect(s.size).toBe(0);
      expect(await s.next()).toEqual({ done: true, value: undefined });
      expectCleanedUp(s, abort.signal);
    });

    it("wins over an end with an error that the reader has not seen yet", async () => {
      const abort = new AbortController();
      const s = stream({ signal: abort.signal });
      s.push(1);
      s.end(new Error("late"));
      abort.abort();
      expect(await s.next()).toEqual({ done: true, value: undefined });
    });

    it("on a signal aborted already, the stream is over from the start", async () => {
      const s = stream({ signal: AbortSignal.abort() });
      expect(s.push(1)).toBe(false);
      expect(await s.next()).toEqual({ done: true, value: undefined });
      expectCleanedUp(s);
    });

    it("holds one listener on the caller's signal while open and none after, so that signal may outlive many streams", async () => {
      const abort = new AbortController();
      const streams = Array.from({ length: 3 }, () => stream({ signal: abort.signal }));
      expect(getEventListeners(abort.signal, "abort")).toHaveLength(3);
      for (const s of streams) s.close();
      for (const s of streams) expectCleanedUp(s, abort.signal);
      expect(abort.signal.aborted).toBe(false);
    });

    it("makes its own signal only when asked, already aborted when asked after the end", async () => {
      const s = stream({});
      s.close();
      expect(s.signal.aborted).toBe(true);
      const t = stream({});
      const signal = t.signal;
      expect(signal.aborted).toBe(false);
      t.close();
      expect(signal.aborted).toBe(true);
    });
  });

  describe("keepalive", () => {
    it("idle: comes only after the reader waited the whole time with nothing arriving", async () => {
      const s = stream({ keepalive: { ms: 1000, item: () => KEEPALIVE } });
      let next = s.next();
      await vi.advanceTimersByTimeAsync(999);
      expect(await settled(next)).toBe(false);
      s.push(1);
      expect(await next).toEqual({ done: false, value: 1 });
      // Traffic more often than the keepalive time: no keepalive at all.
      for (let i = 2; i < 6; i++) {
        next = s.next();
        await vi.advanceTimersByTimeAsync(600);
        s.push(i);
        expect(await next).toEqual({ done: false, value: i });
      }
      next = s.next();
      await vi.advanceTimersByTimeAsync(1000);
      expect(await next).toEqual({ done: false, value: KEEPALIVE });
      next = s.next();
      await vi.advanceTimersByTimeAsync(1000);
      expect(await next).toEqual({ done: false, value: KEEPALIVE });
      next = s.next();
      s.close();
      expect(await next).toEqual({ done: true, value: undefined });
      expectCleanedUp(s);
    });

    it("idle: no timer runs while nobody reads", async () => {
      const item = vi.fn(() => KEEPALIVE);
      const s = stream({ keepalive: { ms: 1000, item } });
      s.push(1);
      await vi.advanceTimersByTimeAsync(5000);
      expect(vi.getTimerCount()).toBe(0);
      expect(await s.next()).toEqual({ done: false, value: 1 });
      expect(item).not.toHaveBeenCalled();
      s.close();
    });

    it("the item comes from a callback, made when it is due", async () => {
      let made = 0;
      const s = new LiveStream<{ at: number }>({
        limit: 10,
        overflow: { policy: "drop-newest" },
        keepalive: { ms: 50, item: () => ({ at: ++made }) },
      });
      const next = s.next();
      expect(made).toBe(0);
      await vi.advanceTimersByTimeAsync(50);
      expect(await next).toEqual({ done: false, value: { at: 1 } });
      s.close();
    });

    it("interval: one is due every period however busy the stream, handed out once the buffer is empty", async () => {
      const s = stream({ keepalive: { ms: 1000, item: () => KEEPALIVE, clock: "interval" } });
      const read: Item[] = [];
      // Busy: an item every 400 ms, read at once. The keepalive is due at 1000 and 2000 regardless.
      for (let i = 0; i < 6; i++) {
        s.push(i);
        read.push((await s.next()).value as number);
        await vi.advanceTimersByTimeAsync(400);
      }
      // t = 2400: due since 1000. The buffered item goes first, then the keepalive; the next is due 1000 later.
      s.push(6);
      read.push((await s.next()).value as number);
      read.push((await s.next()).value as string);
      const next = s.next();
      await vi.advanceTimersByTimeAsync(999);
      expect(await settled(next)).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      read.push((await next).value as string);
      expect(read).toEqual([0, 1, 2, 3, 4, 5, 6, KEEPALIVE, KEEPALIVE]);
      s.close();
      expectCleanedUp(s);
    });

    it("interval: a reader that waits gets it when due, and the period restarts from there", async () => {
      const s = stream({ keepalive: { ms: 1000, item: () => KEEPALIVE, clock: "interval" } });
      let next = s.next();
      await vi.advanceTimersByTimeAsync(300);
      s.push(1);
      expect(await next).toEqual({ done: false, value: 1 });
      next = s.next();
      await vi.advanceTimersByTimeAsync(699);
      expect(await settled(next)).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(await next).toEqual({ done: false, value: KEEPALIVE });
      next = s.next();
      await vi.advanceTimersByTimeAsync(999);
      expect(await settled(next)).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(await next).toEqual({ done: false, value: KEEPALIVE });
      s.close();
    });
  });

  describe("end and errors", () => {
    it("end: the reader gets what is buffered, then done; later pushes are refused", async () => {
      const s = stream();
      s.push(1);
      s.push(2);
      s.end();
      expect(s.push(3)).toBe(false);
      expect(await readAll(s)).toEqual([1, 2]);
      expectCleanedUp(s);
    });

    it("end with an error: what is buffered, then the error, once, then done", async () => {
      const error = new Error("bus gone");
      const s = stream();
      s.push(1);
      s.end(error);
      s.end(new Error("second"));
      expect(await s.next()).toEqual({ done: false, value: 1 });
      await expect(s.next()).rejects.toBe(error);
      expect(await s.next()).toEqual({ done: true, value: undefined });
      expectCleanedUp(s);
    });

    it("end reaches a reader that is waiting, and the error propagates out of for await", async () => {
      const s = stream({ keepalive: { ms: 1000, item: () => KEEPALIVE } });
      const done = readAll(s);
      await vi.advanceTimersByTimeAsync(10);
      s.push(1);
      await vi.advanceTimersByTimeAsync(10);
      const error = new Error("boom");
      s.end(error);
      await expect(done).rejects.toBe(error);
      expectCleanedUp(s);
    });

    it("an undefined error is still an error", async () => {
      const s = stream();
      s.end(undefined);
      await expect(s.next()).rejects.toBeUndefined();
    });

    it("one reader at a time", async () => {
      const s = stream();
      const first = s.next();
      await expect(s.next()).rejects.toThrow(/one reader/);
      s.push(1);
      expect(await first).toEqual({ done: false, value: 1 });
      s.close();
    });
  });

  describe("cleanup", () => {
    it("a reader that breaks out of for await closes the stream", async () => {
      const abort = new AbortController();
      const s = stream({ signal: abort.signal, keepalive: { ms: 1000, item: () => KEEPALIVE } });
      s.push(1);
      s.push(2);
      for await (const item of s) {
        expect(item).toBe(1);
        break;
      }
      expect(s.open).toBe(false);
      expect(s.size).toBe(0);
      expectCleanedUp(s, abort.signal);
    });

    it("a generator built on it cleans up when its own reader returns early", async () => {
      const abort = new AbortController();
      const s = stream({ signal: abort.signal, keepalive: { ms: 1000, item: () => KEEPALIVE } });
      const finalized = vi.fn();
      async function* wrapped() {
        try {
          yield* s;
        } finally {
          finalized();
        }
      }
      const it = wrapped();
      s.push(1);
      expect(await it.next()).toEqual({ done: false, value: 1 });
      await it.return(undefined);
      expect(finalized).toHaveBeenCalled();
      expectCleanedUp(s, abort.signal);
    });

    it("close is idempotent and ends a waiting reader", async () => {
      const s = stream({ keepalive: { ms: 1000, item: () => KEEPALIVE } });
      const next = s.next();
      expect(vi.getTimerCount()).toBe(1);
      s.close();
      s.close();
      expect(await next).toEqual({ done: true, value: undefined });
      expectCleanedUp(s);
    });

    it("drain takes what is buffered, and the stream goes on", async () => {
      const s = stream();
      s.push(1);
      s.push(2);
      expect(s.drain()).toEqual([1, 2]);
      expect(s.size).toBe(0);
      s.push(3);
      s.end();
      expect(await readAll(s)).toEqual([3]);
    });
  });
});
