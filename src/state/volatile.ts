/**
 * Functions whose result is not given by a query's inputs (the time, randomness, sequences,
 * the session): a query calling one writes different data on every run. Found by name in the
 * SQL text, once per distinct SQL: a column of one of these names makes its model always run
 * too, which is safe.
 */
const VOLATILE =
  /\b(now|today|current_date|current_time|current_timestamp|localtime|localtimestamp|get_current_time|get_current_timestamp|transaction_timestamp|random|setseed|uuid|gen_random_uuid|uuidv4|uuidv7|nextval|currval|current_setting|getenv|current_query|txid_current)\b/i;

const memo = new Map<string, string | undefined>();

/** The first volatile function `sql` names, if any (`now()`). */
export function volatileCall(sqlHash: string, sql: string): string | undefined {
  if (memo.has(sqlHash)) return memo.get(sqlHash);
  const found = VOLATILE.exec(sql);
  const call = found ? `${found[1].toLowerCase()}()` : undefined;
  // A long-lived process (watch, schedule) meets new SQL every day: the memory is bounded.
  if (memo.size > 100_000) memo.clear();
  memo.set(sqlHash, call);
  return call;
}
