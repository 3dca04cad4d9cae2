import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/execute/engine.js';
import type { LakeTarget } from '../../src/warehouse/warehouse-setup.js';
import { attachLakeSql } from '../../src/warehouse/ducklake/ducklake-warehouse.js';
import { DUCKLAKE, isCommitConflict } from '../../src/warehouse/ducklake/dialect.js';
import { eventsOfType, explain, ModelGate, REPO, removeTempDirs, RunningPipe, taskIdsOf, tempDir, writeProjectFiles } from '../e2e/helpers.js';
import { backfillIn, historyIn, retryIn, runIn, showIn } from '../support/in-process.js';
import { lakeRows } from '../support/lake-rows.js';
import { lakeInstances } from '../support/lake-instances.js';
import { createDatabase, freePort, testPostgres, type TestPostgres } from '../support/postgres.js';

/**
 * A DuckLake warehouse with a real Postgres catalog (one cluster for the test run, a database
 * per project): the guarantees of a DuckDB file hold on it, and readers in other processes
 * never wait for a writer. Skipped where Postgres or the extensions are missing, unless
 * PIPE_REQUIRE_POSTGRES=1.
 */

const pg: TestPostgres | undefined = await testPostgres();
lakeInstances();
afterAll(removeTempDirs);

let databases = 0;

/** A project on a new lake of its own: an hourly-free table model `a` and a daily partitioned `b`. */
function lakeProject(files: Record<string, string> = {}): { dir: string; lake: LakeTarget } {
  const dir = tempDir();
  const db = createDatabase(pg!, `lake_${process.pid}_${++databases}`);
  writeProjectFiles(dir, {
    'pipe.yaml': `name: lakeproj
warehouse:
  type: ducklake
  catalog: postgres:${pg!.connection(db).replace('user=postgres', 'user=${env:PIPE_TEST_PGUSER}')}
  data_path: lake/
`,
    'models/a.sql': "{{ config(materialized='table') }}\nselect '{{ ds }}' as built_for, 1 as n\n",
    'models/b.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect cast('{{ ds }}' as date) as d, n from {{ ref('a') }}\n",
    ...files,
  });
  const lake: LakeTarget = { catalog: { kind: 'postgres', connection: pg!.connection(db) }, dataPath: join(dir, 'lake/'), shown: db, source: { owner: 'test' } };
  return { dir, lake };
}
process.env.PIPE_TEST_PGUSER = 'postgres';

/**
 * Another process, as any DuckDB client attaching the lake: each line it is sent is a query,
 * run on the lake attached anew (its last commit), and answered by a line of JSON rows. It
 * loads the extension files whose signature this process has checked without checking them
 * again (a third of a second of CPU): it is the test's reader, not pipe.
 */
function lakeReaderElsewhere(lake: LakeTarget): { read(sql: string): Promise<unknown[]>; close(): void } {
  const script = `
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const { createInterface } = await import('node:readline');
    const c = await (await DuckDBInstance.create(':memory:', { allow_unsigned_extensions: 'true' })).connect();
    for await (const sql of createInterface({ input: process.stdin })) {
      await c.run(process.argv[1] + '; USE lake');
      const rows = (await c.runAndReadAll(sql)).getRowObjectsJson();
      await c.run('USE memory; DETACH lake');
      process.stdout.write(JSON.stringify(rows) + '\\n');
    }
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, attachLakeSql(lake, true)], { cwd: REPO, stdio: ['pipe', 'pipe', 'inherit'] });
  const answers = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    async read(sql) {
      child.stdin!.write(`${sql}\n`);
      const answer = await answers.next();
      if (answer.done) throw new Error(`the reading process ended (${child.exitCode ?? child.signalCode})`);
      return JSON.parse(answer.value) as unknown[];
    },
    close: () => child.stdin!.end(),
  };
}

describe.skipIf(!pg)('a DuckLake warehouse on a Postgres catalog', () => {
  it('runs and backfills; a failing check keeps the published table; a retry after the fix publishes', async () => {
    const { dir, lake } = lakeProject({
      'models/a.sql': "{{ config(materialized='table') }}\nselect '{{ ds }}' as built_for, {{ var('n', 1) }} as n\n",
      'models/a.yaml': 'checks:\n  expression: ["n > 0"]\n',
      'models/c.sql': "select * from read_csv('{{ env_var('PIPE_TEST_INPUT') }}')\n",
    });
    const input = join(dir, 'input.csv');
    process.env.PIPE_TEST_INPUT = input;
    writeFileSync(input, 'x\n1\n');
    const first = await runIn(dir, { date: '2024-01-02' });
    expect(first.code, explain(first)).toBe(0);
    const back = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-03' });
    expect(back.code, explain(back)).toBe(0);
    expect(await lakeRows(lake, 'SELECT built_for, n FROM main.a')).toEqual([{ built_for: '2024-01-03', n: 1 }]);
    expect(await lakeRows(lake, "SELECT strftime(d, '%Y-%m-%d') AS d, n FROM main.b ORDER BY d")).toEqual([
      { d: '2024-01-01', n: 1 },
      { d: '2024-01-02', n: 1 },
      { d: '2024-01-03', n: 1 },
    ]);
    // The data are Parquet files in the data folder; the run state is in the lake with them.
    expect(existsSync(join(dir, 'lake', 'main'))).toBe(true);
    expect(await lakeRows(lake, 'SELECT status FROM _pipe.runs')).toEqual([{ status: 'succeeded' }, { status: 'succeeded' }]);

    const blocked = await runIn(dir, { date: '2024-01-04', vars: { n: -1 } });
    expect(blocked.code, explain(blocked)).toBe(1);
    expect(taskIdsOf(blocked.events, 'task-failed')).toEqual(['a@2024-01-04']);
    expect(await lakeRows(lake, 'SELECT built_for, n FROM main.a')).toEqual([{ built_for: '2024-01-03', n: 1 }]);

    // A model failing on a missing input, then retried once it is there: only it runs again.
    const missing = join(dir, 'later.csv');
    process.env.PIPE_TEST_INPUT = missing;
    const failed = await runIn(dir, { date: '2024-01-05' });
    expect(failed.code, explain(failed)).toBe(1);
    expect(taskIdsOf(failed.events, 'task-failed')).toEqual(['c@2024-01-05']);
    writeFileSync(missing, 'x\n7\n');
    const retried = await retryIn(dir);
    expect(retried.code, explain(retried)).toBe(0);
    expect(taskIdsOf(retried.events, 'task-succeeded')).toEqual(['c@2024-01-05']);
    expect(await lakeRows(lake, 'SELECT x::INTEGER AS x FROM main.c')).toEqual([{ x: 7 }]);
    delete process.env.PIPE_TEST_INPUT;
  });

  it('a reader in another process sees the last commit while a publish is under way, the new rows after', async () => {
    const { dir, lake } = lakeProject();
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const reader = lakeReaderElsewhere(lake);
    const handle = await Engine.open(join(dir, 'lake'), { setup: { extensions: [], settings: [], attachments: [], lake } });
    try {
      const seen: unknown[] = [];
      await handle.engine.withSession((s) =>
        s.transaction(["DELETE FROM main.b WHERE d = DATE '2024-01-02'", "INSERT INTO main.b VALUES (DATE '2024-01-02', 42)"], {
          // Inside the transaction, before its commit: another process reads the lake.
          beforeCommit: async () => void seen.push(...(await reader.read('SELECT n FROM main.b'))),
        }),
      );
      expect(seen).toEqual([{ n: 1 }]);
      expect(await reader.read('SELECT n FROM main.b')).toEqual([{ n: 42 }]);
    } finally {
      reader.close();
      handle.close();
    }
  });

  it('kill -9 mid-run: readers do not wait meanwhile; the next run marks it interrupted and publishes', async () => {
    const gateDir = tempDir();
    const gate = new ModelGate(gateDir);
    const { dir, lake } = lakeProject({
      'models/slow.sql': `{{ config(materialized='table') }}\nselect '{{ ds }}' as built_for from {{ ref('a') }} where {% if var('hold', false) %}${gate.sql}{% else %}1{% endif %} >= 0\n`,
    });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const running = new RunningPipe(['run', '--date', '2024-01-03', '--var', 'hold=true', '--json', '--project', dir], { env: { PIPE_TEST_PGUSER: 'postgres' } });
    await running.waitFor((e) => e.type === 'task-started' && (e.task as { model: string }).model === 'slow');
    // While the run holds its model: show and history read the last commit, without waiting.
    const shown = await showIn(dir, { model: 'slow', json: true });
    expect(shown.code, explain(shown)).toBe(0);
    expect(shown.stdout).toContain('2024-01-02');
    const during = await historyIn(dir, { json: true });
    expect(during.stdout).toContain('"running"');
    running.child.kill('SIGKILL');
    expect((await running.exited).signal).toBe('SIGKILL');

    const next = await runIn(dir, { date: '2024-01-03' });
    expect(next.code, explain(next)).toBe(0);
    expect(await lakeRows(lake, 'SELECT built_for FROM main.slow')).toEqual([{ built_for: '2024-01-03' }]);
    const after = await historyIn(dir, { json: true });
    expect(after.stdout).toContain('"interrupted"');
    expect(after.stdout).not.toContain('"running"');
  });

  it('two processes replacing dates of one table both commit', async () => {
    const { dir, lake } = lakeProject();
    expect((await runIn(dir, { date: '2024-01-01' })).code).toBe(0);
    const env = { PIPE_TEST_PGUSER: 'postgres' };
    const runs = ['2024-01-02', '2024-01-03'].map((ds) => new RunningPipe(['run', '--date', ds, '--select', 'b', '--json', '--project', dir], { env }));
    for (const r of runs) {
      const done = await r.exited;
      expect(done.code, explain(done)).toBe(0);
    }
    expect((await lakeRows(lake, 'SELECT count(*)::INTEGER AS n FROM main.b'))[0]).toEqual({ n: 3 });
  });
});

describe.skipIf(!pg)('a commit that conflicts', () => {
  it('is refused by DuckLake when another writer replaced a date of the table first, and pipe knows it as a conflict to run again', async () => {
    const { dir, lake } = lakeProject();
    expect((await backfillIn(dir, { start: '2024-01-01', end: '2024-01-03' })).code).toBe(0);
    const writer = async () => {
      const c = await (await DuckDBInstance.create(':memory:')).connect();
      await c.run(`${attachLakeSql(lake, false)}; USE lake`);
      return c;
    };
    const [first, second] = [await writer(), await writer()];
    const replace = (ds: string) => `DELETE FROM main.b WHERE d = DATE '${ds}'; INSERT INTO main.b SELECT DATE '${ds}', 1`;
    // The first writer's transaction began before the second committed: its commit conflicts.
    await first.run(`BEGIN; ${replace('2024-01-02')}`);
    await second.run(`BEGIN; ${replace('2024-01-03')}; COMMIT`);
    const failed = await first.run('COMMIT').then(
      () => undefined,
      (e: unknown) => e,
    );
    for (const c of [first, second]) c.closeSync();
    expect(failed).toBeInstanceOf(Error);
    expect(isCommitConflict(DUCKLAKE.classify(failed as Error))).toBe(true);
  });
});

describe.skipIf(!pg)('opening a DuckLake', () => {
  it('names a missing extension and the wheel that carries it, at the pipe.yaml line', async () => {
    const { dir } = lakeProject();
    const empty = join(dir, 'no-extensions');
    mkdirSync(empty);
    process.env.PIPE_DUCKDB_EXTENSION_DIR = empty;
    try {
      const r = await runIn(dir, { date: '2024-01-02' });
      expect(r.code, explain(r)).toBe(2);
      expect(r.stderr).toContain("needs the DuckDB extension 'ducklake'");
      expect(r.stderr).toContain('duckdb-extension-ducklake==1.5.5');
      expect(r.stderr).toMatch(/^pipe\.yaml:4: error/m);
      expect(r.stderr).not.toMatch(/^\s+at /m);
    } finally {
      delete process.env.PIPE_DUCKDB_EXTENSION_DIR;
    }
  });

  it("names the catalog's Postgres it cannot reach, at the pipe.yaml line, without DuckDB's wording", async () => {
    const port = await freePort();
    const dir = tempDir();
    writeProjectFiles(dir, {
      'pipe.yaml': `name: nowhere\nwarehouse:\n  type: ducklake\n  catalog: postgres:dbname=shop host=127.0.0.1 port=${port} user=postgres\n  data_path: lake/\n`,
      'models/a.sql': 'select 1 as n\n',
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^pipe\\.yaml:4: error: cannot attach the DuckLake .*: its catalog's Postgres at 127\\.0\\.0\\.1:${port}/shop cannot be reached: Connection refused`, 'm'));
    expect(r.stderr).not.toMatch(/Failed to attach|Unable to connect|^\s+at /m);
  });

  it('an append adds the rows its table lacks and refuses those it holds, inside the publishing transaction, as on a file', async () => {
    const append = "{{ config(materialized='incremental', incremental_strategy='append') }}\n";
    const { dir, lake } = lakeProject({
      'seeds/src.csv': 'id,ts\n1,2024-01-01\n2,2024-01-02\n',
      'models/log.sql': `${append}select id, cast(ts as date) as ts from {{ ref('src') }}\n{% if is_incremental() %}where cast(ts as date) > (select max(ts) from {{ this }}){% endif %}\n`,
      'models/again.sql': `${append}select id from {{ ref('src') }}\n`,
    });
    const first = await runIn(dir, { date: '2024-01-02' });
    expect(first.code, explain(first)).toBe(0);
    writeProjectFiles(dir, { 'seeds/src.csv': 'id,ts\n1,2024-01-01\n2,2024-01-02\n3,2024-01-03\n' });
    const second = await runIn(dir, { date: '2024-01-03' });
    expect(second.code, explain(second)).toBe(1);
    expect(second.stdout).toContain('2 staged rows the table already holds');
    expect(await lakeRows(lake, 'SELECT (SELECT count(*) FROM main.log)::INTEGER AS log, (SELECT count(*) FROM main.again)::INTEGER AS again')).toEqual([{ log: 3, again: 2 }]);
  });

  it('a local .ducklake catalog works the same for one machine', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'pipe.yaml': 'warehouse:\n  type: ducklake\n  catalog: lake.ducklake\n  data_path: files/\n',
      'models/a.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect cast('{{ ds }}' as date) as d\n",
    });
    expect((await backfillIn(dir, { start: '2024-01-01', end: '2024-01-02' })).code).toBe(0);
    const lake: LakeTarget = { catalog: { kind: 'file', path: join(dir, 'lake.ducklake') }, dataPath: join(dir, 'files/'), shown: '', source: { owner: 'test' } };
    expect(await lakeRows(lake, 'SELECT count(*)::INTEGER AS n FROM main.a')).toEqual([{ n: 2 }]);
    // A data_path other than the one the catalog was made with (a checkout elsewhere): said so, with the path it keeps.
    writeProjectFiles(dir, { 'pipe.yaml': 'warehouse:\n  type: ducklake\n  catalog: lake.ducklake\n  data_path: other/\n' });
    const moved = await runIn(dir, { date: '2024-01-03' });
    expect(moved.code, explain(moved)).toBe(2);
    expect(moved.stderr).toContain(`keeps its data in ${join(dir, 'files')}/, and data_path: names ${join(dir, 'other')}/ here`);
    expect(moved.stderr).not.toContain('Postgres');
  });

  it('refuses constraints DuckLake cannot keep, at the properties file', async () => {
    const { dir } = lakeProject({
      'models/k.sql': "{{ config(materialized='table', contract={'enforced': true}) }}\nselect 1 as id\n",
      'models/k.yml': 'version: 2\nmodels:\n  - name: k\n    columns:\n      - name: id\n        data_type: integer\n        constraints:\n          - type: primary_key\n',
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(2);
    expect(r.stderr).toMatch(/models\/k\.yml:8.*primary_key constraint cannot be kept by a DuckLake warehouse/s);
    expect(eventsOfType(r.events, 'task-started')).toEqual([]);
  });
});
