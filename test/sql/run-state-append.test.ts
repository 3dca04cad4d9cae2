import { afterEach, describe, expect, it } from 'vitest';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { ensureState, finishRunSql, insertRunSql, insertTasksSql, listRuns, recoverAfterCrash, runTasks, taskSqlHashSql } from '../../src/warehouse/run-state.js';
import type { WarehouseSession } from '../../src/warehouse/warehouse.js';

/**
 * The run state is appended to, never updated (writers of a lake must not conflict on it):
 * a run's end and a task's rendered hash are rows of their own, and `_pipe.runs` and
 * `_pipe.tasks` read them together. A warehouse of an earlier pipe, whose rows were updated,
 * reads the same once moved.
 */

let warehouse: DuckDBWarehouse | undefined;
let s: WarehouseSession | undefined;
afterEach(() => {
  s?.close();
  warehouse?.close();
});

async function open(): Promise<WarehouseSession> {
  warehouse = await DuckDBWarehouse.open(':memory:');
  s = await warehouse.session();
  return s;
}

const t0 = Date.parse('2024-01-02T00:00:00Z');

describe('append-only run state', () => {
  it('records ends and hashes as new rows; the views show the latest', async () => {
    const s = await open();
    await ensureState(s);
    await s.exec(insertRunSql({ runId: 'r', command: 'run', params: {}, startedAt: t0, version: 'test' }));
    for (const sql of insertTasksSql('r', [{ id: 't', node: 't', kind: 'table', upstream: [], sqlHash: 'planned' }])) await s.exec(sql);
    await s.exec(taskSqlHashSql('r', 't', 'ran'));
    await s.exec(finishRunSql('r', 'failed', t0 + 1000));
    expect(await s.query("SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE schema_name = '_pipe' AND table_name IN ('runs', 'tasks')")).toEqual([{ n: 0 }]);
    expect(await s.query('SELECT run_id, status FROM _pipe.run_starts')).toEqual([{ run_id: 'r', status: 'running' }]);
    expect(await s.query('SELECT status, ended_at::VARCHAR AS ended_at FROM _pipe.runs')).toEqual([{ status: 'failed', ended_at: '2024-01-02 00:00:01' }]);
    expect((await runTasks(s, 'r'))[0]).toMatchObject({ task_id: 't', sql_hash: 'ran' });
    // A crashed run recovered: its end is appended too.
    await s.exec(insertRunSql({ runId: 'dead', command: 'run', params: {}, startedAt: t0 + 2000, version: 'test' }));
    expect((await recoverAfterCrash(s)).interruptedRuns).toEqual(['dead']);
    expect((await listRuns(s, 10)).map((r) => [r.run_id, r.status])).toEqual([
      ['dead', 'succeeded'],
      ['r', 'failed'],
    ]);
  });

  it('moves the updated tables of an earlier pipe, their rows kept', async () => {
    const s = await open();
    await s.exec('CREATE SCHEMA _pipe');
    await s.exec(`CREATE TABLE _pipe.runs (run_id VARCHAR, command VARCHAR, pipeline VARCHAR, params JSON, status VARCHAR,
      started_at TIMESTAMP, ended_at TIMESTAMP, parent_run_id VARCHAR, pid INTEGER, version VARCHAR)`);
    await s.exec(`CREATE TABLE _pipe.tasks (run_id VARCHAR, task_id VARCHAR, node VARCHAR, kind VARCHAR, ds VARCHAR,
      interval_start TIMESTAMP, interval_end TIMESTAMP, upstream JSON, sql_hash VARCHAR, seq INTEGER)`);
    await s.exec(`INSERT INTO _pipe.runs VALUES ('old', 'run', NULL, '{}', 'succeeded', TIMESTAMP '2024-01-01', TIMESTAMP '2024-01-01 00:01', NULL, 1, 'old')`);
    await s.exec(`INSERT INTO _pipe.tasks VALUES ('old', 't', 't', 'table', NULL, NULL, NULL, '[]', 'h', 0)`);
    await ensureState(s);
    await ensureState(s);
    expect(await s.query('SELECT run_id, status, host FROM _pipe.runs')).toEqual([{ run_id: 'old', status: 'succeeded', host: null }]);
    expect((await runTasks(s, 'old'))[0]).toMatchObject({ task_id: 't', sql_hash: 'h' });
  });
});
