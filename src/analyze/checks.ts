import type { Interval } from '../dates/dates.js';
import { error, type Diagnostic, type Location } from '../diagnostics/diagnostics.js';
import { quoteIdent, quoteLiteral } from '../sql/sql-text.js';
import { didYouMean } from '../diagnostics/suggest.js';
import { checkKeys } from './validate-keys.js';
import type { Threshold } from '../sql/test-threshold.js';
import type { RenderPhase } from './jinja/introspection.js';

/**
 * Data checks, declared under `checks:` in the YAML beside a model. Each becomes a query
 * that returns the failing rows of a target relation: the staged data before it is published
 * (or, for `pipe test`, the published data). Blocking checks fail the task; checks under
 * `warn:` are reported and never block.
 */

export const CHECK_KINDS = ['not_null', 'unique', 'accepted_values', 'relationships', 'row_count', 'expression', 'query'] as const;
/**
 * pipe's own check kinds, and a dbt project's tests: a generic test of a properties file
 * (`unique`, `accepted_values`, a `{% test %}` of the project) or a singular test file.
 */
export type CheckKind = PipeCheckKind | 'dbt_generic' | 'dbt_singular';
type PipeCheckKind = (typeof CHECK_KINDS)[number];

/** What a check reads: the new partition only (default for incremental models) or the table as it will be. */
export type CheckScope = 'partition' | 'table';

/** Stands for the relation being checked in `sql`; replaced when the target is known. */
export const CHECK_TARGET = '\u0000check-target\u0000';

export interface Check {
  /** Readable and unique within the model, e.g. `unique(order_id)`. */
  readonly name: string;
  readonly kind: CheckKind;
  readonly severity: 'error' | 'warn';
  readonly scope: CheckScope;
  readonly location: Location;
  /** Columns of the checked model that the check names, for validation before running. */
  readonly columns: readonly string[];
  /** Other models the check reads (relationships, a dbt test's refs), as dependencies. */
  readonly refs: readonly CheckRef[];
  /**
   * Columns of other models a dbt test compares to (its relationships test's `field:`), for
   * validation before running: a column the model lacks is said at the test's line, with the
   * columns it has, not as the engine's error as the test runs. Its SQL says it already: no
   * part of the check's identity (see checksShape).
   */
  readonly compared?: readonly Required<CheckRef>[];
  /**
   * For every kind but `query`: SQL returning the failing rows, with CHECK_TARGET for the
   * relation checked and `\u0000name\u0000` ref tokens for other models. A dbt test names
   * the node it runs with by its ref token too: that token stands for the data checked.
   */
  readonly sql?: string;
  /** For `query`: the template text, rendered per interval like a model. */
  readonly template?: string;
  /** An `expression` check's condition as written (see CheckStep.expression). */
  readonly expression?: string;
  /** How a dbt test counts its failures and when they warn or fail; pipe's own checks fail on any row. */
  readonly threshold?: Threshold;
  /** A dbt test's tags (its config's, its column's and its folders'). */
  readonly tags?: readonly string[];
  /**
   * Set for a dbt test whose template reads the warehouse while rendering (`sql` is then its
   * parse render, with `execute` false): its query rendered again in `phase`, in `sql`'s form,
   * or why it cannot be (see ModelRenderer.checkSqlAtRun).
   */
  readonly atRun?: (phase: RenderPhase) => string | Diagnostic;
  /**
   * Set for a dbt singular test whose template reads the run's date (`{{ ds }}`): its query
   * rendered for another interval than the analysis's (a backfill's other dates), in `sql`'s form.
   */
  readonly dated?: (interval: Interval) => string | Diagnostic;
  /** A dbt test as dbt's graph lists it (its node in `graph.nodes`). */
  readonly dbt?: DbtTestNode;
  /** A dbt test's failing rows kept in the warehouse (store_failures), replaced each time it runs. */
  readonly storeFailures?: FailuresStore;
}

/** Where a dbt test keeps its failing rows, and as what. */
export interface FailuresStore {
  readonly as: 'table' | 'view';
  readonly schema: string;
  /** The relation's own name: the test's alias. */
  readonly name: string;
  /** `"schema"."name"` */
  readonly relation: string;
}

/** What dbt's graph says of a test: its qualified name, what it reads and, for a generic test, its metadata. */
export interface DbtTestNode {
  readonly fqn: readonly string[];
  /** The name of its relation and compiled file: a long name's short form (see test-names.ts); the name when left out. */
  readonly alias?: string;
  /** The schema dbt names for it (generate_schema_name of its `schema`, dbt's `dbt_test__audit`), where its failing rows are kept. */
  readonly schema?: string;
  /** A generic test's macros as dbt's parse records them (`macro.dbt.test_unique`): its `depends_on.macros`. */
  readonly macros?: readonly string[];
  /** The nodes it reads, the node tested first. */
  readonly reads: readonly string[];
  /** A generic test's: the test (`unique`, `expression_is_true`), its package, the column and the arguments. */
  readonly generic?: { readonly test: string; readonly namespace?: string; readonly column?: string; readonly kwargs: Readonly<Record<string, unknown>> };
}

export interface CheckRef {
  readonly model: string;
  /** The column a relationships check compares to. */
  readonly column?: string;
}

/**
 * The models a `query` check names with `ref('name')` (or `ref('package', 'name')`), written
 * out: they are built before the check runs, and they are inputs of the checked model's data
 * version, so that one changing runs the model again, and checks it.
 */
function refsWritten(template: string): CheckRef[] {
  const names = new Set<string>();
  for (const m of template.matchAll(/\bref\s*\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]+)['"]\s*)?[,)]/g)) names.add(m[2] ?? m[1]);
  return [...names].map((model) => ({ model }));
}

/** Stands for a model or seed in a check's SQL until the plan knows what it reads (see ModelRenderer). */
export const refToken = (name: string): string => `\u0000${name}\u0000`;

/**
 * A ref token that prints without the database even inside a string literal, where a ref
 * token otherwise prints with it as dbt-duckdb prints it: what `include(database=False)` gives.
 */
export const bareRefToken = (token: string): string => (token.startsWith('\u0000') && !token.startsWith(`\u0000${BARE}`) ? `\u0000${BARE}${token.slice(1)}` : token);

/** What marks a bare ref token (see bareRefToken), before the name. */
export const BARE = '\u0002';

/** What marks a relation token (see relationToken): its database between two of them, then the relation. */
export const IN_DATABASE = '\u0003';

/**
 * A relation of the warehouse's own database that a template made or was given
 * (`api.Relation.create(database=...)`, `adapter.get_relation()`), as a model's render prints
 * it: `"schema"."name"` once resolved, as pipe names its relations, but inside a string literal
 * of a dbt project with the database first, as dbt-duckdb prints it (see ModelRenderer).
 */
export const relationToken = (database: string, relation: string): string => `\u0000${IN_DATABASE}${database}${IN_DATABASE}${relation}\u0000`;

/** Whether a text is one ref token alone: what ref() and source() give, not a query that reads one. */
export const isRefToken = (text: string): boolean => /^\u0000[^\u0000]+\u0000$/.test(text);

/**
 * What of checks decides what they check, as text: a dbt test's graph metadata (`dbt`) and
 * tags describe it, where it is declared is no part of it, a map is its entries. What a
 * model's config hash and a seed's identity hold of their checks (a changed check runs the node
 * again, so that it is checked).
 */
export function checksText(checks: readonly Check[]): string {
  return JSON.stringify(checksShape(checks), canonical);
}

/** Checks without what describes them alone (see checksText), to be written with `canonical`. */
export function checksShape(checks: readonly Check[]): object[] {
  return checks.map((c) => ({ ...c, tags: undefined, dbt: undefined, compared: undefined }));
}

/** JSON.stringify's replacer for what a hash holds: where a thing is declared is no part of it; a map is its entries. */
export function canonical(key: string, value: unknown): unknown {
  return key === 'location' ? undefined : value instanceof Map ? [...value] : value;
}

export function checkSql(check: Check, target: string, resolveRef: (model: string) => string): string {
  const sql = check.sql ?? '';
  return sql.replaceAll(CHECK_TARGET, target).replace(/\u0000([^\u0000]*)\u0000/g, (_, m: string) => resolveRef(m));
}

/** Where a key under `checks:` stands, by its path. */
type Where = (path: readonly string[]) => Location;

function asColumns(value: unknown): (string | string[])[] | undefined {
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value)) return undefined;
  const out: (string | string[])[] = [];
  for (const v of value) {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v) && v.length > 0 && v.every((c) => typeof c === 'string')) out.push(v as string[]);
    else return undefined;
  }
  return out;
}

function asStrings(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : undefined;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The keys of a check written as a mapping of its options (accepted_values' and relationships' keys are columns). */
const OPTION_KEYS: Partial<Record<PipeCheckKind, readonly string[]>> = {
  not_null: ['columns', 'scope'],
  unique: ['columns', 'scope'],
  row_count: ['min', 'max', 'scope'],
  expression: ['expressions', 'scope'],
  query: ['queries', 'scope'],
};

/** Splits `{ <items>, scope: table }` forms; `scope` is an option wherever a mapping is allowed. */
function scopeOf(value: unknown, at: Location, diagnostics: Diagnostic[]): CheckScope {
  if (!isMap(value) || value.scope === undefined) return 'partition';
  if (value.scope === 'table' || value.scope === 'partition') return value.scope;
  diagnostics.push(error('bad-check', `scope must be 'partition' or 'table', got ${JSON.stringify(value.scope)}`, at));
  return 'partition';
}

export function parseChecks(value: unknown, where: Where, modelNames: ReadonlySet<string>, diagnostics: Diagnostic[]): Check[] {
  const out: Check[] = [];
  const at = where(['checks']);
  if (!isMap(value)) {
    diagnostics.push(error('bad-check', 'checks must be a mapping of check kinds, e.g. {not_null: [id], unique: [id]}', at));
    return out;
  }
  const parseBlock = (block: Record<string, unknown>, severity: 'error' | 'warn') => {
    const prefix = severity === 'warn' ? ['checks', 'warn'] : ['checks'];
    // `warn:` holds checks that only warn; it stands among the checks, not inside itself.
    const known: readonly string[] = severity === 'warn' ? CHECK_KINDS : [...CHECK_KINDS, 'warn'];
    for (const [kind, spec] of Object.entries(block)) {
      const kindAt = where([...prefix, kind]);
      if (kind === 'warn' && severity === 'error') {
        if (isMap(spec)) parseBlock(spec, 'warn');
        else diagnostics.push(error('bad-check', 'warn must hold checks like checks: does', kindAt));
        continue;
      }
      if (!CHECK_KINDS.includes(kind as PipeCheckKind)) {
        diagnostics.push(
          error('unknown-check', `unknown check '${kind}'`, kindAt, { hint: didYouMean(kind, known) ?? `checks: ${known.join(', ')}` }),
        );
        continue;
      }
      out.push(...parseKind(kind as PipeCheckKind, spec, severity, kindAt, (key) => where([...prefix, kind, key]), modelNames, diagnostics));
    }
  };
  parseBlock(value, 'error');
  const names = new Set<string>();
  return out.filter((c) => (names.has(`${c.severity}:${c.name}`) ? false : (names.add(`${c.severity}:${c.name}`), true)));
}

function parseKind(
  kind: PipeCheckKind,
  spec: unknown,
  severity: 'error' | 'warn',
  at: Location,
  /** Where an entry of the check's mapping is written (`status:` of accepted_values), for its errors. */
  entryAt: (key: string) => Location,
  modelNames: ReadonlySet<string>,
  diagnostics: Diagnostic[],
): Check[] {
  const options = OPTION_KEYS[kind];
  if (options && isMap(spec)) {
    const before = diagnostics.length;
    checkKeys(spec, options, `${kind} check`, entryAt, diagnostics);
    // A misspelt option (`scop: table`, `minimum: 5`) would leave the check weaker than written.
    if (diagnostics.length > before) return [];
  }
  const scope = scopeOf(spec, at, diagnostics);
  // The check's own fields after the common ones, spread last: V8 defines properties written
  // after a spread on a slow path, a microsecond or two each, for every check of every model.
  const check = <T extends object>(own: T) => ({ kind, severity, scope, location: at, ...own });
  const bad = (message: string, where = at) => {
    diagnostics.push(error('bad-check', `${kind}: ${message}`, where));
    return [];
  };
  const T = CHECK_TARGET;
  switch (kind) {
    case 'not_null': {
      const cols = asStrings(isMap(spec) ? spec.columns : spec);
      if (!cols) return bad('expected a list of columns, e.g. [order_id, customer_id]');
      return cols.map((c) => check({ name: `not_null(${c})`, columns: [c], refs: [], sql: `SELECT * FROM ${T} WHERE ${quoteIdent(c)} IS NULL` }));
    }
    case 'unique': {
      const sets = asColumns(isMap(spec) ? spec.columns : spec);
      if (!sets) return bad('expected a list of columns, or of column lists for combinations, e.g. [order_id, [customer_id, day]]');
      return sets.map((set) => {
        const cols = typeof set === 'string' ? [set] : set;
        const list = cols.map(quoteIdent).join(', ');
        return check({
          name: `unique(${cols.join(', ')})`,
          columns: cols,
          refs: [],
          sql: `SELECT ${list}, count(*) AS duplicates FROM ${T} WHERE ${cols.map((c) => `${quoteIdent(c)} IS NOT NULL`).join(' AND ')} GROUP BY ${list} HAVING count(*) > 1`,
        });
      });
    }
    case 'accepted_values': {
      if (!isMap(spec)) return bad('expected a mapping of column to its allowed values, e.g. {status: [placed, shipped]}');
      const out: Check[] = [];
      for (const [col, values] of Object.entries(spec)) {
        if (col === 'scope') continue;
        if (!Array.isArray(values) || values.length === 0 || !values.every((v) => ['string', 'number', 'boolean'].includes(typeof v))) {
          bad(`${col}: expected a list of values`, entryAt(col));
          continue;
        }
        const list = values.map((v) => quoteLiteral(String(v))).join(', ');
        out.push(check({
          name: `accepted_values(${col})`,
          columns: [col],
          refs: [],
          sql: `SELECT ${quoteIdent(col)}, count(*) AS rows FROM ${T} WHERE ${quoteIdent(col)} IS NOT NULL AND CAST(${quoteIdent(col)} AS VARCHAR) NOT IN (${list}) GROUP BY ALL`,
        }));
      }
      return out;
    }
    case 'relationships': {
      if (!isMap(spec)) return bad('expected a mapping of column to model.column, e.g. {customer_id: stg_customers.customer_id}');
      const out: Check[] = [];
      for (const [col, target] of Object.entries(spec)) {
        if (col === 'scope') continue;
        const m = typeof target === 'string' ? /^([^.\s]+)\.([^.\s]+)$/.exec(target.trim()) : null;
        if (!m) {
          bad(`${col}: expected model.column, got ${JSON.stringify(target)}`, entryAt(col));
          continue;
        }
        const [, model, column] = m;
        if (!modelNames.has(model)) {
          diagnostics.push(
            error('unknown-ref', `relationships(${col}): no model or seed is named '${model}'`, entryAt(col), { hint: didYouMean(model, [...modelNames]) }),
          );
          continue;
        }
        out.push(check({
          name: `relationships(${col} → ${model}.${column})`,
          columns: [col],
          refs: [{ model, column }],
          sql: `SELECT c.* FROM ${T} AS c WHERE c.${quoteIdent(col)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM \u0000${model}\u0000 AS p WHERE p.${quoteIdent(column)} = c.${quoteIdent(col)})`,
        }));
      }
      return out;
    }
    case 'row_count': {
      if (!isMap(spec)) return bad('expected {min: N} and/or {max: N}');
      const { min, max } = spec;
      const okNumber = (v: unknown) => v === undefined || (typeof v === 'number' && Number.isInteger(v) && v >= 0);
      if (!okNumber(min) || !okNumber(max) || (min === undefined && max === undefined)) return bad('min and max must be whole numbers');
      // No count is both: the check would fail every run.
      if (typeof min === 'number' && typeof max === 'number' && min > max) return bad(`min ${min} is above max ${max}: no row count passes`);
      const conds = [...(min !== undefined ? [`count(*) >= ${min}`] : []), ...(max !== undefined ? [`count(*) <= ${max}`] : [])];
      const label = [min !== undefined ? `min ${min}` : '', max !== undefined ? `max ${max}` : ''].filter(Boolean).join(', ');
      return [check({ name: `row_count(${label})`, columns: [], refs: [], sql: `SELECT count(*) AS row_count FROM ${T} HAVING NOT (${conds.join(' AND ')})` })];
    }
    case 'expression': {
      const exprs = asStrings(isMap(spec) ? spec.expressions : spec);
      if (!exprs) return bad('expected a list of SQL conditions, e.g. ["amount >= 0"]');
      // SQL, not a template: Jinja in it would be compared as text (`status <> '{{ var("x") }}'` always true).
      const templated = exprs.find((e) => /\{\{|\{%/.test(e));
      if (templated !== undefined) {
        return bad(`${templated} is SQL, not a template: Jinja in it would be compared as its text; write it as a query check, which renders as a model does: query: ["select * from {{ this }} where not (...)"]`);
      }
      return exprs.map((e) => check({ name: `expression(${e})`, columns: [], refs: [], expression: e, sql: `SELECT * FROM ${T} WHERE (${e}\n) IS NOT TRUE` }));
    }
    case 'query': {
      const queries = asStrings(isMap(spec) ? spec.queries : spec);
      if (!queries) return bad('expected a list of queries that return the failing rows');
      return queries.map((q) => check({ name: `query(${q.replace(/\s+/g, ' ').trim()})`, columns: [], refs: refsWritten(q), template: q }));
    }
    default: {
      const never: never = kind;
      throw new Error(`internal error: check kind ${String(never)}`);
    }
  }
}
