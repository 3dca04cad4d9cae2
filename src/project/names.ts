/**
 * The rule for model and seed names. A name comes from a file name and is then a table name in
 * DuckDB, a term of `--select` (`name+`, `tag:x`, `path:...`, lists split at commas and
 * spaces), half of a task id (`orders@2024-01-02`) and half of a `relationships` reference
 * (`orders.customer_id`). A name is therefore an identifier as DuckDB and PostgreSQL read it
 * without quotes (a letter of any script or `_` first, then letters, digits, `_` or `$`), with
 * `-` allowed too: `주문.sql` is a model, `my model.sql` and `orders.v2.sql` are not. In a pipe
 * project a digit first is refused with them: `2024_orders` would need quotes in every
 * query written by hand. A dbt project may start a name with a digit (`01_orders.sql`, common in
 * dbt projects), as dbt-duckdb, which quotes every relation it writes, builds it (pipe quotes
 * every relation too); a name of digits alone stays refused there, as YAML reads it as a number
 * and no properties entry could name it.
 */

/** Pipe's own tables (staging, inlined ephemeral models) start with this; no model may. */
export const RESERVED_PREFIX = '__pipe';

/** What a name may be, as error messages and the README say it. */
export const NAME_RULE = 'letters (of any script), digits, _, $ and -, starting with a letter or _ (but not __pipe)';

/** What a name may be in a dbt project. */
export const DBT_NAME_RULE = 'letters (of any script), digits, _, $ and -, starting with a letter, a digit or _, not digits alone (and not starting with __pipe)';

/** The rule for names of a dbt project (`dbt`) or a pipe project. */
export function nameRule(dbt: boolean): string {
  return dbt ? DBT_NAME_RULE : NAME_RULE;
}

const NAME = /^[\p{L}_][\p{L}\p{M}\p{Nd}_$-]*$/u;
const DBT_NAME = /^[\p{L}\p{Nd}_][\p{L}\p{M}\p{Nd}_$-]*$/u;
const FIRST = /^[\p{L}_]$/u;
const DBT_FIRST = /^[\p{L}\p{Nd}_]$/u;
const REST = /^[\p{L}\p{M}\p{Nd}_$-]$/u;
const DIGITS = /^\p{Nd}+$/u;

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

/** Why `name` cannot be a model or seed name, or undefined when it can; `dbt`: a dbt project's name. */
export function nameProblem(name: string, dbt = false): string | undefined {
  if (name === '') return 'the name is empty';
  if (name.toLowerCase().startsWith(RESERVED_PREFIX)) return `names starting with ${RESERVED_PREFIX} are kept for pipe's own tables`;
  if ((dbt ? DBT_NAME : NAME).test(name)) return DIGITS.test(name) ? 'it is digits alone, which YAML reads as a number' : undefined;
  // Which character breaks the rule, for the message.
  const chars = [...name];
  if (!(dbt ? DBT_FIRST : FIRST).test(chars[0])) return `it starts with ${describe(chars[0])}`;
  return `it holds ${describe(chars.find((ch) => !REST.test(ch)) ?? chars[0])}`;
}

/**
 * Why `alias` cannot be a table name, or undefined: a name's rule, but for a dbt project's alias
 * of digits alone (`alias: "123"`, which dbt-duckdb builds as `"123"`): what refuses it as a
 * model's name, that no properties entry could name it, is nothing to an alias.
 */
export function aliasProblem(alias: string, dbt: boolean): string | undefined {
  return dbt && DIGITS.test(alias) ? undefined : nameProblem(alias, dbt);
}

/**
 * What is wrong with a schema name, if anything: a pipe project's schemas are plain
 * identifiers; a dbt project's may be any name dbt-duckdb quotes (`"2023"`, `"raw-data"`), as
 * pipe quotes every relation. The problem reads after the key: `schema must be ...`.
 */
export function schemaNameProblem(name: string, dbt: boolean): string | undefined {
  if (dbt) return DBT_NAME.test(name) ? undefined : `must be a name of ${DBT_SCHEMA_RULE}`;
  return IDENTIFIER.test(name) ? undefined : 'must be a plain identifier (letters, digits, underscores and $, starting with a letter or an underscore)';
}

/** A pipe project's schema: one plain identifier, never quoted or dotted. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]*$/;

const DBT_SCHEMA_RULE = 'letters (of any script), digits, _, $ and -, starting with a letter, a digit or _';

/** A name as messages show it: control characters escaped, so that it cannot disturb a terminal. */
export function printableName(name: string): string {
  return name.replace(/\p{Cc}/gu, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
