import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import type { UiRunDetail, UiRuns } from '../../src/ui/api.js';
import { attachLakeSql } from '../../src/warehouse/ducklake/ducklake-warehouse.js';
import type { LakeTarget } from '../../src/warehouse/warehouse-setup.js';
import { explain, removeTempDirs, tempDir, writeProjectFiles } from '../e2e/helpers.js';
import { historyIn, runIn } from '../support/in-process.js';
import { lakeInstances } from '../support/lake-instances.js';
import { createDatabase, testPostgres } from '../support/postgres.js';
import { serve, stubAssets } from '../ui/ui-fixture.js';

/**
 * `pipe ui` on a lake whose catalog is in Postgres: other processes write it while the page
 * reads it, so a run marked running may be running (a DuckDB file read is held by no pipe, and
 * its running runs died). The page says what `pipe history` says.
 */

const pg0 = await testPostgres();
lakeInstances();
afterAll(() => removeTempDirs());

describe.skipIf(!pg0)('pipe ui on a lake', () => {
  it("shows another machine's run as running, as pipe history does, not as interrupted", { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const db = createDatabase(pg0!, `ui_runs_${process.pid}`);
    writeProjectFiles(dir, {
      'pipe.yaml': `name: uiruns\nwarehouse:\n  type: ducklake\n  catalog: postgres:${pg0!.connection(db)}\n  data_path: lake/\n`,
      'models/dim.sql': "{{ config(materialized='table') }}\nselect 1 as id\n",
    });
    const first = await runIn(dir, { date: '2024-01-01' });
    expect(first.code, explain(first)).toBe(0);
    const lake: LakeTarget = { catalog: { kind: 'postgres', connection: pg0!.connection(db) }, dataPath: join(dir, 'lake/'), shown: db, source: { owner: 'test' } };
    const other = await (await DuckDBInstance.create(':memory:')).connect();
    await other.run(attachLakeSql(lake, false));
    await other.run(`USE lake;
      INSERT INTO _pipe.run_starts (run_id, command, params, status, started_at, pid, host) VALUES ('other-run', 'backfill', '{"start": "2024-01-01", "end": "2024-01-02"}', 'running', now()::TIMESTAMP, 4242, 'elsewhere');`);
    other.closeSync();
    const history = await historyIn(dir, { json: true });
    expect(history.stdout).toContain('"status":"running"');
    const server = await serve(dir, stubAssets());
    try {
      const list = (await (await fetch(new URL('/api/runs', server.url))).json()) as UiRuns;
      expect(list.runs.find((r) => r.run_id === 'other-run')?.status).toBe('running');
      const one = (await (await fetch(new URL('/api/runs/other-run', server.url))).json()) as UiRunDetail;
      expect(one.run.status).toBe('running');
    } finally {
      await server.close();
    }
  });
});
