import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { explain, ModelGate, RunningPipe, writeProjectFiles } from '../e2e/helpers.js';
import { retryIn, runIn } from '../support/in-process.js';
import { runLogPath } from '../../src/run-log/run-log-files.js';
import { ENV, lakeProcessesFile, lakeProjectOn } from '../support/lake-project.js';
import { lakeRows, lakeRowsOf } from '../support/lake-rows.js';
import { testPostgres } from '../support/postgres.js';

/**
 * A coordinator killed with its tasks still queued leaves jobs no one is waiting for. A run
 * since (here with another --var) has published the date; a worker started later must not
 * run the dead run's job and write its older result over it.
 */

const pg0 = await testPostgres();
lakeProcessesFile();

/** A lake of its own with one incremental model whose rows name the run's currency (--var). */
const pricesProject = (name: string) =>
  lakeProjectOn(pg0!, name, {
    'models/prices.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect cast('{{ ds }}' as date) as d, '{{ var(\"currency\") }}' as currency\n",
  });

describe.skipIf(!pg0)('a job left in the queue by a coordinator that died', () => {
  it('is dropped by the worker that takes it once its run has ended, and the later run stays published', { timeout: 180_000 }, async () => {
    const { dir, lake } = pricesProject('stale');

    // No worker runs: the coordinator queues the date and waits; then it is killed.
    const coordinator = new RunningPipe(['run', '--project', dir, '--date', '2024-01-01', '--distributed', '--var', 'currency=USD', '--json'], { env: ENV });
    await coordinator.waitFor((e) => e.type === 'notice' && String(e.message).startsWith('no pipe worker is running'));
    coordinator.child.kill('SIGKILL');
    await coordinator.exited;

    // The date run again here, with the currency meant: the killed run is marked interrupted.
    const again = await runIn(dir, { date: '2024-01-01', vars: { currency: 'EUR' } });
    expect(again.code, explain(again)).toBe(0);

    const worker = new RunningPipe(['worker', '--project', dir, '--json', '--name', 'late'], { env: ENV });
    const dropped = await worker.waitFor((e) => e.type === 'notice' && String(e.message).includes('dropped task prices'));
    expect(String(dropped.message)).toMatch(/^worker late dropped task prices@2024-01-01: its run \S+ ended \(interrupted\) before a worker took it/);
    worker.child.kill('SIGTERM');
    await worker.exited;
    expect(await lakeRows(lake, 'SELECT d::VARCHAR AS d, currency FROM main.prices')).toEqual([{ d: '2024-01-01', currency: 'EUR' }]);
  });

  it('is dropped once its coordinator is gone though its process lives (a machine hung or cut off), and the run is recorded interrupted', { timeout: 180_000 }, async () => {
    const { dir, db, lake } = pricesProject('stale_gone');
    // The shortest lease pipe takes: the three leases of silence below are waited out.
    const coordinator = new RunningPipe(['run', '--project', dir, '--date', '2024-01-01', '--distributed', '--lease', '500ms', '--var', 'currency=USD', '--json'], { env: ENV });
    const started = await coordinator.waitFor((e) => e.type === 'run-started');
    await coordinator.waitFor((e) => e.type === 'notice' && String(e.message).startsWith('no pipe worker is running'));
    // Frozen: its process lives (nothing on this machine takes its run for dead), its heartbeat stops.
    coordinator.child.kill('SIGSTOP');
    const client = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:${pg0!.port}/${db}` });
    await client.connect();
    try {
      // Silent for three leases: gone whatever its connection says.
      for (;;) {
        const { rows } = await client.query(`SELECT 1 FROM pipe_workers.coordinators WHERE last_seen < now() - 3 * lease_ms * interval '1 millisecond'`);
        if (rows.length > 0) break;
        await new Promise((res) => setTimeout(res, 200));
      }
    } finally {
      await client.end();
    }
    // The date run again here with the currency meant, while the frozen run is still running.
    const again = await runIn(dir, { date: '2024-01-01', vars: { currency: 'EUR' } });
    expect(again.code, explain(again)).toBe(0);

    const worker = new RunningPipe(['worker', '--project', dir, '--json', '--name', 'late', '--lease', '1s'], { env: ENV });
    const dropped = await worker.waitFor((e) => e.type === 'notice' && String(e.message).includes('dropped task prices'));
    expect(String(dropped.message)).toMatch(/^worker late dropped task prices@2024-01-01: its run \S+ lost its coordinator \(\S+:\d+, not seen for its lease\) and is recorded interrupted/);
    worker.child.kill('SIGTERM');
    await worker.exited;
    expect(await lakeRows(lake, 'SELECT d::VARCHAR AS d, currency FROM main.prices')).toEqual([{ d: '2024-01-01', currency: 'EUR' }]);
    const [[run]] = await lakeRowsOf(lake, [`SELECT status FROM _pipe.runs WHERE run_id = '${String(started.runId)}'`]);
    expect(run).toEqual({ status: 'interrupted' });

    // Thawed, the coordinator finds its run taken, says so and by whom, and leaves it as recorded there.
    coordinator.child.kill('SIGCONT');
    const ended = await coordinator.exited;
    const runId = String(started.runId);
    expect(ended.stdout, explain(ended)).toMatch(/run \S+ was taken for gone by worker late \(\S+:\d+\): it is recorded interrupted/);
    expect(ended.code, explain(ended)).toBe(1);
    const [[after]] = await lakeRowsOf(lake, [`SELECT status FROM _pipe.runs WHERE run_id = '${runId}'`]);
    expect(after).toEqual({ status: 'interrupted' });
    // The task the worker dropped unrun is no failure of the task's, however the coordinator heard of it.
    const [outcomes] = await lakeRowsOf(lake, [`SELECT status FROM _pipe.task_results WHERE run_id = '${runId}' AND task_id = 'prices@2024-01-01'`]);
    expect(outcomes.filter((o) => o.status === 'failed')).toEqual([]);
    // Its machine's log of the run ends as the run does: taken as interrupted, by that worker.
    const log = readFileSync(runLogPath(join(dir, 'lake'), runId), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(log.find((l) => l.type === 'run-finished')).toMatchObject({ status: 'interrupted', interruptedBy: expect.stringMatching(/^worker late \(\S+:\d+\)$/) });
    expect(log.at(-1)).toMatchObject({ type: 'reconciled', run: { status: 'interrupted' } });

    // pipe retry of it leaves the date the later run replaced (with other vars) as that run wrote
    // it: superseded, not rebuilt with the older run's currency; and the run is done.
    const retried = await retryIn(dir, { runId });
    expect(retried.code, explain(retried)).toBe(0);
    expect(retried.events.filter((e) => e.type === 'task-skipped').map((e) => [(e.task as { id: string }).id, e.reason])).toEqual([['prices@2024-01-01', 'superseded']]);
    expect(await lakeRows(lake, 'SELECT d::VARCHAR AS d, currency FROM main.prices')).toEqual([{ d: '2024-01-01', currency: 'EUR' }]);
  });

  it('a task running when its coordinator is killed is stopped, said as its run lost its coordinator', { timeout: 180_000 }, async () => {
    const { dir } = lakeProjectOn(pg0!, 'stale_running', {});
    const gate = new ModelGate(dir);
    writeProjectFiles(dir, { 'models/held.sql': `{{ config(materialized='table') }}\nselect 1 as x where ${gate.sql} >= 0\n` });
    const worker = new RunningPipe(['worker', '--project', dir, '--json', '--name', 'w1', '--lease', '1s'], { env: ENV });
    await worker.waitFor((e) => e.type === 'notice' && String(e.message).includes('ready'));
    const held = gate.reached();
    const coordinator = new RunningPipe(['run', '--project', dir, '--date', '2024-01-01', '--distributed', '--lease', '1s', '--json'], { env: ENV });
    const started = await coordinator.waitFor((e) => e.type === 'run-started');
    const release = await held;
    coordinator.child.kill('SIGKILL');
    await coordinator.exited;
    const told = await worker.waitFor((e) => e.type === 'notice' && String(e.message).includes('stops task held'));
    expect(String(told.message)).toMatch(new RegExp(`^worker w1 stops task held@2024-01-01: its run ${String(started.runId)} lost its coordinator \\(\\S+:\\d+, not seen for its lease\\) and is recorded interrupted; pipe retry ${String(started.runId)} runs what that run left`));
    release();
    worker.child.kill('SIGTERM');
    await worker.exited;
  });
});
