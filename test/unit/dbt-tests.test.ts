import { afterAll, describe, expect, it } from 'vitest';
import { analyze, type Analysis, type ModelNode, type SeedNode } from '../../src/analyze/analyze.js';
import { refToken, type Check } from '../../src/analyze/checks.js';
import { dbtTestNames, pyStr } from '../../src/analyze/dbt/test-names.js';
import { macroSignatures, testBlocksAsMacros } from '../../src/analyze/macro-signatures.js';
import { dayInterval, parseDate } from '../../src/dates/dates.js';
import { thresholdOutcome } from '../../src/execute/check-outcome.js';
import { thresholdSql } from '../../src/sql/test-threshold.js';
import { planRun } from '../../src/plan/plan.js';
import { renderSteps } from '../../src/plan/render-steps.js';
import { loadProject } from '../../src/project/load-project.js';
import { removeProjects, tempProject } from '../support/projects.js';

/**
 * dbt tests as pipe reads them: their names as dbt gives them, their config as dbt combines
 * it, the test each becomes and the node that runs it, and every mistake at its line.
 */

afterAll(removeProjects);

const day = dayInterval(parseDate('2024-01-02')!);
const run = (files: Record<string, string>): Analysis => analyze(loadProject(tempProject({ 'dbt_project.yml': 'name: shop\nprofile: shop\n', ...files })), { interval: day });
const checksOf = (a: Analysis, name: string): readonly Check[] => (a.nodes.get(name) as ModelNode | SeedNode).checks;
const check = (a: Analysis, node: string, name: string): Check => {
  const c = checksOf(a, node).find((x) => x.name === name);
  if (!c) throw new Error(`${node} has no check ${name}: ${checksOf(a, node).map((x) => x.name).join(', ')}`);
  return c;
};
const problems = (a: Analysis) => a.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.code, d.message, d.location?.file, d.location?.line]);

const ORDERS = 'select 1 as order_id, 1 as customer_id, \'placed\' as status, 5 as amount';

/** A properties file giving a column of orders the tests of `tests` (list items, indented). */
const testsOn = (column: string, tests: string) => `version: 2
models:
  - name: orders
    columns:
      - name: ${column}
        data_tests:
${tests}`;

describe("dbt's test names", () => {
  // Expected values from dbt's synthesize_generic_test_names run on the same arguments.
  it('joins the test, the node and the arguments sorted by name', () => {
    expect(dbtTestNames('unique', 'orders', { column_name: 'order_id' }).name).toBe('unique_orders_order_id');
    expect(dbtTestNames('relationships', 'orders', { to: "ref('customers')", field: 'customer_id', column_name: 'customer_id' }).name).toBe(
      'relationships_orders_customer_id__customer_id__ref_customers_',
    );
    expect(dbtTestNames('accepted_values', 'orders', { values: ['placed', 'shipped'], quote: false, column_name: 'status' }).name).toBe(
      'accepted_values_orders_status__False__placed__shipped',
    );
    expect(dbtTestNames('source_not_null', 'jaffle_shop_orders', { column_name: 'id' }).name).toBe('source_not_null_jaffle_shop_orders_id');
    expect(dbtTestNames('my_project_positive', 'orders', { column_name: '"Order Id"' }).name).toBe('my_project_positive_orders__Order_Id_');
  });

  it("writes values as Python's str() does, mappings by their values", () => {
    expect(dbtTestNames('positive', 'orders', { column_name: 'amount', bounds: { min: 0, max: [1, 2] }, strict: true, x: null, n: 1.5 }).name).toBe(
      'positive_orders_0___1_2___amount__1_5__True__None',
    );
    expect(pyStr(["it's", 'a'])).toBe(`["it's", 'a']`);
    // Control characters escaped, as Python's repr() of the list's items writes them.
    expect(pyStr(['a\nb', 'c\td', 'e\u0001'])).toBe("['a\\nb', 'c\\td', 'e\\x01']");
  });

  it('gives a name of 64 characters or more a short alias: its first 30 characters and an MD5 hash', () => {
    const names = dbtTestNames('accepted_values', 'orders', { column_name: 'status', values: ['placed', 'shipped', 'completed', 'return_pending', 'returned'] });
    expect(names.name).toBe('accepted_values_orders_status__placed__shipped__completed__return_pending__returned');
    expect(names.alias).toBe('accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758');
    expect(dbtTestNames('unique', 'orders', { column_name: 'order_id' }).alias).toBe('unique_orders_order_id');
  });
});

describe('generic test definitions', () => {
  it('are macros named test_<name>, line for line', () => {
    const source = '{% test positive(model, column_name, min=0) %}\nselect *\nfrom {{ model }}\n{%- endtest %}\n';
    const translated = testBlocksAsMacros(source);
    expect(translated).toBe('{% macro test_positive(model, column_name, min=0) %}\nselect *\nfrom {{ model }}\n{%- endmacro %}\n');
    expect(macroSignatures(translated)).toEqual([
      {
        name: 'test_positive',
        params: [
          { name: 'model', hasDefault: false },
          { name: 'column_name', hasDefault: false },
          { name: 'min', hasDefault: true },
        ],
        line: 1,
        takesKwargs: false,
      },
    ]);
  });

  it('are read at their lines, each body to its own end tag', () => {
    const source = '{% macro a(x) %}\n{{ x }}\n{% endmacro %}\n\n{%- macro b(y=1) -%}\n{{ kwargs }}\n{%- endmacro %}\n{% macro c() %}{% endmacro %}\n';
    expect(macroSignatures(source).map((m) => [m.name, m.line, m.takesKwargs])).toEqual([
      ['a', 1, false],
      ['b', 5, true],
      ['c', 8, false],
    ]);
  });

  it('read defaults that hold commas and brackets', () => {
    const [m] = macroSignatures("{% macro test_in(model, column_name, values=['a,b', (1, 2)], f=fn(x, y)) %}{{ kwargs }}{% endmacro %}");
    expect(m.params.map((p) => p.name)).toEqual(['model', 'column_name', 'values', 'f']);
    expect(m.takesKwargs).toBe(true);
  });
});

describe("dbt's verdict", () => {
  it('fails on error_if only with severity error, else warns on warn_if', () => {
    expect(thresholdOutcome('error', true, true)).toBe('failed');
    expect(thresholdOutcome('error', true, false)).toBe('warned');
    expect(thresholdOutcome('error', false, true)).toBe('failed');
    expect(thresholdOutcome('warn', true, true)).toBe('warned');
    expect(thresholdOutcome('warn', false, true)).toBe('passed');
    expect(thresholdOutcome('error', false, false)).toBe('passed');
  });

  it("judges with one query, as dbt's get_test_sql", () => {
    expect(thresholdSql('select 1', { failCalc: 'count(*)', warnIf: '>10', errorIf: '!= 0' })).toBe(
      'select\n  count(*) as failures,\n  count(*) >10 as should_warn,\n  count(*) != 0 as should_error\nfrom (\nselect 1\n) dbt_internal_test',
    );
  });
});

const SCHEMA = `version: 2
models:
  - name: orders
    columns:
      - name: order_id
        data_tests: [unique, not_null]
      - name: status
        data_tests:
          - accepted_values:
              values: [placed, shipped]
              quote: false
              config:
                severity: WARN
                where: "amount > 0"
                limit: 10
                error_if: ">5"
      - name: customer_id
        data_tests:
          - relationships:
              to: ref('customers')
              field: id
`;

describe('tests of a properties file', () => {
  it('become checks of the model, named as dbt names them, each at its line', () => {
    const a = run({ 'models/orders.sql': ORDERS, 'models/customers.sql': 'select 1 as id', 'models/schema.yml': SCHEMA });
    expect(problems(a)).toEqual([]);
    expect(checksOf(a, 'orders').map((c) => [c.name, c.kind, c.severity, c.location.line])).toEqual([
      ['unique_orders_order_id', 'dbt_generic', 'error', 6],
      ['not_null_orders_order_id', 'dbt_generic', 'error', 6],
      ['accepted_values_orders_status__False__placed__shipped', 'dbt_generic', 'warn', 9],
      ['relationships_orders_customer_id__id__ref_customers_', 'dbt_generic', 'error', 19],
    ]);
    const unique = check(a, 'orders', 'unique_orders_order_id');
    expect(unique.sql).toContain(`from ${refToken('orders')}\nwhere order_id is not null`);
    expect(unique.threshold).toEqual({ failCalc: 'count(*)', warnIf: '!= 0', errorIf: '!= 0' });
    expect(unique.columns).toEqual(['order_id']);
    const accepted = check(a, 'orders', 'accepted_values_orders_status__False__placed__shipped');
    // where: the model is replaced by a filtered subquery; limit ends the query; quote: false leaves the values bare.
    expect(accepted.sql).toContain(`from (select * from ${refToken('orders')} where amount > 0) dbt_subquery`);
    expect(accepted.sql).toMatch(/not in \(\n {4}placed,shipped\n\)\nlimit 10$/);
    expect(accepted.threshold).toEqual({ failCalc: 'count(*)', warnIf: '!= 0', errorIf: '>5' });
    // The parent model is read: it becomes upstream of the model tested.
    const orders = a.nodes.get('orders') as ModelNode;
    expect(orders.upstream).toContain('customers');
    expect(check(a, 'orders', 'relationships_orders_customer_id__id__ref_customers_').refs).toEqual([{ model: 'customers' }]);
  });

  it("combine folder configs of dbt_project.yml, the test's config and its definition's config(), in dbt's order", () => {
    const a = run({
      'dbt_project.yml': `name: shop
profile: shop
data_tests:
  shop:
    +severity: warn
    +tags: [nightly]
    marts:
      +fail_calc: "sum(n_records)"
`,
      'models/marts/orders.sql': ORDERS,
      'models/marts/schema.yml': `version: 2
models:
  - name: orders
    columns:
      - name: order_id
        data_tests:
          - unique
          - unique:
              name: order_id_unique_strict
              severity: error
          - positive:
              config: {severity: error, limit: 3, store_failures: true, meta: {owner: ann}}
`,
      'tests/generic/positive.sql': "{% test positive(model, column_name) %}\n{{ config(warn_if='> 1') }}\nselect * from {{ model }} where {{ column_name }} <= 0\n{% endtest %}\n",
    });
    expect(problems(a)).toEqual([]);
    const plain = check(a, 'orders', 'unique_orders_order_id');
    expect([plain.severity, plain.threshold?.failCalc, plain.tags]).toEqual(['warn', 'sum(n_records)', ['nightly']]);
    expect(check(a, 'orders', 'order_id_unique_strict').severity).toBe('error');
    const positive = check(a, 'orders', 'positive_orders_order_id');
    expect(positive.severity).toBe('error');
    expect(positive.threshold).toEqual({ failCalc: 'sum(n_records)', warnIf: '> 1', errorIf: '!= 0' });
    expect(positive.sql).toBe(`\nselect * from ${refToken('orders')} where order_id <= 0\nlimit 3`.trimStart());
    // Its failing rows are kept where dbt keeps them; the others keep none.
    expect(positive.storeFailures).toEqual({ as: 'table', schema: 'main_dbt_test__audit', name: 'positive_orders_order_id', relation: '"main_dbt_test__audit"."positive_orders_order_id"' });
    expect(plain.storeFailures).toBeUndefined();
    // What pipe reads past is named in the one notice.
    const notice = a.diagnostics.find((d) => d.code === 'not-used');
    // A meta is read (model.meta, config.get('meta'), the graph): no notice of it.
    expect(notice?.message ?? '').not.toContain('meta');
    expect(notice?.message ?? '').not.toContain('store_failures');
  });

  it('interpolate a column as written, and quote it when the column says quote: true', () => {
    const a = run({
      'models/orders.sql': 'select 1 as "Order Id", 2 as amount',
      'models/schema.yml': `version: 2
models:
  - name: orders
    columns:
      - name: Order Id
        quote: true
        data_tests: [not_null]
    data_tests:
      - unique:
          column_name: "amount * 2"
`,
    });
    expect(problems(a)).toEqual([]);
    const quoted = check(a, 'orders', 'not_null_orders__Order_Id_');
    expect(quoted.sql).toBe(`select "Order Id"\nfrom ${refToken('orders')}\nwhere "Order Id" is null`);
    expect(quoted.columns).toEqual(['Order Id']);
    const expression = check(a, 'orders', 'unique_orders_amount_2');
    expect(expression.sql).toContain('where amount * 2 is not null');
    // An expression is no column to look for.
    expect(expression.columns).toEqual([]);
  });

  it("name a column to look for before the run only where the test's query reads it, not a test of its own that names it as text", () => {
    // dbt_expectations' expect_column_to_exist names the column in a string: a missing one is its failure, not a refusal.
    const a = run({
      'models/orders.sql': 'select 1 as id',
      'macros/exists.sql': "{% test column_exists(model, column_name) %}\nselect '{{ column_name }}' as wanted from {{ model }} where false -- {{ column_name }}\n{% endtest %}\n{% test reads_it(model, column_name) %}\nselect * from {{ model }} where \"{{ column_name }}\" < 0\n{% endtest %}\n",
      'models/schema.yml': 'version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: payer\n        data_tests: [column_exists, reads_it, not_null]\n',
    });
    expect(problems(a)).toEqual([]);
    expect(check(a, 'orders', 'column_exists_orders_payer').columns).toEqual([]);
    expect(check(a, 'orders', 'reads_it_orders_payer').columns).toEqual(['payer']);
    expect(check(a, 'orders', 'not_null_orders_payer').columns).toEqual(['payer']);
  });

  it('are left out with a model switched off, or with enabled: false', () => {
    const a = run({
      'models/orders.sql': "{{ config(enabled=false) }}\nselect 1 as order_id",
      'models/items.sql': 'select 1 as id',
      'models/schema.yml': `version: 2
models:
  - name: orders
    columns:
      - name: order_id
        data_tests: [unique]
  - name: items
    columns:
      - name: id
        data_tests:
          - unique:
              config: {enabled: false}
          - not_null
          # Switched off, a test of a package not installed, or of none, is never looked up, as in dbt.
          - dbt_expectations.expect_column_values_to_not_be_null:
              config: {enabled: false}
          - no_such_test:
              config:
                enabled: false
`,
    });
    expect(problems(a)).toEqual([]);
    expect(checksOf(a, 'items').map((c) => c.name)).toEqual(['not_null_items_id']);
  });

  it("take an argument that is one expression as its value, as dbt renders test arguments: a var's list", () => {
    const a = run({
      'dbt_project.yml': "name: shop\nprofile: shop\nvars:\n  statuses: ['placed', 'shipped']\n",
      'models/orders.sql': ORDERS,
      'models/schema.yml': 'version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: status\n        data_tests:\n          - accepted_values:\n              arguments:\n                values: "{{ var(\'statuses\') }}"\n',
    });
    expect(problems(a)).toEqual([]);
    const [check] = checksOf(a, 'orders');
    expect(check.sql.replace(/\s+/g, ' ')).toContain("not in ( 'placed','shipped' )");
  });

  it('are switched on or off by a template that is one expression, as a boolean (dbt_project.yml tests:)', () => {
    const files = (type: string) => ({
      'dbt_project.yml': `name: shop\nprofile: shop\ntests:\n  shop:\n    unique_items_id:\n      +enabled: "{{ false if '${type}' in ['bigquery'] else true }}"\n      +limit: "{{ 5 }}"\n`,
      'models/items.sql': 'select 1 as id',
      'models/schema.yml': 'version: 2\nmodels:\n  - name: items\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n',
    });
    const on = run(files('duckdb'));
    expect(problems(on)).toEqual([]);
    expect(checksOf(on, 'items').map((c) => c.name)).toEqual(['unique_items_id', 'not_null_items_id']);
    expect(checksOf(run(files('bigquery')), 'items').map((c) => c.name)).toEqual(['not_null_items_id']);
  });

  it("give the model tested its schema and database, as dbt's relation does (dbt-assertions finds its node in graph by them)", () => {
    const a = run({
      'dbt_project.yml': 'name: shop\nprofile: shop\nmodels:\n  shop:\n    marts:\n      +schema: marts\n',
      'models/marts/orders.sql': ORDERS,
      'models/marts/orders.yml': `version: 2
models:
  - name: orders
    data_tests:
      - placed
`,
      'tests/generic/placed.sql': `{% test placed(model) %}
{%- set node = graph.nodes.values() | selectattr('schema', 'equalto', model.schema) | selectattr('database', 'equalto', model.database) | selectattr('name', 'equalto', model.identifier) | first -%}
select '{{ model.schema }}' as s, '{{ node.unique_id if node else "none" }}' as n from {{ model }} where status <> 'placed'
{% endtest %}
`,
    });
    expect(problems(a)).toEqual([]);
    // At the parse the graph has no nodes, as in dbt; the schema is the model's all the same.
    expect(check(a, 'orders', 'placed_orders_').sql).toBe(`select 'main_marts' as s, 'none' as n from ${refToken('orders')} where status <> 'placed'`);
  });

  it('of snapshots are checks of the snapshot', () => {
    const a = run({
      'models/orders.sql': ORDERS,
      'snapshots/orders_history.sql': "{% snapshot orders_history %}{{ config(unique_key='id', strategy='check', check_cols='all') }}select * from {{ ref('orders') }}{% endsnapshot %}",
      'snapshots/props.yml': 'version: 2\nsnapshots:\n  - name: orders_history\n    columns:\n      - name: dbt_scd_id\n        data_tests: [unique]\n',
    });
    expect(problems(a)).toEqual([]);
    expect(checksOf(a, 'orders_history').map((c) => c.name)).toEqual(['unique_orders_history_dbt_scd_id']);
    expect(a.diagnostics.find((d) => d.code === 'not-used')?.message ?? '').not.toContain('snapshots');
  });

  it('read a source with source(), by the relation it is read from', () => {
    const a = run({
      'models/orders.sql': ORDERS,
      'models/sources.yml': 'version: 2\nsources:\n  - name: crm\n    schema: landing\n    tables:\n      - name: customers\n',
      'models/schema.yml': testsOn(
        'customer_id',
        `          - relationships: {to: "source('crm', 'customers')", field: id}\n          - relationships: {to: "source('crm', 'customer')", field: id}\n`,
      ),
    });
    // A table the source does not declare leaves the test out, with a warning, as in dbt.
    expect(problems(a)).toEqual([]);
    expect(a.diagnostics.map((d) => [d.severity, d.code, d.message, d.location?.line])).toEqual([
      ['warning', 'unknown-source', "test relationships_orders_customer_id__id__source_crm_customer_ is left out: source('crm', 'customer'): source 'crm' has no table 'customer'", 8],
    ]);
    const c = check(a, 'orders', 'relationships_orders_customer_id__id__source_crm_customers_');
    expect(a.renderer.checkSql('orders', c, day, '"main"."staged"')).toContain('from "main"."staged"\n    where customer_id is not null');
    expect(a.renderer.checkSql('orders', c, day, '"main"."staged"')).toContain('from "landing"."customers"');
  });

  it('run with the node they read when it is built after the node tested', () => {
    // customers reads orders: a test of orders reading customers runs before customers publishes.
    const a = run({
      'models/orders.sql': ORDERS,
      'models/customers.sql': "select customer_id as id from {{ ref('orders') }}",
      'models/schema.yml': testsOn('customer_id', "          - relationships: {to: ref('customers'), field: id}\n"),
    });
    expect(problems(a)).toEqual([]);
    expect(checksOf(a, 'orders')).toEqual([]);
    const c = check(a, 'customers', 'relationships_orders_customer_id__id__ref_customers_');
    expect(c.refs).toEqual([{ model: 'orders' }]);
    // The columns named are orders', not customers'.
    expect(c.columns).toEqual([]);
  });

  it('are planned inside the publishing transaction, before its commit, reading the table it writes', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\nprofile: shop\nmodels:\n  shop:\n    +materialized: table\n',
      'models/orders.sql': ORDERS,
      'models/customers.sql': 'select 1 as id',
      'models/schema.yml': SCHEMA,
    });
    const plan = planRun({ analysis: a, selected: new Set(a.graph.nodes), catalog: new Map(), seedHashes: new Map(), fullRefresh: false, runId: 'r' }, day);
    expect(plan.diagnostics).toEqual([]);
    const steps = renderSteps(plan.tasks.find((t) => t.node === 'orders')!.steps);
    expect(steps).toContain(`-- test unique_orders_order_id (error: fails if count(*) != 0, else warns if count(*) != 0), before the commit
select
    order_id as unique_field,
    count(*) as n_records

from "main"."orders"`);
    expect(steps).toContain('-- test accepted_values_orders_status__False__placed__shipped (warn: warns if count(*) != 0), before the commit');
    expect(steps).toContain('    from "main"."customers"\n)');
    // Written, then tested, then committed: a failing test rolls the table back.
    expect(steps.indexOf('CREATE OR REPLACE TABLE "main"."orders" AS')).toBeLessThan(steps.indexOf('-- test'));
    expect(steps.indexOf('-- test')).toBeLessThan(steps.indexOf('COMMIT;'));
  });

  it('of seeds run with the seed; of sources are checks of their own, for a later pipe test', () => {
    const a = run({
      'seeds/countries.csv': 'code,name\nNL,Netherlands\n',
      'models/sources.yml': `version: 2
sources:
  - name: raw
    schema: landing
    tables:
      - name: events
        columns:
          - name: id
            data_tests: [not_null]
`,
      'seeds/properties.yml': `version: 2
seeds:
  - name: countries
    columns:
      - name: code
        data_tests: [unique]
`,
    });
    expect(problems(a)).toEqual([]);
    expect(checksOf(a, 'countries').map((c) => c.name)).toEqual(['unique_countries_code']);
    const [source] = a.sourceChecks.get('raw.events')!;
    expect(source.name).toBe('source_not_null_raw_events_id');
    // The table is named by its token, read as the data checked when the table is.
    expect(a.renderer.checkSql('raw.events', source, day, '"landing"."events"')).toBe('select id\nfrom "landing"."events"\nwhere id is null');
  });
});

describe('singular tests', () => {
  it('run with the model they read that comes last, the others made its upstream', () => {
    const a = run({
      'models/orders.sql': ORDERS,
      'models/customers.sql': 'select 1 as id',
      'models/lines.sql': "select order_id from {{ ref('orders') }}",
      'tests/orphans.sql': "{{ config(severity='warn') }}\nselect * from {{ ref('orders') }} o\nwhere o.customer_id not in (select id from {{ ref('customers') }})\n  and o.order_id in (select order_id from {{ ref('lines') }});\n",
    });
    expect(problems(a)).toEqual([]);
    const c = check(a, 'lines', 'orphans');
    expect([c.kind, c.severity, c.location]).toEqual(['dbt_singular', 'warn', { file: 'tests/orphans.sql' }]);
    expect(c.sql).toContain(`select * from ${refToken('orders')} o`);
    expect(c.sql.endsWith(`(select order_id from ${refToken('lines')})`)).toBe(true);
    expect((a.nodes.get('lines') as ModelNode).upstream.sort()).toEqual(['customers', 'orders']);
  });

  it("read their config with config.get(), as dbt's test config holds it: the file's config(), the folders', else dbt's defaults", () => {
    const a = run({
      'dbt_project.yml': 'name: shop\nprofile: shop\ndata_tests:\n  shop:\n    +limit: 50\n',
      'models/orders.sql': ORDERS,
      'tests/said.sql': "{{ config(severity='warn') }}\nselect '{{ config.get('severity') }}' as s, {{ config.get('limit') }} as l, '{{ config.get('fail_calc') }}' as f, {{ config.get('where', 'none') }} as w from {{ ref('orders') }}",
      'tests/unsaid.sql': "select '{{ config.get('severity') }}' as s, '{{ config.require('error_if') }}' as e from {{ ref('orders') }}",
      // Read before the config() call that sets it: rendered again with what the call sets.
      'tests/late.sql': "select '{{ config.get('severity') }}' as s from {{ ref('orders') }}\n{{ config(severity='warn') }}",
    });
    expect(problems(a)).toEqual([]);
    expect(check(a, 'orders', 'said').sql).toContain("select 'warn' as s, 50 as l, 'count(*)' as f, none as w from");
    expect(check(a, 'orders', 'unsaid').sql).toContain("select 'ERROR' as s, '!= 0' as e from");
    expect([check(a, 'orders', 'late').sql, check(a, 'orders', 'late').severity]).toEqual([expect.stringContaining("select 'warn' as s"), 'warn']);
  });

  it("read a generic test's config with config.get() in its definition too: its properties', its config()'s, else dbt's defaults", () => {
    const a = run({
      'models/orders.sql': ORDERS,
      'models/schema.yml': testsOn('order_id', "          - positive:\n              config: {severity: warn}\n          - positive:\n              name: plain_positive\n"),
      'tests/generic/positive.sql':
        "{% test positive(model, column_name) %}\n{{ config(limit=10) }}\nselect '{{ config.get('severity') }}' as s, {{ config.get('limit') }} as l from {{ model }} where {{ column_name }} <= 0\n{% endtest %}\n",
    });
    expect(problems(a)).toEqual([]);
    expect(check(a, 'orders', 'positive_orders_order_id').sql).toContain("select 'warn' as s, 10 as l from");
    expect(check(a, 'orders', 'plain_positive').sql).toContain("select 'ERROR' as s, 10 as l from");
  });

  it('refuse a config.get() whose answer changes what a later config() sets, at the config() call', () => {
    const a = run({
      'models/orders.sql': ORDERS,
      'tests/flips.sql': "{{ config(severity=('error' if config.get('severity') == 'warn' else 'warn')) }}\nselect * from {{ ref('orders') }}",
    });
    expect(problems(a)).toEqual([
      ['config-conflict', "config.get('severity') is read before config() sets 'severity', and what it reads changes what config() sets ('warn' read, 'error' set): set 'severity' without reading it first", 'tests/flips.sql', 1],
    ]);
  });

  it('never make a cycle: tests each way between two models and a singular test reading both', () => {
    const a = run({
      'models/claims.sql': 'select 1 as claim_id, 1 as policy_id',
      'models/policies.sql': 'select 1 as policy_id, 1 as claim_id',
      'models/schema.yml': `version: 2
models:
  - name: claims
    columns:
      - name: policy_id
        data_tests:
          - relationships: {to: ref('policies'), field: policy_id}
  - name: policies
    columns:
      - name: claim_id
        data_tests:
          - relationships: {to: ref('claims'), field: claim_id}
`,
      'tests/both.sql': "select * from {{ ref('claims') }} c join {{ ref('policies') }} p using (policy_id) where false",
    });
    expect(problems(a)).toEqual([]);
    // All three run with the one built last; it waits for the other.
    const last = (a.nodes.get('claims') as ModelNode).upstream.includes('policies') ? 'claims' : 'policies';
    const first = last === 'claims' ? 'policies' : 'claims';
    expect(checksOf(a, last).map((c) => c.name).sort()).toHaveLength(3);
    expect(checksOf(a, first)).toEqual([]);
    expect((a.nodes.get(first) as ModelNode).upstream).toEqual([]);
  });

  it('that read no model run with no node but on their own, and are nodes of the graph', () => {
    const a = run({ 'models/orders.sql': ORDERS, 'tests/lonely.sql': 'select 1 as x where false' });
    expect(problems(a)).toEqual([]);
    expect(a.diagnostics).toEqual([]);
    expect(a.freeTests.map((c) => [c.name, c.location.file])).toEqual([['lonely', 'tests/lonely.sql']]);
    // Run with no node, but a node of dbt's graph, as packages that list the tests find it.
    expect(checksOf(a, 'orders')).toEqual([]);
    expect(a.renderer.resultNode('test.shop.lonely')).toMatchObject({ name: 'lonely', resource_type: 'test', path: 'lonely.sql', depends_on: { nodes: [] } });
  });

  it('that read a model the project does not have are left out with a warning at the ref(), as dbt does, the project built', () => {
    const a = run({
      'models/orders.sql': ORDERS,
      'tests/missing.sql': "select * from {{ ref('orders') }} where false\nunion all\nselect * from {{ ref('not_a_model') }} where false",
      // A ref() of a loop's variable: the warning has the line all the same.
      'tests/looped.sql': "{% for m in ['orders', 'ordrs'] %}\nselect * from {{ ref(m) }} where false\n{% if not loop.last %}union all{% endif %}\n{% endfor %}",
    });
    expect(problems(a)).toEqual([]);
    expect(a.diagnostics.map((d) => [d.severity, d.code, d.message, `${d.location?.file}:${d.location?.line}`, d.hint])).toEqual([
      ['warning', 'unknown-ref', "test looped is left out: it reads ref('ordrs'), and no model or seed is named 'ordrs'", 'tests/looped.sql:2', "did you mean 'orders'?"],
      ['warning', 'unknown-ref', "test missing is left out: it reads ref('not_a_model'), and no model or seed is named 'not_a_model'", 'tests/missing.sql:3', undefined],
    ]);
    expect(checksOf(a, 'orders')).toEqual([]);
  });

  it("may read a source too; one that reads only sources runs with the source's tests, as one of an ephemeral model over sources does", () => {
    const a = run({
      'models/orders.sql': ORDERS,
      'models/sources.yml': 'version: 2\nsources:\n  - name: crm\n    tables:\n      - name: customers\n',
      'tests/known_customers.sql': "select * from {{ ref('orders') }} where customer_id not in (select id from {{ source('crm', 'customers') }})",
      'tests/raw_only.sql': "select * from {{ source('crm', 'customers') }} where id is null",
      'models/stg_customers.sql': "{{ config(materialized='ephemeral') }}\nselect id as customer_id from {{ source('crm', 'customers') }}",
      'models/constant.sql': "{{ config(materialized='ephemeral') }}\nselect 1 as id",
      'models/schema.yml': 'version: 2\nmodels:\n  - name: stg_customers\n    columns:\n      - name: customer_id\n        data_tests: [unique]\n  - name: constant\n    columns:\n      - name: id\n        data_tests: [not_null]\n',
    });
    expect(check(a, 'orders', 'known_customers').sql).toContain(`from ${refToken('crm.customers')}`);
    expect(a.sourceChecks.get('crm.customers')?.map((c) => c.name)).toEqual(['unique_stg_customers_customer_id', 'raw_only']);
    expect(problems(a)).toEqual([]);
    // A test of an ephemeral model that reads no node, and that nothing reads, runs on its own.
    expect(a.freeTests.map((c) => [c.name, c.location.line])).toEqual([['not_null_constant_id', 10]]);
  });

  it("of an ephemeral model run with each model that reads it, not with one of its inputs, whose rows may be right", () => {
    const a = run({
      'models/a.sql': 'select 1 as id',
      'models/c.sql': "select 1 as id, date '2024-01-01' as created_at",
      'models/e.sql': "{{ config(materialized='ephemeral') }}\nselect a.id, c.created_at from {{ ref('a') }} as a left join {{ ref('c') }} as c on a.id = c.id",
      'models/e2.sql': "{{ config(materialized='ephemeral') }}\nselect * from {{ ref('e') }}",
      'models/f.sql': "select * from {{ ref('e') }}",
      'models/h.sql': "select * from {{ ref('e2') }}",
      'models/g.sql': "select * from {{ ref('c') }}",
      'models/lone.sql': "{{ config(materialized='ephemeral') }}\nselect 1 as id",
      'models/reads_lone.sql': "select * from {{ ref('lone') }}",
      'models/schema.yml': 'version: 2\nmodels:\n  - name: e\n    columns:\n      - name: created_at\n        data_tests: [not_null]\n  - name: lone\n    columns:\n      - name: id\n        data_tests: [not_null]\n',
    });
    expect(problems(a)).toEqual([]);
    // f reads e, h reads it through e2: each runs the test before it publishes; a, c and g run none.
    for (const n of ['f', 'h']) expect(checksOf(a, n).map((c) => c.name)).toEqual(['not_null_e_created_at']);
    for (const n of ['a', 'c', 'g']) expect(checksOf(a, n)).toEqual([]);
    expect(checksOf(a, 'reads_lone').map((c) => c.name)).toEqual(['not_null_lone_id']);
    expect(a.graph.upstream.get('c')).toEqual([]);
  });

  it('that read a model switched off are left out with a warning', () => {
    const a = run({ 'models/orders.sql': '{{ config(enabled=false) }}\nselect 1 as x', 'tests/t.sql': "select * from {{ ref('orders') }}" });
    expect(problems(a)).toEqual([]);
    expect(a.diagnostics.map((d) => [d.severity, d.code])).toContainEqual(['warning', 'disabled-ref']);
  });
});

describe('mistakes', () => {
  const mistakes = (schema: string, files: Record<string, string> = {}) =>
    problems(run({ 'models/orders.sql': ORDERS, 'models/customers.sql': 'select 1 as id', 'models/schema.yml': schema, ...files }));
  const on = (test: string) => testsOn('order_id', test);

  it('an unknown test, with the tests there are, or one of a package', () => {
    expect(mistakes(on('          - uniqe\n          - dbt_utils.expression_is_true: {expression: "x > 0"}\n'))).toEqual([
      ['unknown-test', "unknown test 'uniqe': neither a test built into dbt nor a {% test %} of the project", 'models/schema.yml', 7],
      ['unknown-test', "test dbt_utils.expression_is_true comes from the package 'dbt_utils', which is not installed", 'models/schema.yml', 8],
    ]);
    const a = run({ 'models/orders.sql': ORDERS, 'models/schema.yml': on('          - postive\n'), 'macros/tests.sql': '{% test positive(model, column_name) %}select 1{% endtest %}' });
    expect(a.diagnostics.find((d) => d.code === 'unknown-test')?.hint).toBe("did you mean 'positive'?");
  });

  it('a bad config value, at the test', () => {
    expect(mistakes(on('          - unique: {config: {severity: fatal, limit: -1, error_if: 10}}\n'))).toEqual([
      ['bad-test-config', 'test unique_orders_order_id: severity must be error or warn, got "fatal"', 'models/schema.yml', 7],
      ['bad-test-config', 'test unique_orders_order_id: limit must be a whole number of rows, got -1', 'models/schema.yml', 7],
      ['bad-test-config', 'test unique_orders_order_id: error_if must be text, e.g. "> 10", got 10', 'models/schema.yml', 7],
    ]);
  });

  it('an argument a test does not take, or one it needs', () => {
    expect(
      mistakes(on('          - unique: {values: [a]}\n          - accepted_values: {quote: false}\n')),
    ).toEqual([
      ['bad-test', "test unique_orders_order_id__a: unique takes no argument 'values'", 'models/schema.yml', 7],
      ['bad-test', "test accepted_values_orders_order_id__False: accepted_values needs the argument 'values'", 'models/schema.yml', 8],
    ]);
    // A node the project has not leaves the test out, with a warning and the name meant, as in dbt: the rest runs.
    const a = run({ 'models/orders.sql': ORDERS, 'models/customers.sql': 'select 1 as id', 'models/schema.yml': on('          - relationships: {to: ref("customer"), field: id}\n') });
    expect(a.diagnostics.map((d) => [d.severity, d.code, d.message, d.location?.line, d.hint])).toEqual([
      ['warning', 'unknown-ref', "test relationships_orders_order_id__id__ref_customer_ is left out: ref('customer'): no model or seed is named 'customer'", 7, "did you mean 'customers'?"],
    ]);
    expect(checksOf(a, 'orders')).toEqual([]);
  });

  it('an error rendering a test definition points at its line and at the test', () => {
    const a = run({
      'models/orders.sql': ORDERS,
      'models/schema.yml': on('          - positive\n'),
      'tests/generic/positive.sql': '{% test positive(model, column_name) %}\nselect *\nfrom {{ model }} where {{ nothing.here }}\n{% endtest %}\n',
    });
    const d = a.diagnostics.find((x) => x.severity === 'error')!;
    expect([d.location?.file, d.location?.line, d.related?.at(-1)?.location]).toEqual(['tests/generic/positive.sql', 3, { file: 'models/schema.yml', line: 7 }]);
  });
});

describe('a package test used in several places', () => {
  it('is one error at its first use, with every other use', () => {
    const a = run({
      'models/orders.sql': ORDERS,
      'models/schema.yml': testsOn('amount', '          - dbt_expectations.expect_column_values_to_be_between: {min_value: 0}\n          - dbt_expectations.expect_column_values_to_be_between: {min_value: 1}\n'),
    });
    const found = a.diagnostics.filter((d) => d.code === 'unknown-test');
    expect(a.diagnostics.map((d) => d.code), JSON.stringify(a.diagnostics)).toContain('unknown-test');
    expect(found.map((d) => [d.message, d.location?.line, d.related?.map((r) => r.location.line)])).toEqual([
      ["test dbt_expectations.expect_column_values_to_be_between comes from the package 'dbt_expectations', which is not installed (2 uses in 1 file)", 7, [8]],
    ]);
  });
});
