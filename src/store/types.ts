// One set of type parsers for both drivers, so a query returns the same JavaScript values on PostgreSQL (pg)
// and on PGlite: pg hands int8 back as a string and PGlite as a number; we want numbers on both. Counters and
// byte sizes stay far below 2^53.
export const INT8_OID = 20;

export function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${value} does not fit a JavaScript number`);
  return n;
}

/** Parsers keyed by type OID, in the shape both pg (`types.getTypeParser`) and PGlite (`parsers`) accept. */
export const typeParsers: Record<number, (value: string) => unknown> = {
  [INT8_OID]: parseInt8,
};
