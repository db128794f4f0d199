/** One sample of a scrape: its labels and value. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** A scrape in Prometheus' text format, by metric name (histogram series keep their _bucket/_sum/_count names). */
export type Scrape = Map<string, Sample[]>;

/** Parses Prometheus' text exposition format (the part prom-client writes: no timestamps, no escaped newlines). */
export function parseScrape(text: string): Scrape {
  const out: Scrape = new Map();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, "$1");
    const samples = out.get(m[1]!) ?? [];
    samples.push({ labels, value: Number(m[3]) });
    out.set(m[1]!, samples);
  }
  return out;
}

/** The value of the sample of `name` whose labels include `labels`; 0 when there is none (a counter not yet moved). */
export function sampleValue(scrape: Scrape, name: string, labels: Record<string, string> = {}): number {
  const found = (scrape.get(name) ?? []).find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return found?.value ?? 0;
}

/** The metric names a scrape's HELP lines declare. */
export function declaredNames(text: string): string[] {
  return [...text.matchAll(/^# HELP (\S+) /gm)].map((m) => m[1]!);
}

/** Scrapes `url`/metrics, failing on anything but 200. */
export async function scrape(url: string, token?: string): Promise<{ text: string; samples: Scrape }> {
  const res = await fetch(`${url}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status} ${text}`);
  return { text, samples: parseScrape(text) };
}
