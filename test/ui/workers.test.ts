import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import type { UiRunDetail } from '../../src/ui/api.js';
import { eventsOfType, queryRows, warehouseOf } from '../e2e/helpers.js';
import { historyIn, runIn } from '../support/in-process.js';
import { removeProjects, tempProject } from '../support/projects.js';
import { parallelRun, serve, stubAssets } from './ui-fixture.js';

/**
 * Which of a run's threads ran each task: recorded with its result and told by its
 * `task-started` event, so that the UI's Gantt draws a lane per thread. A warehouse of an
 * earlier pipe, whose results have no worker, still reads, and gains the column at its next run.
 */

afterAll(() => removeProjects());

async function recorded(dir: string, runId: string): Promise<{ task: string; worker: number | null; s: number; e: number }[]> {
  const rows = await queryRows(
    warehouseOf(dir),
    `SELECT task_id, worker, epoch_ms(started_at) AS s, epoch_ms(ended_at) AS e FROM _pipe.task_results WHERE run_id = '${runId}' ORDER BY s, task_id`,
  );
  return rows.map((r) => ({ task: String(r.task_id), worker: r.worker === null ? null : Number(r.worker), s: Number(r.s), e: Number(r.e) }));
}

describe('workers', () => {
  it('a run of 2 threads records workers 1 and 2, and one worker never runs two tasks at once', async () => {
    const { dir, run } = await parallelRun('pipe-ui-workers-');
    expect(run.code, run.stderr).toBe(0);
    const runId = eventsOfType(run.events, 'run-started')[0].runId as string;
    const results = await recorded(dir, runId);
    expect(results).toHaveLength(5);
    expect([...new Set(results.map((r) => r.worker))].sort()).toEqual([1, 2]);
    for (const w of [1, 2]) {
      const mine = results.filter((r) => r.worker === w);
      for (let i = 1; i < mine.length; i++) expect(mine[i].s).toBeGreaterThanOrEqual(mine[i - 1].e);
    }
    // The events tell the same workers as the records.
    const started = eventsOfType(run.events, 'task-started').map((e) => [(e.task as { id: string }).id, e.worker]);
    expect(Object.fromEntries(started)).toEqual(Object.fromEntries(results.map((r) => [r.task, r.worker])));
    // The UI's run and pipe history tell them too.
    const server = await serve(dir, stubAssets());
    try {
      const detail = (await (await fetch(new URL(`/api/runs/${runId}`, server.url))).json()) as UiRunDetail;
      expect(Object.fromEntries(detail.tasks.map((t) => [t.task_id, t.worker]))).toEqual(Object.fromEntries(results.map((r) => [r.task, r.worker])));
    } finally {
      await server.close();
    }
    const history = eventsOfType((await historyIn(dir, { runId, json: true })).events, 'task');
    expect(Object.fromEntries(history.map((t) => [t.task_id, t.worker]))).toEqual(Object.fromEntries(results.map((r) => [r.task, r.worker])));
  });

  it('a failure among tasks that share a commit runs the others again on the same threads: a run of 2 threads never has a third', async () => {
    // Quick tables that read nothing share commits; t30's failure rolls back the commit it was
    // in, and the tasks of that commit run again alone.
    const files = Object.fromEntries(
      Array.from({ length: 60 }, (_, k) => [`models/t${k + 1}.sql`, k + 1 === 30 ? 'select nosuchcolumn\n' : `{{ config(materialized='table') }}\nselect ${k + 1} as x\n`]),
    );
    const dir = tempProject(files, 'pipe-ui-workers-batch-');
    const run = await runIn(dir, { date: '2024-01-02', threads: 2 });
    expect(run.code, run.stderr).toBe(1);
    const runId = eventsOfType(run.events, 'run-started')[0].runId as string;
    const results = await recorded(dir, runId);
    expect(results.filter((r) => r.worker !== null)).toHaveLength(60);
    expect([...new Set(results.map((r) => r.worker))].sort()).toEqual([1, 2]);
    expect(new Set(eventsOfType(run.events, 'task-started').map((e) => e.worker))).toEqual(new Set([1, 2]));
  });

  it('reads a warehouse whose results have no worker, and adds the column at the next run', async () => {
    const { dir, run: first } = await parallelRun('pipe-ui-workers-old-');
    expect(first.code, first.stderr).toBe(0);
    const firstId = eventsOfType(first.events, 'run-started')[0].runId as string;
    // As an earlier pipe left it: every outcome a row of the table task_results, which had no worker yet, and builds without outcomes.
    const instance = await DuckDBInstance.create(warehouseOf(dir));
    const connection = await instance.connect();
    await connection.run(`CREATE TABLE _pipe.earlier_results AS SELECT * EXCLUDE (worker) FROM _pipe.task_results;
      DROP VIEW _pipe.task_results; DROP TABLE _pipe.task_outcomes;
      ALTER TABLE _pipe.earlier_results RENAME TO task_results;
      ${['attempt', 'started_at', 'ended_at', 'rows', 'worker', 'runner'].map((c) => `ALTER TABLE _pipe.builds DROP COLUMN ${c};`).join(' ')}`);
    connection.closeSync();
    instance.closeSync();
    const server = await serve(dir, stubAssets());
    try {
      const detail = (await (await fetch(new URL(`/api/runs/${firstId}`, server.url))).json()) as UiRunDetail;
      expect(detail.tasks.map((t) => t.worker)).toEqual([null, null, null, null, null]);
      expect(detail.tasks.every((t) => t.start_ms !== null)).toBe(true);
    } finally {
      await server.close();
    }
    const history = await historyIn(dir, { runId: firstId });
    expect(history.code, history.stderr).toBe(0);
    const { run: next } = await parallelRun('', { dir, force: true });
    expect(next.code, next.stderr).toBe(0);
    const nextId = eventsOfType(next.events, 'run-started')[0].runId as string;
    expect((await recorded(dir, firstId)).map((r) => r.worker)).toEqual([null, null, null, null, null]);
    expect([...new Set((await recorded(dir, nextId)).map((r) => r.worker))].sort()).toEqual([1, 2]);
  });
});
