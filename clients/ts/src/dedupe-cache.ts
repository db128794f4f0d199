// Remembers message ids for a while (the seed's dedupe_ttl_seconds = 600), with what became of each, so a message
// pushed again after a reconnect is neither handled twice nor left unacknowledged.
//
// An LRU with expiry: a Map keeps insertion order and every write re-inserts, so the oldest writes are first and
// pruning stops at the first live entry — amortised O(1) per get/set however many ids are remembered. Running ids
// are kept past the TTL but moved to the back, so they do not make every prune walk over them; `maxEntries` bounds
// memory under a flood of distinct ids within the TTL.

export type Remembered<T> = { state: "running" } | { state: "done"; outcome: T };

export const DEFAULT_DEDUPE_MAX_ENTRIES = 100_000;

export class DedupeCache<T> {
  private readonly entries = new Map<string, { at: number; value: Remembered<T> }>();
  /** Entries pruning has looked at: lets tests count the work a get/set does instead of timing it. */
  looked = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxEntries: number = DEFAULT_DEDUPE_MAX_ENTRIES,
  ) {}

  get(id: string): Remembered<T> | undefined {
    this.prune();
    return this.entries.get(id)?.value;
  }

  set(id: string, value: Remembered<T>): void {
    this.entries.delete(id);
    this.entries.set(id, { at: this.now(), value });
    this.prune();
  }

  get size(): number {
    return this.entries.size;
  }

  private prune(): void {
    const now = this.now();
    const cutoff = now - this.ttlMs;
    // Bounded by the entries there are, so a map of running ids cannot loop forever.
    for (let n = this.entries.size; n > 0; n--) {
      const first = this.entries.entries().next();
      if (first.done) return;
      const [id, entry] = first.value;
      this.looked += 1;
      if (entry.at > cutoff && this.entries.size <= this.maxEntries) return;
      this.entries.delete(id);
      // A message still being handled is kept (forgetting it would let a redelivery run it twice), re-stamped at the back.
      if (entry.value.state === "running") this.entries.set(id, { at: now, value: entry.value });
    }
  }
}
