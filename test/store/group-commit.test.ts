import { describe, expect, it, vi } from "vitest";
import { GroupCommit } from "../../src/store/group-commit.js";

/** A flush the test finishes by hand, recording what each call was given. */
function manualFlush<T>() {
  const calls: T[][] = [];
  const pending: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  const flush = (items: T[]) => {
    calls.push(items);
    return new Promise<string[]>((resolve, reject) => {
      pending.push({ resolve: () => resolve(items.map((i) => `done:${String(i)}`)), reject });
    });
  };
  return { calls, pending, flush };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("GroupCommit", () => {
  it("flushes a lone item once the event loop turns and hands each caller its own result", async () => {
    const f = manualFlush<number>();
    const gc = new GroupCommit(f.flush);
    const one = gc.submit(1);
    await tick();
    expect(f.calls).toEqual([[1]]);
    f.pending[0]!.resolve();
    expect(await one).toBe("done:1");
  });

  it("writes what is submitted in one tick together in the first flush", async () => {
    const f = manualFlush<number>();
    const gc = new GroupCommit(f.flush);
    const results = [gc.submit(0), gc.submit(1), gc.submit(2)];
    await tick();
    expect(f.calls).toEqual([[0, 1, 2]]);
    f.pending[0]!.resolve();
    expect(await Promise.all(results)).toEqual(["done:0", "done:1", "done:2"]);
  });

  it("writes what callbacks of the same event-loop turn submit together, not one flush each", async () => {
    const f = manualFlush<number>();
    const gc = new GroupCommit(f.flush);
    // As results of one read resuming several callers: each submits from its own microtask.
    const results = [gc.submit(0)];
    await Promise.resolve();
    results.push(gc.submit(1));
    await Promise.resolve().then(() => results.push(gc.submit(2)));
    expect(f.calls).toEqual([]);
    await tick();
    expect(f.calls).toEqual([[0, 1, 2]]);
    f.pending[0]!.resolve();
    expect(await Promise.all(results)).toEqual(["done:0", "done:1", "done:2"]);
  });

  it("writes what arrives during a flush together in the next one, in order, at most maxBatch at a time", async () => {
    const f = manualFlush<number>();
    const gc = new GroupCommit(f.flush, 3);
    const results = [gc.submit(0)];
    await tick();
    for (let i = 1; i <= 5; i++) results.push(gc.submit(i));
    expect(f.calls).toEqual([[0]]);
    expect(gc.pending).toBe(5);
    f.pending[0]!.resolve();
    await tick();
    expect(f.calls).toEqual([[0], [1, 2, 3]]);
    f.pending[1]!.resolve();
    await tick();
    expect(f.calls).toEqual([[0], [1, 2, 3], [4, 5]]);
    f.pending[2]!.resolve();
    expect(await Promise.all(results)).toEqual([0, 1, 2, 3, 4, 5].map((i) => `done:${i}`));
    expect(gc.pending).toBe(0);
  });

  it("fails only the batch whose flush failed; the next batch is still written", async () => {
    const f = manualFlush<string>();
    const gc = new GroupCommit(f.flush);
    const first = gc.submit("a");
    await tick();
    const second = gc.submit("b");
    const third = gc.submit("c");
    f.pending[0]!.reject(new Error("connection lost"));
    await expect(first).rejects.toThrow("connection lost");
    await tick();
    expect(f.calls).toEqual([["a"], ["b", "c"]]);
    f.pending[1]!.resolve();
    expect(await Promise.all([second, third])).toEqual(["done:b", "done:c"]);
    // And it keeps working afterwards.
    const fourth = gc.submit("d");
    await tick();
    f.pending[2]!.resolve();
    expect(await fourth).toBe("done:d");
  });

  it("with a linger, holds a lone item that long so that items arriving meanwhile share its flush", async () => {
    vi.useFakeTimers();
    try {
      const f = manualFlush<string>();
      const gc = new GroupCommit(f.flush, 500, 25);
      const early = gc.submit("a");
      await vi.advanceTimersByTimeAsync(10);
      expect(f.calls).toEqual([]);
      const late = gc.submit("b");
      await vi.advanceTimersByTimeAsync(15);
      expect(f.calls).toEqual([["a", "b"]]);
      f.pending[0]!.resolve();
      expect(await Promise.all([early, late])).toEqual(["done:a", "done:b"]);
    } finally {
      vi.useRealTimers();
    }
  });
});
