import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/execute/engine.js';
import { listRunLogs, runLogDir, runLogPath } from '../../src/run-log/run-log-files.js';
import { foldRunLog, parseRunLog, readRunLogs, type LoggedRun } from '../../src/run-log/run-log-reader.js';
import type { RunLogLine } from '../../src/run-log/run-log-lines.js';
import { ensureState, insertRunSql, insertTasksSql, taskResultSql } from '../../src/warehouse/run-state.js';
import { eventsOfType, queryRows } from '../e2e/helpers.js';
import { historyIn, runIn } from '../support/in-process.js';
import { removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/**
 * The run logs beside a warehouse: written as a run goes, read back as `pipe history` reads them
 * while another process holds the warehouse, and brought in line with the warehouse at a run's
 * end and after a crash. Reading them from another process: test/e2e/run-log.test.ts.
 */

const MODELS = {
  'models/a.sql': "{{ config(materialized='table') }}\nselect 1 as x\n",
  'models/b.sql': "{{ config(materialized='table') }}\nselect x + 1 as y from {{ ref('a') }}\n",
};
const DAY = '2024-01-02';
const dead = () => false;

function logLines(path: string): RunLogLine[] {
  return parseRunLog(readFileSync(path, 'utf8'));
}

describe('run logs', () => {
  it('follow a run as it goes, and end with the warehouse record of it', async () => {
    const dir = tempProject(MODELS);
    const db = join(dir, 'warehouse.duckdb');
    const seen: LoggedRun[] = [];
    const r = await runIn(dir, {
      date: DAY,
      threads: 1,
      onEvent: (e) => {
        // A live view, read while the run holds the warehouse: its process is alive.
        if (e.type === 'task-succeeded' && e.task.model === 'a') seen.push(...readRunLogs(db, { alive: (pid) => pid === process.pid }));
      },
    });
    expect(r.code, r.stderr).toBe(0);
    const runId = eventsOfType(r.events, 'run-started')[0].runId as string;
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ run_id: runId, status: 'running', reconciled: false, tasks: 2, succeeded: 1, pending: 1, pid: process.pid });
    expect(seen[0].elapsed_ms).toBeGreaterThanOrEqual(0);

    const path = runLogPath(db, runId);
    expect(path).toBe(join(dir, '.pipe', 'warehouse.duckdb', 'runs', `${runId}.ndjson`));
    const lines = logLines(path);
    expect(lines.map((l) => l.type)).toEqual(['run-log', 'run-started', 'task-started', 'task-succeeded', 'task-started', 'task-succeeded', 'run-finished', 'reconciled']);
    // Once reconciled, the log says what the warehouse says.
    const [logged] = readRunLogs(db, { alive: dead });
    const fromWarehouse = await historyIn(dir, { runId, json: true });
    expect(logged).toMatchObject({ run_id: runId, status: 'succeeded', reconciled: true, succeeded: 2, failed: 0, running: 0, pending: 0 });
    // To the millisecond, as the run measured itself: the warehouse's times in the log are to the second.
    expect(logged.elapsed_ms).toBe(eventsOfType(r.events, 'run-finished')[0].ms);
    expect(logged.task_rows.map((t) => [t.task_id, t.status, t.rows])).toEqual(
      eventsOfType(fromWarehouse.events, 'task').map((t) => [t.task_id, t.status, t.rows]),
    );
  });

  it('hold every skipped task of a run whose tasks are current, in order, before the run ends', async () => {
    const dir = tempProject(MODELS);
    const db = join(dir, 'warehouse.duckdb');
    expect((await runIn(dir, { date: DAY })).code).toBe(0);
    const again = await runIn(dir, { date: DAY });
    expect(again.code, again.stderr).toBe(0);
    const runId = eventsOfType(again.events, 'run-started')[0].runId as string;
    const lines = logLines(runLogPath(db, runId));
    // Skipped tasks are written together, yet in their place: after the run's start, before its end.
    expect(lines.map((l) => l.type)).toEqual(['run-log', 'run-started', 'task-skipped', 'task-skipped', 'run-finished', 'reconciled']);
    const told = eventsOfType(again.events, 'task-skipped').map((e) => (e.task as { id: string }).id);
    expect(lines.filter((l) => l.type === 'task-skipped').map((l) => ((l as { task: { id: string } }).task).id)).toEqual(told);
  });

  it('keep each warehouse of a folder apart, and only the newest keep_run_logs of them', async () => {
    const dir = tempProject({ ...MODELS, 'pipe.yaml': 'keep_run_logs: 2\n' });
    const other = join(dir, 'other.duckdb');
    const started: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await runIn(dir, { date: DAY });
      expect(r.code).toBe(0);
      started.push(eventsOfType(r.events, 'run-started')[0].runId as string);
    }
    expect((await runIn(dir, { date: DAY, db: other })).code).toBe(0);
    expect(runLogDir(other)).not.toBe(runLogDir(join(dir, 'warehouse.duckdb')));
    expect(listRunLogs(other)).toHaveLength(1);
    const kept = listRunLogs(join(dir, 'warehouse.duckdb')).map((f) => f.runId);
    expect(kept).toHaveLength(2);
    // The warehouse still knows every run: deleting a log loses nothing.
    const runs = eventsOfType((await historyIn(dir, { json: true })).events, 'run').map((r) => r.run_id);
    expect(runs).toHaveLength(3);
    expect(kept).toEqual(started.slice(1).reverse());
  });

  it('refuse a keep_run_logs that is not a count, at its line of pipe.yaml', async () => {
    const dir = tempProject({ ...MODELS, 'pipe.yaml': 'name: shop\nkeep_run_logs: none\n' });
    const r = await runIn(dir, { date: DAY });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pipe.yaml:2: error: keep_run_logs must be a whole number of at least 1');
  });

  it('never show a started task as succeeded when its process is gone without logging the success', () => {
    const started = '2024-01-02T03:00:00.000Z';
    const task = (id: string) => ({ id, model: id, kind: 'table' as const, file: `models/${id}.sql` });
    const lines: RunLogLine[] = [
      { type: 'run-log', version: 1, runId: 'r1', command: 'backfill', params: { start: DAY, end: DAY }, pid: 4242, startedAt: started, tasks: ['a', 'b', 'c'].map((id) => ({ id, node: id, kind: 'table' })) },
      { type: 'task-started', runId: 'r1', task: task('a'), time: started },
      { type: 'task-succeeded', runId: 'r1', task: task('a'), rows: 3, attempts: 1, ms: 5, time: '2024-01-02T03:00:01.000Z' },
      { type: 'task-started', runId: 'r1', task: task('b'), time: '2024-01-02T03:00:01.000Z' },
    ];
    const now = Date.parse('2024-01-02T03:01:00.000Z');
    const live = foldRunLog(lines, { alive: (pid) => pid === 4242, now })!;
    expect(live).toMatchObject({ status: 'running', succeeded: 1, running: 1, pending: 1, elapsed_ms: 60_000 });
    const gone = foldRunLog(lines, { alive: dead, now })!;
    expect(gone).toMatchObject({ status: 'interrupted', succeeded: 1, running: 0, pending: 2, elapsed_ms: null });
    // Its times are shown to the second; how long it ran is its end's word, to the millisecond (not 1 s).
    expect(gone.task_rows.find((t) => t.task_id === 'a')).toMatchObject({ started_at: '2024-01-02 03:00:00', ended_at: '2024-01-02 03:00:01', duration_ms: 5 });
    expect(gone.task_rows.find((t) => t.task_id === 'b')!.status).toBe('pending');
    // A line cut short by the crash is left out, the lines before it still read.
    expect(parseRunLog(`${lines.map((l) => JSON.stringify(l)).join('\n')}\n{"type":"task-succ`)).toHaveLength(4);
  });

  it('count the tasks of a live run as the warehouse will: one found current succeeded, one after a failure skipped', async () => {
    const dir = tempProject({ ...MODELS, 'models/c.sql': "{{ config(materialized='table') }}\nselect y from {{ ref('b') }}\n" });
    const db = join(dir, 'warehouse.duckdb');
    expect((await runIn(dir, { date: DAY })).code).toBe(0);
    writeFileSync(join(dir, 'models/b.sql'), "{{ config(materialized='table') }}\nselect x + 'x'::INTEGER as y from {{ ref('a') }}\n");
    const seen: LoggedRun[] = [];
    const r = await runIn(dir, {
      date: DAY,
      threads: 1,
      // Read while the run holds the warehouse, once every task is told.
      onEvent: (e) => {
        if (e.type === 'run-finished') seen.push(...readRunLogs(db, { alive: (pid) => pid === process.pid }));
      },
    });
    expect(r.code).toBe(1);
    const runId = eventsOfType(r.events, 'run-started')[0].runId as string;
    const live = seen.find((l) => l.run_id === runId)!;
    const fromWarehouse = eventsOfType((await historyIn(dir, { runId, json: true })).events, 'task').map((t) => [t.task_id, t.status]);
    expect(live.task_rows.map((t) => [t.task_id, t.status])).toEqual(fromWarehouse);
    expect(live).toMatchObject({ reconciled: false, succeeded: 1, failed: 1, skipped: 1 });
  });

  it('are reconciled with the warehouse when the next write recovers a run that died', async () => {
    const dir = tempProject(MODELS);
    const db = join(dir, 'warehouse.duckdb');
    const t0 = Date.parse('2024-01-02T03:00:00Z');
    // What a process killed mid-run leaves: the run still running in the warehouse, a's success
    // committed there but not yet logged, b logged as started and never committed.
    const wh = await Engine.open(db);
    await wh.engine.withSession(async (s) => {
      await ensureState(s);
      await s.exec(insertRunSql({ runId: 'crashed', command: 'run', params: { ds: DAY }, startedAt: t0, version: 'test' }));
      for (const sql of insertTasksSql('crashed', [
        { id: 'a', node: 'a', kind: 'table', upstream: [] },
        { id: 'b', node: 'b', kind: 'table', upstream: ['a'] },
      ]))
        await s.exec(sql);
      await s.exec(taskResultSql({ runId: 'crashed', taskId: 'a', attempt: 1, status: 'succeeded', startedAt: t0, endedAt: t0 + 1000, rows: 1 }));
    });
    wh.close();
    const task = (id: string) => ({ id, model: id, kind: 'table' as const, file: `models/${id}.sql` });
    const path = runLogPath(db, 'crashed');
    mkdirSync(runLogDir(db), { recursive: true });
    writeFileSync(
      path,
      [
        { type: 'run-log', version: 1, runId: 'crashed', command: 'run', params: { ds: DAY }, pid: 999_999_999, startedAt: new Date(t0).toISOString(), tasks: [{ id: 'a', node: 'a', kind: 'table' }, { id: 'b', node: 'b', kind: 'table' }] },
        { type: 'task-started', runId: 'crashed', task: task('a'), time: new Date(t0).toISOString() },
        { type: 'task-started', runId: 'crashed', task: task('b'), time: new Date(t0 + 1750).toISOString() },
      ]
        .map((l) => JSON.stringify(l))
        .join('\n') + '\n',
    );
    appendFileSync(path, '{"type":"task-succeeded","runId":"cra'); // cut short by the kill
    expect(readRunLogs(db, { alive: dead })[0]).toMatchObject({ status: 'interrupted', succeeded: 0, pending: 2 });

    // The next run opens the warehouse for writing and recovers the dead run.
    expect((await runIn(dir, { date: DAY })).code).toBe(0);
    const crashed = readRunLogs(db, { alive: dead }).find((r) => r.run_id === 'crashed')!;
    // b was under way, as the log says: recorded so, with its start (a, whose end the kill cut short, as the warehouse has it).
    expect(crashed).toMatchObject({ reconciled: true, status: 'interrupted', succeeded: 1, cancelled: 1, pending: 0 });
    expect(Object.fromEntries(crashed.task_rows.map((t) => [t.task_id, [t.status, t.started_at !== null, t.detail]]))).toEqual({
      a: ['succeeded', true, null],
      b: ['cancelled', true, 'its process died while it ran'],
    });
    // Its start to the millisecond, as logged: to the second, it would stand before tasks that started before it.
    expect(await queryRows(db, "select epoch_ms(started_at)::BIGINT as ms from _pipe.task_results where run_id = 'crashed' and task_id = 'b'")).toEqual([{ ms: String(t0 + 1750) }]);
  });
});
