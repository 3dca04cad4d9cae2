import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyExample, eventsOfType, execOn, explain, queryRows, removeTempDirs, snapshotTables, taskIdsOf, tempDir, writeProjectFiles, type PipeResult } from '../e2e/helpers.js';
import { runIn, testIn } from '../support/in-process.js';

afterAll(removeTempDirs);

/** A small project whose one table model is checked, with a var that breaks chosen rows. */
function checkedProject(checks: string): string {
  const dir = copyExample();
  writeProjectFiles(dir, {
    'models/marts/orders_checked.sql': `select order_id, customer_id, status, quantity,
  {% if var('break', 'none') == 'nulls' %}case when order_id % 50 = 0 then null else order_id end{% else %}order_id{% endif %} as ref_id,
  {% if var('break', 'none') == 'dupe' %}order_id % 400{% else %}order_id{% endif %} as key,
  {% if var('break', 'none') == 'status' %}case when order_id % 100 = 0 then 'lost' else status end{% else %}status{% endif %} as state,
  {% if var('break', 'none') == 'orphan' %}customer_id + 1000{% else %}customer_id{% endif %} as cust,
  {% if var('break', 'none') == 'negative' %}-quantity{% else %}quantity{% endif %} as qty
from {{ ref('stg_orders') }}
{% if var('break', 'none') == 'empty' %}where false{% endif %}`,
    'models/marts/orders_checked.yaml': checks,
    'models/marts/after_checked.sql': "select count(*) as n from {{ ref('orders_checked') }}",
  });
  return dir;
}

const ALL_CHECKS = `checks:
  not_null: [ref_id]
  unique: [key]
  accepted_values: {state: [placed, shipped, returned]}
  relationships: {cust: stg_customers.customer_id}
  row_count: {min: 1, max: 100000}
  expression: ["qty >= 1"]
  query: ["select * from {{ this }} where key <> order_id"]
`;

/** The project with every check, run once for 2024-01-02 (where every check passes). */
let built: Promise<{ dir: string; run: PipeResult }> | undefined;
function builtOnce(): Promise<{ dir: string; run: PipeResult }> {
  built ??= (async () => {
    const dir = checkedProject(ALL_CHECKS);
    return { dir, run: await runIn(dir, { date: '2024-01-02' }) };
  })();
  return built;
}

/** A copy of the built project, warehouse included, whose checked model has `checks`. */
async function builtCopy(checks = ALL_CHECKS): Promise<string> {
  const { dir, run } = await builtOnce();
  expect(run.code, run.stdout + run.stderr).toBe(0);
  const copy = tempDir();
  cpSync(dir, copy, { recursive: true });
  writeProjectFiles(copy, { 'models/marts/orders_checked.yaml': checks });
  return copy;
}

describe('checks guard publication', () => {
  const cases: [string, string][] = [
    ['nulls', 'not_null(ref_id)'],
    ['dupe', 'unique(key)'],
    ['status', 'accepted_values(state)'],
    ['orphan', 'relationships(cust → stg_customers.customer_id)'],
    ['empty', 'row_count(min 1, max 100000)'],
    ['negative', 'expression(qty >= 1)'],
  ];

  it('every check kind passes on good data', async () => {
    const { run: r } = await builtOnce();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(eventsOfType(r.events, 'check-failed')).toEqual([]);
  });

  it("a macro of the warehouse named like DuckDB's count is refused before the run: the checks' counts would be the macro's", async () => {
    const dir = await builtCopy();
    await execOn(join(dir, 'warehouse.duckdb'), 'CREATE MACRO main.count(x) AS 0');
    const before = await snapshotTables(join(dir, 'warehouse.duckdb'), ['main.orders_checked']);
    // Every row's key broken: with count() answering 0, the unique check would pass.
    const r = await runIn(dir, { date: '2024-01-03', vars: { break: 'dupe' } });
    expect(r.code, explain(r)).toBe(2);
    expect(r.stdout).not.toContain('START');
    expect(r.stderr).toContain('the macro "warehouse"."main"."count" in the warehouse has the name of DuckDB\'s own function count');
    expect(r.stderr).toContain('hint: give the macro another name: DROP MACRO "warehouse"."main"."count"');
    expect(await snapshotTables(join(dir, 'warehouse.duckdb'), ['main.orders_checked'])).toEqual(before);
  });

  for (const [breakage, check] of cases) {
    it(`a failing ${check} keeps the published table identical and skips downstream`, async () => {
      const dir = await builtCopy(ALL_CHECKS.replace(/  query: .*\n/, ''));
      const db = join(dir, 'warehouse.duckdb');
      const before = await snapshotTables(db, ['orders_checked', 'after_checked']);

      // The checked table and what reads it: the rest of the shop is built and plays no part.
      const r = await runIn(dir, { date: '2024-01-03', vars: { break: breakage }, select: ['orders_checked+'] });
      expect(r.code).toBe(1);
      const failures = eventsOfType(r.events, 'check-failed').map((e) => e.failure as { check: string; severity: string; failingRows: number; sample: unknown[]; location: { file: string; line: number } });
      const failure = failures.find((f) => f.check === check)!;
      expect(failure, JSON.stringify(failures)).toBeDefined();
      expect(failure.severity).toBe('error');
      expect(failure.failingRows).toBeGreaterThan(0);
      expect(failure.sample.length).toBeGreaterThan(0);
      expect(failure.sample.length).toBeLessThanOrEqual(5);
      expect(failure.location.file).toBe('models/marts/orders_checked.yaml');
      expect(failure.location.line).toBeGreaterThan(1);
      expect(taskIdsOf(r.events, 'task-skipped')).toContain('after_checked@2024-01-03');
      expect(await snapshotTables(db, ['orders_checked', 'after_checked'])).toEqual(before);
      const recorded = await queryRows(db, `SELECT status, failing_rows FROM _pipe.check_results WHERE check_name = '${check.replaceAll("'", "''")}' AND status = 'failed'`);
      expect(recorded).toHaveLength(1);
      expect(Number(recorded[0].failing_rows)).toBe(failure.failingRows);
    });
  }

  it('a failing query check, with {{ this }} as the staged data', async () => {
    const dir = checkedProject(ALL_CHECKS);
    const r = await runIn(dir, { date: '2024-01-02', vars: { break: 'dupe' }, select: ['+orders_checked'] });
    expect(r.code).toBe(1);
    const checks = eventsOfType(r.events, 'check-failed').map((e) => (e.failure as { check: string }).check);
    expect(checks).toContain('query(select * from {{ this }} where key <> order_id)');
    expect(checks).toContain('unique(key)');
  });

  it('a check ending in a -- comment still runs', async () => {
    const dir = checkedProject(`checks:
  expression: ["qty >= 1 -- no returns here"]
  query: ["select * from {{ this }} where key <> order_id -- keys are order ids"]
`);
    const ok = await runIn(dir, { date: '2024-01-02', select: ['+orders_checked'] });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const bad = await runIn(dir, { date: '2024-01-02', vars: { break: 'negative' }, select: ['orders_checked'] });
    expect(bad.code).toBe(1);
    const checks = eventsOfType(bad.events, 'check-failed').map((e) => (e.failure as { check: string }).check);
    expect(checks).toEqual(['expression(qty >= 1 -- no returns here)']);
  });

  it('an expression naming a column the model lacks is refused before anything runs, at the check, on a first run too', async () => {
    const dir = checkedProject(`checks:
  expression: ["no_such_column > 0"]
`);
    const r = await runIn(dir, { date: '2024-01-02', select: ['+orders_checked'] });
    expect(r.code, explain(r)).toBe(2);
    expect(r.stderr).toMatch(/models\/[^\s]*orders_checked\.yaml:2: error: check expression\(no_such_column > 0\) names column 'no_such_column', which orders_checked does not produce/);
    expect(r.stderr).not.toContain('Binder Error');
    expect(eventsOfType(r.events, 'task-started')).toEqual([]);
  });

  it('a check names the columns a query naming two alike gives its table (id, id_1), not the query alone', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'pipe.yaml': 'name: alike\n',
      'models/m.sql': 'select 1 as id, null as id',
      'models/m.yaml': 'checks:\n  not_null: [id_1]\n',
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(1);
    expect(eventsOfType(r.events, 'check-failed').map((e) => e.failure)).toMatchObject([{ check: 'not_null(id_1)', failingRows: 1 }]);
  });

  it('on a first run, a check on a model reading one of another schema (schema config) is refused before anything runs', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'pipe.yaml': 'name: schemas\n',
      'models/up.sql': "{{ config(materialized='table', schema='analytics') }}\nselect 1 as id, 'a' as name",
      'models/down.sql': "{{ config(materialized='table') }}\nselect id, name from {{ ref('up') }}",
      'models/down.yaml': 'checks:\n  not_null: [nme]\n',
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(2);
    expect(r.stderr).toMatch(/models\/down\.yaml:2: error: check not_null\(nme\) names column 'nme', which down does not produce/);
    expect(eventsOfType(r.events, 'task-started')).toEqual([]);
    // The stand-in's schema went with the rolled-back transaction: a right check builds both.
    writeProjectFiles(dir, { 'models/down.yaml': 'checks:\n  not_null: [name]\n' });
    const ok = await runIn(dir, { date: '2024-01-02' });
    expect(ok.code, explain(ok)).toBe(0);
    expect(await queryRows(join(dir, 'warehouse.duckdb'), 'select * from analytics.up')).toEqual([{ id: 1, name: 'a' }]);
  });

  it('Jinja in an expression check is one refusal at the check, saying only query: checks are templates', async () => {
    const dir = checkedProject(`checks:
  expression: ["qty < {{ var('most', 10) }}"]
`);
    const r = await runIn(dir, { date: '2024-01-02', select: ['+orders_checked'] });
    expect(r.code, explain(r)).toBe(2);
    const refused = eventsOfType(r.events, 'diagnostic').map((e) => e.diagnostic as { code: string; message: string; hint?: string; location: { file: string; line: number } });
    expect(refused.map((d) => [d.code, d.location.line])).toEqual([['bad-check', 2]]);
    expect(refused[0].message).toContain('write it as a query check, which renders as a model does');
    expect(eventsOfType(r.events, 'task-started')).toEqual([]);
  });

  it('a check may read an ephemeral model: it is inlined as in a model', async () => {
    const dir = checkedProject(`checks:
  relationships: {key: order_lines.order_id}
  query: ["select * from {{ this }} t where not exists (select 1 from {{ ref('order_lines') }} l where l.order_id = t.order_id)"]
`);
    const ok = await runIn(dir, { date: '2024-01-02', select: ['+orders_checked'] });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const bad = await runIn(dir, { date: '2024-01-02', vars: { break: 'dupe' }, select: ['orders_checked'] });
    expect(bad.code, bad.stdout + bad.stderr).toBe(1);
    const checks = eventsOfType(bad.events, 'check-failed').map((e) => (e.failure as { check: string }).check);
    expect(checks).toContain('relationships(key → order_lines.order_id)');
  });

  it('a warning publishes and reports', async () => {
    const dir = checkedProject(`checks:
  warn:
    row_count: {min: 1000000}
`);
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const warned = eventsOfType(r.events, 'check-failed').map((e) => e.failure as { check: string; severity: string });
    expect(warned).toEqual([expect.objectContaining({ check: 'row_count(min 1000000)', severity: 'warn' })]);
    const rows = await queryRows(join(dir, 'warehouse.duckdb'), 'SELECT count(*) AS n FROM orders_checked');
    expect(Number(rows[0].n)).toBe(497);
  });

  it('checks an incremental model on its staged partition, or the whole table with scope: table', async () => {
    const dir = copyExample();
    writeProjectFiles(dir, {
      'models/marts/day_orders.sql': `{{ config(materialized='incremental', partition_by='order_date') }}
select order_id, order_date from {{ ref('stg_orders') }} where order_date = '{{ ds }}'`,
      'models/marts/day_orders.yaml': `checks:
  row_count: {max: 10}
  unique:
    columns: [order_date]
    scope: partition
`,
    });
    // unique(order_date) fails on every day's partition (several orders a day) while
    // row_count(max 10) passes on each partition.
    for (const d of ['2024-01-02', '2024-01-03', '2024-01-04']) {
      const r = await runIn(dir, { date: d, select: ['+day_orders'] });
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stdout).toContain('unique(order_date)');
    }
    writeProjectFiles(dir, {
      'models/marts/day_orders.yaml': `checks:
  row_count: {max: 10, scope: table}
`,
    });
    const ok = await runIn(dir, { date: '2024-01-02', select: ['day_orders'] });
    expect(ok.code, ok.stdout).toBe(0);
    const grow = await runIn(dir, { date: '2024-01-03', select: ['day_orders'] });
    expect(grow.code).toBe(1);
    expect(eventsOfType(grow.events, 'check-failed').map((e) => (e.failure as { check: string }).check)).toEqual(['row_count(max 10)']);
    // The count it found, wherever the failure is said: its line, the task's error and history.
    const rows = (eventsOfType(grow.events, 'check-failed')[0].failure as { rowCount: number }).rowCount;
    expect(rows).toBeGreaterThan(10);
    expect(String((eventsOfType(grow.events, 'task-failed')[0].error as { message: string }).message)).toContain(`check row_count(max 10) failed: ${rows} rows (models/marts/day_orders.yaml:2)`);
    expect(grow.stdout).not.toContain('failing row');
  });

  it("a relationships check of a model's own rows (manager_id to id) reads the rows it checks, and is no cycle", async () => {
    const dir = tempDir();
    const staff = (rows: string) => `{{ config(materialized='table') }}\nselect * from (values ${rows}) t(id, manager_id)\n`;
    writeProjectFiles(dir, { 'pipe.yaml': 'name: staff\n', 'models/staff.sql': staff('(1, null), (2, 1), (3, 9)'), 'models/staff.yaml': 'checks:\n  relationships: {manager_id: staff.id}\n' });
    const bad = await runIn(dir, { date: '2024-01-02' });
    expect(bad.code, explain(bad)).toBe(1);
    expect(eventsOfType(bad.events, 'check-failed').map((e) => (e.failure as { check: string; failingRows: number }).failingRows)).toEqual([1]);
    writeProjectFiles(dir, { 'models/staff.sql': staff('(1, null), (2, 1), (3, 1)') });
    const good = await runIn(dir, { date: '2024-01-02' });
    expect(good.code, explain(good)).toBe(0);
    writeProjectFiles(dir, { 'models/staff.yaml': 'checks:\n  relationships: {manager_id: staff.idd}\n' });
    const typo = await runIn(dir, { date: '2024-01-02' });
    expect(typo.code, explain(typo)).toBe(2);
    expect(typo.stderr).toContain("names column 'idd', which staff does not produce");
  });

  it('an unknown column or model in a check is an error before anything runs', async () => {
    const dir = checkedProject(`checks:
  not_null: [ref_idd]
`);
    const first = await runIn(dir, { date: '2024-01-02', exclude: ['orders_checked+'] });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(2);
    const d = eventsOfType(r.events, 'diagnostic').map((e) => e.diagnostic as { code: string; message: string; location: { file: string; line: number }; hint: string });
    expect(d).toEqual([
      expect.objectContaining({
        code: 'unknown-column',
        location: { file: 'models/marts/orders_checked.yaml', line: 2 },
        hint: "did you mean 'ref_id'?",
      }),
    ]);
    expect(eventsOfType(r.events, 'task-started')).toEqual([]);

    writeProjectFiles(dir, { 'models/marts/orders_checked.yaml': 'checks:\n  relationships: {cust: stg_customer.customer_id}\n' });
    const m = await runIn(dir, { date: '2024-01-02' });
    expect(m.code).toBe(2);
    expect(m.stderr).toContain("models/marts/orders_checked.yaml:2: error: relationships(cust): no model or seed is named 'stg_customer'");
    expect(m.stderr).toContain("did you mean 'stg_customers'?");
  });
});

describe('mistakes in checks', () => {
  it('an entry of accepted_values or relationships is reported at its own line', async () => {
    const dir = copyExample();
    writeProjectFiles(dir, {
      'models/marts/orders_checked.sql': "select 1 as order_id, 1 as customer_id, 'placed' as status, 'placed' as kind\n",
      'models/marts/orders_checked.yaml': 'checks:\n  accepted_values:\n    status: [placed]\n    kind: placed\n  relationships:\n    order_id: fct_orders.order_id\n    customer_id: stg_custmers.customer_id\n',
    });
    const r = await runIn(dir, { date: '2024-01-02', dryRun: true });
    expect(r.code).toBe(2);
    const found = eventsOfType(r.events, 'diagnostic').map((e) => e.diagnostic as { message: string; location?: { line?: number }; hint?: string });
    expect(found.map((d) => [d.location?.line, d.message, d.hint])).toEqual([
      [4, 'accepted_values: kind: expected a list of values', undefined],
      [7, "relationships(customer_id): no model or seed is named 'stg_custmers'", "did you mean 'stg_customers'?"],
    ]);
  });
});

describe('pipe test', () => {
  it('runs checks against published tables without building', async () => {
    const dir = await builtCopy();
    const db = join(dir, 'warehouse.duckdb');
    const before = await snapshotTables(db, ['orders_checked', 'fct_orders']);
    const ok = await testIn(dir, { date: '2024-01-02' });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(taskIdsOf(ok.events, 'task-succeeded').sort()).toEqual([
      'daily_revenue@2024-01-02', 'dim_customers@2024-01-02', 'fct_orders@2024-01-02', 'orders_checked@2024-01-02',
    ]);
    expect(await snapshotTables(db, ['orders_checked', 'fct_orders'])).toEqual(before);

    // A tighter check on the published data fails pipe test, which still changes nothing.
    writeProjectFiles(dir, { 'models/marts/orders_checked.yaml': 'checks:\n  row_count: {max: 10}\n' });
    const bad = await testIn(dir, { select: ['orders_checked'] });
    expect(bad.code).toBe(1);
    expect(eventsOfType(bad.events, 'check-failed')).toHaveLength(1);
    expect(await snapshotTables(db, ['orders_checked', 'fct_orders'])).toEqual(before);
  });

  it('warns when a date tested has no rows of a model kept by date: its checks read nothing', async () => {
    const dir = await builtCopy();
    const built = await testIn(dir, { date: '2024-01-02', select: ['fct_orders'] });
    expect(built.code, built.stderr).toBe(0);
    expect(eventsOfType(built.events, 'check-failed')).toEqual([]);
    const never = await testIn(dir, { date: '2023-06-01', select: ['fct_orders'] });
    expect(never.code, never.stderr).toBe(0);
    const [warned] = eventsOfType(never.events, 'check-failed');
    expect(warned).toMatchObject({ failure: { check: 'rows of 2023-06-01', severity: 'warn', failingRows: 1 } });
    expect(never.stdout).toContain('fct_orders has no rows of 2023-06-01: never built for that date, or built empty; its checks read nothing');
  });

  it('says when the latest build of a model it tests failed and was not published: its checks read the earlier build', async () => {
    const dir = await builtCopy();
    const failed = await runIn(dir, { date: '2024-01-03', select: ['orders_checked'], vars: { break: 'dupe' } });
    expect(failed.code).toBe(1);
    const r = await testIn(dir, { date: '2024-01-03', select: ['orders_checked', 'fct_orders'] });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const runs = eventsOfType(failed.events, 'run-started')[0].runId;
    const notices = eventsOfType(r.events, 'notice').map((e) => e.message).filter((m) => m.includes('not published'));
    expect(notices).toEqual([
      expect.stringMatching(new RegExp(`^the latest build of orders_checked \\(run ${runs}; published by run \\S+\\) failed and was not published: the checks here read what an earlier build published \\(pipe status says why the build failed\\)$`)),
    ]);
    // Built again, its checks read its latest build: nothing to say.
    expect((await runIn(dir, { date: '2024-01-03', select: ['orders_checked'] })).code).toBe(0);
    const again = await testIn(dir, { date: '2024-01-03', select: ['orders_checked'] });
    expect(eventsOfType(again.events, 'notice').filter((e) => e.message.includes('not published'))).toEqual([]);
  });

  it('with no check selected, has nothing to do: it says so, records no run and makes no warehouse', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, { 'models/plain.sql': 'select 1 as id\n' });
    const r = await testIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('nothing to test: no selected model, seed or source has checks, dbt tests or unit tests');
    expect(r.events.filter((e) => e.type === 'run-started')).toEqual([]);
    expect(existsSync(join(dir, 'warehouse.duckdb'))).toBe(false);
  });

  it('a model not built yet fails its own test task, and the others run, as in dbt', async () => {
    const dir = copyExample();
    expect((await runIn(dir, { date: '2024-01-02', select: ['+fct_orders'] })).code).toBe(0);
    const r = await testIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    expect(taskIdsOf(r.events, 'task-succeeded')).toEqual(['fct_orders@2024-01-02']);
    expect(taskIdsOf(r.events, 'task-failed').sort()).toEqual(['daily_revenue@2024-01-02', 'dim_customers@2024-01-02']);
    expect(r.stdout).toContain(`dim_customers is not built yet, so its 5 checks cannot run: pipe run --select +dim_customers --project ${dir} builds it and what it reads, publishing it once its checks pass`);
    expect(r.stdout).toContain('at models/marts/dim_customers.sql');
    // The command it names sees the project as this one did: its --vars too.
    const withVars = await testIn(dir, { date: '2024-01-02', vars: { region: 'eu' } });
    expect(withVars.stdout).toContain(`pipe run --select +dim_customers --project ${dir} --vars '{"region":"eu"}' builds it`);
  });

  it('a model whose every build failed, none published, is said as the failed build, with its run', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, { 'pipe.yaml': 'name: shop\n', 'models/m.sql': "{{ config(materialized='table') }}\nselect null as id", 'models/m.yaml': 'checks:\n  not_null: [id]\n' });
    const built = await runIn(dir, { date: '2024-01-02' });
    expect(built.code).toBe(1);
    const runId = String(built.events.find((e) => e.type === 'run-started')?.runId);
    const r = await testIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`m has no table for its check: its build in run ${runId} failed and published nothing (check not_null(id) failed`);
    expect(r.stdout).toContain(`pipe history ${runId} says why, and a build publishes it once its checks pass`);
    expect(r.stdout).not.toContain('not built yet');
    // A model kept by date whose first build failed: the same.
    writeProjectFiles(dir, { 'models/m.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect null as id, '{{ ds }}'::DATE as d" });
    const dated = await runIn(dir, { date: '2024-01-03' });
    expect(dated.code).toBe(1);
    const datedRun = String(dated.events.find((e) => e.type === 'run-started')?.runId);
    const t = await testIn(dir, { date: '2024-01-03' });
    expect(t.stdout).toContain(`m has no table for its check: its build in run ${datedRun} failed and published nothing`);
  });
});

describe("a value of a view's query that fails as a check reads it", () => {
  it("is the view's error, at its line, not the check's: the view's query is what a cast fails in", async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'pipe.yaml': 'name: shop\n',
      'seeds/raw.csv': 'id,flag\n1,yes\n2,maybe\n',
      'models/v.sql': "{{ config(materialized='view') }}\nselect\n  id,\n  flag::boolean as flag\nfrom {{ ref('raw') }}\n",
      'models/v.yaml': 'checks:\n  not_null: [flag]\n',
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    const [failed] = eventsOfType(r.events, 'task-failed');
    const error = failed.error as { message: string; location?: { file: string; line?: number } };
    expect(error.message).toMatch(/^Conversion Error: Could not convert string 'maybe' to BOOL/);
    expect(error.location).toEqual({ file: 'models/v.sql', line: 4 });
  });

  it("a column the view's query names that its input lacks is the view's error too, also under a test of the whole model; a check's own mistake stays the check's", async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'dbt_project.yml': 'name: shop\nprofile: shop\n',
      'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: shop.duckdb}\n',
      'models/v.sql': "{{ config(materialized='view') }}\nselect 1 as amount,\n  nosuchcol as b\n",
      'tests/generic/is_pos.sql': '{% test is_pos(model, expr) %}\nselect 1 from {{ model }} where not ({{ expr }})\n{% endtest %}\n',
      'models/schema.yml': 'version: 2\nmodels:\n  - name: v\n    data_tests:\n      - is_pos:\n          arguments: {expr: "amount >= 0"}\n',
    });
    const r = await runIn(dir, { date: '2024-01-02', profilesDir: dir });
    expect(r.code).toBe(1);
    const error = eventsOfType(r.events, 'task-failed')[0].error as { message: string; location?: { file: string; line?: number } };
    expect(error.message).toMatch(/^Binder Error: Referenced column "nosuchcol" was not found/);
    expect(error.location).toEqual({ file: 'models/v.sql', line: 3 });
    // The view is fine, the test names a column it lacks: the test's error, at its line.
    writeProjectFiles(dir, { 'models/v.sql': "{{ config(materialized='view') }}\nselect 1 as amount\n", 'models/schema.yml': 'version: 2\nmodels:\n  - name: v\n    data_tests:\n      - is_pos:\n          arguments: {expr: "nosuch >= 0"}\n' });
    const again = await runIn(dir, { date: '2024-01-02', profilesDir: dir });
    expect(again.code).toBe(1);
    const theirs = eventsOfType(again.events, 'task-failed')[0].error as { message: string; location?: { file: string; line?: number } };
    expect(theirs.message).toMatch(/^test is_pos_v_nosuch_0 could not run: Binder Error/);
    expect(theirs.location).toMatchObject({ file: 'models/schema.yml', line: 5 });
  });
});
