import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { eventsOfType, explain, killRunning, ModelGate, queryRows, removeTempDirs, RunningPipe, taskOf, tempDir, warehouseOf, writeProjectFiles } from './helpers.js';
import { backfillIn, runIn } from '../support/in-process.js';

afterEach(killRunning);
afterAll(removeTempDirs);

/**
 * An incremental model over its existing table deletes its partition and inserts the query's
 * rows in one transaction. What a process shows of it: killed in the middle of the insert, the
 * old partition stays; the partitions of one table written side by side (backfill --parallel)
 * do not wait for each other, and give the table a sequential backfill gives.
 */

/** Three rows a date, labelled; given `--var hold=DATE --var gate=PATH`, that date's query reads the FIFO (see ModelGate) first. */
const MODEL = `{{ config(materialized='incremental', partition_by='d') }}
select date '{{ ds }}' as d, x, '{{ var("label", "first") }}' as label
from range(3) r(x)
{% if var('hold', '') == ds %}where (select count(*) from read_csv('{{ var("gate") }}', columns={'line': 'VARCHAR'}, header=false, auto_detect=false)) >= 0{% endif %}
`;

function project(): { dir: string; db: string } {
  const dir = tempDir();
  writeProjectFiles(dir, { 'models/p.sql': MODEL });
  return { dir, db: warehouseOf(dir) };
}

const rows = (db: string) => queryRows(db, "SELECT strftime(d, '%Y-%m-%d') AS d, x::INTEGER AS x, label FROM p ORDER BY d, x");

describe('a partition written in its publishing transaction', () => {
  it('kill -9 in the middle of the insert, after the delete: the old partition stays, and the next run replaces it once', async () => {
    const { dir, db } = project();
    const built = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-03' });
    expect(built.code, explain(built)).toBe(0);
    const before = await rows(db);
    expect(before).toHaveLength(9);

    const gate = new ModelGate(dir);
    const running = new RunningPipe(['run', '--date', '2024-01-02', '--var', 'hold=2024-01-02', '--var', `gate=${gate.path}`, '--var', 'label=second', '--json', '--project', dir]);
    // The table exists: the gate is read by the insert, after the delete of the same transaction.
    await gate.reached();
    running.child.kill('SIGKILL');
    const killed = await running.exited;
    expect(killed.signal).toBe('SIGKILL');
    expect(await rows(db)).toEqual(before);

    const next = await runIn(dir, { date: '2024-01-02', vars: { label: 'third' } });
    expect(next.code, explain(next)).toBe(0);
    expect(await rows(db)).toEqual(before.map((r) => (r.d === '2024-01-02' ? { ...r, label: 'third' } : r)));
  });

  it('backfill --parallel: a date held in its insert keeps no other date of the table waiting; the table is that of --parallel 1', async () => {
    const sequential = project();
    const one = await backfillIn(sequential.dir, { start: '2024-01-01', end: '2024-01-04', parallel: 1, vars: { label: 'second' } });
    expect(one.code, explain(one)).toBe(0);

    const { dir, db } = project();
    expect((await runIn(dir, { date: '2024-01-01' })).code).toBe(0);
    const gate = new ModelGate(dir);
    const running = new RunningPipe([
      'backfill', '--start', '2024-01-01', '--end', '2024-01-04', '--parallel', '3',
      '--var', 'hold=2024-01-02', '--var', `gate=${gate.path}`, '--var', 'label=second', '--json', '--project', dir,
    ]);
    const release = await gate.reached();
    // 2024-01-02 is inside its publishing transaction; the other dates publish meanwhile.
    for (const ds of ['2024-01-01', '2024-01-03', '2024-01-04']) await running.waitFor((e) => e.type === 'task-succeeded' && taskOf(e).ds === ds);
    const held = await running.waitFor((e) => e.type === 'task-started' && taskOf(e).ds === '2024-01-02');
    expect(held).toBeDefined();
    release();
    const done = await running.exited;
    expect(done.code, explain(done)).toBe(0);
    expect(eventsOfType(done.events, 'task-succeeded').map((e) => e.rows)).toEqual([3, 3, 3, 3]);
    expect(await rows(db)).toEqual(await rows(sequential.db));
  });
});
