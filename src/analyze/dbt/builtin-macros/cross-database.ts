import { TemplateFunctionError } from '../../jinja/errors.js';
import { param } from '../../jinja/macro-args.js';
import { list, sql, truthy, type BuiltinContext, type BuiltinMacro, type BuiltinPackage } from './builtin.js';
import { CONTEXT_MACROS } from './context-functions.js';
import { NAMING_MACROS } from './naming.js';

/**
 * dbt's cross-database macros (`dbt.dateadd`, `dbt.type_string`, ...) as dbt-duckdb renders
 * them: the SQL text is the same up to whitespace. They are also names of their own in a
 * template (`dateadd(...)`), as in dbt, unless the project defines a macro of that name.
 * `date_spine` counts its intervals in SQL: dbt runs a query while rendering to count them,
 * and the spine has the same rows.
 */

const dbtCall = (ctx: BuiltinContext, name: string, ...args: unknown[]) => sql(ctx.call('dbt', name, ...args));

/** `api.Column.translate_type(...)` of dbt-duckdb, which these macros return. */
const TYPES = {
  type_string: 'TEXT',
  type_int: 'integer',
  type_bigint: 'bigint',
  type_float: 'float',
  type_numeric: 'numeric(28,6)',
  type_timestamp: 'timestamp',
  type_boolean: 'boolean',
} as const;

const typeMacros: BuiltinMacro[] = Object.entries(TYPES).map(([name, type]) => ({ name, params: [], impl: 'default', render: () => type }));

/** A macro whose SQL is one template of its arguments. */
function simple(name: string, params: readonly string[], impl: 'duckdb' | 'default', render: (a: readonly string[]) => string): BuiltinMacro {
  return { name, params: params.map((p) => param(p)), impl, render: (args) => render(params.map((p) => sql(args[p]))) };
}

function dateadd(args: Readonly<Record<string, unknown>>): string {
  const unit = sql(args.datepart).toLowerCase();
  const from = sql(args.from_date_or_timestamp);
  const interval = sql(args.interval);
  // DuckDB has no quarter interval, and multiplies an interval by a number of any expression.
  if (unit === 'quarter') return `(${from} + (cast(${interval} as bigint) * 3) * interval 1 month)`;
  if (unit === 'week') return `(${from} + (cast(${interval} as bigint) * 7) * interval 1 day)`;
  return `(${from} + cast(${interval} as bigint) * interval 1 ${unit})`;
}

/** dbt-duckdb's text, whitespace included, so that compiled SQL compares line for line. */
function datediff(args: Readonly<Record<string, unknown>>, ctx: BuiltinContext): string {
  const [first, second] = [sql(args.first_date), sql(args.second_date)];
  if (args.datepart !== 'week') return `\n        (date_diff('${sql(args.datepart)}', ${first}::timestamp, ${second}::timestamp ))\n    `;
  // Weeks between are counted at Sunday boundaries, as on other warehouses.
  const days = dbtCall(ctx, 'datediff', args.first_date, args.second_date, 'day');
  return `\n            (${days} // 7 + case
            when date_part('dow', (${first})::timestamp) <= date_part('dow', (${second})::timestamp) then
                case when ${first} <= ${second} then 0 else -1 end
            else
                case when ${first} <= ${second} then 1 else 0 end
        end)\n    `;
}

function listagg(args: Readonly<Record<string, unknown>>): string {
  const order = truthy(args.order_by_clause) ? ` ${sql(args.order_by_clause)}` : '';
  if (truthy(args.limit_num)) {
    return `list_aggr((array_agg(${sql(args.measure)}${order}))[1:${sql(args.limit_num)}], 'string_agg', ${sql(args.delimiter_text)})`;
  }
  return `string_agg(${sql(args.measure)}, ${sql(args.delimiter_text)}${order})`;
}

function lastDay(args: Readonly<Record<string, unknown>>, ctx: BuiltinContext, months?: string): string {
  const truncated = dbtCall(ctx, 'date_trunc', args.datepart, args.date);
  const next = months === undefined ? dbtCall(ctx, 'dateadd', args.datepart, '1', truncated) : dbtCall(ctx, 'dateadd', 'month', months, truncated);
  return `cast(${dbtCall(ctx, 'dateadd', 'day', '-1', next)} as date)`;
}

/** The exponent of the smallest power of two at or above `bound`: how many bits count to it. */
function powersOfTwo(bound: unknown): number {
  const n = Number(bound);
  if (!(n > 0)) throw new TemplateFunctionError('get_powers_of_two(): upper bound must be positive');
  for (let i = 1; i < 100; i++) if (n <= 2 ** i) return i;
  throw new TemplateFunctionError(`get_powers_of_two(): ${sql(bound)} is too large`);
}

function generateSeries(bound: unknown, bits: number): string {
  const indexes = [...Array(bits).keys()];
  return `with p as (
    select 0 as generated_number union all select 1
), unioned as (
    select
    ${indexes.map((i) => `p${i}.generated_number * power(2, ${i})`).join('\n     + ')}
    + 1
    as generated_number
    from
    ${indexes.map((i) => `p as p${i}`).join('\n     cross join ')}
)
select *
from unioned
where generated_number <= ${sql(bound)}
order by generated_number`;
}

/**
 * A date spine: every `datepart` from `start_date` up to `end_date`. dbt counts the intervals
 * with a query while rendering and generates that many numbers; here DuckDB counts them.
 */
export function dateSpine(args: Readonly<Record<string, unknown>>, ctx: BuiltinContext): string {
  const datepart = sql(args.datepart);
  const count = dbtCall(ctx, 'datediff', args.start_date, args.end_date, datepart);
  const date = dbtCall(ctx, 'dateadd', datepart, 'generated_number - 1', args.start_date);
  return `with rawdata as (
    select unnest(generate_series(1, cast(${count} as bigint))) as generated_number
),
all_periods as (
    select (${date}) as date_${datepart}
    from rawdata
),
filtered as (
    select *
    from all_periods
    where date_${datepart} <= ${sql(args.end_date)}
)
select * from filtered`;
}

/** dbt's should_full_refresh(): the node's `full_refresh` config where it sets one, else flags.FULL_REFRESH. */
function shouldFullRefresh(_args: Readonly<Record<string, unknown>>, ctx: BuiltinContext): unknown {
  const configured = ctx.configValue('full_refresh');
  return configured === undefined || configured === null ? ctx.flag('FULL_REFRESH') : configured;
}

export const DBT_MACROS: BuiltinPackage = {
  name: 'dbt',
  macros: [
    ...NAMING_MACROS,
    ...CONTEXT_MACROS,
    { name: 'should_full_refresh', params: [], impl: 'direct', render: shouldFullRefresh },
    // dbt-duckdb's, which projects call in on-run-start: it makes views over the files of the
    // external models a selection reads but does not build, for a database that does not keep
    // them (in memory). pipe's warehouse keeps the view it publishes over each external model's
    // file, so there is nothing to register: it renders nothing.
    { name: 'register_upstream_external_models', params: [], impl: 'direct', render: () => '' },
    ...typeMacros,
    simple('any_value', ['expression'], 'duckdb', ([e]) => `arbitrary(${e})`),
    simple('bool_or', ['expression'], 'default', ([e]) => `bool_or(${e})`),
    simple('cast', ['field', 'type'], 'default', ([f, t]) => `cast(${f} as ${t})`),
    simple('safe_cast', ['field', 'type'], 'default', ([f, t]) => `cast(${f} as ${t})`),
    simple('cast_bool_to_text', ['field'], 'default', ([f]) => `cast(${f} as ${TYPES.type_string})`),
    { name: 'concat', params: [param('fields')], impl: 'default', render: (a) => list('concat', 'fields', a.fields).map(sql).join(' || ') },
    simple('hash', ['field'], 'default', ([f]) => `md5(cast(${f} as ${TYPES.type_string}))`),
    simple('current_timestamp', [], 'duckdb', () => 'now()'),
    simple('current_timestamp_backcompat', [], 'default', () => 'current_timestamp::timestamp'),
    simple('current_timestamp_in_utc_backcompat', [], 'default', () => 'current_timestamp::timestamp'),
    simple('date_trunc', ['datepart', 'date'], 'default', ([p, d]) => `date_trunc('${p}', ${d})`),
    simple('date', ['year', 'month', 'day'], 'duckdb', ([y, m, d]) => `make_date(${y}, ${m}, ${d})`),
    { name: 'dateadd', params: ['datepart', 'interval', 'from_date_or_timestamp'].map((p) => param(p)), impl: 'duckdb', render: dateadd },
    { name: 'datediff', params: ['first_date', 'second_date', 'datepart'].map((p) => param(p)), impl: 'duckdb', render: datediff },
    simple('split_part', ['string_text', 'delimiter_text', 'part_number'], 'duckdb', ([s, d, n]) => `string_split(${s}, ${d})[${n}]`),
    {
      name: 'listagg',
      params: [param('measure'), param('delimiter_text', "','"), param('order_by_clause', null), param('limit_num', null)],
      impl: 'duckdb',
      render: listagg,
    },
    { name: 'escape_single_quotes', params: [param('expression')], impl: 'default', render: (a) => sql(a.expression).replaceAll("'", "''") },
    simple('string_literal', ['value'], 'default', ([v]) => `'${v}'`),
    {
      name: 'last_day',
      params: [param('date'), param('datepart')],
      impl: 'duckdb',
      render: (a, ctx) => (a.datepart === 'quarter' ? lastDay(a, ctx, '3') : sql(ctx.call('dbt', 'default_last_day', a.date, a.datepart))),
    },
    { name: 'default_last_day', params: [param('date'), param('datepart')], impl: 'direct', render: (a, ctx) => lastDay(a, ctx) },
    simple('position', ['substring_text', 'string_text'], 'default', ([sub, s]) => `position(${sub} in ${s})`),
    simple('replace', ['field', 'old_chars', 'new_chars'], 'default', ([f, o, n]) => `replace(${f}, ${o}, ${n})`),
    simple('length', ['expression'], 'default', ([e]) => `length(${e})`),
    simple('right', ['string_text', 'length_expression'], 'default', ([s, n]) => `right(${s}, ${n})`),
    simple('except', [], 'default', () => 'except'),
    simple('intersect', [], 'default', () => 'intersect'),
    {
      name: 'array_construct',
      params: [param('inputs', []), param('data_type', 'integer')],
      impl: 'default',
      render: (a) => {
        const inputs = list('array_construct', 'inputs', a.inputs);
        return inputs.length > 0 ? `array[ ${inputs.map(sql).join(' , ')} ]` : `array[]::${sql(a.data_type)}[]`;
      },
    },
    simple('array_append', ['array', 'new_element'], 'default', ([a, e]) => `array_append(${a}, ${e})`),
    simple('array_concat', ['array_1', 'array_2'], 'default', ([a, b]) => `array_cat(${a}, ${b})`),
    simple('equals', ['expr1', 'expr2'], 'default', ([a, b]) => `(${a} = ${b})`),
    { name: 'get_powers_of_two', params: [param('upper_bound')], impl: 'default', render: (a) => powersOfTwo(a.upper_bound) },
    {
      name: 'generate_series',
      params: [param('upper_bound')],
      impl: 'default',
      render: (a, ctx) => generateSeries(a.upper_bound, Number(ctx.call('dbt', 'get_powers_of_two', a.upper_bound))),
    },
    { name: 'date_spine', params: ['datepart', 'start_date', 'end_date'].map((p) => param(p)), impl: 'default', render: dateSpine },
  ],
};
