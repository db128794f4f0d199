import type { JsonObject } from "@bufbuild/protobuf";

/** Milliseconds since the epoch with microsecond fractions; senders and receivers of a load process share it. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * A payload of about `bytes` bytes as compact JSON: step id `k`, sequence number `s`, send timestamp `t` (ms,
 * see nowMs) and padding `p`.
 */
export function makePayload(bytes: number, step: number, seq: number, t: number): JsonObject {
  const head = JSON.stringify({ k: step, s: seq, t, p: "" }).length;
  return { k: step, s: seq, t, p: padding(Math.max(0, bytes - head)) };
}

const pads = new Map<number, string>();
function padding(n: number): string {
  let p = pads.get(n);
  if (p === undefined) {
    p = "x".repeat(n);
    pads.set(n, p);
  }
  return p;
}
