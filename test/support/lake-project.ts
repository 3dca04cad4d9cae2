import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { LakeTarget } from '../../src/warehouse/warehouse-setup.js';
import { killRunning, removeTempDirs, tempDir, writeProjectFiles } from '../e2e/helpers.js';
import { lakeInstances } from './lake-instances.js';
import { createDatabase, type TestPostgres } from './postgres.js';

/**
 * A test file of lakes whose catalog is in the run's Postgres, with `pipe` processes (workers,
 * coordinators) of its own: its DuckDB instances set up for lakes, and every process it
 * started killed when its tests are done. The processes connect as the user the environment
 * names (ENV), as a project's `${env:…}` catalog string is meant to be filled.
 */
export const ENV = { PIPE_TEST_PGUSER: 'postgres' };

export function lakeProcessesFile(): void {
  lakeInstances();
  process.env.PIPE_TEST_PGUSER = ENV.PIPE_TEST_PGUSER;
  afterAll(async () => {
    await killRunning();
    removeTempDirs();
  });
}

/** A project of its own on a new database of `pg0`, its data under its folder's `lake/`. */
export function lakeProjectOn(pg0: TestPostgres, name: string, files: Record<string, string>): { dir: string; db: string; lake: LakeTarget } {
  const dir = tempDir();
  const db = createDatabase(pg0, `${name}_${process.pid}`);
  writeProjectFiles(dir, {
    'pipe.yaml': `name: ${name}\nwarehouse:\n  type: ducklake\n  catalog: postgres:${pg0.connection(db).replace('user=postgres', 'user=${env:PIPE_TEST_PGUSER}')}\n  data_path: lake/\n`,
    ...files,
  });
  return { dir, db, lake: { catalog: { kind: 'postgres', connection: pg0.connection(db) }, dataPath: join(dir, 'lake/'), shown: db, source: { owner: 'test' } } };
}
