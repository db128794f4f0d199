import type { LRUCache } from "lru-cache";
import { boundedCache } from "./bounded-cache.js";
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import { DomainError } from "./errors.js";

/**
 * A named limit of `points` calls per `durationSeconds` per key. Over the limit, `consume` throws
 * RESOURCE_EXHAUSTED `rate_limited` carrying how long to wait (RetryInfo on the wire).
 *
 * Counts are kept per gateway process: a client spreading calls over N gateways gets up to N times the limit.
 */
export class RateLimit {
  private readonly limiter: RateLimiterMemory;

  constructor(
    private readonly what: string,
    readonly points: number,
    readonly durationSeconds: number,
  ) {
    this.limiter = new RateLimiterMemory({ points, duration: durationSeconds });
  }

  async consume(key: string): Promise<void> {
    try {
      await this.limiter.consume(key);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      const retryAfterMs = Math.max(1, err.msBeforeNext);
      throw new DomainError(
        "resource_exhausted",
        "rate_limited",
        `too many ${this.what}: at most ${this.points} per ${this.durationSeconds} s; retry in ${Math.ceil(retryAfterMs / 1000)} s`,
        { retryAfterMs, metadata: { limit: String(this.points), window_seconds: String(this.durationSeconds) } },
      );
    }
  }
}

/**
 * A token bucket per key: `burst` tokens, refilled at `ratePerSecond`. This is the seed's sender limit ("5/s,
 * burst 10": ten sends at once pass, the eleventh waits 200 ms for the next token). rate-limiter-flexible counts
 * in fixed windows and cannot express a refill, hence these few lines.
 */
export class TokenBucket {
  /**
   * Buckets of senders seen lately. A bucket left alone for `burst / ratePerSecond` seconds is full again, which
   * is what a missing one means, so that is its age limit; the size limit keeps a flood of distinct senders from
   * growing it (the least recently used bucket goes first, and its sender starts again with a full one).
   */
  private readonly buckets: LRUCache<string, { tokens: number; at: number }>;

  constructor(
    private readonly what: string,
    readonly ratePerSecond: number,
    readonly burst: number,
    maxKeys = 50_000,
  ) {
    const refillMs = Math.ceil((burst / ratePerSecond) * 1000);
    this.buckets = boundedCache({ maxEntries: maxKeys, ttlMs: Math.max(1, Math.min(refillMs, 2 ** 31 - 1)) });
  }

  take(key: string, now = performance.now()): void {
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.ratePerSecond);
    bucket.at = now;
    if (bucket.tokens < 1) {
      this.buckets.set(key, bucket);
      const retryAfterMs = Math.ceil(((1 - bucket.tokens) / this.ratePerSecond) * 1000);
      throw new DomainError(
        "resource_exhausted",
        "rate_limited",
        `too many ${this.what}: at most ${this.ratePerSecond}/s with bursts of ${this.burst}; retry in ${retryAfterMs} ms`,
        { retryAfterMs, metadata: { rate_per_second: String(this.ratePerSecond), burst: String(this.burst) } },
      );
    }
    bucket.tokens -= 1;
    this.buckets.set(key, bucket);
  }

  /** Buckets kept (for tests). */
  get size(): number {
    return this.buckets.size;
  }
}
