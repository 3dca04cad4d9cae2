import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventsOfType, taskIdsOf, type PipeEventJson } from '../e2e/helpers.js';
import { backfillIn, compileIn, runIn, statusIn, testIn } from '../support/in-process.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/**
 * dbt's unit tests (`unit_tests:`), as dbt 1.8+ runs them: the model's query over the given
 * rows, typed by the columns of each input as built, compared with the expected rows. `pipe
 * run` runs a model's unit tests before the model (a failing one skips it and what reads it),
 * `pipe test` runs them with the data tests; malformed ones are errors at their line.
 */

const UNIT_TESTS = `version: 2
unit_tests:
  - name: totals_per_customer
    model: customer_totals
    given:
      - input: ref('customers')
        rows:
          - {customer_id: 1, name: Ann}
          - {customer_id: 2, name: Bob}
      - input: ref('orders')
        format: csv
        rows: |
          order_id,customer_id,amount
          1,1,10.5
          2,1,20
    expect:
      rows:
        - {customer_id: 1, total: 30.5}
        - {customer_id: 2, total: 0}
  - name: totals_from_fixtures
    model: customer_totals
    given:
      - input: ref('customers')
        format: csv
        fixture: two_customers
      - input: ref('orders')
        format: sql
        # Jinja in a SQL fixture is rendered, as dbt compiles it (the Tuva project's pick a type by target);
        # written in the YAML, as dbt's parse renders it: execute is false.
        rows: "{% set id = var('min_amount') + 7 %}select {{ id }} as order_id, {{ 1 if execute else 2 }} as customer_id, 1.25 as amount"
    expect:
      format: sql
      fixture: expected_totals
  - name: big_orders_over_the_var
    model: big_orders
    overrides:
      vars: {min_amount: 15}
    given:
      - input: ref('orders')
        rows: [{order_id: 1, amount: 10}, {order_id: 2, amount: 20}]
    expect:
      rows: [{order_id: 2}]
  - name: counts_from_the_source
    model: customer_count
    overrides:
      env_vars: {PIPE_UNIT_TEST_REGION: us}
    given:
      - input: source('raw', 'customers')
        rows: [{customer_id: 5}, {customer_id: 6}]
    expect:
      rows: [{n: 2, region: us}]
  - name: new_days_only
    model: order_days
    overrides:
      macros: {is_incremental: true}
    given:
      - input: ref('orders')
        rows: [{order_id: 1, order_date: 2024-01-01}, {order_id: 2, order_date: 2024-01-05}]
      - input: this
        rows: [{order_date: 2024-01-03, orders: 4}]
    expect:
      rows: [{order_date: 2024-01-05, orders: 1}]
`;

const FILES: Record<string, string> = {
  'dbt_project.yml': `name: shop
vars:
  min_amount: 0
models:
  shop:
    +materialized: table
`,
  'seeds/customers.csv': 'customer_id,name\n1,Ann\n2,Bob\n',
  'seeds/orders.csv': 'order_id,customer_id,order_date,amount\n1,1,2024-01-01,10.5\n2,1,2024-01-02,20\n3,2,2024-01-02,4\n',
  'models/customer_totals.sql': `select c.customer_id, c.name, coalesce(sum(o.amount), 0) as total
from {{ ref('customers') }} c left join {{ ref('orders') }} o on o.customer_id = c.customer_id
group by all`,
  'models/big_orders.sql': "select order_id, amount from {{ ref('orders') }} where amount > {{ var('min_amount') }}",
  'models/customer_count.sql': "select count(*) as n, '{{ env_var('PIPE_UNIT_TEST_REGION', 'eu') }}' as region from {{ source('raw', 'customers') }}",
  'models/report.sql': "select * from {{ ref('customer_totals') }}",
  'models/order_days.sql': `{{ config(materialized='incremental', unique_key='order_date') }}
select order_date, count(*) as orders from {{ ref('orders') }}
{% if is_incremental() %}where order_date > (select max(order_date) from {{ this }}){% endif %}
group by 1`,
  'models/sources.yml': `version: 2
sources:
  - name: raw
    schema: main
    tables:
      - name: customers
`,
  'models/unit_tests.yml': UNIT_TESTS,
  'models/schema.yml': 'version: 2\nmodels:\n  - name: big_orders\n    columns:\n      - name: order_id\n        data_tests: [unique]\n',
  'tests/no_negative_amounts.sql': "select * from {{ ref('big_orders') }} where amount < 0",
  'tests/fixtures/two_customers.csv': 'customer_id,name\n1,Ann\n2,Bob\n',
  // Rendered with execute true, as dbt compiles a fixture with its test.
  'tests/fixtures/expected_totals.sql': "select 1 as customer_id, 'Ann' as name, 0 as total union all select 2, '{{ ('bob' if execute else 'at parse') | title }}', 1.25\n",
};

const ALL = ['big_orders_over_the_var', 'counts_from_the_source', 'new_days_only', 'totals_from_fixtures', 'totals_per_customer'];

interface Failure {
  readonly check: string;
  readonly failingRows: number;
  readonly sample: readonly Record<string, unknown>[];
  readonly differences?: boolean;
  readonly location: { readonly file: string; readonly line?: number };
}
const failures = (events: readonly PipeEventJson[]) => eventsOfType(events, 'check-failed').map((e) => e.failure as Failure);
const passed = (events: readonly PipeEventJson[]) => eventsOfType(events, 'check-passed').map((e) => e.check as string).sort();
const diagnostics = (events: readonly PipeEventJson[]) =>
  eventsOfType(events, 'diagnostic').map((e) => e.diagnostic as { severity: string; message: string; location?: { file: string; line?: number } }).filter((d) => d.severity === 'error');

describe('dbt unit tests', () => {
  /** One project built once (its source, the seed's table, loaded first, as a source is there before a run), read by the first two tests. */
  const built = (async () => {
    const dir = tempProject({ ...FILES, 'models/unit_tests.yml': UNIT_TESTS.replace(/  - name: new_days_only[\s\S]*$/, '') });
    expect((await runIn(dir, { date: '2024-01-02', select: ['customers'] })).code).toBe(0);
    return { dir, run: await runIn(dir, { date: '2024-01-02' }) };
  })();

  it('pipe test runs the unit tests of what it selects', async () => {
    const { dir } = await built;
    const one = await testIn(dir, { date: '2024-01-02', select: ['big_orders'] });
    expect(one.code, one.stdout + one.stderr).toBe(0);
    expect(passed(one.events)).toEqual(['big_orders_over_the_var', 'no_negative_amounts', 'unique_big_orders_order_id']);
    // Selected by what they are, as dbt test selects tests: only those run.
    const selecting = async (select: string[]) => passed((await testIn(dir, { date: '2024-01-02', select })).events);
    expect(await selecting(['test_type:unit'])).toEqual(ALL.filter((t) => t !== 'new_days_only'));
    expect(await selecting(['test_type:data'])).toEqual(['no_negative_amounts', 'unique_big_orders_order_id']);
    expect(await selecting(['test_type:singular'])).toEqual(['no_negative_amounts']);
    // By the folder or the file of singular tests, as dbt's path: selects test files.
    expect(await selecting(['path:tests'])).toEqual(['no_negative_amounts']);
    expect(await selecting(['path:tests/no_negative_amounts.sql'])).toEqual(['no_negative_amounts']);
    expect(await selecting(['test_type:generic'])).toEqual(['unique_big_orders_order_id']);
    expect(await selecting(['unit_test:totals_*'])).toEqual(['totals_from_fixtures', 'totals_per_customer']);
    expect(await selecting(['unit_test:big_orders.big_orders_over_the_var'])).toEqual(['big_orders_over_the_var']);
    // A run runs them once, whatever its dates; a backfill does not run them.
    const backfill = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-02', select: ['big_orders'] });
    expect(backfill.code, backfill.stdout + backfill.stderr).toBe(0);
    expect(eventsOfType(backfill.events, 'task-started').filter((e) => (e.task as { kind: string }).kind === 'unit-test')).toEqual([]);
    // The model changed under its test: pipe test fails it.
    writeFileSync(join(dir, 'models/big_orders.sql'), "select order_id, amount from {{ ref('orders') }} where amount >= {{ var('min_amount') }} - 5");
    const changed = await testIn(dir, { date: '2024-01-02', select: ['big_orders'] });
    expect(changed.code).toBe(1);
    expect(failures(changed.events).map((f) => [f.check, f.sample])).toEqual([['big_orders_over_the_var', [{ '@@': '+++', order_id: 1 }]]]);
    writeFileSync(join(dir, 'models/big_orders.sql'), FILES['models/big_orders.sql']);
  });

  it('pipe run runs each unit test before its model, with every format, fixture file, override and a source input', async () => {
    const { dir, run: r } = await built;
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(failures(r.events)).toEqual([]);
    expect(passed(r.events)).toEqual([...ALL.filter((t) => t !== 'new_days_only'), 'no_negative_amounts', 'unique_big_orders_order_id'].sort());
    const done = eventsOfType(r.events, 'task-succeeded').map((e) => (e.task as { id: string }).id);
    expect(done.indexOf('customer_totals::totals_per_customer@2024-01-02')).toBeLessThan(done.indexOf('customer_totals@2024-01-02'));
    expect(r.stdout).toMatch(/PASS +customer_totals::totals_per_customer 2024-01-02 unit test totals_per_customer models\/unit_tests.yml:3/);
    // Nothing of a unit test is left in the warehouse.
    expect(await queryWarehouse(dir, "select count(*) as n from duckdb_tables() where table_name like '%unit%'")).toEqual([{ n: '0' }]);

    // The incremental model's test reads `this`: once the table is built, it runs in pipe test.
    writeFileSync(join(dir, 'models/unit_tests.yml'), UNIT_TESTS);
    const again = await testIn(dir, { date: '2024-01-02' });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(passed(again.events)).toEqual([...ALL, 'no_negative_amounts', 'unique_big_orders_order_id'].sort());
  });

  it('a failing unit test prints the differing rows and skips its model and what reads it', async () => {
    const broken = { ...FILES, 'models/unit_tests.yml': UNIT_TESTS.replace(/  - name: big_orders_over_the_var[\s\S]*$/, '').replace('{customer_id: 1, total: 30.5}', '{customer_id: 1, total: 31}') };
    const dir = tempProject(broken);
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    expect(failures(r.events)).toEqual([
      {
        check: 'totals_per_customer',
        severity: 'error',
        failingRows: 2,
        differences: true,
        sample: [
          { '@@': '+++', customer_id: 1, total: 30.5 },
          { '@@': '---', customer_id: 1, total: 31 },
        ],
        location: { file: 'models/unit_tests.yml', line: 3 },
      },
    ]);
    expect(r.stdout).toContain('unit test totals_per_customer failed: actual differs from expected (2 rows) models/unit_tests.yml:3');
    expect(r.stdout).toContain('    @@  | customer_id | total\n    +++ | 1           | 30.5\n    --- | 1           | 31\n    +++ a row the model gives and the test does not expect, --- a row the test expects and the model does not give');
    expect(taskIdsOf(r.events, 'task-skipped')).toEqual(['customer_totals@2024-01-02', 'report@2024-01-02']);
    expect(r.stdout).toContain('SKIP  customer_totals 2024-01-02 unit test customer_totals::totals_per_customer failed');
    expect(await queryWarehouse(dir, "select count(*) as n from duckdb_tables() where table_name = 'customer_totals'")).toEqual([{ n: '0' }]);
  });

  it("a failing unit test is no failure of its model's build: what the model built before stays current in pipe status", async () => {
    const one = UNIT_TESTS.replace(/  - name: totals_from_fixtures[\s\S]*$/, '');
    const dir = tempProject({ ...FILES, 'models/unit_tests.yml': one });
    expect((await runIn(dir, { date: '2024-01-02', select: ['+customer_totals'] })).code).toBe(0);
    writeFileSync(join(dir, 'models/unit_tests.yml'), one.replace('{customer_id: 1, total: 30.5}', '{customer_id: 1, total: 31}'));
    const r = await runIn(dir, { date: '2024-01-03', select: ['customer_totals'] });
    expect(r.code).toBe(1);
    expect(taskIdsOf(r.events, 'task-skipped')).toEqual(['customer_totals@2024-01-03']);
    const s = await statusIn(dir, { select: ['customer_totals'], json: true });
    expect(eventsOfType(s.events, 'node').map((e) => [e.node, e.state])).toEqual([['customer_totals', 'current']]);
  });

  it('overrides a macro by the name the model calls it by, dbt\'s own too; a name nothing can call is an error at overrides:', async () => {
    const files = {
      'dbt_project.yml': "name: shop\nversion: '1.0'\n",
      'macros/region.sql': "{% macro region() %}'eu'{% endmacro %}",
      'models/stamped.sql': "select id, {{ region() }} as region, {{ current_timestamp() }} as at, {{ dbt.current_timestamp() }} as at2 from {{ ref('ids') }}",
      'models/ids.sql': 'select 1 as id',
      'models/u.yml': `unit_tests:
  - name: pinned
    model: stamped
    overrides:
      macros:
        region: "'us'"
        dbt.current_timestamp: "'2024-01-02 03:04:05'::timestamp"
    given:
      - input: ref('ids')
        rows: [{id: 7}]
    expect:
      rows: [{id: 7, region: us, at: '2024-01-02 03:04:05', at2: '2024-01-02 03:04:05'}]
`,
    };
    const dir = tempProject(files);
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(passed(r.events)).toEqual(['pinned']);
    // Outside the test the macros run.
    expect(await queryWarehouse(dir, 'select region from stamped')).toEqual([{ region: 'eu' }]);

    const typo = tempProject({ ...files, 'models/u.yml': files['models/u.yml'].replace('        region:', '        regoin:') });
    const bad = await runIn(typo, { date: '2024-01-02' });
    expect(bad.code).toBe(2);
    expect(diagnostics(bad.events).map((d) => [d.message, d.location?.line])).toEqual([
      ['unit test pinned: overrides.macros.regoin: no macro of that name is there to override', 4],
    ]);
  });

  it('expecting no rows passes on a model that gives none, and fails on every row it gives', async () => {
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\n",
      'models/e.sql': 'select 1 as a, 2 as b limit 0',
      'models/e.yml': 'unit_tests:\n  - name: e_is_empty\n    model: e\n    given: []\n    expect: {rows: []}\n',
    });
    const empty = await runIn(dir, { date: '2024-01-02' });
    expect(empty.code, empty.stdout + empty.stderr).toBe(0);
    expect(passed(empty.events)).toEqual(['e_is_empty']);
    writeFileSync(join(dir, 'models/e.sql'), 'select 1 as a, 2 as b');
    const some = await runIn(dir, { date: '2024-01-02' });
    expect(some.code).toBe(1);
    expect(failures(some.events).map((f) => f.sample)).toEqual([[{ '@@': '+++', a: 1, b: 2 }]]);
  });

  it('an input that is not built is refused before anything runs, at the input', async () => {
    const dir = tempProject(FILES);
    // Compiling needs no warehouse: the inputs' columns are read only when tests are to run.
    expect((await compileIn(dir, {})).code).toBe(0);
    const r = await testIn(dir, { date: '2024-01-02', select: ['customer_totals'] });
    expect(r.code).toBe(2);
    const [d] = diagnostics(r.events);
    expect(d.message).toContain("unit test totals_per_customer: the column types of ref('customers') come from \"main\".\"customers\", which is not built");
    expect(d.location).toEqual({ file: 'models/unit_tests.yml', line: 6 });
  });

  it('a given column the input does not have is an error at the input: before anything runs, or when the run builds the input', async () => {
    const dir = tempProject({ ...FILES, 'models/unit_tests.yml': UNIT_TESTS.replace(/  - name: totals_from_fixtures[\s\S]*$/, '').replace('{customer_id: 2, name: Bob}', '{customer_id: 2, nme: Bob}') });
    const r = await runIn(dir, { date: '2024-01-02', select: ['+customer_totals'] });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("unit test totals_per_customer: ref('customers') has no column 'nme' (its columns: customer_id, name)");
    expect(r.stdout).toContain('models/unit_tests.yml:6');
    const t = await testIn(dir, { date: '2024-01-02', select: ['customer_totals'] });
    expect(t.code).toBe(2);
    expect(diagnostics(t.events).map((d) => [d.message, d.location])).toEqual([
      ["unit test totals_per_customer: ref('customers') has no column 'nme'", { file: 'models/unit_tests.yml', line: 6 }],
    ]);
    expect(eventsOfType(t.events, 'task-started')).toEqual([]);
  });

  it("an incremental model whose query never asks is_incremental() has one query: its unit test needs no override, as in dbt", async () => {
    const dir = tempProject({
      ...FILES,
      'models/order_counts.sql': `{{ config(materialized='incremental', unique_key='order_date') }}\nselect order_date, count(*) as orders from {{ ref('orders') }} group by 1`,
      'models/unit_tests.yml': `version: 2
unit_tests:
  - name: counts_per_day
    model: order_counts
    given:
      - input: ref('orders')
        rows:
          - {order_id: 1, customer_id: 1, order_date: 2024-01-01, amount: 5}
          - {order_id: 2, customer_id: 1, order_date: 2024-01-01, amount: 7}
    expect:
      rows:
        - {order_date: 2024-01-01, orders: 2}
`,
    });
    const r = await runIn(dir, { date: '2024-01-02', select: ['+order_counts'] });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('counts_per_day');
  });

  it("a test giving this rows is left out of its model's first build, said at the input, and runs in the runs after; pipe test still needs the table", async () => {
    const only = UNIT_TESTS.replace(/^[\s\S]*(  - name: new_days_only)/, 'version: 2\nunit_tests:\n$1');
    const dir = tempProject({ ...FILES, 'models/unit_tests.yml': only });
    const test = await testIn(dir, { date: '2024-01-02', select: ['order_days'] });
    expect(test.code).toBe(2);
    const first = await runIn(dir, { date: '2024-01-02', select: ['+order_days'] });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const warned = eventsOfType(first.events, 'diagnostic').map((e) => e.diagnostic as { severity: string; message: string; location?: { line?: number } });
    expect(warned.map((d) => [d.severity, d.message, d.location?.line])).toEqual([
      ['warning', 'unit test new_days_only does not run in this run: the rows given for this are typed by "main"."order_days", which this run builds for the first time', 10],
    ]);
    expect(eventsOfType(first.events, 'task-started').map((e) => (e.task as { kind: string }).kind)).not.toContain('unit-test');
    expect(await queryWarehouse(dir, 'select count(*) as n from order_days')).toEqual([{ n: '2' }]);
    // Built: the next run runs it before the model, and so does pipe test.
    const next = await runIn(dir, { date: '2024-01-03', select: ['order_days'] });
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(passed(next.events)).toEqual(['new_days_only']);
    expect(eventsOfType(next.events, 'diagnostic')).toEqual([]);
    expect(passed((await testIn(dir, { date: '2024-01-03', select: ['order_days'] })).events)).toEqual(['new_days_only']);
  });

  it('every malformed unit test is an error at its line, before anything runs', async () => {
    const dir = tempProject({
      ...FILES,
      'models/unit_tests.yml': `version: 2
unit_tests:
  - name: no_such_model
    model: customer_totls
    given: []
    expect: {rows: []}
  - name: reads_what_it_does_not
    model: big_orders
    given:
      - input: ref('customers')
        rows: []
    expect: {rows: []}
  - name: leaves_an_input_out
    model: customer_totals
    given:
      - input: ref('customers')
        rows: []
    expect: {rows: []}
  - name: bad_format
    model: big_orders
    given:
      - input: ref('orders')
        format: xml
        rows: []
    expect: {rows: []}
  - name: missing_fixture
    model: big_orders
    given:
      - input: ref('orders')
        format: csv
        fixture: no_such_file
    expect: {rows: []}
  - name: incremental_without_override
    model: order_days
    given:
      - input: ref('orders')
        rows: []
    expect: {rows: []}
`,
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(2);
    const found = diagnostics(r.events).sort((a, b) => (a.location?.line ?? 0) - (b.location?.line ?? 0));
    expect(found.map((d) => [d.message.split(':').slice(0, 2).join(':'), d.location?.line])).toEqual([
      ["unit test no_such_model: the project has no model 'customer_totls'", 3],
      ["unit test reads_what_it_does_not: big_orders does not read ref('customers')", 10],
      ['unit test leaves_an_input_out: customer_totals reads orders, which the unit test does not give', 13],
      ['unit test bad_format: format must be dict, csv or sql, got "xml"', 23],
      ['unit test missing_fixture: no fixture file no_such_file.csv under a fixtures folder of the test paths', 29],
      ['unit test incremental_without_override: order_days is incremental', 33],
    ]);
    expect(eventsOfType(r.events, 'task-started')).toEqual([]);
  });
});

describe('a unit test of a model whose file has errors', () => {
  it("is not said to name no model: the model's own error is said, once", async () => {
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\n",
      'models/orders.sql': 'select 1 as id',
      'models/totals.sql': "select count(*) as n from {{ ref('orders') }\n",
      'models/unit.yml': "unit_tests:\n  - name: counts\n    model: totals\n    given:\n      - input: ref('orders')\n        rows: [{id: 1}]\n    expect: {rows: [{n: 1}]}\n",
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(2);
    expect(diagnostics(r.events).map((d) => [d.location?.file, d.code])).toEqual([['models/totals.sql', 'template-syntax']]);
  });
});
