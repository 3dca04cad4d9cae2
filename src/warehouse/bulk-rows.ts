import { quoteIdent, quoteLiteral } from '../sql/sql-text.js';

/**
 * Rows appended in one statement, and read back as one value (gatheredAsJson). Many rows go
 * as one JSON text that DuckDB parses (`from_json`): DuckDB parses and binds a VALUES list row by row, about 0.1 ms a row, so the
 * run state of 10,000 tasks took seconds to record, and the JSON text of the same rows takes a
 * tenth of that. A few rows go as a VALUES list: reading JSON costs about a millisecond
 * whatever its size, and a task's own outcome is one row.
 */

/** From this many rows on, the JSON text. */
const JSON_FROM_ROWS = 16;

/** A column of the rows: its JSON type (what from_json reads), and the expression of the table's value from `r.<name>` when it is not the value itself. */
export interface BulkColumn {
  readonly name: string;
  readonly type: 'VARCHAR' | 'BIGINT' | 'INTEGER';
  readonly value?: (field: string) => string;
}

/** An epoch-milliseconds BIGINT read as a TIMESTAMP (UTC), as the run state stores times. */
export const timestampFromMs = (field: string) => `make_timestamp(${field}::BIGINT * 1000)`;

/** A JSON text read as a JSON value. */
export const json = (field: string) => `CAST(${field} AS JSON)`;

/**
 * `INSERT INTO table (columns) SELECT … FROM` the rows, each an object with a value (or null)
 * for every column; undefined when there are none.
 */
export function insertRowsSql(table: string, columns: readonly BulkColumn[], rows: readonly Readonly<Record<string, string | number | null | undefined>>[]): string | undefined {
  if (rows.length === 0) return undefined;
  if (rows.length < JSON_FROM_ROWS) return valuesSql(table, columns, rows);
  const shape = `{${columns.map((c) => `${JSON.stringify(c.name)}:${JSON.stringify(c.type)}`).join(',')}}`;
  const text = JSON.stringify(rows.map((r) => Object.fromEntries(columns.map((c) => [c.name, r[c.name] ?? null]))));
  const values = columns.map((c) => {
    const field = `r.${quoteIdent(c.name)}`;
    return c.value ? c.value(field) : field;
  });
  return `INSERT INTO ${table} (${columns.map((c) => quoteIdent(c.name)).join(', ')})
SELECT ${values.join(', ')} FROM (SELECT unnest(from_json(${quoteLiteral(text)}, ${quoteLiteral(`[${shape}]`)})) AS r)`;
}

/** The same rows as a VALUES list, each value a literal given to the column's expression. */
function valuesSql(table: string, columns: readonly BulkColumn[], rows: readonly Readonly<Record<string, string | number | null | undefined>>[]): string {
  const literal = (c: BulkColumn, v: string | number | null | undefined) => {
    if (v === null || v === undefined) return 'NULL';
    const text = typeof v === 'number' ? String(v) : quoteLiteral(v);
    return c.value ? c.value(text) : text;
  };
  const values = rows.map((r) => `(${columns.map((c) => literal(c, r[c.name])).join(', ')})`);
  return `INSERT INTO ${table} (${columns.map((c) => quoteIdent(c.name)).join(', ')}) VALUES ${values.join(',\n')}`;
}

/**
 * Rows read in one value: the expression that gathers `columns` of the rows, in ascending
 * order of the column `orderBy`, into one JSON text (`[]` for none), which jsonRows reads back.
 * DuckDB hands over one value much faster than many rows: 10,000 rows read row by row into
 * objects took two to three times as long.
 *
 * Every order pipe's own queries rely on is written ASC or DESC: a project's `settings:` are set
 * on every connection, pipe's too, and `default_order: desc` turns a bare ORDER BY around.
 */
export function gatheredAsJson(columns: readonly string[], orderBy: string): string {
  return `coalesce(to_json(list({${columns.map((c) => `${quoteLiteral(c)}: ${c}`).join(', ')}} ORDER BY ${orderBy} ASC)), '[]')::VARCHAR`;
}

/** The rows of a value gatheredAsJson made. */
export function jsonRows<T>(value: unknown): T[] {
  return JSON.parse(String(value)) as T[];
}
