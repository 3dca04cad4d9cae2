import { TemplateFunctionError } from '../../jinja/errors.js';
import { param } from '../../jinja/macro-args.js';
import { quoteIdent } from '../../../sql/sql-text.js';
import { list, sql, truthy, type BuiltinContext, type BuiltinPackage } from './builtin.js';
import { dateSpine } from './cross-database.js';
import { DBT_UTILS_INTROSPECTION } from './dbt-utils-introspection.js';

/**
 * pipe's own dbt_utils, for a project that declares the package without having it installed:
 * the macros and generic tests most projects use, each writing the SQL dbt_utils writes on
 * DuckDB. Those that read the warehouse while rendering are in dbt-utils-introspection.ts.
 */

const dbt = (ctx: BuiltinContext, name: string, ...args: unknown[]) => sql(ctx.call('dbt', name, ...args));

function surrogateKey(args: Readonly<Record<string, unknown>>, ctx: BuiltinContext): string {
  const fields = list('generate_surrogate_key', 'field_list', args.field_list);
  const ifNull = truthy(ctx.var('surrogate_key_treat_nulls_as_empty_strings', false)) ? '' : '_dbt_utils_surrogate_key_null_';
  const type = dbt(ctx, 'type_string');
  const parts = fields.flatMap((f, i) => [`coalesce(cast(${sql(f)} as ${type}), '${ifNull}')`, ...(i < fields.length - 1 ? ["'-'"] : [])]);
  return dbt(ctx, 'hash', dbt(ctx, 'concat', parts));
}

/** dbt_utils.slugify: lower case, spaces and dashes to underscores, only letters, digits and underscores, no leading digit. */
export function slugify(text: unknown): string {
  if (!truthy(text)) return '';
  const s = sql(text).toLowerCase().replace(/[ -]+/g, '_').replace(/[^a-z0-9_]+/g, '');
  return s.replace(/^[0-9]/, (d) => `_${d}`);
}

function pivot(a: Readonly<Record<string, unknown>>, ctx: BuiltinContext): string {
  return list('pivot', 'values', a.values)
    .map((value) => {
      const name = `${sql(a.prefix)}${sql(value)}${sql(a.suffix)}`;
      const alias = truthy(a.alias) ? ` as ${truthy(a.quote_identifiers) ? quoteIdent(name) : slugify(name)}` : '';
      const distinct = truthy(a.distinct) ? 'distinct ' : '';
      const match = `${sql(a.column)} ${sql(a.cmp)} '${dbt(ctx, 'escape_single_quotes', value)}'`;
      return `${sql(a.agg)}(${distinct}case when ${match} then ${sql(a.then_value)} else ${sql(a.else_value)} end)${alias}`;
    })
    .join(',\n  ');
}

const deduplicate = (a: Readonly<Record<string, unknown>>) => `with row_numbered as (
    select
        _inner.*,
        row_number() over (
            partition by ${sql(a.partition_by)}
            order by ${sql(a.order_by)}
        ) as rn
    from ${sql(a.relation)} as _inner
)
select
    distinct data.*
from ${sql(a.relation)} as data
natural join row_numbered
where row_numbered.rn = 1`;

const columnsOf = (macro: string, value: unknown) => list(macro, 'group_by_columns', value).map(sql);

function expressionIsTrue(a: Readonly<Record<string, unknown>>): string {
  const condition = a.column_name === null || a.column_name === undefined ? sql(a.expression) : `${sql(a.column_name)} ${sql(a.expression)}`;
  return `select *\nfrom ${sql(a.model)}\nwhere not(${condition})`;
}

function uniqueCombination(a: Readonly<Record<string, unknown>>): string {
  const columns = list('unique_combination_of_columns', 'combination_of_columns', a.combination_of_columns).map((c) => (truthy(a.quote_columns) ? quoteIdent(sql(c)) : sql(c)));
  const csv = columns.join(', ');
  return `with validation_errors as (
    select ${csv}
    from ${sql(a.model)}
    group by ${csv}
    having count(*) > 1
)
select *
from validation_errors`;
}

function acceptedRange(a: Readonly<Record<string, unknown>>): string {
  const eq = truthy(a.inclusive) ? '=' : '';
  const given = (v: unknown) => v !== null && v !== undefined;
  const bounds = [
    ...(given(a.min_value) ? [`or not ${sql(a.column_name)} >${eq} ${sql(a.min_value)}`] : []),
    ...(given(a.max_value) ? [`or not ${sql(a.column_name)} <${eq} ${sql(a.max_value)}`] : []),
  ];
  return `with meet_condition as (
    select * from ${sql(a.model)}
),
validation_errors as (
    select *
    from meet_condition
    where 1 = 2
    ${bounds.join('\n    ')}
)
select *
from validation_errors`;
}

/** `group by` columns as dbt_utils' tests put them: before the select list, and in a group by. */
function grouping(macro: string, value: unknown, separator: string): { select: string; groupBy: string; columns: string[] } {
  const columns = columnsOf(macro, value);
  return columns.length === 0 ? { select: '', groupBy: '', columns } : { select: `${columns.join(separator)}, `, groupBy: `group by ${columns.join(',')}`, columns };
}

function notNullProportion(a: Readonly<Record<string, unknown>>, ctx: BuiltinContext): string {
  const kwargs = (a.kwargs ?? {}) as Record<string, unknown>;
  const pick = (key: string, fallback?: unknown) => kwargs[key] ?? kwargs.arg ?? fallback;
  const column = pick('column_name');
  const atLeast = pick('at_least');
  const atMost = pick('at_most', 1);
  if (column === undefined) throw new TemplateFunctionError('not_null_proportion tests a column: declare it under the column, or give it column_name');
  if (atLeast === undefined) throw new TemplateFunctionError('not_null_proportion needs at_least, the smallest share of values that are not null (e.g. 0.95)');
  const g = grouping('not_null_proportion', a.group_by_columns, ' ,');
  return `with validation as (
  select
    ${g.select}sum(case when ${sql(column)} is null then 0 else 1 end) / cast(count(*) as ${dbt(ctx, 'type_numeric')}) as not_null_proportion
  from ${sql(a.model)}
  ${g.groupBy}
),
validation_errors as (
  select
    ${g.select}not_null_proportion
  from validation
  where not_null_proportion < ${sql(atLeast)} or not_null_proportion > ${sql(atMost)}
)
select *
from validation_errors`;
}

function atLeastOne(a: Readonly<Record<string, unknown>>): string {
  const column = sql(a.column_name);
  const g = grouping('at_least_one', a.group_by_columns, ' ,');
  const pruned = g.columns.length === 0 ? [column] : g.columns.includes(column) ? g.columns : [...g.columns, column];
  const filter = g.columns.length === 0 ? `where ${column} is not null\n    limit 1` : '';
  return `select *
from (
    with pruned_rows as (
      select ${pruned.join(' ,')}
      from ${sql(a.model)}
      ${filter}
    )
    select ${g.select}count(${column}) as filler_column
    from pruned_rows
    ${g.groupBy}
    having count(${column}) = 0
) validation_errors`;
}

function equalRowcount(a: Readonly<Record<string, unknown>>, ctx: BuiltinContext): string {
  ctx.config({ fail_calc: 'sum(coalesce(diff_count, 0))' });
  const g = grouping('equal_rowcount', a.group_by_columns, ', ');
  const key = 'id_dbtutils_test_equal_rowcount';
  // A constant key to join on when there are no columns to group by.
  const all = [key, ...g.columns];
  const groupBy = `group by ${all.join(',')}`;
  const count = (relation: unknown, as: string) => `select ${g.select}1 as ${key}, count(*) as ${as}
    from ${sql(relation)}
    ${groupBy}`;
  return `with a as (
    ${count(a.model, 'count_a')}
),
b as (
    ${count(a.compare_model, 'count_b')}
),
final as (
    select
        ${all.map((c) => `a.${c} as ${c}_a,\n        b.${c} as ${c}_b,`).join('\n        ')}
        count_a,
        count_b,
        abs(count_a - count_b) as diff_count
    from a
    full join b
    on a.${key} = b.${key}
    ${g.columns.map((c) => `and a.${c} = b.${c}`).join(' ')}
)
select * from final`;
}

const p = param;

export const DBT_UTILS: BuiltinPackage = {
  name: 'dbt_utils',
  macros: [
    { name: 'generate_surrogate_key', params: [p('field_list')], impl: 'default', render: surrogateKey },
    { name: 'date_spine', params: [p('datepart'), p('start_date'), p('end_date')], impl: 'default', render: dateSpine },
    {
      name: 'pivot',
      params: [p('column'), p('values'), p('alias', true), p('agg', 'sum'), p('cmp', '='), p('prefix', ''), p('suffix', ''), p('then_value', 1), p('else_value', 0), p('quote_identifiers', true), p('distinct', false)],
      impl: 'default',
      render: pivot,
    },
    { name: 'deduplicate', params: [p('relation'), p('partition_by'), p('order_by')], impl: 'default', render: deduplicate },
    {
      name: 'safe_add',
      params: [p('field_list')],
      impl: 'default',
      render: (a) => list('safe_add', 'field_list', a.field_list).map((f) => `coalesce(${sql(f)}, 0)`).join(' +\n  '),
    },
    { name: 'slugify', params: [p('string')], impl: 'direct', render: (a) => slugify(a.string) },
    { name: 'test_expression_is_true', params: [p('model'), p('expression'), p('column_name', null)], impl: 'default', render: expressionIsTrue },
    { name: 'test_unique_combination_of_columns', params: [p('model'), p('combination_of_columns'), p('quote_columns', false)], impl: 'default', render: uniqueCombination },
    {
      name: 'test_accepted_range',
      params: [p('model'), p('column_name'), p('min_value', null), p('max_value', null), p('inclusive', true)],
      impl: 'default',
      render: acceptedRange,
    },
    { name: 'test_not_null_proportion', params: [p('model'), p('group_by_columns', [])], takesKwargs: true, impl: 'default', render: notNullProportion },
    { name: 'test_at_least_one', params: [p('model'), p('column_name'), p('group_by_columns', [])], impl: 'default', render: atLeastOne },
    { name: 'test_equal_rowcount', params: [p('model'), p('compare_model'), p('group_by_columns', [])], impl: 'default', render: equalRowcount },
    ...DBT_UTILS_INTROSPECTION,
  ],
};
