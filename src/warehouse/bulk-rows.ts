import { quoteIdent, quoteLiteral } from '../sql/sql-text.js';

/**
 * Many rows in one statement, as one JSON text that DuckDB parses (`from_json`), rather than
 * as a VALUES list: DuckDB parses and binds a VALUES list row by row, about 0.1 ms a row, so
 * the run state of 10,000 tasks took seconds to record; the JSON text of the same rows takes
 * a tenth of that.
 */

/** A column of the rows: its JSON type (what from_json reads), and the expression of the table's value from `r.<name>` when it is not the value itself. */
export interface BulkColumn {
  readonly name: string;
  readonly type: 'VARCHAR' | 'BIGINT' | 'INTEGER';
  readonly value?: (field: string) => string;
}

/** An epoch-milliseconds BIGINT read as a TIMESTAMP (UTC), as the run state stores times. */
export const timestampFromMs = (field: string) => `make_timestamp(${field} * 1000)`;

/** A JSON text read as a JSON value. */
export const json = (field: string) => `CAST(${field} AS JSON)`;

/**
 * `INSERT INTO table (columns) SELECT … FROM` the rows, each an object with a value (or null)
 * for every column; undefined when there are none.
 */
export function insertRowsSql(table: string, columns: readonly BulkColumn[], rows: readonly Readonly<Record<string, string | number | null | undefined>>[]): string | undefined {
  if (rows.length === 0) return undefined;
  const shape = `{${columns.map((c) => `${JSON.stringify(c.name)}:${JSON.stringify(c.type)}`).join(',')}}`;
  const text = JSON.stringify(rows.map((r) => Object.fromEntries(columns.map((c) => [c.name, r[c.name] ?? null]))));
  const values = columns.map((c) => {
    const field = `r.${quoteIdent(c.name)}`;
    return c.value ? c.value(field) : field;
  });
  return `INSERT INTO ${table} (${columns.map((c) => quoteIdent(c.name)).join(', ')})
SELECT ${values.join(', ')} FROM (SELECT unnest(from_json(${quoteLiteral(text)}, ${quoteLiteral(`[${shape}]`)})) AS r)`;
}
