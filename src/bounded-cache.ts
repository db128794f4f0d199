import { LRUCache } from "lru-cache";

/**
 * An LRU cache of at most `maxEntries` entries, each kept at most `ttlMs`, whose memory grows with what is in it.
 * lru-cache's `max` preallocates six arrays of `max` slots up front (about 2 MiB at 50,000, however empty the cache
 * is); bounding the count through `maxSize` with every entry of size 1 evicts the same way without that.
 */
export function boundedCache<K extends {}, V extends {}>(options: { maxEntries: number; ttlMs: number }): LRUCache<K, V> {
  return new LRUCache<K, V>({ maxSize: options.maxEntries, sizeCalculation: () => 1, ttl: options.ttlMs });
}
