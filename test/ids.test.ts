import { decodeTime, isValid } from "ulid";
import { describe, expect, it } from "vitest";
import { newUlid } from "../src/ids.js";

describe("newUlid", () => {
  it("makes valid, distinct ULIDs stamped with the time they were made", () => {
    const before = Date.now();
    const ids = Array.from({ length: 10_000 }, () => newUlid());
    const after = Date.now();
    expect(ids.every(isValid)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of [ids[0]!, ids.at(-1)!]) {
      expect(decodeTime(id)).toBeGreaterThanOrEqual(before);
      expect(decodeTime(id)).toBeLessThanOrEqual(after);
    }
  });

  it("uses every character of the random part's alphabet, evenly enough (it is not stuck on a few bytes)", () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) for (const c of newUlid().slice(10)) counts.set(c, (counts.get(c) ?? 0) + 1);
    // 64,000 characters over 32 symbols: 2,000 each on average; a broken pool would leave symbols out entirely.
    expect(counts.size).toBe(32);
    for (const n of counts.values()) expect(n).toBeGreaterThan(1500);
  });
});
