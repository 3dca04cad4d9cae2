import { pyStr } from './values.js';

/**
 * The text of agate's `Table.print_table()`, which dbt's `run_query()` results print with (a
 * macro's `{% do results.print_table() %}` in `pipe run-operation`), laid out as dbt-duckdb's
 * prints it: a header, a rule, then a row a line; text left-aligned, any other value right-aligned;
 * a number column with the decimals of its most precise value, at most `max_precision` of them
 * (then each ends in `…`); a value wider than `max_column_width` cut with `...`; rows past
 * `max_rows` and columns past `max_columns` as `...`.
 */

export interface PrintLimits {
  readonly maxRows: number;
  readonly maxColumns: number;
  readonly maxColumnWidth: number;
  readonly maxPrecision: number;
}

export const AGATE_PRINT_DEFAULTS: PrintLimits = { maxRows: 20, maxColumns: 6, maxColumnWidth: 20, maxPrecision: 3 };

const ELLIPSIS = '...';
const NUMBER_CUT = '…';

const NUMERIC_TYPE = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|REAL|DOUBLE|DECIMAL|NUMERIC)\b/i;
const TEXT_TYPE = /^(VARCHAR|TEXT|STRING|CHAR|BPCHAR|UUID|ENUM)\b/i;

export function printedTable(columns: readonly { readonly name: string; readonly type: string }[], rows: readonly (readonly unknown[])[], limits: PrintLimits): string {
  const shown = columns.slice(0, limits.maxColumns);
  const extra = columns.length > shown.length;
  const sample = rows.slice(0, limits.maxRows);
  const numberFormat = shown.map((c, i) => (NUMERIC_TYPE.test(c.type) ? numberFormatter(sample.map((r) => r[i]), limits.maxPrecision) : undefined));
  const cut = (text: string) => (text.length > limits.maxColumnWidth ? `${text.slice(0, Math.max(0, limits.maxColumnWidth - ELLIPSIS.length))}${ELLIPSIS}` : text);
  const more = (out: string[]) => (extra ? [...out, ELLIPSIS] : out);
  const header = more(shown.map((c) => cut(c.name)));
  const body = sample.map((r) => more(shown.map((_, i) => cut(r[i] === null || r[i] === undefined ? '' : (numberFormat[i]?.(r[i]) ?? pyStr(r[i]))))));
  // The widths are of the names and values shown: a row of `...` for those left out does not widen them.
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  if (rows.length > sample.length) body.push(header.map(() => ELLIPSIS));
  const left = [...shown.map((c) => TEXT_TYPE.test(c.type)), false];
  const line = (row: readonly string[]) => `| ${row.map((c, i) => (left[i] ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...body.map(line)].join('\n');
}

/** Python's repr of a number's decimals (`10.0` has one): how many agate counts. */
function places(v: unknown): number {
  const n = Number(typeof v === 'object' && v !== null ? (v as { valueOf(): unknown }).valueOf() : v);
  if (!Number.isFinite(n)) return 0;
  if (typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v) && !isFloatValue(v))) return 0;
  const text = String(n);
  if (text.includes('e')) return 0;
  const dot = text.indexOf('.');
  return dot === -1 ? (isFloatValue(v) ? 1 : 0) : text.length - dot - 1;
}

/** A float whose value is whole (pipe's WholeFloat, DOUBLE 10.0), which Python writes `10.0`. */
function isFloatValue(v: unknown): boolean {
  return typeof v === 'object' && v !== null && typeof (v as { valueOf(): unknown }).valueOf() === 'number';
}

function numberFormatter(values: readonly unknown[], maxPrecision: number): (v: unknown) => string {
  const most = Math.max(0, ...values.filter((v) => v !== null && v !== undefined).map(places));
  const decimals = Math.min(most, maxPrecision);
  const tail = most > maxPrecision ? NUMBER_CUT : '';
  return (v) => {
    if (typeof v === 'bigint') return `${v}${decimals > 0 ? `.${'0'.repeat(decimals)}` : ''}${tail}`;
    const n = Number(typeof v === 'object' && v !== null ? (v as { valueOf(): unknown }).valueOf() : v);
    return Number.isFinite(n) ? `${n.toFixed(decimals)}${tail}` : pyStr(v);
  };
}
