// The SDK's dedupe cache: behaviour (repeats known within the window, forgotten after it, size cap, running ids kept)
// and its cost, counted as entries looked at rather than timed.
import { describe, expect, it } from "vitest";
import { DedupeCache } from "../../../clients/ts/src/dedupe-cache.js";

const done = { state: "done", outcome: "processed" } as const;

describe("DedupeCache", () => {
  it("knows a repeat within the window and forgets it after", () => {
    let t = 0;
    const d = new DedupeCache<string>(600_000, () => t);
    d.set("a", done);
    t = 599_000;
    expect(d.get("a")).toEqual(done);
    d.set("running", { state: "running" });
    t = 601_000;
    expect(d.get("a")).toBeUndefined();
    expect(d.get("running")).toEqual({ state: "running" });
  });

  it("forgets the oldest first beyond its size cap", () => {
    const d = new DedupeCache<string>(600_000, () => 0, 3);
    for (const id of "abcde") d.set(id, done);
    expect(d.size).toBe(3);
    expect([..."abcde"].map((id) => d.get(id) !== undefined)).toEqual([false, false, true, true, true]);
  });

  it("looks at a bounded number of entries per get/set, even behind running ids past the window", () => {
    let t = 0;
    const d = new DedupeCache<string>(10_000, () => t);
    // Long-running handlers at the old end: the old prune stepped over every one of them on every call.
    for (let i = 0; i < 5_000; i++) d.set(`running${i}`, { state: "running" });
    t = 20_000;
    d.get("x"); // moves them behind, once
    d.looked = 0;
    for (let i = 0; i < 1_000; i++) {
      t += 1;
      d.get(`m${i}`);
      d.set(`m${i}`, done);
    }
    expect(d.looked).toBeLessThanOrEqual(2 * 2_000);
    expect(d.get("running0")).toEqual({ state: "running" });
  });
});
