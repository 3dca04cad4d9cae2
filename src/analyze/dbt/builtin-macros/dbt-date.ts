import { TemplateFunctionError } from '../../jinja/errors.js';
import { param } from '../../jinja/macro-args.js';
import { sql, truthy, type BuiltinContext, type BuiltinMacro, type BuiltinPackage } from './builtin.js';
import { dateSpine } from './cross-database.js';

/**
 * pipe's own dbt_date, for a project that declares the package without having it installed:
 * get_base_dates and get_date_dimension, and the date macros they are made of, each writing
 * the SQL dbt_date writes on DuckDB (where dbt_date mostly uses its Postgres implementations).
 */

type Args = Readonly<Record<string, unknown>>;
const dbt = (ctx: BuiltinContext, name: string, ...args: unknown[]) => sql(ctx.call('dbt', name, ...args));
const own = (ctx: BuiltinContext, name: string, ...args: unknown[]) => sql(ctx.call('dbt_date', name, ...args));

/** Python's int() of a value, as dbt_date's `n | int`: a number, or 0 for what is not one. */
function int(value: unknown): number {
  const n = Number.parseInt(sql(value), 10);
  return Number.isNaN(n) ? 0 : n;
}

function convertTimezone(a: Args, ctx: BuiltinContext): string {
  const source = truthy(a.source_tz) ? sql(a.source_tz) : 'UTC';
  const target = truthy(a.target_tz) ? sql(a.target_tz) : sql(ctx.var('dbt_date:time_zone'));
  const ts = dbt(ctx, 'type_timestamp');
  return `cast(cast(${sql(a.column)} as ${ts}) at time zone '${source}' at time zone '${target}' as ${ts})`;
}

/** The date a macro works on: its argument, or today. */
const dateOr = (a: Args, ctx: BuiltinContext) => (truthy(a.date) ? a.date : ctx.call('dbt_date', 'today', a.tz ?? null));

function nDaysAgo(a: Args, ctx: BuiltinContext): string {
  return `cast(${dbt(ctx, 'dateadd', 'day', -1 * int(a.n), dateOr(a, ctx))} as date)`;
}

function dayOfWeek(a: Args, ctx: BuiltinContext): string {
  // dbt_date's Postgres implementation, which it uses on DuckDB.
  return truthy(a.isoweek)
    ? `cast(${own(ctx, 'date_part', 'isodow', a.date)} as ${dbt(ctx, 'type_int')})`
    : `cast(${own(ctx, 'date_part', 'dow', a.date)} + 1 as ${dbt(ctx, 'type_int')})`;
}

/** A name of a day or month, in English (DuckDB's dayname and monthname); other languages are not here. */
function nameOf(fn: 'dayname' | 'monthname') {
  return (a: Args) => {
    if (a.language !== 'default') throw new TemplateFunctionError(`pipe's own dbt_date names days and months in English only (language='default'), not '${sql(a.language)}'`);
    return truthy(a.short) ? `substr(${fn}(${sql(a.date)}), 1, 3)` : `${fn}(${sql(a.date)})`;
  };
}

const weekStart = (a: Args, ctx: BuiltinContext) =>
  `cast(${dbt(ctx, 'dateadd', 'day', -1, dbt(ctx, 'date_trunc', 'week', dbt(ctx, 'dateadd', 'day', 1, a.date)))} as date)`;

/**
 * A macro that dbt_date calls on today when given no date: `name` takes the date (or none)
 * and dispatches, its implementation takes the date.
 */
function onDate(name: string, impl: 'duckdb' | 'default', render: (a: Args, ctx: BuiltinContext) => string): BuiltinMacro[] {
  return [
    { name, params: [param('date', null), param('tz', null)], impl: 'direct', render: (a, ctx) => ctx.dispatch(name, 'dbt_date', dateOr(a, ctx)) },
    { name: `${impl}__${name}`, params: [param('date')], impl: 'direct', render },
  ];
}

function isoYearWeek(a: Args, ctx: BuiltinContext): string {
  const week = own(ctx, 'iso_week_of_year', a.date);
  const yearOf = (date: string) => own(ctx, 'date_part', 'year', date);
  const label = (year: string) => `concat(\n        ${year},\n        '-W',\n        lpad(concat('', ${week}), 2, '0')\n    )`;
  return `case
    when ${week} = 1
    then
    ${label(yearOf(own(ctx, 'iso_week_end', a.date)))}
    else
    ${label(yearOf(own(ctx, 'iso_week_start', a.date)))}
end`;
}

function baseDates(a: Args, ctx: BuiltinContext): string {
  const datepart = sql(a.datepart);
  const ts = dbt(ctx, 'type_timestamp');
  let start: unknown = a.start_date;
  let end: unknown = a.end_date;
  if (truthy(a.start_date) && truthy(a.end_date)) {
    start = `cast('${sql(a.start_date)}' as ${ts})`;
    end = `cast('${sql(a.end_date)}' as ${ts})`;
  } else if (truthy(a.n_dateparts) && truthy(a.datepart)) {
    start = dbt(ctx, 'dateadd', datepart, -1 * Number(a.n_dateparts), own(ctx, 'today'));
    end = own(ctx, 'tomorrow');
  } else {
    throw new TemplateFunctionError('get_base_dates() takes start_date and end_date, or n_dateparts (and datepart)');
  }
  return `with date_spine as (
    ${own(ctx, 'date_spine', datepart, start, end)}
)
select cast(d.date_${datepart} as ${ts}) as date_${datepart}
from date_spine d`;
}

function dateDimension(a: Args, ctx: BuiltinContext): string {
  const d = (name: string, ...args: unknown[]) => own(ctx, name, ...args);
  const int = dbt(ctx, 'type_int');
  const trunc = (part: string, date: string) => dbt(ctx, 'date_trunc', part, date);
  const lastDay = (date: string, part: string) => sql(ctx.call('dbt', 'last_day', date, part));
  const kw = (o: Record<string, unknown>) => ({ ...o, __keywords: true });
  const cols: [string, string][] = [
    ['d.date_day', 'date_day'],
    [d('yesterday', 'd.date_day'), 'prior_date_day'],
    [d('tomorrow', 'd.date_day'), 'next_date_day'],
    ['d.prior_year_date_day', 'prior_year_date_day'],
    ['d.prior_year_over_year_date_day', 'prior_year_over_year_date_day'],
    [d('day_of_week', 'd.date_day', kw({ isoweek: false })), 'day_of_week'],
    [d('day_of_week', 'd.date_day', kw({ isoweek: true })), 'day_of_week_iso'],
    [d('day_name', 'd.date_day', kw({ short: false })), 'day_of_week_name'],
    [d('day_name', 'd.date_day', kw({ short: true })), 'day_of_week_name_short'],
    [d('day_of_month', 'd.date_day'), 'day_of_month'],
    [d('day_of_year', 'd.date_day'), 'day_of_year'],
    [d('week_start', 'd.date_day'), 'week_start_date'],
    [d('week_end', 'd.date_day'), 'week_end_date'],
    [d('week_start', 'd.prior_year_over_year_date_day'), 'prior_year_week_start_date'],
    [d('week_end', 'd.prior_year_over_year_date_day'), 'prior_year_week_end_date'],
    [d('week_of_year', 'd.date_day'), 'week_of_year'],
    [d('iso_week_start', 'd.date_day'), 'iso_week_start_date'],
    [d('iso_week_end', 'd.date_day'), 'iso_week_end_date'],
    [d('iso_week_start', 'd.prior_year_over_year_date_day'), 'prior_year_iso_week_start_date'],
    [d('iso_week_end', 'd.prior_year_over_year_date_day'), 'prior_year_iso_week_end_date'],
    [d('iso_week_of_year', 'd.date_day'), 'iso_week_of_year'],
    [d('iso_year_week', 'd.date_day'), 'iso_year_week'],
    [d('week_of_year', 'd.prior_year_over_year_date_day'), 'prior_year_week_of_year'],
    [d('iso_week_of_year', 'd.prior_year_over_year_date_day'), 'prior_year_iso_week_of_year'],
    [`cast(${d('date_part', 'month', 'd.date_day')} as ${int})`, 'month_of_year'],
    [d('month_name', 'd.date_day', kw({ short: false })), 'month_name'],
    [d('month_name', 'd.date_day', kw({ short: true })), 'month_name_short'],
    [`cast(${trunc('month', 'd.date_day')} as date)`, 'month_start_date'],
    [`cast(${lastDay('d.date_day', 'month')} as date)`, 'month_end_date'],
    [`cast(${trunc('month', 'd.prior_year_date_day')} as date)`, 'prior_year_month_start_date'],
    [`cast(${lastDay('d.prior_year_date_day', 'month')} as date)`, 'prior_year_month_end_date'],
    [`cast(${d('date_part', 'quarter', 'd.date_day')} as ${int})`, 'quarter_of_year'],
    [`cast(${trunc('quarter', 'd.date_day')} as date)`, 'quarter_start_date'],
    [`cast(${lastDay('d.date_day', 'quarter')} as date)`, 'quarter_end_date'],
    [`cast(${d('date_part', 'year', 'd.date_day')} as ${int})`, 'year_number'],
    [`cast(${trunc('year', 'd.date_day')} as date)`, 'year_start_date'],
    [`cast(${lastDay('d.date_day', 'year')} as date)`, 'year_end_date'],
  ];
  return `with base_dates as (
    ${d('get_base_dates', a.start_date, a.end_date)}
),
dates_with_prior_year_dates as (
    select
        cast(d.date_day as date) as date_day,
        cast(${dbt(ctx, 'dateadd', 'year', -1, 'd.date_day')} as date) as prior_year_date_day,
        cast(${dbt(ctx, 'dateadd', 'day', -364, 'd.date_day')} as date) as prior_year_over_year_date_day
    from base_dates d
)
select
    ${cols.map(([expr, name]) => `${expr} as ${name}`).join(',\n    ')}
from dates_with_prior_year_dates d
order by 1`;
}

const p = param;
const simple = (name: string, params: readonly string[], render: (a: Args, ctx: BuiltinContext) => string): BuiltinMacro => ({
  name,
  params: params.map((x) => p(x)),
  impl: 'default',
  render,
});

export const DBT_DATE: BuiltinPackage = {
  name: 'dbt_date',
  macros: [
    { name: 'get_base_dates', params: [p('start_date', null), p('end_date', null), p('n_dateparts', null), p('datepart', 'day')], impl: 'default', render: baseDates },
    simple('get_date_dimension', ['start_date', 'end_date'], dateDimension),
    simple('date_spine', ['datepart', 'start_date', 'end_date'], dateSpine),
    simple('date_part', ['datepart', 'date'], (a) => `date_part('${sql(a.datepart)}', ${sql(a.date)})`),
    { name: 'convert_timezone', params: [p('column'), p('target_tz', null), p('source_tz', null)], impl: 'default', render: convertTimezone },
    { name: 'now', params: [p('tz', null)], impl: 'default', render: (a, ctx) => own(ctx, 'convert_timezone', dbt(ctx, 'current_timestamp'), a.tz) },
    { name: 'today', params: [p('tz', null)], impl: 'default', render: (a, ctx) => `cast(${own(ctx, 'now', a.tz)} as date)` },
    { name: 'n_days_ago', params: [p('n'), p('date', null), p('tz', null)], impl: 'default', render: nDaysAgo },
    { name: 'n_days_away', params: [p('n'), p('date', null), p('tz', null)], impl: 'default', render: (a, ctx) => own(ctx, 'n_days_ago', -1 * int(a.n), a.date, a.tz) },
    { name: 'yesterday', params: [p('date', null), p('tz', null)], impl: 'default', render: (a, ctx) => own(ctx, 'n_days_ago', 1, a.date, a.tz) },
    { name: 'tomorrow', params: [p('date', null), p('tz', null)], impl: 'default', render: (a, ctx) => own(ctx, 'n_days_away', 1, a.date, a.tz) },
    { name: 'day_of_week', params: [p('date'), p('isoweek', true)], impl: 'duckdb', render: dayOfWeek },
    { name: 'day_name', params: [p('date'), p('short', true), p('language', 'default')], impl: 'duckdb', render: nameOf('dayname') },
    { name: 'month_name', params: [p('date'), p('short', true), p('language', 'default')], impl: 'duckdb', render: nameOf('monthname') },
    simple('day_of_month', ['date'], (a, ctx) => own(ctx, 'date_part', 'day', a.date)),
    simple('day_of_year', ['date'], (a, ctx) => own(ctx, 'date_part', 'dayofyear', a.date)),
    ...onDate('week_start', 'duckdb', weekStart),
    ...onDate('week_end', 'duckdb', (a, ctx) => own(ctx, 'n_days_away', 6, own(ctx, 'week_start', a.date))),
    ...onDate('week_of_year', 'duckdb', (a) => `cast(ceil(dayofyear(${sql(a.date)}) / 7) as int)`),
    ...onDate('iso_week_start', 'duckdb', (a, ctx) => `cast(${dbt(ctx, 'date_trunc', 'week', a.date)} as date)`),
    ...onDate('iso_week_end', 'default', (a, ctx) => own(ctx, 'n_days_away', 6, own(ctx, 'iso_week_start', a.date))),
    ...onDate('iso_week_of_year', 'duckdb', (a, ctx) => `cast(${own(ctx, 'date_part', 'week', a.date)} as ${dbt(ctx, 'type_int')})`),
    simple('iso_year_week', ['date'], isoYearWeek),
  ],
};
