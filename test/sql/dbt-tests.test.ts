import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, type ModelNode } from '../../src/analyze/analyze.js';
import { dayInterval, parseDate } from '../../src/dates/dates.js';
import { thresholdOutcome, truthy } from '../../src/execute/check-outcome.js';
import { thresholdSql } from '../../src/sql/test-threshold.js';
import { loadProject } from '../../src/project/load-project.js';
import { removeProjects, tempProject } from '../support/projects.js';
import { TestWarehouse } from './helpers.js';

/**
 * The built-in dbt tests on DuckDB: each test's query, as analysis writes it, run on tables
 * that hold what dbt's semantics turn on (NULLs, duplicates, values outside a list, orphans),
 * and judged by the one query dbt judges a test with.
 */

let w: TestWarehouse;
beforeAll(async () => {
  w = await TestWarehouse.open('pipe-sql-dbt-tests-');
  await w.exec(`create table main.orders as select * from (values
    (1, 10, 'placed', 5, 'a'),
    (2, 10, 'shipped', 7, 'b'),
    (2, 11, 'returned', 1, 'b'),
    (NULL, NULL, NULL, -1, 'c'),
    (NULL, 99, 'lost', 3, NULL),
    (3, 12, 'lost', 0, 'd')
  ) v(order_id, customer_id, status, amount, "Order Id")`);
  await w.exec('create table main.customers as select * from (values (10), (11), (12), (NULL)) v(id)');
});
afterAll(() => {
  w?.close();
  removeProjects();
});

const day = dayInterval(parseDate('2024-01-02')!);

/** The tests declared under `columns`, each judged on the tables above: its failures and verdict. */
async function judge(columns: string): Promise<Record<string, { failures: number; outcome: string }>> {
  const dir = tempProject({
    'dbt_project.yml': 'name: shop\nprofile: shop\n',
    'models/orders.sql': 'select 1 as order_id, 1 as customer_id, 1 as status, 1 as amount, 1 as "Order Id"',
    'models/customers.sql': 'select 1 as id',
    'models/schema.yml': `version: 2\nmodels:\n  - name: orders\n    columns:\n${columns}`,
  });
  const analysis = analyze(loadProject(dir), { interval: day });
  expect(analysis.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const out: Record<string, { failures: number; outcome: string }> = {};
  for (const node of ['orders', 'customers']) {
    for (const check of (analysis.nodes.get(node) as ModelNode).checks) {
      // Run on the tables themselves, as `pipe test` runs tests on published data.
      const sql = analysis.renderer.checkSql(node, check, day, '"main"."orders"');
      if (typeof sql !== 'string') throw new Error(sql.message);
      const [row] = await w.query(thresholdSql(sql, check.threshold!));
      out[check.name] = { failures: Number(row.failures), outcome: thresholdOutcome(check.severity, truthy(row.should_warn), truthy(row.should_error)) };
    }
  }
  return out;
}

describe('built-in dbt tests on DuckDB', () => {
  it('unique counts duplicated values, not rows, and ignores NULLs', async () => {
    const r = await judge(`      - name: order_id
        data_tests:
          - unique
          - unique: {name: records, config: {fail_calc: "sum(n_records)"}}
`);
    expect(r).toEqual({ unique_orders_order_id: { failures: 1, outcome: 'failed' }, records: { failures: 2, outcome: 'failed' } });
  });

  it('not_null counts NULL rows; where filters the rows tested, limit caps the failures', async () => {
    const r = await judge(`      - name: order_id
        data_tests:
          - not_null
          - not_null: {name: positive_amounts, config: {where: "amount > 0"}}
          - not_null: {name: capped, config: {limit: 1}}
`);
    expect(r).toEqual({
      not_null_orders_order_id: { failures: 2, outcome: 'failed' },
      positive_amounts: { failures: 1, outcome: 'failed' },
      capped: { failures: 1, outcome: 'failed' },
    });
  });

  it('accepted_values counts values outside the list, lets NULL pass, and leaves values bare with quote: false', async () => {
    const r = await judge(`      - name: status
        data_tests:
          - accepted_values: {values: [placed, shipped, returned]}
      - name: order_id
        data_tests:
          - accepted_values: {values: [1, 2], quote: false}
`);
    expect(r).toEqual({
      accepted_values_orders_status__placed__shipped__returned: { failures: 1, outcome: 'failed' },
      accepted_values_orders_order_id__False__1__2: { failures: 1, outcome: 'failed' },
    });
  });

  it('relationships counts children without a parent, NULL children passing', async () => {
    const r = await judge(`      - name: customer_id
        data_tests:
          - relationships: {to: ref('customers'), field: id}
`);
    // The check reads the orders table as the data checked and customers by its ref.
    expect(r).toEqual({ relationships_orders_customer_id__id__ref_customers_: { failures: 1, outcome: 'failed' } });
  });

  it('warn_if and error_if decide the verdict; severity warn only warns', async () => {
    const r = await judge(`      - name: order_id
        data_tests:
          - not_null: {name: under_both, config: {warn_if: ">5", error_if: ">10"}}
          - not_null: {name: warns, config: {warn_if: ">1", error_if: ">5"}}
          - not_null: {name: errors, config: {error_if: ">1"}}
          - not_null: {name: only_warns, config: {severity: warn, error_if: ">0"}}
`);
    expect(r).toEqual({
      under_both: { failures: 2, outcome: 'passed' },
      warns: { failures: 2, outcome: 'warned' },
      errors: { failures: 2, outcome: 'failed' },
      only_warns: { failures: 2, outcome: 'warned' },
    });
  });

  it('a column with quote: true is quoted, so a name with a space is tested', async () => {
    const r = await judge(`      - name: Order Id
        quote: true
        data_tests: [not_null, unique]
`);
    expect(r).toEqual({ not_null_orders__Order_Id_: { failures: 1, outcome: 'failed' }, unique_orders__Order_Id_: { failures: 1, outcome: 'failed' } });
  });
});
