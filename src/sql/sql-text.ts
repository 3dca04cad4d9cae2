/** Small, pure helpers for SQL and template text; shared by analysis and the materialization strategies. */

/** A name as DuckDB compares names (of tables, columns, schemas): its ASCII letters folded to lower case, no other (`Ä` and `ä` are two names). */
export function foldedName(name: string): string {
  return name.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * A query's rows as a relation gives them, and as a table created from the query has its
 * columns: two columns the query names alike are `id` and `id_1` here, `id` twice in the query
 * alone. The query keeps its own lines, so that an error's line maps back to its file.
 */
export function queryRows(sql: string): string {
  return `SELECT * FROM (\n${sql}\n) AS "__pipe_rows"`;
}

/** A string as a regular expression that matches it literally. */
export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function quoteLiteral(value: string): string {
  const quoted = `'${value.replaceAll("'", "''")}'`;
  // DuckDB's parser ends a statement's text at a NUL character: one inside a value is chr(0).
  return value.includes('\u0000') ? `(${quoted.replaceAll('\u0000', "' || chr(0) || '")})` : quoted;
}

/** `"schema"."name"`, or `"catalog"."schema"."name"` given three parts. */
export function relationName(...parts: [schema: string, name: string] | [catalog: string, schema: string, name: string]): string {
  return parts.map(quoteIdent).join('.');
}

/**
 * A relation of the warehouse's own database as pipe names it: `"schema"."name"`, but for a
 * schema named as the database is (`dev` in `dev.duckdb`): DuckDB cannot tell `"dev"."a"`, the
 * schema's table, from the database's table `a` and refuses it, so that name begins with the
 * database, `"dev"."dev"."a"`, as dbt-duckdb writes every name. DuckDB tells `main` apart.
 */
export function ownRelationName(database: string, schema: string, name: string): string {
  return schemaNamedAsDatabase(database, schema) ? relationName(database, schema, name) : relationName(schema, name);
}

/** Whether a schema of the warehouse's own database has that database's name (see ownRelationName). */
export function schemaNamedAsDatabase(database: string, schema: string): boolean {
  return schema !== 'main' && schema.toLowerCase() === database.toLowerCase();
}

/** The parts of a relation's name as relationName writes them, unquoted. */
export function relationNameParts(relation: string): string[] {
  const parts: string[] = [];
  let i = 0;
  while (i < relation.length) {
    if (relation[i] !== '"') throw new Error(`internal error: ${relation} is not a quoted relation name`);
    let part = '';
    for (i++; i < relation.length; i++) {
      if (relation[i] === '"') {
        if (relation[i + 1] !== '"') break;
        i++;
      }
      part += relation[i];
    }
    parts.push(part);
    i += 2; // the closing quote and the dot
  }
  return parts;
}

/** The relation of another name beside `relation`, in its schema (and database, where its name has one). */
export function siblingRelation(relation: string, name: string): string {
  return [...relationNameParts(relation).slice(0, -1), name].map(quoteIdent).join('.');
}

/** Where a `--` comment starting at `from` ends: DuckDB's parser ends one at a carriage return as at a line feed. -1: at the end of the text. */
export function commentLineEnd(sql: string, from: number): number {
  for (let i = from; i < sql.length; i++) if (sql[i] === '\n' || sql[i] === '\r') return i;
  return -1;
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
      const nl = commentLineEnd(sql, i);
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

/** A piece of SQL text as DuckDB's parser reads it: code, or a comment, string literal or quoted identifier whole. */
export interface SqlPiece {
  readonly kind: 'code' | 'comment' | 'string' | 'identifier';
  readonly start: number;
  readonly end: number;
  /** False for a comment, string or quoted identifier left open: it runs to the end of the text. */
  readonly closed: boolean;
}

const IDENTIFIER_CHAR = /[A-Za-z0-9_$]/;
/** The characters that may open a comment, a string or a quoted identifier. */
const OPENER = /[-/"'$]/g;
const DOLLAR_TAG = /\$([A-Za-z_][A-Za-z0-9_]*)?\$/y;

/**
 * `sql` cut into code and the comments (`--` to the end of the line, block comments nested),
 * string literals (quoted, `E'…'` with backslash escapes, dollar-quoted) and quoted
 * identifiers between it, in order, covering the whole text.
 */
export function sqlPieces(sql: string): SqlPiece[] {
  const out: SqlPiece[] = [];
  let code = 0;
  let i = 0;
  const piece = (kind: SqlPiece['kind'], end: number | undefined) => {
    if (code < i) out.push({ kind: 'code', start: code, end: i, closed: true });
    out.push({ kind, start: i, end: end ?? sql.length, closed: end !== undefined });
    i = end ?? sql.length;
    code = i;
  };
  while (i < sql.length) {
    // Code up to the next character that may open a piece is passed over at once.
    OPENER.lastIndex = i;
    if (!OPENER.test(sql)) break;
    i = OPENER.lastIndex - 1;
    const c = sql[i];
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const eol = commentLineEnd(sql, i);
      piece('comment', eol === -1 ? sql.length : eol);
    } else if (c === '/' && next === '*') piece('comment', commentEnd(sql, i));
    else if (c === '"') piece('identifier', closingQuote(sql, i, '"', false));
    else if (c === "'") piece('string', closingQuote(sql, i, "'", (sql[i - 1] === 'E' || sql[i - 1] === 'e') && !IDENTIFIER_CHAR.test(sql[i - 2] ?? ' ')));
    else if (c === '$' && !IDENTIFIER_CHAR.test(sql[i - 1] ?? ' ')) {
      DOLLAR_TAG.lastIndex = i;
      const tag = DOLLAR_TAG.exec(sql);
      if (!tag) {
        i++;
        continue;
      }
      const close = sql.indexOf(tag[0], i + tag[0].length);
      piece('string', close === -1 ? undefined : close + tag[0].length);
    } else i++;
  }
  if (code < sql.length) out.push({ kind: 'code', start: code, end: sql.length, closed: true });
  return out;
}

/**
 * `sql` with each comment made one space, strings and quoted identifiers kept as they are: a
 * glob in a string (a folder, a slash, a star) opens no comment, and a block comment between
 * two keywords no longer parts them.
 */
export function withoutComments(sql: string): string {
  if (!sql.includes('--') && !sql.includes('/*')) return sql;
  return sqlPieces(sql)
    .map((p) => (p.kind === 'comment' ? ' ' : sql.slice(p.start, p.end)))
    .join('');
}

/**
 * `sql` as DuckDB's parser reads it, for telling whether two texts are one query: each comment,
 * and each run of whitespace between tokens, made one space, the ends trimmed; string literals
 * and quoted identifiers byte for byte (a line break inside a string is data). Text with a
 * comment, string or identifier left open is returned as it is.
 */
export function withoutLayout(sql: string): string {
  const pieces = sqlPieces(sql);
  if (pieces.some((p) => !p.closed)) return sql;
  // DuckDB's whitespace: no other space character separates tokens (a no-break space is part of a name).
  const collapsed = (code: string) => code.replace(/[ \t\n\r\f\v]+/g, ' ');
  let out = '';
  let code = '';
  for (const p of pieces) {
    if (p.kind === 'comment') code += ' ';
    else if (p.kind === 'code') code += sql.slice(p.start, p.end);
    else {
      out += collapsed(code) + sql.slice(p.start, p.end);
      code = '';
    }
  }
  out += collapsed(code);
  return out.slice(out.startsWith(' ') ? 1 : 0, out.endsWith(' ') ? -1 : undefined);
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

/**
 * Offsets of the semicolons that end a statement: in the code, outside string literals,
 * quoted identifiers, comments and dollar-quoted text. Used to point at where a second
 * statement begins; whether there is one is DuckDB's parser's to say.
 */
export function statementSeparators(sql: string): number[] {
  const out: number[] = [];
  for (const p of sqlPieces(sql)) {
    if (p.kind !== 'code') continue;
    for (let j = sql.indexOf(';', p.start); j !== -1 && j < p.end; j = sql.indexOf(';', j + 1)) out.push(j);
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

/**
 * Dates and times written in a query (`'2024-01-05'`, `2024-01-05 00:00:00`, `20240105`) made
 * one mark: the queries of a model's dates differ in these alone, and parse and bind alike (a
 * date written for another never changes how the text reads), so a backfill's are checked once
 * a shape, not once a date. A key, never a query to run.
 */
export function withoutDates(sql: string): string {
  return sql.replace(DATE_TEXT, '\u0000');
}

/** Whether a text holds a date or time as withoutDates finds them. */
export function hasDateText(text: string): boolean {
  DATE_TEXT.lastIndex = 0;
  return DATE_TEXT.test(text);
}

const DATE_TEXT = /\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?|\b\d{8}(?:T?\d{2})?\b/g;
