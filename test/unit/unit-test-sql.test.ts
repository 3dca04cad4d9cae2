import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/analyze/dbt/unit-tests.js';
import { unitTestQuery, type Describer, type UnitTestStep } from '../../src/plan/strategies/unit-test.js';

/** The query of a dbt unit test, written from the columns the warehouse gives (here, given). */

const describer = (relations: Record<string, { name: string; type: string }[]>, query: { name: string; type: string }[]): Describer => ({
  relation: async (r) => relations[r] ?? [],
  query: async () => query,
});

const STEP: UnitTestStep = {
  name: 'totals',
  model: 'totals',
  location: { file: 'models/unit.yml', line: 3 },
  sql: 'select customer_id, sum(amount) as total from "__in__orders" group by 1',
  inputs: [
    {
      cte: '__in__orders',
      relation: '"main"."orders"',
      label: "ref('orders')",
      rows: { kind: 'rows', columns: ['customer_id', 'amount'], rows: [[1, '10.5'], [null, 2]] },
      location: { file: 'models/unit.yml', line: 6 },
    },
  ],
  expect: { kind: 'rows', columns: ['total'], rows: [[12.5]] },
};

const ORDERS = { '"main"."orders"': [{ name: 'order_id', type: 'INTEGER' }, { name: 'customer_id', type: 'INTEGER' }, { name: 'amount', type: 'DECIMAL(10,2)' }] };

describe('unit test query', () => {
  it('casts each given value to its column type, fills the columns not given with NULL, and compares on the expected columns both ways', async () => {
    const q = await unitTestQuery(STEP, describer(ORDERS, [{ name: 'customer_id', type: 'INTEGER' }, { name: 'total', type: 'DECIMAL(38,2)' }]));
    expect(q).toEqual({
      sql: `with "__pipe_actual" as (
with "__in__orders" as (
select CAST(NULL AS INTEGER) AS "order_id", CAST(1 AS INTEGER) AS "customer_id", CAST('10.5' AS DECIMAL(10,2)) AS "amount"
union all
select CAST(NULL AS INTEGER) AS "order_id", CAST(NULL AS INTEGER) AS "customer_id", CAST(2 AS DECIMAL(10,2)) AS "amount"
)
select customer_id, sum(amount) as total from "__in__orders" group by 1
), "__pipe_expected" as (
select CAST(12.5 AS DECIMAL(38,2)) AS "total"
)
select * from (
  (select '+++' as "@@", * from (select "total" from "__pipe_actual" except all select "total" from "__pipe_expected"))
  union all
  (select '---' as "@@", * from (select "total" from "__pipe_expected" except all select "total" from "__pipe_actual"))
) order by all`,
    });
  });

  it('an input with no rows is the relation of its columns with none', async () => {
    const empty = { ...STEP, inputs: [{ ...STEP.inputs[0], rows: { kind: 'rows' as const, columns: [], rows: [] } }] };
    const q = await unitTestQuery(empty, describer(ORDERS, [{ name: 'total', type: 'DOUBLE' }]));
    expect('sql' in q && q.sql).toContain('select CAST(NULL AS INTEGER) AS "order_id", CAST(NULL AS INTEGER) AS "customer_id", CAST(NULL AS DECIMAL(10,2)) AS "amount" limit 0');
  });

  it('names what is wrong at its place: an input not built, a column it lacks, an expected column the model lacks', async () => {
    expect(await unitTestQuery(STEP, describer({}, []))).toMatchObject({ location: { line: 6 }, error: expect.stringContaining('which is not built') });
    const typo = { ...STEP, inputs: [{ ...STEP.inputs[0], rows: { kind: 'rows' as const, columns: ['amout'], rows: [[1]] } }] };
    expect(await unitTestQuery(typo, describer(ORDERS, []))).toEqual({
      error: "unit test totals: ref('orders') has no column 'amout' (its columns: order_id, customer_id, amount)",
      location: { file: 'models/unit.yml', line: 6 },
    });
    expect(await unitTestQuery(STEP, describer(ORDERS, [{ name: 'customer_id', type: 'INTEGER' }]))).toEqual({
      error: "unit test totals: expects a column 'total', which totals does not give (its columns: customer_id)",
      location: { file: 'models/unit.yml', line: 3 },
    });
  });
});

describe('CSV rows', () => {
  it('reads a header and text values, quoted ones with commas and quotes; an empty value is NULL', () => {
    expect(parseCsv('id,name\n1,"Lee, Ann"\n2,"say ""hi"""\n3,\n')).toEqual({
      kind: 'rows',
      columns: ['id', 'name'],
      rows: [
        ['1', 'Lee, Ann'],
        ['2', 'say "hi"'],
        ['3', null],
      ],
    });
    expect(parseCsv('id,name\n1\n')).toEqual({ error: 'CSV line 2 has 1 values for 2 columns (id, name)' });
  });
});
