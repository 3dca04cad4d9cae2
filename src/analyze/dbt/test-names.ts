import { createHash } from 'node:crypto';
import { byCodeUnit } from '../../util/code-unit-order.js';

/**
 * The names dbt gives generic tests, so that a test reads in pipe's output as it does in
 * dbt's: `unique_orders_order_id`, `accepted_values_orders_status__placed__shipped`,
 * `relationships_orders_customer_id__customer_id__ref_customers_`. dbt builds the name from
 * the test, the node tested and the test's arguments sorted by name (each as Python's str()
 * writes it, every run of other characters than letters, digits and `_` made one `_`). A name
 * of 64 characters or more is dbt's full name still; the relation and file dbt writes for the
 * test take a short one instead: its first 30 characters and an MD5 hash of the full name.
 */

export interface TestNames {
  /** The test's name as dbt prints it and selects it (its fqn's last part). */
  readonly name: string;
  /** The short form of a long name, which dbt uses for the test's relation and compiled file. */
  readonly alias: string;
}

/**
 * `testType` is the test's name with what dbt puts in front of it (`source_` for a test of a
 * source, the package for `pkg.test`); `target` is the node's name (`source_table` for a
 * source's table); `args` are the test's arguments, `column_name` among them.
 */
export function dbtTestNames(testType: string, target: string, args: Readonly<Record<string, unknown>>): TestNames {
  const flat: string[] = [];
  for (const key of Object.keys(args).sort(byCodeUnit)) {
    if (key === 'model') continue;
    const value = args[key];
    const parts = Array.isArray(value) ? value : isMapping(value) ? Object.values(value) : [value];
    flat.push(...parts.map(pyStr));
  }
  const unique = flat.map((a) => a.replace(/[^0-9a-zA-Z_]+/g, '_')).join('__');
  const identifier = `${testType}_${target}`;
  const name = `${identifier}_${unique}`;
  const alias = name.length >= 64 ? `${identifier.slice(0, 30)}_${createHash('md5').update(name, 'utf8').digest('hex')}` : name;
  return { name, alias };
}

/** Python's escape of a control character in a string's repr: `\n`, `\t`, `\r`, else `\xNN`. */
function controlEscape(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\t') return '\\t';
  if (c === '\r') return '\\r';
  return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

/** A YAML mapping: a plain object (a float read from YAML, `1.0`, is an object of its own, which prints as it reads). */
const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && [Object.prototype, null].includes(Object.getPrototypeOf(v));

/**
 * A YAML value as Python's str() writes it: how dbt turns arguments into text (a float read as
 * one, `1.0`, writes `1.0`, see yaml-floats.ts).
 */
export function pyStr(v: unknown): string {
  return typeof v === 'string' ? v : pyRepr(v);
}

/** A value as Python's repr() writes it: a string in quotes, with its backslashes, quote and control characters escaped. */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : v > 0 ? 'inf' : v < 0 ? '-inf' : 'nan';
  if (typeof v === 'string') {
    const quote = v.includes("'") && !v.includes('"') ? '"' : "'";
    const escaped = v.replace(/\\/g, '\\\\').replaceAll(quote, `\\${quote}`).replace(/[\u0000-\u001f\u007f]/g, controlEscape);
    return `${quote}${escaped}${quote}`;
  }
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (isMapping(v)) return `{${Object.entries(v).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
  return String(v);
}
