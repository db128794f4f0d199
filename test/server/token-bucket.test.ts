import { describe, expect, it } from "vitest";
import { DomainError } from "../../src/errors.js";
import { TokenBucket } from "../../src/rate-limit.js";

function refusal(fn: () => void): DomainError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}

describe("TokenBucket", () => {
  it("lets a burst through, then refuses with when to retry, and refills at the rate", () => {
    const bucket = new TokenBucket("messages", 5, 10);
    const t0 = 1_000_000;
    for (let i = 0; i < 10; i++) bucket.take("alice", t0);
    const err = refusal(() => bucket.take("alice", t0));
    expect(err).toMatchObject({ kind: "resource_exhausted", reason: "rate_limited", retryAfterMs: 200 });
    expect(err.message).toBe("too many messages: at most 5/s with bursts of 10; retry in 200 ms");
    // 200 ms later one token has come back, and only one.
    bucket.take("alice", t0 + 200);
    expect(refusal(() => bucket.take("alice", t0 + 200)).retryAfterMs).toBe(200);
    // A long pause refills to the burst, never beyond it.
    for (let i = 0; i < 10; i++) bucket.take("alice", t0 + 60_000);
    expect(() => bucket.take("alice", t0 + 60_000)).toThrow(DomainError);
  });

  it("keeps senders apart", () => {
    const bucket = new TokenBucket("messages", 1, 1);
    bucket.take("alice", 0);
    expect(() => bucket.take("alice", 0)).toThrow(DomainError);
    expect(() => bucket.take("bob", 0)).not.toThrow();
  });

  it("keeps at most maxKeys buckets; a sender whose bucket was dropped starts again with a full one", () => {
    const bucket = new TokenBucket("messages", 1, 1, 100);
    for (let i = 0; i < 1000; i++) bucket.take(`sender-${i}`, 0);
    expect(bucket.size).toBe(100);
    // sender-0 was the least recently used: its bucket went, so it may send again.
    expect(() => bucket.take("sender-0", 0)).not.toThrow();
    // sender-999 is still known and empty.
    expect(() => bucket.take("sender-999", 0)).toThrow(DomainError);
  });
});
