import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { ensureState, finishRunSql, insertRunSql, insertTasksSql, latestUnfinishedRun, listRuns, runTasks, runWithTasks, taskResultSql, tasksOfRuns, unfinishedTasks } from '../../src/warehouse/run-state.js';
import type { WarehouseSession } from '../../src/warehouse/warehouse.js';

/** History shows each task as its latest attempt left it, every field from that attempt. */

let warehouse: DuckDBWarehouse;
let s: WarehouseSession;
beforeAll(async () => {
  warehouse = await DuckDBWarehouse.open(':memory:');
  s = await warehouse.session();
  await ensureState(s);
});
afterAll(() => {
  s?.close();
  warehouse?.close();
});

describe('run history', () => {
  it('takes every field of a task from its latest attempt, empty ones included', async () => {
    const t0 = Date.parse('2024-01-02T00:00:00Z');
    await s.exec(insertRunSql({ runId: 'r', command: 'run', params: {}, startedAt: t0, version: 'test' }));
    for (const sql of insertTasksSql('r', [
      { id: 'recovered', node: 'recovered', kind: 'table', upstream: [] },
      { id: 'gave-up', node: 'gave-up', kind: 'table', upstream: [] },
    ]))
      await s.exec(sql);
    const attempt = (taskId: string, n: number, status: 'failed' | 'succeeded', error?: string, detail?: string) =>
      s.exec(taskResultSql({ runId: 'r', taskId, attempt: n, status, endedAt: t0 + n * 1000, error, errorClass: error ? 'transient' : undefined, detail, rows: status === 'succeeded' ? 7 : undefined }));
    await attempt('recovered', 1, 'failed', 'IO Error: busy', 'will retry');
    await attempt('recovered', 2, 'succeeded');
    for (const n of [1, 2]) await attempt('gave-up', n, 'failed', `IO Error: busy ${n}`, 'will retry');
    await attempt('gave-up', 3, 'failed', 'IO Error: busy 3');
    const tasks = Object.fromEntries((await runTasks(s, 'r')).map((t) => [t.task_id, t]));
    expect(tasks.recovered).toMatchObject({ status: 'succeeded', attempts: 2, rows: 7, error: null, detail: null });
    expect(tasks['gave-up']).toMatchObject({ status: 'failed', attempts: 3, rows: null, error: 'IO Error: busy 3', detail: null });
  });

  it('counts no attempt for a task that never started: skipped after its upstream failed, or cancelled before it ran', async () => {
    const t0 = Date.parse('2024-01-03T00:00:00Z');
    await s.exec(insertRunSql({ runId: 'r-skip', command: 'run', params: {}, startedAt: t0, version: 'test' }));
    for (const sql of insertTasksSql('r-skip', [
      { id: 'up', node: 'up', kind: 'table', upstream: [] },
      { id: 'down', node: 'down', kind: 'table', upstream: ['up'] },
      { id: 'later', node: 'later', kind: 'table', upstream: [] },
      { id: 'stopped', node: 'stopped', kind: 'table', upstream: [] },
    ]))
      await s.exec(sql);
    await s.exec(taskResultSql({ runId: 'r-skip', taskId: 'up', attempt: 1, status: 'failed', startedAt: t0, endedAt: t0 + 1000, error: 'boom' }));
    await s.exec(taskResultSql({ runId: 'r-skip', taskId: 'down', attempt: 1, status: 'skipped', endedAt: t0 + 1000, detail: 'upstream up failed' }));
    await s.exec(taskResultSql({ runId: 'r-skip', taskId: 'later', attempt: 1, status: 'cancelled', endedAt: t0 + 1000 }));
    // Cancelled while it ran: it made its attempt.
    await s.exec(taskResultSql({ runId: 'r-skip', taskId: 'stopped', attempt: 1, status: 'cancelled', startedAt: t0, endedAt: t0 + 1000 }));
    const tasks = Object.fromEntries((await runTasks(s, 'r-skip')).map((t) => [t.task_id, t]));
    expect(tasks.up).toMatchObject({ status: 'failed', attempts: 1 });
    expect(tasks.down).toMatchObject({ status: 'skipped', attempts: null, started_at: null });
    expect(tasks.later).toMatchObject({ status: 'cancelled', attempts: null, started_at: null });
    expect(tasks.stopped).toMatchObject({ status: 'cancelled', attempts: 1 });
  });

  it("reads one run's tasks and counts from that run alone, whatever other runs hold of the same tasks", async () => {
    const t0 = Date.parse('2023-06-01T00:00:00Z');
    // Three runs of the same two tasks, ending each their own way: a run read alone must show its own.
    const outcomes: [string, 'succeeded' | 'failed', 'succeeded' | 'failed'][] = [
      ['h1', 'succeeded', 'succeeded'],
      ['h2', 'failed', 'succeeded'],
      ['h3', 'succeeded', 'failed'],
    ];
    for (const [i, [runId, a, b]] of outcomes.entries()) {
      await s.exec(insertRunSql({ runId, command: 'run', params: {}, startedAt: t0 + i * 10_000, version: 'test' }));
      for (const sql of insertTasksSql(runId, [
        { id: 'a', node: 'a', kind: 'table', upstream: [] },
        { id: 'b', node: 'b', kind: 'table', upstream: ['a'] },
        { id: 'c', node: 'c', kind: 'table', upstream: ['b'] },
      ]))
        await s.exec(sql);
      await s.exec(taskResultSql({ runId, taskId: 'a', attempt: 1, status: a, endedAt: t0 + i * 10_000 + 1000, rows: a === 'succeeded' ? i + 1 : undefined, error: a === 'failed' ? `no ${runId}` : undefined }));
      await s.exec(taskResultSql({ runId, taskId: 'b', attempt: 1, status: b, endedAt: t0 + i * 10_000 + 2000, rows: b === 'succeeded' ? i + 1 : undefined, error: b === 'failed' ? `no ${runId}` : undefined }));
      await s.exec(finishRunSql(runId, a === 'failed' || b === 'failed' ? 'failed' : 'succeeded', t0 + i * 10_000 + 3000));
    }
    const [h2] = await listRuns(s, 1, 'h2');
    expect(h2).toMatchObject({ run_id: 'h2', status: 'failed', tasks: 3, succeeded: 1, failed: 1, pending: 1 });
    const tasks = await runTasks(s, 'h2');
    expect(tasks.map((t) => [t.task_id, t.status, t.rows, t.error])).toEqual([
      ['a', 'failed', null, 'no h2'],
      ['b', 'succeeded', 2, null],
      ['c', 'pending', null, null],
    ]);
    expect(await unfinishedTasks(s, 'h3')).toEqual([
      { taskId: 'b', status: 'failed' },
      { taskId: 'c', status: 'pending' },
    ]);
    expect(await listRuns(s, 1, 'no-such-run')).toEqual([]);
  });

  it('a bare pipe retry picks the latest unfinished build, not a later failed pipe test', async () => {
    const t0 = Date.parse('2024-02-01T00:00:00Z');
    const runs: [string, string, Record<string, unknown>][] = [
      ['build', 'run', {}],
      ['checks', 'test', {}],
      ['checks-retry', 'retry', { original_command: 'test', retry_of: 'checks-2' }],
    ];
    for (const [i, [runId, command, params]] of runs.entries()) {
      await s.exec(insertRunSql({ runId, command, params, startedAt: t0 + i * 1000, version: 'test' }));
      await s.exec(finishRunSql(runId, 'failed', t0 + i * 1000 + 500));
    }
    expect(await latestUnfinishedRun(s)).toMatchObject({ run_id: 'build' });
  });

  it("reads a run with its tasks as listRuns and runTasks read them: the counts its tasks' own", async () => {
    const t0 = Date.parse('2024-03-01T00:00:00Z');
    // A failed run retried twice (the first retry failing too), and a later run that completes
    // another failed one: besides the runs above, every status of a task and of a run.
    for (const [i, [runId, command, parent, params]] of ([
      ['fam', 'run', undefined, {}],
      ['fam-r1', 'retry', 'fam', { original_command: 'run', retry_of: 'fam' }],
      ['fam-r2', 'retry', 'fam-r1', { original_command: 'run', retry_of: 'fam-r1' }],
    ] as const).entries()) {
      await s.exec(insertRunSql({ runId, command, params, parentRunId: parent, startedAt: t0 + i * 10_000, version: 'test' }));
      for (const sql of insertTasksSql(runId, [
        { id: 'x', node: 'x', kind: 'table', upstream: [] },
        { id: 'y', node: 'y', kind: 'table', upstream: ['x'] },
      ]))
        await s.exec(sql);
      const ok = i === 2;
      await s.exec(taskResultSql({ runId, taskId: 'x', attempt: 1, status: ok ? 'succeeded' : 'failed', endedAt: t0 + i * 10_000 + 1000, error: ok ? undefined : 'boom' }));
      if (ok) await s.exec(taskResultSql({ runId, taskId: 'y', attempt: 1, status: 'succeeded', endedAt: t0 + i * 10_000 + 2000 }));
      else await s.exec(taskResultSql({ runId, taskId: 'y', attempt: 1, status: 'skipped', endedAt: t0 + i * 10_000 + 1000 }));
      await s.exec(finishRunSql(runId, ok ? 'succeeded' : 'failed', t0 + i * 10_000 + 3000));
    }
    const same = { ds: '2024-03-05', select: [], exclude: [], vars: {} };
    await s.exec(insertRunSql({ runId: 'done-later', command: 'run', params: same, startedAt: t0 + 30_000, version: 'test' }));
    await s.exec(finishRunSql('done-later', 'failed', t0 + 31_000));
    await s.exec(insertRunSql({ runId: 'doing-it', command: 'run', params: same, startedAt: t0 + 40_000, version: 'test' }));
    await s.exec(finishRunSql('doing-it', 'succeeded', t0 + 41_000));
    await s.exec(insertRunSql({ runId: 'open', command: 'run', params: {}, startedAt: t0 + 50_000, version: 'test' }));
    const runs = (await listRuns(s, 100)).map((r) => r.run_id);
    expect(runs.length).toBeGreaterThanOrEqual(13);
    for (const runId of runs) {
      const [run] = await listRuns(s, 1, runId);
      expect(await runWithTasks(s, runId)).toEqual({ run, tasks: await runTasks(s, runId) });
    }
    // Read together (the runs page), each run's tasks are what it reads alone: runs h1-h3 share task ids.
    const together = await tasksOfRuns(s, runs);
    for (const runId of runs) expect(together.get(runId) ?? [], runId).toEqual(await runTasks(s, runId));
    expect([...together.keys()].sort()).toEqual(runs.filter((r) => !['open', 'done-later', 'doing-it', 'build', 'checks', 'checks-retry'].includes(r)).sort());
    expect((await runWithTasks(s, 'fam'))?.run).toMatchObject({ tasks: 2, failed: 1, skipped: 1, retried_by: 'fam-r2', retry_status: 'succeeded' });
    expect((await runWithTasks(s, 'h2'))?.run).toMatchObject({ tasks: 3, succeeded: 1, failed: 1, pending: 1 });
    expect((await runWithTasks(s, 'r-skip'))?.run).toMatchObject({ failed: 1, skipped: 1, cancelled: 2 });
    expect((await runWithTasks(s, 'done-later'))?.run).toMatchObject({ status: 'failed', completed_by: 'doing-it' });
    expect((await runWithTasks(s, 'open'))?.run).toMatchObject({ status: 'running', tasks: 0, duration_ms: null });
    expect(await runWithTasks(s, 'no-such-run')).toBeUndefined();
  });
});
