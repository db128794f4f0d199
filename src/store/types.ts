// pg hands int8 (bigint: counts, sums, byte sizes) back as a string; we want numbers. Counters and byte sizes
// stay far below 2^53, and one that does not is an error rather than a silently rounded number.
export const INT8_OID = 20;

export function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${value} does not fit a JavaScript number`);
  return n;
}

/** Parsers keyed by type OID, in the shape pg's `types.getTypeParser` takes. */
export const typeParsers: Record<number, (value: string) => unknown> = {
  [INT8_OID]: parseInt8,
};
