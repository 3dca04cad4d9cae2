import { afterEach, describe, expect, it } from 'vitest';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { ensureState, finishRunSql, insertRunSql, readScheduleState, scheduledSql } from '../../src/warehouse/run-state.js';
import type { WarehouseSession } from '../../src/warehouse/warehouse.js';

/**
 * What the scheduler reads of what it triggered: an interval is unfinished while no run of it
 * has an outcome and none resumed it, including one whose run was never recorded (it could not
 * start), which the scheduler would otherwise count as handled and leave out.
 */

let warehouse: DuckDBWarehouse | undefined;
let s: WarehouseSession | undefined;
afterEach(() => {
  s?.close();
  warehouse?.close();
});

const t0 = Date.parse('2024-01-05T02:00:00Z');
const day = 86_400_000;

describe('the schedule state', () => {
  it('counts a triggered interval whose run was never recorded as unfinished, until a run resumes it', async () => {
    warehouse = await DuckDBWarehouse.open(':memory:');
    s = await warehouse.session();
    await ensureState(s);
    const run = (runId: string, parentRunId?: string) => insertRunSql({ runId, command: 'run', pipeline: 'nightly', params: {}, startedAt: t0 + 1000, version: 'test', parentRunId });
    // 2024-01-02 succeeded; 2024-01-03 was interrupted; 2024-01-04 could not start.
    await s.exec(scheduledSql('nightly', t0 - 2 * day, '2024-01-02', 'ok', t0 - 2 * day));
    await s.exec(run('ok'));
    await s.exec(finishRunSql('ok', 'succeeded', t0));
    await s.exec(scheduledSql('nightly', t0 - day, '2024-01-03', 'cut', t0 - day));
    await s.exec(run('cut'));
    await s.exec(finishRunSql('cut', 'interrupted', t0));
    await s.exec(scheduledSql('nightly', t0, '2024-01-04', 'never-recorded', t0));
    const state = await readScheduleState(s);
    expect(state.lastFire.get('nightly')).toBe(t0);
    expect(state.unfinished.get('nightly')?.map((u) => [u.label, u.runId])).toEqual([
      ['2024-01-03', 'cut'],
      ['2024-01-04', 'never-recorded'],
    ]);
    // Resumed (a run linked to it), the interval is that run's: unfinished only while it is.
    await s.exec(scheduledSql('nightly', t0, '2024-01-04', 'resume', t0 + day));
    await s.exec(run('resume', 'never-recorded'));
    await s.exec(finishRunSql('resume', 'succeeded', t0 + day));
    expect((await readScheduleState(s)).unfinished.get('nightly')?.map((u) => u.runId)).toEqual(['cut']);
  });
});
