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
