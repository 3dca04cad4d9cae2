/**
 * Two texts compared as the default sort() compares them, by UTF-16 code unit: an order that
 * is the same on every machine and in every locale (localeCompare's is not), for keys that go
 * into hashes and for names listed as DuckDB's ORDER BY lists them (by UTF-8 bytes: the same
 * order, short of characters beyond U+FFFF).
 */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
