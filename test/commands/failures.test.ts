import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyExample, eventsOfType, execOn, explain, ordersOn, queryRows, removeTempDirs, snapshotWarehouse, taskIdsOf, taskOf, tempDir, warehouseOf, writeProjectFiles } from '../e2e/helpers.js';
import { historyIn, retryIn, runIn } from '../support/in-process.js';
import { firstLine } from '../../src/util/first-line.js';
import { builtExample } from '../support/built-example.js';

afterAll(removeTempDirs);

/**
 * What a model or seed failing at run time leaves behind, in-process. What an interrupted or
 * killed process, or a held warehouse, leaves behind is in test/e2e/failures.test.ts.
 */

describe('a model failing at run time', () => {
  it('keeps its published table, skips its downstream, builds independent models; exit 1', async () => {
    const dir = copyExample();
    writeProjectFiles(dir, {
      // Casting status (text) to INTEGER fails in DuckDB, only when the var is set.
      'models/marts/order_status_codes.sql': `{{ config(materialized='table') }}
select order_id, '{{ ds }}' as built_for,
    {% if var('break', false) %}status::INTEGER{% else %}quantity{% endif %} as code
from {{ ref('stg_orders') }}
`,
      'models/marts/status_code_counts.sql': "select code, count(*) as n from {{ ref('order_status_codes') }} group by code\n",
      'models/marts/daily_codes.sql': `{{ config(materialized='incremental', partition_by='order_date') }}
select order_id, order_date, {% if var('break', false) %}status::INTEGER{% else %}quantity::INTEGER{% endif %} as code
from {{ ref('stg_orders') }} where order_date = '{{ ds }}'
`,
    });
    const db = warehouseOf(dir);
    const first = await runIn(dir, { date: '2024-01-02' });
    expect(first.code, explain(first)).toBe(0);
    const before = await snapshotWarehouse(db);

    const r = await runIn(dir, { date: '2024-01-03', vars: { break: true } });
    expect(r.code, explain(r)).toBe(1);
    expect(taskIdsOf(r.events, 'task-failed')).toEqual(['daily_codes@2024-01-03', 'order_status_codes@2024-01-03']);
    for (const f of eventsOfType(r.events, 'task-failed')) {
      expect((f.error as { message: string; kind: string }).kind).toBe('Conversion');
      expect(taskOf(f).file).toMatch(/^models\/marts\/(order_status_codes|daily_codes)\.sql$/);
    }
    const skipped = eventsOfType(r.events, 'task-skipped').filter((e) => e.reason === 'upstream-failed');
    expect(skipped.map((e) => taskOf(e).id)).toEqual(['status_code_counts@2024-01-03']);
    expect(taskIdsOf(r.events, 'task-succeeded')).toEqual(
      expect.arrayContaining(['fct_orders@2024-01-03', 'daily_revenue@2024-01-03', 'dim_customers@2024-01-03']),
    );
    expect(eventsOfType(r.events, 'run-finished')[0]).toMatchObject({ status: 'failed', failed: 2, skipped: 1 });

    const after = await snapshotWarehouse(db);
    expect(after.order_status_codes).toEqual(before.order_status_codes);
    expect(after.status_code_counts).toEqual(before.status_code_counts);
    expect(after.daily_codes).toEqual(before.daily_codes);
    // The independent branch moved on to the new date.
    const days = await queryRows(db, 'SELECT order_date::VARCHAR AS d, count(*)::INTEGER AS n FROM fct_orders GROUP BY 1 ORDER BY 1');
    expect(days).toEqual(['2024-01-02', '2024-01-03'].map((d) => ({ d, n: ordersOn(d).length })));
    expect(after.dim_customers).not.toEqual(before.dim_customers);

    // The text output names the failing model's file and the skipped model.
    const text = await runIn(dir, { date: '2024-01-03', vars: { break: true } });
    expect(text.code, explain(text)).toBe(1);
    expect(text.stdout).toContain('models/marts/order_status_codes.sql');
    expect(text.stdout).toContain('status_code_counts');
  });
});

describe('a seed that no longer loads', () => {
  it('keeps its published table and skips what reads it', async () => {
    const { dir } = await builtExample();
    const db = warehouseOf(dir);
    const before = await snapshotWarehouse(db);

    // raw_products.yaml types price_cents as INTEGER.
    appendFileSync(join(dir, 'seeds/raw_products.csv'), '99,"broken product",not-a-price\n');
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(1);
    expect(taskIdsOf(r.events, 'task-failed')).toEqual(['raw_products']);
    const skipped = eventsOfType(r.events, 'task-skipped').filter((e) => e.reason === 'upstream-failed').map((e) => taskOf(e).model);
    expect(skipped.sort()).toEqual(['daily_revenue', 'dim_customers', 'fct_orders', 'stg_products']);
    expect(await snapshotWarehouse(db)).toEqual(before);
  });
});

describe('a cast failing in a view a model reads', () => {
  it("is not pinned on a line of the model that DuckDB named wrongly; a model's own failing cast keeps its line", async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'pipe.yaml': 'name: t\n',
      'models/stg.sql': "{{ config(materialized='table') }}\nselect '5/25/2008' as sale_time",
      'models/int_v.sql': "{{ config(materialized='view') }}\nselect cast(sale_time as date) as d from {{ ref('stg') }}",
      'models/fct.sql': "{{ config(materialized='table') }}\n\nwith a as (\n\n    select 1 as x\n\n),\n\nb as (\n    select * from {{ ref('int_v') }}\n)\n\nselect * from b\n",
      'models/own.sql': "{{ config(materialized='table') }}\nselect 1 as x,\n  cast(sale_time as date) as d\nfrom {{ ref('stg') }}\n",
      // The line DuckDB names reads the column, but casts nothing where it points.
      'models/filtered.sql': "{{ config(materialized='table') }}\nselect\n  d\nfrom {{ ref('int_w') }} where sale_time <> ''\n",
      'models/int_w.sql': "{{ config(materialized='view') }}\nselect cast(sale_time as date) as d, sale_time from {{ ref('stg') }}",
      'models/implicit.sql': "{{ config(materialized='table') }}\nselect 1 as x\nfrom {{ ref('stg') }}\nwhere sale_time = 5\n",
      // Through a view over the view that casts.
      'models/over_v.sql': "{{ config(materialized='view') }}\nselect d from {{ ref('int_v') }}",
      'models/deep.sql': "{{ config(materialized='table') }}\n\nwith a as (\n\n    select 1 as x\n\n),\n\nb as (\n    select * from {{ ref('over_v') }}\n)\n\nselect * from b\n",
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    const failed = new Map(eventsOfType(r.events, 'task-failed').map((e) => [taskOf(e).model, e.error as { message: string; location?: { file: string; line?: number } }]));
    // Which view: the one of those the query reads, directly or through another, that casts the column.
    expect(failed.get('fct')!.message).toContain('(DuckDB named a line of the query, but that line casts no column sale_time where DuckDB points: the error is of a view the query reads, directly or not: the view main.int_v casts sale_time)');
    expect(failed.get('fct')!.message).not.toContain('select 1 as x');
    expect(failed.get('fct')!.location?.line).toBeUndefined();
    expect(failed.get('own')!.location).toMatchObject({ file: 'models/own.sql', line: 3 });
    expect(failed.get('filtered')!.message).toContain('(DuckDB named a line of the query, but that line casts no column sale_time where DuckDB points: the error is of a view the query reads, directly or not: the view main.int_w casts sale_time)');
    expect(failed.get('filtered')!.location?.line).toBeUndefined();
    expect(failed.get('deep')?.message).toContain('the view main.int_v casts sale_time)');
    // An implicit cast of the model's own: DuckDB points at the column, and the line stands.
    expect(failed.get('implicit')!.location).toMatchObject({ file: 'models/implicit.sql', line: 4 });
  });
});

describe('an error whose message quotes a value with a line break', () => {
  it('is summed up on one line with the break written \\n, in the run summary and in pipe history', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, { 'pipe.yaml': 'name: t\n', 'models/bad.sql': "select cast('first' || chr(10) || 'second' as int) as bad" });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(1);
    const whole = "Could not convert string 'first\\nsecond' to INT32";
    expect(r.stdout).toContain(`  Conversion Error: ${whole}`);
    const runId = String(eventsOfType(r.events, 'run-started')[0].runId);
    expect((await historyIn(dir, { runId })).stdout).toContain(whole);
  });

  it('keeps the first line of a message whose quote is an apostrophe', () => {
    expect(firstLine("can't read it\nsecond line")).toBe("can't read it");
    expect(firstLine("check a failed: 1 failing row\ncheck b failed: 2 failing rows")).toBe('check a failed: 1 failing row');
    expect(firstLine("it 'a\nb\nc' ends\nmore")).toBe("it 'a\\nb\\nc' ends");
  });
});

describe('a run whose task outcomes could not all be recorded (a full disk)', () => {
  it('is recorded interrupted, said so, and pipe retry runs what has no outcome', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'pipe.yaml': 'name: t\n',
      'models/a.sql': "{{ config(materialized='table') }}\nselect x from main.src",
      'models/b.sql': "{{ config(materialized='table') }}\nselect x from {{ ref('a') }}",
    });
    // The outcome table refuses a skip's record, as a full disk refuses a write.
    await execOn(
      warehouseOf(dir),
      `CREATE SCHEMA _pipe; CREATE TABLE _pipe.task_outcomes (run_id VARCHAR, task_id VARCHAR, attempt INTEGER, status VARCHAR CHECK (status <> 'skipped'), started_at TIMESTAMP,
         ended_at TIMESTAMP, rows BIGINT, error VARCHAR, error_class VARCHAR, detail VARCHAR, worker INTEGER, runner VARCHAR)`,
    );
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(1);
    expect(r.stdout + r.stderr).toContain('some task outcomes could not be recorded (');
    const runId = String(eventsOfType(r.events, 'run-started')[0].runId);
    expect(eventsOfType(r.events, 'run-finished')[0]).toMatchObject({ status: 'interrupted' });
    expect((await historyIn(dir)).stdout.split('\n').find((l) => l.startsWith(runId))).toContain('interrupted');
    await execOn(warehouseOf(dir), 'ALTER TABLE _pipe.task_outcomes RENAME TO refusing; CREATE TABLE _pipe.task_outcomes AS SELECT * FROM _pipe.refusing; CREATE TABLE main.src AS SELECT 1 AS x');
    const retried = await retryIn(dir, { runId });
    expect(retried.code, explain(retried)).toBe(0);
    expect(taskIdsOf(retried.events, 'task-succeeded').sort()).toEqual(['a@2024-01-02', 'b@2024-01-02']);
  });
});

describe('a run state with a table of its own dropped', () => {
  it('is said to be so by what reads it, exit 2, and the next run makes the table again', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, { 'pipe.yaml': 'name: t\n', 'models/a.sql': "{{ config(materialized='table') }}\nselect 1 as x" });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    await execOn(warehouseOf(dir), 'DROP TABLE _pipe.planned_tasks CASCADE');
    const read = await historyIn(dir);
    expect(read.code, explain(read)).toBe(2);
    expect(read.stderr).toContain("pipe's run state in _pipe has no table planned_tasks");
    expect(read.stderr).not.toContain('internal error');
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    expect((await historyIn(dir)).code).toBe(0);
  });
});
