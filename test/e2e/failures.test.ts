import { cpSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  copyExample,
  eventsOfType,
  explain,
  holdWarehouse,
  killRunning,
  ModelGate,
  pipe,
  queryRows,
  removeTempDirs,
  runCount,
  RunningPipe,
  snapshotWarehouse,
  stagingTables,
  taskIdsOf,
  taskOf,
  tempDir,
  warehouseOf,
  writeProjectFiles,
} from './helpers.js';
import { cliIn } from '../support/cli-in-process.js';
import { historyIn, runIn } from '../support/in-process.js';

afterEach(killRunning);
afterAll(removeTempDirs);

/**
 * What a killed or interrupted process, and a held warehouse, leave behind. Only the process
 * under test is spawned; the runs before and after it, and the history read back, are
 * in-process. (A model or seed failing at run time: test/commands/failures.test.ts.)
 */

/**
 * A table model that can be held in the middle of its query: given `--var gate=PATH`, it
 * reads that FIFO (see ModelGate) before producing any row. `label` changes its rows, so a
 * publication of an interrupted build would show.
 */
const SLOW_MODEL = `{{ config(materialized='table') }}
select order_id, '{{ var("label", "first") }}' as label
from {{ ref('stg_orders') }}
{% if var('gate', '') %}where (select count(*) from read_csv('{{ var("gate") }}', columns={'line': 'VARCHAR'}, header=false, auto_detect=false)) >= 0{% endif %}
`;

/** The same held by `--var day_gate=PATH`, a model that replaces the partition of its date (dates as text, which DuckDB must read to tell apart). */
const SLOW_DAYS = `{{ config(materialized='incremental', partition_by='order_date') }}
select order_id, strftime(order_date, '%Y-%m-%d') as order_date from {{ ref('stg_orders') }}
where order_date = '{{ ds }}'
{% if var('day_gate', '') %}and (select count(*) from read_csv('{{ var("day_gate") }}', columns={'line': 'VARCHAR'}, header=false, auto_detect=false)) >= 0{% endif %}
`;

/** The example with the slow model, built once for 2024-01-02 (without a gate): each test runs on a copy. */
let built: string;

beforeAll(async () => {
  built = copyExample();
  writeProjectFiles(built, {
    'models/marts/slow_orders.sql': SLOW_MODEL,
    'models/marts/slow_orders_count.sql': "select count(*) as n, any_value(label) as label from {{ ref('slow_orders') }}\n",
    'models/marts/slow_days.sql': SLOW_DAYS,
  });
  const first = await runIn(built, { date: '2024-01-02' });
  expect(first.code, explain(first)).toBe(0);
});

/** A copy of the built slow project, with a gate of its own. */
function slowProject(): { dir: string; db: string; gate: ModelGate } {
  const dir = tempDir();
  cpSync(built, dir, { recursive: true });
  return { dir, db: warehouseOf(dir), gate: new ModelGate(dir) };
}

/** After the first Ctrl-C: pipe says it is stopping (its abort has been sent to every running query). */
const stopping = (e: { type: string; message?: unknown }) => e.type === 'notice' && String(e.message).startsWith('stopping');

/**
 * A copy of the built slow project and a second run of it, started with a slow model and a new label and
 * caught once the slow model has started: what an interruption or a competing run meets.
 */
async function slowRunInFlight() {
  const { dir, db, gate } = slowProject();
  const before = await snapshotWarehouse(db);
  const running = new RunningPipe(['run', '--date', '2024-01-02', '--var', `gate=${gate.path}`, '--var', 'label=second', '--json', '--project', dir]);
  const started = await running.waitFor((e) => e.type === 'task-started' && taskOf(e).model === 'slow_orders');
  return { dir, db, gate, before, running, started };
}

async function runsJson(dir: string) {
  const r = await historyIn(dir, { json: true });
  expect(r.code, explain(r)).toBe(0);
  return r.events.filter((e) => e.type === 'run');
}

async function tasksJson(dir: string, runId: string) {
  const r = await historyIn(dir, { runId, json: true });
  expect(r.code, explain(r)).toBe(0);
  return r.events.filter((e) => e.type === 'task');
}

describe('an interrupted run', () => {
  it('kill -9 during a long model: published tables intact, the next run succeeds and clears staging, history says interrupted', async () => {
    const { dir, db, gate } = slowProject();
    const before = await snapshotWarehouse(db);
    expect(before.slow_orders.length).toBeGreaterThan(0);

    const running = new RunningPipe([
      'run', '--date', '2024-01-02', '--var', `gate=${gate.path}`, '--var', 'label=second', '--json', '--project', dir,
    ]);
    const started = await running.waitFor((e) => e.type === 'task-started' && taskOf(e).model === 'slow_orders');
    running.child.kill('SIGKILL');
    const killed = await running.exited;
    expect(killed.signal).toBe('SIGKILL');
    expect(eventsOfType(killed.events, 'task-succeeded').some((e) => taskOf(e).model === 'slow_orders')).toBe(false);
    const runId = started.runId as string;

    expect(await snapshotWarehouse(db)).toEqual(before);
    // Read-only, history already knows no process is running it.
    const listed = await historyIn(dir);
    expect(listed.code, explain(listed)).toBe(0);
    expect(listed.stdout.split('\n').find((l) => l.startsWith(runId))).toContain('interrupted');

    const next = await runIn(dir, { date: '2024-01-02', vars: { label: 'third' } });
    expect(next.code, explain(next)).toBe(0);
    expect(await stagingTables(db)).toEqual([]);
    const labels = await queryRows(db, 'SELECT DISTINCT label FROM slow_orders UNION ALL SELECT label FROM slow_orders_count');
    expect(labels).toEqual([{ label: 'third' }, { label: 'third' }]);

    const runs = await runsJson(dir);
    expect(runs.find((x) => x.run_id === runId)).toMatchObject({ status: 'interrupted' });
    expect(runs.find((x) => x.run_id === next.events[0].runId)).toMatchObject({ status: 'succeeded' });
  });

  const stops: { name: string; signals: NodeJS.Signals[]; outcome: string }[] = [
    { name: 'SIGINT', signals: ['SIGINT'], outcome: 'its task recorded as cancelled' },
    { name: 'SIGTERM', signals: ['SIGTERM'], outcome: 'its task recorded as cancelled' },
    // The second Ctrl-C exits at once, by the signal, maybe before the run is recorded as cancelled.
    { name: 'SIGINT twice', signals: ['SIGINT', 'SIGINT'], outcome: 'nothing recorded as built' },
  ];
  for (const stop of stops) {
    it(`${stop.name} during a long model: ends (130), every table unchanged, ${stop.outcome}`, async () => {
      const { dir, db, gate, before, running, started } = await slowRunInFlight();
      // The model is held reading its gate, and the first signal is acknowledged.
      running.child.kill(stop.signals[0]);
      await running.waitFor(stopping);
      if (stop.signals.length === 1) {
        // The gate pours rows without end: only DuckDB's interrupt can stop the model.
        gate.flood();
      } else {
        // A second signal ends the process at once, by that signal (a shell reads 130), though
        // DuckDB is still held in the query: the gate stays shut.
        running.child.kill(stop.signals[1]);
      }
      const stopped = await running.exited;
      if (stop.signals.length === 1) expect(stopped.code, explain(stopped)).toBe(130);
      else expect(stopped.signal, explain(stopped)).toBe('SIGINT');
      const runId = started.runId as string;
      expect(eventsOfType(stopped.events, 'task-succeeded').some((e) => taskOf(e).model.startsWith('slow_orders'))).toBe(false);
      if (stop.signals.length === 1) {
        expect(taskIdsOf(stopped.events, 'task-cancelled')).toContain('slow_orders@2024-01-02');
        expect(eventsOfType(stopped.events, 'run-finished')[0]).toMatchObject({ status: 'cancelled' });
      }

      expect(await snapshotWarehouse(db)).toEqual(before);

      const tasks = await tasksJson(dir, runId);
      expect(tasks.find((t) => t.task_id === 'slow_orders@2024-01-02')?.status).not.toBe('succeeded');
      expect(tasks.find((t) => t.task_id === 'slow_orders_count@2024-01-02')?.status).not.toBe('succeeded');
      if (stop.signals.length === 1) {
        expect(tasks.find((t) => t.task_id === 'slow_orders@2024-01-02')).toMatchObject({ status: 'cancelled' });
        expect((await runsJson(dir)).find((x) => x.run_id === runId)).toMatchObject({ status: 'cancelled' });
        const shown = await historyIn(dir, { runId });
        expect(shown.stdout.split('\n').find((l) => l.startsWith('slow_orders@2024-01-02'))).toContain('cancelled');
      } else {
        expect(['cancelled', 'interrupted']).toContain((await runsJson(dir)).find((x) => x.run_id === runId)?.status);
      }

      const next = await runIn(dir, { date: '2024-01-02' });
      expect(next.code, explain(next)).toBe(0);
      expect(await stagingTables(db)).toEqual([]);
    });
  }
});

describe('an interrupted partition replace', () => {
  it('SIGINT: rolled back at once, nothing read again to explain the failure (the query would run as long again)', async () => {
    const { dir, db, gate } = slowProject();
    const before = await snapshotWarehouse(db);
    const running = new RunningPipe(['run', '--select', 'slow_days', '--date', '2024-01-02', '--var', `day_gate=${gate.path}`, '--json', '--project', dir]);
    // The query reads the gate, which from then on pours rows without end: only an interrupt stops a read of it.
    const release = await gate.reached();
    gate.flood();
    running.child.kill('SIGINT');
    const stopped = await running.exited;
    release();
    expect(stopped.code, explain(stopped)).toBe(130);
    expect(taskIdsOf(stopped.events, 'task-cancelled')).toEqual(['slow_days@2024-01-02']);
    expect(await snapshotWarehouse(db)).toEqual(before);
  });
});

describe('a warehouse held by another process', () => {
  it('exits 2 naming the file, without DuckDB\'s raw lock text, and changes nothing', async () => {
    const { dir, db } = slowProject();
    const before = await snapshotWarehouse(db);
    const runsBefore = await runCount(db);

    const holder = await holdWarehouse(db);
    try {
      const r = pipe(['run', '--date', '2024-01-03', '--wait', '0', '--project', dir]);
      expect(r.code, explain(r)).toBe(2);
      expect(r.stderr).toContain(db);
      expect(r.stdout + r.stderr).not.toContain('Conflicting lock');
      expect(r.stdout).not.toContain('START');

      // The events --json prints, from a run in this process: the lock is still another process's.
      const json = await runIn(dir, { date: '2024-01-03', waitMs: 0 });
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
    const { dir, db, gate, before, running } = await slowRunInFlight();
    // The second run is the CLI's, in this process: the first is the pipe process that holds the warehouse.
    const second = await cliIn(['run', '--date', '2024-01-03', '--wait', '0', '--project', dir]);
    running.child.kill('SIGINT');
    await running.waitFor(stopping);
    gate.flood();
    const stopped = await running.exited;

    expect(second.code, explain(second)).toBe(2);
    expect(second.stderr).toContain(db);
    expect(second.stderr).toContain(String(running.child.pid));
    expect(second.stderr).not.toContain('Conflicting lock');
    expect(stopped.code, explain(stopped)).toBe(130);
    expect(await snapshotWarehouse(db)).toEqual(before);
  });
});
