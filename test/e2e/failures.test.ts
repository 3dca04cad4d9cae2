import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  copyExample,
  eventsOfType,
  explain,
  holdWarehouse,
  ordersOn,
  parseJsonLines,
  pipe,
  queryRows,
  removeTempDirs,
  runCount,
  RunningPipe,
  snapshotWarehouse,
  stagingTables,
  taskIdsOf,
  taskOf,
  warehouseOf,
  writeProjectFiles,
} from './helpers.js';

afterAll(removeTempDirs);

/** What a failing model, a killed or interrupted process, and a held warehouse leave behind. */

/**
 * A table model that can be made slow: `spin` rows are counted in a subquery before any row
 * is produced. On a 2-core machine, spin=1e9 takes about 4 s inside pipe; 3e9 leaves ample
 * time to interrupt the run while the model is still computing. `label` changes its rows, so
 * a publication of an interrupted build would show.
 */
const SLOW_MODEL = `{{ config(materialized='table') }}
select order_id, '{{ var("label", "first") }}' as label
from {{ ref('stg_orders') }}
where (select count(*) from range({{ var('spin', 0) }}) s(j) where j % 7 = 3) >= 0
`;
const SLOW_SPIN = '3000000000';

function slowProject(): string {
  const dir = copyExample();
  writeProjectFiles(dir, {
    'models/marts/slow_orders.sql': SLOW_MODEL,
    'models/marts/slow_orders_count.sql': "select count(*) as n, any_value(label) as label from {{ ref('slow_orders') }}\n",
  });
  return dir;
}

/**
 * A built slow project and a second run of it, started with a slow model and a new label and
 * caught once the slow model has started: what an interruption or a competing run meets.
 */
async function slowRunInFlight() {
  const dir = slowProject();
  const db = warehouseOf(dir);
  const first = pipe(['run', '--date', '2024-01-02', '--project', dir]);
  expect(first.code, explain(first)).toBe(0);
  const before = await snapshotWarehouse(db);
  const running = new RunningPipe(['run', '--date', '2024-01-02', '--var', `spin=${SLOW_SPIN}`, '--var', 'label=second', '--json', '--project', dir]);
  const started = await running.waitFor((e) => e.type === 'task-started' && taskOf(e).model === 'slow_orders');
  return { dir, db, before, running, started };
}

function runsJson(dir: string) {
  const r = pipe(['history', '--json', '--project', dir]);
  expect(r.code, explain(r)).toBe(0);
  return parseJsonLines(r.stdout).filter((e) => e.type === 'run');
}

function tasksJson(dir: string, runId: string) {
  const r = pipe(['history', runId, '--json', '--project', dir]);
  expect(r.code, explain(r)).toBe(0);
  return parseJsonLines(r.stdout).filter((e) => e.type === 'task');
}

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
select order_id, order_date, {% if var('break', false) %}status::INTEGER{% else %}quantity{% endif %} as code
from {{ ref('stg_orders') }} where order_date = '{{ ds }}'
`,
    });
    const db = warehouseOf(dir);
    const first = pipe(['run', '--date', '2024-01-02', '--project', dir]);
    expect(first.code, explain(first)).toBe(0);
    const before = await snapshotWarehouse(db);

    const r = pipe(['run', '--date', '2024-01-03', '--var', 'break=true', '--json', '--project', dir]);
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
    const text = pipe(['run', '--date', '2024-01-03', '--var', 'break=true', '--project', dir]);
    expect(text.code, explain(text)).toBe(1);
    expect(text.stdout).toContain('models/marts/order_status_codes.sql');
    expect(text.stdout).toContain('status_code_counts');
  });
});

describe('a seed that no longer loads', () => {
  it('keeps its published table and skips what reads it', async () => {
    const dir = copyExample();
    const db = warehouseOf(dir);
    const first = pipe(['run', '--date', '2024-01-02', '--project', dir]);
    expect(first.code, explain(first)).toBe(0);
    const before = await snapshotWarehouse(db);

    // raw_products.yaml types price_cents as INTEGER.
    appendFileSync(join(dir, 'seeds/raw_products.csv'), '99,"broken product",not-a-price\n');
    const r = pipe(['run', '--date', '2024-01-02', '--json', '--project', dir]);
    expect(r.code, explain(r)).toBe(1);
    expect(taskIdsOf(r.events, 'task-failed')).toEqual(['raw_products']);
    const skipped = eventsOfType(r.events, 'task-skipped').filter((e) => e.reason === 'upstream-failed').map((e) => taskOf(e).model);
    expect(skipped.sort()).toEqual(['daily_revenue', 'dim_customers', 'fct_orders', 'stg_products']);
    expect(await snapshotWarehouse(db)).toEqual(before);
  });
});

describe('an interrupted run', () => {
  it('kill -9 during a long model: published tables intact, the next run succeeds and clears staging, history says interrupted', async () => {
    const dir = slowProject();
    const db = warehouseOf(dir);
    const first = pipe(['run', '--date', '2024-01-02', '--project', dir]);
    expect(first.code, explain(first)).toBe(0);
    const before = await snapshotWarehouse(db);
    expect(before.slow_orders.length).toBeGreaterThan(0);

    const running = new RunningPipe([
      'run', '--date', '2024-01-02', '--var', `spin=${SLOW_SPIN}`, '--var', 'label=second', '--json', '--project', dir,
    ]);
    const started = await running.waitFor((e) => e.type === 'task-started' && taskOf(e).model === 'slow_orders');
    running.child.kill('SIGKILL');
    const killed = await running.exited;
    expect(killed.signal).toBe('SIGKILL');
    expect(eventsOfType(killed.events, 'task-succeeded').some((e) => taskOf(e).model === 'slow_orders')).toBe(false);
    const runId = started.runId as string;

    expect(await snapshotWarehouse(db)).toEqual(before);
    // Read-only, history already knows no process is running it.
    const listed = pipe(['history', '--project', dir]);
    expect(listed.code, explain(listed)).toBe(0);
    expect(listed.stdout.split('\n').find((l) => l.startsWith(runId))).toContain('interrupted');

    const next = pipe(['run', '--date', '2024-01-02', '--var', 'label=third', '--json', '--project', dir]);
    expect(next.code, explain(next)).toBe(0);
    expect(await stagingTables(db)).toEqual([]);
    const labels = await queryRows(db, 'SELECT DISTINCT label FROM slow_orders UNION ALL SELECT label FROM slow_orders_count');
    expect(labels).toEqual([{ label: 'third' }, { label: 'third' }]);

    const runs = runsJson(dir);
    expect(runs.find((x) => x.run_id === runId)).toMatchObject({ status: 'interrupted' });
    expect(runs.find((x) => x.run_id === next.events[0].runId)).toMatchObject({ status: 'succeeded' });
  });

  const stops: { name: string; signals: NodeJS.Signals[]; outcome: string }[] = [
    { name: 'SIGINT', signals: ['SIGINT'], outcome: 'its task recorded as cancelled' },
    { name: 'SIGTERM', signals: ['SIGTERM'], outcome: 'its task recorded as cancelled' },
    // The second Ctrl-C exits at once, maybe before the run is recorded as cancelled.
    { name: 'SIGINT twice', signals: ['SIGINT', 'SIGINT'], outcome: 'nothing recorded as built' },
  ];
  for (const stop of stops) {
    it(`${stop.name} during a long model: exit 130, every table unchanged, ${stop.outcome}`, async () => {
      const { dir, db, before, running, started } = await slowRunInFlight();
      for (const signal of stop.signals) running.child.kill(signal);
      const stopped = await running.exited;
      expect(stopped.code, explain(stopped)).toBe(130);
      const runId = started.runId as string;
      expect(eventsOfType(stopped.events, 'task-succeeded').some((e) => taskOf(e).model.startsWith('slow_orders'))).toBe(false);
      if (stop.signals.length === 1) {
        expect(taskIdsOf(stopped.events, 'task-cancelled')).toContain('slow_orders@2024-01-02');
        expect(eventsOfType(stopped.events, 'run-finished')[0]).toMatchObject({ status: 'cancelled' });
      }

      expect(await snapshotWarehouse(db)).toEqual(before);

      const tasks = tasksJson(dir, runId);
      expect(tasks.find((t) => t.task_id === 'slow_orders@2024-01-02')?.status).not.toBe('succeeded');
      expect(tasks.find((t) => t.task_id === 'slow_orders_count@2024-01-02')?.status).not.toBe('succeeded');
      if (stop.signals.length === 1) {
        expect(tasks.find((t) => t.task_id === 'slow_orders@2024-01-02')).toMatchObject({ status: 'cancelled' });
        expect(runsJson(dir).find((x) => x.run_id === runId)).toMatchObject({ status: 'cancelled' });
        const shown = pipe(['history', runId, '--project', dir]);
        expect(shown.stdout.split('\n').find((l) => l.startsWith('slow_orders@2024-01-02'))).toContain('cancelled');
      } else {
        expect(['cancelled', 'interrupted']).toContain(runsJson(dir).find((x) => x.run_id === runId)?.status);
      }

      const next = pipe(['run', '--date', '2024-01-02', '--project', dir]);
      expect(next.code, explain(next)).toBe(0);
      expect(await stagingTables(db)).toEqual([]);
    });
  }
});

describe('a warehouse held by another process', () => {
  it('exits 2 naming the file, without DuckDB\'s raw lock text, and changes nothing', async () => {
    const dir = copyExample();
    const db = warehouseOf(dir);
    const first = pipe(['run', '--date', '2024-01-02', '--project', dir]);
    expect(first.code, explain(first)).toBe(0);
    const before = await snapshotWarehouse(db);
    const runsBefore = await runCount(db);

    const holder = await holdWarehouse(db);
    try {
      const r = pipe(['run', '--date', '2024-01-03', '--wait', '0', '--project', dir]);
      expect(r.code, explain(r)).toBe(2);
      expect(r.stderr).toContain(db);
      expect(r.stdout + r.stderr).not.toContain('Conflicting lock');
      expect(r.stdout).not.toContain('START');

      const json = pipe(['run', '--date', '2024-01-03', '--wait', '0', '--json', '--project', dir]);
      expect(json.code, explain(json)).toBe(2);
      expect(eventsOfType(json.events, 'run-started')).toEqual([]);
      const messages = eventsOfType(json.events, 'diagnostic').map((e) => (e.diagnostic as { message: string }).message);
      expect(messages).toHaveLength(1);
      expect(messages[0]).toContain(db);
      expect(messages[0]).not.toContain('Conflicting lock');
    } finally {
      await holder.release();
    }
    expect(await snapshotWarehouse(db)).toEqual(before);
    expect(await runCount(db)).toBe(runsBefore);
  });

  it('a second pipe run while one is running names the running process and leaves the first undisturbed', async () => {
    const { dir, db, before, running } = await slowRunInFlight();
    const second = pipe(['run', '--date', '2024-01-03', '--wait', '0', '--project', dir]);
    running.child.kill('SIGINT');
    const stopped = await running.exited;

    expect(second.code, explain(second)).toBe(2);
    expect(second.stderr).toContain(db);
    expect(second.stderr).toContain(String(running.child.pid));
    expect(second.stderr).not.toContain('Conflicting lock');
    expect(stopped.code, explain(stopped)).toBe(130);
    expect(await snapshotWarehouse(db)).toEqual(before);
  });
});
