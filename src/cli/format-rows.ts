import type { Shown } from '../commands/show.js';
import { printable } from '../logging/printable.js';
import { displayWidth, textTable, truncateDisplay } from '../logging/width.js';
import { floatRepr } from '../util/float-repr.js';
import { SHOWN_AS } from '../warehouse/warehouse.js';
import { secrets } from '../secrets/secrets.js';

/**
 * Rows of `pipe show`: a table cut to the terminal's width (a long value ends in `…`), or
 * JSON with every value whole.
 */

/** Most columns a value takes in the table, whatever the room. */
const MAX_CELL = 40;
/** A column is not narrowed below this (or its header, if shorter). */
const MIN_CELL = 6;
const GAP = 2;

/** Integer types whose values come as text (to keep every digit), and that JSON can hold as numbers when they fit. */
const BIG_INTEGERS = /^(BIGINT|HUGEINT|UBIGINT|UHUGEINT)$/;

/** Floating-point types, whose whole values DuckDB prints with `.0` (and FLOAT's as its 4 bytes hold them). */
const FLOATS = /^(DOUBLE|FLOAT8|FLOAT|FLOAT4|REAL)$/i;
const SINGLE = /^(FLOAT|FLOAT4|REAL)$/i;
/** How a float's NaN and infinities come from the engine. */
const NON_FINITE = /^(NaN|-?Infinity)$/;

/** A float as DuckDB prints it (`1.0`, not `1`; `1e+20`; `nan`); a FLOAT's with the fewest digits its 4 bytes read back from (`0.1`, not the double it widens to). */
function floatText(value: number | string, type: string): string {
  const v = Number(value);
  if (SINGLE.test(type) && Number.isFinite(v)) {
    for (let digits = 1; digits < 9; digits++) {
      const shortest = Number(v.toPrecision(digits));
      if (Math.fround(shortest) === v) return floatRepr(shortest);
    }
  }
  return floatRepr(v);
}

/** A backslash is escaped too, so that two values never print alike (`x\ny` typed, and x, a line break, y). */
const CELL_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A value as one line of text: NULL as `NULL`, nested values as JSON, floats as DuckDB prints
 * them (given the column's type), backslashes, line breaks and other control characters escaped.
 */
export function cellText(value: unknown, type = ''): string {
  if (value === null || value === undefined) return 'NULL';
  if (FLOATS.test(type) && (typeof value === 'number' || NON_FINITE.test(String(value)))) return floatText(value as number | string, type);
  // A nested value's JSON has its own escapes, and no line break or tab left.
  if (typeof value === 'object') return printable((value as { [SHOWN_AS]?: string })[SHOWN_AS] ?? JSON.stringify(value));
  // A BLOB comes as DuckDB prints it, every backslash an escape of its own (`\x5C` for one byte).
  if (type === 'BLOB') return printable(String(value));
  return printable(String(value).replace(/[\\\n\r\t]/g, (c) => CELL_ESCAPES[c]));
}

/**
 * The widths of the columns: each its widest value (at most MAX_CELL), then the widest narrowed
 * one column at a time until the table fits `width` or none can be narrowed further.
 */
export function columnWidths(header: readonly string[], rows: readonly (readonly string[])[], width: number | undefined): number[] {
  const widths = header.map((h, i) => Math.min(MAX_CELL, Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i])))));
  if (width === undefined) return widths;
  const floor = header.map((h, i) => Math.min(widths[i], Math.max(MIN_CELL, Math.min(displayWidth(h), MAX_CELL))));
  const total = () => widths.reduce((a, b) => a + b, 0) + GAP * (widths.length - 1);
  while (total() > width) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++) if (widths[i] > floor[i] && (widest < 0 || widths[i] > widths[widest])) widest = i;
    if (widest < 0) break;
    widths[widest]--;
  }
  return widths;
}

/** `pipe show`'s text: the rows as a table within `width` columns, and a line saying what they are. */
export function formatRowsTable(shown: Shown, width?: number): string {
  const header = shown.table.columns.map((c) => c.name);
  // Masked as printed (secrets.ts), sized as printed: a value the output masks takes the mask's width.
  const cells = shown.table.rows.map((r) => r.map((v, i) => secrets.mask(cellText(v, shown.table.columns[i].type))));
  const widths = columnWidths(header, cells, width);
  const fit = (r: readonly string[]) => r.map((c, i) => truncateDisplay(c, widths[i]));
  const n = shown.table.rows.length;
  const what = shown.from === 'inline' ? `${shown.node}'s query` : shown.from === 'query' ? 'the inline query' : shown.from;
  const footer = shown.more
    ? `first ${n === 1 ? 'row' : `${n} rows`} of ${what}; --limit N shows more`
    : `${n} row${n === 1 ? '' : 's'} of ${what}`;
  return `${textTable(fit(header), cells.map(fit))}\n${footer}`;
}

/** `pipe show --json`: the rows as an array of objects, every value whole; integers as numbers where JSON holds them exactly. */
export function formatRowsJson(shown: Shown): string {
  const { columns, rows } = shown.table;
  // Two columns of one name (a query may have them) stay apart: the second is `name_2`.
  const seen = new Map<string, number>();
  const keys = columns.map((c) => {
    const k = (seen.get(c.name) ?? 0) + 1;
    seen.set(c.name, k);
    return k === 1 ? c.name : `${c.name}_${k}`;
  });
  const value = (v: unknown, type: string) => (typeof v === 'string' && BIG_INTEGERS.test(type) && Number.isSafeInteger(Number(v)) ? Number(v) : v);
  return JSON.stringify(rows.map((r) => Object.fromEntries(keys.map((k, i) => [k, value(r[i], columns[i].type)]))));
}
