import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/dates/dates.js';
import { diagnosticsOf, explain, publishedRelations, queryRows, removeTempDirs, runCount, tempDir, warehouseOf, writeProjectFiles } from '../e2e/helpers.js';
import { renderDag } from '../../src/graph/render-dag.js';
import { freshnessIn, nodesIn, runIn } from '../support/in-process.js';

afterAll(removeTempDirs);

/**
 * dbt sources in runs: a model reads a table loaded into the warehouse by something else, or
 * a file through dbt-duckdb's external_location; a source that is not there stops the run
 * before anything is written; and freshness is measured against the clock a test sets.
 */

/** Statements on a warehouse file, as the loader that fills a source would run them. */
async function load(dbPath: string, ...statements: string[]): Promise<void> {
  const instance = await DuckDBInstance.create(dbPath);
  try {
    const connection = await instance.connect();
    try {
      for (const sql of statements) await connection.run(sql);
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

const at = (iso: string): Clock => ({ now: () => Date.parse(iso) });

const SOURCES = `version: 2
sources:
  - name: raw
    tables:
      - name: orders
        loaded_at_field: loaded_at
        freshness:
          warn_after: {count: 12, period: hour}
          error_after: {count: 1, period: day}
      - name: customers
        identifier: customer_list
        database: warehouse
  - name: lake
    meta:
      external_location: "data/{name}.parquet"
    tables:
      - name: events
      - name: clicks
        config:
          external_location: "read_parquet('data/click_*.parquet', filename = false)"
`;
const CLICK_FILES = `      - name: click_files
        config:
          external_location: "read_parquet(['./data/click_*.parquet', 'data//click_2.parquet'], filename = 'src')"
`;

function project(files: Record<string, string> = {}): string {
  const dir = tempDir();
  writeProjectFiles(dir, {
    'pipe.yaml': 'name: shop\n',
    'models/sources.yml': SOURCES,
    'models/orders.sql': "select id, amount from {{ source('raw', 'orders') }}",
    'models/customers.sql': "select * from {{ source('raw', 'customers') }}",
    'macros/raw.sql': "{% macro events_of(kind) %}(select * from {{ source('lake', 'events') }} where kind = '{{ kind }}'){% endmacro %}",
    'models/views.sql': "select count(*) as n from {{ events_of('view') }}",
    'models/clicks.sql': "select sum(n) as n from {{ source('lake', 'clicks') }}",
    ...files,
  });
  return dir;
}

/** The sources of the project, filled: two tables in the warehouse and three parquet files. */
async function fill(dir: string): Promise<void> {
  mkdirSync(join(dir, 'data'));
  await load(
    warehouseOf(dir),
    'CREATE SCHEMA raw',
    "CREATE TABLE raw.orders AS SELECT * FROM (VALUES (1, 10.5, TIMESTAMP '2024-01-02 10:00:00'), (2, 4.5, TIMESTAMP '2024-01-02 08:00:00')) t(id, amount, loaded_at)",
    "CREATE TABLE raw.customer_list AS SELECT 7 AS id, 'ann' AS name",
    `COPY (SELECT * FROM (VALUES ('view'), ('view'), ('buy')) t(kind)) TO '${join(dir, 'data/events.parquet')}' (FORMAT parquet)`,
    `COPY (SELECT 2 AS n) TO '${join(dir, 'data/click_1.parquet')}' (FORMAT parquet)`,
    `COPY (SELECT 3 AS n) TO '${join(dir, 'data/click_2.parquet')}' (FORMAT parquet)`,
  );
}

describe('models read sources', () => {
  it('a table in the warehouse, a file and a table function of external_location, read from the project folder, through a macro too', async () => {
    const dir = project({
      'models/sources.yml': SOURCES + CLICK_FILES,
      'models/click_files.sql': "select src, n from {{ source('lake', 'click_files') }} as f",
    });
    await fill(dir);
    // The test's working directory is not the project: relative paths are read from the project.
    expect(process.cwd()).not.toBe(dir);
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    const db = warehouseOf(dir);
    expect(await queryRows(db, 'SELECT id, amount::DOUBLE AS amount FROM orders ORDER BY id')).toEqual([
      { id: 1, amount: 10.5 },
      { id: 2, amount: 4.5 },
    ]);
    expect(await queryRows(db, 'SELECT * FROM customers')).toEqual([{ id: 7, name: 'ann' }]);
    expect(await queryRows(db, 'SELECT n::INTEGER AS n FROM views')).toEqual([{ n: 2 }]);
    expect(await queryRows(db, 'SELECT n::INTEGER AS n FROM clicks')).toEqual([{ n: 5 }]);
    // The files' names are the paths as written, not where the project is checked out.
    expect(await queryRows(db, 'SELECT src, n::INTEGER AS n FROM click_files ORDER BY src, n')).toEqual([
      { src: './data/click_1.parquet', n: 2 },
      { src: './data/click_2.parquet', n: 3 },
      { src: 'data//click_2.parquet', n: 3 },
    ]);
    // Sources are never tasks.
    expect(r.events.filter((e) => e.type === 'task-started').map((e) => (e as { task: { model: string } }).task.model).sort()).toEqual([
      'click_files',
      'clicks',
      'customers',
      'orders',
      'views',
    ]);
  });
});

describe("a source's database: attached by the dbt profile", () => {
  const saved = { DBT_PROFILES_DIR: process.env.DBT_PROFILES_DIR, DBT_TARGET: process.env.DBT_TARGET };
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
  });

  it('is read there, and a table it lacks stops the run at the source table', async () => {
    // profiles.yml of the project folder, whatever the machine's environment says.
    delete process.env.DBT_PROFILES_DIR;
    delete process.env.DBT_TARGET;
    const dir = tempDir();
    const sources = (table: string) =>
      `version: 2\nsources:\n  - name: crm\n    database: raw\n    schema: main\n    tables:\n      - name: ${table}\n`;
    writeProjectFiles(dir, {
      'dbt_project.yml': "name: shop\nversion: '1.0'\nprofile: shop\n",
      'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      attach:\n        - path: crm.duckdb\n          alias: raw\n          read_only: true\n',
      'models/sources.yml': sources('accounts'),
      'models/accounts.sql': "{{ config(materialized='table') }}\nselect count(*) as n from {{ source('crm', 'accounts') }}",
    });
    await load(join(dir, 'crm.duckdb'), 'CREATE TABLE accounts AS SELECT * FROM range(4)');
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(await queryRows(join(dir, 'dev.duckdb'), 'SELECT n::INTEGER AS n FROM accounts')).toEqual([{ n: 4 }]);

    writeProjectFiles(dir, { 'models/sources.yml': sources('acounts'), 'models/accounts.sql': "select count(*) as n from {{ source('crm', 'acounts') }}" });
    const missing = await runIn(dir, { date: '2024-01-02' });
    expect(missing.code, explain(missing)).toBe(2);
    expect(missing.stderr).toContain(`models/sources.yml:7: error: source crm.acounts: "raw"."main"."acounts" does not exist in the database 'raw'`);
    expect(missing.stderr).toContain("hint: did you mean 'main.accounts'?");
  });

  it("is that database's: its table is not taken for the warehouse's of the same schema and name", async () => {
    delete process.env.DBT_PROFILES_DIR;
    delete process.env.DBT_TARGET;
    const dir = tempDir();
    writeProjectFiles(dir, {
      'dbt_project.yml': "name: shop\nversion: '1.0'\nprofile: shop\nmodels:\n  shop:\n    +materialized: table\n",
      'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      attach:\n        - path: prod.duckdb\n          alias: prod\n          read_only: true\n',
      'models/orders.sql': 'select 1 as id union all select 2',
      // prod.main.orders is not the warehouse's main.orders, which ref('orders') gives.
      'models/missing_in_dev.sql': "select * from prod.main.orders except select * from {{ ref('orders') }}",
      'models/dev_orders.sql': "select * from dev.main.orders union all select * from {{ ref('orders') }}",
    });
    await load(join(dir, 'prod.duckdb'), 'CREATE TABLE orders AS SELECT 1 AS id UNION ALL SELECT 2');
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    await load(join(dir, 'prod.duckdb'), 'INSERT INTO orders VALUES (3)');
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(r.events.filter((e) => e.type === 'task-started').map((e) => (e as { task: { model: string } }).task.model)).toEqual(['missing_in_dev']);
    expect(await queryRows(join(dir, 'dev.duckdb'), 'SELECT id FROM missing_in_dev')).toEqual([{ id: 3 }]);
  });
});

describe('pipe ls and pipe dag', () => {
  it('show sources as nodes upstream of the models that read them, selectable by name', async () => {
    const dir = project();
    const all = await nodesIn(dir);
    expect(all.code, explain(all)).toBe(0);
    expect(all.nodes.filter((n) => n.kind === 'source').map((n) => [n.name, n.file, n.upstream])).toEqual([
      ['lake.clicks', 'models/sources.yml', []],
      ['lake.events', 'models/sources.yml', []],
      ['raw.customers', 'models/sources.yml', []],
      ['raw.orders', 'models/sources.yml', []],
    ]);
    const down = await nodesIn(dir, { select: ['source:lake.events+'] });
    expect(renderDag(down.nodes, 'text')).toBe('lake.events (source)\nviews (table)\n  ← lake.events');
  });
});

describe('a source that is not there', () => {
  it("a relative external_location missing from the project folder but found from the working directory, as dbt-duckdb run with --project-dir reads it, says so", async () => {
    const outside = tempDir();
    const dir = join(outside, 'dbt_project');
    writeProjectFiles(outside, { 'data/x.csv': 'id\n1\n', 'data/y_1.csv': 'id\n1\n' });
    writeProjectFiles(dir, {
      'models/src.yml':
        "version: 2\nsources:\n  - name: csv\n    tables:\n      - name: x\n        config:\n          external_location: data/x.csv\n      - name: y\n        config:\n          external_location: \"read_csv('data/y_*.csv')\"\n",
      'models/m.sql': "select * from {{ source('csv', 'x') }}\n",
      'models/n.sql': "select * from {{ source('csv', 'y') }}\n",
    });
    const before = process.cwd();
    process.chdir(outside);
    let r;
    try {
      r = await runIn(dir, { date: '2024-01-02' });
    } finally {
      process.chdir(before);
    }
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('models/src.yml:5: error: source csv.x reads data/x.csv, which does not exist');
    expect(r.stderr).toContain(
      `hint: a relative path in external_location is read from the project folder, whatever the working directory: ${join(outside, 'data/x.csv')} is where dbt-duckdb run from ${outside} reads it; write its path from the project folder (../data/x.csv) or in full`,
    );
    // A glob that matches nothing in the project folder, told before the run as a missing file is, not by DuckDB as the model runs.
    expect(r.stderr).toContain('models/src.yml:8: error: source csv.y reads data/y_*.csv, which matches no file');
    expect(r.stderr).toContain(`${join(outside, 'data/y_*.csv')} is where dbt-duckdb run from ${outside} reads it; write its path from the project folder (../data/y_*.csv) or in full`);
    expect(r.stdout).not.toContain('START');
  });

  it('named in a common table expression nothing selects from, a missing file stops nothing: DuckDB leaves that CTE unbound, as in dbt', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'pipe.yaml': 'name: shop\n',
      'data/x.csv': 'id\n1\n',
      'models/src.yml':
        "version: 2\nsources:\n  - name: csv\n    tables:\n      - name: x\n        config:\n          external_location: data/x.csv\n      - name: ghost\n        config:\n          external_location: /nowhere/ghost_*.parquet\n",
      'models/m.sql': "with x as (select * from {{ source('csv', 'x') }}),\nghost as (select * from {{ source('csv', 'ghost') }})\nselect count(*) as n from x\n",
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    // Read, it stops the run at the source, with no advice on relative paths for a path written in full.
    writeProjectFiles(dir, { 'models/m.sql': "with ghost as (select * from {{ source('csv', 'ghost') }})\nselect count(*) as n from ghost\n" });
    const read = await runIn(dir, { date: '2024-01-02' });
    expect(read.code).toBe(2);
    expect(read.stderr).toContain('models/src.yml:8: error: source csv.ghost reads /nowhere/ghost_*.parquet, which matches no file');
    expect(read.stderr).toContain('hint: load the file, or fix external_location');
  });

  it('stops the run before anything is written, at the line of each source table, exit 2', async () => {
    const dir = project({
      'models/sources.yml': SOURCES.replace('database: warehouse', 'database: lakehouse'),
    });
    // The warehouse exists, with none of the tables the sources name.
    await load(warehouseOf(dir), 'CREATE SCHEMA raw', 'CREATE TABLE raw.order AS SELECT 1 AS id');
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(2);
    expect(r.stdout).not.toContain('START');
    // Every one at once, each at its source table's entry.
    expect(diagnosticsOf(r.events).map((d) => `${d.location?.file}:${d.location?.line}`).sort()).toEqual([
      'models/sources.yml:10',
      'models/sources.yml:17',
      'models/sources.yml:18',
      'models/sources.yml:5',
    ]);
    expect(r.stderr).toContain('models/sources.yml:5: error: source raw.orders: "raw"."orders" does not exist in the warehouse');
    expect(r.stderr).toContain("hint: did you mean 'raw.order'?");
    expect(r.stderr).toContain("models/sources.yml:10: error: source raw.customers reads the database 'lakehouse', which is not attached to the warehouse");
    expect(r.stderr).toContain('models/sources.yml:17: error: source lake.events reads data/events.parquet, which does not exist');
    // A glob is expanded as DuckDB's readers expand it: matching no file, it stops the run too.
    expect(r.stderr).toContain('models/sources.yml:18: error: source lake.clicks reads data/click_*.parquet, which matches no file');
    const db = warehouseOf(dir);
    expect(await publishedRelations(db)).toEqual({ tables: [], views: [] });
    expect(await runCount(db)).toBe(0);
  });

  it("names the project's seed of the missing table's name that loads another schema's", async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'pipe.yaml': 'name: shop\n',
      'seeds/raw_customers.csv': 'id\n1\n',
      'seeds/raw_customers.yaml': 'schema: raw_data\n',
      'models/sources.yml': 'version: 2\nsources:\n  - name: raw\n    schema: main\n    tables:\n      - name: raw_customers\n',
      'models/customers.sql': "select * from {{ source('raw', 'raw_customers') }}",
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('models/sources.yml:6: error: source raw.raw_customers: "main"."raw_customers" does not exist in the warehouse');
    expect(r.stderr).toContain('hint: the project\'s seed raw_customers loads "raw_data"."raw_customers": to read it, give the source that schema:');
  });

  it("is loaded first when a seed of the project loads it, even in the run that selects only its reader, its database named or not", async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'seeds/raw_customers.csv': 'id,name\n1,Ann\n2,Bob\n',
      'seeds/raw_customers.yml': 'schema: raw\n',
      // The second names the warehouse's own database, as Fivetran's packages write it.
      'models/sources.yml':
        'version: 2\nsources:\n  - name: crm\n    schema: raw\n    tables:\n      - name: raw_customers\n  - name: crm_db\n    database: "{{ target.database }}"\n    schema: raw\n    tables:\n      - name: customers\n        identifier: raw_customers\n',
      'models/customers.sql': "select count(*) as n from {{ source('crm', 'raw_customers') }}",
      'models/customers_db.sql': "select count(*) as n from {{ source('crm_db', 'customers') }}",
    });
    const r = await runIn(dir, { date: '2024-01-02', select: ['customers', 'customers_db'] });
    expect(r.code, explain(r)).toBe(0);
    expect(await queryRows(warehouseOf(dir), 'select n from main.customers union all select n from main.customers_db')).toEqual([{ n: '2' }, { n: '2' }]);
  });

  it('is not asked for when a query names it in comments alone, as a dependency; a query that reads it still needs it', async () => {
    const dir = project({
      // dbt's depends-on comment: an order, not a read (dbt does not look for the table either).
      'models/orders.sql': "-- depends on: {{ source('raw', 'orders') }}\nselect 1 as id",
      'models/ephemeral_note.sql': "{{ config(materialized='ephemeral') }}\n/* after {{ source('raw', 'customers') }} */ select 2 as id",
      'models/note_reader.sql': "select * from {{ ref('ephemeral_note') }}",
    });
    const r = await runIn(dir, { date: '2024-01-02', select: ['orders', 'note_reader'] });
    expect(r.code, explain(r)).toBe(0);
    expect(await queryRows(warehouseOf(dir), 'select id from main.orders union all select id from main.note_reader order by id')).toEqual([{ id: 1 }, { id: 2 }]);
    // The same source read by a selected query is asked for, and refused at its line.
    const both = await runIn(dir, { date: '2024-01-02', select: ['orders', 'customers'] });
    expect(both.code, explain(both)).toBe(2);
    expect(diagnosticsOf(both.events).map((d) => `${d.location?.file}:${d.location?.line}`)).toEqual(['models/sources.yml:10']);
  });

  it('read by a query that asks the warehouse for it as it runs: not needed when the query then leaves it out; needed, and its task alone failed at its line, when it reads it', async () => {
    const dir = project({
      // As Fivetran's packages read a connector's optional tables: only when the warehouse has them.
      'models/orders.sql': `{%- set src = source('raw', 'orders') -%}
{%- set found = adapter.get_relation(database=src.database, schema=src.schema, identifier=src.identifier) -%}
{%- if found is not none %}select id from {{ src }}{% else %}select cast(null as integer) as id limit 0{% endif %}`,
      // Asks the warehouse of another table, and reads its source whether it is there or not.
      'models/customers.sql': "{% set other = adapter.get_relation(database=target.database, schema='main', identifier='orders') %}\nselect * from {{ source('raw', 'customers') }}",
    });
    const r = await runIn(dir, { date: '2024-01-02', select: ['orders', 'customers'] });
    expect(r.code, explain(r)).toBe(1);
    expect(await queryRows(warehouseOf(dir), 'select count(*)::INTEGER as n from main.orders')).toEqual([{ n: 0 }]);
    const failed = r.events.filter((e) => e.type === 'task-failed');
    expect(failed.map((e) => [(e as { task: { model: string } }).task.model, (e as { error: { message: string; location?: { file: string; line?: number } } }).error])).toEqual([
      ['customers', expect.objectContaining({ location: { file: 'models/sources.yml', line: 10 } })],
    ]);
    expect(r.stdout).toContain(`source raw.customers: "warehouse"."raw"."customer_list" does not exist in the database 'warehouse'`);
    // Once there, it is read.
    await load(warehouseOf(dir), 'CREATE SCHEMA raw', 'CREATE TABLE raw.orders AS SELECT 7 AS id', 'CREATE TABLE raw.customer_list AS SELECT 1 AS c');
    expect((await runIn(dir, { date: '2024-01-02', select: ['orders', 'customers'] })).code).toBe(0);
    expect(await queryRows(warehouseOf(dir), 'select id from main.orders')).toEqual([{ id: 7 }]);
  });

  it('a model that is not selected does not need its source', async () => {
    const dir = project();
    await load(warehouseOf(dir), 'CREATE SCHEMA raw', "CREATE TABLE raw.orders AS SELECT 1 AS id, 2 AS amount, TIMESTAMP '2024-01-02' AS loaded_at");
    const r = await runIn(dir, { date: '2024-01-02', select: ['orders'] });
    expect(r.code, explain(r)).toBe(0);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });
});

describe('source freshness', () => {
  const FRESHNESS = `version: 2
sources:
  - name: raw
    freshness:
      warn_after: {count: 12, period: hour}
      error_after: {count: 1, period: day}
    tables:
      - name: orders
        loaded_at_field: loaded_at
      - name: payments
        loaded_at_field: paid_at
      - name: days
        loaded_at_field: day
        freshness:
          error_after: {count: 3, period: day}
          filter: "kind = 'final'"
      - name: unmeasured
        freshness: null
`;
  let dir: string;
  const freshProject = async () => {
    dir ??= await (async () => {
      const d = project({ 'models/sources.yml': FRESHNESS, 'models/customers.sql': 'select 1 as x', 'models/views.sql': 'select 1 as x', 'models/clicks.sql': 'select 1 as x' });
      await load(
        warehouseOf(d),
        'CREATE SCHEMA raw',
        // A TIMESTAMP is read as UTC; a TIMESTAMPTZ is the instant it is; a DATE its midnight in UTC.
        "CREATE TABLE raw.orders AS SELECT 1 AS id, 1 AS amount, TIMESTAMP '2024-01-02 10:00:00' AS loaded_at",
        "CREATE TABLE raw.payments AS SELECT TIMESTAMPTZ '2024-01-02 12:00:00+02:00' AS paid_at",
        "CREATE TABLE raw.days AS SELECT * FROM (VALUES (DATE '2024-01-01', 'final'), (DATE '2024-01-05', 'draft')) t(day, kind)",
        'CREATE TABLE raw.unmeasured AS SELECT 1 AS x',
      );
      return d;
    })();
    return dir;
  };
  const statuses = async (now: string) => {
    const r = await freshnessIn(await freshProject(), { clock: at(now), json: true });
    return { code: r.code, r, rows: Object.fromEntries(r.events.filter((e) => e.type === 'source-freshness').map((e) => [e.source, e.status])) };
  };

  it('pass, warn and error by warn_after and error_after, as of the clock; exit 1 only on an error', async () => {
    // 10:00 UTC, 10:00 UTC (12:00+02) and 2024-01-01 00:00 UTC (the draft row is filtered out).
    expect(await statuses('2024-01-02T21:00:00Z')).toMatchObject({ code: 0, rows: { 'raw.orders': 'pass', 'raw.payments': 'pass', 'raw.days': 'pass' } });
    // Exactly 12 hours is not more than 12 hours (dbt's rule).
    expect(await statuses('2024-01-02T22:00:00Z')).toMatchObject({ code: 0, rows: { 'raw.orders': 'pass' } });
    expect(await statuses('2024-01-02T22:00:01Z')).toMatchObject({ code: 0, rows: { 'raw.orders': 'warn', 'raw.payments': 'warn', 'raw.days': 'pass' } });
    expect(await statuses('2024-01-03T10:00:01Z')).toMatchObject({ code: 1, rows: { 'raw.orders': 'error', 'raw.payments': 'error', 'raw.days': 'pass' } });
    // The draft row of 2024-01-05 is left out by the filter: the latest final day is 2024-01-01.
    expect(await statuses('2024-01-04T00:00:01Z')).toMatchObject({ code: 1, rows: { 'raw.days': 'error' } });
    // A table without freshness is not measured.
    expect(await statuses('2024-01-04T00:00:01Z').then((s) => Object.keys(s.rows).sort())).toEqual(['raw.days', 'raw.orders', 'raw.payments']);
  });

  it('prints each table with its status, age and criteria, and counts them', async () => {
    const r = await freshnessIn(await freshProject(), { clock: at('2024-01-03T11:30:00Z'), select: ['source:raw.orders', 'source:raw.days'] });
    expect(r.code, explain(r)).toBe(1);
    expect(r.stdout).toContain('ERROR   raw.orders  loaded 1 day 1 hour ago (2024-01-02 10:00:00 UTC)');
    expect(r.stdout).toContain('warn after 12 hours, error after 1 day  models/sources.yml:8');
    expect(r.stdout).toContain('PASS    raw.days');
    expect(r.stdout).toContain('Freshness: 1 pass, 1 error');
    expect(r.stdout).not.toContain('raw.payments');
  });

  it('a loaded_at_field the table does not have is a runtime error naming the table, exit 1', async () => {
    const d = await freshProject();
    writeProjectFiles(d, { 'models/sources.yml': FRESHNESS.replace('loaded_at_field: paid_at', 'loaded_at_field: paid_on') });
    try {
      const r = await freshnessIn(d, { clock: at('2024-01-02T12:00:00Z'), json: true, select: ['source:raw.payments'] });
      expect(r.code, explain(r)).toBe(1);
      const [row] = r.events.filter((e) => e.type === 'source-freshness');
      expect(row).toMatchObject({ source: 'raw.payments', status: 'runtime error', line: 10 });
      expect(String(row.error)).toMatch(/^max\(paid_on\) of "raw"\."payments" cannot be read: .*paid_on/);
    } finally {
      writeProjectFiles(d, { 'models/sources.yml': FRESHNESS });
    }
  });

  it('a loaded_at_field of text is refused, as dbt refuses it: its greatest text is not the latest time; cast, it is measured', async () => {
    const d = await freshProject();
    await load(warehouseOf(d), "CREATE TABLE raw.texts AS SELECT * FROM (VALUES ('2023-9-05 00:00:00'), ('2023-10-01 00:00:00')) t(updated)");
    const sources = (field: string) => `${FRESHNESS}      - name: texts\n        loaded_at_field: "${field}"\n`;
    try {
      writeProjectFiles(d, { 'models/sources.yml': sources('updated') });
      const r = await freshnessIn(d, { clock: at('2023-10-02T00:00:00Z'), json: true, select: ['source:raw.texts'] });
      expect(r.code, explain(r)).toBe(1);
      const [row] = r.events.filter((e) => e.type === 'source-freshness');
      expect(row).toMatchObject({ source: 'raw.texts', status: 'runtime error' });
      expect(row.error).toBe(
        `updated of "raw"."texts" is VARCHAR, not a timestamp or date, and the greatest text need not be the latest time ('2023-9-05' sorts after '2023-10-01'): cast it in loaded_at_field (cast(updated as timestamp))`,
      );
      writeProjectFiles(d, { 'models/sources.yml': sources('cast(updated as timestamp)') });
      const cast = await freshnessIn(d, { clock: at('2023-10-02T01:00:00Z'), select: ['source:raw.texts'] });
      expect(cast.code, explain(cast)).toBe(1);
      expect(cast.stdout).toContain('ERROR   raw.texts  loaded 1 day 1 hour ago (2023-10-01 00:00:00 UTC)');
    } finally {
      writeProjectFiles(d, { 'models/sources.yml': FRESHNESS });
    }
  });

  it("reads dbt's loaded_at_query when there is no loaded_at_field: its one value, {{ this }} the table; an epoch number is told how to read it", async () => {
    const d = await freshProject();
    await load(warehouseOf(d), "CREATE TABLE raw.queried AS SELECT * FROM (VALUES (TIMESTAMP '2024-01-01 08:00:00', 1704067200)) t(loaded, epoch)");
    const sources = (extra: string) => `${FRESHNESS}      - name: queried\n${extra}`;
    try {
      writeProjectFiles(d, { 'models/sources.yml': sources('        loaded_at_query: "select max(loaded) + interval 1 day from {{ this }}"\n') });
      const r = await freshnessIn(d, { clock: at('2024-01-03T09:00:00Z'), json: true, select: ['source:raw.queried'] });
      const [row] = r.events.filter((e) => e.type === 'source-freshness');
      expect(row, explain(r)).toMatchObject({ source: 'raw.queried', status: 'error', max_loaded_at: '2024-01-02T08:00:00.000Z', loaded_at_field: null });
      // One row of one value, as dbt takes it: more rows are refused, not read by their greatest.
      writeProjectFiles(d, { 'models/sources.yml': sources('        loaded_at_query: "select loaded from {{ this }} union all select loaded - interval 1 day from {{ this }}"\n') });
      const [several] = (await freshnessIn(d, { clock: at('2024-01-03T09:00:00Z'), json: true, select: ['source:raw.queried'] })).events.filter((e) => e.type === 'source-freshness');
      expect(several).toMatchObject({ status: 'runtime error', error: 'its loaded_at_query gives 2 rows, where it must give one: the time of the latest load (select max(...) from {{ this }})' });
      writeProjectFiles(d, { 'models/sources.yml': sources('        loaded_at_field: epoch\n') });
      const [epoch] = (await freshnessIn(d, { clock: at('2024-01-03T09:00:00Z'), json: true, select: ['source:raw.queried'] })).events.filter((e) => e.type === 'source-freshness');
      expect(epoch.error).toBe('epoch of "raw"."queried" is INTEGER, not a timestamp or date: if it counts from 1970, read it as a time in loaded_at_field (to_timestamp(epoch) for seconds, epoch_ms(epoch) for milliseconds)');
      writeProjectFiles(d, { 'models/sources.yml': sources('        loaded_at_field: to_timestamp(epoch)\n') });
      const [read] = (await freshnessIn(d, { clock: at('2024-01-03T09:00:00Z'), json: true, select: ['source:raw.queried'] })).events.filter((e) => e.type === 'source-freshness');
      expect(read).toMatchObject({ status: 'error', max_loaded_at: '2024-01-01T00:00:00.000Z' });
    } finally {
      writeProjectFiles(d, { 'models/sources.yml': FRESHNESS });
    }
  });

  it('pipe run --check-freshness: an error-level stale source stops the run before anything is written; a warning does not', async () => {
    const d = await freshProject();
    const stale = await runIn(d, { date: '2024-01-02', clock: at('2024-01-03T12:00:00Z'), checkFreshness: true });
    expect(stale.code, explain(stale)).toBe(2);
    expect(stale.stderr).toContain('models/sources.yml:8: error: source raw.orders is stale: last loaded 1 day 2 hours ago (2024-01-02 10:00:00 UTC), more than its error_after of 1 day');
    expect(await runCount(warehouseOf(d))).toBe(0);
    expect(await publishedRelations(warehouseOf(d))).toEqual({ tables: [], views: [] });
    // A pipeline asks for it with check_freshness: true.
    writeProjectFiles(d, { 'pipelines/orders_only.yaml': 'select: [orders]\ncheck_freshness: true\n' });
    const piped = await runIn(d, { pipeline: 'orders_only', date: '2024-01-02', clock: at('2024-01-03T12:00:00Z') });
    expect(piped.code, explain(piped)).toBe(2);
    expect(diagnosticsOf(piped.events).map((x) => x.code)).toEqual(['stale-source']);
    // Past warn_after only: the run goes ahead, and says so.
    const warned = await runIn(d, { date: '2024-01-02', clock: at('2024-01-02T23:00:00Z'), checkFreshness: true });
    expect(warned.code, explain(warned)).toBe(0);
    expect(diagnosticsOf(warned.events).map((x) => x.message)).toEqual([
      'source raw.orders is stale: last loaded 13 hours ago (2024-01-02 10:00:00 UTC), more than its warn_after of 12 hours',
    ]);
  });
});

describe("a source over the table a model of the project writes", () => {
  const files = (v: number) => ({
    'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    +materialized: table\n',
    'models/src.yml': 'version: 2\nsources:\n  - name: raw\n    schema: main\n    tables: [{name: z_events}]\n',
    'models/z_events.sql': `select ${v} as v`,
    'models/a_limits.sql': 'select 1 as k',
    'models/b_reader.sql': "select (select max(v) from {{ source('raw', 'z_events') }}) as v_seen from {{ ref('a_limits') }}",
  });

  it('waits for that model: what reads the source reads this run\'s build, not the last run\'s', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, files(1));
    expect((await runIn(dir, { date: '2024-01-02', select: ['z_events'] })).code).toBe(0);
    writeProjectFiles(dir, files(2));
    const r = await runIn(dir, { date: '2024-01-02', threads: 1 });
    expect(r.code, explain(r)).toBe(0);
    expect(await queryRows(join(dir, 'warehouse.duckdb'), 'select v_seen from main.b_reader')).toEqual([{ v_seen: 2 }]);
    const { nodes } = await nodesIn(dir, { select: ['+b_reader'] });
    expect(nodes.map((n) => n.name).sort()).toEqual(['a_limits', 'b_reader', 'raw.z_events', 'z_events']);
  });

  it('does not wait for a model that reads the source itself: that order would be a cycle', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, { ...files(1), 'models/z_events.sql': "select 1 as v, (select count(*) from {{ source('raw', 'z_events') }}) as n" });
    const r = await nodesIn(dir, { select: ['+b_reader'] });
    expect(r.code, explain(r)).toBe(0);
    expect(r.stderr).not.toContain('cycle');
    expect(r.nodes.map((n) => n.name).sort()).toEqual(['a_limits', 'b_reader', 'raw.z_events']);
  });
});
