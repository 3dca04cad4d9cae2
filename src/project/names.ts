/**
 * The rule for model and seed names. A name comes from a file name and is then a table name in
 * DuckDB, a term of `--select` (`name+`, `tag:x`, `path:...`, lists split at commas and
 * spaces), half of a task id (`orders@2024-01-02`) and half of a `relationships` reference
 * (`orders.customer_id`). A name is therefore an identifier as DuckDB and PostgreSQL read it
 * without quotes (a letter of any script or `_` first, then letters, digits, `_` or `$`), with
 * `-` allowed too: `주문.sql` is a model, `my model.sql` and `orders.v2.sql` are not. A digit
 * first is refused with them: `2024_orders` would need quotes in every query written by hand
 * (dbt projects can only use such names with quoting turned on), and an all-digit name reads
 * as a number in YAML lists.
 */

/** Pipe's own tables (staging, inlined ephemeral models) start with this; no model may. */
export const RESERVED_PREFIX = '__pipe';

/** What a name may be, as error messages and the README say it. */
export const NAME_RULE = 'letters (of any script), digits, _, $ and -, starting with a letter or _ (but not __pipe)';

const NAME = /^[\p{L}_][\p{L}\p{M}\p{Nd}_$-]*$/u;
const FIRST = /^[\p{L}_]$/u;
const REST = /^[\p{L}\p{M}\p{Nd}_$-]$/u;

/** A character as an error message names it: visible ones quoted, the others by code point. */
function describe(ch: string): string {
  const code = `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  if (ch === ' ') return 'a space';
  if (ch === '\t') return 'a tab';
  if (/^\p{Cc}$/u.test(ch)) return `a control character (${code})`;
  if (/^[\s\p{Z}]$/u.test(ch)) return `a space character (${code})`;
  if (/^[\p{C}]$/u.test(ch)) return `an invisible character (${code})`;
  return `'${ch}'`;
}

/** Why `name` cannot be a model or seed name, or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (name === '') return 'the name is empty';
  if (name.toLowerCase().startsWith(RESERVED_PREFIX)) return `names starting with ${RESERVED_PREFIX} are kept for pipe's own tables`;
  if (NAME.test(name)) return undefined;
  // Which character breaks the rule, for the message.
  const chars = [...name];
  if (!FIRST.test(chars[0])) return `it starts with ${describe(chars[0])}`;
  return `it holds ${describe(chars.find((ch) => !REST.test(ch)) ?? chars[0])}`;
}

/** A name as messages show it: control characters escaped, so that it cannot disturb a terminal. */
export function printableName(name: string): string {
  return name.replace(/\p{Cc}/gu, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
