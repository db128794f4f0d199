// How values read on screen: times, statuses, payloads.
import type { JsonValue } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";

export function timeOf(ts: Timestamp | undefined): string {
  if (!ts) return "";
  return timestampDate(ts).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function dateTimeOf(ts: Timestamp | undefined): string {
  if (!ts) return "";
  return timestampDate(ts).toLocaleString();
}

/** An enum value's name without its prefix, lower case: MESSAGE_KIND_REQUEST → request. */
export function enumName(names: Record<number, string>, value: number, prefix: string): string {
  const name = names[value] ?? String(value);
  return (name.startsWith(prefix) ? name.slice(prefix.length) : name).toLowerCase();
}

export function prettyJson(value: JsonValue | undefined): string {
  return JSON.stringify(value ?? {}, null, 2);
}

export function sizeOf(bytes: number | bigint): string {
  const n = Number(bytes);
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
