import * as hdr from "hdr-histogram-js";

// Latencies are recorded in microseconds (HDR histograms take integers) and reported in milliseconds.

export type Histogram = hdr.Histogram;

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export function createHistogram(): Histogram {
  return hdr.build({
    bitBucketSize: 32,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000, // two minutes in µs
    numberOfSignificantValueDigits: 3,
  });
}

/** Records a duration given in milliseconds (fractions kept to the microsecond). */
export function recordMs(h: Histogram, ms: number): void {
  h.recordValue(Math.max(1, Math.round(ms * 1000)));
}

export function summarize(h: Histogram): LatencySummary {
  const ms = (us: number) => Math.round(us) / 1000;
  if (h.totalCount === 0) return { count: 0, p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p95: ms(h.getValueAtPercentile(95)),
    p99: ms(h.getValueAtPercentile(99)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

/** For sending a histogram from a load process to the coordinator. */
export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decodeHistogram(text: string): Histogram {
  return hdr.decodeFromCompressedBase64(text, 32, false);
}

/** A fresh histogram holding every value of `parts`. */
export function merge(parts: Histogram[]): Histogram {
  const total = createHistogram();
  for (const p of parts) total.add(p);
  return total;
}
