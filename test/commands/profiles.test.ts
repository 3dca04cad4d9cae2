import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateSettings, type ValidatedSettings } from '../../src/analyze/project-settings.js';
import { querySettingsOf } from '../../src/analyze/duckdb-settings.js';
import type { ProfileOptions } from '../../src/analyze/profile.js';
import { openProject } from '../../src/commands/open-project.js';
import type { Diagnostic } from '../../src/diagnostics/diagnostics.js';
import { loadProject } from '../../src/project/load-project.js';
import { errorLines, eventsOfType, explain, queryRows, removeTempDirs, tempDir, writeProjectFiles } from '../e2e/helpers.js';
import { runIn, statusIn } from '../support/in-process.js';
import { cliIn } from '../support/cli-in-process.js';
import { runDryRun } from '../../src/commands/run.js';
import type { PipeEvent } from '../../src/events/events.js';

/**
 * A dbt project's profiles.yml supplies its warehouse: found as dbt finds it, its target
 * chosen as dbt chooses it, its values rendered with env_var(), and pipe.yaml and --db
 * winning where they say something. Each refusal points at its line; the DuckDB setup
 * (settings, attached databases, extensions) runs on the real warehouse.
 */

const saved = { HOME: process.env.HOME, DBT_PROFILES_DIR: process.env.DBT_PROFILES_DIR, DBT_TARGET: process.env.DBT_TARGET };

// The commands read the process's environment, as dbt does: a ~/.dbt of the machine must not count.
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

const DBT_PROJECT = "name: shop\nversion: '1.0'\nprofile: shop\n";

/** A dbt project of one model, with `files` added. */
function dbtProject(files: Record<string, string> = {}): string {
  const dir = tempDir();
  writeProjectFiles(dir, { 'dbt_project.yml': DBT_PROJECT, 'models/one.sql': 'select 1 as n\n', ...files });
  return dir;
}

/** profiles.yml with the profile `shop`, whose target `dev` has `dev` as its lines (indented by the caller's six spaces). */
function profiles(dev: string, more = ''): string {
  return `shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n${dev}${more}`;
}

const DEV = '      path: dev.duckdb\n';

/** pipe.yaml, the profile and the pipelines validated, as commands see them before anything opens. */
function validated(dir: string, options: ProfileOptions = {}): ValidatedSettings {
  return validateSettings(loadProject(dir), { env: {}, home: tempDir(), ...options });
}

/** The one problem of a profile: its message and where it points. */
function problemOf(v: ValidatedSettings): Diagnostic {
  const problems = [...v.profileProblems, ...(v.warehouseProblem ? [v.warehouseProblem] : [])];
  expect(problems, JSON.stringify(problems)).toHaveLength(1);
  return problems[0];
}

describe('finding profiles.yml and the target', () => {
  it('reads the profile in the project folder: the target names the warehouse file, threads, the target schema and target.name', async () => {
    const dir = dbtProject({
      'profiles.yml': profiles(`${DEV}      threads: 2\n      schema: analytics\n`),
      'models/one.sql': "select 1 as n, '{{ target.name }}' as target\n",
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    const started = eventsOfType(r.events, 'run-started')[0];
    expect(started).toMatchObject({ warehouse: join(dir, 'dev.duckdb'), threads: 2 });
    // dbt models land in the target schema.
    expect(await queryRows(join(dir, 'dev.duckdb'), 'select n, target from analytics.one')).toEqual([{ n: 1, target: 'dev' }]);
    expect(existsSync(join(dir, 'warehouse.duckdb'))).toBe(false);
    expect(openProject({ project: dir }).settings.targetSchema).toBe('analytics');
  });

  it("two targets writing one file in two schemas: a model built for the other since is not current here, and status says why, not 'config changed'", async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'dbt_project.yml': 'name: shop\nprofile: shop\n',
      'profiles.yml': 'shop:\n  target: poc\n  outputs:\n    poc: {type: duckdb, path: wh.duckdb, schema: poc}\n    prd: {type: duckdb, path: wh.duckdb, schema: prd}\n',
      'models/m.sql': "{{ config(materialized='table') }}\nselect 1 as x",
    });
    for (const target of ['poc', 'prd']) expect((await runIn(dir, { date: '2024-01-02', target })).code).toBe(0);
    const shown = await statusIn(dir, { date: '2024-01-02', target: 'poc' });
    expect(shown.stdout, explain(shown)).toMatch(/^m +table +modified \(its latest build wrote another relation \(another target, another schema\)\)/m);
    // Built again here, it is current here.
    expect((await runIn(dir, { date: '2024-01-02', target: 'poc' })).code).toBe(0);
    expect((await statusIn(dir, { date: '2024-01-02', target: 'poc' })).stdout).toMatch(/^m +table +current/m);
  });

  it("target.database is the name DuckDB gives the file (up to its first dot), and a dry run before the file exists finds a source named by it", async () => {
    const dir = dbtProject({
      'profiles.yml': profiles('      path: sales.2024.duckdb\n'),
      'models/one.sql': "select '{{ target.database }}' as target_db, current_database() as db\n",
      'models/two.sql': "select * from {{ source('raw', 'one') }}\n",
      'models/sources.yml': 'version: 2\nsources:\n  - name: raw\n    database: sales\n    schema: main\n    tables:\n      - name: one\n',
    });
    // The dry run asks DuckDB in memory, under the file's name: the source is missing (named as
    // the run would name it), not "not attached".
    const told: PipeEvent[] = [];
    await expect(runDryRun({ project: dir, date: '2024-01-02', select: ['two'], emit: (e) => told.push(e) })).rejects.toThrow(/source raw\.one: "sales"\."main"\."one" does not exist in the database 'sales'/);
    const r = await runIn(dir, { date: '2024-01-02', select: ['one'] });
    expect(r.code, explain(r)).toBe(0);
    expect(await queryRows(join(dir, 'sales.2024.duckdb'), 'select target_db, db from main.one')).toEqual([{ target_db: 'sales', db: 'sales' }]);
    expect((await runIn(dir, { date: '2024-01-02', select: ['two'] })).code).toBe(0);
  });

  it('a target without schema: lands in main, and a pipe project has main as its target schema', () => {
    expect(validated(dbtProject({ 'profiles.yml': profiles(DEV) })).settings.targetSchema).toBe('main');
    const pipeProject = tempDir();
    writeProjectFiles(pipeProject, { 'models/one.sql': 'select 1 as n\n' });
    expect(validated(pipeProject).settings.targetSchema).toBe('main');
  });

  it('--profiles-dir names the folder of profiles.yml; without it, a profile found nowhere is refused at dbt_project.yml', async () => {
    const dir = dbtProject();
    const elsewhere = tempDir();
    writeProjectFiles(elsewhere, { 'profiles.yml': profiles('      path: elsewhere.duckdb\n') });
    const r = await runIn(dir, { date: '2024-01-02', profilesDir: elsewhere });
    expect(r.code, explain(r)).toBe(0);
    expect(eventsOfType(r.events, 'run-started')[0]).toMatchObject({ warehouse: join(dir, 'elsewhere.duckdb') });

    const refused = await runIn(dir, { date: '2024-01-02' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("dbt_project.yml:3: error: dbt_project.yml names the profile 'shop', but there is no profiles.yml in");
    expect(refused.stderr).toContain('--profiles-dir');
  });

  it("looks in --profiles-dir, then DBT_PROFILES_DIR, then the project folder, then the working directory, then ~/.dbt, as dbt does", () => {
    const inFolder = (path: string) => `      path: ${path}.duckdb\n`;
    const home = tempDir();
    const byEnv = tempDir();
    const byFlag = tempDir();
    const cwd = tempDir();
    writeProjectFiles(home, { '.dbt/profiles.yml': profiles(inFolder('home')) });
    writeProjectFiles(byEnv, { 'profiles.yml': profiles(inFolder('env')) });
    writeProjectFiles(byFlag, { 'profiles.yml': profiles(inFolder('flag')) });
    const dir = dbtProject();
    const env = { DBT_PROFILES_DIR: byEnv };
    expect(validated(dir, { home, cwd }).settings.warehouse).toBe('home.duckdb');
    // Run from outside the project (dbt's --project-dir), dbt reads the working directory's.
    writeProjectFiles(cwd, { 'profiles.yml': profiles(inFolder('cwd')) });
    expect(validated(dir, { home, cwd }).settings.warehouse).toBe('cwd.duckdb');
    writeProjectFiles(dir, { 'profiles.yml': profiles(inFolder('project')) });
    expect(validated(dir, { home, cwd }).settings.warehouse).toBe('project.duckdb');
    expect(validated(dir, { home, env }).settings.warehouse).toBe('env.duckdb');
    expect(validated(dir, { home, env, profilesDir: byFlag }).settings.warehouse).toBe('flag.duckdb');
  });

  it('--target, else DBT_TARGET, else the target: of the profile', () => {
    const dir = dbtProject({ 'profiles.yml': profiles(DEV, '    prod:\n      type: duckdb\n      path: prod.duckdb\n') });
    expect(validated(dir).settings.warehouse).toBe('dev.duckdb');
    expect(validated(dir, { env: { DBT_TARGET: 'prod' } }).settings.warehouse).toBe('prod.duckdb');
    expect(validated(dir, { target: 'prod' }).settings.warehouse).toBe('prod.duckdb');
    expect(validated(dir, { target: 'dev', env: { DBT_TARGET: 'prod' } }).settings.warehouse).toBe('dev.duckdb');
    expect(validated(dir, { target: 'prod' }).profile).toMatchObject({ profile: 'shop', target: 'prod', file: 'profiles.yml' });
  });

  it("renders env_var(), with its default when the variable is unset, given by position or as default=", () => {
    const dir = dbtProject({
      'profiles.yml': profiles(`      path: "{{ env_var('SHOP_WAREHOUSE') }}"\n      threads: "{{ env_var('SHOP_THREADS', default='3') }}"\n      schema: "{{ env_var('SHOP_SCHEMA', 'staging') }}"\n`),
    });
    const v = validated(dir, { env: { SHOP_WAREHOUSE: 'from_env.duckdb', SHOP_SCHEMA: 'reporting' } });
    expect(v.settingsDiagnostics).toEqual([]);
    expect(v.settings).toMatchObject({ warehouse: 'from_env.duckdb', threads: 3, targetSchema: 'reporting' });
  });
});

describe("var() in profiles.yml", () => {
  it('reads the vars of the command line alone, as dbt does; one unset without a default is refused at its line', async () => {
    const dir = dbtProject({
      'dbt_project.yml': `${DBT_PROJECT}vars:\n  schema_of: from_project\n`,
      'profiles.yml': profiles(`      path: "{{ var('db', 'dev') }}.duckdb"\n      schema: "{{ var('schema_of') }}"\n`),
    });
    expect(validated(dir, { vars: { db: 'prod', schema_of: 'marts' } }).settings).toMatchObject({ warehouse: 'prod.duckdb', targetSchema: 'marts' });
    const p = problemOf(validated(dir, { vars: {} }));
    expect(p.message).toContain("var 'schema_of' is not set and var() was given no default: profiles.yml reads the vars of the command line alone (--var schema_of=VALUE)");
    expect(p.location).toMatchObject({ file: 'profiles.yml', line: 7 });
    // The command line's --var reaches the profile: the run builds in the file it names.
    const r = await cliIn(['run', '--project', dir, '--date', '2024-01-02', '--var', 'db=prod', '--vars', '{schema_of: marts}']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(dir, 'prod.duckdb'))).toBe(true);
    expect(existsSync(join(dir, 'dev.duckdb'))).toBe(false);
    expect(await queryRows(join(dir, 'prod.duckdb'), 'SELECT n FROM marts.one')).toEqual([{ n: 1 }]);
    const missing = await cliIn(['run', '--project', dir, '--date', '2024-01-02']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("profiles.yml:7");
    expect(missing.stderr).toContain("var 'schema_of' is not set");
  });
});

describe('pipe retry of a dbt run', () => {
  it("builds on the run's target, with the --var values its profile read; another --target is refused", async () => {
    // Fails while raw.ctl says so; both targets are schemas of one file.
    const dir = dbtProject({
      'profiles.yml': profiles(`      path: wh.duckdb\n      schema: "{{ var('sch', 'dev') }}"\n`, '    prod:\n      type: duckdb\n      path: wh.duckdb\n      schema: prod\n'),
      'models/sources.yml': 'version: 2\nsources:\n  - name: raw\n    tables:\n      - name: ctl\n',
      'models/one.sql': "{{ config(materialized='table') }}\nselect 1 as n, (select case when fail = 1 then error('boom') else 0 end from {{ source('raw', 'ctl') }}) as f\n",
    });
    const db = join(dir, 'wh.duckdb');
    const exec = async (sql: string) => {
      const instance = await DuckDBInstance.create(db);
      const c = await instance.connect();
      await c.run(sql);
      c.closeSync();
      instance.closeSync();
    };
    await exec('CREATE SCHEMA raw; CREATE TABLE raw.ctl AS SELECT 1 AS fail');
    for (const [args, schema] of [[['--target', 'prod'], 'prod'], [['--var', 'sch=marts'], 'marts']] as const) {
      await exec('UPDATE raw.ctl SET fail = 1');
      const failed = await cliIn(['run', '--project', dir, '--date', '2024-01-02', ...args]);
      expect(failed.code, failed.stdout + failed.stderr).toBe(1);
      await exec('UPDATE raw.ctl SET fail = 0');
      if (schema === 'prod') {
        const other = await cliIn(['retry', '--project', dir, '--target', 'dev']);
        expect(other.code).toBe(2);
        expect(other.stderr).toMatch(/--target dev: run \S+ built on target prod, and pipe retry builds where its run built/);
      }
      const r = await cliIn(['retry', '--project', dir]);
      expect(r.code, r.stderr).toBe(0);
      expect(await queryRows(db, `SELECT n FROM ${schema}.one`)).toEqual([{ n: 1 }]);
    }
    expect(await queryRows(db, "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'one' AND schema_name = 'dev'")).toEqual([{ n: '0' }]);
  });
});

describe('pipe.yaml and --db win where they say something', () => {
  it("pipe.yaml's warehouse and threads over the target's path and threads, --db over both", async () => {
    const dir = dbtProject({ 'profiles.yml': profiles(`${DEV}      threads: 2\n`), 'pipe.yaml': 'warehouse: mine.duckdb\nthreads: 3\n' });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(eventsOfType(r.events, 'run-started')[0]).toMatchObject({ warehouse: join(dir, 'mine.duckdb'), threads: 3 });
    expect(existsSync(join(dir, 'dev.duckdb'))).toBe(false);
    expect(openProject({ project: dir, db: join(dir, 'given.duckdb') }).warehousePath).toBe(join(dir, 'given.duckdb'));
  });

  it('~ is the home folder in every warehouse path, as DuckDB and dbt-duckdb read it; a path ending with a separator names a folder, refused', async () => {
    const home = process.env.HOME!;
    const dir = dbtProject({ 'profiles.yml': profiles('      path: ~/shop.duckdb\n') });
    expect(openProject({ project: dir }).warehousePath).toBe(join(home, 'shop.duckdb'));
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(existsSync(join(home, 'shop.duckdb'))).toBe(true);
    expect(existsSync(join(dir, '~'))).toBe(false);
    const own = dbtProject({ 'profiles.yml': profiles(DEV), 'pipe.yaml': 'warehouse: ~/own.duckdb\n' });
    expect(openProject({ project: own }).warehousePath).toBe(join(home, 'own.duckdb'));
    expect(openProject({ project: own, db: '~/given.duckdb' }).warehousePath).toBe(join(home, 'given.duckdb'));
    expect(() => openProject({ project: own, db: 'newdir/' })).toThrow(/--db newdir\/ ends with a folder separator: it names a folder/);
  });

  it("refuses a warehouse path that is one of the project's folders, which the DuckDB file would take the place of; a file there is said as one", async () => {
    const dir = tempDir();
    writeProjectFiles(dir, { 'pipe.yaml': 'name: shop\nwarehouse: seeds\n', 'models/a.sql': 'select 1 as x' });
    const refused = (options: { db?: string }) => {
      try {
        openProject({ project: dir, ...options });
      } catch (e) {
        return (e as { diagnostics: Diagnostic[] }).diagnostics.map((d) => [d.message, d.location?.file, d.location?.line]);
      }
      return [];
    };
    expect(refused({})).toEqual([["the warehouse seeds is the project's seeds folder: the DuckDB file would take the folder's place", 'pipe.yaml', 2]]);
    expect(refused({ db: join(dir, 'pipelines') })).toEqual([[`--db ${join(dir, 'pipelines')} is the project's pipelines folder: the DuckDB file would take the folder's place`, undefined, undefined]]);
    writeProjectFiles(dir, { 'pipe.yaml': 'name: shop\n', seeds: '' });
    expect(() => loadProject(dir)).toThrow(`${join(dir, 'seeds')} is a file, where pipe reads a folder of the project`);
  });

  it("pipe.yaml's settings: set after the target's, so they win; one DuckDB does not know is refused at its pipe.yaml line", async () => {
    const dir = dbtProject({
      'profiles.yml': profiles(`${DEV}      settings:\n        default_null_order: nulls_first\n        threads: 2\n`),
      'pipe.yaml': 'settings:\n  threads: 1\n  memory_limit: 512MB\n',
      'models/one.sql': "{{ config(materialized='table') }}\nselect current_setting('threads') as threads, current_setting('default_null_order') as nulls, current_setting('memory_limit') as memory\n",
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(await queryRows(join(dir, 'dev.duckdb'), 'select * from one')).toEqual([{ threads: '1', nulls: 'NULLS_FIRST', memory: '488.2 MiB' }]);

    writeProjectFiles(dir, { 'pipe.yaml': 'name: shop\nsettings:\n  threads: 1\n  no_such_setting: 4\n' });
    const refused = await runIn(dir, { date: '2024-01-02' });
    expect(refused.code, explain(refused)).toBe(2);
    expect(refused.stderr).toMatch(/pipe\.yaml:4: error: .*no_such_setting/);
    expect(refused.stderr).not.toMatch(/Catalog Error/);
  });

  it("the target's settings that may change what a query computes are part of what its models are built from, pipe.yaml's over them", async () => {
    const target = (division: boolean) => profiles(`${DEV}      settings:\n        integer_division: ${division}\n        Default_Null_Order: nulls_first\n        threads: 2\n`);
    const dir = dbtProject({
      'profiles.yml': target(false),
      'pipe.yaml': 'settings:\n  memory_limit: 512MB\n  default_null_order: nulls_last\n',
      'models/half.sql': "{{ config(materialized='table') }}\nselect 7 / 2 as half\n",
    });
    // Resources are not among them, nor the credentials of remote files.
    expect(validated(dir).settings.querySettings).toEqual({ default_null_order: 'nulls_last', integer_division: false });
    const source = { owner: 'test' };
    expect(querySettingsOf([{ name: 's3_region', value: 'eu-west-1', source }, { name: 'http_timeout', value: 9, source }, { name: 'Calendar', value: 'gregorian', source }])).toEqual({ calendar: 'gregorian' });
    const first = await runIn(dir, { date: '2024-01-02' });
    expect(first.code, explain(first)).toBe(0);
    writeProjectFiles(dir, { 'profiles.yml': target(true) });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toContain('OK half');
    expect(await queryRows(join(dir, 'dev.duckdb'), 'select half::VARCHAR AS half from half')).toEqual([{ half: '3' }]);
  });

  it("ignores a target key dbt does not know, as dbt does, and says so; one close to a key pipe reads is a typo, refused", () => {
    const dir = dbtProject({ 'profiles.yml': profiles(`${DEV}      fixed_retries: 3\n`) });
    const v = validated(dir);
    expect(v.profileProblems).toEqual([]);
    expect(v.settingsDiagnostics.map((d) => [d.severity, d.message, d.location?.line])).toEqual([['warning', 'fixed_retries: ignored, as dbt ignores a target key it does not know', 7]]);
    const typo = dbtProject({ 'profiles.yml': profiles(`${DEV}      treads: 4\n`) });
    expect(problemOf(validated(typo))).toMatchObject({ severity: 'error', message: "unknown dbt-duckdb target key 'treads'" });
  });

  it('a profile found nowhere, or a target in memory, is no problem when pipe.yaml or --db names the warehouse', () => {
    const dir = dbtProject({ 'pipe.yaml': 'warehouse: mine.duckdb\n' });
    const v = validated(dir);
    expect([v.warehouseProblem, ...v.profileProblems, ...v.settingsDiagnostics]).toEqual([undefined]);
    expect(v.settings.warehouse).toBe('mine.duckdb');
    const memory = dbtProject({ 'profiles.yml': profiles("      path: ':memory:'\n") });
    expect(openProject({ project: memory, db: join(memory, 'given.duckdb') }).warehousePath).toBe(join(memory, 'given.duckdb'));
  });
});

describe('refusals, each at its line', () => {
  /** profiles.yml whose target `dev` (line 4) has `type: TYPE` (line 5) and then `lines` (from line 6). */
  const profile = (lines: string, type = 'duckdb') => `shop:\n  target: dev\n  outputs:\n    dev:\n      type: ${type}\n${lines}`;
  const table: readonly (readonly [string, string, RegExp, number])[] = [
    ['a target of another adapter', profile('      host: db.internal\n', 'postgres'), /target 'dev' is of type 'postgres': pipe runs on DuckDB/, 5],
    ['a target without type', 'shop:\n  target: dev\n  outputs:\n    dev:\n      path: dev.duckdb\n', /target 'dev' has no type:/, 4],
    ['a target without path', profile('      threads: 2\n'), /has no path: dbt-duckdb would keep the database in memory/, 4],
    ['a database in memory', profile("      path: ':memory:'\n"), /path :memory: is a database in memory/, 6],
    ['a MotherDuck path, its token not shown', profile("      path: 'md:shop?motherduck_token=abc123secret'\n"), /path md:… is a MotherDuck database: pipe runs on a local DuckDB file/, 6],
    ['a database: other than the stem of path', profile(`${DEV}      database: warehouse\n`), /database 'warehouse' does not match path: DuckDB names a database after its file \(here 'dev'\)/, 7],
    ['an unset variable without default', profile(`      path: "{{ env_var('SHOP_NOWHERE') }}"\n`), /path: environment variable 'SHOP_NOWHERE' is not set and env_var\(\) was given no default/, 6],
    ['an unknown key', profile(`${DEV}      treads: 4\n`), /unknown dbt-duckdb target key 'treads'/, 7],
    ['a dbt-duckdb key pipe does not support', profile(`${DEV}      plugins:\n        - module: excel\n`), /plugins: pipe does not support this dbt-duckdb setting/, 7],
    ['threads that are no number', profile(`${DEV}      threads: many\n`), /threads must be a whole number/, 7],
    ['a schema that is no name dbt-duckdb builds in', profile(`${DEV}      schema: "my schema"\n`), /schema must be a name of letters/, 7],
    ['an extension entry without name', profile(`${DEV}      extensions:\n        - httpfs\n        - nam: spatial\n`), /unknown extension key 'nam'/, 9],
    ['an extension name that is no name', profile(`${DEV}      extensions: ['http fs']\n`), /extensions: each entry is an extension's name/, 7],
    ['TimeZone among the settings', profile(`${DEV}      settings:\n        memory_limit: 1GB\n        TimeZone: Europe/Amsterdam\n`), /settings: TimeZone is set by pipe, to UTC/, 9],
    ['Calendar among the settings', profile(`${DEV}      settings:\n        Calendar: japanese\n`), /settings: Calendar: pipe keeps it as DuckDB sets it \(gregorian\)/, 8],
    ['a setting that is a list', profile(`${DEV}      settings:\n        memory_limit: [1GB]\n`), /setting memory_limit must be a text, a number or true\/false/, 8],
    ['an attach entry without path', profile(`${DEV}      attach:\n        - path: a.duckdb\n        - alias: b\n`), /attach: each entry needs path:/, 9],
    ['an attach read_only that is no boolean', profile(`${DEV}      attach:\n        - path: a.duckdb\n          read_only: maybe\n`), /read_only must be true or false/, 9],
    ['two attachments of one alias', profile(`${DEV}      attach:\n        - path: a.duckdb\n          alias: src\n        - path: b.duckdb\n          alias: SRC\n`), /alias SRC is taken by attach entry 1/, 11],
    ['an unknown attach key', profile(`${DEV}      attach:\n        - path: a.duckdb\n          readonly: true\n`), /unknown attach key 'readonly'/, 9],
    ['a target the profile does not have', 'shop:\n  target: prd\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n', /profile 'shop' has no target 'prd' \(its target:\)/, 2],
  ];

  it.each(table)('%s', (_what, text, message, line) => {
    const p = problemOf(validated(dbtProject({ 'profiles.yml': text })));
    expect(p.message).toMatch(message);
    expect(p.location).toEqual({ file: 'profiles.yml', line });
    expect(p.message).not.toContain('abc123secret');
  });

  it('a profile profiles.yml does not have: at the profile: of dbt_project.yml, with the profiles it has', () => {
    const p = problemOf(validated(dbtProject({ 'profiles.yml': 'shoop:\n  target: dev\n  outputs: {}\n' })));
    expect(p.message).toBe("dbt_project.yml names the profile 'shop', and profiles.yml has no profile of that name");
    expect(p.location).toEqual({ file: 'dbt_project.yml', line: 3 });
    expect(p.hint).toBe("did you mean 'shoop'?");
  });

  it('--profiles-dir without profiles.yml, and --target on a pipe project, are refused', () => {
    const empty = tempDir();
    expect(problemOf(validated(dbtProject(), { profilesDir: empty })).message).toBe(`--profiles-dir ${empty}: the folder has no profiles.yml`);
    const pipeProject = tempDir();
    writeProjectFiles(pipeProject, { 'models/one.sql': 'select 1 as n\n' });
    expect(problemOf(validated(pipeProject, { target: 'prod' })).message).toMatch(/^--target applies to dbt projects: .* has no dbt_project.yml$/);
  });

  it('--profiles-dir and --target on a dbt project whose dbt_project.yml does not read: its error alone, not that the project has none', async () => {
    const dir = dbtProject({ 'dbt_project.yml': 'name: shop\nversion: 1\nprofile: shop\nmodels:\n  shop: [\n' });
    const r = await runIn(dir, { date: '2024-01-02', profilesDir: dir, target: 'dev' });
    expect(r.code, explain(r)).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^dbt_project\.yml:5:\d+: error: invalid YAML/)]);
  });

  it('a run stops at the profile: exit 2, file:line, nothing created, and a credential on the printed line masked', async () => {
    const dir = dbtProject({
      'profiles.yml': profiles(`${DEV}      settings:\n        s3_secret_access_key: hunter2-in-the-file\n      database: other\n`),
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(2);
    expect(r.stderr).toContain('profiles.yml:9: error: database');
    expect(existsSync(join(dir, 'dev.duckdb'))).toBe(false);

    // The setting is refused by DuckDB itself (no extension defines it): the line printed under the error holds the value.
    writeProjectFiles(dir, { 'profiles.yml': profiles(`${DEV}      settings:\n        s3_secret_access_key: hunter2-in-the-file\n`) });
    const refused = await runIn(dir, { date: '2024-01-02' });
    expect(refused.code, explain(refused)).toBe(2);
    expect(refused.stderr).toContain("profiles.yml:8: error: settings: DuckDB refuses the setting 's3_secret_access_key'");
    expect(refused.stderr).not.toContain('hunter2');
    expect(refused.stderr).toContain('s3_secret_access_key: ****');
    expect(existsSync(join(dir, 'dev.duckdb'))).toBe(false);
  });

  it('a credential that is also one of the target\'s settings is shown as that setting is: user: postgres, password: postgres', async () => {
    const target = (password: string) => `shop:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      user: postgres\n      password: ${password}\n`;
    const same = await runIn(dbtProject({ 'profiles.yml': target('postgres') }), { date: '2024-01-02' });
    expect(same.code, explain(same)).toBe(2);
    expect(same.stderr).toContain("target 'dev' is of type 'postgres'");
    expect(same.stderr).not.toContain('****');
    const own = await runIn(dbtProject({ 'profiles.yml': target('postgres-s3cret') }), { date: '2024-01-02' });
    expect(own.stderr).toContain("target 'dev' is of type 'postgres'");
  });
});

/** A DuckDB file at sources/raw.duckdb of `dir`, for the profile to attach: main.orders of 3 rows. */
async function writeRawOrders(dir: string): Promise<void> {
  mkdirSync(join(dir, 'sources'));
  const raw = await DuckDBInstance.create(join(dir, 'sources/raw.duckdb'));
  const c = await raw.connect();
  await c.run('create table orders as select * from range(3)');
  c.closeSync();
  raw.closeSync();
}

/** The attachment of writeRawOrders' file, as raw, for profiles(). */
const ATTACH_RAW = '      attach:\n        - path: sources/raw.duckdb\n          alias: raw\n          read_only: true\n';

describe('the warehouse runs the setup of the target', () => {
  it('a setting takes effect on the connections models run on, and a model reads a table of an attached DuckDB file', async () => {
    const dir = dbtProject({
      'models/one.sql': "{{ config(materialized='table') }}\nselect count(*) as orders, current_setting('default_null_order') as nulls from raw.main.orders\n",
      'profiles.yml': profiles(`${DEV}      extensions: [json]\n      settings:\n        default_null_order: nulls_first\n${ATTACH_RAW}`),
    });
    await writeRawOrders(dir);

    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(await queryRows(join(dir, 'dev.duckdb'), 'select * from one')).toEqual([{ orders: '3', nulls: 'NULLS_FIRST' }]);
  });

  it("a relation a template makes or finds in an attached database names that database, as dbt's do; the warehouse's own is left out of the query, not of a string literal", async () => {
    const dir = dbtProject({
      // The warehouse has a main.orders too: a relation named without its database would read it.
      'models/orders.sql': "{{ config(materialized='table') }}\nselect 100 as n\n",
      'models/reads.sql': `{{ config(materialized='table') }}
{%- set found = adapter.get_relation('raw', 'main', 'orders') -%}
{%- set made = api.Relation.create(database='raw', schema='main', identifier='orders') -%}
{%- set own = api.Relation.create(database=target.database, schema='main', identifier='orders') -%}
select (select count(*) from {{ found }}) as found, (select count(*) from {{ made }}) as made, (select max(n) from {{ own }}) as own,
  '{{ made }}|{{ own }}|{{ adapter.get_relation('raw', 'main', 'nope') }}|{{ adapter.check_schema_exists('raw', 'main') }}' as names
-- depends_on: {{ ref('orders') }}
`,
      'profiles.yml': profiles(`${DEV}${ATTACH_RAW}`),
    });
    await writeRawOrders(dir);
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(await queryRows(join(dir, 'dev.duckdb'), 'select * from reads')).toEqual([{ found: '3', made: '3', own: 100, names: '"raw"."main"."orders"|"dev"."main"."orders"|None|True' }]);
  });

  it('an extension that is not installed: exit 2 at its line, saying how to install it, and no warehouse left behind', async () => {
    const dir = dbtProject({ 'profiles.yml': profiles(`${DEV}      extensions:\n        - json\n        - name: no_such_extension\n          repo: community\n`) });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(2);
    expect(r.stderr).toContain("profiles.yml:9: error: extensions: the DuckDB extension 'no_such_extension' is not installed here (profile 'shop', target 'dev')");
    expect(r.stderr).toContain('duckdb -c "INSTALL no_such_extension FROM community"');
    expect(r.stderr).not.toMatch(/IO Error|\.duckdb_extension/);
    expect(existsSync(join(dir, 'dev.duckdb'))).toBe(false);
  });

  it('an attachment DuckDB cannot open: exit 2 at its entry, in words', async () => {
    const dir = dbtProject({ 'profiles.yml': profiles(`${DEV}      attach:\n        - path: nowhere/raw.duckdb\n          read_only: true\n`) });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(2);
    expect(r.stderr).toContain(`profiles.yml:8: error: attach: DuckDB cannot attach ${join(dir, 'nowhere/raw.duckdb')}:`);
    expect(r.stderr).not.toContain('IO Error');
    expect(existsSync(join(dir, 'dev.duckdb'))).toBe(false);
  });
});

describe('a schema named as the warehouse file', () => {
  it("builds, finds and reads back what it writes in a schema DuckDB cannot tell from the database (dev in dev.duckdb), as dbt-duckdb does", async () => {
    const dir = dbtProject({
      'profiles.yml': profiles(`${DEV}      schema: dev\n`),
      'seeds/raw_orders.csv': 'id,amount\n1,5\n2,7\n',
      'models/one.sql': "{{ config(materialized='table') }}\nselect id, amount, '{{ this }}' as me from {{ ref('raw_orders') }}\n",
      'models/two.sql': "select count(*) as n, '{{ api.Relation.create(database=target.database, schema=target.schema, identifier='one') }}' as made from {{ ref('one') }}\n",
      'models/merged.sql': "{{ config(materialized='incremental', unique_key='id') }}\nselect id, amount from {{ ref('one') }}\n",
      'models/added.sql': "{{ config(materialized='incremental') }}\nselect id, amount from {{ ref('one') }}\n{% if is_incremental() %}where id > (select max(id) from {{ this }}){% endif %}\n",
      'snapshots/history.sql': "{% snapshot history %}\n{{ config(target_schema='dev', unique_key='id', strategy='check', check_cols='all') }}\nselect id, amount from {{ ref('raw_orders') }}\n{% endsnapshot %}\n",
    });
    const first = await runIn(dir, { date: '2024-01-02' });
    expect(first.code, explain(first)).toBe(0);
    const db = join(dir, 'dev.duckdb');
    expect(await queryRows(db, 'select n::INTEGER as n, made from dev.dev.two')).toEqual([{ n: 2, made: '"dev"."dev"."one"' }]);
    expect(await queryRows(db, 'select distinct me from dev.dev.one')).toEqual([{ me: '"dev"."dev"."one"' }]);
    // Found again as built: what is current is not run again (the merge of the same rows), and
    // what reads its own table finds it (the append adds nothing).
    const again = await runIn(dir, { date: '2024-01-02' });
    expect(again.code, explain(again)).toBe(0);
    expect(eventsOfType(again.events, 'task-succeeded').map((e) => (e.task as { model: string }).model).sort()).toEqual(['added', 'history']);
    expect(eventsOfType(again.events, 'task-succeeded').find((e) => (e.task as { model: string }).model === 'added')?.rows).toBe(0);
    const rebuilt = await runIn(dir, { date: '2024-01-03', fullRefresh: true });
    expect(rebuilt.code, explain(rebuilt)).toBe(0);
    expect(await queryRows(db, "select count(*)::INTEGER as n from duckdb_tables() where schema_name = 'dev' and table_name like '__pipe%'")).toEqual([{ n: 0 }]);
    expect(await queryRows(db, 'select count(*)::INTEGER as n from dev.dev.history')).toEqual([{ n: 2 }]);
  });
});

describe('an empty target schema', () => {
  it("is dbt's for a generate_schema_name that gives every node its own; a node whose schema comes out empty is refused, named", async () => {
    const dir = dbtProject({
      'profiles.yml': profiles(`${DEV}      schema: ""\n`),
      'dbt_project.yml': `${DBT_PROJECT}models:\n  shop:\n    +schema: staging\n`,
      'macros/naming.sql': '{% macro generate_schema_name(custom_schema_name, node) -%}\n{{ custom_schema_name }}\n{%- endmacro %}\n',
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(await queryRows(join(dir, 'dev.duckdb'), "select table_schema, table_name from information_schema.tables where table_name = 'one'")).toEqual([{ table_schema: 'staging', table_name: 'one' }]);
    // dbt's own naming makes `<target schema>_<custom>`, here `_staging`, and the target schema itself without one: empty.
    writeProjectFiles(dir, { 'macros/naming.sql': '', 'dbt_project.yml': DBT_PROJECT, 'seeds/codes.csv': 'code\n1\n' });
    const empty = await runIn(dir, { date: '2024-01-02' });
    expect(empty.code, explain(empty)).toBe(2);
    expect(empty.stderr).toContain("one's schema comes out empty, and a table needs a schema");
    expect(empty.stderr).toContain("codes's schema comes out empty, and a table needs a schema");
  });
});

describe('the database templates name', () => {
  it('is the warehouse the run opens: --db, or a file of one of DuckDB\'s own names (main.duckdb is main_db)', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'dbt_project.yml': "name: shop\nversion: '1.0'\nprofile: shop\n",
      'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: main.duckdb\n',
      'models/v.sql': "{{ config(materialized='view') }}\nselect 1 as id",
      'models/w.sql': "select '{{ this.database }}' as this_db, '{{ target.database }}' as target_db, id from \"{{ ref('v').database }}\".main.v",
    });
    const own = await runIn(dir, { date: '2024-01-02' });
    expect(own.code, explain(own)).toBe(0);
    expect(await queryRows(join(dir, 'main.duckdb'), 'SELECT this_db, target_db FROM w')).toEqual([{ this_db: 'main_db', target_db: 'main_db' }]);
    const other = join(dir, 'other-wh.duckdb');
    const flag = await runIn(dir, { date: '2024-01-02', db: other });
    expect(flag.code, explain(flag)).toBe(0);
    expect(await queryRows(other, 'SELECT this_db, target_db FROM w')).toEqual([{ this_db: 'other-wh', target_db: 'other-wh' }]);
  });
});
