import { afterAll, describe, expect, it } from 'vitest';
import { compileIn, runIn } from '../support/in-process.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/**
 * Files of one name in folders of which configs enable one, as dbt packages ship a model per
 * warehouse (Snowplow's `scratch/bigquery/`, `scratch/default/`, each switched on by
 * `+enabled: "{{ target.type == ... }}"`): the one enabled is the model, the others are left
 * unread; two enabled are an error naming both files, as before.
 */

const WAREHOUSES = `
      bigquery:
        +enabled: "{{ target.type == 'bigquery' | as_bool() }}"
      default:
        +enabled: "{{ target.type in ['postgres', 'duckdb'] | as_bool() }}"
`;

const PROJECT = {
  'dbt_project.yml': `name: web\nmodels:\n  web:\n    +materialized: table\n    scratch:${WAREHOUSES}`,
  // BigQuery's own SQL, and a Jinja error: never rendered, as dbt never compiles a disabled model.
  'models/scratch/bigquery/events_this_run.sql': "select 'bigquery' as warehouse, {{ unknown_macro( }}",
  'models/scratch/default/events_this_run.sql': "select 'duckdb' as warehouse, 1 as n",
  'models/scratch/scratch.yml': 'version: 2\nmodels:\n  - name: events_this_run\n    columns:\n      - name: n\n        data_tests: [not_null]\n',
  'models/sessions.sql': "select warehouse, n from {{ ref('events_this_run') }}",
};

describe('model files of one name', () => {
  it('build the one their folder configs enable, with its tests, and warn of nothing', async () => {
    const dir = tempProject(PROJECT);
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // The bigquery folder's config is used (it disables a model), as dbt counts it.
    expect(r.stderr + r.stdout).not.toMatch(/warning/);
    expect(await queryWarehouse(dir, 'select * from main.sessions')).toEqual([{ warehouse: 'duckdb', n: 1 }]);
    expect(r.stdout).toContain('OK events_this_run 2024-01-02 table 1 row · 1 check passed');
    const compiled = await compileIn(dir, { select: ['events_this_run'] });
    expect(compiled.models.map((m) => [m.model, m.file])).toEqual([['events_this_run', 'models/scratch/default/events_this_run.sql']]);
  });

  it('are one model in an installed package too', async () => {
    const pkg = Object.fromEntries(
      Object.entries(PROJECT)
        .filter(([file]) => file.startsWith('models/scratch/'))
        .map(([file, text]) => [`vendor/web/${file}`, text]),
    );
    const dir = tempProject({
      ...pkg,
      'vendor/web/dbt_project.yml': PROJECT['dbt_project.yml'],
      'dbt_project.yml': 'name: shop\n',
      'packages.yml': 'packages:\n  - local: vendor/web\n',
      'models/sessions.sql': PROJECT['models/sessions.sql'],
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await queryWarehouse(dir, 'select * from main.sessions')).toEqual([{ warehouse: 'duckdb', n: 1 }]);
  });

  it('are an error naming both files when two are enabled', async () => {
    const dir = tempProject({ ...PROJECT, 'dbt_project.yml': 'name: web\n', 'models/scratch/bigquery/events_this_run.sql': "select 'bigquery' as warehouse, 1 as n" });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("models/scratch/default/events_this_run.sql: error: model 'events_this_run' is defined twice: models/scratch/bigquery/events_this_run.sql and models/scratch/default/events_this_run.sql");
    expect(r.stderr).toContain('hint: model names are file names and must be unique in the project: rename one file, or switch all but one off with `+enabled: false` under its folder in dbt_project.yml');
    expect(r.stdout).not.toContain('START');
  });

  it("build the one whose config() enables it, read with the vars and target alone", async () => {
    const on = (warehouse: string) => `{#\n  one per warehouse\n#}\n{{\n  config(\n    tags=['this_run'],\n    enabled=var('consent', false) and target.type == '${warehouse}' | as_bool(),\n  )\n}}\nselect '${warehouse}' as warehouse`;
    const dir = tempProject({
      'dbt_project.yml': 'name: web\nvars:\n  consent: true\n',
      'models/bigquery/consent.sql': on('bigquery'),
      'models/default/consent.sql': on('duckdb'),
      'models/snowflake/consent.sql': on('snowflake'),
      'models/log.sql': "select * from {{ ref('consent') }}",
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await queryWarehouse(dir, 'select * from main.log')).toEqual([{ warehouse: 'duckdb' }]);
    // With the var off, none is enabled: the model that reads it says so.
    const off = await runIn(dir, { date: '2024-01-02', vars: { consent: false } });
    expect(off.code).toBe(2);
    expect(off.stderr).toContain("ref('consent'): consent is disabled (enabled: false)");
  });

  it('are an error, saying why, when the text cannot tell which config() enables', async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: web\n',
      'models/bigquery/stg.sql': "{% set bq = target.type == 'bigquery' %}\n{{ config(enabled=bq) }}\nselect 1 as n",
      'models/default/stg.sql': "{{ config(enabled=target.type != 'bigquery') }}\nselect 2 as n",
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("model 'stg' is defined twice: models/bigquery/stg.sql and models/default/stg.sql");
    expect(r.stderr).toContain('could not read enabled from config() (models/bigquery/stg.sql: its config() call comes after a {% %} tag, which may change what it sets)');
  });

  it("are chosen by the folder configs when the name's properties entry says enabled: true, as dbt applies it to the file enabled", async () => {
    const dir = tempProject({
      ...PROJECT,
      'models/scratch/scratch.yml': 'version: 2\nmodels:\n  - name: events_this_run\n    config:\n      enabled: true\n',
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await queryWarehouse(dir, 'select * from main.sessions')).toEqual([{ warehouse: 'duckdb', n: 1 }]);
  });

  it('leave the name disabled when none is enabled', async () => {
    const dir = tempProject({
      ...PROJECT,
      'dbt_project.yml': `name: web\nmodels:\n  web:\n    scratch:\n      +enabled: false\n`,
      'models/scratch/bigquery/events_this_run.sql': "select 'bigquery' as warehouse, 1 as n",
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/models\/sessions\.sql:1:\d+: error: ref\('events_this_run'\): events_this_run is disabled \(enabled: false\)/);
  });

  it('of seeds, load the one enabled', async () => {
    const dir = tempProject({
      'dbt_project.yml': `name: web\nseeds:\n  web:\n    expected:${WAREHOUSES}`,
      'seeds/expected/bigquery/sessions_expected.csv': 'warehouse\nbigquery\n',
      'seeds/expected/default/sessions_expected.csv': 'warehouse\nduckdb\n',
      'models/check.sql': "select * from {{ ref('sessions_expected') }}",
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr + r.stdout).not.toMatch(/warning/);
    expect(await queryWarehouse(dir, 'select * from main.check')).toEqual([{ warehouse: 'duckdb' }]);
  });

  it('are one name when their letters are written in two Unicode forms (an accent composed or combined), which print alike', async () => {
    const composed = 'caf\u00e9';
    const combined = 'cafe\u0301';
    const dir = tempProject({ 'pipe.yaml': 'name: shop\n', [`models/${composed}.sql`]: 'select 1 as n', [`models/${combined}.sql`]: 'select 2 as n' });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(2);
    // Listed in code-unit order: the combined form first.
    expect(r.stderr).toContain(`model '${composed}' is defined twice: models/${combined}.sql and models/${composed}.sql (names whose letters are written in two Unicode forms`);
    expect(r.stdout).not.toContain('START');
  });

  it("in pipe's own format, are chosen by the YAML beside each", async () => {
    const dir = tempProject({
      'pipe.yaml': 'name: shop\n',
      'models/v1/orders.sql': 'select 1 as version',
      'models/v1/orders.yaml': 'enabled: false\n',
      'models/v2/orders.sql': 'select 2 as version',
      'models/report.sql': "select * from {{ ref('orders') }}",
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await queryWarehouse(dir, 'select * from report')).toEqual([{ version: 2 }]);
  });
});
