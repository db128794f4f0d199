import { type RawBuilder, sql } from "kysely";

/**
 * `any(array(…))` of the given keys of `table`, locking those rows in key order first: for a statement that
 * changes many rows of a table other statements change many of at the same time, as
 * `.where(key, "=", lockedInOrder(…))`. PostgreSQL runs the subquery once, before the statement's own scan (an
 * InitPlan), so the locks are taken in one global order whatever plan the statement gets; with `key IN (…)` it may
 * pick a bitmap scan and lock in storage order, and two such statements crossing deadlock (40P01). Not for
 * prepared statements run at a high rate: their generic plan with it was far slower on a large table.
 */
export function lockedInOrder(table: string, key: string, keys: readonly string[]): RawBuilder<string> {
  return sql<string>`any(array(
    select ${sql.ref(key)} from ${sql.table(table)} where ${sql.ref(key)} = any(cast(${keys} as text[]))
     order by ${sql.ref(key)} for no key update))`;
}
