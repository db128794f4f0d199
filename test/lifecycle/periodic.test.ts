import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { runPeriodically, sleep } from "../../src/lifecycle/index.js";

describe("runPeriodically", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("waits the first delay, then one pass per interval, and never overlaps passes", async () => {
    const controller = new AbortController();
    const starts: number[] = [];
    let inPass = 0;
    let maxInPass = 0;
    const running = runPeriodically(controller.signal, {
      intervalMs: 100,
      firstDelayMs: 10,
      async pass() {
        starts.push(Date.now());
        inPass++;
        maxInPass = Math.max(maxInPass, inPass);
        await new Promise((r) => setTimeout(r, 250)); // longer than the interval
        inPass--;
      },
    });
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(5);
    expect(starts).toEqual([]);
    await vi.advanceTimersByTimeAsync(10);
    expect(starts).toEqual([t0 + 10]);
    await vi.advanceTimersByTimeAsync(1000);
    // Each pause starts when the pass before it ended: 10, 10+250+100, ...
    expect(starts.slice(0, 3)).toEqual([t0 + 10, t0 + 360, t0 + 710]);
    expect(maxInPass).toBe(1);
    controller.abort();
    await vi.advanceTimersByTimeAsync(250);
    await running;
  });

  it("takes the pause a pass asks for", async () => {
    const controller = new AbortController();
    const starts: number[] = [];
    const running = runPeriodically(controller.signal, {
      intervalMs: 1000,
      firstDelayMs: 0,
      async pass() {
        starts.push(Date.now());
        return starts.length < 3 ? 10 : undefined;
      },
    });
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(1500);
    expect(starts).toEqual([t0, t0 + 10, t0 + 20, t0 + 1020]);
    controller.abort();
    await running;
  });

  it("ends at once when aborted during a pause, and after the pass in progress when aborted during one", async () => {
    const idle = new AbortController();
    let passes = 0;
    const waiting = runPeriodically(idle.signal, { intervalMs: 60_000, pass: async () => void passes++ });
    idle.abort();
    await waiting; // no timer advance needed
    expect(passes).toBe(0);

    const busy = new AbortController();
    let finished = false;
    let ended = false;
    const running = runPeriodically(busy.signal, {
      intervalMs: 10,
      firstDelayMs: 0,
      async pass() {
        busy.abort();
        await new Promise((r) => setTimeout(r, 100));
        finished = true;
      },
    }).then(() => (ended = true));
    await vi.advanceTimersByTimeAsync(50);
    expect(ended).toBe(false);
    await vi.advanceTimersByTimeAsync(60);
    await running;
    expect(finished).toBe(true);
  });

  it("passes a pass's throw on (a bug ends the loop)", async () => {
    const running = runPeriodically(new AbortController().signal, {
      intervalMs: 10,
      firstDelayMs: 0,
      pass: async () => {
        throw new Error("boom");
      },
    });
    const outcome = expect(running).rejects.toThrow("boom");
    await vi.advanceTimersByTimeAsync(1);
    await outcome;
  });
});

describe("sleep", () => {
  it("leaves no abort listener behind once it resolved", async () => {
    const controller = new AbortController();
    const added = vi.spyOn(controller.signal, "addEventListener");
    const removed = vi.spyOn(controller.signal, "removeEventListener");
    await sleep(1, controller.signal);
    expect(added).toHaveBeenCalledTimes(1);
    expect(removed).toHaveBeenCalledWith("abort", added.mock.calls[0]![1]);
  });

  it("resolves at once on an aborted signal", async () => {
    await expect(sleep(60_000, AbortSignal.abort())).resolves.toBeUndefined();
  });
});
