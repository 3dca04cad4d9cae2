import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { attachLakeSql } from '../../src/warehouse/ducklake/ducklake-warehouse.js';
import type { LakeTarget } from '../../src/warehouse/warehouse-setup.js';
import { explain, ModelGate, removeTempDirs, tempDir, writeProjectFiles } from '../e2e/helpers.js';
import { runIn } from '../support/in-process.js';
import { lakeInstances } from '../support/lake-instances.js';
import { createDatabase, testPostgres } from '../support/postgres.js';

/**
 * Two runs building one table of a lake at once (two coordinators, or a run beside a
 * backfill): the commit that comes second loses to the first. The task that lost says so in
 * words, naming the other run and what to do, not with the lake's own "Transaction conflict".
 */

const pg0 = await testPostgres();
lakeInstances();
afterAll(() => removeTempDirs());

describe.skipIf(!pg0)('a table built by two runs at once', () => {
  it('fails the task that lost, naming the other run still running and pipe retry', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const gate = new ModelGate(dir);
    const db = createDatabase(pg0!, `conflict_${process.pid}`);
    writeProjectFiles(dir, {
      'pipe.yaml': `name: conflict\nwarehouse:\n  type: ducklake\n  catalog: postgres:${pg0!.connection(db)}\n  data_path: lake/\n`,
      'models/dim.sql': `{{ config(materialized='table') }}\nselect 1 as id where ${gate.sql} >= 0\n`,
    });
    const lake: LakeTarget = { catalog: { kind: 'postgres', connection: pg0!.connection(db) }, dataPath: join(dir, 'lake/'), shown: db, source: { owner: 'test' } };
    // While this run's task reads the gate, another run (still running, on another machine) builds the same table and commits first.
    const held = gate.reached();
    const second = runIn(dir, { date: '2024-01-01' });
    const release = await held;
    const other = await (await DuckDBInstance.create(':memory:')).connect();
    await other.run(attachLakeSql(lake, false));
    await other.run(`USE lake;
      INSERT INTO _pipe.run_starts (run_id, command, status, started_at, pid, host) VALUES ('other-run', 'backfill', 'running', now()::TIMESTAMP, 4242, 'elsewhere');
      INSERT INTO _pipe.planned_tasks (run_id, task_id, node) VALUES ('other-run', 'dim@2024-01-01', 'dim');
      CREATE TABLE main.__pipe_stage__dim__20240101 AS SELECT 2 AS id;`);
    other.closeSync();
    release();
    const done = await second;
    expect(done.code, explain(done)).toBe(1);
    const failed = done.events.find((e) => e.type === 'task-failed') as { error: { message: string } } | undefined;
    expect(failed?.error.message, explain(done)).toMatch(
      /^run other-run \(pipe backfill on elsewhere:4242\), still running, builds dim at the same time, and this task's commit lost to it .*pipe retry \S+ builds it again/,
    );
    expect(done.stdout).not.toMatch(/^\s*TransactionContext Error/m);
  });
});
