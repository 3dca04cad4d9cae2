import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { retry } from '../../src/commands/retry.js';
import { run } from '../../src/commands/run.js';
import type { PipeEvent } from '../../src/events/events.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { listRuns } from '../../src/warehouse/run-state.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

/** A task never starts before what it reads, however indirectly, has finished in the same run. */

afterAll(removeProjects);

const project = (files: Record<string, string>) => tempProject(files);

const query = queryWarehouse;

describe('order within a run', () => {
  it('a seed the selection reloads finishes before a selected model that reads it through an unselected view', async () => {
    const dir = project({
      'seeds/s.csv': 'a\n1\n',
      'models/v.sql': "{{ config(materialized='view') }}\nselect * from {{ ref('s') }}\n",
      'models/m.sql': "select count(*)::INTEGER as n from {{ ref('v') }}\n",
    });
    expect((await run({ project: dir, date: '2024-01-02', emit: () => undefined })).status).toBe('succeeded');
    appendFileSync(join(dir, 'seeds/s.csv'), '2\n');
    const events: PipeEvent[] = [];
    const outcome = await run({ project: dir, date: '2024-01-02', select: ['m'], threads: 4, emit: (e) => events.push(e) });
    expect(outcome.status).toBe('succeeded');
    const at = (type: string, model: string) => events.findIndex((e) => e.type === type && 'task' in e && e.task.model === model);
    expect(at('task-succeeded', 's')).toBeGreaterThanOrEqual(0);
    expect(at('task-succeeded', 's')).toBeLessThan(at('task-started', 'm'));
    expect(await query(dir, 'select n from m')).toEqual([{ n: 2 }]);

    // A seed that fails to load skips what reads it, and the published table stays.
    writeFileSync(join(dir, 'seeds/s.csv'), 'a\n3\nx\n');
    writeFileSync(join(dir, 'seeds/s.yaml'), 'column_types: {a: INTEGER}\n');
    const broken: PipeEvent[] = [];
    const failed = await run({ project: dir, date: '2024-01-02', select: ['m'], threads: 4, emit: (e) => broken.push(e) });
    expect(failed.status).toBe('failed');
    expect(broken.filter((e) => e.type === 'task-failed').map((e) => 'task' in e && e.task.model)).toEqual(['s']);
    expect(broken.filter((e) => e.type === 'task-skipped').map((e) => 'task' in e && e.task.model)).toEqual(['m']);
    expect(await query(dir, 'select n from m')).toEqual([{ n: 2 }]);
  });
});

describe('depends_on_past in pipe run', () => {
  it('skips a date whose previous date failed or was never built, with the reason; retry completes it once that date is built', async () => {
    const dir = project({
      'models/m.sql':
        "{{ config(materialized='incremental', partition_by='d', depends_on_past=true) }}\nselect date '{{ ds }}' as d, case when {{ var('broken', false) }} then cast('x' as int) else 1 end as v\n",
      'models/after_m.sql': "select count(*)::INTEGER as n from {{ ref('m') }}\n",
    });
    const runOf = async (date: string, vars: Record<string, unknown> = {}, ignore = false) => {
      const events: PipeEvent[] = [];
      const outcome = await run({ project: dir, date, vars, ignoreDependenciesOnPast: ignore, emit: (e) => events.push(e) });
      const skipped = events.flatMap((e) => (e.type === 'task-skipped' ? [`${e.task.model}:${e.reason}`] : []));
      return { runId: outcome.runId, status: outcome.status, skipped, detail: events.find((e) => e.type === 'task-skipped' && e.reason === 'depends-on-past') };
    };
    // The first date ever built waits for nothing.
    expect(await runOf('2024-01-02')).toMatchObject({ status: 'succeeded', skipped: [] });
    expect(await runOf('2024-01-03', { broken: true })).toMatchObject({ status: 'failed' });
    const blocked = await runOf('2024-01-04');
    expect(blocked).toMatchObject({ status: 'failed', skipped: ['m:depends-on-past', 'after_m:upstream-failed'] });
    expect(blocked.detail).toMatchObject({ detail: expect.stringContaining('m for 2024-01-03 has not succeeded') });
    expect(await query(dir, "select count(*)::INTEGER as n from m where d = '2024-01-04'")).toEqual([{ n: 0 }]);
    // Never built at all is the same as failed.
    const never = await runOf('2024-01-06');
    expect(never).toMatchObject({ skipped: ['m:depends-on-past', 'after_m:upstream-failed'] });
    expect(await runOf('2024-01-06', {}, true)).toMatchObject({ status: 'succeeded', skipped: [] });
    // Build the failed date, then the blocked run's retry runs it. The blocked 2024-01-06 run
    // was completed by the later one: history says so, and a bare retry passes it by.
    expect(await runOf('2024-01-03')).toMatchObject({ status: 'succeeded' });
    const runs = await query(dir, 'select run_id from _pipe.runs');
    expect(runs.length).toBe(6);
    const retried = await retry({ project: dir, emit: () => undefined });
    expect(retried).toMatchObject({ status: 'succeeded' });
    expect(await query(dir, `select parent_run_id from _pipe.runs where command = 'retry'`)).toEqual([{ parent_run_id: blocked.runId }]);
    const wh = await DuckDBWarehouse.open(join(dir, 'warehouse.duckdb'), { readOnly: true });
    const s = await wh.session();
    try {
      const listed = await listRuns(s, 20);
      expect(listed.find((r) => r.run_id === never.runId)).toMatchObject({ status: 'failed', completed_by: expect.any(String) });
    } finally {
      s.close();
      wh.close();
    }
    expect(await query(dir, "select count(*)::INTEGER as n from m where d = '2024-01-04'")).toEqual([{ n: 1 }]);
  });
});
