import type nunjucks from 'nunjucks';
import { positionOf } from '../../diagnostics/diagnostics.js';
import { TemplateFunctionError } from './errors.js';
import { tagCode } from './tag-code.js';
import { currentCallSite } from './syntax.js';
import { JinjaError } from './errors.js';
import { bindArgs, param } from './macro-args.js';
import type { TemplateMessage } from './dbt-context.js';
import { quoteIdent, quoteLiteral } from '../../sql/sql-text.js';
import { emptyAnswer, questionKey, type Answer, type Question } from '../../warehouse/introspection.js';
import type { QueryTable } from '../../warehouse/warehouse.js';
import { DbtRelation, Relation } from './relation.js';
import { isStr, pyFloat, PyObject, strOf, tuple } from './values.js';
import { PyDate, PyDateTime, yamlTimestamp } from './datetime.js';
import { AGATE_PRINT_DEFAULTS, printedTable } from './agate-print.js';

/**
 * dbt's two render phases, as templates see them. A model is first rendered to build the
 * graph (dbt's parse: `execute` is false, `run_query` and `load_result` give empty results,
 * `adapter.get_columns_in_relation` none, `adapter.get_relation` none, `graph` empty); a
 * model whose template reads the warehouse is rendered again when its task runs, after its
 * upstream published (`execute` true, every question answered by the warehouse, `graph` the
 * project's nodes). This module gives templates those names; `RenderPhase` says which phase
 * a render is in and answers its questions.
 */

export interface RenderPhase {
  readonly execute: boolean;
  /** The warehouse's answer; at execution, a question not answered yet stops the render (see executionPhase). */
  answer(q: Question): Answer;
  /**
   * Text with the relations that ref(), source() and `this` stand for in place of the tokens
   * they render to (see analyze.ts): what a query or a relation a template passes means.
   */
  resolve(text: string): string;
  /** dbt's `graph`: the project's nodes and sources (see graph-context.ts). */
  readonly graph: Readonly<Record<string, unknown>>;
  /** What `{% call statement('name') %}` blocks stored for `load_result('name')`, for this render. */
  readonly results: Map<string, LoadResult>;
  /**
   * An execution render's: where what its templates say with log(msg, info=True), print(msg)
   * and exceptions.warn(msg) goes, to be told when the task runs. A parse render has none:
   * what it says is the analysis's (see RenderHooks.report).
   */
  readonly report?: (message: TemplateMessage) => void;
}

/** What `load_result()` gives: dbt's result of a statement. */
export interface LoadResult {
  readonly table: AgateTable;
  readonly data: readonly (readonly unknown[])[];
  readonly response: { readonly code: string; readonly rows_affected: number; readonly _message: string };
}

const EMPTY_GRAPH = Object.freeze({ nodes: {}, sources: {}, exposures: {}, metrics: {}, groups: {}, semantic_models: {}, saved_queries: {} });

/** An execution phase, and the question that stopped its render, if one did. */
export interface ExecutionPhase extends RenderPhase {
  readonly asked: Question | undefined;
  /** Where the template called what asked it (run_query in a macro's file), when the call is known. */
  readonly askedAt: { readonly file: string; readonly line: number; readonly column: number } | undefined;
}

/**
 * dbt's execution: the warehouse answers. A question not among `known` stops the render (it
 * throws, and `asked` holds it): the caller gets the answer and renders again.
 */
export function executionPhase(
  known: ReadonlyMap<string, Answer>,
  resolve: (text: string) => string,
  /** dbt's `graph`, or what makes it when a template first reads it (most never do). */
  graph: Readonly<Record<string, unknown>> | (() => Readonly<Record<string, unknown>>),
  /** Where what the render says goes (see RenderPhase.report). */
  report?: (message: TemplateMessage) => void,
): ExecutionPhase {
  let asked: Question | undefined;
  let askedAt: ExecutionPhase['askedAt'];
  let made: Readonly<Record<string, unknown>> | undefined;
  return {
    execute: true,
    resolve,
    get graph() {
      return typeof graph === 'function' ? (made ??= graph()) : graph;
    },
    results: new Map(),
    ...(report ? { report } : {}),
    get asked() {
      return asked;
    },
    get askedAt() {
      return askedAt;
    },
    answer(q) {
      const a = known.get(questionKey(q));
      if (a) return a;
      if (asked === undefined) {
        asked = q;
        askedAt = currentCallSite();
      }
      throw new Error('waiting for the warehouse');
    },
  };
}

/** The phase of a render that sets none: dbt's parse, where nothing is asked of the warehouse and every answer is empty. */
const PARSE: RenderPhase = { execute: false, answer: emptyAnswer, resolve: (text) => text, graph: EMPTY_GRAPH, results: new Map() };

/**
 * The phase a unit test's SQL fixture renders in: dbt compiles it with the test, `execute` true;
 * pipe renders it before the run, so a question of the warehouse is refused with why.
 */
export const FIXTURE_PHASE: RenderPhase = {
  execute: true,
  answer: () => {
    throw new TemplateFunctionError("a unit test's SQL fixture cannot read the warehouse in pipe, which renders it before anything runs: write its rows, or select them without run_query() or adapter calls");
  },
  resolve: (text) => text,
  graph: EMPTY_GRAPH,
  results: new Map(),
};

/** A parse render that notes whether anything it did would differ at execution. */
export interface WatchedParse extends RenderPhase {
  /** Whether the render read `execute` or `graph`, asked the warehouse, or stored or loaded a statement's result. */
  readonly differs: boolean;
}

/**
 * dbt's parse, watched: what a render reads tells whether it renders differently when it runs,
 * for templates rendered from their definitions with arguments (a dbt test), where the text
 * alone would not say which macros a call reaches.
 */
export function watchedParse(): WatchedParse {
  let differs = false;
  const results = new Map<string, LoadResult>();
  return {
    get execute() {
      differs = true;
      return false;
    },
    answer(q) {
      differs = true;
      return emptyAnswer(q);
    },
    resolve: (text) => text,
    get graph() {
      differs = true;
      return EMPTY_GRAPH;
    },
    get results() {
      differs = true;
      return results;
    },
    get differs() {
      return differs;
    },
  };
}

/**
 * What the two phases give templates differently: a template using none of it renders once.
 * (`adapter.quote`, `adapter.dispatch` and `api.Relation.create` read nothing.) dbt_utils'
 * macros that read the warehouse count too: pipe's own (builtin-macros/dbt-utils-introspection.ts)
 * are not templates whose text shows it.
 */
const USES_RE =
  /\b(?:execute|run_query|statement|load_result|graph|get_columns_in_query|get_column_schema_from_query|selected_resources)\b|\badapter\s*\.\s*(?:get_columns_in_relation|get_relation|drop_relation|create_schema|drop_schema|truncate_relation|rename_relation|check_schema_exists)\b|\bdbt_utils\s*\.\s*(?:star|get_column_values|get_filtered_columns_in_relation|union_relations|unpivot)\b/;

/**
 * Whether a template's tags name anything that renders differently when the task runs. A
 * mention in a string literal counts too: rendering once more costs little, and missing one
 * would render the parse's SQL. Its text and its comments run nothing.
 */
export function usesIntrospection(source: string): boolean {
  const uses = (text: string) => USES_RE.test(text) || MODEL_LATER_RE.test(text);
  if (!uses(source)) return false;
  return tagCode(source).some(uses);
}

/**
 * The fields dbt's `model` has in a model's parse render as pipe gives it (see ModelVariable;
 * `batch`, a microbatch model's, is its batch in every render, each batch rendered apart):
 * any other (`model.refs`, `model.depends_on`, `model.relation_name`, `model['...']`) is dbt's
 * node as the graph holds it once parsing is done, which the render at run time reads.
 */
const MODEL_AT_PARSE = ['batch', 'name', 'unique_id', 'resource_type', 'package_name', 'fqn', 'path', 'original_file_path', 'raw_code', 'language', 'database', 'schema', 'alias', 'identifier', 'description', 'columns', 'config', 'tags', 'meta', 'get', 'keys'];
const MODEL_LATER_RE = new RegExp(`\\bmodel\\s*(?:\\.\\s*(?!(?:${MODEL_AT_PARSE.join('|')})\\b)[A-Za-z_]|\\[)`);

const ASKED_BY: Readonly<Record<Question['kind'], RegExp>> = {
  query: /\b(?:run_query|statement|get_columns_in_query|get_column_schema_from_query|drop_relation|create_schema|drop_schema|truncate_relation|rename_relation|check_schema_exists)\s*\(/,
  columns: /\bget_columns_in_relation\s*\(/,
  relation: /\bget_relation\s*\(/,
};

/**
 * Where a template asks a question when the render did not say (Nunjucks drops the position
 * of a call on the first line): the first call that asks it of this kind, in the template.
 */
export function askedAt(source: string, q: Question): { line: number; column: number } | undefined {
  const m = ASKED_BY[q.kind].exec(source);
  return m ? positionOf(source, m.index) : undefined;
}

/** Sets properties a template reads but that no loop or `| length` should count. */
function withHidden<T extends object>(target: T, fields: Readonly<Record<string, unknown>>): T {
  for (const [key, value] of Object.entries(fields)) Object.defineProperty(target, key, { value, enumerable: false, configurable: true });
  return target;
}

/** dbt's agate Row: a list of its values (`row[0]`, `for v in row`), each also by its column's name (`row['id']`). */
export type AgateRow = unknown[];

/**
 * Whether a column's name can also reach it: not when a list already has something by that
 * name (its length, a position: a column named `7` is not the eighth).
 */
const byName = (list: readonly unknown[], name: string) => !(name in list) && !/^\d+$/.test(name);

function agateRow(names: readonly string[], values: readonly unknown[]): AgateRow {
  const row = [...values];
  names.forEach((name, i) => {
    if (byName(row, name)) withHidden(row, { [name]: values[i] });
  });
  // agate's row.keys(), values() and items() are tuples (Array's own would give an iterator).
  return withHidden(row, {
    keys: () => tuple([...names]),
    values: () => tuple([...values]),
    items: () => tuple(names.map((n, i) => tuple([n, values[i]]))),
    get: (name: string, fallback: unknown = null) => (names.includes(name) ? values[names.indexOf(name)] : fallback),
  });
}

/** dbt's agate Column: a name, a type and the column's values, a sequence of them as agate's (`column[0]`, `for v in column`, `| length`). */
export class AgateColumn extends PyObject {
  readonly typeName = 'Column';

  constructor(
    readonly name: string,
    readonly data_type: string,
    private readonly cells: readonly unknown[],
    /** What a place past the end gives at parse time (a cell that passes, see ParseCell); else it is an error. */
    private readonly missing?: () => unknown,
  ) {
    super();
  }

  // Tuples, as agate gives them: `where id in {{ column.values() }}` is a list of SQL.
  values(): unknown[] {
    return tuple([...this.cells]);
  }

  values_distinct(): unknown[] {
    return tuple([...new Set(this.cells)]);
  }

  values_without_nulls(): unknown[] {
    return tuple(this.cells.filter((v) => v !== null && v !== undefined));
  }

  override repr(): string {
    return `<agate.Column: ${this.name}>`;
  }

  override getattr(name: string): unknown {
    if (name === 'name') return this.name;
    if (name === 'data_type') return this.data_type;
    if (name === 'values' || name === 'values_distinct' || name === 'values_without_nulls') return () => this[name]();
    return undefined;
  }

  /** `column[0]`: a value by its row's place (agate's Column is a sequence of its values); past the end, an error, as Python's IndexError. */
  override getitem(key: unknown): unknown {
    if (typeof key !== 'number' || !Number.isInteger(key)) return undefined;
    const i = key < 0 ? this.cells.length + key : key;
    if ((i < 0 || i >= this.cells.length) && this.missing) return this.missing();
    if (i < 0 || i >= this.cells.length) throw new JinjaError(`IndexError: index ${key} is out of the column ${this.name}'s ${this.cells.length} values`);
    return this.cells[i];
  }

  override iterate(): unknown[] {
    return [...this.cells];
  }
}

/** A column of no result, what any column of a parse-time table is. */
const NO_COLUMN = new AgateColumn('', '', [], () => NO_ROW[0]);

/**
 * dbt's agate Table, what `run_query()` returns: a list of rows (`for row in table`,
 * `table[0][1]`, `table | length`), with `rows`, `columns` and `column_names`. At parse time
 * any column of the empty table exists and is empty, as dbt lets every lookup pass.
 */
export type AgateTable = AgateRow[] & { readonly rows: AgateRow[]; readonly columns: AgateColumn[]; readonly column_names: string[] };

export function agateTable(result: QueryTable, lenient = false, print?: (text: string) => void): AgateTable {
  const names = result.columns.map((c) => c.name);
  const cells = withPythonValues(result);
  const rows = cells.map((r) => agateRow(names, r));
  const columns = result.columns.map((c, i) => new AgateColumn(c.name, c.type, cells.map((r) => r[i]), lenient ? () => NO_ROW[0] : undefined));
  for (const c of [...columns]) if (byName(columns, c.name)) withHidden(columns, { [c.name]: c });
  // agate's columns are a mapping too: dbt_utils.get_query_results_as_dict walks `.items()`.
  withHidden(columns, {
    items: () => tuple(columns.map((c) => tuple<unknown>([c.name, c]))),
    keys: () => tuple([...names]),
    values: () => [...columns],
    get: (name: unknown, fallback: unknown = null) => columns.find((c) => c.name === name) ?? fallback,
  });
  const table = withHidden([...rows], {
    rows: lenient ? passing(rows, NO_ROW) : rows,
    columns: lenient ? passing(columns, NO_COLUMN) : columns,
    column_names: tuple([...names]),
    column_types: tuple(result.columns.map((c) => c.type)),
    // As dbt prints it, where what the template says goes (run-operation prints it); nothing at parse time, where no query ran.
    print_table: (...args: unknown[]) => {
      const a = bindArgs('print_table', PRINT_TABLE_PARAMS, args);
      const limit = (key: string, fallback: number) => (typeof a[key] === 'number' && Number.isInteger(a[key]) ? (a[key] as number) : fallback);
      const d = AGATE_PRINT_DEFAULTS;
      print?.(printedTable(result.columns, cells, { maxRows: limit('max_rows', d.maxRows), maxColumns: limit('max_columns', d.maxColumns), maxColumnWidth: limit('max_column_width', d.maxColumnWidth), maxPrecision: limit('max_precision', d.maxPrecision) }));
      return '';
    },
    toString: () => '',
  }) as AgateTable;
  return lenient ? passing(table, NO_ROW) : table;
}

/** agate's `print_table()` arguments; `output` and `locale` are taken and read as the defaults (the console, en-US). */
const PRINT_TABLE_PARAMS = [param('max_rows', 20), param('max_columns', 6), param('output', null), param('max_column_width', 20), param('locale', null), param('max_precision', 3)];

/**
 * The rows with their values as dbt's agate table holds them: a float column's whole values as
 * floats (agate keeps a DOUBLE's 3.0 as Decimal('3.0'), which prints as `3.0`, see WholeFloat),
 * a DATE as a date and a TIMESTAMP as a datetime (`d + timedelta(days=1)`, `ts.strftime(...)`;
 * printed as Python prints them, `2024-01-07 11:00:00.500000`), a value neither reads (a date
 * before year 1 or after 9999, infinity) staying its text.
 */
function withPythonValues(result: QueryTable): readonly (readonly unknown[])[] {
  const kinds = result.columns.map((c) => (TYPE_KINDS.float.has(c.type.toLowerCase()) ? 'float' : /^(DATE$|TIMESTAMP)/i.test(c.type) ? 'moment' : undefined));
  if (kinds.every((k) => k === undefined)) return result.rows;
  const value = (v: unknown, kind: (typeof kinds)[number]) => {
    if (kind === 'float' && typeof v === 'number') return pyFloat(v);
    if (kind === 'moment' && typeof v === 'string') return momentOf(v) ?? v;
    return v;
  };
  return result.rows.map((r) => r.map((v, i) => value(v, kinds[i])));
}

/** DuckDB's text of a DATE or TIMESTAMP (`2024-01-07`, `2024-01-07 11:00:00.5+00`) as Python's date or datetime. */
function momentOf(text: string): PyDate | PyDateTime | undefined {
  try {
    return yamlTimestamp(text);
  } catch {
    return undefined;
  }
}

/**
 * A list that lets every lookup pass, as dbt's parse render does: anything it does not hold
 * is `missing` (an empty row, an empty column, an empty cell). A template that reads a
 * query's first cell without asking `execute` first renders at parse time, as in dbt.
 */
function passing<T extends object>(target: T, missing: unknown): T {
  return new Proxy(target, { get: (t, key, receiver) => (typeof key === 'symbol' || key in t ? Reflect.get(t, key, receiver) : missing) });
}

/**
 * A cell of a parse-time row: it prints as nothing, and arithmetic, comparisons and lookups
 * on it pass (giving itself), so that a template using a query's cells without asking
 * `execute` first renders at parse time, as the rest of the parse render does.
 */
class ParseCell extends PyObject {
  readonly typeName = 'str';
  repr(): string {
    return "''";
  }
  override str(): string {
    return '';
  }
  override getattr(): unknown {
    return this;
  }
  override getitem(): unknown {
    return this;
  }
  override equals(other: unknown): boolean {
    return other === '' || other instanceof ParseCell;
  }
  override compare(): number {
    return 0;
  }
  override add(): unknown {
    return this;
  }
  override sub(): unknown {
    return this;
  }
  override mul(): unknown {
    return this;
  }
  override truthy(): boolean {
    return false;
  }
}

/** A row of no result, what any row of a parse-time table is: every cell empty. */
const NO_ROW = passing(agateRow([], []), new ParseCell());

/** What `load_result()` gives at parse time: an empty result that lets every lookup pass. */
function parseResult(): LoadResult {
  return { table: agateTable({ columns: [], rows: [] }, true), data: passing([], NO_ROW), response: { code: '', rows_affected: 0, _message: '' } };
}

/** dbt-duckdb's kinds of column types, by the type's whole name: `DECIMAL(4,3)` is none of them, as there. */
const TYPE_KINDS = {
  string: new Set(['text', 'character varying', 'character', 'varchar']),
  integer: new Set(['tinyint', 'smallint', 'integer', 'bigint', 'hugeint', 'utinyint', 'usmallint', 'uinteger', 'ubigint', 'int1', 'int2', 'int4', 'int8', 'short', 'int', 'signed', 'long']),
  float: new Set(['real', 'float', 'float4', 'float8', 'double']),
  numeric: new Set(['numeric', 'decimal']),
};

/**
 * A column as `adapter.get_columns_in_relation` gives it (dbt's Column): `dtype` is the
 * warehouse's type, `data_type` dbt's spelling of it (a text column without a size is
 * `character varying(256)`, as dbt-duckdb gives it), and `is_string()` and the like answer
 * as dbt-duckdb's do.
 */
export function dbtColumn(name: string, type: string) {
  const is = (kind: keyof typeof TYPE_KINDS) => () => TYPE_KINDS[kind].has(type.toLowerCase());
  const isString = is('string');
  return {
    name,
    column: name,
    dtype: type,
    data_type: isString() ? 'character varying(256)' : type,
    quoted: quoteIdent(name),
    char_size: null,
    numeric_precision: null,
    numeric_scale: null,
    is_string: isString,
    // dbt's size of a string column whose type has none.
    string_size: () => {
      if (!isString()) throw new JinjaError('Called string_size() on non-string field!');
      return 256;
    },
    is_integer: is('integer'),
    is_float: is('float'),
    is_numeric: is('numeric'),
    is_number: () => is('integer')() || is('float')() || is('numeric')(),
    toString: () => `<Column ${name} (${type})>`,
  };
}

/** dbt-duckdb's column type labels (dbt's base Column's): STRING is TEXT, every other type as written. */
function translateType(dtype: string): string {
  return dtype.toUpperCase() === 'STRING' ? 'TEXT' : dtype;
}

/** The parts of a relation as pipe writes it (`"schema"."name"`, or with its database first); undefined for other text. */
/** Whether the one built node of `graph` under `identifier` is a view or a table (null when none or several are). */
function materializedAs(graph: Readonly<Record<string, unknown>>, identifier: string): 'table' | 'view' | null {
  const nodes = Object.values((graph.nodes ?? {}) as Record<string, { identifier?: unknown; config?: { materialized?: unknown } }>);
  const found = nodes.filter((n) => n.identifier === identifier && typeof n.config?.materialized === 'string' && n.config.materialized !== 'ephemeral' && n.config.materialized !== 'test');
  if (found.length !== 1) return null;
  return found[0]!.config!.materialized === 'view' ? 'view' : 'table';
}

function quotedParts(text: string): { database?: string; schema: string; identifier: string } | undefined {
  const m = /^(?:"((?:[^"]|"")*)"\.)?"((?:[^"]|"")*)"\."((?:[^"]|"")*)"$/.exec(text.trim());
  if (!m) return undefined;
  const unquote = (s: string) => s.replaceAll('""', '"');
  return { ...(m[1] === undefined ? {} : { database: unquote(m[1]) }), schema: unquote(m[2]), identifier: unquote(m[3]) };
}

/**
 * Gives an environment dbt's names for reading the warehouse; `phaseOf` is the render in
 * progress (none: the parse). adapter's methods join those it has (dispatch, quote).
 */
export function installIntrospection(env: nunjucks.Environment, phaseOf: () => RenderPhase | undefined): void {
  const phase = () => phaseOf() ?? PARSE;
  const globals = (env as unknown as { globals: Record<string, unknown> }).globals;
  for (const [name, get] of [
    ['execute', () => phase().execute],
    ['graph', () => phase().graph],
  ] as const) {
    Object.defineProperty(globals, name, { enumerable: true, configurable: true, get });
  }
  const table = (p: RenderPhase, sql: unknown): AgateTable => {
    const a = p.answer({ kind: 'query', sql: p.resolve(String(sql)) });
    if (a.kind !== 'query') throw new Error('internal error: a query answered as something else');
    const report = p.report;
    return agateTable(a.table, !p.execute, report && ((text) => report({ kind: 'print', message: text, at: currentCallSite() })));
  };
  env.addGlobal('run_query', (...args: unknown[]) => table(phase(), bindArgs('run_query', [param('sql')], args).sql));
  // dbt's macros that read a query's columns without running it: none at parse time, as in dbt.
  const columnsOfQuery = (sql: unknown): QueryTable['columns'] => {
    const p = phase();
    if (!p.execute) return [];
    const a = p.answer({ kind: 'query', sql: p.resolve(String(sql)) });
    if (a.kind !== 'query') throw new Error('internal error: a query answered as something else');
    return a.table.columns;
  };
  const subqueryParams = [param('select_sql'), param('select_sql_header', null)];
  const emptySubquery = (...args: unknown[]): string => {
    const a = bindArgs('get_empty_subquery_sql', subqueryParams, args);
    const header = a.select_sql_header === null || a.select_sql_header === undefined ? '' : String(a.select_sql_header);
    return `${header}select * from (\n        ${String(a.select_sql)}\n    ) as __dbt_sbq\n    where false\n    limit 0\n`;
  };
  env.addGlobal('get_empty_subquery_sql', emptySubquery);
  env.addGlobal('get_columns_in_query', (...args: unknown[]) => {
    const { select_sql } = bindArgs('get_columns_in_query', [param('select_sql')], args);
    // dbt's reads load_result() of a statement, which is none at parse time.
    if (!phase().execute) throw new TemplateFunctionError("get_columns_in_query() reads the warehouse, which dbt's parse does not (there it fails: 'None' has no attribute 'table'): call it inside {% if execute %}");
    return columnsOfQuery(emptySubquery(select_sql)).map((c) => c.name);
  });
  env.addGlobal('get_column_schema_from_query', (...args: unknown[]) => columnsOfQuery(emptySubquery(...args)).map((c) => dbtColumn(c.name, c.type)));
  const statementParams = [param('name', null), param('fetch_result', false), param('auto_begin', true), param('language', 'sql'), param('caller', undefined)];
  env.addGlobal('statement', (...args: unknown[]) => {
    const a = bindArgs('statement', statementParams, args);
    const p = phase();
    // dbt's statement does nothing at parse time: its body is not even rendered.
    if (!p.execute) return '';
    if (typeof a.caller !== 'function') throw new TemplateFunctionError("statement() is called as a block: {% call statement('name', fetch_result=True) %} select ... {% endcall %}");
    const t = table(p, (a.caller as () => unknown)());
    if (typeof a.name === 'string') {
      p.results.set(a.name, {
        table: a.fetch_result ? t : agateTable({ columns: [], rows: [] }),
        data: a.fetch_result ? t.map((r) => [...r]) : [],
        response: { code: 'OK', rows_affected: t.length, _message: 'OK' },
      });
    }
    return '';
  });
  env.addGlobal('load_result', (...args: unknown[]) => {
    const { name } = bindArgs('load_result', [param('name')], args);
    if (typeof name !== 'string') throw new TemplateFunctionError("load_result() takes a statement's name, e.g. load_result('main')");
    const p = phase();
    const stored = p.results.get(name);
    if (stored) return stored;
    if (!p.execute) return parseResult();
    return null;
  });
  const relationOf = (p: RenderPhase, value: unknown, what: string): string => {
    if (value === undefined || value === null || value === '') throw new TemplateFunctionError(`${what} takes a relation, e.g. ref('orders')`);
    return p.resolve(String(value));
  };
  /** The schema a relation names: one of api.Relation.create(), a ref() or `this`. */
  const schemaOf = (relation: unknown, what: string): string => {
    const schema = relation instanceof Relation ? relation.schema : relation instanceof DbtRelation ? relation.getattr('schema') : undefined;
    if (typeof schema !== 'string') throw new TemplateFunctionError(`${what} takes a relation, e.g. api.Relation.create(database=target.database, schema='audit')`);
    return schema;
  };
  /** A relation naming a table or view, not a schema alone. */
  const tableOf = (relation: unknown, what: string): unknown => {
    if (relation instanceof Relation && relation.identifier === null) throw new TemplateFunctionError(`${what} takes a table's or view's relation, and ${String(relation)} names a schema alone`);
    return relation;
  };
  /** A database a template names, when it is another than the warehouse's own (target.database): an attached one. */
  const otherDatabase = (database: unknown): string | undefined => {
    const own = (globals.target as { database?: unknown } | undefined)?.database;
    return typeof database === 'string' && database !== '' && (typeof own !== 'string' || database.toLowerCase() !== own.toLowerCase()) ? database : undefined;
  };
  /** The schema of a relation as a statement names it: with its database when that is another. */
  const schemaRef = (relation: unknown, what: string): string => {
    const schema = quoteIdent(schemaOf(relation, what));
    return relation instanceof Relation && relation.qualified && relation.database !== null ? `${quoteIdent(relation.database)}.${schema}` : schema;
  };
  const adapter = globals.adapter && typeof globals.adapter === 'object' ? globals.adapter : {};
  env.addGlobal('adapter', {
    ...adapter,
    get_column_schema_from_query: (...args: unknown[]) => columnsOfQuery(bindArgs('adapter.get_column_schema_from_query', [param('sql')], args).sql).map((c) => dbtColumn(c.name, c.type)),
    get_columns_in_relation: (...args: unknown[]) => {
      const p = phase();
      const relation = bindArgs('adapter.get_columns_in_relation', [param('relation')], args).relation;
      const a = p.answer({ kind: 'columns', relation: relationOf(p, relation, 'adapter.get_columns_in_relation()') });
      if (a.kind !== 'columns') throw new Error('internal error: columns answered as something else');
      return a.columns.map((c) => dbtColumn(c.name, c.type));
    },
    get_relation: (...args: unknown[]) => {
      const a = bindArgs('adapter.get_relation', [param('database'), param('schema'), param('identifier')], args);
      if (typeof a.schema !== 'string' || typeof a.identifier !== 'string') {
        throw new TemplateFunctionError('adapter.get_relation() takes a database, a schema and an identifier, e.g. adapter.get_relation(this.database, this.schema, this.identifier)');
      }
      const database = otherDatabase(a.database);
      const found = phase().answer({ kind: 'relation', schema: a.schema, identifier: a.identifier, ...(database === undefined ? {} : { database }) });
      if (found.kind !== 'relation') throw new Error('internal error: a relation answered as something else');
      return found.found ? new Relation(typeof a.database === 'string' ? a.database : null, found.found.schema, found.found.identifier, found.found.type, database !== undefined) : null;
    },
    // dbt-duckdb's drop_relation: `drop <type> if exists <relation> cascade`, run as the render asks it (nothing at parse time).
    drop_relation: (...args: unknown[]) => {
      const p = phase();
      const { relation } = bindArgs('adapter.drop_relation', [param('relation')], args);
      const type = relation instanceof DbtRelation || relation instanceof Relation ? relation.type : null;
      if (type === null) {
        throw new TemplateFunctionError(`adapter.drop_relation(${relation instanceof Relation ? relation.shown() : String(relation)}): its type is not known, as in dbt: give it, e.g. adapter.drop_relation(this.incorporate(type='table'))`);
      }
      p.answer({ kind: 'query', sql: `DROP ${type.toUpperCase()} IF EXISTS ${relationOf(p, relation, 'adapter.drop_relation()')} CASCADE` });
      return '';
    },
    // dbt-duckdb's schema and relation statements, each run as the render asks it (nothing at parse time).
    create_schema: (...args: unknown[]) => {
      const p = phase();
      const { relation } = bindArgs('adapter.create_schema', [param('relation')], args);
      p.answer({ kind: 'query', sql: `CREATE SCHEMA IF NOT EXISTS ${schemaRef(relation, 'adapter.create_schema()')}` });
      return '';
    },
    drop_schema: (...args: unknown[]) => {
      const p = phase();
      const { relation } = bindArgs('adapter.drop_schema', [param('relation')], args);
      p.answer({ kind: 'query', sql: `DROP SCHEMA IF EXISTS ${schemaRef(relation, 'adapter.drop_schema()')} CASCADE` });
      return '';
    },
    truncate_relation: (...args: unknown[]) => {
      const p = phase();
      const { relation } = bindArgs('adapter.truncate_relation', [param('relation')], args);
      p.answer({ kind: 'query', sql: `TRUNCATE TABLE ${relationOf(p, tableOf(relation, 'adapter.truncate_relation()'), 'adapter.truncate_relation()')}` });
      return '';
    },
    rename_relation: (...args: unknown[]) => {
      const p = phase();
      const a = bindArgs('adapter.rename_relation', [param('from_relation'), param('to_relation')], args);
      const to = tableOf(a.to_relation, 'adapter.rename_relation()');
      const type = to instanceof DbtRelation || to instanceof Relation ? to.type : null;
      if (type === null) throw new TemplateFunctionError(`adapter.rename_relation(): the type of ${to instanceof Relation ? to.shown() : String(to)} is not known, as in dbt: give it, e.g. api.Relation.create(schema=..., identifier=..., type='table')`);
      const identifier = to instanceof Relation ? to.identifier : (to as DbtRelation).getattr('identifier');
      p.answer({ kind: 'query', sql: `ALTER ${type.toUpperCase()} ${relationOf(p, tableOf(a.from_relation, 'adapter.rename_relation()'), 'adapter.rename_relation()')} RENAME TO ${quoteIdent(String(identifier))}` });
      return '';
    },
    check_schema_exists: (...args: unknown[]) => {
      const { database, schema } = bindArgs('adapter.check_schema_exists', [param('database'), param('schema')], args);
      if (typeof schema !== 'string') throw new TemplateFunctionError("adapter.check_schema_exists() takes a database and a schema's name, e.g. adapter.check_schema_exists(target.database, 'audit')");
      const other = otherDatabase(database);
      const catalog = other === undefined ? 'current_database()' : quoteLiteral(other);
      return table(phase(), `SELECT 1 FROM information_schema.schemata WHERE lower(catalog_name) = lower(${catalog}) AND schema_name = ${quoteLiteral(schema)}`).length > 0;
    },
    type: () => 'duckdb',
  });
  // A relation of a node pipe builds exists by the time a model reading it runs (it is built
  // first): a parse answers so. As it executes (a model at run time, a run-operation, whose
  // nodes may never have been built), the warehouse answers.
  env.addGlobal('load_relation', (...args: unknown[]) => {
    const { relation } = bindArgs('load_relation', [param('relation')], args);
    const getRelation = (globals.adapter as { get_relation: (...a: unknown[]) => unknown }).get_relation;
    if (relation instanceof DbtRelation && relation.read) {
      const p = phase();
      if (!p.execute) return relation;
      const resolved = p.resolve(String(relation)).trim();
      // The node's rows as a query: a view checked before it is published, or the rows of a
      // partition about to be. dbt tests a node once built, so it finds the relation there.
      if (resolved.startsWith('(')) return relation.withType(materializedAs(p.graph, String(relation.getattr('identifier'))));
      // Where the node lives, once placed: an ephemeral model's CTE is no relation, as in dbt.
      const parts = quotedParts(resolved);
      return parts === undefined ? null : getRelation(parts.database ?? null, parts.schema, parts.identifier);
    }
    if (relation instanceof DbtRelation) {
      const { database, schema, identifier } = relation.where();
      return getRelation(database, schema, identifier);
    }
    if (relation instanceof Relation) return getRelation(relation.database, relation.schema, relation.identifier);
    throw new TemplateFunctionError("load_relation() takes a relation, e.g. load_relation(ref('orders'))");
  });
  env.addGlobal('api', {
    Relation: {
      create: (...args: unknown[]) => {
        const bound = bindArgs('api.Relation.create', [param('database', null), param('schema', null), param('identifier', null), param('type', null)], args, true);
        // A macro's output is a string, as in dbt (`schema=generate_schema_name('audit')`).
        const a = Object.fromEntries(Object.entries(bound).map(([k, v]) => [k, isStr(v) ? strOf(v) : v]));
        if (typeof a.schema !== 'string' || (a.identifier !== null && typeof a.identifier !== 'string')) {
          throw new TemplateFunctionError("api.Relation.create() takes a schema, and an identifier unless it names the schema alone, e.g. api.Relation.create(schema='audit', identifier='runs')");
        }
        const type = a.type === 'table' || a.type === 'view' ? a.type : null;
        return new Relation(typeof a.database === 'string' ? a.database : null, a.schema, a.identifier, a.identifier === null ? null : type, otherDatabase(a.database) !== undefined);
      },
    },
    Column: {
      translate_type: (...args: unknown[]) => {
        const { dtype } = bindArgs('api.Column.translate_type', [param('dtype')], args);
        if (typeof dtype !== 'string') throw new TemplateFunctionError("api.Column.translate_type() takes a type's name, e.g. api.Column.translate_type('string')");
        return translateType(dtype);
      },
      // A column of that name and type, as dbt's Column.create makes one (its type translated first).
      create: (...args: unknown[]) => {
        const { name, label_or_dtype: dtype } = bindArgs('api.Column.create', [param('name'), param('label_or_dtype')], args);
        if (typeof name !== 'string' || typeof dtype !== 'string') throw new TemplateFunctionError("api.Column.create() takes a column's name and type, e.g. api.Column.create('id', 'integer')");
        return dbtColumn(name, translateType(dtype));
      },
    },
  });
}
