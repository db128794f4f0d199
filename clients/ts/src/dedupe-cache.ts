// Remembers message ids for a while (the seed's dedupe_ttl_seconds = 600), with what became of each, so a message
// pushed again after a reconnect is neither handled twice nor left unacknowledged.

export type Remembered<T> = { state: "running" } | { state: "done"; outcome: T };

export class DedupeCache<T> {
  // Map keeps insertion order, and every write re-inserts, so the oldest entries are always first.
  private readonly entries = new Map<string, { at: number; value: Remembered<T> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
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
    const cutoff = this.now() - this.ttlMs;
    for (const [id, entry] of this.entries) {
      if (entry.at > cutoff) break;
      // A message still being handled is kept: forgetting it would let a redelivery run it twice.
      if (entry.value.state === "running") continue;
      this.entries.delete(id);
    }
  }
}
