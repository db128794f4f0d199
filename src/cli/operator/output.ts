// How operator commands print: aligned tables and `key: value` lines for people, JSON (the contract's own JSON
// mapping, as grpcurl prints it) for scripts.
import { type DescMessage, type MessageShape, toJson } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";

export function out(line = ""): void {
  process.stdout.write(`${line}\n`);
}

/** Progress and notices go to stderr, so stdout stays data. */
export function note(line: string): void {
  process.stderr.write(`${line}\n`);
}

export function json(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

/** One JSON document per line, for streams (`watch --json`). */
export function jsonLine(value: unknown): void {
  out(JSON.stringify(value));
}

export function protoJson<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): unknown {
  return toJson(schema, message, { alwaysEmitImplicit: true });
}

export function table(headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  out(line(headers));
  for (const r of rows) out(line(r));
}

export function keyValues(pairs: Array<[string, string]>): void {
  const width = Math.max(...pairs.map(([k]) => k.length));
  for (const [k, v] of pairs) out(`${`${k}:`.padEnd(width + 1)} ${v}`);
}

export function time(ts: Timestamp | undefined): string {
  return ts
    ? timestampDate(ts)
        .toISOString()
        .replace(/\.\d{3}Z$/, "Z")
    : "-";
}

export function clip(text: string, max = 60): string {
  const flat = text.replace(/\s+/g, " ");
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function handle(username: string): string {
  return username ? `@${username}` : "-";
}
