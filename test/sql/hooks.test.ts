import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { explain, queryRows, removeTempDirs, taskIdsOf, tempDir, warehouseOf, writeProjectFiles } from '../e2e/helpers.js';
import { compileIn, historyIn, retryIn, runIn, runOperationIn, statusIn, testIn } from '../support/in-process.js';
import { runDryRun } from '../../src/commands/run.js';
import type { PipeEvent } from '../../src/events/events.js';

afterAll(removeTempDirs);

/**
 * dbt hooks on a real warehouse: the order dbt runs them in, pre-hooks in the model's
 * transaction before its query, post-hooks reading the relation the transaction publishes, a
 * failing hook rolling the model back (or, after the commit, failing a published model), and
 * on-run-start and on-run-end around the run.
 */

const PROJECT = `name: shop
on-run-start:
  - "create table if not exists main.audit (n integer, what varchar)"
  - "insert into main.audit select (select count(*) from main.audit), 'start {{ schemas | join(\\",\\") }}'"
on-run-end: "insert into main.audit select (select count(*) from main.audit), 'end {% for r in results %}{{ r.node.name }}={{ r.status }};{% endfor %}'"
models:
  shop:
    +materialized: table
`;

/** Appends a line to the audit table, numbered in the order lines arrive. */
const log = (what: string) => `insert into main.audit select (select count(*) from main.audit), '${what}'`;

function project(files: Record<string, string>): string {
  const dir = tempDir();
  writeProjectFiles(dir, { 'pipe.yaml': 'warehouse: warehouse.duckdb\n', 'dbt_project.yml': PROJECT, ...files });
  return dir;
}

const audit = async (dir: string) => (await queryRows(warehouseOf(dir), 'SELECT what FROM main.audit ORDER BY n')).map((r) => r.what);

describe('dbt hooks', () => {
  it('run in dbt order: on-run-start, pre-hooks outside then inside the transaction, the query, post-hooks inside then outside, on-run-end', async () => {
    const dir = project({
      'models/orders.sql': `{{ config(
    pre_hook=["${log('pre in')}", {"sql": "${log('pre out')}", "transaction": false}, "set variable seen = (select count(*) from main.audit)"],
    post_hook=[{"sql": "${log('post out')}", "transaction": false}, "insert into main.audit select (select count(*) from main.audit), 'post in ' || (select count(*) from {{ this }})"]
) }}
select getvariable('seen') as audit_lines_before_query from range(3)`,
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // The post-hook reads the table as the publishing transaction made it: 3 rows.
    expect(await audit(dir)).toEqual(['start main', 'pre out', 'pre in', 'post in 3', 'post out', 'end orders=success;']);
    // The query ran after the pre-hooks, in the session they ran in.
    expect(await queryRows(warehouseOf(dir), 'SELECT DISTINCT audit_lines_before_query AS n FROM main.orders')).toEqual([{ n: '3' }]);
  });

  it("dbt's before_begin() and after_commit() run a hook outside the model's transaction", async () => {
    const dir = project({
      'models/orders.sql': `{{ config(pre_hook=[before_begin("${log('pre out')}"), "${log('pre in')}"], post_hook=[after_commit("${log('post out')}"), "${log('post in')}"]) }}
select 1 as id`,
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stderr).toBe(0);
    expect(await audit(dir)).toEqual(['start main', 'pre out', 'pre in', 'post in', 'post out', 'end orders=success;']);
  });

  it('a failing post-hook rolls the model and its pre-hooks back, and is reported at its line', async () => {
    const dir = project({
      'models/orders.sql': 'select 1 as version',
    });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    writeProjectFiles(dir, {
      'models/orders.sql': 'select 2 as version',
      'models/orders.yml': `version: 2
models:
  - name: orders
    config:
      pre_hook: "${log('pre in')}"
      post_hook:
        - "${log('post in')}"
        - "select error('the orders are not ready')"
`,
    });
    const r = await runIn(dir, { date: '2024-01-03' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("post-hook 2 (models/orders.yml:8) failed: Invalid Input Error: the orders are not ready");
    expect(await queryRows(warehouseOf(dir), 'SELECT version FROM main.orders')).toEqual([{ version: 1 }]);
    const lines = await audit(dir);
    expect(lines.filter((l) => String(l).startsWith('pre') || String(l).startsWith('post'))).toEqual([]);
    expect(lines.at(-1)).toBe('end orders=error;');
  });

  it('a failing post-hook with transaction: false fails a model that is published already', async () => {
    const dir = project({
      'models/orders.sql': `{{ config(post_hook={"sql": "select error('after')", "transaction": false}) }}
select 1 as version`,
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('post-hook 1 (models/orders.sql:1) failed (after the commit: the model is published): Invalid Input Error: after');
    expect(await queryRows(warehouseOf(dir), 'SELECT version FROM main.orders')).toEqual([{ version: 1 }]);
  });

  it("a hook's SET changes its own model's session only: the next model, on the same connection, runs as pipe sets sessions up", async () => {
    const dir = project({
      'models/first.sql': `{{ config(pre_hook="create schema if not exists other; set search_path = 'other'; set threads = 1") }}
select current_setting('search_path') as path`,
      'models/second.sql': "-- depends_on: {{ ref('first') }}\nselect current_setting('search_path') as path, current_setting('TimeZone') as zone",
    });
    const r = await runIn(dir, { date: '2024-01-02', threads: 1 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await queryRows(warehouseOf(dir), 'SELECT path FROM main.first')).toEqual([{ path: 'other' }]);
    expect(await queryRows(warehouseOf(dir), 'SELECT path, zone FROM main.second')).toEqual([{ path: '', zone: 'UTC' }]);
  });

  it("refuses a hook that sets the session's TimeZone or default database, at its line, before the model is written", async () => {
    const failure = async (hook: string) => {
      const dir = project({ 'models/orders.sql': `{{ config(pre_hook="${hook}") }}\nselect 1 as version` });
      const r = await runIn(dir, { date: '2024-01-02' });
      expect(r.code).toBe(1);
      expect(existsSync(warehouseOf(dir)) && (await queryRows(warehouseOf(dir), "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'orders'"))).toEqual([{ n: '0' }]);
      return r.stdout;
    };
    expect(await failure("SET TimeZone = 'Asia/Tokyo'")).toContain("pre-hook 1 sets the session's TimeZone, which pipe keeps at UTC");
    expect(await failure("attach ':memory:' as other; use other")).toContain("pre-hook 1 changes the session's default database (USE)");
    expect(await failure("set global timezone = 'UTC'")).toContain('at models/orders.sql:1');
    expect(await failure("SET Calendar = 'japanese'")).toContain("pre-hook 1 sets the session's Calendar: pipe keeps it as DuckDB sets it (gregorian)");
    // So is a statement a model's template runs as the model runs, on the same session.
    const dir = project({ 'models/orders.sql': `{% if execute %}{% do run_query("use memory") %}{% endif %}\nselect 1 as version` });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("a statement the template runs changes the session's default database (USE)");
  });

  it('run CHECKPOINT, which DuckDB refuses in a transaction that has written, after the commit; refuse a hook that would commit midway', async () => {
    const dir = project({ 'models/orders.sql': `{{ config(post_hook=["${log('post')}", "checkpoint"]) }}\nselect 1 as id` });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    writeProjectFiles(dir, { 'models/orders.sql': `{{ config(pre_hook="delete from main.audit; commit") }}\nselect 2 as id` });
    const refused = await runIn(dir, { date: '2024-01-03' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("models/orders.sql:1:11: error: pre-hook 1 of orders ends or opens a transaction (commit): it would commit or abandon the model's own midway");
    expect(await queryRows(warehouseOf(dir), 'SELECT id FROM main.orders')).toEqual([{ id: 1 }]);
    // pipe compile makes no statements to build a model, but its hooks still render: the same error.
    const compiled = await compileIn(dir, { date: '2024-01-03' });
    expect(compiled.code).toBe(2);
    expect(compiled.stderr).toContain("models/orders.sql:1:11: error: pre-hook 1 of orders ends or opens a transaction (commit)");
  });

  it("installed packages' on-run-start and on-run-end run after the project's, by package name, with their own macros and vars, as in dbt", async () => {
    const dir = project({
      'models/orders.sql': 'select 1 as id',
      'dbt_packages/zpkg/dbt_project.yml': `name: zpkg
vars:
  who: z-var
on-run-start: "${log('{{ zlabel() }} start {{ var(\\"who\\") }}')}"
on-run-end: "${log('z end')}"
`,
      'dbt_packages/zpkg/macros/label.sql': '{% macro zlabel() %}z{% endmacro %}',
      'dbt_packages/apkg/dbt_project.yml': `name: apkg\non-run-start: ["${log('a start')}"]\n`,
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stderr).toBe(0);
    // Checked against dbt-duckdb 1.11: the project's hooks, then apkg's, then zpkg's.
    expect(await audit(dir)).toEqual(['start main', 'a start', 'z start z-var', 'end orders=success;', 'z end']);
  });

  it('a failing on-run-start writes no model: its tasks stay pending, and on-run-end still runs, as in dbt', async () => {
    const dir = project({ 'models/orders.sql': 'select 1 as id' });
    writeProjectFiles(dir, {
      'dbt_project.yml': PROJECT.replace("'start {{ schemas | join(\\\",\\\") }}'\"", "'start'\"\n  - \"select error('no start')\""),
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('on-run-start (dbt_project.yml:5) failed: Invalid Input Error: no start');
    expect(await queryRows(warehouseOf(dir), "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'orders'")).toEqual([{ n: '0' }]);
    expect(await audit(dir)).toEqual(['start', 'end ']);
    const runId = String(r.events.find((e) => e.type === 'run-started')?.runId);
    const history = await historyIn(dir, { runId });
    expect(history.stdout).toMatch(/on-run-start\.3\s.*failed/);
    expect(history.stdout).toMatch(/orders@2024-01-02\s.*pending/);
    // A retry runs the hooks again, and the models they held back.
    writeProjectFiles(dir, { 'dbt_project.yml': PROJECT });
    expect((await retryIn(dir)).code).toBe(0);
    expect(await queryRows(warehouseOf(dir), 'SELECT id FROM main.orders')).toEqual([{ id: 1 }]);
  });

  it('ref() and source() in on-run-start and on-run-end name the relations as they are, as in dbt: a hook waits for no model', async () => {
    const dir = project({ 'models/orders.sql': 'select 1 as id', 'models/sources.yml': 'version: 2\nsources:\n  - name: raw\n    schema: main\n    tables: [{name: audit}]\n' });
    writeProjectFiles(dir, {
      'dbt_project.yml': PROJECT.replace(/^on-run-end: .*$/m, "on-run-end:\n  - \"-- depends_on: {{ ref('orders') }}\\ninsert into {{ source('raw', 'audit') }} select 99, 'orders ' || (select count(*) from {{ ref('orders') }})\""),
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(await audit(dir)).toEqual(['start main', 'orders 1']);
  });

  it('a failing on-run-end, after every task succeeded, offers no pipe retry: there is nothing left for it to run', async () => {
    const dir = project({ 'models/orders.sql': 'select 1 as id' });
    writeProjectFiles(dir, { 'dbt_project.yml': PROJECT.replace(/^on-run-end: .*$/m, `on-run-end: "select error('no end')"`) });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("on-run-end (dbt_project.yml:5) failed: Invalid Input Error: no end");
    const finished = r.events.find((e) => e.type === 'run-finished');
    expect(finished).toMatchObject({ status: 'failed', succeeded: 1, failed: 1 });
    expect(finished).not.toHaveProperty('retryCommand');
    expect(r.stdout).not.toContain('pipe retry');
    expect(r.stdout).toContain('details: pipe history');
    expect((await retryIn(dir)).stdout).toContain('nothing to retry: every task of run');
  });

  it('on-run-start may create what the run reads, as in dbt: the checks before the run are made again once it ran', async () => {
    const sources = 'sources.yml';
    const dir = project({
      'models/orders.sql': "select * from {{ source('raw', 'orders') }}",
      [`models/${sources}`]: 'version: 2\nsources:\n  - name: raw\n    schema: landing\n    tables:\n      - name: orders\n',
    });
    writeProjectFiles(dir, {
      'dbt_project.yml': PROJECT.replace('on-run-start:\n', 'on-run-start:\n  - "create schema if not exists landing"\n  - "create table if not exists landing.orders as select 7 as id"\n'),
    });
    // A dry run runs no hook: it tells what it finds as a warning, and refuses nothing.
    const told: PipeEvent[] = [];
    await runDryRun({ project: dir, date: '2024-01-02', emit: (e) => told.push(e) });
    const warned = told.flatMap((e) => (e.type === 'diagnostic' ? [e.diagnostic] : []));
    expect(warned.map((d) => [d.severity, d.code, d.location?.file, d.location?.line])).toEqual([['warning', 'missing-source', `models/${sources}`, 6]]);
    expect(warned[0]!.message).toContain('the run checks again once its on-run-start statements ran');
    expect(existsSync(warehouseOf(dir))).toBe(false);
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await queryRows(warehouseOf(dir), 'SELECT id FROM main.orders')).toEqual([{ id: 7 }]);
  });

  it("a macro on-run-start makes with the name of DuckDB's own function stops the run before any model: it would answer the run's tests (count_star() as 0 passes every failing one)", async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'pipe.yaml': 'warehouse: warehouse.duckdb\n',
      'dbt_project.yml': 'name: shop\non-run-start:\n  - "create or replace macro count_star() as 0"\nmodels:\n  shop:\n    +materialized: view\n',
      'models/m.sql': 'select -5 as amount',
      'tests/negative.sql': "select * from {{ ref('m') }} where amount < 0",
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    expect(r.stderr + r.stdout).toMatch(/error: the macro "warehouse"\."main"\."count_star" in the warehouse has the name of DuckDB's own function count_star/);
    expect(taskIdsOf(r.events, 'task-succeeded')).not.toContain('m');
    expect(taskIdsOf(r.events, 'task-started')).not.toContain('m');
  });

  it('what is still missing once on-run-start ran stops the run before any model, said at its line; its tasks stay pending', async () => {
    const dir = project({
      'models/orders.sql': "select * from {{ source('raw', 'orders') }}",
      'models/sources.yml': 'version: 2\nsources:\n  - name: raw\n    schema: landing\n    tables:\n      - name: orders\n',
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    expect(r.stderr + r.stdout).toMatch(/models\/sources\.yml:6: error: source raw\.orders: .*"landing"\."orders" does not exist/);
    // The hooks ran (as in dbt, before the models), no model did.
    expect(await audit(dir)).toEqual(['start main', 'end ']);
    const runId = String(r.events.find((e) => e.type === 'run-started')?.runId);
    expect((await historyIn(dir, { runId })).stdout).toMatch(/orders@2024-01-02\s.*pending/);
  });

  it("results give each node dbt-duckdb's adapter_response: a seed's INSERT and its rows, a model's OK and no row count", async () => {
    const END = "{% for r in results %}insert into main.audit select (select count(*) from main.audit), '{{ r.node.name }} {{ tojson(r.adapter_response) }} {{ r.adapter_response.get('rows_affected', -1) }}';{% endfor %}";
    const dir = project({ 'seeds/s.csv': 'id\n1\n2\n', 'models/t.sql': "select * from {{ ref('s') }}", 'models/v.sql': "{{ config(materialized='view') }}\nselect * from {{ ref('t') }}" });
    writeProjectFiles(dir, { 'dbt_project.yml': PROJECT.replace(/^on-run-end: .*$/m, `on-run-end: "${END.replaceAll('"', '\\"')}"`) });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stderr).toBe(0);
    expect((await audit(dir)).slice(1).sort()).toEqual(['s {"_message": "INSERT 2", "code": "INSERT", "rows_affected": 2} 2', 't {"_message": "OK"} -1', 'v {"_message": "OK"} -1']);
    // Again, everything up to date: nothing ran, and no statement has an adapter's answer.
    const again = await runIn(dir, { date: '2024-01-02' });
    expect(again.code, again.stderr).toBe(0);
    expect((await audit(dir)).slice(5).sort()).toEqual(['s {} -1', 't {} -1', 'v {} -1']);
  });

  it('an on-run-start statement that sets a setting is part of what every model is built from; another is not', async () => {
    const withStart = (division: boolean, note: string) =>
      PROJECT.replace(/^on-run-end:/m, `  - "SET GLOBAL integer_division = ${division}"\n  - "${log(note)}"\non-run-end:`);
    const dir = project({ 'models/m.sql': 'select 7 / 2 as x\n' });
    const built = async (dbtProject: string) => {
      writeProjectFiles(dir, { 'dbt_project.yml': dbtProject });
      const r = await runIn(dir, { date: '2024-01-02' });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      return taskIdsOf(r.events, 'task-started').filter((id) => id.startsWith('m@'));
    };
    expect(await built(withStart(true, 'one'))).toEqual(['m@2024-01-02']);
    expect(await queryRows(warehouseOf(dir), 'SELECT x FROM m')).toEqual([{ x: 3 }]);
    expect(await built(withStart(true, 'one'))).toEqual([]);
    // A statement that changes nothing a query computes: the model stays current.
    expect(await built(withStart(true, 'two'))).toEqual([]);
    expect(await built(withStart(false, 'two'))).toEqual(['m@2024-01-02']);
    expect(await queryRows(warehouseOf(dir), 'SELECT x FROM m')).toEqual([{ x: 3.5 }]);
  });

  it("a query an on-run-end hook's macro runs that the warehouse refuses is said at the macro's run_query, a package's too", async () => {
    const dir = project({ 'models/m.sql': 'select 1 as id' });
    writeProjectFiles(dir, {
      'dbt_project.yml': PROJECT.replace(/^on-run-end: .*$/m, 'on-run-end: "{{ pk.upload() }}"'),
      'packages.yml': 'packages:\n  - local: pkg\n',
      'pkg/dbt_project.yml': "name: pk\nversion: '1.0'\nconfig-version: 2\n",
      'pkg/macros/upload.sql': "{% macro upload() %}\n  {{ return(adapter.dispatch('upload', 'pk')()) }}\n{% endmacro %}\n\n{% macro default__upload() %}\n  {% set q %}select 1,\n  ,2{% endset %}\n  {% do run_query(q) %}\n{% endmacro %}\n",
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/on-run-end\.1: a query that pkg\/macros\/upload\.sql:8 asks the warehouse for failed: Parser Error/);
  });

  it("results carry dbt's node, thread and timing; a microbatch model is one result of its batches; a failed model's tests are skipped", async () => {
    const ROW =
      "{{ r.node.unique_id }}|{{ r.status }}|{{ r.node.config.materialized }}|{{ r.node.config.full_refresh }}|{{ r.node.package_name }}|{{ r.node.tags | join(',') }}|{{ r.node.depends_on.nodes | join(',') }}|{{ r.thread_id }}|{{ r.timing | map(attribute='name') | join(',') }}|{{ r.message }}";
    // Each execute stage as DuckDB reads its times: it starts no later than it ends.
    const TIMES = "{% for t in r.timing if t.name == 'execute' %}insert into main.stages select '{{ r.node.name }}', '{{ t.started_at }}'::timestamp, '{{ t.completed_at }}'::timestamp;{% endfor %}";
    const END = `create table if not exists main.stages (node varchar, started timestamp, ended timestamp);{% for r in results %}insert into main.audit select (select count(*) from main.audit), '${ROW}';${TIMES}{% endfor %}`;
    const dir = project({
      'seeds/s.csv': 'id,d\n1,2024-01-01\n2,2024-01-02\n',
      'models/t.sql': "{{ config(tags=['daily']) }}\nselect * from {{ ref('s') }}",
      'models/t.yml': 'version: 2\nmodels:\n  - name: t\n    columns:\n      - name: id\n        tests: [unique]\n',
      'models/mb.sql': "{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='d', batch_size='day', begin='2024-01-01', lookback=1, full_refresh=false) }}\nselect * from {{ ref('s') }}",
      'models/bad.sql': "select missing_column from {{ ref('t') }}",
      'models/bad.yml': 'version: 2\nmodels:\n  - name: bad\n    columns:\n      - name: missing_column\n        tests: [not_null]\n',
      'seeds/s.yml': 'version: 2\nseeds:\n  - name: s\n    config:\n      column_types: {d: date}\n      event_time: d\n',
    });
    writeProjectFiles(dir, { 'dbt_project.yml': PROJECT.replace(/^on-run-end: .*$/m, `on-run-end: "${END.replaceAll('"', '\\"')}"`) });
    const r = await runIn(dir, { date: '2024-01-02', threads: 1 });
    expect(r.code).toBe(1);
    const rows = (await audit(dir)).slice(1).sort();
    expect(rows.map((row) => row.replace(/\.[0-9a-f]{10}\|/, '|').split('\n')[0])).toEqual([
      'model.shop.bad|error|table|None|shop||model.shop.t|Thread-1 (worker)|compile,execute|Binder Error: Referenced column "missing_column" not found in FROM clause!',
      'model.shop.mb|success|incremental|False|shop||seed.shop.s|Thread-1 (worker)|compile,execute|SUCCESS',
      'model.shop.t|success|table|None|shop|daily|seed.shop.s|Thread-1 (worker)|compile,execute|OK',
      'seed.shop.s|success|seed|None|shop|||Thread-1 (worker)|compile,execute|INSERT 2',
      'test.shop.not_null_bad_missing_column|skipped|test|None|shop||model.shop.bad|Thread-1 (worker)||None',
      'test.shop.unique_t_id|pass|test|None|shop||model.shop.t|Thread-1 (worker)|compile,execute|None',
    ]);
    // Two batches ran for mb (lookback 1), told as one result; each node's times are DuckDB's timestamps, in order.
    expect(r.events.filter((e) => e.type === 'task-succeeded' && (e.task as { model: string }).model === 'mb')).toHaveLength(2);
    const stages = await queryRows(warehouseOf(dir), 'SELECT node, started <= ended AS ordered FROM main.stages ORDER BY node');
    expect(stages).toEqual(['bad', 'mb', 's', 't', 'unique_t_id'].map((node) => ({ node, ordered: true })));
  });

  it('tell invocation_args_dict (the selection, vars and flags under dbt\'s names) and dbt_metadata_envs; dbt_version stops a package macro at its line', async () => {
    const END = "insert into main.audit select (select count(*) from main.audit), '{{ invocation_args_dict.which }} {{ invocation_args_dict.select | join(\",\") }} {{ tojson(invocation_args_dict.vars) }} {{ invocation_args_dict.full_refresh }} {{ \"warn_error_options\" in invocation_args_dict }} {{ tojson(dbt_metadata_envs) }}'";
    const dir = project({ 'models/orders.sql': 'select 1 as id' });
    writeProjectFiles(dir, { 'dbt_project.yml': PROJECT.replace(/^on-run-end: .*$/m, `on-run-end: "${END.replaceAll('"', '\\"')}"`) });
    process.env.DBT_ENV_CUSTOM_ENV_TEAM = 'data';
    try {
      const r = await runIn(dir, { date: '2024-01-02', select: ['orders'], vars: { region: 'eu' } });
      expect(r.code, r.stderr).toBe(0);
    } finally {
      delete process.env.DBT_ENV_CUSTOM_ENV_TEAM;
    }
    expect((await audit(dir)).at(-1)).toBe('build orders {"region": "eu"} False True {"TEAM": "data"}');
    // dbt_version: dbt's, which pipe is not; a package's macro reading it in a hook stops there, not given ''.
    writeProjectFiles(dir, {
      'dbt_project.yml': PROJECT.replace(/^on-run-end: .*$/m, 'on-run-end: "{{ pk.record_version() }}"'),
      'packages.yml': 'packages:\n  - local: pkg\n',
      'pkg/dbt_project.yml': "name: pk\nversion: '1.0'\nconfig-version: 2\n",
      'pkg/macros/v.sql': "{% macro record_version() %}\n  {% set q %}create table main.inv as select '{{ dbt_version }}' as v{% endset %}\n  {% do run_query(q) %}\n{% endmacro %}\n",
    });
    const v = await runIn(dir, { date: '2024-01-02' });
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/dbt_version is not supported by pipe\n\s+at pkg\/macros\/v\.sql:2/);
    expect(await queryRows(warehouseOf(dir), "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'inv'")).toEqual([{ n: '0' }]);
  });

  it("results tell each dbt test's outcome, as in dbt build; pipe test runs on-run-start and on-run-end around its checks, as dbt test does", async () => {
    const END = "insert into main.audit select (select count(*) from main.audit), 'end {% for r in results %}{{ r.node.resource_type }}:{{ r.node.name }}={{ r.status }}/{{ r.failures }}/{{ r.message }};{% endfor %}'";
    const dir = project({
      'models/orders.sql': 'select 1 as id union all select 2',
      'models/orders.yml': 'version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: id\n        tests: [unique, {accepted_values: {values: [1], config: {severity: warn}}}]\n',
      'models/doubled.sql': "select id * 2 as d from {{ ref('orders') }}",
      'models/doubled.yml': "unit_tests:\n  - name: doubles\n    model: doubled\n    given: [{input: ref('orders'), rows: [{id: 1}]}]\n    expect: {rows: [{d: 2}]}\n",
      // A snapshot is dbt's snapshot node, with its unique id; a test of one is attached to it.
      'snapshots/orders_snap.sql': "{% snapshot orders_snap %}{{ config(unique_key='id', strategy='check', check_cols='all', target_schema='main') }}select * from {{ ref('orders') }}{% endsnapshot %}",
      'snapshots/orders_snap.yml': 'version: 2\nsnapshots:\n  - name: orders_snap\n    columns:\n      - name: id\n        tests: [not_null]\n',
      // A source's test is attached to no node, as in dbt.
      'models/sources.yml': 'version: 2\nsources:\n  - name: raw\n    schema: main\n    tables:\n      - name: audit\n        columns:\n          - name: n\n            tests: [not_null]\n',
    });
    const END_IDS = END.replace('{{ r.node.name }}', '{{ r.node.unique_id }}{% if r.node.attached_node %}@{{ r.node.attached_node }}{% endif %}');
    writeProjectFiles(dir, { 'dbt_project.yml': PROJECT.replace(/^on-run-end: .*$/m, `on-run-end: "${END_IDS.replaceAll('"', '\\"')}"`) });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stderr).toBe(0);
    const ran = await audit(dir);
    expect(ran[0]).toBe('start main');
    expect(ran[1]!.replace(/^end /, '').split(';').sort()).toEqual([
      '',
      'model:model.shop.doubled=success/None/OK',
      'model:model.shop.orders=success/None/OK',
      'snapshot:snapshot.shop.orders_snap=success/None/OK',
      'test:test.shop.accepted_values_orders_id__1.45c5ad10cd@model.shop.orders=warn/1/Got 1 result, configured to warn if != 0',
      'test:test.shop.not_null_orders_snap_id.e60afd5d6f@snapshot.shop.orders_snap=pass/0/None',
      'test:test.shop.source_not_null_raw_audit_n.1439890817=pass/0/None',
      'test:test.shop.unique_orders_id.1360ecc70e@model.shop.orders=pass/0/None',
      'unit_test:unit_test.shop.doubles@model.shop.doubled=pass/0/None',
    ]);
    writeProjectFiles(dir, { 'dbt_project.yml': PROJECT.replace(/^on-run-end: .*$/m, `on-run-end: "${END.replaceAll('"', '\\"')}"`) });
    rmSync(join(dir, 'snapshots'), { recursive: true });
    // The published table, tested: the hooks run around the checks.
    const t = await testIn(dir, { date: '2024-01-02' });
    expect(t.code, t.stderr).toBe(0);
    const tested = (await audit(dir)).slice(2);
    expect(tested[0]).toBe('start main');
    expect(tested[1]!.replace(/^end /, '').split(';').sort()).toEqual(['', 'test:accepted_values_orders_id__1=warn/1/Got 1 result, configured to warn if != 0', 'test:source_not_null_raw_audit_n=pass/0/None', 'test:unique_orders_id=pass/0/None', 'unit_test:doubles=pass/0/None']);
  });

  it('tell selected_resources to on-run-start, on-run-end and their macros: the unique ids of the nodes the run builds and of their tests, as in dbt', async () => {
    // The Tuva project's on-run-start looks its own nodes up in it to decide whether to log the invocation.
    const ids = "{{ selected_resources | sort | join(' ') }}";
    const dir = project({
      'models/orders.sql': 'select 1 as id',
      'models/orders.yml': 'version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: id\n        tests: [unique]\n',
      'models/customers.sql': 'select 2 as id',
      // A macro the hook calls reads them too, as dbt's context gives them to it.
      'macros/ended.sql': `{% macro ended() %}${log(`end ${ids}`)}{% endmacro %}`,
    });
    const hooks = `on-run-start:\n  - "create table if not exists main.audit (n integer, what varchar)"\n  - "${log(`start ${ids}`)}"\non-run-end: "{{ ended() }}"\n`;
    writeProjectFiles(dir, { 'dbt_project.yml': PROJECT.replace(/^on-run-start:[\s\S]*?(?=^models:)/m, hooks) });
    expect((await runIn(dir, { date: '2024-01-02', select: ['orders'] })).code).toBe(0);
    expect(await audit(dir)).toEqual(['start model.shop.orders test.shop.unique_orders_id.1360ecc70e', 'end model.shop.orders test.shop.unique_orders_id.1360ecc70e']);
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    expect((await audit(dir)).slice(2)).toEqual([
      'start model.shop.customers model.shop.orders test.shop.unique_orders_id.1360ecc70e',
      'end model.shop.customers model.shop.orders test.shop.unique_orders_id.1360ecc70e',
    ]);
  });

  it("tell flags.WHICH the command as dbt names it: build for pipe run, test, compile, run-operation", async () => {
    const dir = project({
      'models/orders.sql': "select '{{ flags.WHICH }}' as which",
      'models/orders.yml': 'version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: which\n        tests: [not_null]\n',
      'macros/which.sql': "{% macro which() %}{% do print(flags.WHICH) %}{% endmacro %}",
    });
    writeProjectFiles(dir, { 'dbt_project.yml': PROJECT.replace(/^on-run-end: .*$/m, `on-run-end: "${log('end {{ flags.WHICH }}')}"`) });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    expect(await queryRows(warehouseOf(dir), 'SELECT which FROM main.orders')).toEqual([{ which: 'build' }]);
    expect((await testIn(dir, { date: '2024-01-02' })).code).toBe(0);
    expect((await audit(dir)).filter((a) => a.startsWith('end'))).toEqual(['end build', 'end test']);
    expect((await compileIn(dir, { date: '2024-01-02' })).models.map((m) => m.sql)).toEqual(["select 'compile' as which"]);
    const op = await runOperationIn(dir, { macro: 'which', args: {} });
    expect(op.events.flatMap((e) => (e.type === 'template-message' ? [e.message] : []))).toEqual(['run-operation']);
  });

  it('tell flags.FULL_REFRESH to on-run-start, on-run-end and the hooks of a model: whether the run is a full refresh', async () => {
    const dir = project({ 'models/orders.sql': `{{ config(post_hook="${log('post {{ flags.FULL_REFRESH }}')}") }}\nselect 1 as id` });
    writeProjectFiles(dir, {
      'dbt_project.yml': PROJECT.replace("'start {{", "'start {{ flags.FULL_REFRESH }} {{").replace("'end {%", "'end {{ flags.FULL_REFRESH }} {%"),
    });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    expect((await runIn(dir, { date: '2024-01-02', fullRefresh: true })).code).toBe(0);
    expect(await audit(dir)).toEqual([
      'start False main',
      'post False',
      'end False orders=success;',
      'start True main',
      'post True',
      'end True orders=success;',
    ]);
  });

  it('render as the model runs, as in dbt: execute is true, and graph and model are there', async () => {
    const dir = project({
      'models/orders.sql': `{{ config(post_hook="${log("post {% if execute %}executing {{ model.config.materialized }} {{ graph.nodes.values() | map(attribute='name') | join(',') }}{% else %}parsing{% endif %}")}") }}\nselect 1 as id`,
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // The project's run hooks are nodes of dbt's graph too (operation nodes), named as dbt names them.
    expect(await audit(dir)).toEqual(['start main', 'post executing table orders,shop-on-run-start-0,shop-on-run-start-1,shop-on-run-end-0', 'end orders=success;']);
  });

  it('a hook that queries the warehouse while it renders is rendered in its place as the model runs, as in dbt', async () => {
    // The statement block inserts as the post-hook renders, after the model's query; run_query then reads what it inserted.
    const post = `{% if execute %}{% call statement('first') %}insert into {{ this }} select count(*) + 100 from {{ this }}{% endcall %}{% set r = run_query('select max(id) from ' ~ this) %}insert into {{ this }} values ({{ r.columns[0].values()[0] + 1 }}){% endif %}`;
    const dir = project({ 'models/orders.sql': `{{ config(post_hook="${post}") }}\nselect 1 as id` });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await queryRows(warehouseOf(dir), 'SELECT id FROM main.orders ORDER BY id')).toEqual([{ id: 1 }, { id: 101 }, { id: 102 }]);
    // A query of the render that fails fails the model at the hook, and the model's table stays as it was.
    writeProjectFiles(dir, { 'models/orders.sql': `{{ config(post_hook="{% do run_query('select * from main.nowhere') %}select 1") }}\nselect 2 as id` });
    const broken = await runIn(dir, { date: '2024-01-03' });
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain('post-hook 1: a query that models/orders.sql:1 asks the warehouse for failed');
    expect(await queryRows(warehouseOf(dir), 'SELECT id FROM main.orders ORDER BY id')).toEqual([{ id: 1 }, { id: 101 }, { id: 102 }]);
  });

  it('on-run-start and on-run-end render as they run, as in dbt: execute is true and run_query runs; a failing one stops the run', async () => {
    const dir = project({ 'models/orders.sql': 'select 1 as id' });
    writeProjectFiles(dir, {
      'dbt_project.yml': PROJECT.replace(
        'on-run-end:',
        `  - "{% do run_query(\\"${log('start query')}\\") %}{% if execute %}${log('start executing')}{% endif %}"\non-run-end:`,
      ).replace(/on-run-end: "(.*)"\n/, `on-run-end:\n  - "$1"\n  - "{% for r in results %}{% do run_query(\\"${log('end query')}\\") %}{% endfor %}"\n`),
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await audit(dir)).toEqual(['start main', 'start query', 'start executing', 'end orders=success;', 'end query']);

    writeProjectFiles(dir, { 'dbt_project.yml': PROJECT.replace('on-run-end:', `  - "{% do run_query('select * from main.nowhere') %}"\non-run-end:`) });
    const broken = await runIn(dir, { date: '2024-01-03' });
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain('on-run-start.3: a query that dbt_project.yml');
    expect(broken.stdout).toContain('asks the warehouse for failed');
  });

  it('a template error in on-run-start stops the run before anything is written (exit 2)', async () => {
    const dir = project({ 'models/orders.sql': 'select 1 as id' });
    writeProjectFiles(dir, { 'dbt_project.yml': 'name: shop\non-run-start: "select {{ flags.LOG_PATH }}"\n' });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('dbt_project.yml:2');
    expect(r.stderr).toContain('flags');
    // Not even the warehouse the refused run would have made is left.
    expect(existsSync(warehouseOf(dir))).toBe(false);
    // An error in a macro the hook calls is at the macro's line, reached from the hook's.
    writeProjectFiles(dir, {
      'dbt_project.yml': 'name: shop\non-run-start:\n  - "select 1"\n  - "{{ outer() }}"\n',
      'macros/m.sql': "{% macro outer() %}\n  {{ inner() }}\n{% endmacro %}\n{% macro inner() %}\n  select {{ nothing.split('.') }}\n{% endmacro %}\n",
    });
    const inMacro = await runIn(dir, { date: '2024-01-02' });
    expect(inMacro.code).toBe(2);
    expect(inMacro.stderr).toMatch(/^macros\/m\.sql:5:\d+: error: nothing\.split\(\) is not defined/m);
    expect(inMacro.stderr).toContain('reached through outer(), called here: dbt_project.yml:4\n');
    // What dbt's context has and pipe's has not is said so (elementary's on-run-start reads dbt_version).
    writeProjectFiles(dir, { 'dbt_project.yml': 'name: shop\non-run-start: "select {{ dbt_version.split(\'.\')[0] }}"\n' });
    const version = await runIn(dir, { date: '2024-01-02' });
    expect(version.code).toBe(2);
    expect(version.stderr).toContain('hint: pipe is not a version of dbt: pass the version the template should assume with --var');
    // An installed package's hook: its code is not the user's to edit, a var of the package turns it off.
    writeProjectFiles(dir, {
      'dbt_project.yml': 'name: shop\n',
      'dbt_packages/watcher/dbt_project.yml': "name: watcher\non-run-start: \"{{ watcher.start() }}\"\n",
      'dbt_packages/watcher/macros/start.sql': "{% macro start() %}\n  select {{ dbt_version.split('.')[0] }}\n{% endmacro %}\n",
    });
    const inPackage = await runIn(dir, { date: '2024-01-02' });
    expect(inPackage.code).toBe(2);
    expect(inPackage.stderr).toMatch(/^dbt_packages\/watcher\/macros\/start\.sql:2:\d+: error: dbt_version is not supported by pipe/m);
    expect(inPackage.stderr).toContain("hint: pipe is not a version of dbt, and this is the installed package watcher's code: a var of the package may turn this macro or hook off");
  });

  it("run around a seed's load, with its persist_docs, as dbt-duckdb's seeds run them", async () => {
    const dir = project({
      // A model for PROJECT's models: config to apply to (else it is an unused config path, as dbt warns).
      'models/orders.sql': 'select 1 as id',
      'seeds/countries.csv': 'code,name\nNL,Netherlands\n',
      'seeds/countries.yml': 'version: 2\nseeds:\n  - name: countries\n    description: Countries we ship to\n',
    });
    writeProjectFiles(dir, {
      'dbt_project.yml': `${PROJECT}seeds:\n  shop:\n    +persist_docs: {relation: true}\n    +post-hook: "insert into main.audit select (select count(*) from main.audit), 'seed ' || (select count(*) from {{ this }})"\n`,
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await audit(dir)).toContain('seed 1');
    expect(await queryRows(warehouseOf(dir), "SELECT comment FROM duckdb_tables() WHERE table_name = 'countries'")).toEqual([{ comment: 'Countries we ship to' }]);
  });

  it('an incremental model with pre-hooks is built in its publishing transaction, each date', async () => {
    const dir = project({
      'models/events.sql': `{{ config(materialized='incremental', partition_by='day', pre_hook="${log('pre {{ ds }}')}", sql_header="set variable note = 'from header'") }}
select date '{{ ds }}' as day, getvariable('note') as note`,
    });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    expect((await runIn(dir, { date: '2024-01-03' })).code).toBe(0);
    expect(await queryRows(warehouseOf(dir), 'SELECT CAST(day AS VARCHAR) AS day, note FROM main.events ORDER BY day')).toEqual([
      { day: '2024-01-02', note: 'from header' },
      { day: '2024-01-03', note: 'from header' },
    ]);
    expect((await audit(dir)).filter((l) => String(l).startsWith('pre'))).toEqual(['pre 2024-01-02', 'pre 2024-01-03']);
  });
});

describe("a seed whose post-hook loads its rows (as Tuva's seeds load theirs)", () => {
  const seedProject = (hook: string, extra: Record<string, string> = {}) => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'dbt_project.yml': `name: shop\nseeds:\n  shop:\n    +post-hook: "${hook}"\n`,
      'seeds/codes.csv': 'code\n',
      'seeds/codes.yml': 'version: 2\nseeds:\n  - name: codes\n    config:\n      column_types: {code: integer}\n    columns:\n      - name: code\n        data_tests: [not_null, unique]\n',
      'models/m.sql': "{{ config(materialized='table') }}\nselect count(*) as n, sum(code) as total from {{ ref('codes') }}",
      ...extra,
    });
    return dir;
  };

  it('has its tests see the rows the hook loaded: failing ones keep the seed unpublished', async () => {
    const dir = seedProject('insert into {{ this }} values (null), (1), (1)');
    const r = await runIn(dir, {});
    expect(r.code, explain(r)).toBe(1);
    expect(r.stdout).toContain('test not_null_codes_code failed');
    expect(r.stdout).toContain('test unique_codes_code failed');
    expect((await queryRows(warehouseOf(dir), "SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE table_name = 'codes'"))[0].n).toBe(0);
  });

  it('is loaded on every run, and what reads it sees what the hook loaded this time', async () => {
    const dir = seedProject("insert into {{ this }} select * from read_csv('{{ var(\\\"ext\\\") }}', header = true)", { 'ext.csv': 'code\n1\n2\n' });
    const vars = { ext: `${dir}/ext.csv` };
    expect((await runIn(dir, { vars })).code).toBe(0);
    writeProjectFiles(dir, { 'ext.csv': 'code\n1\n2\n3\n4\n' });
    const again = await runIn(dir, { vars });
    expect(again.code, explain(again)).toBe(0);
    expect(taskIdsOf(again.events, 'task-succeeded').sort()).toEqual([expect.stringMatching(/^codes/), expect.stringMatching(/^m@/)]);
    expect(await queryRows(warehouseOf(dir), 'SELECT n::INTEGER AS n, total::INTEGER AS total FROM main.m')).toEqual([{ n: 4, total: 10 }]);
    // pipe status says why it is never current.
    const shown = await statusIn(dir, { vars });
    expect(shown.stdout, explain(shown)).toContain('it runs hooks, whose effects pipe cannot see');
  });
});
