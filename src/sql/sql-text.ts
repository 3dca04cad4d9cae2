/** Small, pure helpers for SQL and template text; shared by analysis and the materialization strategies. */

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A string as a regular expression that matches it literally. */
export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** `"schema"."name"`, or `"catalog"."schema"."name"` given three parts. */
export function relationName(...parts: [schema: string, name: string] | [catalog: string, schema: string, name: string]): string {
  return parts.map(quoteIdent).join('.');
}

/**
 * Offset just after leading whitespace and comments, where the statement's first keyword
 * stands.
 */
export function statementStart(sql: string): number {
  let i = 0;
  for (;;) {
    while (i < sql.length && /\s/.test(sql[i])) i++;
    if (sql.startsWith('--', i)) {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl + 1;
    } else if (sql.startsWith('/*', i)) {
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? sql.length : close + 2;
    } else {
      return i;
    }
  }
}

/**
 * The SQL with a trailing semicolon (and whitespace or comments after it) removed. Only a
 * semicolon that ends a statement counts: one inside a string (`'a; --'`) is the query's text.
 */
export function stripTrailingSemicolon(sql: string): string {
  if (!sql.includes(';')) return sql;
  const last = statementSeparators(sql).at(-1);
  if (last === undefined) return sql;
  const rest = sql.slice(last + 1);
  return statementStart(rest) >= rest.length ? sql.slice(0, last) : sql;
}

/**
 * Prepends common table expressions to a query, merging them into the query's own WITH clause
 * when it has one (so `with a as (...) select ...` stays valid).
 */
/** How many line breaks `text` has before `end`. */
export function newlines(text: string, end = text.length): number {
  let n = 0;
  for (let at = text.indexOf('\n'); at >= 0 && at < end; at = text.indexOf('\n', at + 1)) n++;
  return n;
}

export function withCtes(sql: string, ctes: readonly { name: string; sql: string }[]): string {
  if (ctes.length === 0) return sql;
  const defs = ctes.map((c) => `${quoteIdent(c.name)} as (\n${c.sql}\n)`).join(',\n');
  const start = statementStart(sql);
  const m = /^with(\s+recursive)?\s/i.exec(sql.slice(start));
  if (m) {
    const head = sql.slice(0, start) + (m[1] ? 'with recursive ' : 'with ');
    return `${head}${defs},\n${sql.slice(start + m[0].length)}`;
  }
  return `${sql.slice(0, start)}with ${defs}\n${sql.slice(start)}`;
}

/**
 * Offsets of the semicolons that end a statement: outside string literals, quoted
 * identifiers, comments and dollar-quoted text. Used to point at where a second statement
 * begins; whether there is one is DuckDB's parser's to say.
 */
export function statementSeparators(sql: string): number[] {
  const out: number[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      // A doubled quote inside is the quote itself; E'...' strings also take backslash escapes.
      const escapes = c === "'" && /[eE]/.test(sql[i - 1] ?? '') && !/[\w$]/.test(sql[i - 2] ?? '');
      i++;
      while (i < sql.length) {
        if (escapes && sql[i] === '\\') i += 2;
        else if (sql[i] === c && sql[i + 1] === c) i += 2;
        else if (sql[i] === c) break;
        else i++;
      }
      i++;
    } else if (sql.startsWith('--', i)) {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl + 1;
    } else if (sql.startsWith('/*', i)) {
      let depth = 1;
      i += 2;
      while (i < sql.length && depth > 0) {
        const step = sql.startsWith('/*', i) ? 1 : sql.startsWith('*/', i) ? -1 : 0;
        depth += step;
        i += step === 0 ? 1 : 2;
      }
    } else if (c === '$' && !/[\w$]/.test(sql[i - 1] ?? '')) {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i, i + 64));
      if (!tag) {
        i++;
        continue;
      }
      const close = sql.indexOf(tag[0], i + tag[0].length);
      i = close < 0 ? sql.length : close + tag[0].length;
    } else {
      if (c === ';') out.push(i);
      i++;
    }
  }
  return out;
}

/** The text of each statement of `sql` from its first keyword on (comments and whitespace before it left out), empty ones skipped. */
export function statementHeads(sql: string): string[] {
  const starts = [0, ...statementSeparators(sql).map((i) => i + 1)];
  return starts.flatMap((from, k) => {
    const text = sql.slice(from, k + 1 < starts.length ? starts[k + 1] - 1 : sql.length);
    const at = statementStart(text);
    return at >= text.length ? [] : [text.slice(at)];
  });
}
