import { sqlPieces } from '../sql/sql-text.js';

/**
 * Functions whose result is not given by a query's inputs (the time, randomness, sequences,
 * the session): a query calling one writes different data on every run. Found by name in the
 * SQL's code, once per distinct SQL: a call is the name followed by `(`, or one of SQL's
 * niladic keywords (`current_date`, which takes no parentheses). Comments and string literals
 * are not code: a comment saying "reads the seed as it is now" does not make its model always
 * run. Text the reader cannot take apart for sure (a string or comment left open) is looked
 * at whole, so a doubt always leans to running the model. `age()` of one timestamp is
 * measured from now, and so is volatile too (of two, it is not).
 */
const NAMES =
  'now|today|ago|current_date|current_time|current_timestamp|current_localtime|current_localtimestamp|localtime|localtimestamp|get_current_time|get_current_timestamp|transaction_timestamp|pg_conf_load_time|pg_postmaster_start_time|random|setseed|uuid|gen_random_uuid|uuidv4|uuidv7|nextval|currval|current_setting|getvariable|getenv|current_query|current_query_id|current_transaction_id|current_connection_id|txid_current';

/** A name anywhere in the text: without one, there is no call to look for. */
const NAMED = new RegExp(`\\b(${NAMES})\\b`, 'i');
const CALLED = new RegExp(`\\b(${NAMES})"?\\s*\\(`, 'i');

/** SQL's keywords for the time, which DuckDB reads as calls without parentheses. */
const NILADIC = /\b(current_date|current_time|current_timestamp|localtime|localtimestamp)\b/i;

/**
 * A sample of a table's rows (`USING SAMPLE`, `TABLESAMPLE`): DuckDB draws another each run,
 * and with a seed too once it scans on several threads.
 */
const SAMPLED = /\b(using\s+sample|tablesample)\b/i;

/** `age(`: DuckDB's age of one timestamp is measured from now (of two, between them). */
const AGED = /\bage"?\s*\(/i;

/** Whether the code calls age() with one argument: no comma at the top level of its parentheses. */
function ageOfNow(code: string): boolean {
  const calls = new RegExp(AGED.source, 'gi');
  for (let m = calls.exec(code); m !== null; m = calls.exec(code)) {
    let depth = 0;
    let oneArgument = true;
    for (let i = m.index + m[0].length; i < code.length; i++) {
      const c = code[i];
      if (c === '(') depth++;
      else if (c === ')' && depth-- === 0) break;
      else if (c === ',' && depth === 0) oneArgument = false;
    }
    if (oneArgument) return true;
  }
  return false;
}

const memo = new Map<string, string | undefined>();

/** Why what `sql` writes is not given by its inputs, if it is not: the first volatile function it calls (`now()`), or the sample it draws. Kept by `sqlHash`. */
export function volatileWhy(sqlHash: string, sql: string): string | undefined {
  if (memo.has(sqlHash)) return memo.get(sqlHash);
  const why = volatileWhyOf(sql);
  // A long-lived process (watch, schedule) meets new SQL every day: the memory is bounded.
  if (memo.size > 100_000) memo.clear();
  memo.set(sqlHash, why);
  return why;
}

/**
 * The same, made every time: for texts without a hash of their own, such as a check's, each
 * date's its own. Keyed by the text, a backfill's checks cost more to look up (each text
 * hashed whole, and held) than to read.
 */
export function volatileWhyOf(sql: string): string | undefined {
  const named = NAMED.test(sql);
  const sampled = SAMPLED.test(sql);
  const code = named || sampled ? (codeOf(sql) ?? sql) : '';
  const found = named ? (CALLED.exec(code) ?? NILADIC.exec(code)) : null;
  const aged = !found && AGED.test(sql) && ageOfNow(codeOf(sql) ?? sql);
  return found
    ? `its query calls ${found[1].toLowerCase()}()`
    : aged
      ? 'its query calls age() of one timestamp, its age as of now'
      : sampled && SAMPLED.test(code)
        ? `its query samples rows with ${SAMPLED.exec(code)![1].replace(/\s+/, ' ').toUpperCase()}, another sample each run`
        : undefined;
}

/**
 * `sql` with its comments and string literals each replaced by a space, as DuckDB's parser
 * reads them (see sqlPieces); undefined when one is left open. Quoted identifiers stay: they
 * are code.
 */
export function codeOf(sql: string): string | undefined {
  const pieces = sqlPieces(sql);
  if (pieces.some((p) => !p.closed)) return undefined;
  return pieces.map((p) => (p.kind === 'code' || p.kind === 'identifier' ? sql.slice(p.start, p.end) : ' ')).join('');
}
