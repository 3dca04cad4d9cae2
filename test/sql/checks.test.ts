import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/analyze/analyze.js';
import { dayInterval, parseDate } from '../../src/dates/dates.js';
import type { PipeEvent } from '../../src/events/events.js';
import { execute } from '../../src/execute/executor.js';
import { planRun, planTest } from '../../src/plan/plan.js';
import { preflightCheckColumns } from '../../src/commands/preflight.js';
import type { CheckStep, Step, Task } from '../../src/plan/task.js';
import { loadProject } from '../../src/project/load-project.js';
import { readCatalog, type RelationType } from '../../src/warehouse/run-state.js';
import { expectSql, failureOf, renderSteps, TestWarehouse } from './helpers.js';

/**
 * Data checks: the SQL planned for each check kind (against expected files), the failing rows
 * each returns on DuckDB, and what the executor does with them.
 */

let w: TestWarehouse;
const roots: string[] = [];
beforeAll(async () => {
  w = await TestWarehouse.open('pipe-sql-checks-');
});
afterAll(() => {
  w?.close();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const day = dayInterval(parseDate('2024-01-02')!);

const ORDERS_YAML = `checks:
  not_null: [order_id, customer_id]
  unique: [order_id, [order_id, customer_id]]
  accepted_values: {status: [placed, shipped, returned]}
  relationships: {customer_id: customers.customer_id}
  row_count: {min: 1, max: 3}
  expression: ["amount >= 0"]
  query: ["select * from {{ this }} where status = 'placed' and '{{ ds }}' = '2024-01-02'"]
  warn:
    row_count: {min: 100}
`;

/** Orders breaking every check once: a NULL customer, a duplicate id, an unknown status and customer, a negative amount. */
const BAD_ORDERS = `select * from (values
  (1, 10, 'placed', 5.0),
  (2, 10, 'shipped', 7.0),
  (2, 11, 'returned', 1.0),
  (3, NULL, 'lost', -1.0),
  (4, 99, 'placed', 3.0)
) v(order_id, customer_id, status, amount)`;

const GOOD_ORDERS = `select * from (values
  (7, 10, 'shipped', 5.0),
  (8, 11, 'returned', 7.0)
) v(order_id, customer_id, status, amount)`;

function project(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'pipe-sql-checks-project-'));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

function plan(files: Record<string, string>, catalog: ReadonlyMap<string, RelationType>, interval = day): Map<string, Task> {
  const analysis = analyze(loadProject(project(files)), { interval, existingRelations: new Set(catalog.keys()) });
  expect(analysis.diagnostics).toEqual([]);
  const p = planRun(
    { analysis, selected: new Set(analysis.graph.nodes), catalog, seedHashes: new Map(), fullRefresh: false, runId: 'r' },
    interval,
  );
  expect(p.diagnostics).toEqual([]);
  return new Map(p.tasks.map((t) => [t.node, t]));
}

const shop = (ordersSql: string) => ({
  'models/customers.sql': 'select * from (values (10), (11)) v(customer_id)',
  'models/orders.sql': ordersSql,
  'models/orders.yaml': ORDERS_YAML,
});

async function run(tasks: readonly Task[], runId: string) {
  const events: PipeEvent[] = [];
  const result = await execute({ engine: w.warehouse.engine, runId, tasks, threads: 1, emit: (e) => events.push(e) });
  return { result, events };
}

const checkSteps = (t: Task) => allChecks(t.steps);

/** A task's checks, those its publishing transaction runs included. */
const allChecks = (steps: readonly Step[]): CheckStep[] => steps.flatMap((s) => (s.kind === 'check' ? [s] : s.kind === 'publish' ? [...allChecks(s.inside ?? []), ...(s.checks ?? [])] : []));

describe('check SQL', () => {
  it('plans the columns step on the query, and one query per check on the table as its publishing transaction writes it', () => {
    const tasks = plan(shop(BAD_ORDERS), new Map([['"main"."customers"', 'table']]));
    expectSql('checks-table', renderSteps(tasks.get('orders')!.steps));
  });

  it('checks a view model on its query', () => {
    const tasks = plan(
      {
        'models/v.sql': "{{ config(materialized='view') }}\nselect 1 as id",
        'models/v.yaml': 'checks:\n  not_null: [id]\n  row_count: {min: 1}\n',
      },
      new Map(),
    );
    expectSql('checks-view', renderSteps(tasks.get('v')!.steps));
  });

  it('checks an incremental model on the new partition, and on the whole table with scope: table', () => {
    const files = {
      'models/inc.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect '{{ ds }}'::DATE as d, 1 as id",
      'models/inc.yaml': 'checks:\n  unique: {columns: [id], scope: table}\n  not_null: [id]\n  row_count: {max: 10, scope: table}\n',
    };
    expectSql('checks-incremental', renderSteps(plan(files, new Map([['"main"."inc"', 'table']])).get('inc')!.steps));
  });
});

describe('check templates', () => {
  it('reports a query check that does not render at its YAML line, before anything runs', () => {
    const files = {
      'models/m.sql': 'select 1 as id',
      'models/m.yaml': "description: m\nchecks:\n  not_null: [id]\n  query: [\"select * from {{ this }} where d = '{{ dss }}'\"]\n",
    };
    const analysis = analyze(loadProject(project(files)), { interval: day });
    expect(analysis.diagnostics).toEqual([]);
    const p = planRun({ analysis, selected: new Set(analysis.graph.nodes), catalog: new Map(), seedHashes: new Map(), fullRefresh: false, runId: 'r' }, day);
    expect(p.diagnostics.map((d) => [d.code, d.message, d.location])).toEqual([
      [
        'template-render',
        "check query(select * from {{ this }} where d = '{{ dss }}'): 'dss' is undefined (or null) in template output",
        { file: 'models/m.yaml', line: 4 },
      ],
    ]);
  });
});

describe('check SQL of pipe test', () => {
  it('checks the published partition of an incremental model, and the whole table with scope: table', () => {
    const files = {
      'models/inc.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect '{{ ds }}'::DATE as d, 1 as id",
      'models/inc.yaml': 'checks:\n  unique: {columns: [id], scope: table}\n  not_null: [id]\n',
    };
    const analysis = analyze(loadProject(project(files)), { interval: day });
    const catalog = new Map<string, RelationType>([['"main"."inc"', 'table']]);
    const p = planTest({ analysis, selected: new Set(analysis.graph.nodes), catalog, seedHashes: new Map(), fullRefresh: false, runId: 't' }, day);
    expect(p.diagnostics).toEqual([]);
    expectSql('checks-pipe-test', renderSteps(p.tasks[0].steps));
  });
});

describe('checks on DuckDB', () => {
  it('each check returns exactly its failing rows', async () => {
    await run([plan(shop(GOOD_ORDERS), new Map()).get('customers')!], 'checks-setup');
    const task = plan(shop(BAD_ORDERS), await readCatalog(w.session)).get('orders')!;
    const publish = task.steps.find((s) => s.kind === 'publish');
    if (publish?.kind !== 'publish') throw new Error('no publishing step');
    // The checks read the table as its publishing transaction leaves it, before the commit.
    await w.exec('BEGIN TRANSACTION');
    for (const sql of publish.statements) await w.exec(sql);
    const failing: Record<string, unknown> = {};
    for (const c of checkSteps(task)) failing[`${c.severity} ${c.name}`] = await w.query(`${c.sql} ORDER BY ALL`);
    await w.exec('ROLLBACK');
    expect(failing).toEqual({
      'error not_null(order_id)': [],
      'error not_null(customer_id)': [{ order_id: 3, customer_id: null, status: 'lost', amount: '-1.0' }],
      'error unique(order_id)': [{ order_id: 2, duplicates: '2' }],
      'error unique(order_id, customer_id)': [],
      'error accepted_values(status)': [{ status: 'lost', rows: '1' }],
      'error relationships(customer_id → customers.customer_id)': [{ order_id: 4, customer_id: 99, status: 'placed', amount: '3.0' }],
      'error row_count(min 1, max 3)': [{ row_count: '5' }],
      'error expression(amount >= 0)': [{ order_id: 3, customer_id: null, status: 'lost', amount: '-1.0' }],
      "error query(select * from {{ this }} where status = 'placed' and '{{ ds }}' = '2024-01-02')": [
        { order_id: 1, customer_id: 10, status: 'placed', amount: '5.0' },
        { order_id: 4, customer_id: 99, status: 'placed', amount: '3.0' },
      ],
      'warn row_count(min 100)': [{ row_count: '5' }],
    });
  });

  it('blocks publication on failing checks, reporting every one, and keeps the published table', async () => {
    const good = plan(shop(GOOD_ORDERS), await readCatalog(w.session)).get('orders')!;
    const first = await run([good], 'checks-good');
    expect(first.result.status).toBe('succeeded');
    // Only the warning failed: reported, not blocking.
    expect(first.events.filter((e) => e.type === 'check-failed').map((e) => e.type === 'check-failed' && [e.failure.check, e.failure.severity, e.failure.rowCount])).toEqual([
      // A row_count check says the count it found, which its one failing row holds.
      ['row_count(min 100)', 'warn', 2],
    ]);
    const published = await w.query('select * from orders order by order_id');
    expect(published).toHaveLength(2);

    const bad = plan(shop(BAD_ORDERS), await readCatalog(w.session)).get('orders')!;
    const second = await run([bad], 'checks-bad');
    expect(second.result.status).toBe('failed');
    const { error } = failureOf(second.events);
    expect(error.kind).toBe('Check');
    expect(error.checks!.map((c) => [c.check, c.failingRows])).toEqual([
      ['not_null(customer_id)', 1],
      ['unique(order_id)', 1],
      ['accepted_values(status)', 1],
      ['relationships(customer_id → customers.customer_id)', 1],
      ['row_count(min 1, max 3)', 1],
      ['expression(amount >= 0)', 1],
      ["query(select * from {{ this }} where status = 'placed' and '{{ ds }}' = '2024-01-02')", 2],
    ]);
    // Each failure points at the YAML line declaring the check.
    expect(error.checks!.find((c) => c.check === 'unique(order_id)')!.location).toEqual({ file: 'models/orders.yaml', line: 3 });
    expect(await w.query('select * from orders order by order_id')).toEqual(published);
    expect([...(await w.relations()).keys()].filter((k) => k.includes('__pipe_stage__'))).toEqual([]);

    const recorded = await w.query(
      "select check_name, severity, status, failing_rows from _pipe.check_results where run_id = 'checks-bad' order by check_name",
    );
    expect(recorded.filter((r) => r.status === 'passed').map((r) => r.check_name)).toEqual(['not_null(order_id)', 'unique(order_id, customer_id)']);
    expect(recorded.find((r) => r.severity === 'warn')).toMatchObject({ status: 'warned', failing_rows: '1', check_name: 'row_count(min 100)' });
  });

  it('checks a table in its publishing transaction, written from its query with no staging table beside it', async () => {
    const files = (ids: string) => ({
      'models/stock.sql': `select * from (values ${ids}) v(id)`,
      // The second check fails while any staging relation stands in the warehouse.
      'models/stock.yaml': "checks:\n  not_null: [id]\n  query: [\"select table_name from duckdb_tables() where table_name like '__pipe_stage__%'\"]\n",
    });
    const first = await run([plan(files('(1), (2)'), await readCatalog(w.session)).get('stock')!], 'stock-good');
    expect(first.result.status).toBe('succeeded');
    expect(first.events.find((e) => e.type === 'task-succeeded')).toMatchObject({ rows: 2 });
    expect(first.events.filter((e) => e.type === 'check-failed')).toEqual([]);

    const bad = await run([plan(files('(3), (NULL)'), await readCatalog(w.session)).get('stock')!], 'stock-bad');
    expect(bad.result.status).toBe('failed');
    expect(failureOf(bad.events).error.checks!.map((c) => [c.check, c.failingRows])).toEqual([['not_null(id)', 1]]);
    // Rolled back: the old rows stand, and nothing else was written.
    expect(await w.query('select id from stock order by id')).toEqual([{ id: 1 }, { id: 2 }]);
    expect([...(await w.relations()).keys()].filter((k) => k.includes('stock'))).toEqual(['"main"."stock"']);
    // The checks' results are kept, though the transaction they ran in was rolled back.
    expect(await w.query("select check_name, status from _pipe.check_results where run_id = 'stock-bad' order by check_name")).toEqual([
      { check_name: 'not_null(id)', status: 'failed' },
      { check_name: expect.stringMatching(/^query\(/), status: 'passed' },
    ]);
  });

  it('fails before publishing when a check names a column the model does not produce', async () => {
    const tasks = plan(
      { 'models/cols.sql': 'select 1 as id', 'models/cols.yaml': 'checks:\n  not_null: [idd]\n' },
      await readCatalog(w.session),
    );
    const r = await run([tasks.get('cols')!], 'checks-columns');
    expect(r.result.status).toBe('failed');
    expect(failureOf(r.events).error.message).toBe("check not_null(idd) names column 'idd', which cols does not produce; did you mean 'id'? (columns: id)");
    expect((await w.relations()).has('"main"."cols"')).toBe(false);
  });

  it('checks an incremental partition alone by default and the whole table with scope: table', async () => {
    const files = (dup: boolean) => ({
      'models/inc.sql': `{{ config(materialized='incremental', partition_by='d') }}\nselect '{{ ds }}'::DATE as d, ${dup ? 1 : "{{ ds_nodash }}"} as id`,
      'models/inc.yaml': `checks:\n  unique: {columns: [id], scope: ${dup ? 'table' : 'partition'}}\n`,
    });
    const d1 = dayInterval(parseDate('2024-01-01')!);
    for (const d of [d1, day]) {
      const t = plan(files(false), await readCatalog(w.session), d).get('inc')!;
      expect((await run([t], `inc-${t.ds}`)).result.status).toBe('succeeded');
    }
    // Re-running 2024-01-01 with id 1 is unique in its partition...
    await w.exec("update inc set id = 1 where d = '2024-01-02'");
    const partitionOnly = plan({ ...files(true), 'models/inc.yaml': 'checks:\n  unique: [id]\n' }, await readCatalog(w.session), d1).get('inc')!;
    expect((await run([partitionOnly], 'inc-partition')).result.status).toBe('succeeded');
    // ...but not in the table as it would be after publishing.
    const tableWide = plan(files(true), await readCatalog(w.session), d1).get('inc')!;
    const r = await run([tableWide], 'inc-table');
    expect(r.result.status).toBe('failed');
    expect(failureOf(r.events).error.checks!.map((c) => c.check)).toEqual(['unique(id)']);
    // Replacing the same partition is not a duplicate of itself.
    await w.exec("update inc set id = 2 where d = '2024-01-02'");
    expect((await run([plan(files(true), await readCatalog(w.session), d1).get('inc')!], 'inc-table-2')).result.status).toBe('succeeded');
  });

  it('pipe test checks the published data and writes nothing', async () => {
    const analysis = analyze(loadProject(project(shop(GOOD_ORDERS))), { interval: day });
    const catalog = await readCatalog(w.session);
    const p = planTest({ analysis, selected: new Set(analysis.graph.nodes), catalog, seedHashes: new Map(), fullRefresh: false, runId: 't' }, day);
    expect(p.diagnostics).toEqual([]);
    const test = p.tasks.find((t) => t.node === 'orders')!;
    expect(checkSteps(test).every((s) => s.sql.includes('"main"."orders"'))).toBe(true);
    const before = await w.query('select * from orders order by order_id');
    await w.exec('insert into orders values (9, NULL, \'shipped\', 1.0)');
    const r = await run([test], 'checks-test');
    expect(r.result.status).toBe('failed');
    expect(failureOf(r.events).error.checks!.map((c) => c.check)).toEqual(['not_null(customer_id)']);
    await w.exec('delete from orders where order_id = 9');
    expect(await w.query('select * from orders order by order_id')).toEqual(before);
  });
  it('finds check columns a model does not produce before anything runs, binding without executing', async () => {
    const tasks = plan(
      {
        'models/early.sql': "select 1 as id, 'x' as name, error('never executed') as boom",
        'models/early.yaml': 'checks:\n  not_null: [id, nme]\n  unique: [idd]\n',
        // Reads a model that is not built yet: bound with early's query standing in for its table.
        'models/later.sql': "select * from {{ ref('early') }}",
        'models/later.yaml': 'checks:\n  not_null: [whatever]\n',
      },
      await readCatalog(w.session),
    );
    const problems = await preflightCheckColumns(w.session, [...tasks.values()]);
    expect(problems.map((d) => [d.code, d.message, d.location, d.hint])).toEqual([
      ['unknown-column', "check not_null(nme) names column 'nme', which early does not produce", { file: 'models/early.yaml', line: 2 }, "did you mean 'name'?"],
      ['unknown-column', "check unique(idd) names column 'idd', which early does not produce", { file: 'models/early.yaml', line: 3 }, "did you mean 'id'?"],
      ['unknown-column', "check not_null(whatever) names column 'whatever', which later does not produce", { file: 'models/later.yaml', line: 2 }, 'later produces: id, name, boom'],
    ]);
    expect((await w.relations()).has('"main"."early"')).toBe(false);
  });

  it('binds a query check that reads only the rows it checks before anything runs; one reading more is left to its run', async () => {
    const tasks = plan(
      {
        'models/q_other.sql': 'select 1 as id',
        // A table and a day's partition: the data checked is a table, then a query of the partition.
        'models/q_table.sql': "{{ config(materialized='table') }}\nselect 1 as id, 2 as amount",
        'models/q_table.yaml': [
          'checks:',
          '  query:',
          '    - "select * from {{ this }} where shipped_at < amount"',
          // Bound with the model's query in the table's place, this one does not parse: left to its run, where it runs.
          '    - "select {{ this }}.id from {{ this }} where {{ this }}.id < 0"',
          '    - "select count(*) as n from {{ this }} having n > 10"',
          // Reads another model: what that one has when this runs is not known before.
          "    - \"select * from {{ this }} t where t.nosuch not in (select id from {{ ref('q_other') }})\"",
        ].join('\n'),
        'models/q_part.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect 1 as id, date '{{ ds }}' as d",
        'models/q_part.yaml': 'checks:\n  query: ["select * from {{ this }} where idd is null"]\n',
      },
      await readCatalog(w.session),
    );
    const problems = await preflightCheckColumns(w.session, [...tasks.values()]);
    expect(problems.map((d) => [d.code, d.message, d.location, d.hint])).toEqual([
      ['unknown-column', "check query(select * from {{ this }} where idd is null) names column 'idd', which q_part does not produce", { file: 'models/q_part.yaml', line: 2 }, "did you mean 'id'?"],
      ['unknown-column', "check query(select * from {{ this }} where shipped_at < amount) names column 'shipped_at', which q_table does not produce", { file: 'models/q_table.yaml', line: 2 }, 'q_table produces: id, amount'],
    ]);
    // The checks bound before are run as they were: the one qualifying columns by the table passes.
    const table = tasks.get('q_table')!;
    const kept = { ...table, steps: table.steps.map((s) => (s.kind === 'publish' ? { ...s, checks: s.checks?.filter((c) => !c.name.includes('shipped_at') && !c.name.includes('nosuch')) } : s)) };
    const r = await run([kept], 'query-checks-kept');
    expect(r.result.status).toBe('succeeded');
  });

  it('binds what reads a model the run builds first against that model, before anything runs, writing nothing', async () => {
    const tasks = [
      ...plan(
        {
          'models/first.sql': "select 1 as id, 'x' as name",
          'models/second.sql': "select * from {{ ref('first') }}",
          'models/second.yaml': 'checks:\n  not_null: [id, nosuch]\n  expression: ["nme <> \'\'"]\n  relationships: {id: first.idd}\n',
          'models/keyed.sql': "{{ config(materialized='incremental', unique_key='key', incremental_strategy='merge') }}\nselect * from {{ ref('second') }}",
        },
        await readCatalog(w.session),
      ).values(),
    ];
    const problems = await preflightCheckColumns(w.session, tasks);
    expect(problems.map((d) => [d.message, d.location, d.hint])).toEqual([
      ["check not_null(nosuch) names column 'nosuch', which second does not produce", { file: 'models/second.yaml', line: 2 }, 'second produces: id, name'],
      ["check relationships(id → first.idd) names column 'idd', which first does not have", { file: 'models/second.yaml', line: 4 }, "did you mean 'id'?"],
      ["check expression(nme <> '') names column 'nme', which second does not produce", { file: 'models/second.yaml', line: 3 }, "did you mean 'name'?"],
      ["unique_key names column 'key', which keyed does not produce", { file: 'models/keyed.sql', line: 1, column: 39 }, 'keyed produces: id, name'],
    ]);
    // Nothing was written, and the session reads the catalog as it was.
    for (const r of ['"main"."first"', '"main"."second"', '"main"."keyed"']) expect((await w.relations()).has(r)).toBe(false);
    await expect(w.session.query('select * from "main"."first"')).rejects.toThrow(/does not exist/);
  });

  it('fails a task at the line that names a column its rows lack, not in the words of pipe\'s own SQL', async () => {
    const tasks = plan(
      {
        'models/parent.sql': 'select 1 as id',
        'models/child.sql': 'select 1 as id, 2 as amount',
        'models/child.yaml': 'checks:\n  relationships: {id: parent.nocol}\n',
        'models/exprs.sql': 'select 1 as id, 2 as amount',
        'models/exprs.yaml': 'checks:\n  expression: ["amout > 0"]\n',
        'models/keyed2.sql': "{{ config(materialized='incremental', unique_key=['id', 'nokey'], incremental_strategy='delete+insert') }}\nselect 1 as id",
        // A query that does not bind, checked by column: the check's look at its columns binds it first.
        'models/broken.sql': "{{ config(materialized='table') }}\n\n-- a comment\nselect\n    nosuch,\n    id\nfrom {{ ref('parent') }}",
        'models/broken.yaml': 'checks:\n  not_null: [id]\n',
      },
      await readCatalog(w.session),
    );
    expect((await run([tasks.get('parent')!], 'cols-parent')).result.status).toBe('succeeded');
    const message = async (node: string) => {
      const r = await run([tasks.get(node)!], `cols-${node}`);
      expect(r.result.status).toBe('failed');
      const error = failureOf(r.events).error;
      return [error.message, error.location];
    };
    expect(await message('child')).toEqual([
      "check relationships(id → parent.nocol) names column 'nocol', which parent does not have (columns: id)",
      { file: 'models/child.yaml', line: 2 },
    ]);
    expect(await message('exprs')).toEqual([
      "check expression(amout > 0) names column 'amout', which exprs does not produce; did you mean 'amount'? (columns: id, amount)",
      { file: 'models/exprs.yaml', line: 2 },
    ]);
    expect(await message('keyed2')).toEqual(["unique_key names column 'nokey', which keyed2 does not produce (columns: id)", { file: 'models/keyed2.sql', line: 1, column: 39 }]);
    expect((await w.relations()).has('"main"."keyed2"')).toBe(false);
    const [brokenMessage, brokenAt] = await message('broken');
    expect(brokenAt).toEqual({ file: 'models/broken.sql', line: 5 });
    expect(brokenMessage).toMatch(/Referenced column "nosuch" not found[\s\S]*models\/broken\.sql:5:     nosuch,/);
  });
});
