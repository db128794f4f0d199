import { describe, expect, it } from "vitest";
import { type Outlet, type Producer, PushSource, mapOutlet } from "../../src/streams/index.js";

// The pushed-stream primitive on its own: a producer writing into an outlet, read either by piping (what GrpcCalls
// does) or by iterating (what connect does, for Connect and gRPC-Web). No clocks: every wait is on a condition.

/** A producer that pushes `items` in order, waiting whenever the outlet asks it to, then returns. */
function pushing(items: number[], log: string[] = []): Producer<number> {
  return async (outlet, signal) => {
    for (const item of items) {
      if (signal.aborted) {
        log.push("stopped");
        return;
      }
      const taken = outlet.push(item);
      log.push(`pushed ${item}`);
      if (!(taken instanceof Promise ? await taken : taken)) {
        log.push("paused");
        await outlet.ready();
      }
    }
    log.push("ended");
  };
}

async function readAll<T>(s: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of s) out.push(item);
  return out;
}

describe("PushSource", () => {
  it("pipes every item into the outlet in order and resolves when the producer is done", async () => {
    const got: number[] = [];
    const outlet: Outlet<number> = { push: (n) => got.push(n) > 0, ready: () => Promise.resolve() };
    await new PushSource(pushing([1, 2, 3]), new AbortController().signal).pipe(outlet);
    expect(got).toEqual([1, 2, 3]);
  });

  it("rejects a pipe with the producer's failure", async () => {
    const failing: Producer<number> = async () => {
      throw new Error("store down");
    };
    const outlet: Outlet<number> = { push: () => true, ready: () => Promise.resolve() };
    await expect(new PushSource(failing, new AbortController().signal).pipe(outlet)).rejects.toThrow("store down");
  });

  it("is read by iteration too, every item in order, however many the producer pushes ahead", async () => {
    const items = Array.from({ length: 200 }, (_, i) => i);
    expect(await readAll(new PushSource(pushing(items), new AbortController().signal))).toEqual(items);
  });

  it("asks the producer to pause while a reader has a buffer full waiting, and resumes it once read", async () => {
    const log: string[] = [];
    const reader = new PushSource(
      pushing(
        Array.from({ length: 40 }, (_, i) => i),
        log,
      ),
      new AbortController().signal,
    )[Symbol.asyncIterator]();
    // Nothing read yet: the producer stops at the first refusal instead of pushing all 40.
    await expect.poll(() => log.includes("paused")).toBe(true);
    const pushedBeforeReading = log.filter((l) => l.startsWith("pushed")).length;
    expect(pushedBeforeReading).toBeLessThan(40);
    const first = await reader.next();
    expect(first).toEqual({ done: false, value: 0 });
    const rest: number[] = [];
    for (let r = await reader.next(); !r.done; r = await reader.next()) rest.push(r.value);
    expect(rest).toEqual(Array.from({ length: 39 }, (_, i) => i + 1));
    expect(log.at(-1)).toBe("ended");
  });

  it("gives an iterating reader the items pushed before a failure, then the failure, then done", async () => {
    const failing: Producer<number> = async (outlet) => {
      outlet.push(1);
      outlet.push(2);
      throw new Error("store down");
    };
    const reader = new PushSource(failing, new AbortController().signal)[Symbol.asyncIterator]();
    expect(await reader.next()).toEqual({ done: false, value: 1 });
    expect(await reader.next()).toEqual({ done: false, value: 2 });
    await expect(reader.next()).rejects.toThrow("store down");
    expect(await reader.next()).toEqual({ done: true, value: undefined });
  });

  it("stops the producer when an iterating reader stops early, and only returns once it has", async () => {
    const log: string[] = [];
    let stoppedBy: unknown;
    const endless: Producer<number> = (outlet, signal) =>
      new Promise<void>((resolve) => {
        outlet.push(1);
        signal.addEventListener("abort", () => {
          stoppedBy = signal.reason;
          log.push("stopped");
          resolve();
        });
      });
    for await (const item of new PushSource(endless, new AbortController().signal)) {
      expect(item).toBe(1);
      break;
    }
    expect(log).toEqual(["stopped"]);
    expect(stoppedBy).toBeDefined();
  });

  it("stops the producer when the call's signal aborts, whichever way it is read", async () => {
    for (const read of ["pipe", "iterate"] as const) {
      const call = new AbortController();
      const endless: Producer<number> = (_outlet, signal) =>
        new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      const source = new PushSource(endless, call.signal);
      const done = read === "pipe" ? source.pipe({ push: () => true, ready: () => Promise.resolve() }) : readAll(source);
      call.abort();
      await expect(done, read).resolves.not.toThrow();
    }
  });
});

describe("mapOutlet", () => {
  it("maps each item, waiting for an async map so that order is kept", async () => {
    const got: string[] = [];
    const outlet: Outlet<string> = { push: (s) => got.push(s) > 0, ready: () => Promise.resolve() };
    // Odd items take longer to map than even ones: pushed in order anyway.
    const mapped = mapOutlet(outlet, (n: number) =>
      n % 2 ? new Promise<string>((resolve) => setTimeout(() => resolve(`slow ${n}`), 5)) : `fast ${n}`,
    );
    await new PushSource(pushing([1, 2, 3, 4]), new AbortController().signal).pipe(mapped);
    expect(got).toEqual(["slow 1", "fast 2", "slow 3", "fast 4"]);
  });

  it("passes the outlet's refusal back to the producer", async () => {
    const log: string[] = [];
    let full = true;
    const outlet: Outlet<number> = {
      push: () => !full,
      ready: () => {
        full = false;
        return Promise.resolve();
      },
    };
    await new PushSource(pushing([1, 2], log), new AbortController().signal).pipe(mapOutlet(outlet, (n: number) => n * 10));
    expect(log).toEqual(["pushed 1", "paused", "pushed 2", "ended"]);
  });
});
