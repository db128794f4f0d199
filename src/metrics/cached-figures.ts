/**
 * Figures read from the store for gauges (pending backlog, sessions online, …), read at most once per `maxAgeMs`
 * however many gauges and scrapers ask, so several Prometheus servers scraping every few seconds cost the
 * database one small read per interval. A failed read (the database is down) keeps the last figures, or gives
 * NaN for each before the first success: a scrape still answers, and shows the rest.
 */
export class CachedFigures<K extends string> {
  private last: Record<K, number> | undefined;
  private readAt = Number.NEGATIVE_INFINITY;
  private reading: Promise<Record<K, number> | undefined> | undefined;

  constructor(
    private readonly read: () => Promise<Record<K, number>>,
    private readonly maxAgeMs = 5000,
  ) {}

  async get(key: K): Promise<number> {
    const figures = await this.current();
    return figures?.[key] ?? Number.NaN;
  }

  private current(): Promise<Record<K, number> | undefined> {
    if (this.reading) return this.reading;
    if (performance.now() - this.readAt < this.maxAgeMs) return Promise.resolve(this.last);
    this.reading = this.read()
      .then((figures) => {
        this.last = figures;
        this.readAt = performance.now();
        return figures;
      })
      .catch(() => this.last)
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }
}
