import { pyStr } from './values.js';

/**
 * The text of agate's `Table.print_table()`, which dbt's `run_query()` results print with (a
 * macro's `{% do results.print_table() %}` in `pipe run-operation`), laid out as dbt-duckdb's
 * prints it: a header, a rule, then a row a line; text left-aligned, any other value right-aligned;
 * a number exact (never through a double), its column with the decimals of its most precise
 * value (trailing zeros left out), at most `max_precision` of them (then each ends in `…`), and
 * thousands separators where it has any; a value wider than `max_column_width` cut with `...`; rows past
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

/** A number's exact text (an integer or decimal as it is, never through a double; -0 keeps its sign, as Python's does). */
function exactText(v: unknown): string | undefined {
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'string') return /^-?\d+(\.\d+)?$/.test(v) ? v : undefined;
  const n = Number(typeof v === 'object' && v !== null ? (v as { valueOf(): unknown }).valueOf() : v);
  if (!Number.isFinite(n)) return undefined;
  return Object.is(n, -0) ? '-0' : String(n);
}

/** How many decimals a number has, as agate counts them: its value's, trailing zeros left out (`2.50` has one, `1.0` none, `1e-10` ten). */
function places(text: string): number {
  const [mantissa, exponent] = text.toLowerCase().split('e');
  const dot = mantissa.indexOf('.');
  const decimals = dot === -1 ? 0 : mantissa.slice(dot + 1).replace(/0+$/, '').length;
  return Math.max(0, decimals - Number(exponent ?? 0));
}

/** `text` (plain digits, maybe signed, maybe with decimals, maybe with an exponent) rounded half up to `decimals` places, exactly. */
function rounded(text: string, decimals: number): string {
  const [mantissa, exponent] = text.toLowerCase().split('e');
  const negative = mantissa.startsWith('-');
  let [whole, fraction = ''] = (negative ? mantissa.slice(1) : mantissa).split('.');
  // Shift the point by the exponent.
  const shift = Number(exponent ?? 0);
  if (shift > 0) {
    fraction = fraction.padEnd(shift, '0');
    whole += fraction.slice(0, shift);
    fraction = fraction.slice(shift);
  } else if (shift < 0) {
    whole = whole.padStart(-shift + 1, '0');
    fraction = whole.slice(whole.length + shift) + fraction;
    whole = whole.slice(0, whole.length + shift);
  }
  const up = (fraction[decimals] ?? '0') >= '5';
  let digits = (whole + fraction.padEnd(decimals, '0').slice(0, decimals)).replace(/^0+(?=\d)/, '');
  if (up) {
    const chars = digits.split('');
    let i = chars.length - 1;
    while (i >= 0 && chars[i] === '9') chars[i--] = '0';
    if (i < 0) chars.unshift('1');
    else chars[i] = String(Number(chars[i]) + 1);
    digits = chars.join('');
  }
  digits = digits.padStart(decimals + 1, '0');
  const int = digits.slice(0, digits.length - decimals);
  const out = decimals > 0 ? `${int}.${digits.slice(-decimals)}` : int;
  return negative ? `-${out}` : out;
}

/** Thousands separators in the whole part, as agate prints a number with decimals. */
function grouped(text: string): string {
  const [whole, fraction] = text.split('.');
  const sign = whole.startsWith('-') ? '-' : '';
  const digits = sign ? whole.slice(1) : whole;
  const withCommas = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}${withCommas}${fraction === undefined ? '' : `.${fraction}`}`;
}

function numberFormatter(values: readonly unknown[], maxPrecision: number): (v: unknown) => string {
  const texts = values.map((v) => (v === null || v === undefined ? undefined : exactText(v)));
  const most = Math.max(0, ...texts.map((t) => (t === undefined ? 0 : places(t))));
  const decimals = Math.min(most, maxPrecision);
  const tail = most > maxPrecision ? NUMBER_CUT : '';
  return (v) => {
    const text = exactText(v);
    if (text === undefined) return pyStr(v);
    const shown = rounded(text, decimals);
    return `${most > 0 ? grouped(shown) : shown}${tail}`;
  };
}
