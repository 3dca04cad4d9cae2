import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diagnosticsOf, queryRows, removeTempDirs, tempDir, warehouseOf, writeProjectFiles } from '../e2e/helpers.js';
import { runIn } from '../support/in-process.js';

afterAll(removeTempDirs);

/**
 * dbt-duckdb's external materialization on a real warehouse: the file written where
 * `location` says (by default `<name>.parquet` in the project folder) under a temporary name,
 * then renamed into place, and a view over it, as dbt-duckdb creates it.
 */

function project(files: Record<string, string>): string {
  const dir = tempDir();
  writeProjectFiles(dir, { 'pipe.yaml': 'warehouse: warehouse.duckdb\n', 'dbt_project.yml': 'name: shop\n', ...files });
  return dir;
}

/** The whole content of an open file, from its start. */
function readAll(fd: number): Buffer {
  const chunks: Buffer[] = [];
  const buffer = Buffer.alloc(64 * 1024);
  for (let at = 0; ; ) {
    const n = readSync(fd, buffer, 0, buffer.length, at);
    if (n === 0) return Buffer.concat(chunks);
    chunks.push(Buffer.from(buffer.subarray(0, n)));
    at += n;
  }
}

describe('external models', () => {
  it('write the file under a temporary name and rename it: a reader of the old file keeps reading all of it', async () => {
    const model = (n: number) => `{{ config(materialized='external') }}\nselect range AS id, 'v${n}' AS version from range(${n * 1000})`;
    const dir = project({ 'models/events.sql': model(1) });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const file = join(dir, 'events.parquet');
    const reader = openSync(file, 'r');
    try {
      const before = readAll(reader);
      // What a run killed as it wrote the file left beside it (kill -9): the next build of the file removes it.
      writeProjectFiles(dir, { 'models/events.sql': model(50), '.events.parquet.20231231T000000-dead.pipe-tmp': 'part of a file' });
      expect((await runIn(dir, { date: '2024-01-03' })).code).toBe(0);
      // The open file is the old one, whole: the new rows went to another file, renamed over it.
      expect(readAll(reader).equals(before)).toBe(true);
    } finally {
      closeSync(reader);
    }
    const db = warehouseOf(dir);
    expect(await queryRows(db, 'SELECT count(*) AS n, min(version) AS v FROM main.events')).toEqual([{ n: '50000', v: 'v50' }]);
    expect(await queryRows(db, "SELECT sql FROM duckdb_views() WHERE view_name = 'events'")).toEqual([
      { sql: `CREATE VIEW events AS SELECT * FROM read_parquet('${file}', (union_by_name = CAST('f' AS BOOLEAN)));` },
    ]);
    expect(readdirSync(dir).filter((f) => f.includes('pipe-tmp'))).toEqual([]);
  });

  it('write csv with a delimiter and json where location says, and an empty result as dbt-duckdb does', async () => {
    const dir = project({
      'models/report.sql': "{{ config(materialized='external', location='out/report.csv', delimiter='|') }}\nselect 1 as id, 'a,b' as label",
      'models/feed.sql': "{{ config(materialized='external', location='out/feed.json') }}\nselect 1 as id",
      'models/nothing.sql': "{{ config(materialized='external', format='csv') }}\nselect 1 as id, 'x' as label where false",
    });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const db = warehouseOf(dir);
    expect(await queryRows(db, 'SELECT * FROM main.report')).toEqual([{ id: '1', label: 'a,b' }]);
    expect(await queryRows(db, 'SELECT * FROM main.feed')).toEqual([{ id: '1' }]);
    // No rows: one row of NULLs in the file keeps the columns, and the view leaves it out.
    expect(await queryRows(db, 'SELECT count(*) AS n FROM main.nothing')).toEqual([{ n: '0' }]);
    expect(await queryRows(db, "SELECT column_name FROM duckdb_columns() WHERE table_name = 'nothing' ORDER BY column_index")).toEqual([
      { column_name: 'id' },
      { column_name: 'label' },
    ]);
    expect(existsSync(join(dir, 'nothing.csv'))).toBe(true);
  });

  it('two that would write one file are refused before anything runs, at the lines that set it', async () => {
    const dir = project({
      'models/m1.sql': "{{ config(materialized='external', location='out.csv') }}\nselect 1 as a",
      'models/m2.sql': "{{ config(materialized='external', location='./out.csv') }}\nselect 'two' as b, 2 as c",
      // A location the default of another (report.csv, in the project folder) meets.
      'models/report.sql': "{{ config(materialized='external', format='csv') }}\nselect 3 as d",
      'models/copy.sql': "{{\n  config(\n    materialized='external',\n    location='report.csv'\n  )\n}}\nselect 4 as e",
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.events.filter((e) => e.type === 'task-started')).toEqual([]);
    expect(existsSync(join(dir, 'out.csv'))).toBe(false);
    expect(diagnosticsOf(r.events).filter((d) => d.code === 'duplicate-file')).toEqual([
      expect.objectContaining({ message: 'm1 and m2 would both write the file out.csv', location: expect.objectContaining({ file: 'models/m2.sql', line: 1 }) }),
      expect.objectContaining({ message: 'copy and report would both write the file report.csv', location: expect.objectContaining({ file: 'models/report.sql', line: 1 }) }),
    ]);
    expect(r.stderr).toContain('models/copy.sql:4');
  });

  it("a location with Jinja, which dbt-duckdb renders as the model runs, is refused at its line rather than written as a file named with the braces", async () => {
    const dir = project({ 'models/s1.sql': "{{ config(materialized='external', location='out/{{ this.identifier }}.csv') }}\nselect 1 as a" });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(diagnosticsOf(r.events).map((d) => [d.code, d.message, d.location?.line])).toEqual([
      ['bad-config', "location holds Jinja (out/{{ this.identifier }}.csv), which dbt-duckdb renders as the model runs and pipe does not: write the path out, or leave location out for the file <external_root>/<the model's name>.<format>", 1],
    ]);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('two that would write one file through a linked folder are refused as well', async () => {
    const dir = project({
      'models/a.sql': "{{ config(materialized='external', location='out/x.csv') }}\nselect 1 as a",
      'models/b.sql': "{{ config(materialized='external', location='lnk/x.csv') }}\nselect 2 as b",
    });
    mkdirSync(join(dir, 'out'));
    symlinkSync('out', join(dir, 'lnk'));
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(diagnosticsOf(r.events).map((d) => [d.code, d.message])).toEqual([['duplicate-file', 'a and b would both write the file lnk/x.csv']]);
  });

  it("go to the profile's external_root when location is not set, as dbt-duckdb's default", async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'dbt_project.yml': 'name: shop\nprofile: shop\n',
      'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      external_root: lake\n',
      'models/events.sql': "{{ config(materialized='external', format='json') }}\nselect 1 as id",
    });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    expect(existsSync(join(dir, 'lake', 'events.json'))).toBe(true);
    expect(await queryRows(join(dir, 'dev.duckdb'), 'SELECT id FROM main.events')).toEqual([{ id: '1' }]);
  });

  it("are read by a selection that does not build them, with dbt-duckdb's register_upstream_external_models() in on-run-start", async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'dbt_project.yml': 'name: shop\non-run-start:\n  - "{{ register_upstream_external_models() }}"\n',
      'pipe.yaml': 'warehouse: warehouse.duckdb\n',
      'models/events.sql': "{{ config(materialized='external') }}\nselect 7 as id",
      'models/counted.sql': "{{ config(materialized='table') }}\nselect count(*) as n, max(id) as id from {{ ref('events') }}",
    });
    const first = await runIn(dir, { date: '2024-01-02' });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const again = await runIn(dir, { date: '2024-01-03', select: ['counted'], force: true });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(await queryRows(warehouseOf(dir), 'SELECT n, id FROM main.counted')).toEqual([{ n: '1', id: 7 }]);
  });

  it("are published only once their checks pass: a failing test leaves the file and the view as they were, as a table's build is rolled back", async () => {
    const model = (ids: string) => `{{ config(materialized='external', location='out/events.parquet') }}\nselect * from (values ${ids}) t(id)`;
    const dir = project({
      'models/events.sql': model('(1), (2)'),
      // A dbt test reads the model by name (the view), a column check of pipe's the staged rows.
      'models/events.yml': 'version: 2\nmodels:\n  - name: events\n    columns:\n      - name: id\n        data_tests: [unique]\n',
      'models/flagged.sql': "{{ config(materialized='external', location='out/flagged.csv') }}\nselect 1 as id, null as label",
      'models/flagged.yaml': 'checks:\n  not_null: [label]\n',
    });
    expect((await runIn(dir, { date: '2024-01-02', select: ['events'] })).code).toBe(0);
    const file = join(dir, 'out', 'events.parquet');
    const before = readFileSync(file);
    writeProjectFiles(dir, { 'models/events.sql': model('(1), (2), (2)') });
    const r = await runIn(dir, { date: '2024-01-03' });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain('test unique_events_id failed: got 1 result');
    expect(r.stdout).toMatch(/FAIL +flagged/);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(await queryRows(warehouseOf(dir), 'SELECT count(*)::INTEGER AS n FROM main.events')).toEqual([{ n: 2 }]);
    // Nothing of the failed builds is left: no temporary file, no file of the model never published.
    expect(readdirSync(join(dir, 'out'))).toEqual(['events.parquet']);
    // Passing again, the new file is put in place and the view reads it there, not the temporary
    // name; a post-hook reading the file where it is written reads the new rows, as dbt-duckdb's does.
    const hook = `{{ config(post_hook="create or replace table main.audit as select max(id) as m from read_parquet('${file}')") }}\n`;
    writeProjectFiles(dir, { 'models/events.sql': hook + model('(1), (2), (3)') });
    expect((await runIn(dir, { date: '2024-01-04', select: ['events'] })).code).toBe(0);
    expect(await queryRows(warehouseOf(dir), 'SELECT count(*)::INTEGER AS n FROM main.events')).toEqual([{ n: 3 }]);
    expect(await queryRows(warehouseOf(dir), 'SELECT m FROM main.audit')).toEqual([{ m: 3 }]);
    expect(await queryRows(warehouseOf(dir), "SELECT sql FROM duckdb_views() WHERE view_name = 'events'")).toEqual([
      { sql: `CREATE VIEW events AS SELECT * FROM read_parquet('${file}', (union_by_name = CAST('f' AS BOOLEAN)));` },
    ]);
  });

  it('a file that cannot be put in place fails the model, leaves no temporary file and keeps the view as it was', async () => {
    const dir = project({ 'models/events.sql': "{{ config(materialized='external', location='out/events.parquet') }}\nselect 1 as id" });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    writeProjectFiles(dir, { 'models/events.sql': "{{ config(materialized='external', location='out/taken') }}\nselect 2 as id" });
    mkdirSync(join(dir, 'out', 'taken', 'inside'), { recursive: true });
    const r = await runIn(dir, { date: '2024-01-03' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`the file of events cannot be written to ${join(dir, 'out', 'taken')}: `);
    expect(readdirSync(join(dir, 'out')).sort()).toEqual(['events.parquet', 'taken']);
    expect(await queryRows(warehouseOf(dir), 'SELECT id FROM main.events')).toEqual([{ id: 1 }]);
  });
});
