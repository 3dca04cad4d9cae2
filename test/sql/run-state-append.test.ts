import { afterEach, describe, expect, it } from 'vitest';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { ensureState, finishRunSql, readCatalog, insertRunSql, insertTasksSql, listRuns, recordsWorkers, recoverAfterCrash, runTasks, taskResultSql, taskSqlHashSql } from '../../src/warehouse/run-state.js';
import { insertBuildSql, readLatestBuilds, type BuildRecord } from '../../src/warehouse/build-records.js';
import type { WarehouseSession } from '../../src/warehouse/warehouse.js';
import { hostname } from 'node:os';

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
    // On a warehouse other processes write to, a run's process is asked after with the run's start
    // (a live process of its pid that started later is another one).
    const asked: unknown[] = [];
    const alive = (pid: number, host: string | null, startedMs: number | undefined) => (asked.push([pid, host, startedMs]), true);
    expect((await recoverAfterCrash(s, { alive })).interruptedRuns).toEqual([]);
    expect(asked).toEqual([[process.pid, hostname(), t0 + 2000]]);
    expect((await recoverAfterCrash(s)).interruptedRuns).toEqual(['dead']);
    expect((await listRuns(s, 10)).map((r) => [r.run_id, r.status])).toEqual([
      ['dead', 'succeeded'],
      ['r', 'failed'],
    ]);
  });

  it("is created as the warehouse's listing shows it missing, and sends nothing when it is all there", async () => {
    const s = await open();
    await ensureState(s);
    const listing = async () => (await readCatalog(s)).listed!;
    const whole = await listing();
    // All there: nothing is sent (a statement would fail here).
    let sent = 0;
    const counting = Object.create(s) as WarehouseSession;
    Object.defineProperty(counting, 'transaction', { value: (...a: Parameters<WarehouseSession['transaction']>) => (sent++, s.transaction(...a)) });
    await ensureState(counting, whole);
    expect(sent).toBe(0);
    // A table of it dropped (by hand): the listing shows it missing, and it is made again.
    await s.exec('DROP TABLE _pipe.check_results');
    await ensureState(counting, await listing());
    expect(sent).toBe(1);
    expect((await listing()).some((r) => r.schema === '_pipe' && r.name === 'check_results')).toBe(true);
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

  it("reads a task's success from its build's row, and the outcomes of an earlier pipe's table after moving it", async () => {
    const s = await open();
    // An earlier pipe: every outcome a row of the table task_results (before its worker and runner columns), builds without outcomes.
    await s.exec('CREATE SCHEMA _pipe');
    await s.exec(`CREATE TABLE _pipe.task_results (run_id VARCHAR, task_id VARCHAR, attempt INTEGER, status VARCHAR, started_at TIMESTAMP,
      ended_at TIMESTAMP, rows BIGINT, error VARCHAR, error_class VARCHAR, detail VARCHAR)`);
    await s.exec(`CREATE TABLE _pipe.builds (run_id VARCHAR, task_id VARCHAR, node VARCHAR, key VARCHAR, kind VARCHAR,
      interval_start BIGINT, interval_end BIGINT, sql_hash VARCHAR, config_hash VARCHAR, inputs JSON, version VARCHAR, untracked VARCHAR, built_at BIGINT)`);
    await s.exec(`INSERT INTO _pipe.task_results VALUES ('old', 'a', 1, 'failed', TIMESTAMP '2024-01-01', TIMESTAMP '2024-01-01 00:00:01', NULL, 'boom', 'permanent', NULL),
      ('old', 'a', 2, 'succeeded', TIMESTAMP '2024-01-01 00:00:02', TIMESTAMP '2024-01-01 00:00:03', 5, NULL, NULL, NULL)`);
    const build = (runId: string, taskId: string, builtAt: number): BuildRecord => ({ runId, taskId, node: 'a', key: '', sqlHash: 'h', configHash: 'c', inputs: {}, version: 'v', builtAt });
    await s.exec(insertBuildSql(build('old', 'a', t0 - 86_400_000)));
    expect(await recordsWorkers(s)).toBe(false);
    await ensureState(s);
    await ensureState(s);
    expect(await recordsWorkers(s)).toBe(true);
    // A run of this pipe: a failed attempt in a row of its own, the success in the build's row.
    await s.exec(taskResultSql({ runId: 'new', taskId: 'a', attempt: 1, status: 'failed', startedAt: t0, endedAt: t0 + 1000, error: 'again', worker: 2 }));
    await s.exec(insertBuildSql(build('new', 'a', t0 + 2000), { attempt: 2, startedAt: t0 + 2000, endedAt: t0 + 3000, rows: 7, worker: 2, runner: 'w1' }));
    const results = `SELECT run_id, task_id, attempt, status, started_at::VARCHAR AS started_at, ended_at::VARCHAR AS ended_at, rows::INTEGER AS rows, error, worker, runner
      FROM _pipe.task_results ORDER BY run_id DESC, attempt`;
    expect(await s.query(results)).toEqual([
      { run_id: 'old', task_id: 'a', attempt: 1, status: 'failed', started_at: '2024-01-01 00:00:00', ended_at: '2024-01-01 00:00:01', rows: null, error: 'boom', worker: null, runner: null },
      { run_id: 'old', task_id: 'a', attempt: 2, status: 'succeeded', started_at: '2024-01-01 00:00:02', ended_at: '2024-01-01 00:00:03', rows: 5, error: null, worker: null, runner: null },
      { run_id: 'new', task_id: 'a', attempt: 1, status: 'failed', started_at: '2024-01-02 00:00:00', ended_at: '2024-01-02 00:00:01', rows: null, error: 'again', worker: 2, runner: null },
      { run_id: 'new', task_id: 'a', attempt: 2, status: 'succeeded', started_at: '2024-01-02 00:00:02', ended_at: '2024-01-02 00:00:03', rows: 7, error: null, worker: 2, runner: 'w1' },
    ]);
    // Both builds still count: the one recorded before the move, and the one carrying its success.
    // The latest carries how long its attempt took (what decides whether its next task may share a commit).
    expect((await readLatestBuilds(s)).build('a', '')).toMatchObject({ runId: 'new', taskId: 'a', tookMs: 1000 });
    expect(await s.query("SELECT count(*)::INTEGER AS n FROM _pipe.builds WHERE kind = 'build'")).toEqual([{ n: 2 }]);
    // The relation a build wrote came later too: the earlier builds tell none, this pipe's do.
    await s.exec(insertBuildSql({ ...build('newer', 'b', t0 + 4000), node: 'b', relation: '"main"."A"' }));
    const latest = await readLatestBuilds(s);
    expect(latest.writeOf('"main"."a"', 'b')).toEqual({ node: 'b', runId: 'newer', builtAt: t0 + 4000 });
    expect(latest.otherWriterSince('"main"."a"', 'a', t0 + 3000)).toEqual({ node: 'b', runId: 'newer', builtAt: t0 + 4000 });
    expect(latest.writeOf('"main"."c"', 'b')).toBeUndefined();
  });
});
