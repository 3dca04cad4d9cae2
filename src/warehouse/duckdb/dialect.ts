import { formatDate, formatTimestamp } from '../../dates/dates.js';
import { escapeRegExp, queryRows, quoteIdent, quoteLiteral, relationName } from '../../sql/sql-text.js';
import { PARTITION_OFFSET_ERROR, type Column, type CsvFault, type CsvRowProblem, type Dialect, type ErrorLine, type RelationKind, type SeedRead, type SeedValueCheck } from '../dialect.js';
import { WarehouseError, type WarehouseSession } from '../warehouse.js';
import { causeOf } from './error-causes.js';
import { pinnedSessionChange } from './session-changes.js';
import { flatString } from '../../util/flat-string.js';

/** The `latest` of a query of one row (see latestLoadedAt), with its type and whether that is a time. */
const latestOf = (query: string, also?: string) =>
  `SELECT typeof(latest) AS type, typeof(latest) IN (${LOADED_AT_TYPES}) AS is_time, CASE WHEN typeof(latest) IN (${LOADED_AT_TYPES}) THEN epoch_ms(CAST(CAST(latest AS VARCHAR) AS TIMESTAMPTZ)) END AS latest${also === undefined ? '' : `, ${also}`} FROM (${query})`;

/**
 * The types whose latest value is an instant (see latestLoadedAt), as SQL literals: a timestamp
 * of any precision, with or without time zone, or a date. Each is read through its text, which
 * any of them casts from (an integer has no cast to a time at all, even in a branch never taken).
 */
const LOADED_AT_TYPES = ['TIMESTAMP', 'TIMESTAMP WITH TIME ZONE', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS', 'DATE'].map(quoteLiteral).join(', ');

/** Up to this many values, memberOf lists them as literals. */
const FEW_VALUES = 64;

/** DuckDB's exact numeric types: the decimals each keeps. */
function scaleOf(type: string): number | undefined {
  if (/^U?(?:TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)$/.test(type)) return 0;
  const decimal = /^DECIMAL\(\d+, ?(\d+)\)$/.exec(type);
  return decimal ? Number(decimal[1]) : undefined;
}

const INSTANTS = new Set(['DATE', 'TIMESTAMP', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS']);
const FLOATS = new Set(['DOUBLE', 'FLOAT', 'REAL']);

/**
 * A number's text `x` as one text per number: its sign, its significant digits and the power
 * of ten before them (`-0.00123` and `-1.23e-3` are both `-123e-2`), so that two ways of
 * writing a number compare equal.
 */
function canonicalNumber(x: string): string {
  const t = `lower(trim(${x}))`;
  const body = `ltrim(${t}, '+-')`;
  const mantissa = `regexp_replace(${body}, 'e.*$', '')`;
  const exponent = `coalesce(TRY_CAST(regexp_extract(${body}, 'e([+-]?[0-9]+)$', 1) AS BIGINT), 0)`;
  const digits = `replace(${mantissa}, '.', '')`;
  const leading = `(length(${digits}) - length(ltrim(${digits}, '0')))`;
  const significant = `rtrim(ltrim(${digits}, '0'), '0')`;
  const sign = `CASE WHEN starts_with(${t}, '-') THEN '-' ELSE '' END`;
  return `(CASE WHEN ${significant} = '' THEN '0' ELSE ${sign} || ${significant} || 'e' || (${exponent} + length(split_part(${mantissa}, '.', 1)) - ${leading})::VARCHAR END)`;
}

/**
 * A CASE that names the ValueChange of a seed's value `v` (text, NULL for an empty field)
 * loading into the check's type, NULL when it loads as it reads; undefined for a type that
 * keeps what it is given (text, a declared DOUBLE). A value the type refuses outright is left
 * to the load, which fails at its line. Each CASE first asks whether the text could change at
 * all (a '.' or an exponent for a number, an offset's sign after the date...), a search of a
 * few bytes, so that the casts that tell are made for few values: a file of millions of rows
 * is checked in about the time DuckDB takes to read it.
 */
function valueChange(v: string, check: SeedValueCheck): string | undefined {
  const { type, inferred } = check;
  const loaded = `TRY_CAST(${v} AS ${type})`;
  const any = (...needles: string[]) => needles.map((n) => `contains(${v}, '${n}')`).join(' OR ');
  const scale = scaleOf(type);
  if (scale !== undefined) {
    // Decimals past the scale with a digit other than 0; with an exponent, compared as numbers.
    const decimals = `regexp_matches(${v}, '^\\s*[+-]?[0-9]*\\.[0-9]{${scale}}[0-9]*[1-9][0-9]*\\s*$')`;
    const exponent = `regexp_matches(${v}, '[eE]') AND TRY_CAST(${v} AS DOUBLE) <> TRY_CAST(${loaded} AS DOUBLE)`;
    const rounded = `WHEN ${loaded} IS NULL THEN NULL WHEN ${decimals} OR (${exponent}) THEN 'rounded'`;
    // An inferred integer: the engine also reads 0x1F, 0b101, 1_000 and 1e3 as numbers.
    if (inferred && scale === 0) return `CASE WHEN NOT regexp_matches(${v}, '[.eExXbB_]') THEN NULL ${rounded} ELSE 'notation' END`;
    return `CASE WHEN NOT regexp_matches(${v}, '[.eE]') THEN NULL ${rounded} END`;
  }
  if (FLOATS.has(type)) {
    // Past the type's range: a number too large loads as inf, one too small as 0 (1e400, -1e-400).
    const range = `WHEN isinf(${loaded}) AND NOT contains(lower(${v}), 'inf') OR ${loaded} = 0 AND regexp_matches(${v}, '^[^eE]*[1-9]') THEN 'range'`;
    // Significant digits: the mantissa's digits, leading zeros left out; a short text has few.
    // More than 15 may still be the number the DOUBLE holds (1.7976931348623157e308): it is when
    // the DOUBLE, printed as the engine prints it (the shortest text that reads back as it), is
    // the same number.
    const digits = `length(ltrim(regexp_replace(regexp_replace(${v}, '[eE].*$', ''), '[^0-9]', '', 'g'), '0'))`;
    const other = `${canonicalNumber(v)} <> ${canonicalNumber(`CAST(${loaded} AS VARCHAR)`)}`;
    const many = inferred && type === 'DOUBLE' ? ` WHEN length(${v}) > 15 AND ${digits} > 15 AND ${other} THEN 'digits'` : '';
    return `CASE WHEN NOT (length(${v}) > 15 OR ${any('e', 'E')}) OR ${loaded} IS NULL THEN NULL ${range}${many} END`;
  }
  if (INSTANTS.has(type)) {
    // An offset's sign follows the date (of 8 characters at least), a time of day makes a date longer than 10.
    const could = [`contains(${v}, '+')`, `contains(substr(${v}, 9), '-')`, type === 'DATE' ? `length(${v}) > 10` : `contains(${v}, '.')`];
    const infinite = inferred ? ` WHEN (${any('n', 'N')}) AND regexp_matches(${v}, '^\\s*[+-]?inf', 'i') AND ${loaded} IS NOT NULL THEN 'infinite'` : '';
    // Every session's TimeZone is UTC: a value without an offset is the same instant either way.
    const exact = `TRY_CAST(${v} AS TIMESTAMPTZ)`;
    return `CASE${infinite} WHEN NOT (${could.join(' OR ')}) OR ${loaded} IS NULL THEN NULL WHEN ${exact} <> CAST(${loaded} AS TIMESTAMPTZ) THEN
      CASE WHEN ${exact} <> CAST(TRY_CAST(${v} AS TIMESTAMP) AS TIMESTAMPTZ) THEN 'offset' ELSE 'truncated' END END`;
  }
  return undefined;
}

/**
 * How every seed is read: fields separated by its delimiter (a comma unless its config says
 * otherwise) with `"` quotes (a dbt project's seed: the quotes DuckDB's sniffer finds, see
 * SeedRead.sniffedQuotes), the header on line 1, every row as wide as the header, comments not
 * recognised. DuckDB infers only the column types; left to guess the layout too, it reads a
 * malformed file as one text column or drops rows without an error. In strict mode a row it
 * cannot read is an error naming its line.
 */
const csvLayout = (seed: SeedRead) =>
  `header = true, skip = 0, delim = ${quoteLiteral(seed.delimiter ?? ',')}${seed.sniffedQuotes ? '' : `, quote = '"', escape = '"'`}, comment = '', strict_mode = true, null_padding = false, ignore_errors = false${
    seed.names === undefined ? '' : `, names = [${seed.names.map(quoteLiteral).join(', ')}]`
  }`;

/**
 * Types Parquet does not keep as DuckDB has them, in a value or nested in one: a HUGEINT comes
 * back a DOUBLE (its digits past 2^53 lost), a UNION, BIT or VARINT not at all. Their values
 * go through text, which casts back exactly.
 */
const keptAsText = (type: string) => /HUGEINT|UNION\(|\bBIT\b|VARINT|BIGNUM/i.test(type);

/** DuckDB prefixes every message with its kind: "Binder Error: ...". */
const KIND_RE = /^([A-Za-z ]+?) Error: /;

/** DuckDB wants DROP VIEW for a view and DROP TABLE for a table. */
function dropRelation(relation: string, kind: RelationKind | undefined): string[] {
  if (kind === 'view') return [`DROP VIEW IF EXISTS ${relation}`];
  if (kind === 'table') return [`DROP TABLE IF EXISTS ${relation}`];
  return [];
}

/** Tables and views of the open database, temporary ones and DuckDB's own views left out. */
const RELATIONS = `SELECT database_name, schema_name, table_name AS name, 'table' AS type FROM duckdb_tables()
       WHERE database_name = current_database() AND NOT temporary
     UNION ALL
     SELECT database_name, schema_name, view_name, 'view' FROM duckdb_views()
       WHERE database_name = current_database() AND NOT internal AND NOT temporary`;

/**
 * DuckDB's words where they would leave the reader guessing, said in full: a schema that has
 * the name of an attached database makes every two-part name in it ambiguous. The rest of the
 * message (the statement's line) stays as it was.
 */
function explained(raw: string): string {
  // DuckDB's guess at the name meant may be one of pipe's own staging tables, which no query should name.
  const message = withCandidatesInLine(raw.replace(/\nDid you mean "[^"\n]*__pipe_[^"\n]*"\?/, ''));
  const ambiguous = /^Binder Error: Ambiguous reference to catalog or schema "((?:[^"]|"")*)"[^\n]*/.exec(message);
  if (!ambiguous) return message;
  const name = ambiguous[1];
  return message.replace(
    ambiguous[0],
    `Binder Error: "${name}" is both a schema of the warehouse and an attached database, and DuckDB cannot tell which a name such as ${name}.orders means: write it in full (${name}.main.orders for the attached database's table, the warehouse's name first for the schema's), or rename the schema or the attachment's alias`,
  );
}

/**
 * DuckDB's list of a function's signatures after a call that matches none (`sum(VARCHAR)`),
 * a line each with its result type, on one line: the types it takes are what to read, and ten
 * lines of them would bury the line of the query below.
 */
function withCandidatesInLine(message: string): string {
  const m = /\n\tCandidate functions:\n((?:\t[^\n]*\n?)+)/.exec(message);
  if (!m) return message;
  const signatures = m[1].split('\n').map((l) => l.trim().replace(/ -> .*$/, '')).filter((l) => l !== '');
  return `${message.slice(0, m.index)}\nits signatures: ${signatures.join(', ')}${message.slice(m.index + m[0].length).replace(/^\n+/, '\n')}`;
}

/**
 * DuckDB names the line of the statement it executed as `LINE 14: ` before quoting it. An error
 * raised as a table function is bound (an HTTP 503 answering read_csv's first request) numbers
 * the line of another text than the statement run (LINE 3 of a statement of two lines): given
 * the statement, the number stands when its line holds the quote, or when no single other line does.
 */
function errorLine(message: string, statement?: string): ErrorLine | undefined {
  const m = /\bLINE (\d+): /.exec(message);
  if (!m) return undefined;
  const named = { line: Number(m[1]), marker: m[0] };
  const quote = message.slice(m.index + m[0].length).split('\n')[0].replace(/^\.\.\.|\.\.\.$/g, '').trim();
  if (statement === undefined || quote === '') return named;
  const lines = statement.split('\n');
  const holding = lines[named.line - 1]?.includes(quote) ? [named.line] : lines.flatMap((l, i) => (l.includes(quote) ? [i + 1] : []));
  const found = holding.length === 1 ? { ...named, line: holding[0] } : named;
  // A cast that fails in a view the statement reads is numbered as if the view's text were the
  // statement's: the caret then points at no cast of the column (DuckDB points at `cast(`, at
  // `::`, or at the column an implicit cast reads), nor do the line and the next ones read it.
  const column = /when casting from source column (.+)$/m.exec(message)?.[1].trim();
  if (column === undefined || holding.length === 0) return found;
  const atCaret = castAtCaret(message.slice(m.index + m[0].length), named.marker.length, column);
  if (atCaret !== undefined) return atCaret ? found : { ...found, notOfLine: `casts no column ${column} where DuckDB points` };
  const near = lines.slice(found.line - 1, found.line + 2).join('\n').toLowerCase();
  return near.includes(column.toLowerCase()) ? found : { ...found, notOfLine: `reads no column ${column}` };
}

/**
 * Whether DuckDB's caret under the quoted line (`after`: the quote, then the caret's line,
 * indented by the marker's `indent` too) points at a cast of `column`: `cast(`, `try_cast(`,
 * `::`, or the column itself; undefined when the quote is cut short (`...`) or has no caret.
 */
function castAtCaret(after: string, indent: number, column: string): boolean | undefined {
  const [quote, caretLine] = after.split('\n');
  const caret = caretLine === undefined ? -1 : caretLine.indexOf('^');
  if (quote.startsWith('...') || caret < indent || caret - indent > quote.length) return undefined;
  const at = quote.slice(caret - indent);
  const before = quote[caret - indent - 1] ?? ' ';
  if (/^(?:try_)?cast\s*\(/i.test(at) || at.startsWith('::')) return true;
  return !/[\w$"]/.test(before) && new RegExp(`^"?${escapeRegExp(column)}"?(?![\\w$])`, 'i').test(at);
}

/** What DuckDB says is wrong with a CSV row. */
function csvRowProblem(message: string): CsvRowProblem {
  const columns = /Expected Number of Columns: (\d+) Found: (\d+)/.exec(message);
  if (columns) return { kind: 'field-count', expected: Number(columns[1]), found: Number(columns[2]) };
  if (/Value with unterminated quote found/.test(message)) return { kind: 'unterminated-quote' };
  const cast = /^Error when converting column "(.*)"\. Could not convert string "(.*)" to '(.+)'\s*$/m.exec(message);
  if (cast) return { kind: 'conversion', column: cast[1], value: cast[2], type: cast[3] };
  if (/Invalid unicode/.test(message)) return { kind: 'not-utf8' };
  const size = /Maximum line size of (\d+) bytes exceeded/.exec(message);
  if (size) return { kind: 'too-long', limit: Number(size[1]) };
  // Otherwise the reason is the last line before DuckDB's advice and settings.
  const body = message.split(/\n(?:Possible fixes:|\s+file = )/)[0].split('\n');
  const last = body.reverse().find((l) => l.trim() !== '' && !l.startsWith('Original Line:'));
  return { kind: 'other', text: last?.trim() };
}

/**
 * DuckDB numbers CSV records ("CSV Error on Line: 4", the header being 1). When it finds no
 * consistent reading of the first rows (it reads them before any row when inferring types)
 * it says so without a line.
 */
function csvFault(message: string): CsvFault | undefined {
  const row = /CSV Error on Line: (\d+)/.exec(message);
  if (row) return { kind: 'row', record: Number(row[1]), problem: csvRowProblem(message) };
  if (/Error when sniffing file/.test(message)) return { kind: 'unreadable' };
  return undefined;
}

async function describe(session: WarehouseSession, what: string): Promise<Column[]> {
  const rows = await session.query(`DESCRIBE ${what}`);
  return rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
}

/**
 * The typeless condition of `inInterval` for a column of a type whose values compare with the
 * interval's bounds without a cast of every value: a TIMESTAMP against them, a DATE (whose
 * timestamp is its midnight) against the first dates whose midnight is not before each bound.
 * On millions of rows a date, the casts of the typeless form cost a tenth of the write.
 */
function typedInInterval(column: string, start: number, end: number, type: string | undefined): string | undefined {
  switch (type) {
    case 'TIMESTAMP':
      return `${column} >= TIMESTAMP '${formatTimestamp(start)}' AND ${column} < TIMESTAMP '${formatTimestamp(end)}'`;
    case 'DATE':
      return `${column} >= DATE '${formatDate(firstMidnightFrom(start))}' AND ${column} < DATE '${formatDate(firstMidnightFrom(end))}'`;
    default:
      return undefined;
  }
}

/**
 * Whether a value `v` of a partition column is text with a UTC offset other than UTC's own
 * ('2024-01-01T22:00:00-05:00'): DuckDB reads such text as a TIMESTAMP by its wall clock,
 * dropping the offset, so its date is not its date in UTC. NULL for a value that is no such
 * text (or no date). Every session's TimeZone is UTC: a value without an offset, and a DATE, a
 * TIMESTAMP or a TIMESTAMPTZ, is the same instant either way.
 */
const withOffset = (v: string) => `TRY_CAST(${v} AS TIMESTAMPTZ) <> CAST(TRY_CAST(${v} AS TIMESTAMP) AS TIMESTAMPTZ)`;

/**
 * True for a partition column's value, but an error at text with an offset: which date such
 * a value belongs to is ambiguous (the one written, which a cast to TIMESTAMP keeps, or its
 * date in UTC), and a run placing it by one and a query filtering by the other would put rows
 * in the wrong partition unseen.
 */
const noOffset = (v: string) => `CASE WHEN ${withOffset(v)} THEN error(${quoteLiteral(PARTITION_OFFSET_ERROR)} || CAST(${v} AS VARCHAR)) ELSE true END`;

const DAY_MS = 86_400_000;
/** The first midnight (UTC, epoch ms) at or after `ms`. */
const firstMidnightFrom = (ms: number) => Math.ceil(ms / DAY_MS) * DAY_MS;

/** DuckDB, pipe's embedded default. */
/** A staged row and a row of the table alike in `columns`, NULL alike to NULL. */
const sameRow = (columns: readonly string[]) => columns.map((c) => `"__pipe_staged".${quoteIdent(c)} IS NOT DISTINCT FROM "__pipe_target".${quoteIdent(c)}`).join(' AND ');

export const DUCKDB: Dialect = {
  name: 'DuckDB',
  pinnedSessionChange,
  // DuckDB's transactions conflict only on the same rows (and on the catalog).
  concurrentPartitions: true,

  stageTable: (relation, sql) => `CREATE OR REPLACE TABLE ${relation} AS\n${sql}`,
  stageTempTable: (name, sql) => `CREATE OR REPLACE TEMP TABLE ${quoteIdent(name)} AS\n${sql}`,
  tempRelation: (name) => relationName('temp', 'main', name),
  createView: (relation, sql) => `CREATE OR REPLACE VIEW ${relation} AS\n${sql}`,
  dropRelation,
  dropTable: (relation) => `DROP TABLE IF EXISTS ${relation}`,
  // Renaming within the schema: publishing is a rename, not a copy.
  // A table of the name is dropped even when none stood there at plan time: another run of the
  // process may have published one since (the engine serializes the two publishes).
  swapIn: (staging, relation, name, kind) => [...dropRelation(relation, kind ?? 'table'), `ALTER TABLE ${staging} RENAME TO ${quoteIdent(name)}`],
  inInterval(column, start, end, type) {
    const typed = typedInInterval(quoteIdent(column), start, end, type);
    if (typed !== undefined) return flatString(typed);
    const c = `CAST(${quoteIdent(column)} AS TIMESTAMP)`;
    const [from, to] = [`TIMESTAMP '${formatTimestamp(start)}'`, `TIMESTAMP '${formatTimestamp(end)}'`];
    // The condition is the second pair. DuckDB cannot skip row groups by a cast of a DATE
    // column, so it scanned the whole table for every date; the first pair, implied by the
    // second (a value's date is that of its timestamp, for text too), is the column itself
    // when it is a DATE, and skips the row groups of other dates.
    const d = `CAST(${quoteIdent(column)} AS DATE)`;
    return flatString(`${d} >= CAST(${from} AS DATE) AND ${d} < CAST(${to} AS DATE) + 1 AND ${noOffset(quoteIdent(column))} AND ${c} >= ${from} AND ${c} < ${to}`);
  },
  undatedValue(column, rows) {
    const c = quoteIdent(column);
    const offset = withOffset(c);
    return `SELECT CAST(${c} AS VARCHAR) AS value, coalesce(${offset}, false) AS "offset" FROM ${rows} WHERE ${c} IS NOT NULL AND (TRY_CAST(${c} AS DATE) IS NULL OR TRY_CAST(${c} AS TIMESTAMP) IS NULL OR ${offset}) LIMIT 1`;
  },
  replacePartition: (target, staging, inside) => ({
    statements: [
      `CREATE TABLE IF NOT EXISTS ${target} AS SELECT * FROM ${staging} LIMIT 0`,
      `DELETE FROM ${target} WHERE ${inside}`,
      `INSERT INTO ${target} BY NAME SELECT * FROM ${staging}`,
      `DROP TABLE ${staging}`,
    ],
    countAt: 2,
  }),
  writePartition(target, sql, inside, outside, create) {
    const rows = queryRows(sql);
    return {
      statements: [
        ...(create ? [`CREATE TABLE IF NOT EXISTS ${target} AS ${rows} LIMIT 0`] : []),
        `DELETE FROM ${target} WHERE ${inside}`,
        // CASE evaluates error() only for the rows that reach it: a row outside stops the insert.
        `INSERT INTO ${target} BY NAME ${rows}\nWHERE CASE WHEN ${inside} THEN true ELSE error(${quoteLiteral(outside)}) END`,
      ],
      countAt: create ? 2 : 1,
    };
  },
  replaceByKey(target, staging, keys, how) {
    const [t, s] = ['"__pipe_target"', '"__pipe_staged"'];
    const match = keys.map((k) => `${s}.${quoteIdent(k)} = ${t}.${quoteIdent(k)}`).join(' AND ');
    const create = `CREATE TABLE IF NOT EXISTS ${target} AS SELECT * FROM ${staging} LIMIT 0`;
    const drop = `DROP TABLE ${staging}`;
    return how === 'merge'
      ? {
          statements: [create, `MERGE INTO ${target} AS ${t} USING ${staging} AS ${s} ON (${match})\nWHEN MATCHED THEN UPDATE BY NAME\nWHEN NOT MATCHED THEN INSERT BY NAME`, drop],
          countAt: 1,
        }
      : {
          // The staged keys once each: rows sharing a key (a date as the key) would otherwise pair every old row with every new one.
          statements: [create, `DELETE FROM ${target} AS ${t} USING (SELECT DISTINCT ${keys.map(quoteIdent).join(', ')} FROM ${staging}) AS ${s} WHERE ${match}`, `INSERT INTO ${target} BY NAME SELECT * FROM ${staging}`, drop],
          countAt: 2,
        };
  },
  appendRows(target, staging) {
    return {
      statements: [`CREATE TABLE IF NOT EXISTS ${target} AS SELECT * FROM ${staging} LIMIT 0`, `INSERT INTO ${target} BY NAME SELECT * FROM ${staging}`, `DROP TABLE ${staging}`],
      countAt: 1,
    };
  },
  rowsAlreadyIn: (staging, target, columns) => `(SELECT * FROM ${staging} AS "__pipe_staged" WHERE EXISTS (SELECT 1 FROM ${target} AS "__pipe_target" WHERE ${sameRow(columns)}))`,
  addColumn: (relation, column) => `ALTER TABLE ${relation} ADD COLUMN IF NOT EXISTS ${quoteIdent(column.name)} ${column.type}`,
  dropColumn: (relation, column) => `ALTER TABLE ${relation} DROP COLUMN IF EXISTS ${quoteIdent(column)}`,
  retypeColumn: (relation, column, type) => `ALTER TABLE ${relation} ALTER COLUMN ${quoteIdent(column)} SET DATA TYPE ${type}`,
  // dbt-duckdb's write options and read functions, for the same file and view.
  copyToFile: (relation, path, format, delimiter) =>
    `COPY ${relation} TO ${quoteLiteral(path)} (FORMAT ${format}${format === 'csv' ? `, HEADER 1${delimiter === undefined ? '' : `, DELIMITER ${quoteLiteral(delimiter)}`}` : ''})`,
  fileView(view, path, format, nullRow) {
    const read =
      format === 'parquet'
        ? `read_parquet(${quoteLiteral(path)}, union_by_name = false)`
        : `${format === 'csv' ? 'read_csv' : 'read_json'}(${quoteLiteral(path)}, auto_detect = true)`;
    const where = nullRow === undefined ? '' : ` WHERE ${nullRow.map((c) => `${quoteIdent(c)} IS NOT NULL`).join(' AND ') || 'true'}`;
    return `CREATE OR REPLACE VIEW ${view} AS (SELECT * FROM ${read}${where})`;
  },
  rowsToFile: (sql, columns, path) =>
    `COPY (SELECT ${columns.map((c) => (keptAsText(c.type) ? `CAST(${quoteIdent(c.name)} AS VARCHAR) AS ${quoteIdent(c.name)}` : quoteIdent(c.name))).join(', ')} FROM (\n${sql}\n) AS "__pipe_rows") TO ${quoteLiteral(path)} (FORMAT parquet)`,
  rowsFromFile: (path, columns) =>
    `SELECT ${columns.map((c) => `CAST(${quoteIdent(c.name)} AS ${c.type}) AS ${quoteIdent(c.name)}`).join(', ')} FROM read_parquet(${quoteLiteral(path)})`,
  insertNullRow: (relation, columns) => `INSERT INTO ${relation} VALUES (${Array.from({ length: columns }, () => 'NULL').join(', ')})`,
  commentOn: (kind, relation, text) => `COMMENT ON ${kind === 'view' ? 'VIEW' : 'TABLE'} ${relation} IS ${quoteLiteral(text)}`,
  commentOnColumn: (relation, column, text) => `COMMENT ON COLUMN ${relation}.${quoteIdent(column)} IS ${quoteLiteral(text)}`,
  declaredColumns: (columns) => `SELECT ${columns.map((c) => `CAST(NULL AS ${c.dataType}) AS ${quoteIdent(c.name)}`).join(', ')} LIMIT 0`,
  createTableOf: (relation, columns, tableConstraints) =>
    `CREATE OR REPLACE TABLE ${relation} (${[
      ...columns.map((c) => [quoteIdent(c.name), c.dataType, ...c.constraints].join(' ')),
      ...tableConstraints,
    ].join(', ')})`,
  insertByName: (relation, sql) => `INSERT INTO ${relation} BY NAME\n${sql}`,
  // As dbt-adapters' default: the text of each part (NULL as empty) joined by '|', hashed with MD5.
  snapshotHash: (parts) => `md5(${parts.map((p) => `coalesce(cast(${p} as varchar), '')`).join(" || '|' || ")})`,
  // dbt-duckdb's snapshot time: now() is the transaction's start, the same for every statement in it.
  snapshotTime: () => 'now()::timestamp',
  snapshotCreate: (relation, select) => ({
    statements: [`CREATE TABLE ${relation} AS\n${select}\nLIMIT 0`, `INSERT INTO ${relation}\n${select}`],
    countAt: 1,
  }),
  snapshotClose(relation, changes, columns, current) {
    const to = quoteIdent(columns.dbt_valid_to);
    const scd = quoteIdent(columns.dbt_scd_id);
    return [
      `UPDATE ${relation} AS snapshot`,
      `SET ${to} = changes.${to}`,
      `FROM ${changes} AS changes`,
      `WHERE changes.${scd}::text = snapshot.${scd}::text`,
      `  AND changes.dbt_change_type::text IN ('update', 'delete')`,
      `  AND ${current === undefined ? `snapshot.${to} IS NULL` : `(snapshot.${to} = ${current} OR snapshot.${to} IS NULL)`}`,
    ].join('\n');
  },
  snapshotInsert(relation, changes, columns) {
    const names = columns.map(quoteIdent);
    return `INSERT INTO ${relation} (${names.join(', ')})\nSELECT ${names.map((n) => `changes.${n}`).join(', ')}\nFROM ${changes} AS changes\nWHERE changes.dbt_change_type::text = 'insert'`;
  },
  seedSelect(seed) {
    const types = Object.entries(seed.columnTypes);
    const typeArg =
      types.length === 0 ? '' : `, types = {${types.map(([c, t]) => `${quoteLiteral(c)}: ${quoteLiteral(t)}`).join(', ')}}`;
    const dates = seed.isoDates ? ", dateformat = '%Y-%m-%d'" : '';
    return `SELECT * FROM read_csv(${quoteLiteral(seed.absPath)}, ${csvLayout(seed)}, auto_detect = true${typeArg}${dates})`;
  },
  sniffedCsvDialect(seed) {
    const bare = (column: string) => `CASE ${column} WHEN '(empty)' THEN '' ELSE ${column} END`;
    return `SELECT ${bare('Quote')} AS quote, ${bare('Escape')} AS escape FROM sniff_csv(${quoteLiteral(seed.absPath)}, delim = ${quoteLiteral(seed.delimiter ?? ',')}, header = true)`;
  },
  seedQuotingDisagreement(seed, quote, escape, columns) {
    const names = Array.from({ length: columns }, (_, i) => `c${i}`);
    const rows = (sniffedQuotes: boolean) =>
      `SELECT row_number() OVER () AS r, * FROM read_csv(${quoteLiteral(seed.absPath)}, ${csvLayout({ ...seed, names, sniffedQuotes })}, all_varchar = true)`;
    const q = quoteLiteral(quote);
    // A quote inside a quoted value is written twice where the escape is the quote itself.
    const inner = (c: string) => (escape === quote ? `replace(s.${c}, ${q}, ${q} || ${q})` : `s.${c}`);
    const agree = names.map((c) => `(d.${c} IS NOT DISTINCT FROM s.${c} OR (s.${c} IS NULL AND d.${c} = ${q} || ${q}) OR d.${c} = ${q} || ${inner(c)} || ${q})`);
    return `SELECT min(coalesce(d.r, s.r)) AS row FROM (${rows(false)}) AS d FULL JOIN (${rows(true)}) AS s ON d.r = s.r
      WHERE d.r IS NULL OR s.r IS NULL OR NOT (${agree.join(' AND ')}) HAVING count(*) > 0`;
  },
  sniffedDateFormats(seed) {
    return `SELECT DateFormat AS date_format, TimestampFormat AS timestamp_format FROM sniff_csv(${quoteLiteral(seed.absPath)}, ${csvLayout(seed)})`;
  },
  seedValueChanges(seed, checks) {
    const checked = checks.flatMap((check, i) => {
      const change = valueChange(`"__pipe_v${i}"`, check);
      return change === undefined ? [] : [{ i, check, change }];
    });
    if (checked.length === 0) return undefined;
    const values = checked.map(({ i, check }) => `${quoteIdent(check.column)} AS "__pipe_v${i}"`).join(', ');
    const found = checked.map(({ i, change }) => `${change} AS change_${i}`).join(', ');
    const read = `SELECT ${values} FROM read_csv(${quoteLiteral(seed.absPath)}, ${csvLayout(seed)}, all_varchar = true)`;
    const columns = checked.map(({ i, check }) =>
      [`CASE WHEN change_${i} IS NOT NULL THEN "__pipe_v${i}" END AS value_${i}`, `change_${i}`, `CASE WHEN change_${i} IS NOT NULL THEN TRY_CAST("__pipe_v${i}" AS ${check.type})::VARCHAR END AS became_${i}`].join(', '),
    );
    // The reader keeps the file's order, so that the first row found is the file's first.
    return `SELECT ${columns.join(', ')} FROM (SELECT *, ${found} FROM (${read})) WHERE ${checked.map(({ i }) => `change_${i} IS NOT NULL`).join(' OR ')} LIMIT 1`;
  },
  ambiguousDates(seed, column, format, swapped) {
    const c = quoteIdent(column);
    const [as, other] = [`try_strptime(${c}, ${quoteLiteral(format)})`, `try_strptime(${c}, ${quoteLiteral(swapped)})`];
    return `SELECT count(*) FILTER (WHERE ${other} IS NULL) = 0 AS ambiguous, min(${c}) FILTER (WHERE ${as} <> ${other}) AS example
      FROM read_csv(${quoteLiteral(seed.absPath)}, ${csvLayout(seed)}, all_varchar = true) WHERE ${c} IS NOT NULL`;
  },
  // The inference reads the first rows before any is loaded, and its failure names no line.
  seedRowsAsText(seed, columns) {
    const fields = Array.from({ length: columns }, (_, i) => `'column${i + 1}': 'VARCHAR'`).join(', ');
    // Its own column names: DuckDB takes names once, and these are all text.
    return `SELECT count(*) AS n FROM read_csv(${quoteLiteral(seed.absPath)}, ${csvLayout({ ...seed, names: undefined })}, auto_detect = false, columns = {${fields}})`;
  },

  timestamp: (ms) => `make_timestamp(${Math.round(ms * 1000)}::BIGINT)`,
  epochMs: (expression) => `epoch_ms(${expression})`,
  // arg_max skips NULLs; arg_max_null does not.
  latest: (value, key) => `arg_max_null(${value}, ${key})`,
  // Beyond a few values, one JSON literal that the engine unpacks as it runs: a list of
  // literals is parsed value by value.
  memberOf(expression, values) {
    if (values.length === 0) return 'FALSE';
    if (values.length <= FEW_VALUES) return `${expression} IN (${values.map(quoteLiteral).join(', ')})`;
    return `${expression} IN (SELECT unnest(from_json(${quoteLiteral(JSON.stringify(values))}, '["VARCHAR"]')))`;
  },
  relations: () => RELATIONS,
  tablesStartingWith: (prefix) => `SELECT database_name, schema_name, table_name FROM duckdb_tables()
     WHERE database_name = current_database() AND starts_with(table_name, ${quoteLiteral(prefix)})`,
  relationKind: (schema, name) =>
    `SELECT 'table' AS type FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ${quoteLiteral(schema)} AND table_name = ${quoteLiteral(name)}
     UNION ALL
     SELECT 'view' FROM duckdb_views() WHERE database_name = current_database() AND schema_name = ${quoteLiteral(schema)} AND view_name = ${quoteLiteral(name)}`,
  tableExists: (schema, name) =>
    `SELECT 1 FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ${quoteLiteral(schema)} AND table_name = ${quoteLiteral(name)}`,

  relationsIn: (database) =>
    `SELECT table_schema AS schema_name, table_name AS name FROM information_schema.tables
     WHERE table_catalog = ${database === undefined ? 'current_database()' : quoteLiteral(database)}`,
  databases: () => 'SELECT DISTINCT catalog_name AS name FROM information_schema.schemata',
  // Every session runs with TimeZone UTC: a TIMESTAMP becomes the same instant in UTC, a DATE its midnight.
  // The type of the latest value beside it: a text's max is the greatest text, not the latest time
  // ('2023-9-05' > '2023-10-01'), so only a time's is read as one.
  latestLoadedAt: (relation, loadedAt, filter) => latestOf(`SELECT max(${loadedAt}\n) AS latest FROM ${relation}${filter === undefined ? '' : ` WHERE (${filter}\n)`}`),
  // The query's first column, of its one row (dbt refuses more than one): `rows` counts them.
  latestOfQuery: (query) => latestOf(`SELECT count(*) AS rows, max(#1) AS latest FROM (${query}\n)`, 'rows'),
  describeQuery: (session, sql) => describe(session, sql),
  // DESCRIBE binds one relation; the catalog-wide duckdb_columns() would cost as much as the whole warehouse.
  async describeRelation(session, relation) {
    try {
      return await describe(session, relation);
    } catch (e) {
      if (e instanceof WarehouseError && e.kind === 'Catalog') return [];
      throw e;
    }
  },
  async typeNames(session) {
    return [...new Set((await session.query('SELECT type_name FROM duckdb_types()')).map((r) => String(r.type_name).toUpperCase()))];
  },
  typeProbe: (absPath, types) =>
    `DESCRIBE SELECT * FROM read_csv(${quoteLiteral(absPath)}, auto_detect = false, header = false, columns = {${types.map((t, i) => `'probe${i}': ${quoteLiteral(t)}`).join(', ')}})`,
  // EXPLAIN plans the statement without running it; the name goes in as dbt-duckdb writes it.
  bareColumnProbe(name) {
    if (!/^[A-Za-z_\u0080-\u{10FFFF}][A-Za-z0-9_$\u0080-\u{10FFFF}]*$/u.test(name)) throw new Error(`internal error: '${name}' is not a bare name`);
    return `EXPLAIN CREATE TEMP TABLE pipe_bare_column_probe (${name} INTEGER)`;
  },
  isUnknownType: (message) => /Type with name .* does not exist|can not be converted to a DuckDB Type/.test(message),

  /** The kind is DuckDB's ("Binder", "IO", ...); whether a retry may cure it is decided by its cause (see error-causes.ts). */
  classify(e) {
    if (e instanceof WarehouseError) return e;
    const message = e instanceof Error ? e.message : String(e);
    const kind = KIND_RE.exec(message)?.[1] ?? 'Unknown';
    return new WarehouseError(explained(message), kind, causeOf(kind, message.split('\n')[0]).errorClass);
  },
  errorLine,
  csvFault,
  headline: (message) => message.split('\n')[0].replace(/^[A-Za-z ]+ Error: /, ''),
  unknownColumn(message) {
    if (!message.startsWith('Binder Error: ')) return undefined;
    const m = /Referenced column "((?:[^"]|"")*)" not found|does not have a column named "((?:[^"]|"")*)"/.exec(message);
    return m ? (m[1] ?? m[2]).replaceAll('""', '"') : undefined;
  },
};
