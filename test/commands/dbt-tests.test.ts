import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventsOfType, explain, taskIdsOf, writeProjectFiles, type PipeEventJson, type PipeResult } from '../e2e/helpers.js';
import { backfillIn, compileIn, retryIn, runIn, testIn } from '../support/in-process.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/**
 * A dbt-shaped project's tests, through `pipe run` and `pipe test`: a failing test keeps its
 * model's data out of the warehouse (the previous table stays), a warning publishes, and
 * `pipe test` checks the published data, naming every test as dbt does.
 */

/** `var('break')` breaks one thing: `dupes` gives two orders id 1, `status` an unknown status, `orphan` an unknown customer. */
const FILES = {
  'dbt_project.yml': `name: shop
models:
  shop:
    +materialized: table
data_tests:
  shop:
    +severity: error
`,
  'seeds/customers.csv': 'customer_id,name\n1,Ann\n2,Bob\n',
  'seeds/properties.yml': `version: 2
seeds:
  - name: customers
    columns:
      - name: customer_id
        data_tests: [unique, not_null]
`,
  'models/orders.sql': `select * from (values
  (1, 1, 'placed', 10),
  ({{ 1 if var('break', '') == 'dupes' else 2 }}, {{ 9 if var('break', '') == 'orphan' else 2 }}, '{{ 'lost' if var('break', '') == 'status' else 'shipped' }}', 5)
) v(order_id, customer_id, status, amount)`,
  'models/revenue.sql': "select sum(amount) as revenue from {{ ref('orders') }}",
  'models/schema.yml': `version: 2
models:
  - name: orders
    columns:
      - name: order_id
        tests:
          - unique
          - not_null
      - name: status
        tests:
          - accepted_values: {values: [placed, shipped], config: {severity: warn}}
      - name: customer_id
        tests:
          - relationships:
              to: ref('customers')
              field: customer_id
      - name: amount
        tests: [positive]
`,
  'tests/generic/positive.sql': `{% test positive(model, column_name) %}
select * from {{ model }} where {{ column_name }} <= 0
{% endtest %}
`,
  'tests/revenue_adds_up.sql': `{{ config(severity='warn', warn_if='> 0') }}
select r.revenue from {{ ref('revenue') }} r
where r.revenue <> (select sum(amount) from {{ ref('orders') }})
`,
};

interface Failure {
  readonly check: string;
  readonly severity: string;
  readonly failingRows: number;
  readonly condition?: string;
  readonly location: { readonly file: string; readonly line?: number };
  readonly storedIn?: string;
}
const failures = (events: readonly PipeEventJson[]) => eventsOfType(events, 'check-failed').map((e) => e.failure as Failure);
const passed = (events: readonly PipeEventJson[]) => eventsOfType(events, 'check-passed').map((e) => e.check as string).sort();

const ALL_TESTS = [
  'accepted_values_orders_status__placed__shipped',
  'not_null_customers_customer_id',
  'not_null_orders_order_id',
  'positive_orders_amount',
  'relationships_orders_customer_id__customer_id__ref_customers_',
  'revenue_adds_up',
  'unique_customers_customer_id',
  'unique_orders_order_id',
];

/** FILES run for 2024-01-02 (with `vars`, when given), once per file for each vars: see builtCopy. */
const builds = new Map<string, Promise<{ dir: string; run: PipeResult }>>();

/**
 * A copy of FILES after `pipe run --date 2024-01-02` (with `vars`) on it: its files with their
 * times, and its warehouse; and that run's result. Tests that start from that run take one each.
 */
async function builtCopy(vars?: Record<string, string>): Promise<{ dir: string; first: PipeResult }> {
  const key = JSON.stringify(vars ?? null);
  let build = builds.get(key);
  if (!build) {
    build = (async () => {
      const dir = tempProject(FILES);
      return { dir, run: await runIn(dir, { date: '2024-01-02', ...(vars ? { vars } : {}) }) };
    })();
    builds.set(key, build);
  }
  const { dir, run } = await build;
  const copy = tempProject();
  cpSync(dir, copy, { recursive: true, preserveTimestamps: true });
  return { dir: copy, first: run };
}

describe('dbt tests in pipe run and pipe test', () => {
  it('every test runs before its node publishes, and a failure keeps the previous table', async () => {
    const { dir, first } = await builtCopy();
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(failures(first.events)).toEqual([]);
    expect(passed(first.events)).toEqual(ALL_TESTS);
    const before = await queryWarehouse(dir, 'select * from main.orders order by all');

    const broken = await runIn(dir, { date: '2024-01-03', vars: { break: 'dupes' } });
    expect(broken.code).toBe(1);
    expect(failures(broken.events)).toEqual([
      {
        check: 'unique_orders_order_id',
        severity: 'error',
        failingRows: 1,
        condition: '!= 0',
        sample: [{ unique_field: 1, n_records: 2 }],
        location: { file: 'models/schema.yml', line: 7 },
      },
    ]);
    expect(broken.stdout).toContain('test unique_orders_order_id failed: got 1 result, configured to fail if != 0 models/schema.yml:7');
    expect(await queryWarehouse(dir, 'select * from main.orders order by all')).toEqual(before);
    // What reads orders is skipped; the unchanged seed has nothing to do.
    expect(taskIdsOf(broken.events, 'task-skipped')).toEqual(['customers', 'revenue@2024-01-03']);
  });

  it('runs no query of a generic/ folder of the test paths as a singular test, as dbt, and says so', async () => {
    const dir = tempProject({ ...FILES, 'tests/generic/orders_exist.sql': "select * from {{ ref('orders') }}\n" });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(passed(r.events)).toEqual(ALL_TESTS);
    expect(r.stderr).toContain('tests/generic/orders_exist.sql: warning: tests/generic/orders_exist.sql is not run: it defines no generic test, and a query in a generic/ folder of the test paths is no singular test, as in dbt');
  });

  it("gives a singular test dbt's this and model of the test node, and render() of a node's code, as unit-testing packages read them", async () => {
    // dbt-unit-testing's way: state keyed by this.name, sources named through model.package_name,
    // a model's raw_code rendered in the test with render().
    const macros = `{% macro keyed() %}{{ return(this.name ~ '|' ~ model.unique_id ~ '|' ~ model.package_name ~ '|' ~ model.resource_type) }}{% endmacro %}
{% macro rendered(name) %}{{ return(render(graph.nodes['model.shop.' ~ name].raw_code) if execute else 'select 1') }}{% endmacro %}`;
    const test = (expected: string) => `select * from (select '{{ keyed() }}' as k, (select count(*) from ({{ rendered('orders') }}) o) as n) t where k <> '${expected}' or n <> 2\n-- depends_on: {{ ref('orders') }}\n`;
    const dir = tempProject({ ...FILES, 'macros/keyed.sql': macros, 'tests/assert_keyed.sql': test('assert_keyed|test.shop.assert_keyed|shop|test') });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(passed(r.events)).toContain('assert_keyed');
    // The same test expecting another name fails: the values are read, not defaulted.
    writeFileSync(join(dir, 'tests/assert_keyed.sql'), test('other|test.shop.other|shop|test'));
    const wrong = await runIn(dir, { date: '2024-01-02' });
    expect(wrong.code, wrong.stdout + wrong.stderr).toBe(1);
  });

  it("a relationships test whose field: the model it names lacks is refused before anything runs, at the test's line, as one naming a column of its own model is", async () => {
    const dir = tempProject({ ...FILES, 'models/schema.yml': FILES['models/schema.yml'].replace('field: customer_id', 'field: customr_id') });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(2);
    expect(eventsOfType(r.events, 'task-started')).toEqual([]);
    expect(r.stderr).toContain(
      "models/schema.yml:14: error: check relationships_orders_customer_id__customr_id__ref_customers_ names column 'customr_id', which customers does not have\n",
    );
    expect(r.stderr).toContain("hint: did you mean 'customer_id'?");
  });

  it('a relationships test may name a column its model gains in the same run: the run builds it, then tests it', async () => {
    const schema = (field: string) => `version: 2\nmodels:\n  - name: child\n    columns:\n      - name: pid\n        tests:\n          - relationships: {to: ref('parent'), field: ${field}}\n`;
    const dir = tempProject({ 'dbt_project.yml': 'name: shop\n', 'models/parent.sql': 'select 1 as a', 'models/child.sql': 'select 1 as pid', 'models/schema.yml': schema('a') });
    const first = await runIn(dir, { date: '2024-01-02' });
    expect(first.code, explain(first)).toBe(0);
    writeProjectFiles(dir, { 'models/parent.sql': 'select 1 as a, 1 as b', 'models/schema.yml': schema('b') });
    const again = await runIn(dir, { date: '2024-01-02' });
    expect(again.code, explain(again)).toBe(0);
    expect(passed(again.events)).toEqual(['relationships_child_pid__b__ref_parent_']);
    // Not built by the run: the table as it is says what it lacks.
    writeProjectFiles(dir, { 'models/schema.yml': schema('c') });
    const lacking = await runIn(dir, { date: '2024-01-02', select: ['child'] });
    expect(lacking.code, explain(lacking)).toBe(2);
    expect(lacking.stderr).toContain("names column 'c', which parent does not have");
  });

  it("a seed's tests run before it is loaded", async () => {
    const { dir, first } = await builtCopy();
    expect(first.code).toBe(0);
    writeFileSync(join(dir, 'seeds/customers.csv'), 'customer_id,name\n1,Ann\n2,Bob\n2,Bea\n');
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    expect(failures(r.events).map((f) => [f.check, f.location])).toEqual([['unique_customers_customer_id', { file: 'seeds/properties.yml', line: 6 }]]);
    expect(await queryWarehouse(dir, 'select name from main.customers order by all')).toEqual([{ name: 'Ann' }, { name: 'Bob' }]);
  });

  it('a warning publishes; a test that reads another node waits for it', async () => {
    const { dir, first: r } = await builtCopy({ break: 'status' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(failures(r.events).map((f) => [f.check, f.severity, f.failingRows, f.condition])).toEqual([
      ['accepted_values_orders_status__placed__shipped', 'warn', 1, '!= 0'],
    ]);
    expect(await queryWarehouse(dir, "select count(*) as n from main.orders where status = 'lost'")).toEqual([{ n: '1' }]);
    // The seed the relationships test reads is loaded before orders publishes.
    const order = eventsOfType(r.events, 'task-succeeded').map((e) => (e.task as { model: string }).model);
    expect(order.indexOf('customers')).toBeLessThan(order.indexOf('orders'));
  });

  it('pipe test runs every test on the published data and names each as dbt does', async () => {
    const { dir, first: built } = await builtCopy({ break: 'status' });
    expect(built.code, built.stdout + built.stderr).toBe(0);

    const ok = await testIn(dir, { date: '2024-01-02' });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(passed(ok.events)).toEqual(ALL_TESTS.filter((t) => !t.startsWith('accepted_values')));
    expect(failures(ok.events).map((f) => [f.check, f.severity])).toEqual([['accepted_values_orders_status__placed__shipped', 'warn']]);
    expect(ok.stdout).toMatch(/PASS +orders 2024-01-02 relationships_orders_customer_id__customer_id__ref_customers_ models\/schema.yml:14/);
    expect(ok.stdout).toContain('test accepted_values_orders_status__placed__shipped warning: got 1 result, configured to warn if != 0');

    // A stricter test on the same published data fails pipe test.
    writeFileSync(join(dir, 'models/schema.yml'), FILES['models/schema.yml'].replace('severity: warn', 'severity: error'));
    const strict = await testIn(dir, { date: '2024-01-02' });
    expect(strict.code).toBe(1);
    expect(failures(strict.events).map((f) => [f.check, f.severity])).toEqual([['accepted_values_orders_status__placed__shipped', 'error']]);
  });

  it("pipe test --select runs every test that reads a selected node, as dbt's eager selection: one that runs with another node too", async () => {
    const { dir, first: built } = await builtCopy();
    expect(built.code, built.stdout + built.stderr).toBe(0);
    const orders = await testIn(dir, { date: '2024-01-02', select: ['orders'] });
    expect(orders.code, orders.stdout + orders.stderr).toBe(0);
    // revenue_adds_up reads revenue and orders, and runs with revenue.
    expect(passed(orders.events)).toEqual(ALL_TESTS.filter((t) => t.includes('orders') || t === 'revenue_adds_up'));
    const customers = await testIn(dir, { date: '2024-01-02', select: ['customers'] });
    expect(passed(customers.events)).toEqual(ALL_TESTS.filter((t) => t.includes('customers')));
    // Selected by name, a test is that test alone.
    expect(passed((await testIn(dir, { date: '2024-01-02', select: ['unique_orders_order_id'] })).events)).toEqual(['unique_orders_order_id']);
  });

  it("pipe compile of tests prints their queries as pipe test runs them, as dbt compile does, whether their model is built or not", async () => {
    for (const built of [true, false]) {
      const dir = built ? (await builtCopy()).dir : tempProject(FILES);
      const one = await compileIn(dir, { date: '2024-01-02', model: 'not_null_orders_order_id' });
      expect(one.code, one.stdout + one.stderr).toBe(0);
      expect(one.models.map((m) => [m.model, m.materialized, m.file])).toEqual([['not_null_orders_order_id', 'test', 'models/schema.yml']]);
      expect(one.stdout.replace(/\s+/g, ' ').trim()).toBe('select order_id from "main"."orders" where order_id is null');
      const generic = await compileIn(dir, { date: '2024-01-02', select: ['test_name:not_null'] });
      expect(generic.models.map((m) => m.model)).toEqual(['not_null_customers_customer_id', 'not_null_orders_order_id']);
    }
  });

  it("pipe test runs a source's tests on the table it reads", async () => {
    const dir = tempProject({
      ...FILES,
      'models/sources.yml': `version: 2
sources:
  - name: raw
    schema: main
    tables:
      - name: customers
        columns:
          - name: customer_id
            data_tests: [unique]
          - name: name
            data_tests:
              - accepted_values: {values: [Ann]}
`,
    });
    // pipe run tests every source too, as dbt build does, whether anything reads it or not.
    const run = await runIn(dir, { date: '2024-01-02' });
    expect(run.code).toBe(1);
    expect(failures(run.events).map((f) => f.check)).toEqual(['source_accepted_values_raw_customers_name__Ann']);
    const r = await testIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    expect(passed(r.events)).toContain('source_unique_raw_customers_customer_id');
    expect(failures(r.events).map((f) => [f.check, f.failingRows, f.location])).toEqual([
      ['source_accepted_values_raw_customers_name__Ann', 1, { file: 'models/sources.yml', line: 12 }],
    ]);
  });

  it("pipe run tests a source before building what reads it, and a failing test keeps its readers out", async () => {
    const dir = tempProject({
      ...FILES,
      'models/sources.yml': `version: 2
sources:
  - name: raw
    schema: main
    tables:
      - name: customers
        columns:
          - name: name
            data_tests:
              - accepted_values: {values: [Ann, Bob]}
`,
      'models/known.sql': "{{ config(materialized='table') }}\nselect count(*) as n from {{ source('raw', 'customers') }}",
    });
    const ok = await runIn(dir, { date: '2024-01-02' });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(passed(ok.events)).toContain('source_accepted_values_raw_customers_name__Ann__Bob');
    const order = eventsOfType(ok.events, 'task-succeeded').map((e) => (e.task as { model: string }).model);
    expect(order.indexOf('raw.customers')).toBeLessThan(order.indexOf('known'));

    writeFileSync(join(dir, 'seeds/customers.csv'), 'customer_id,name\n1,Ann\n2,Bob\n3,Cy\n');
    const bad = await runIn(dir, { date: '2024-01-03' });
    expect(bad.code).toBe(1);
    expect(failures(bad.events).map((f) => f.check)).toEqual(['source_accepted_values_raw_customers_name__Ann__Bob']);
    expect(taskIdsOf(bad.events, 'task-skipped')).toContain('known@2024-01-03');
    expect(await queryWarehouse(dir, 'select n::int as n from main.known')).toEqual([{ n: 2 }]);
  });

  it("runs the tests of an ephemeral model over a source, and a singular test of the source alone, with the source's tests", async () => {
    const dir = tempProject({
      ...FILES,
      'models/sources.yml': 'version: 2\nsources:\n  - name: raw\n    schema: main\n    tables:\n      - name: customers\n',
      'models/stg_customers.sql': "{{ config(materialized='ephemeral') }}\nselect customer_id, upper(name) as name from {{ source('raw', 'customers') }}",
      'models/stg.yml': 'version: 2\nmodels:\n  - name: stg_customers\n    columns:\n      - name: customer_id\n        data_tests: [unique]\n      - name: name\n        data_tests:\n          - accepted_values: {values: [ANN, BOB]}\n',
      'tests/no_cy.sql': "select * from {{ source('raw', 'customers') }} where name = 'Cy'",
      'models/known.sql': "{{ config(materialized='table') }}\nselect count(*) as n from {{ ref('stg_customers') }}",
    });
    const ok = await runIn(dir, { date: '2024-01-02' });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(passed(ok.events)).toEqual(expect.arrayContaining(['unique_stg_customers_customer_id', 'accepted_values_stg_customers_name__ANN__BOB', 'no_cy']));
    const order = eventsOfType(ok.events, 'task-succeeded').map((e) => (e.task as { model: string }).model);
    expect(order.indexOf('raw.customers')).toBeLessThan(order.indexOf('known'));

    writeFileSync(join(dir, 'seeds/customers.csv'), 'customer_id,name\n1,Ann\n2,Bob\n3,Cy\n');
    expect((await runIn(dir, { date: '2024-01-03', select: ['customers'] })).code).toBe(0);
    const r = await testIn(dir, { date: '2024-01-03' });
    expect(r.code).toBe(1);
    expect(passed(r.events)).toContain('unique_stg_customers_customer_id');
    expect(failures(r.events).map((f) => [f.check, f.failingRows]).sort()).toEqual([
      ['accepted_values_stg_customers_name__ANN__BOB', 1],
      ['no_cy', 1],
    ]);
    // In a run, they keep out what reads the source.
    const bad = await runIn(dir, { date: '2024-01-03' });
    expect(bad.code).toBe(1);
    expect(taskIdsOf(bad.events, 'task-skipped')).toContain('known@2024-01-03');
  });

  it("takes a generic test's config: in the properties file over its definition's config(), and that over the folders', as dbt does", async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: shop\nprofile: shop\ndata-tests:\n  shop:\n    +fail_calc: "count(*) * 100"\n',
      'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: shop.duckdb\n',
      'tests/generic/positive.sql': "{% test positive(model, column_name) %}\n{{ config(severity='error', where='id > 0', fail_calc='count(*)') }}\nselect * from {{ model }} where {{ column_name }} < 1\n{% endtest %}\n",
      'models/m.sql': "{{ config(materialized='table') }}\nselect * from (values (1, 0), (2, 0), (3, 5)) t(id, v)",
      'models/schema.yml': `version: 2
models:
  - name: m
    columns:
      - name: v
        data_tests:
          - positive:
              name: severity_from_properties
              config: {severity: warn}
          - positive:
              name: where_from_properties
              config: {where: "id > 1", severity: warn}
`,
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(failures(r.events).map((f) => [f.check, f.severity, f.failingRows]).sort()).toEqual([
      ['severity_from_properties', 'warn', 2],
      ['where_from_properties', 'warn', 1],
    ]);
  });

  it("gives generate_schema_name a test's tags and config, as dbt's node holds them, for the schema its failures are kept in", async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: shop\nprofile: shop\ndata_tests:\n  +tags: audit_me\n  +store_failures: true\n',
      'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: warehouse.duckdb\n',
      'models/orders.sql': 'select 1 as id union all select 1',
      'models/orders.yml': 'version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: id\n        data_tests: [{unique: {config: {severity: warn}}}]\n',
      'macros/gsn.sql':
        "{% macro generate_schema_name(custom_schema_name, node) -%}\n{%- if node.resource_type == 'test' -%} tests_{{ node.tags | join('_') }}_{{ node.config.severity | lower }}\n{%- else -%} {{ target.schema }}{%- endif -%}\n{%- endmacro %}\n",
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(await queryWarehouse(dir, "select distinct table_schema as s from information_schema.tables where table_name like 'unique_orders%'")).toEqual([{ s: 'tests_audit_me_warn' }]);
  });

  it('a test the database refuses, or whose fail_calc counts nothing, fails its task at the test', async () => {
    const schema = (test: string) => `version: 2\nmodels:\n  - name: orders\n    data_tests:\n${test}`;
    const dir = tempProject({ ...FILES, 'models/schema.yml': schema('      - unique:\n          column_name: "order_id + missing_column"\n') });
    const errorOf = async () => {
      const r = await runIn(dir, { date: '2024-01-02', select: ['orders'] });
      expect(r.code).toBe(1);
      const failed = eventsOfType(r.events, 'task-failed').map((e) => e.error as { message: string; kind: string; location: unknown });
      expect(failed).toHaveLength(1);
      return failed[0];
    };
    const refused = await errorOf();
    expect(refused.kind).toBe('Check');
    expect(refused.message).toMatch(/^test unique_orders_order_id_missing_column could not run: Binder Error: .*missing_column/);
    // DuckDB's first line only: its excerpt of the query pipe wrapped the test in is not shown.
    expect(refused.message).not.toMatch(/LINE \d+:|\n/);
    expect(refused.location).toEqual({ file: 'models/schema.yml', line: 5 });

    // sum() over no failing rows is NULL: dbt refuses it as a count of failures, and so does pipe.
    writeFileSync(join(dir, 'models/schema.yml'), schema('      - not_null:\n          column_name: order_id\n          config: {fail_calc: "sum(order_id)"}\n'));
    const nothing = await errorOf();
    expect([nothing.kind, nothing.message]).toEqual(['Check', 'test not_null_orders_order_id could not run: its fail_calc (sum(order_id)) gave null, not a number of failures']);
  });
  it("tests a view's query before it publishes, with the view named in a -- depends_on: comment", async () => {
    // The view's query is read through a CTE: inlined where the comment names it, its later lines would leave the comment.
    const files = (check: string) => ({
      ...FILES,
      'models/wide.sql': "{{ config(materialized='view') }}\n-- a comment of the view\nselect order_id, amount * 2 as doubled from {{ ref('orders') }} -- trailing",
      'tests/doubled.sql': `-- depends_on: {{ ref('wide') }}\nwith w as (select * from {{ ref('wide') }}) select * from w where ${check}`,
    });
    const dir = tempProject(files('doubled <> 2 * (doubled / 2)'));
    const ok = await runIn(dir, { date: '2024-01-02', select: ['orders', 'wide'] });
    expect(ok.code).toBe(0);
    expect(eventsOfType(ok.events, 'check-passed').map((e) => e.check)).toContain('doubled');
    expect(await queryWarehouse(dir, 'select count(*) as n from main.wide')).toEqual([{ n: '2' }]);

    const failing = tempProject(files('doubled > 10'));
    const failed = await runIn(failing, { date: '2024-01-02', select: ['orders', 'wide'] });
    expect(failed.code).toBe(1);
    expect(eventsOfType(failed.events, 'task-failed').map((e) => (e.error as { message: string }).message)).toEqual(['test doubled failed: got 1 result, configured to fail if != 0 (tests/doubled.sql)']);
  });
  it('a test or model may reach a declared source only as it runs, as in dbt; an undeclared one fails at its call', async () => {
    const sources = `version: 2\nsources:\n  - name: raw\n    schema: main\n    tables:\n      - name: customers\n`;
    const reading = (table: string) => `{% if execute %}{% set cols = adapter.get_columns_in_relation(source('raw', '${table}')) %}{% endif %}`;
    const dir = tempProject({
      ...FILES,
      'models/sources.yml': sources,
      'tests/customer_columns.sql': `${reading('customers')}select * from {{ ref('orders') }} where {{ (cols | length) if execute else 2 }} <> 2`,
    });
    const ok = await runIn(dir, { date: '2024-01-02', select: ['customers', 'orders'] });
    expect(ok.code).toBe(0);
    expect(eventsOfType(ok.events, 'check-passed').map((e) => e.check)).toContain('customer_columns');

    const undeclared = tempProject({
      ...FILES,
      'models/sources.yml': sources,
      'tests/customer_columns.sql': `${reading('nope')}select * from {{ ref('orders') }} where false`,
      'models/peek.sql': `${reading('nope')}select 1 as one`,
    });
    const failed = await runIn(undeclared, { date: '2024-01-02', select: ['customers', 'orders', 'peek'] });
    expect(failed.code).toBe(1);
    expect(eventsOfType(failed.events, 'task-failed').map((e) => (e.error as { message: string }).message).sort()).toEqual([
      "source('raw', 'nope'): source 'raw' has no table 'nope'",
      "test customer_columns: source('raw', 'nope'): source 'raw' has no table 'nope'",
    ]);
  });
  it('pipe test selects tests by their names and by generic test, as dbt test does; a typo gets the closest name', async () => {
    const { dir, first } = await builtCopy();
    expect(first.code).toBe(0);
    const only = async (...select: string[]) => {
      const r = await testIn(dir, { date: '2024-01-02', select });
      expect(r.code, r.stderr).toBe(0);
      return passed(r.events);
    };
    expect(await only('unique_orders_order_id')).toEqual(['unique_orders_order_id']);
    expect(await only('test_name:not_null')).toEqual(['not_null_customers_customer_id', 'not_null_orders_order_id']);
    expect(await only('test_name:positive', 'revenue_adds_up')).toEqual(['positive_orders_amount', 'revenue_adds_up']);
    expect(await only('unique_*')).toEqual(['unique_customers_customer_id', 'unique_orders_order_id']);
    // A comma intersects, as dbt's: the generic tests named unique_*, not every generic test and every unique_*.
    expect(await only('unique_*,test_type:generic')).toEqual(['unique_customers_customer_id', 'unique_orders_order_id']);
    expect(await only('test_name:not_null,unique_*')).toEqual([]);
    expect(await only('test_type:singular,test_name:unique')).toEqual([]);
    // A model's name still selects its every test, and those of others reading it (dbt's eager
    // selection); a test's name in pipe run builds what it tests.
    expect(await only('customers')).toEqual(['not_null_customers_customer_id', 'relationships_orders_customer_id__customer_id__ref_customers_', 'unique_customers_customer_id']);
    const built = await runIn(dir, { date: '2024-01-02', select: ['unique_orders_order_id'], fullRefresh: true });
    expect(eventsOfType(built.events, 'task-succeeded').map((e) => (e.task as { model: string }).model)).toEqual(['orders']);
    // Said, with the command that runs the test alone (dbt build -s does): a current node is skipped, its test with it.
    expect(eventsOfType(built.events, 'notice').map((e) => e.message)).toContain(
      "selector 'unique_orders_order_id' names a test, which runs in the build of the node it tests: that node is selected (a run skips it when current, its tests with it); pipe test --select unique_orders_order_id runs the test alone, on the published table",
    );
    expect(eventsOfType((await testIn(dir, { date: '2024-01-02', select: ['unique_orders_order_id'] })).events, 'notice').map((e) => e.message)).not.toContainEqual(expect.stringContaining('names a test'));
    const typo = await testIn(dir, { date: '2024-01-02', select: ['unique_orders_orderid'] });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("no model, seed or test named 'unique_orders_orderid'");
    expect(typo.stderr).toContain("did you mean 'unique_orders_order_id'?");
    // Leaving a test out of a build would leave its node out: refused, where dbt would run the node without it.
    const excluded = await runIn(dir, { date: '2024-01-02', exclude: ['unique_orders_order_id'] });
    expect(excluded.code).toBe(2);
    expect(excluded.stderr).toContain('--exclude unique_orders_order_id: unique_orders_order_id names a test, which runs in the build of the node it tests');
  });
});

/**
 * dbt's store_failures in pipe run and pipe test: each test that keeps its failing rows
 * replaces a relation named after it in `<schema>_dbt_test__audit` (or its `schema:`), as dbt
 * writes it, also when the failing test keeps its model's rows out of the warehouse.
 */

/** `var('nulls')` gives orders an order without an id. */
const STORING = {
  'dbt_project.yml': FILES['dbt_project.yml'],
  'models/orders.sql': `select * from (values
  (1, 'placed', 10::hugeint),
  (2, 'shipped', 170141183460469231731687303715884105727::hugeint)
  {% if var('nulls', false) %}, (null, 'lost', 30){% endif %}
) v(order_id, status, amount)`,
  'models/schema.yml': `version: 2
models:
  - name: orders
    columns:
      - name: order_id
        data_tests:
          - not_null:
              config:
                store_failures: true
          - unique
      - name: status
        data_tests:
          - accepted_values:
              values: [placed]
              config:
                severity: warn
                store_failures_as: view
                schema: audit
      - name: amount
        data_tests: [positive]
`,
  'tests/generic/positive.sql': `{% test positive(model, column_name) %}
select {{ '*' if should_store_failures() else column_name }} from {{ model }} where {{ column_name }} <= 0
{% endtest %}
`,
};

const passedIn = (events: readonly PipeEventJson[]) => eventsOfType(events, 'check-passed').map((e) => [e.check, e.storedIn]);
const relations = (dir: string) =>
  queryWarehouse(
    dir,
    `select schema_name, table_name as name, 'table' as type from duckdb_tables() where schema_name like '%audit%'
     union all select schema_name, view_name, 'view' from duckdb_views() where schema_name like '%audit%' order by all`,
  );

describe('pipe test, a test that could not run', () => {
  it("leaves the model's other tests to run and give their verdicts, as dbt runs each", async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: shop\n',
      'models/orders.sql': "{{ config(materialized='table') }}\nselect 1 as id union all select 1",
      // Strict (pipe test's vars), the first reads a table that is not there and the second fails.
      'tests/a_compare.sql': "select * from {{ ref('orders') }} where {% if var('strict', false) %}id not in (select id from nowhere.copy){% else %}false{% endif %}",
      'tests/b_no_dupes.sql': "select id from {{ ref('orders') }} group by id having count(*) > {{ 1 if var('strict', false) else 5 }}",
      'tests/c_positive.sql': "select * from {{ ref('orders') }} where id < 0",
    });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const r = await testIn(dir, { date: '2024-01-02', vars: { strict: true } });
    expect(r.code).toBe(1);
    expect(failures(r.events).map((f) => f.check)).toEqual(['b_no_dupes']);
    expect(passed(r.events)).toEqual(['c_positive']);
    expect(eventsOfType(r.events, 'task-failed').map((e) => (e.error as { message: string }).message)).toEqual([expect.stringMatching(/^test a_compare could not run: Catalog Error/)]);
  });
});

describe("a singular test that reads the run's date", () => {
  it('is rendered for each date a backfill checks, as a run of that date renders it', async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: shop\n',
      'models/ev.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect DATE '{{ ds }}' as d, case when '{{ ds }}' = '2024-01-02' then -1 else 1 end as v",
      'tests/ev_neg_today.sql': "select * from {{ ref('ev') }} where d = '{{ ds }}' and v < 0",
    });
    const r = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-03' });
    expect(r.code).toBe(1);
    expect(eventsOfType(r.events, 'task-failed').map((e) => (e.task as { id: string }).id)).toEqual(['ev@2024-01-02']);
    expect(failures(r.events).map((f) => [f.check, f.sample])).toEqual([['ev_neg_today', [{ d: '2024-01-02', v: -1 }]]]);
  });
});

describe('a test of an ephemeral model that reads the warehouse as it renders', () => {
  it('inlines it as it renders when the test runs, as a model reading it does: not its parse render', async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: shop\n',
      'models/base.sql': "{{ config(materialized='table') }}\nselect 42 as v",
      'models/eph.sql': [
        "{{ config(materialized='ephemeral') }}",
        "-- depends_on: {{ ref('base') }}",
        '{% if execute %}',
        "  {% set x = run_query('select max(v) from ' ~ ref('base')).columns[0].values()[0] %}",
        '{% else %}',
        '  {% set x = none %}',
        '{% endif %}',
        "select cast('{{ x }}' as integer) as v",
      ].join('\n'),
      'models/uses_eph.sql': "{{ config(materialized='table') }}\nselect * from {{ ref('eph') }}",
      'tests/eph_is_42.sql': "select * from {{ ref('eph') }} where v <> 42",
    });
    const ran = await runIn(dir, { date: '2024-01-02' });
    expect(ran.code, explain(ran)).toBe(0);
    expect(passed(ran.events)).toEqual(['eph_is_42']);
    const tested = await testIn(dir, { date: '2024-01-02' });
    expect(tested.code, explain(tested)).toBe(0);
    expect(passed(tested.events)).toEqual(['eph_is_42']);
  });
});

describe("dbt's singular tests that name no node", () => {
  const FREE = {
    'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    +materialized: table\n',
    'models/orders.sql': "select * from (values (1), ({{ var('second', 2) }})) v(id)",
    'models/other.sql': 'select 1 as x',
    // Reads orders by the table's name, as Fivetran's validation tests read what they compare.
    'tests/orders_unique_by_name.sql': "{{ config(tags=['nightly']) }}\nselect id from {{ target.schema }}.orders group by id having count(*) > 1",
    'models/constant.sql': "{{ config(materialized='ephemeral') }}\nselect null as id",
    'models/schema.yml': 'version: 2\nmodels:\n  - name: constant\n    columns:\n      - name: id\n        data_tests: [{not_null: {config: {severity: warn}}}]\n',
  };
  const taskOrder = (r: PipeResult) => eventsOfType(r.events, 'task-started').map((e) => (e.task as { id: string }).id);

  it('run on their own after every other task of a run of the whole project, and in pipe test; a failing one fails the run, and pipe retry runs it again', async () => {
    const dir = tempProject(FREE);
    const ok = await runIn(dir, { date: '2024-01-02' });
    expect(ok.code, explain(ok)).toBe(0);
    expect(taskOrder(ok).slice(-2).sort()).toEqual(['not_null_constant_id@2024-01-02', 'orders_unique_by_name@2024-01-02']);
    expect(passed(ok.events)).toEqual(['orders_unique_by_name']);
    expect(failures(ok.events).map((f) => [f.check, f.severity])).toEqual([['not_null_constant_id', 'warn']]);
    expect(eventsOfType(ok.events, 'diagnostic')).toEqual([]);

    // A selection of models runs no such test, as dbt build --select does not.
    const some = await runIn(dir, { date: '2024-01-02', select: ['orders'], vars: { second: 1 } });
    expect(some.code, explain(some)).toBe(0);
    expect(taskOrder(some)).toEqual(['orders@2024-01-02']);

    // On what the tables hold: the test fails pipe test, as dbt test, and a run of everything.
    const tested = await testIn(dir, { date: '2024-01-02' });
    expect(tested.code).toBe(1);
    expect(failures(tested.events).map((f) => [f.check, f.failingRows]).sort()).toEqual([['not_null_constant_id', 1], ['orders_unique_by_name', 1]]);
    const failed = await runIn(dir, { date: '2024-01-02', vars: { second: 1 } });
    expect(failed.code).toBe(1);
    expect(eventsOfType(failed.events, 'task-failed').map((e) => (e.task as { id: string }).id)).toEqual(['orders_unique_by_name@2024-01-02']);
    // Fixed (the table rebuilt with other rows), pipe retry runs what failed: the test alone.
    await runIn(dir, { date: '2024-01-02', select: ['orders'] });
    const retried = await retryIn(dir);
    expect(retried.code, explain(retried)).toBe(0);
    expect(taskOrder(retried)).toEqual(['orders_unique_by_name@2024-01-02']);
  });

  it('pipe test selects one by its name, its path or its type, and a model selects none', async () => {
    const dir = tempProject(FREE);
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const only = async (...select: string[]) => {
      const r = await testIn(dir, { date: '2024-01-02', select });
      expect(r.code, explain(r)).toBe(0);
      return taskOrder(r);
    };
    expect(await only('orders_unique_by_name')).toEqual(['orders_unique_by_name@2024-01-02']);
    expect(await only('path:tests')).toEqual(['orders_unique_by_name@2024-01-02']);
    expect((await only('test_type:singular')).sort()).toEqual(['orders_unique_by_name@2024-01-02']);
    expect(await only('orders_unique_by_name+')).toEqual(['orders_unique_by_name@2024-01-02']);
    expect((await only('resource_type:test')).sort()).toEqual(['not_null_constant_id@2024-01-02', 'orders_unique_by_name@2024-01-02']);
    // Intersections as written; a model and a test by name, each.
    expect(await only('test_type:singular,tag:nightly')).toEqual(['orders_unique_by_name@2024-01-02']);
    expect(await only('test_type:generic,tag:nightly')).toEqual([]);
    expect(await only('orders', 'orders_unique_by_name')).toEqual(['orders_unique_by_name@2024-01-02']);
    // A test of an ephemeral model that nothing reads: by the model, its file, its kind.
    for (const select of ['constant', 'path:models/constant.sql', 'test_type:generic']) expect(await only(select)).toEqual(['not_null_constant_id@2024-01-02']);
    // Left out by --exclude, as dbt leaves it out; the others run.
    const excluded = await runIn(dir, { date: '2024-01-02', exclude: ['orders_unique_by_name'] });
    expect(excluded.code, explain(excluded)).toBe(0);
    expect(taskOrder(excluded).filter((id) => !id.startsWith('orders@') && !id.startsWith('other@'))).toEqual(['not_null_constant_id@2024-01-02']);
    expect(taskOrder(await testIn(dir, { date: '2024-01-02', exclude: ['not_null_constant_id'] }))).toEqual(['orders_unique_by_name@2024-01-02']);
  });

  it('resource_type:test selects the tests of models too, where the project has no test of its own file; resource_type:unit_test its unit tests', async () => {
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\n",
      'models/m.sql': 'select 1 as id',
      'models/m.yml':
        'version: 2\nmodels:\n  - name: m\n    columns:\n      - name: id\n        data_tests: [not_null, unique]\nunit_tests:\n  - name: one_row\n    model: m\n    given: []\n    expect:\n      rows:\n        - {id: 1}\n',
    });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const checks = async (select: string) => {
      const r = await testIn(dir, { date: '2024-01-02', select: [select] });
      expect(r.code, explain(r)).toBe(0);
      return [...eventsOfType(r.events, 'check-passed').map((e) => e.check), ...taskOrder(r).filter((id) => id.includes('one_row'))].sort();
    };
    expect(await checks('resource_type:test')).toEqual(['not_null_m_id', 'unique_m_id']);
    expect(await checks('resource_type:unit_test')).toEqual(['m::one_row@2024-01-02', 'one_row']);
  });

  it("a model and a test term, intersected or united, select as dbt test does: the model's tests the test term takes; a unit test by its config tags", async () => {
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\n",
      'models/m.sql': 'select 1 as id',
      'models/n.sql': 'select 2 as id',
      'models/m.yml':
        'version: 2\nmodels:\n  - name: m\n    columns:\n      - name: id\n        data_tests: [not_null, unique]\n  - name: n\n    columns:\n      - name: id\n        data_tests: [not_null, unique]\nunit_tests:\n  - name: one_row\n    model: m\n    config: {tags: [fast]}\n    given: []\n    expect:\n      rows:\n        - {id: 1}\n',
      'tests/m_positive.sql': "select * from {{ ref('m') }} where id < 0",
      // A singular test of two models runs with the later: a term naming either takes it, as dbt's.
      'tests/m_and_n.sql': "select * from {{ ref('m') }} join {{ ref('n') }} using (id)",
    });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const checks = async (...select: string[]) => {
      const r = await testIn(dir, { date: '2024-01-02', select });
      expect(r.code, explain(r)).toBe(0);
      return [...eventsOfType(r.events, 'check-passed').map((e) => e.check)].sort();
    };
    expect(await checks('m,test_name:unique')).toEqual(['unique_m_id']);
    expect(await checks('m,test_type:singular')).toEqual(['m_and_n', 'm_positive']);
    expect(await checks('n,test_type:singular')).toEqual(['m_and_n']);
    expect(await checks('m,test_type:generic')).toEqual(['not_null_m_id', 'unique_m_id']);
    expect(await checks('n,test_name:not_null')).toEqual(['not_null_n_id']);
    // A space unites: every test of m, and n's unique test alone.
    expect(await checks('m', 'test_name:unique')).toEqual(['m_and_n', 'm_positive', 'not_null_m_id', 'one_row', 'unique_m_id', 'unique_n_id']);
    // A tag only a unit test has selects it, alone or intersected.
    expect(await checks('tag:fast')).toEqual(['one_row']);
    expect(await checks('test_type:unit,tag:fast')).toEqual(['one_row']);
    expect(await checks('m,tag:fast')).toEqual(['one_row']);
    // By its bare name, as dbt ls -s one_row lists it.
    expect(await checks('one_row')).toEqual(['one_row']);
  });

  it("reads dbt_project.yml's unit_tests: +enabled and +tags by the test's folder, model and name, its own config over them", async () => {
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\nunit_tests:\n  shop:\n    +tags: [nightly]\n    marts:\n      m:\n        off_test:\n          +enabled: false\n",
      'models/marts/m.sql': 'select 1 as id',
      'models/marts/m.yml':
        'version: 2\nunit_tests:\n  - name: off_test\n    model: m\n    given: []\n    expect: {rows: [{id: 2}]}\n  - name: on_test\n    model: m\n    config: {tags: [own]}\n    given: []\n    expect: {rows: [{id: 1}]}\n',
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    // off_test is switched off there (it would fail); on_test takes the project's tag and keeps its own.
    expect(eventsOfType(r.events, 'check-passed').map((e) => e.check)).toEqual(['on_test']);
    expect(eventsOfType(r.events, 'diagnostic').map((e) => (e.diagnostic as { message: string }).message).join('\n')).not.toContain('unit_tests');
    const tagged = async (tag: string) => eventsOfType((await testIn(dir, { date: '2024-01-02', select: [`tag:${tag}`] })).events, 'check-passed').map((e) => e.check);
    expect([await tagged('nightly'), await tagged('own')]).toEqual([['on_test'], ['on_test']]);
  });

  it("says when the build of the date tested failed and none of it was published before: its checks read no rows of it", async () => {
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\n",
      'models/daily.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect '{{ ds }}'::date as d, {% if var('fail', false) %}error('boom'){% else %}1{% endif %} as v\n",
      'models/daily.yml': 'version: 2\nmodels:\n  - name: daily\n    columns:\n      - name: v\n        data_tests: [not_null]\n',
    });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const failed = await runIn(dir, { date: '2024-01-03', vars: { fail: true } });
    expect(failed.code).toBe(1);
    const r = await testIn(dir, { date: '2024-01-03' });
    const notices = eventsOfType(r.events, 'notice').map((e) => e.message).filter((m) => m.includes('failed'));
    expect(notices).toEqual([expect.stringMatching(/^the build of daily 2024-01-03 \(run \S+\) failed, and none of that date was published before: its checks read no rows of it \(pipe status says why the build failed\)$/)]);
    // The date before, built: nothing to say.
    expect(eventsOfType((await testIn(dir, { date: '2024-01-02' })).events, 'notice').filter((e) => e.message.includes('failed'))).toEqual([]);
  });

  it('one named as a model runs as a task of its own beside the model, as dbt names them apart', async () => {
    const dir = tempProject({ ...FREE, 'tests/orders.sql': 'select * from {{ target.schema }}.orders where id < 0' });
    const ran = await runIn(dir, { date: '2024-01-02' });
    expect(ran.code, explain(ran)).toBe(0);
    expect(taskOrder(ran)).toContain('test.orders@2024-01-02');
    expect(taskOrder(ran)).toContain('orders@2024-01-02');
    expect(taskOrder(await testIn(dir, { date: '2024-01-02', select: ['orders'] }))).toEqual(['test.orders@2024-01-02']);
  });
});

describe('dbt store_failures', () => {
  it('pipe test selects tests by their own tags, as dbt test does; excluding such a tag is refused', async () => {
    const dir = tempProject({
      ...FILES,
      'tests/revenue_adds_up.sql': `{{ config(severity='warn', warn_if='> 0', tags=['critical']) }}\n${FILES['tests/revenue_adds_up.sql'].split('\n').slice(1).join('\n')}`,
      'seeds/properties.yml': FILES['seeds/properties.yml'].replace('data_tests: [unique, not_null]', 'data_tests: [unique, {not_null: {config: {tags: [critical]}}}]'),
    });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const r = await testIn(dir, { date: '2024-01-02', select: ['tag:critical'] });
    expect(r.code, r.stderr).toBe(0);
    expect(passed(r.events)).toEqual(['not_null_customers_customer_id', 'revenue_adds_up']);
    // A build without them would build their nodes without them: refused, where dbt would leave the tests out.
    const excluded = await runIn(dir, { date: '2024-01-02', exclude: ['tag:critical'] });
    expect(excluded.code).toBe(2);
    expect(excluded.stderr).toContain("--exclude tag:critical: tests have the tag 'critical', and a test runs in the build of the node it tests");
  });

  it('keeps a failing test\'s rows though its model is kept out, and replaces them on every run', async () => {
    const dir = tempProject(STORING);
    const broken = await runIn(dir, { date: '2024-01-02', vars: { nulls: true } });
    expect(broken.code).toBe(1);
    expect(failures(broken.events).map((f) => [f.check, f.severity, f.failingRows, f.storedIn])).toEqual([
      ['not_null_orders_order_id', 'error', 1, '"main_dbt_test__audit"."not_null_orders_order_id"'],
      ['accepted_values_orders_status__placed', 'warn', 2, '"main_audit"."accepted_values_orders_status__placed"'],
    ]);
    expect(broken.stdout).toContain('see its failures: select * from "main_dbt_test__audit"."not_null_orders_order_id"');
    // The model was kept out: nothing of it is published, but its failing rows are, with every column (should_store_failures()), of its types.
    expect(await queryWarehouse(dir, "select count(*) as n from duckdb_tables() where table_name = 'orders'")).toEqual([{ n: '0' }]);
    expect(await queryWarehouse(dir, 'select * from main_dbt_test__audit.not_null_orders_order_id')).toEqual([{ order_id: null, status: 'lost', amount: '30' }]);
    expect(await queryWarehouse(dir, "select data_type from information_schema.columns where table_name = 'not_null_orders_order_id' and column_name = 'amount'")).toEqual([
      { data_type: 'HUGEINT' },
    ]);

    const fixed = await runIn(dir, { date: '2024-01-02' });
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect(passedIn(fixed.events)).toContainEqual(['not_null_orders_order_id', '"main_dbt_test__audit"."not_null_orders_order_id"']);
    // Replaced, empty now that the test passes; unique keeps nothing (no store_failures), the view reads the published rows.
    expect(await queryWarehouse(dir, 'select count(*) as n from main_dbt_test__audit.not_null_orders_order_id')).toEqual([{ n: '0' }]);
    expect(await relations(dir)).toEqual([
      { schema_name: 'main_audit', name: 'accepted_values_orders_status__placed', type: 'view' },
      { schema_name: 'main_dbt_test__audit', name: 'not_null_orders_order_id', type: 'table' },
    ]);
    expect(await queryWarehouse(dir, 'select * from main_audit.accepted_values_orders_status__placed')).toEqual([{ value_field: 'shipped', n_records: '1' }]);
  });

  it('pipe test --store-failures keeps the rows of every test whose config says nothing, as table or view by its config', async () => {
    const dir = tempProject(STORING);
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    // A test that kept its failures as a view now keeps them as a table: the view is replaced.
    writeFileSync(join(dir, 'models/schema.yml'), STORING['models/schema.yml'].replace('store_failures_as: view', 'store_failures_as: table').replace('store_failures: true', 'store_failures: false'));
    writeFileSync(join(dir, 'models/orders.sql'), STORING['models/orders.sql'].replace('10::hugeint', '-10::hugeint'));
    const r = await testIn(dir, { date: '2024-01-02', storeFailures: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(failures(r.events).map((f) => [f.check, f.storedIn])).toEqual([['accepted_values_orders_status__placed', '"main_audit"."accepted_values_orders_status__placed"']]);
    expect(await relations(dir)).toEqual([
      { schema_name: 'main_audit', name: 'accepted_values_orders_status__placed', type: 'table' },
      // Kept by the run before, when its config said so; a test that does not run leaves its relation, as in dbt.
      { schema_name: 'main_dbt_test__audit', name: 'not_null_orders_order_id', type: 'table' },
      { schema_name: 'main_dbt_test__audit', name: 'positive_orders_amount', type: 'table' },
      { schema_name: 'main_dbt_test__audit', name: 'unique_orders_order_id', type: 'table' },
    ]);
    // The published table is tested (built with 10, not -10); should_store_failures() answered true: every column is kept.
    expect(await queryWarehouse(dir, 'select * from main_dbt_test__audit.positive_orders_amount')).toEqual([]);
    expect((await queryWarehouse(dir, "select column_name from information_schema.columns where table_name = 'positive_orders_amount' order by ordinal_position")).map((c) => c.column_name)).toEqual([
      'order_id',
      'status',
      'amount',
    ]);
  });

  it('keeps the rows of a test whose query names two columns alike as a table of them would hold them (order_id, order_id_1)', async () => {
    const dir = tempProject({
      ...STORING,
      'tests/pairs.sql': "{{ config(store_failures=true, severity='warn') }}\nselect a.order_id, b.order_id from {{ ref('orders') }} a join {{ ref('orders') }} b on a.order_id < b.order_id",
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(failures(r.events).map((f) => [f.check, f.failingRows])).toContainEqual(['pairs', 1]);
    expect(await queryWarehouse(dir, 'select * from main_dbt_test__audit.pairs')).toEqual([{ order_id: 1, order_id_1: 2 }]);
  });

  it('a retry of a run given --store-failures keeps the failing rows as the run did', async () => {
    const dir = tempProject(STORING);
    writeFileSync(join(dir, 'models/orders.sql'), STORING['models/orders.sql'].replace('10::hugeint', '-10::hugeint'));
    const failed = await runIn(dir, { date: '2024-01-02', storeFailures: true });
    expect(failed.code).toBe(1);
    expect(await queryWarehouse(dir, 'select count(*) as n from main_dbt_test__audit.positive_orders_amount')).toEqual([{ n: '1' }]);
    writeFileSync(join(dir, 'models/orders.sql'), STORING['models/orders.sql']);
    const retried = await retryIn(dir, {});
    expect(retried.code, retried.stdout + retried.stderr).toBe(0);
    // Kept again by the retry: replaced, empty now that the test passes.
    expect(await queryWarehouse(dir, 'select count(*) as n from main_dbt_test__audit.positive_orders_amount')).toEqual([{ n: '0' }]);
  });

  it("says a view of a test's failures is not kept when its model's first build is kept out", async () => {
    const dir = tempProject({
      ...STORING,
      'models/schema.yml': STORING['models/schema.yml'].replace('data_tests: [positive]', 'data_tests: [{positive: {config: {store_failures_as: view}}}]'),
      'models/orders.sql': STORING['models/orders.sql'].replace('10::hugeint', '-10::hugeint'),
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    expect(eventsOfType(r.events, 'notice').map((e) => e.message)).toContainEqual(
      expect.stringMatching(/^test positive_orders_amount: its failing rows could not be kept in "main_dbt_test__audit"."positive_orders_amount": /),
    );
    expect(await relations(dir)).not.toContainEqual(expect.objectContaining({ name: 'positive_orders_amount' }));
  });

  it('refuses a store_failures_as pipe cannot honour, at its line', async () => {
    const dir = tempProject({ ...STORING, 'models/schema.yml': STORING['models/schema.yml'].replace('store_failures_as: view', 'store_failures_as: parquet') });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('store_failures_as must be table, view or ephemeral, got "parquet"');
    expect(r.stderr).toContain('models/schema.yml:13');
  });
});

describe('pipe test --exclude, as dbt test excludes', () => {
  const files = {
    'dbt_project.yml': 'name: shop\n',
    'models/a.sql': 'select 1 as id union all select 2',
    'models/b.sql': 'select 1 as id',
    'models/schema.yml': `version: 2
models:
  - name: a
    columns:
      - name: id
        data_tests: [not_null, unique]
  - name: b
    columns:
      - name: id
        data_tests: [unique, {relationships: {to: ref('a'), field: id}}]
`,
  };
  const passed = (r: PipeResult) => eventsOfType(r.events, 'check-passed').map((e) => e.check as string).sort();

  it('leaves out the tests a test method names, not the models that have them; and the tests that read an excluded model', async () => {
    const dir = tempProject(files);
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const noNotNull = await testIn(dir, { date: '2024-01-02', exclude: ['test_name:not_null'] });
    expect(noNotNull.code, explain(noNotNull)).toBe(0);
    expect(passed(noNotNull)).toEqual(['relationships_b_id__id__ref_a_', 'unique_a_id', 'unique_b_id']);
    // b's relationships test reads a: left out with a, as dbt's eager selection leaves it out.
    const noA = await testIn(dir, { date: '2024-01-02', exclude: ['a'] });
    expect(passed(noA)).toEqual(['unique_b_id']);
    // A test by its name, as dbt test --exclude takes it: that test alone (a run refuses it, see below).
    const byName = await testIn(dir, { date: '2024-01-02', exclude: ['not_null_a_id', 'unique_b_id'] });
    expect(byName.code, explain(byName)).toBe(0);
    expect(passed(byName)).toEqual(['relationships_b_id__id__ref_a_', 'unique_a_id']);
  });

  it('is refused in a build by a test method: the node is built with its tests, and would be left out whole', async () => {
    const dir = tempProject(files);
    const r = await runIn(dir, { date: '2024-01-02', exclude: ['test_name:not_null'] });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--exclude test_name:not_null: test_name:not_null names tests, which run in the build of the node they test');
  });
});

describe("a seed's tests changed, its file not", () => {
  it('load it again and run them, as a model whose tests changed runs again', async () => {
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\n",
      'seeds/s.csv': 'k,v\n1,a\n2,b\n',
      'models/m.sql': "select * from {{ ref('s') }}",
      'seeds/_s.yml': 'version: 2\nseeds:\n  - name: s\n    columns:\n      - name: v\n        data_tests:\n          - accepted_values:\n              arguments: {values: [a, b]}\n',
    });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const same = await runIn(dir, { date: '2024-01-02' });
    expect(eventsOfType(same.events, 'task-started')).toEqual([]);
    writeProjectFiles(dir, { 'seeds/_s.yml': 'version: 2\nseeds:\n  - name: s\n    columns:\n      - name: v\n        data_tests:\n          - accepted_values:\n              arguments: {values: [a]}\n' });
    const changed = await runIn(dir, { date: '2024-01-02' });
    expect(changed.code, explain(changed)).toBe(1);
    expect(eventsOfType(changed.events, 'task-failed').map((e) => (e.task as { id: string }).id)).toEqual(['s']);
    // Moved in its file, a test is the same test: nothing runs again.
    writeProjectFiles(dir, { 'seeds/_s.yml': 'version: 2\n\nseeds:\n  - name: s\n    columns:\n      - name: v\n        data_tests:\n          - accepted_values:\n              arguments: {values: [a, b]}\n' });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    writeProjectFiles(dir, { 'seeds/_s.yml': 'version: 2\n\n\nseeds:\n  - name: s\n    columns:\n      - name: v\n        data_tests:\n          - accepted_values:\n              arguments: {values: [a, b]}\n' });
    expect(eventsOfType((await runIn(dir, { date: '2024-01-02' })).events, 'task-started')).toEqual([]);
  });
});
