import nunjucks from 'nunjucks';
import { TemplateFunctionError } from '../../jinja/errors.js';
import { Relation } from '../../jinja/relation.js';
import type { Param } from '../../jinja/macro-args.js';

/**
 * pipe's own implementations of macros a dbt project calls by namespace: dbt's cross-database
 * macros (`dbt.dateadd`), and the most used macros of packages a project declares without
 * having them installed (`dbt_utils.generate_surrogate_key`). Each renders the SQL the macro
 * renders on DuckDB. A macro that dbt dispatches is dispatched here too: `name` calls
 * `adapter.dispatch(name, namespace)`, and the implementation is `duckdb__name` or
 * `default__name`, so that a project's own `default__name` wins as it does in dbt.
 */

/** What a macro reads of the render it runs in, and how it calls other macros. */
export interface BuiltinContext {
  /** `namespace.name(args)` as a template calls it: dispatched when the macro dispatches. */
  call(namespace: string, name: string, ...args: unknown[]): unknown;
  /** `adapter.dispatch(name, namespace)(args)`. */
  dispatch(name: string, namespace: string, ...args: unknown[]): unknown;
  /** var(name) of the render, or `fallback` when it is given and the var is not set. */
  var(name: string, ...fallback: [] | [unknown]): unknown;
  config(options: Record<string, unknown>): void;
  /** `config.get(key)` of the node being rendered: undefined where nothing sets it, or no node is rendered. */
  configValue(key: string): unknown;
  /** `flags.NAME` of the render in progress (`FULL_REFRESH`). */
  flag(name: string): unknown;
  /** dbt's `target` of the render: its schema, database, name, type. */
  target(): Readonly<Record<string, unknown>>;
  /** dbt's own function of the template's context by that name (`run_query`, `is_incremental`), not a project macro named so. */
  contextFunction(name: string): unknown;
  /** The warehouse as the render in progress reads it (see jinja/introspection.ts): nothing at parse time. */
  readonly warehouse: BuiltinWarehouse;
}

/** What a macro that reads the warehouse while rendering asks of it, through the names templates use. */
export interface BuiltinWarehouse {
  /** dbt's `execute`: false at parse time. */
  execute(): boolean;
  /** `adapter.get_columns_in_relation(relation)`: each column's name, quoted name, dbt's spelling of its type, and the kind of type. */
  columns(relation: unknown): readonly BuiltinColumn[];
  /** `run_query(sql)`: the rows. */
  query(sql: string): readonly (readonly unknown[])[];
  /** A relation argument as the warehouse knows it, e.g. `"main"."orders"` for ref('orders'), for messages. */
  name(relation: unknown): string;
  /** Whether a value is a relation (what ref(), source(), `this` or api.Relation.create give), not a query. */
  isRelation(value: unknown): boolean;
}

/** A column as dbt's Column gives it (see jinja/introspection.ts dbtColumn). */
export interface BuiltinColumn {
  readonly name: string;
  readonly quoted: string;
  readonly data_type: string;
  is_float(): boolean;
  is_numeric(): boolean;
}

export interface BuiltinMacro {
  readonly name: string;
  readonly params: readonly Param[];
  /** Keyword arguments no parameter names are passed on as `kwargs` (Jinja's `**kwargs`). */
  readonly takesKwargs?: boolean;
  /**
   * Where dbt finds the implementation on DuckDB: `duckdb__name` (the adapter's own), or
   * `default__name`; `direct` for a macro dbt calls without dispatch (a helper).
   */
  readonly impl: 'duckdb' | 'default' | 'direct';
  render(args: Readonly<Record<string, unknown>>, ctx: BuiltinContext): unknown;
}

export interface BuiltinPackage {
  /** The namespace: `dbt`, or the package's name. */
  readonly name: string;
  readonly macros: readonly BuiltinMacro[];
}

/**
 * A macro's argument as SQL text: what `{{ arg }}` would output. Jinja's undefined (an
 * attribute or key a value lacks, an argument not passed) outputs nothing; none is `None`.
 */
export function sql(value: unknown): string {
  if (value === undefined) return '';
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  // As a template outputs it (see Relation.printed).
  if (value instanceof Relation) return value.printed();
  return String(value);
}

/** A list argument; anything else is refused rather than joined letter by letter as Jinja would. */
export function list(macro: string, arg: string, value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  throw new TemplateFunctionError(`${macro}(): ${arg} must be a list, e.g. ['a', 'b'], got ${typeof value === 'string' ? `'${value}'` : typeof value}`);
}

/** Jinja's truth of a value: none, false, 0, '' and empty lists are false. */
export function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  // A macro's output.
  if (value instanceof (nunjucks.runtime as unknown as { SafeString: new () => object }).SafeString) return String(value) !== '';
  if (value !== null && typeof value === 'object') return Object.keys(value).length > 0;
  return Boolean(value) && String(value) !== '';
}
