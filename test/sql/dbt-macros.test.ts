import { afterAll, describe, expect, it } from 'vitest';
import { runIn } from '../support/in-process.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

/**
 * dbt's cross-database macros and pipe's own dbt_utils and dbt_date, run on DuckDB: the values
 * they compute are the values dbt-duckdb's SQL computes (test/dbt-compat/packages compares
 * whole tables with dbt itself). And an installed package, dispatch and return() included,
 * built end to end.
 */

afterAll(removeProjects);

/** A query's rows (BIGINT values come back as text). */
const rows = (dir: string, sql: string) => queryWarehouse(dir, sql);

describe("dbt's cross-database macros on DuckDB", () => {
  it('compute what dbt-duckdb computes', async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    +materialized: table\n',
      'models/values.sql': `with t as (select timestamp '2024-01-31 10:00:00' as ts, 'a-b-c' as s, true as flag)
select
    cast({{ dbt.dateadd('month', 1, 'ts') }} as varchar) as plus_month,
    cast({{ dbt.dateadd('quarter', 1, 'ts') }} as varchar) as plus_quarter,
    cast({{ dbt.dateadd('week', -1, 'ts') }} as varchar) as minus_week,
    {{ dbt.datediff("date '2024-01-01'", 'ts', 'day') }} as days,
    {{ dbt.datediff("date '2024-01-06'", "date '2024-01-07'", 'week') }} as sunday_crossed,
    {{ dbt.datediff("date '2024-01-07'", "date '2024-01-13'", 'week') }} as same_week,
    cast({{ dbt.date_trunc('month', 'ts') }} as varchar) as month,
    cast({{ dbt.last_day('ts', 'month') }} as varchar) as month_end,
    cast({{ dbt.last_day('ts', 'quarter') }} as varchar) as quarter_end,
    {{ dbt.split_part('s', "'-'", 2) }} as second,
    {{ dbt.split_part('s', "'-'", -1) }} as last,
    {{ dbt.concat(['s', "'!'"]) }} as shout,
    {{ dbt.hash("'x'") }} = md5('x') as hashed,
    {{ dbt.safe_cast("'12'", dbt.type_int()) }} + 1 as n,
    {{ dbt.cast_bool_to_text('flag') }} as flag_text,
    {{ dbt.position("'b'", 's') }} as b_at,
    {{ dbt.replace('s', "'-'", "'+'") }} as plussed,
    {{ dbt.length('s') }} as len,
    {{ dbt.right('s', 3) }} as tail,
    {{ dbt.string_literal(dbt.escape_single_quotes("it's")) }} as quoted,
    {{ dbt.current_timestamp() }} <= now() as now_ok
from t`,
      'models/agg.sql': `select
    {{ dbt.listagg('v', "','", 'order by v desc') }} as listed,
    {{ dbt.listagg('v', "'|'", 'order by v', 2) }} as first_two,
    {{ dbt.bool_or('v > 2') }} as any_big,
    {{ dbt.any_value('1') }} as one
from (values (1), (3), (2)) t(v)
{{ dbt.except() }}
select 'x', 'y', false, 0`,
      'models/spine.sql': "{{ dbt.date_spine('day', \"cast('2024-02-27' as date)\", \"cast('2024-03-02' as date)\") }}",
      'models/series.sql': '{{ dbt.generate_series(5) }}',
    });
    const result = await runIn(dir, { date: '2024-01-02' });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(await rows(dir, 'select * exclude (now_ok), now_ok from main."values"')).toEqual([
      {
        plus_month: '2024-02-29 10:00:00',
        plus_quarter: '2024-04-30 10:00:00',
        minus_week: '2024-01-24 10:00:00',
        days: '30',
        sunday_crossed: '1',
        same_week: '0',
        month: '2024-01-01 00:00:00',
        month_end: '2024-01-31',
        quarter_end: '2024-03-31',
        second: 'b',
        last: 'c',
        shout: 'a-b-c!',
        hashed: true,
        n: 13,
        flag_text: 'true',
        b_at: '3',
        plussed: 'a+b+c',
        len: '5',
        tail: 'b-c',
        quoted: "it's",
        now_ok: true,
      },
    ]);
    expect(await rows(dir, 'select * from main.agg')).toEqual([{ listed: '3,2,1', first_two: '1|2', any_big: true, one: 1 }]);
    expect((await rows(dir, 'select cast(date_day as date)::varchar as d from main.spine order by 1')).map((r) => r.d)).toEqual([
      '2024-02-27',
      '2024-02-28',
      '2024-02-29',
      '2024-03-01',
    ]);
    expect((await rows(dir, 'select generated_number from main.series order by 1')).map((r) => r.generated_number)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe("dbt's context functions under the dbt namespace", () => {
  it('dbt.run_query() and dbt.is_incremental() answer as run_query() and is_incremental() do, as packages call them', async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    +materialized: table\n',
      'models/days.sql': 'select * from (values (1), (2), (3)) t(d)',
      // Read while the model renders at run time, once days is built: 3, not the parse render's 0.
      'models/counted.sql': `{% set r = dbt.run_query('select count(*) as n from ' ~ ref('days')) %}
select {{ r.columns[0].values()[0] if execute else 0 }} as days_seen`,
      'models/grown.sql': `{{ config(materialized='incremental', unique_key='d') }}
select d, {{ 'true' if dbt.is_incremental() else 'false' }} as incremental_run from {{ ref('days') }}
{% if dbt.is_incremental() %}where d > (select max(d) - 1 from {{ this }}){% endif %}`,
      // A project's own is_incremental() that calls dbt's, as testing packages override it.
      'macros/overrides.sql': '{% macro is_incremental() %}{{ return(dbt.is_incremental()) }}{% endmacro %}',
      'models/grown_too.sql': `{{ config(materialized='incremental', unique_key='d') }}
select d, {{ 'true' if is_incremental() else 'false' }} as incremental_run from {{ ref('days') }}
{% if is_incremental() %}where d > (select max(d) - 1 from {{ this }}){% endif %}`,
    });
    for (const date of ['2024-01-02', '2024-01-03']) {
      const r = await runIn(dir, { date });
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    expect(await rows(dir, 'select days_seen from main.counted')).toEqual([{ days_seen: 3 }]);
    for (const table of ['grown', 'grown_too']) {
      expect(await rows(dir, `select d, incremental_run from main.${table} order by d`)).toEqual([
        { d: 1, incremental_run: false },
        { d: 2, incremental_run: false },
        { d: 3, incremental_run: true },
      ]);
    }
  });
});

describe("run_query()'s values", () => {
  it("are what dbt's agate table holds: a DATE a date, a TIMESTAMP a datetime, printed as Python prints them", async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    +materialized: table\n',
      'models/a.sql': "select date '2024-01-07' as d, timestamp '2024-01-07 11:00:00.5' as ts, timestamptz '2024-01-07 11:00:00' as tz, timestamp '2024-01-07 11:00:00' as whole",
      'models/b.sql': `-- depends_on: {{ ref('a') }}
{% if execute %}
{% set r = run_query('select d, ts, tz, whole from ' ~ ref('a')) %}
{% set row = r.rows[0] %}
select '{{ row['d'] is string }}' as d_is_string, '{{ row['ts'] }}' as ts_text, '{{ row['tz'] }}' as tz_text, '{{ row['whole'] }}' as whole_text,
  '{{ row['d'] + modules.datetime.timedelta(days=1) }}' as next_day, '{{ row['ts'].strftime('%Y%m%d') }}' as ymd
{% else %} select 1 {% endif %}`,
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await rows(dir, 'select * from main.b')).toEqual([
      { d_is_string: 'False', ts_text: '2024-01-07 11:00:00.500000', tz_text: '2024-01-07 11:00:00+00:00', whole_text: '2024-01-07 11:00:00', next_day: '2024-01-08', ymd: '20240107' },
    ]);
  });
});

describe("pipe's own dbt_utils and dbt_date on DuckDB", () => {
  it('build what the packages build, and run their tests', async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    +materialized: table\nvars:\n  surrogate_key_treat_nulls_as_empty_strings: true\n',
      'packages.yml': 'packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n  - package: godatadriven/dbt_date\n    version: 0.21.0\n',
      'models/orders.sql': `select * from (values
  (1, 'placed', 10, null, timestamp '2024-01-01 09:00'),
  (1, 'placed', 10, null, timestamp '2024-01-02 09:00'),
  (2, 'shipped', 5, 1, timestamp '2024-01-03 09:00'),
  (3, 'shipped', 7, 2, timestamp '2024-01-04 09:00')
) t(order_id, status, amount, discount, ordered_at)`,
      'models/keys.sql': `select order_id,
    {{ dbt_utils.generate_surrogate_key(['order_id', 'discount']) }} as k,
    {{ dbt_utils.safe_add(['amount', 'discount']) }} as total
from {{ ref('orders') }}`,
      'models/by_status.sql': `select order_id, {{ dbt_utils.pivot('status', ['placed', 'shipped'], agg='max', then_value='amount', else_value='null', prefix='amount_') }}
from {{ ref('orders') }} group by order_id`,
      'models/latest.sql': "{{ dbt_utils.deduplicate('(select order_id, status, ordered_at from ' ~ ref('orders') ~ ')', 'order_id', 'ordered_at desc') }}",
      'models/weeks.sql': "{{ dbt_utils.date_spine('week', \"cast('2024-01-01' as date)\", \"cast('2024-02-01' as date)\") }}",
      'models/calendar.sql': "{{ dbt_date.get_date_dimension('2024-12-28', '2025-01-03') }}",
      'models/schema.yml': `version: 2
models:
  - name: keys
    data_tests:
      - dbt_utils.unique_combination_of_columns:
          combination_of_columns: [order_id, k]
          config: {severity: warn}
      - dbt_utils.equal_rowcount: {compare_model: ref('orders')}
    columns:
      - name: total
        data_tests:
          - dbt_utils.accepted_range: {min_value: 5, max_value: 9, config: {severity: warn}}
          - dbt_utils.not_null_proportion: {at_least: 0.5}
          - dbt_utils.at_least_one
          - dbt_utils.expression_is_true: {expression: "> 0"}
`,
    });
    const result = await runIn(dir, { date: '2024-01-02' });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(await rows(dir, 'select order_id, k = md5(cast(order_id as varchar) || \'-\' || coalesce(cast(discount as varchar), \'\')) as same, total from main.keys join main.orders using (order_id) order by all')).toEqual([
      { order_id: 1, same: true, total: 10 },
      { order_id: 1, same: true, total: 10 },
      { order_id: 1, same: true, total: 10 },
      { order_id: 1, same: true, total: 10 },
      { order_id: 2, same: true, total: 6 },
      { order_id: 3, same: true, total: 9 },
    ]);
    expect(await rows(dir, 'select * from main.by_status order by order_id')).toEqual([
      { order_id: 1, amount_placed: 10, amount_shipped: null },
      { order_id: 2, amount_placed: null, amount_shipped: 5 },
      { order_id: 3, amount_placed: null, amount_shipped: 7 },
    ]);
    expect(await rows(dir, 'select order_id, ordered_at::varchar as at from main.latest order by order_id')).toEqual([
      { order_id: 1, at: '2024-01-02 09:00:00' },
      { order_id: 2, at: '2024-01-03 09:00:00' },
      { order_id: 3, at: '2024-01-04 09:00:00' },
    ]);
    expect((await rows(dir, 'select date_week::date::varchar as w from main.weeks order by 1')).map((r) => r.w)).toEqual(['2024-01-01', '2024-01-08', '2024-01-15', '2024-01-22']);
    expect(
      await rows(dir, 'select date_day::varchar as d, day_of_week, day_of_week_iso, day_of_week_name_short, iso_year_week, week_of_year, month_name, quarter_end_date::varchar as q from main.calendar where date_day in (\'2024-12-29\', \'2024-12-30\') order by 1'),
    ).toEqual([
      { d: '2024-12-29', day_of_week: 1, day_of_week_iso: 7, day_of_week_name_short: 'Sun', iso_year_week: '2024-W52', week_of_year: 52, month_name: 'December', q: '2024-12-31' },
      { d: '2024-12-30', day_of_week: 2, day_of_week_iso: 1, day_of_week_name_short: 'Mon', iso_year_week: '2025-W01', week_of_year: 53, month_name: 'December', q: '2024-12-31' },
    ]);
    const checks = result.events.filter((e) => e.type === 'check-failed' || e.type === 'check-passed');
    const outcome = Object.fromEntries(
      checks.map((e) => (e.type === 'check-failed' ? [(e as { failure: { check: string } }).failure.check, (e as { failure: { failingRows: number } }).failure.failingRows] : [(e as { check: string }).check, 0])),
    );
    expect(outcome).toEqual({
      dbt_utils_unique_combination_of_columns_keys_order_id__k: 1,
      dbt_utils_equal_rowcount_keys_ref_orders_: 0,
      dbt_utils_accepted_range_keys_total__9__5: 2,
      dbt_utils_not_null_proportion_keys_0_5__total: 0,
      dbt_utils_at_least_one_keys_total: 0,
      dbt_utils_expression_is_true_keys_total___0: 0,
    });
  });
});

describe('an installed package', () => {
  it('builds with its macros, its dispatch, its return() values and its generic tests', async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    +materialized: table\n',
      'packages.yml': 'packages:\n  - local: vendor/money\n',
      'vendor/money/dbt_project.yml': "name: money\nversion: '0.1.0'\nconfig-version: 2\nmacro-paths: [src]\n",
      'vendor/money/src/cents.sql': `{% macro to_cents(column) %}{{ return(adapter.dispatch('to_cents', 'money')(column)) }}{% endmacro %}
{% macro default__to_cents(column) %}cast({{ column }} * 100 as bigint){% endmacro %}
{% macro currencies() %}{{ return(['eur', 'usd']) }}{% endmacro %}`,
      'vendor/money/src/tests.sql': `{% test whole_cents(model, column_name) %}
select * from {{ model }} where {{ column_name }} <> round({{ column_name }}){% endtest %}`,
      'models/prices.sql': `select {{ money.to_cents('price') }} as cents, currency
from (values (1.25, 'eur'), (2.5, 'usd')) t(price, currency)
where currency in ('{{ money.currencies() | join("', '") }}')`,
      'models/schema.yml': 'version: 2\nmodels:\n  - name: prices\n    columns:\n      - name: cents\n        data_tests: [money.whole_cents]\n',
    });
    const result = await runIn(dir, { date: '2024-01-02' });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(await rows(dir, 'select * from main.prices order by cents')).toEqual([
      { cents: '125', currency: 'eur' },
      { cents: '250', currency: 'usd' },
    ]);
    expect(result.events.filter((e) => e.type === 'check-passed').map((e) => (e as { check: string }).check)).toEqual(['money_whole_cents_prices_cents']);
  });
});
