/**
 * Functions whose result is not given by a query's inputs (the time, randomness, sequences,
 * the session): a query calling one writes different data on every run. Found by name in the
 * SQL's code, once per distinct SQL: a call is the name followed by `(`, or one of SQL's
 * niladic keywords (`current_date`, which takes no parentheses). Comments and string literals
 * are not code: a comment saying "reads the seed as it is now" does not make its model always
 * run. Text the reader cannot take apart for sure (a string or comment left open) is looked
 * at whole, so a doubt always leans to running the model.
 */
const NAMES =
  'now|today|ago|current_date|current_time|current_timestamp|current_localtime|current_localtimestamp|localtime|localtimestamp|get_current_time|get_current_timestamp|transaction_timestamp|pg_conf_load_time|pg_postmaster_start_time|random|setseed|uuid|gen_random_uuid|uuidv4|uuidv7|nextval|currval|current_setting|getenv|current_query|current_query_id|current_transaction_id|current_connection_id|txid_current';

/** A name anywhere in the text: without one, there is no call to look for. */
const NAMED = new RegExp(`\\b(${NAMES})\\b`, 'i');
const CALLED = new RegExp(`\\b(${NAMES})"?\\s*\\(`, 'i');

/** SQL's keywords for the time, which DuckDB reads as calls without parentheses. */
const NILADIC = /\b(current_date|current_time|current_timestamp|localtime|localtimestamp)\b/i;

const memo = new Map<string, string | undefined>();

/** The first volatile function `sql` calls, if any (`now()`). */
export function volatileCall(sqlHash: string, sql: string): string | undefined {
  if (memo.has(sqlHash)) return memo.get(sqlHash);
  const code = NAMED.test(sql) ? (codeOf(sql) ?? sql) : '';
  const found = CALLED.exec(code) ?? NILADIC.exec(code);
  const call = found ? `${found[1].toLowerCase()}()` : undefined;
  // A long-lived process (watch, schedule) meets new SQL every day: the memory is bounded.
  if (memo.size > 100_000) memo.clear();
  memo.set(sqlHash, call);
  return call;
}

const IDENTIFIER_CHAR = /[A-Za-z0-9_$]/;
const DOLLAR_TAG = /\$([A-Za-z_][A-Za-z0-9_]*)?\$/y;

/**
 * `sql` with its comments and string literals (quoted, `E'…'` with backslash escapes,
 * dollar-quoted) each replaced by a space, as DuckDB's parser reads them (block comments
 * nest); undefined when one is left open. Quoted identifiers stay: they are code.
 */
export function codeOf(sql: string): string | undefined {
  let out = '';
  let from = 0;
  let i = 0;
  const cut = (end: number) => {
    out += `${sql.slice(from, i)} `;
    i = end;
    from = end;
  };
  while (i < sql.length) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const eol = sql.indexOf('\n', i);
      cut(eol === -1 ? sql.length : eol);
    } else if (c === '/' && next === '*') {
      const end = commentEnd(sql, i);
      if (end === undefined) return undefined;
      cut(end);
    } else if (c === '"') {
      // A quoted identifier: code, skipped whole so that a quote inside it opens nothing.
      const end = closingQuote(sql, i, '"', false);
      if (end === undefined) return undefined;
      i = end;
    } else if (c === "'") {
      const escapes = (sql[i - 1] === 'E' || sql[i - 1] === 'e') && !IDENTIFIER_CHAR.test(sql[i - 2] ?? ' ');
      const end = closingQuote(sql, i, "'", escapes);
      if (end === undefined) return undefined;
      cut(end);
    } else if (c === '$' && !IDENTIFIER_CHAR.test(sql[i - 1] ?? ' ')) {
      DOLLAR_TAG.lastIndex = i;
      const tag = DOLLAR_TAG.exec(sql);
      if (!tag) {
        i++;
        continue;
      }
      const close = sql.indexOf(tag[0], i + tag[0].length);
      if (close === -1) return undefined;
      cut(close + tag[0].length);
    } else i++;
  }
  return out + sql.slice(from);
}

/** Where the block comment opening at `at` ends (just after its closing star and slash), the comments inside it nested. */
function commentEnd(sql: string, at: number): number | undefined {
  let depth = 0;
  for (let j = at; j < sql.length - 1; j++) {
    if (sql[j] === '/' && sql[j + 1] === '*') {
      depth++;
      j++;
    } else if (sql[j] === '*' && sql[j + 1] === '/') {
      depth--;
      j++;
      if (depth === 0) return j + 1;
    }
  }
  return undefined;
}

/** Where the quoted text opening at `at` ends (just after its closing quote); a doubled quote, or with `escapes` a backslash, escapes. */
function closingQuote(sql: string, at: number, quote: string, escapes: boolean): number | undefined {
  for (let j = at + 1; j < sql.length; j++) {
    if (escapes && sql[j] === '\\') j++;
    else if (sql[j] === quote) {
      if (sql[j + 1] !== quote) return j + 1;
      j++;
    }
  }
  return undefined;
}
