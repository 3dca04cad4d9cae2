import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachLakeSql } from '../../src/warehouse/ducklake/ducklake-warehouse.js';
import type { LakeTarget } from '../../src/warehouse/warehouse-setup.js';
import { explain, killRunning, removeTempDirs, RunningPipe, tempDir, writeProjectFiles } from '../e2e/helpers.js';
import { backfillIn, scheduleIn } from '../support/in-process.js';
import { lakeRows } from '../support/lake-rows.js';
import { lakeInstances } from '../support/lake-instances.js';
import { createDatabase, testPostgres } from '../support/postgres.js';

/**
 * The scheduler and a full refresh as coordinators of `pipe worker` processes: a scheduled
 * run's tasks (and a catch-up's) execute on the workers, each run notifies as it would on one
 * machine; a distributed full refresh leaves only the range's dates, each once (it rebuilds
 * the dates the schedule wrote: the tests share one lake, in order), and one with a failed
 * date swaps nothing in. The coordinator runs in this process, the workers are real processes
 * on the same lake.
 */

const pg0 = await testPostgres();
lakeInstances();
const ENV = { PIPE_TEST_PGUSER: 'postgres' };
process.env.PIPE_TEST_PGUSER = 'postgres';
const SLOW = 180_000;
const DISTRIBUTED = { leaseMs: 2_000 };

let dir: string;
let lake: LakeTarget;
const workers: RunningPipe[] = [];

afterAll(async () => {
  await killRunning();
  removeTempDirs();
});

/** Statements on the lake from a DuckDB of the test's own, as another machine writing to it. */
async function onLake(sql: string): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    await c.run(`${attachLakeSql(lake, false)}; USE lake; ${sql}`);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

const runnersOf = async (runId: string) => (await lakeRows(lake, `SELECT DISTINCT runner FROM _pipe.task_results WHERE run_id = '${runId}' ORDER BY 1`)).map((r) => r.runner);
const runIdsOf = (events: { type: string; runId?: unknown }[]) => [...new Set(events.filter((e) => e.type === 'run-started').map((e) => String(e.runId)))];

describe.skipIf(!pg0)('coordinators of pipe worker processes', () => {
  beforeAll(async () => {
    dir = tempDir();
    const db = createDatabase(pg0!, `dist_sched_${process.pid}`);
    writeProjectFiles(dir, {
      'pipe.yaml': `name: dist\nwarehouse:\n  type: ducklake\n  catalog: postgres:${pg0!.connection(db).replace('user=postgres', 'user=${env:PIPE_TEST_PGUSER}')}\n  data_path: lake/\n`,
      'models/events.sql':
        "{{ config(materialized='incremental', partition_by='d') }}\n" +
        // --var fail_on=DATE makes that date fail (a var is the coordinator's: the workers' project stays the same).
        "select cast('{{ ds }}' as date) as d, i, {% if var('fail_on', '') == ds %}error('no data for {{ ds }}')::UBIGINT{% else %}hash(i, '{{ ds }}') % 1000{% endif %} as v from range(50) t(i)\n",
      'models/daily.sql': "{{ config(materialized='table') }}\nselect d, count(*) as n, sum(v) as total from {{ ref('events') }} group by d\n",
      'pipelines/nightly.yaml': [
        'schedule: "0 2 * * *"',
        'catchup: true',
        'notify:',
        '  on_success:',
        '    - command: \'echo "$PIPE_DS $PIPE_STATUS $PIPE_RUN_ID" >> notified.log\'',
        '',
      ].join('\n'),
    });
    lake = { catalog: { kind: 'postgres', connection: pg0!.connection(db) }, dataPath: join(dir, 'lake/'), shown: db, source: { owner: 'test' } };
    for (const name of ['w1', 'w2']) workers.push(new RunningPipe(['worker', '--project', dir, '--json', '--lease', '2s', '--name', name], { env: ENV }));
    await Promise.all(workers.map((w) => w.waitFor((e) => e.type === 'notice' && String(e.message).includes('ready'))));
  }, SLOW);

  it('pipe schedule --distributed: a tick and a catch-up run on the workers, each notifying', async () => {
    const at = (iso: string) => ({ clock: { now: () => Date.parse(iso) }, distributed: DISTRIBUTED });
    const first = await scheduleIn(dir, at('2024-01-05T03:00:00Z'));
    expect(first.code, explain(first)).toBe(0);
    // Down for two days: the missed 2024-01-05 is caught up, then 2024-01-06 is due.
    const later = await scheduleIn(dir, at('2024-01-07T03:00:00Z'));
    expect(later.code, explain(later)).toBe(0);
    expect(later.stdout).toMatch(/nightly: starting 2024-01-05 \(catch-up/);

    const runs = [...runIdsOf(first.events), ...runIdsOf(later.events)];
    expect(runs).toHaveLength(3);
    for (const r of [first, later]) {
      const started = r.events.filter((e) => e.type === 'task-started');
      expect(started.length).toBeGreaterThan(0);
      for (const e of started) expect(['w1', 'w2']).toContain(e.runner);
    }
    for (const runId of runs) {
      const runners = await runnersOf(runId);
      expect(runners.length, runId).toBeGreaterThan(0);
      for (const r of runners) expect(['w1', 'w2']).toContain(r);
    }
    expect(await lakeRows(lake, "SELECT strftime(d, '%Y-%m-%d') AS d, count(*)::INTEGER AS n FROM main.events GROUP BY d ORDER BY d")).toEqual([
      { d: '2024-01-04', n: 50 },
      { d: '2024-01-05', n: 50 },
      { d: '2024-01-06', n: 50 },
    ]);
    // Each date's notification names the run of that date (two runs started within one second
    // have ids that do not sort by date: the date is each run's own, from its start).
    const dateOf = new Map([...first.events, ...later.events].filter((e) => e.type === 'run-started').map((e) => [String(e.runId), String(e.ds)]));
    const notified = readFileSync(join(dir, 'notified.log'), 'utf8').trim().split('\n').sort();
    expect(notified).toEqual(runs.map((runId) => `${dateOf.get(runId)} succeeded ${runId}`).sort());
    expect([...dateOf.values()].sort()).toEqual(['2024-01-04', '2024-01-05', '2024-01-06']);
  }, SLOW);

  it('backfill --full-refresh --distributed: the range rebuilt whole, each date once, nothing stale left', async () => {
    // Stale rows: one in the published table, and two where an earlier full refresh died, in its
    // staging table (for a date of the range and one beyond it).
    await onLake(
      "INSERT INTO main.events SELECT DATE '2024-01-05', 999, 999999; " +
        "CREATE TABLE main.__pipe_stage__events__full AS SELECT * FROM main.events LIMIT 0; " +
        "INSERT INTO main.__pipe_stage__events__full SELECT DATE '2024-01-02', 999, 999999; INSERT INTO main.__pipe_stage__events__full SELECT DATE '2024-02-01', 1, 999999;",
    );
    const done = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-06', parallel: 3, fullRefresh: true, distributed: DISTRIBUTED });
    expect(done.code, explain(done)).toBe(0);
    const dates = ['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04', '2024-01-05', '2024-01-06'];
    expect(await lakeRows(lake, "SELECT strftime(d, '%Y-%m-%d') AS d, count(*)::INTEGER AS n, count(DISTINCT i)::INTEGER AS keys FROM main.events GROUP BY d ORDER BY d")).toEqual(
      dates.map((d) => ({ d, n: 50, keys: 50 })),
    );
    expect(await lakeRows(lake, "SELECT count(*)::INTEGER AS wrong FROM main.events WHERE v <> hash(i, strftime(d, '%Y-%m-%d')) % 1000")).toEqual([{ wrong: 0 }]);
    expect(await lakeRows(lake, "SELECT strftime(d, '%Y-%m-%d') AS d, n::INTEGER AS n FROM main.daily ORDER BY d")).toEqual(
      dates.map((d) => ({ d, n: 50 })),
    );
    expect(await lakeRows(lake, "SELECT count(*)::INTEGER AS n FROM information_schema.tables WHERE table_name LIKE '__pipe_stage__%'")).toEqual([{ n: 0 }]);
    const [runId] = runIdsOf(done.events);
    const tasks = await lakeRows(lake, `SELECT task_id, runner FROM _pipe.task_results WHERE run_id = '${runId}' ORDER BY task_id`);
    expect(tasks.map((t) => t.task_id)).toEqual(expect.arrayContaining(['events@full-refresh:reset', 'events@full-refresh:swap', 'events@2024-01-02']));
    for (const t of tasks) expect(['w1', 'w2']).toContain(t.runner);
  }, SLOW);

  it('a distributed full refresh with a failed date swaps nothing in: the published table stays as it was', async () => {
    const TABLE = "SELECT strftime(d, '%Y-%m-%d') AS d, i, v FROM main.events ORDER BY d, i";
    const before = await lakeRows(lake, TABLE);
    const done = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-06', parallel: 3, fullRefresh: true, vars: { fail_on: '2024-01-03' }, distributed: DISTRIBUTED });
    expect(done.code, explain(done)).toBe(1);
    expect(done.events.find((e) => e.type === 'task-failed')).toMatchObject({ task: { id: 'events@2024-01-03' } });
    const [runId] = runIdsOf(done.events);
    expect(await lakeRows(lake, `SELECT count(*)::INTEGER AS n FROM _pipe.task_results WHERE run_id = '${runId}' AND task_id = 'events@full-refresh:swap' AND status = 'succeeded'`)).toEqual([{ n: 0 }]);
    expect(await lakeRows(lake, TABLE)).toEqual(before);
  }, SLOW);
});
