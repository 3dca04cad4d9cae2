import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openProject, warehouseAhead } from '../../src/commands/open-project.js';
import type { ProjectOptions } from '../../src/commands/context.js';
import { eventsOfType, explain, queryRows, removeTempDirs, tempDir, writeProjectFiles } from '../e2e/helpers.js';
import { backfillIn, runIn } from '../support/in-process.js';

/**
 * pipe run and pipe backfill open an existing warehouse while the project loads (DuckDB reads
 * the file's catalog on a thread of its own). What is opened ahead must be the file, opened the
 * way, that the loaded project opens; and a run refused before it starts must leave the file
 * as it was and free.
 */

const saved = { HOME: process.env.HOME, DBT_PROFILES_DIR: process.env.DBT_PROFILES_DIR, DBT_TARGET: process.env.DBT_TARGET };

beforeAll(() => {
  process.env.HOME = tempDir();
  delete process.env.DBT_PROFILES_DIR;
  delete process.env.DBT_TARGET;
});

afterAll(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  removeTempDirs();
});

function projectWith(files: Record<string, string>): string {
  const dir = tempDir();
  writeProjectFiles(dir, files);
  return dir;
}

const DBT = {
  'dbt_project.yml': "name: shop\nversion: '1.0'\nprofile: shop\n",
  'models/one.sql': 'select 1 as n\n',
};
const profile = (dev: string) => `shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n${dev}    prod:\n      type: duckdb\n      path: prod.duckdb\n`;

describe('the warehouse opened ahead is the one the project opens', () => {
  const cases: [string, Record<string, string>, Omit<ProjectOptions, 'project'>][] = [
    ['a pipe project with no warehouse: set', { 'pipe.yaml': 'name: p\n', 'models/one.sql': 'select 1 as n\n' }, {}],
    ['pipe.yaml naming the file, with DuckDB settings', { 'pipe.yaml': 'name: p\nwarehouse: data/w.duckdb\nsettings:\n  threads: 1\n', 'models/one.sql': 'select 1 as n\n' }, {}],
    ['--db over pipe.yaml', { 'pipe.yaml': 'name: p\nwarehouse: data/w.duckdb\n', 'models/one.sql': 'select 1 as n\n' }, { db: 'other.duckdb' }],
    ['a dbt profile with settings', { ...DBT, 'profiles.yml': profile("      path: \"{{ env_var('WH_DIR', 'dev') }}/dev.duckdb\"\n      settings:\n        threads: 1\n") }, {}],
    ['a dbt profile, --target', { ...DBT, 'profiles.yml': profile('      path: dev.duckdb\n') }, { target: 'prod' }],
    ['pipe.yaml over the profile', { ...DBT, 'pipe.yaml': 'warehouse: mine.duckdb\n', 'profiles.yml': profile('      path: dev.duckdb\n') }, {}],
  ];
  for (const [what, files, options] of cases) {
    it(what, () => {
      const dir = projectWith(files);
      const ahead = warehouseAhead({ project: dir, ...options });
      const project = openProject({ project: dir, ...options });
      expect(ahead).toEqual({ path: project.warehousePath, setup: project.warehouseSetup });
    });
  }

  it('none for a lake, or settings openProject refuses', () => {
    const lake = projectWith({ 'pipe.yaml': 'name: p\nlake:\n  catalog: lake.ducklake\n  data_path: lake_files\n', 'models/one.sql': 'select 1 as n\n' });
    expect(warehouseAhead({ project: lake })).toBeUndefined();
    const broken = projectWith({ ...DBT, 'profiles.yml': profile('      path: [not, a, path]\n') });
    expect(warehouseAhead({ project: broken })).toBeUndefined();
    expect(() => openProject({ project: broken })).toThrow();
  });
});

describe('a run on an existing warehouse', () => {
  const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

  it('refused before it starts leaves the file byte for byte as it was, and free for others', async () => {
    const dir = projectWith({ 'pipe.yaml': 'name: p\n', 'models/one.sql': 'select 1 as n\n', 'models/two.sql': "select n + 1 as n from {{ ref('one') }}\n" });
    const db = join(dir, 'warehouse.duckdb');
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const before = digest(db);
    // Refused as the project is analyzed (after it loaded, the file opened ahead).
    writeProjectFiles(dir, { 'models/two.sql': "select n from {{ ref('missing') }}\n" });
    const refused = await runIn(dir, { date: '2024-01-02' });
    expect(refused.code, explain(refused)).toBe(2);
    // Refused as the project loads.
    writeProjectFiles(dir, { 'pipe.yaml': 'name: p\nthreads: many\n' });
    const unloadable = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-02' });
    expect(unloadable.code, explain(unloadable)).toBe(2);
    expect(digest(db)).toBe(before);
    expect(existsSync(`${db}.pipe-holder.json`)).toBe(false);
    // DuckDB refuses a second open of a file in the process that holds it: this one is let go.
    const other = await DuckDBInstance.create(db);
    other.closeSync();
  });

  it('builds as before, and lets go of the file when it ends', async () => {
    const dir = projectWith({ 'pipe.yaml': 'name: p\n', 'models/one.sql': "select 1 as n, '{{ ds }}' as ds\n" });
    const db = join(dir, 'warehouse.duckdb');
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const again = await runIn(dir, { date: '2024-01-03' });
    expect(again.code, explain(again)).toBe(0);
    expect(eventsOfType(again.events, 'task-succeeded').map((e) => e.task.id)).toEqual(['one@2024-01-03']);
    const backfill = await backfillIn(dir, { start: '2024-01-04', end: '2024-01-05' });
    expect(backfill.code, explain(backfill)).toBe(0);
    expect(await queryRows(db, 'select ds from one')).toEqual([{ ds: '2024-01-05' }]);
    expect(existsSync(`${db}.pipe-holder.json`)).toBe(false);
  });
});
