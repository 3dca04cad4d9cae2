import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventsOfType, explain, taskIdsOf, type PipeEventJson } from '../e2e/helpers.js';
import { formatRunPlan } from '../../src/cli/format-plan.js';
import { runDryRun } from '../../src/commands/run.js';
import { runIn, testIn } from '../support/in-process.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/**
 * dbt tests whose templates read the warehouse while rendering (run_query, statement and
 * load_result, adapter.get_columns_in_relation), run in-process on a real DuckDB file: each is
 * rendered again as its check runs, and what it asks of the relation it tests is answered as
 * the check reads it, the rows and columns about to be published.
 */

const FILES = {
  'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    +materialized: table\n',
  'models/orders.sql': `select range as id, range * 10 as amount{% if var('wide', false) %}, 'x' as extra{% endif %} from range({{ var('n', 3) }})`,
  'models/orders_copy.sql': "select * from {{ ref('orders') }}{% if var('drift', false) %} where id > 0{% endif %}",
  'models/schema.yml': `version: 2
models:
  - name: orders
    data_tests:
      - has_rows: {at_least: 2}
      - lacks_column: {named: extra}
  - name: orders_copy
    data_tests:
      - same_rows: {compare_model: ref('orders')}
`,
  'tests/generic/has_rows.sql': `{% test has_rows(model, at_least) %}
{%- set n = run_query('select count(*) from ' ~ model)[0][0] if execute else 0 -%}
select {{ n }} as n where {{ n }} < {{ at_least }}
{% endtest %}
`,
  'tests/generic/lacks_column.sql': `{% test lacks_column(model, named) %}
{%- set names = adapter.get_columns_in_relation(model) | map(attribute='name') | list -%}
select '{{ names | join(",") }}' as columns where {{ 'true' if named in names else 'false' }}
{% endtest %}
`,
  // As dbt_utils.equality without compare_columns: the columns of the relation tested.
  'tests/generic/same_rows.sql': `{% test same_rows(model, compare_model) %}
{%- if not execute %}{{ return('') }}{% endif -%}
{%- set cols = adapter.get_columns_in_relation(model) | map(attribute='quoted') | join(', ') -%}
(select {{ cols }} from {{ model }} except select {{ cols }} from {{ compare_model }})
union all
(select {{ cols }} from {{ compare_model }} except select {{ cols }} from {{ model }})
{% endtest %}
`,
  // dbt renders a statement's body only when it runs: its ref() is named outside it, for the parse to see.
  'tests/amounts_known.sql': `{%- set orders = ref('orders') -%}
{%- call statement('amounts', fetch_result=True) %}select max(amount) from {{ orders }}{% endcall -%}
{%- set top = load_result('amounts')['data'][0][0] if execute else 0 -%}
select * from {{ ref('orders_copy') }} where amount > {{ top }}
`,
};

interface Failure {
  readonly check: string;
  readonly severity: string;
  readonly failingRows: number;
  readonly sample: readonly Record<string, unknown>[];
}
const failures = (events: readonly PipeEventJson[]) => eventsOfType(events, 'check-failed').map((e) => e.failure as Failure);
const passed = (events: readonly PipeEventJson[]) => eventsOfType(events, 'check-passed').map((e) => e.check as string).sort();

const ALL = ['amounts_known', 'has_rows_orders_2', 'lacks_column_orders_extra', 'same_rows_orders_copy_ref_orders_'];

describe('dbt tests that read the warehouse while rendering', () => {
  it('pass and fail on the data about to be published, and a failure keeps the previous table', async () => {
    const dir = tempProject(FILES);
    const ok = await runIn(dir, { date: '2024-01-02' });
    expect(ok.code, explain(ok)).toBe(0);
    expect(passed(ok.events)).toEqual(ALL);

    // One row is not enough: has_rows counts the staged rows, not the three published.
    const few = await runIn(dir, { date: '2024-01-03', vars: { n: 1 } });
    expect(few.code).toBe(1);
    expect(failures(few.events).map((f) => [f.check, f.failingRows, f.sample])).toEqual([['has_rows_orders_2', 1, [{ n: 1 }]]]);
    expect(await queryWarehouse(dir, 'select count(*) as n from main.orders')).toEqual([{ n: '3' }]);
    expect(taskIdsOf(few.events, 'task-skipped')).toEqual(['orders_copy@2024-01-03']);

    // An equality without compare_columns compares every column of the relation tested.
    const drift = await runIn(dir, { date: '2024-01-04', vars: { drift: true } });
    expect(drift.code).toBe(1);
    expect(failures(drift.events).map((f) => [f.check, f.failingRows])).toEqual([['same_rows_orders_copy_ref_orders_', 1]]);
  });

  it('see the columns of the changed model as it is staged, in pipe run, and the published ones in pipe test', async () => {
    const dir = tempProject(FILES);
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const wide = await runIn(dir, { date: '2024-01-03', vars: { wide: true } });
    expect(wide.code).toBe(1);
    expect(failures(wide.events).map((f) => [f.check, f.sample])).toEqual([['lacks_column_orders_extra', [{ columns: 'id,amount,extra' }]]]);
    // Not published: pipe test reads the table as it is, without the column.
    expect((await testIn(dir, { date: '2024-01-03' })).code).toBe(0);

    writeFileSync(join(dir, 'models/schema.yml'), FILES['models/schema.yml'].replace('{named: extra}', '{named: extra, config: {severity: warn}}'));
    const published = await runIn(dir, { date: '2024-01-04', vars: { wide: true } });
    expect(published.code, explain(published)).toBe(0);
    const tested = await testIn(dir, { date: '2024-01-04', vars: { wide: true } });
    expect(tested.code, explain(tested)).toBe(0);
    expect(failures(tested.events).map((f) => [f.check, f.severity, f.sample])).toEqual([['lacks_column_orders_extra', 'warn', [{ columns: 'id,amount,extra' }]]]);
    expect(passed(tested.events)).toEqual(ALL.filter((t) => !t.startsWith('lacks_column')));
  });

  it('of an incremental model read its table inside the publishing transaction, with the columns being added', async () => {
    const dir = tempProject({
      ...FILES,
      'models/orders.sql': `{{ config(materialized='incremental', partition_by='day', on_schema_change='append_new_columns') }}
select '{{ ds }}'::date as day, 1 as amount{% if var('wide', false) %}, 'x' as extra{% endif %}`,
      'models/orders_copy.sql': "select 1 as id",
      'models/schema.yml': 'version: 2\nmodels:\n  - name: orders\n    data_tests:\n      - has_rows: {at_least: 2}\n      - lacks_column: {named: extra}\n',
      'tests/amounts_known.sql': "select * from {{ ref('orders_copy') }} where false",
    });
    // One date is one row: the table as the transaction leaves it has one.
    const first = await runIn(dir, { date: '2024-01-02' });
    expect(failures(first.events).map((f) => [f.check, f.sample])).toEqual([['has_rows_orders_2', [{ n: 1 }]]]);
    expect(await queryWarehouse(dir, "select count(*) as n from information_schema.tables where table_name = 'orders'")).toEqual([{ n: '0' }]);

    writeFileSync(join(dir, 'models/schema.yml'), 'version: 2\nmodels:\n  - name: orders\n    data_tests:\n      - lacks_column: {named: extra}\n');
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    // The column added in the transaction is seen, and the failure rolls the addition back.
    const wide = await runIn(dir, { date: '2024-01-03', vars: { wide: true } });
    expect(failures(wide.events).map((f) => [f.check, f.sample])).toEqual([['lacks_column_orders_extra', [{ columns: 'day,amount,extra' }]]]);
    expect(await queryWarehouse(dir, "select count(*) as n from information_schema.columns where table_name = 'orders'")).toEqual([{ n: '2' }]);
  });

  it("of a seed read its staged rows, and of a source its table, in pipe run and pipe test", async () => {
    const dir = tempProject({
      'dbt_project.yml': FILES['dbt_project.yml'],
      'tests/generic/has_rows.sql': FILES['tests/generic/has_rows.sql'],
      'seeds/codes.csv': 'code\na\nb\n',
      'seeds/properties.yml': 'version: 2\nseeds:\n  - name: codes\n    data_tests:\n      - has_rows: {at_least: 2}\n',
      'models/sources.yml': `version: 2
sources:
  - name: raw
    schema: main
    tables:
      - name: codes
        data_tests:
          - has_rows: {at_least: 3, config: {severity: warn}}
`,
      'models/known.sql': "select count(*) as n from {{ source('raw', 'codes') }}",
    });
    const ok = await runIn(dir, { date: '2024-01-02' });
    expect(ok.code, explain(ok)).toBe(0);
    expect(passed(ok.events)).toEqual(['has_rows_codes_2']);
    expect(failures(ok.events).map((f) => [f.check, f.severity, f.sample])).toEqual([['source_has_rows_raw_codes_3', 'warn', [{ n: 2 }]]]);

    writeFileSync(join(dir, 'seeds/codes.csv'), 'code\na\n');
    const few = await runIn(dir, { date: '2024-01-03' });
    expect(few.code).toBe(1);
    expect(failures(few.events).map((f) => [f.check, f.sample])).toEqual([['has_rows_codes_2', [{ n: 1 }]]]);
    const tested = await testIn(dir, { date: '2024-01-03' });
    expect(passed(tested.events)).toEqual(['has_rows_codes_2']);
    expect(failures(tested.events).map((f) => [f.check, f.sample])).toEqual([['source_has_rows_raw_codes_3', [{ n: 2 }]]]);
  });

  it('find the view they test with load_relation() before it is published, as dbt finds it built', async () => {
    // dbt-codegen's generate_unit_test_template asks load_relation(ref(model)) is not none.
    const dir = tempProject({
      'dbt_project.yml': 'name: shop\n',
      'models/orders.sql': "{{ config(materialized='view') }} select 1 as id",
      'models/totals.sql': "{{ config(materialized='table') }} select count(*) as n from {{ ref('orders') }}",
      'tests/orders_found.sql': `-- depends_on: {{ ref('orders') }}
{% set found = load_relation(ref('orders')) if execute else none %}
select '{{ found.type if found is not none else "none" }}' as type where {{ 'false' if found is not none and found.type == 'view' else 'true' }}
`,
      'tests/totals_found.sql': `-- depends_on: {{ ref('totals') }}
{% set found = load_relation(ref('totals')) if execute else none %}
select '{{ found.type if found is not none else "none" }}' as type where {{ 'false' if found is not none and found.type == 'table' else 'true' }}
`,
    });
    const ok = await runIn(dir, { date: '2024-01-02' });
    expect(ok.code, explain(ok)).toBe(0);
    expect(passed(ok.events)).toEqual(['orders_found', 'totals_found']);
    const tested = await testIn(dir, { date: '2024-01-02' });
    expect(passed(tested.events)).toEqual(['orders_found', 'totals_found']);
  });

  it('are planned with their parse render, which dry runs show and mark', async () => {
    type PlannedStep = { kind: string; name?: string; renderAtRun?: boolean; checks?: PlannedStep[] };
    const planned = await runDryRun({ project: tempProject(FILES), date: '2024-01-02' });
    const text = formatRunPlan(planned.plan, { ds: '2024-01-02', dateIsDefault: false, threads: 1 }, false);
    expect(text).toContain(
      '-- test same_rows_orders_copy_ref_orders_ (error: fails if count(*) != 0, else warns if count(*) != 0); it reads the warehouse while rendering: rendered again when it runs, shown as rendered with execute false',
    );
    const steps = formatRunPlan(planned.plan, { ds: '2024-01-02', dateIsDefault: false, threads: 1 }, true)
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; steps?: PlannedStep[] })
      .flatMap((l) => (l.type === 'planned-task' ? (l.steps ?? []) : []))
      // A table's checks run inside its publishing transaction.
      .flatMap((step) => (step.kind === 'publish' ? (step.checks ?? []) : [step]))
      .filter((step) => step.kind === 'check');
    expect(steps.map((step) => [step.name, step.renderAtRun ?? false])).toEqual([
      ['has_rows_orders_2', true],
      ['lacks_column_orders_extra', true],
      ['same_rows_orders_copy_ref_orders_', true],
      ['amounts_known', true],
    ]);
  });

  it("fail their task at the template's line when the render as they run fails", async () => {
    const dir = tempProject({
      ...FILES,
      'tests/generic/lacks_column.sql': `{% test lacks_column(model, named) %}
{%- if execute and named not in (adapter.get_columns_in_relation(model) | map(attribute='name') | list) -%}
{{ exceptions.raise_compiler_error('no column ' ~ named) }}
{%- endif -%}
select 1 as x where false
{% endtest %}
`,
      'tests/amounts_known.sql': "select * from {{ ref('orders') }} where amount > {{ run_query('select max(amount) from main.nowhere')[0][0] }}",
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    const failed = eventsOfType(r.events, 'task-failed').map((e) => e.error as { message: string; location?: { file: string; line?: number } });
    expect(failed.map((e) => [e.message.split('\n')[0], e.location])).toEqual([
      ['test lacks_column_orders_extra: no column extra', { file: 'tests/generic/lacks_column.sql', line: 3, column: expect.any(Number) }],
    ]);
    expect(await queryWarehouse(dir, "select count(*) as n from information_schema.tables where table_name = 'orders'")).toEqual([{ n: '0' }]);

    // With the column, orders publishes; the singular test's query fails at its line.
    const wide = await runIn(dir, { date: '2024-01-02', vars: { wide: true } });
    expect(wide.code).toBe(1);
    const [query] = eventsOfType(wide.events, 'task-failed').map((e) => e.error as { message: string; location?: { file: string; line?: number } });
    expect(query.location).toMatchObject({ file: 'tests/amounts_known.sql', line: 1 });
    expect(query.message).toMatch(/^test amounts_known: a query that tests\/amounts_known\.sql:1 asks the warehouse for failed: Catalog Error: Table with name nowhere does not exist/);
  });
});
