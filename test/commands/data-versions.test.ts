import { renameSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventsOfType, execOn, explain, queryRows, removeTempDirs, taskIdsOf, taskOf, warehouseOf, writeProjectFiles, type PipeEventJson } from '../e2e/helpers.js';
import { backfillIn, dryRunIn, retryIn, runIn, statusIn } from '../support/in-process.js';
import { runDryRun } from '../../src/commands/run.js';
import { CUSTOMERS, versionsProject } from '../support/versions-project.js';
import { BUILT_DATES, builtVersionsProject } from '../support/built-versions-project.js';
import { notCurrentAgreed } from '../support/status-standings.js';
import { removeProjects, tempProject } from '../support/projects.js';
import { analyze } from '../../src/analyze/analyze.js';
import { loadProject } from '../../src/project/load-project.js';
import { dayInterval, parseDate } from '../../src/dates/dates.js';
import { configHash } from '../../src/plan/config-hash.js';

afterAll(removeTempDirs);
afterAll(removeProjects);

/** Skipping what is current: a task built from the same SQL, config and input versions is not run again. */

const DATES = BUILT_DATES;
const FIVE = ['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04', '2024-01-05'];
const MODEL_TASKS = ['stg_orders@2024-01-05', ...FIVE.map((d) => `fct_orders@${d}`), ...FIVE.map((d) => `daily_totals@${d}`), 'customer_totals@2024-01-05', 'region_names@2024-01-05'];

const started = (events: readonly PipeEventJson[]) => taskIdsOf(events, 'task-started').sort();
const current = (events: readonly PipeEventJson[]) =>
  eventsOfType(events, 'task-skipped')
    .filter((e) => e.reason === 'current')
    .map((e) => taskOf(e).id)
    .sort();

/**
 * A backfill of DATES after an edit: what it ran is what status and --missing showed as not
 * current before it, and what its run state records it published (builds, seeds loaded).
 */
async function rebuiltAsForeseen(dir: string): Promise<string[]> {
  const due = await notCurrentAgreed(dir, DATES);
  const r = await backfillIn(dir, DATES);
  expect(r.code, explain(r)).toBe(0);
  expect(started(r.events)).toEqual(due);
  const runId = String(eventsOfType(r.events, 'run-started')[0].runId);
  const ran = await queryRows(
    warehouseOf(dir),
    `SELECT task_id AS id FROM _pipe.builds WHERE run_id = '${runId}' AND kind = 'build' UNION ALL SELECT name FROM _pipe.seeds WHERE run_id = '${runId}' ORDER BY 1`,
  );
  expect(ran.map((row) => row.id)).toEqual(due);
  expect(await notCurrentAgreed(dir, DATES)).toEqual([]);
  return due;
}

async function built(dir: string): Promise<string> {
  const r = await backfillIn(dir, DATES);
  expect(r.code, explain(r)).toBe(0);
  return warehouseOf(dir);
}

const exec = execOn;

/** A project over the CRM source `raw` (its `tables:` given), with `models`, whose tables `setup` makes: built, and found current by a second run. */
async function builtOverCrm(tables: string, models: Record<string, string>, setup: string): Promise<{ dir: string; db: string }> {
  const dir = versionsProject({ 'models/sources.yml': `version: 2\nsources:\n  - name: crm\n    schema: raw\n    tables:\n${tables}`, ...models });
  const db = warehouseOf(dir);
  await exec(db, `CREATE SCHEMA raw; ${setup}`);
  await built(dir);
  expect(started((await backfillIn(dir, DATES)).events)).toEqual([]);
  return { dir, db };
}

describe('skipping what is current', () => {
  it('re-running a built 5-date backfill runs no model task, and says each is up to date', async () => {
    const dir = await builtVersionsProject();
    const r = await backfillIn(dir, DATES);
    expect(r.code, explain(r)).toBe(0);
    expect(started(r.events)).toEqual([]);
    expect(current(r.events)).toEqual([...MODEL_TASKS].sort());
    expect(r.stdout).toContain('= fct_orders 2024-01-03 up to date');
    expect(eventsOfType(r.events, 'run-finished')[0]).toMatchObject({ status: 'succeeded', upToDate: MODEL_TASKS.length + 2, failed: 0 });
    // The two seeds, loaded from the same files, are up to date too: nothing ran.
    expect(r.stdout).toMatch(/Done: 0 succeeded, 15 up to date, 0 failed/);
    // Recorded as succeeded, so history and retry treat them as done.
    const rows = await queryRows(warehouseOf(dir), `SELECT count(*)::INTEGER AS n FROM _pipe.task_results WHERE status = 'succeeded' AND starts_with(detail, 'up to date')`);
    expect(rows).toEqual([{ n: MODEL_TASKS.length }]);
  });

  it('a dry run shows which tasks a run would skip, and what reads a changed one is not among them', async () => {
    const dir = await builtVersionsProject();
    writeProjectFiles(dir, { 'macros/shout.sql': "{% macro shout(c) %}lower({{ c }}){% endmacro %}\n", 'models/fct_orders.sql': `{{ config(materialized='incremental', partition_by='order_date') }}
select o.order_id, o.customer_id, o.amount, o.order_date, c.region
from {{ ref('stg_orders') }} o join {{ ref('customers') }} c on c.id = o.customer_id
where o.order_date = '{{ ds }}'{% if ds == '2024-01-02' %} and true{% endif %}
` });
    const r = await dryRunIn(dir, DATES);
    expect(r.code, explain(r)).toBe(0);
    const upToDate = r.stdout.split('\n').filter((l) => l.endsWith('= up to date')).map((l) => /\d+\. (\S+)/.exec(l)![1]);
    // fct_orders of 2024-01-02 changed, so what reads it would run; region_names' macro changed.
    // The seeds too: unchanged since they were loaded.
    expect(upToDate.sort()).toEqual(['customers', 'orders', 'stg_orders@2024-01-05', ...FIVE.filter((d) => d !== '2024-01-02').flatMap((d) => [`fct_orders@${d}`, `daily_totals@${d}`])].sort());
    // --force runs every task, a seed unchanged since it was loaded too.
    const forced = await dryRunIn(dir, { ...DATES, force: true });
    expect(forced.stdout.split('\n').filter((l) => l.endsWith('= up to date'))).toEqual([]);
  });

  it('editing one seed row re-runs exactly the tasks downstream of that seed', async () => {
    const dir = await builtVersionsProject();
    writeProjectFiles(dir, { 'seeds/customers.csv': CUSTOMERS.replace('2,Bob,south', '2,Bob,west') });
    expect(await rebuiltAsForeseen(dir)).toEqual(['customers', ...FIVE.map((d) => `fct_orders@${d}`), ...FIVE.map((d) => `daily_totals@${d}`), 'customer_totals@2024-01-05', 'region_names@2024-01-05'].sort());
    expect(await queryRows(warehouseOf(dir), `SELECT region FROM fct_orders WHERE customer_id = 2 GROUP BY ALL`)).toEqual([{ region: 'west' }]);
  });

  it('editing a macro re-runs exactly the models whose rendered SQL changed', async () => {
    const dir = await builtVersionsProject();
    // The same rendered SQL: nothing runs.
    writeProjectFiles(dir, { 'macros/shout.sql': '{% macro shout(c) %}{# louder #}upper({{ c }}){% endmacro %}\n' });
    const same = await backfillIn(dir, DATES);
    expect(started(same.events)).toEqual([]);
    writeProjectFiles(dir, { 'macros/shout.sql': "{% macro shout(c) %}upper({{ c }}) || '!'{% endmacro %}\n" });
    expect(await rebuiltAsForeseen(dir)).toEqual(['region_names@2024-01-05']);
    expect(await queryRows(warehouseOf(dir), `SELECT label FROM region_names ORDER BY 1`)).toEqual([{ label: 'NORTH!' }, { label: 'SOUTH!' }]);
  });

  it("a model's comments and layout are no change: edited, it is skipped and so is what reads it; an edit inside a string is one", async () => {
    const dir = await builtVersionsProject();
    // A comment added and one of the template's, a line wrapped and indented, CRLF line ends.
    const fct = `{{ config(materialized='incremental', partition_by='order_date') }}
{# fact table: one row an order #}
-- the region comes from the customer
select o.order_id,   o.customer_id, o.amount, o.order_date, c.region /* as of today */
from {{ ref('stg_orders') }} o
    join {{ ref('customers') }} c
    on c.id = o.customer_id
where o.order_date = '{{ ds }}'
`.replaceAll('\n', '\r\n');
    writeProjectFiles(dir, { 'models/fct_orders.sql': fct });
    const same = await backfillIn(dir, DATES);
    expect(same.code, explain(same)).toBe(0);
    expect(started(same.events)).toEqual([]);
    // Inside a literal, a space is data: the same edit there runs the model and what reads it.
    writeProjectFiles(dir, { 'models/region_names.sql': "{{ config(materialized='table') }}\nselect distinct region, {{ shout('region') }} || '  ' as label\nfrom {{ ref('customers') }}\n" });
    expect(await rebuiltAsForeseen(dir)).toEqual(['region_names@2024-01-05']);
    writeProjectFiles(dir, { 'models/region_names.sql': "{{ config(materialized='table') }}\nselect distinct region, {{ shout('region') }} || ' ' as label\nfrom {{ ref('customers') }}\n" });
    expect(await rebuiltAsForeseen(dir)).toEqual(['region_names@2024-01-05']);
    expect(await queryRows(warehouseOf(dir), `SELECT label FROM region_names ORDER BY 1`)).toEqual([{ label: 'NORTH ' }, { label: 'SOUTH ' }]);
  });

  it('a model that calls now() always runs, and so does what reads it', async () => {
    const dir = versionsProject({
      'models/stamped.sql': "{{ config(materialized='table') }}\nselect count(*) as n, now() as at from {{ ref('customers') }}\n",
      'models/stamped_copy.sql': "{{ config(materialized='table') }}\nselect n from {{ ref('stamped') }}\n",
    });
    await built(dir);
    const r = await backfillIn(dir, DATES);
    expect(started(r.events)).toEqual(['stamped@2024-01-05', 'stamped_copy@2024-01-05']);
  });

  it('a model that samples rows always runs, as one that calls random() does', async () => {
    const dir = versionsProject({ 'models/sampled.sql': "{{ config(materialized='table') }}\nselect * from {{ ref('customers') }} using sample 2 rows\n" });
    await built(dir);
    const r = await backfillIn(dir, DATES);
    expect(started(r.events)).toEqual(['sampled@2024-01-05']);
  });

  it('a model whose comments and strings name now() is skipped when current, as any other', async () => {
    const dir = versionsProject({
      'models/noted.sql':
        "-- A view: always reads the customers as they are now.\n{{ config(materialized='view') }}\nselect count(*) as n, 'now() or later' as note /* not random() */ from {{ ref('customers') }}\n",
    });
    await built(dir);
    const r = await backfillIn(dir, DATES);
    expect(started(r.events)).toEqual([]);
    expect(current(r.events)).toContain('noted@2024-01-05');
  });

  it('a model reading a table no ref() or source() gives it always runs', async () => {
    const dir = versionsProject({ 'models/sneaky.sql': "{{ config(materialized='table') }}\nselect * from main.outside\n" });
    await exec(warehouseOf(dir), 'CREATE TABLE main.outside AS SELECT 1 AS x');
    await built(dir);
    const r = await backfillIn(dir, DATES);
    expect(started(r.events)).toEqual(['sneaky@2024-01-05']);
  });

  it('a plain name reads a common table expression only where DuckDB binds it to one: elsewhere it is a table', async () => {
    const dir = versionsProject({
      // The CTE's own body reads the table of its name.
      'models/own_name.sql': "{{ config(materialized='table') }}\nwith outside as (select * from outside) select count(*) as n from outside\n",
      // A subquery's CTE ends with the subquery; one WITH's CTE is not seen by an earlier one.
      'models/subquery.sql': "{{ config(materialized='table') }}\nselect * from (with outside as (select 0 as x) select x from outside) union all select x from outside\n",
      'models/earlier.sql': "{{ config(materialized='table') }}\nwith a as (select * from outside), outside as (select 1 as x) select * from a\n",
      // Those that read CTEs alone: current.
      'models/chained.sql': "{{ config(materialized='table') }}\nwith c as (select * from {{ ref('customers') }}), d as (select * from c) select count(*) as n from d\n",
      'models/recursive.sql': "{{ config(materialized='table') }}\nwith recursive r as (select 1 as n union all select n + 1 from r where n < 3) select * from r\n",
    });
    await exec(warehouseOf(dir), 'CREATE TABLE main.outside AS SELECT 1 AS x');
    await built(dir);
    const r = await backfillIn(dir, DATES);
    expect(started(r.events)).toEqual(['earlier@2024-01-05', 'own_name@2024-01-05', 'subquery@2024-01-05']);
  });

  it("a plain name is looked for where DuckDB looks for it: through a search_path it may be another schema's table", async () => {
    const dir = versionsProject({
      'pipe.yaml': 'name: dv\nsettings:\n  search_path: other,main\n',
      'models/counted.sql': "{{ config(materialized='table') }}\nselect count(*) as n from {{ ref('customers') }} union all select count(*) from customers\n",
    });
    const db = warehouseOf(dir);
    await exec(db, 'CREATE SCHEMA other; CREATE TABLE other.customers AS SELECT 1 AS id');
    await built(dir);
    await exec(db, 'INSERT INTO other.customers VALUES (2)');
    const r = await backfillIn(dir, DATES);
    expect(started(r.events)).toEqual(['counted@2024-01-05']);
    expect(await queryRows(db, 'SELECT n::INTEGER AS n FROM counted ORDER BY n')).toEqual([{ n: 2 }, { n: 3 }]);
  });

  it('a model calling a macro of the warehouse always runs: its definition is out of sight', async () => {
    const dir = versionsProject({ 'models/scaled.sql': "{{ config(materialized='table') }}\nselect fx(count(*)) as v from {{ ref('customers') }}\n" });
    const db = warehouseOf(dir);
    await exec(db, 'CREATE MACRO fx(x) AS x * 10');
    await built(dir);
    await exec(db, 'CREATE OR REPLACE MACRO fx(x) AS x * 100');
    const r = await backfillIn(dir, DATES);
    expect(r.code, explain(r)).toBe(0);
    expect(started(r.events)).toEqual(['scaled@2024-01-05']);
    expect(await queryRows(db, 'SELECT v::INTEGER AS v FROM scaled')).toEqual([{ v: 300 }]);
  });

  it('a source is fingerprinted by its rows: what reads it runs when they change, and only then', async () => {
    const { dir, db } = await builtOverCrm(
      '      - name: accounts\n',
      { 'models/accounts.sql': "{{ config(materialized='table') }}\nselect count(*) as n, sum(x) as total from {{ source('crm', 'accounts') }}\n" },
      'CREATE TABLE raw.accounts AS SELECT range AS x FROM range(4)',
    );
    // The same number of rows, one value changed.
    await exec(db, 'UPDATE raw.accounts SET x = 10 WHERE x = 3');
    const r = await backfillIn(dir, DATES);
    expect(started(r.events)).toEqual(['accounts@2024-01-05']);
    expect(await queryRows(db, 'SELECT n::INTEGER AS n, total::INTEGER AS total FROM accounts')).toEqual([{ n: 4, total: 13 }]);
  });

  it("a source's fingerprint covers its columns' names and types, which its rows' hash does not see", async () => {
    const { dir, db } = await builtOverCrm(
      '      - name: accounts\n      - name: prices\n',
      {
        'models/firsts.sql': "{{ config(materialized='table') }}\nselect sum(a) as total from {{ source('crm', 'accounts') }}\n",
        'models/doubled.sql': "{{ config(materialized='table') }}\nselect sum(amount * 2)::VARCHAR as total from {{ source('crm', 'prices') }}\n",
      },
      'CREATE TABLE raw.accounts(a INT, b INT); INSERT INTO raw.accounts VALUES (1, 100), (2, 200); CREATE TABLE raw.prices(amount INT); INSERT INTO raw.prices VALUES (150), (275)',
    );
    // The two columns' names swapped: every row hashes as before, but `a` now holds 100 and 200.
    await exec(db, 'ALTER TABLE raw.accounts RENAME a TO c; ALTER TABLE raw.accounts RENAME b TO a; ALTER TABLE raw.accounts RENAME c TO b');
    // Cents become euros: DuckDB hashes 1.50::DECIMAL(10,2) as 150.
    await exec(db, 'ALTER TABLE raw.prices ALTER amount TYPE DECIMAL(10,2) USING amount / 100.0');
    const r = await backfillIn(dir, DATES);
    expect(r.code, explain(r)).toBe(0);
    expect(started(r.events)).toEqual(['doubled@2024-01-05', 'firsts@2024-01-05']);
    expect(await queryRows(db, 'SELECT total::INTEGER AS total FROM firsts')).toEqual([{ total: 300 }]);
    expect(await queryRows(db, 'SELECT total FROM doubled')).toEqual([{ total: '8.50' }]);
    expect(started((await backfillIn(dir, DATES)).events)).toEqual([]);
  });

  it("a source's nested values are fingerprinted by their shape, which DuckDB's hash() does not see", async () => {
    const { dir, db } = await builtOverCrm(
      '      - name: tagged\n',
      { 'models/groups.sql': "{{ config(materialized='table') }}\nselect id, tags::VARCHAR as tags, len(tags) as n, meta::VARCHAR as meta from {{ source('crm', 'tagged') }}\n" },
      "CREATE TABLE raw.tagged AS SELECT [[1], [2]] AS tags, 1 AS id, {'a': NULL::INT} AS meta UNION ALL SELECT []::INT[][], 2, NULL",
    );
    // Each hashes as it did: [[1],[2]] as [[1,2]], [] as NULL, a struct of NULLs as NULL.
    for (const change of ['UPDATE raw.tagged SET tags = [[1, 2]] WHERE id = 1', 'UPDATE raw.tagged SET tags = NULL WHERE id = 2', "UPDATE raw.tagged SET meta = NULL WHERE id = 1"]) {
      await exec(db, change);
      const r = await backfillIn(dir, DATES);
      expect(r.code, explain(r)).toBe(0);
      expect(started(r.events), change).toEqual(['groups@2024-01-05']);
    }
    expect(await queryRows(db, 'SELECT id, tags, n::INTEGER AS n, meta FROM groups ORDER BY id')).toEqual([
      { id: 1, tags: '[[1, 2]]', n: 1, meta: null },
      { id: 2, tags: null, n: null, meta: null },
    ]);
    expect(started((await backfillIn(dir, DATES)).events)).toEqual([]);
  });

  it("a source's JSON text rewritten to the same JSON is a change: a model reads its text", async () => {
    const { dir, db } = await builtOverCrm(
      '      - name: events\n',
      { 'models/texts.sql': "{{ config(materialized='table') }}\nselect id, payload::VARCHAR as payload, nested::VARCHAR as nested from {{ source('crm', 'events') }}\n" },
      `CREATE TABLE raw.events AS SELECT 1 AS id, '{"amount":1e2}'::JSON AS payload, ['{"note": "hi"}'::JSON] AS nested`,
    );
    // Each the same JSON once written anew (to_json() gives both as the second).
    for (const change of [`UPDATE raw.events SET payload = '{"amount":100.0}'`, `UPDATE raw.events SET nested = ['{"note":"hi"}'::JSON]`]) {
      await exec(db, change);
      const r = await backfillIn(dir, DATES);
      expect(r.code, explain(r)).toBe(0);
      expect(started(r.events), change).toEqual(['texts@2024-01-05']);
    }
    expect(await queryRows(db, 'SELECT payload, nested FROM texts')).toEqual([{ payload: '{"amount":100.0}', nested: '[{"note":"hi"}]' }]);
    expect(started((await backfillIn(dir, DATES)).events)).toEqual([]);
  });

  it("a source's VARIANT that keeps its text but changes its type is a change", async () => {
    const { dir, db } = await builtOverCrm(
      '      - name: vals\n',
      { 'models/typed.sql': "{{ config(materialized='table') }}\nselect id, variant_typeof(v) as ty from {{ source('crm', 'vals') }}\n" },
      'CREATE VIEW raw.vals AS SELECT 1 AS id, 1::INTEGER::VARIANT AS v',
    );
    await exec(db, "CREATE OR REPLACE VIEW raw.vals AS SELECT 1 AS id, '1'::VARIANT AS v");
    const r = await backfillIn(dir, DATES);
    expect(r.code, explain(r)).toBe(0);
    expect(started(r.events)).toEqual(['typed@2024-01-05']);
    expect(await queryRows(db, 'SELECT ty FROM typed')).toEqual([{ ty: 'VARCHAR' }]);
  });

  it("a source's float that turns -0.0 (or -NaN) is a change, which DuckDB's hash() does not see", async () => {
    const { dir, db } = await builtOverCrm(
      '      - name: rates\n',
      { 'models/inverse.sql': "{{ config(materialized='table') }}\nselect id, (1 / r)::VARCHAR as inv, r::VARCHAR as r from {{ source('crm', 'rates') }}\n" },
      "CREATE TABLE raw.rates AS SELECT 1 AS id, 0.0::DOUBLE AS r UNION ALL SELECT 2, 'nan'::DOUBLE",
    );
    const rates = (zero: string, nan: string) => `CREATE OR REPLACE TABLE raw.rates AS SELECT 1 AS id, '${zero}'::DOUBLE AS r UNION ALL SELECT 2, ${nan}`;
    for (const change of [rates('-0.0', "'nan'::DOUBLE"), rates('-0.0', "-('nan'::DOUBLE)")]) {
      await exec(db, change);
      const r = await backfillIn(dir, DATES);
      expect(r.code, explain(r)).toBe(0);
      expect(started(r.events), change).toEqual(['inverse@2024-01-05']);
    }
    expect(await queryRows(db, 'SELECT id, inv, r FROM inverse ORDER BY id')).toEqual([
      { id: 1, inv: '-inf', r: '-0.0' },
      { id: 2, inv: '-nan', r: '-nan' },
    ]);
  });

  it("a source's INTERVAL, HUGEINT, wide DECIMAL or UUID that changes is a change, which DuckDB's hash() of their two halves does not see", async () => {
    const { dir, db } = await builtOverCrm(
      '      - name: terms\n',
      { 'models/renewals.sql': "{{ config(materialized='table') }}\nselect id, (date '2024-01-31' + period)::date as renews_on, n::VARCHAR as n, amount::VARCHAR as amount, u::VARCHAR as u from {{ source('crm', 'terms') }}\n" },
      "CREATE TABLE raw.terms AS SELECT 1 AS id, INTERVAL 1 DAY AS period, 0::HUGEINT AS n, 0.00::DECIMAL(38,2) AS amount, '00000000-0000-0000-0000-000000000000'::UUID AS u",
    );
    // Each value hash() takes for the one before: its two halves' hashes XOR to the same.
    const changes = [
      "UPDATE raw.terms SET period = INTERVAL 1 MONTH",
      "UPDATE raw.terms SET n = -1",
      "UPDATE raw.terms SET n = 18446744073709551617",
      "UPDATE raw.terms SET amount = -0.01",
      "UPDATE raw.terms SET u = 'ffffffff-ffff-ffff-ffff-ffffffffffff'",
    ];
    for (const change of changes) {
      await exec(db, change);
      const r = await backfillIn(dir, DATES);
      expect(r.code, explain(r)).toBe(0);
      expect(started(r.events), change).toEqual(['renewals@2024-01-05']);
    }
    expect(await queryRows(db, 'SELECT renews_on::VARCHAR AS d, n, amount, u FROM renewals')).toEqual([{ d: '2024-02-29', n: '18446744073709551617', amount: '-0.01', u: 'ffffffff-ffff-ffff-ffff-ffffffffffff' }]);
  });

  it("a table another model wrote since (it took the name while this one was disabled) is not this one's build: it runs again", async () => {
    const dir = versionsProject({ 'models/m.sql': "{{ config(materialized='table') }}\nselect 'from m' as who\n" });
    await built(dir);
    // m disabled, and x takes its table's name.
    writeProjectFiles(dir, { 'models/m.yaml': 'enabled: false\n', 'models/x.sql': "{{ config(materialized='table', alias='m') }}\nselect 'from x' as who\n" });
    expect(started((await backfillIn(dir, DATES)).events)).toContain('x@2024-01-05');
    // m enabled again, x under its own name: m's own record is as it was, its table is x's.
    rmSync(join(dir, 'models/m.yaml'));
    writeProjectFiles(dir, { 'models/x.sql': "{{ config(materialized='table') }}\nselect 'from x' as who\n" });
    const status = await statusIn(dir, { date: '2024-01-05' });
    expect(status.stdout).toMatch(/m\s+table\s+modified \(its table was written since by x\)/);
    const r = await backfillIn(dir, DATES);
    expect(r.code, explain(r)).toBe(0);
    expect(started(r.events)).toContain('m@2024-01-05');
    expect(await queryRows(warehouseOf(dir), 'SELECT who FROM main.m')).toEqual([{ who: 'from m' }]);
  });

  it("a seed loads again when its table was another seed's or a model's since, or it loaded into another table (an alias set, then dropped)", async () => {
    const dbt = (files: Record<string, string>) =>
      tempProject({
        'dbt_project.yml': "name: shop\nprofile: shop\nmodels:\n  shop:\n    +materialized: table\n",
        'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: warehouse.duckdb\n',
        'seeds/raw.csv': 'id,amt\n1,10\n2,20\n',
        'models/down.sql': "select sum(amt)::INTEGER as s from {{ ref('raw') }}",
        ...files,
      });
    const sum = async (dir: string) => (await queryRows(warehouseOf(dir), 'SELECT s FROM down'))[0].s;
    const ok = async (dir: string) => {
      const r = await runIn(dir, { date: '2024-01-05' });
      expect(r.code, explain(r)).toBe(0);
      return r;
    };

    // A model takes the seed's table while the seed is disabled; the seed back, it loads again.
    const a = dbt({});
    await ok(a);
    writeProjectFiles(a, { 'seeds/props.yml': 'version: 2\nseeds:\n  - name: raw\n    config:\n      enabled: false\n', 'models/raw_m.sql': "{{ config(alias='raw') }}\nselect 1 as id, 999 as amt", 'models/down.sql': "select sum(amt)::INTEGER as s from {{ ref('raw_m') }}" });
    await ok(a);
    rmSync(join(a, 'seeds/props.yml'));
    rmSync(join(a, 'models/raw_m.sql'));
    writeProjectFiles(a, { 'models/down.sql': "select sum(amt)::INTEGER as s from {{ ref('raw') }}" });
    expect((await statusIn(a, { date: '2024-01-05' })).stdout).toMatch(/raw\s+seed\s+modified \(its table was written since by raw_m\)/);
    expect(taskIdsOf((await ok(a)).events, 'task-started')).toContain('raw');
    expect(await sum(a)).toBe(30);

    // A seed takes a model's table while the model is disabled; the model back, it builds again.
    const b = dbt({ 'models/mid.sql': "select * from {{ ref('raw') }}", 'models/down.sql': "select sum(amt)::INTEGER as s from {{ ref('mid') }}" });
    await ok(b);
    writeProjectFiles(b, { 'models/mid.sql': "{{ config(enabled=false) }}\nselect * from {{ ref('raw') }}", 'seeds/midseed.csv': 'id,amt\n1,0\n', 'seeds/props.yml': 'version: 2\nseeds:\n  - name: midseed\n    config:\n      alias: mid\n', 'models/down.sql': "select sum(amt)::INTEGER as s from {{ ref('midseed') }}" });
    await ok(b);
    rmSync(join(b, 'seeds/props.yml'));
    rmSync(join(b, 'seeds/midseed.csv'));
    writeProjectFiles(b, { 'models/mid.sql': "select * from {{ ref('raw') }}", 'models/down.sql': "select sum(amt)::INTEGER as s from {{ ref('mid') }}" });
    expect((await statusIn(b, { date: '2024-01-05' })).stdout).toMatch(/mid\s+table\s+modified \(its table was written since by the seed midseed\)/);
    expect(taskIdsOf((await ok(b)).events, 'task-started')).toContain('mid@2024-01-05');
    expect(await sum(b)).toBe(30);

    // The seed loads into another table (an alias) with an edit; the alias dropped, the file as then, it loads again.
    const c = dbt({});
    await ok(c);
    writeProjectFiles(c, { 'seeds/props.yml': 'version: 2\nseeds:\n  - name: raw\n    config:\n      alias: prod_raw\n', 'seeds/raw.csv': 'id,amt\n1,10\n2,25\n' });
    await ok(c);
    rmSync(join(c, 'seeds/props.yml'));
    expect(taskIdsOf((await ok(c)).events, 'task-started')).toContain('raw');
    expect(await sum(c)).toBe(35);
  });

  it('a seed and a model of one name, each writing the table in turn, are told apart: neither is current over the other', async () => {
    const seedOf = (dir: string) => queryRows(warehouseOf(dir), 'SELECT id::INTEGER AS id FROM s ORDER BY id');
    // The seed's table, written by a model named like it while the seed was gone: the seed back, it loads again.
    const a = tempProject({ 'pipe.yaml': 'name: shop\n', 'seeds/s.csv': 'id\n1\n2\n' });
    expect((await runIn(a, { date: '2024-01-05' })).code).toBe(0);
    rmSync(join(a, 'seeds/s.csv'));
    writeProjectFiles(a, { 'models/s.sql': 'select 999 as id' });
    expect((await runIn(a, { date: '2024-01-05' })).code).toBe(0);
    rmSync(join(a, 'models/s.sql'));
    writeProjectFiles(a, { 'seeds/s.csv': 'id\n1\n2\n' });
    expect((await statusIn(a, { date: '2024-01-05' })).stdout).toMatch(/s\s+seed\s+modified \(its table was written since by the model s\)/);
    expect((await runIn(a, { date: '2024-01-05' })).code).toBe(0);
    expect(await seedOf(a)).toEqual([{ id: 1 }, { id: 2 }]);
    // The model's table, written by a seed named like it while the model was gone: the model back, it builds again.
    const b = tempProject({ 'pipe.yaml': 'name: shop\n', 'models/s.sql': "{{ config(materialized='table') }}\nselect 5 as id" });
    expect((await runIn(b, { date: '2024-01-05' })).code).toBe(0);
    rmSync(join(b, 'models/s.sql'));
    writeProjectFiles(b, { 'seeds/s.csv': 'id\n7\n' });
    expect((await runIn(b, { date: '2024-01-05' })).code).toBe(0);
    rmSync(join(b, 'seeds/s.csv'));
    writeProjectFiles(b, { 'models/s.sql': "{{ config(materialized='table') }}\nselect 5 as id" });
    expect((await statusIn(b, { date: '2024-01-05' })).stdout).toMatch(/s\s+table\s+modified \(its table was written since by the seed s\)/);
    expect((await runIn(b, { date: '2024-01-05' })).code).toBe(0);
    expect(await seedOf(b)).toEqual([{ id: 5 }]);
  });

  it("a model kept by date whose table a seed's load wrote since: every date it built before is not current, after one date is rebuilt too", async () => {
    const model = "{{ config(materialized='incremental', partition_by='d') }}\nselect '{{ ds }}'::DATE as d, 'model' as v\n";
    const dir = tempProject({ 'pipe.yaml': 'name: shop\n', 'models/m.sql': model });
    const three = { start: '2024-01-01', end: '2024-01-03' };
    expect((await backfillIn(dir, three)).code).toBe(0);
    writeProjectFiles(dir, { 'models/m.sql': '{{ config(enabled=false) }}\nselect 1', 'seeds/s.csv': 'd,v\n2024-01-02,seed\n', 'seeds/s.yaml': 'alias: m\n' });
    expect((await runIn(dir, { date: '2024-01-05' })).code).toBe(0);
    rmSync(join(dir, 'seeds/s.csv'));
    rmSync(join(dir, 'seeds/s.yaml'));
    writeProjectFiles(dir, { 'models/m.sql': model });
    const states = async () => (await statusIn(dir, { ...three, json: true })).stdout.split('\n').filter((l) => l.includes('"type":"node"')).flatMap((l) => (JSON.parse(l) as { intervals: { interval: string; state: string }[] }).intervals.map((u) => `${u.interval} ${u.state}`));
    expect(await states()).toEqual(['2024-01-01 modified', '2024-01-02 modified', '2024-01-03 modified']);
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    expect(await states()).toEqual(['2024-01-01 modified', '2024-01-02 current', '2024-01-03 modified']);
    const again = await backfillIn(dir, three);
    expect(again.code, explain(again)).toBe(0);
    expect(started(again.events)).toEqual(['m@2024-01-01', 'm@2024-01-03']);
    expect(await queryRows(warehouseOf(dir), "SELECT d::VARCHAR AS d, v FROM m ORDER BY d")).toEqual(['2024-01-01', '2024-01-02', '2024-01-03'].map((d) => ({ d, v: 'model' })));
  });

  it('a model whose check reads a table by plain name always runs: that table may change while the model is current', async () => {
    const dir = versionsProject({
      'models/m.sql': "{{ config(materialized='table') }}\nselect 1 as id\n",
      'models/m.yaml': 'checks:\n  query: ["select * from {{ this }} where id not in (select id from main.allowed)"]\n',
      'models/plain.sql': "{{ config(materialized='table') }}\nselect 1 as id\n",
      'models/plain.yaml': 'checks:\n  query: ["select * from {{ this }} where id < 0"]\n',
    });
    await exec(warehouseOf(dir), 'CREATE TABLE main.allowed AS SELECT 1 AS id');
    const first = await backfillIn(dir, DATES);
    expect(first.code, explain(first)).toBe(0);
    const status = await statusIn(dir, { date: '2024-01-05' });
    expect(status.stdout).toMatch(/m\s+table\s+always runs \(its check .+ reads main\.allowed, which no ref\(\), source\(\) or seed gives it\)/);
    expect(status.stdout).toMatch(/plain\s+table\s+current/);
    // The table changes: the check runs with the model's build, and fails, as pipe test would.
    await exec(warehouseOf(dir), 'DELETE FROM main.allowed');
    const again = await backfillIn(dir, DATES);
    expect(again.code).toBe(1);
    expect(started(again.events)).toContain('m@2024-01-05');
    expect(started(again.events)).not.toContain('plain@2024-01-05');
  });

  it('a model whose check reads the time (a recency test) always runs: the check finds another answer as time goes on', async () => {
    const dir = versionsProject({
      'models/m.sql': "{{ config(materialized='table') }}\nselect timestamp '2999-01-01 10:00' as loaded_at\n",
      'models/recent.sql': "{{ config(materialized='table') }}\nselect loaded_at from {{ ref('m') }}\n",
      'models/recent.yaml': 'checks:\n  query: ["select * from {{ this }} where loaded_at < now() - interval 2 day"]\n',
    });
    const first = await backfillIn(dir, DATES);
    expect(first.code, explain(first)).toBe(0);
    const status = await statusIn(dir, { date: '2024-01-05' });
    expect(status.stdout).toMatch(/recent\s+table\s+always runs \(its check .+ calls now\(\), and finds another answer as time goes on\)/);
    expect(status.stdout).toMatch(/m\s+table\s+current/);
    expect(started((await backfillIn(dir, DATES)).events)).toContain('recent@2024-01-05');
  });

  it("a source's version_query stands for its rows", async () => {
    const dir = versionsProject({
      'models/sources.yml': "version: 2\nsources:\n  - name: crm\n    schema: raw\n    tables:\n      - name: accounts\n        meta:\n          version_query: select max(x) from raw.accounts\n",
      'models/accounts.sql': "{{ config(materialized='table') }}\nselect count(*) as n from {{ source('crm', 'accounts') }}\n",
    });
    const db = warehouseOf(dir);
    await exec(db, 'CREATE SCHEMA raw; CREATE TABLE raw.accounts AS SELECT range AS x FROM range(4)');
    await built(dir);
    // The query says nothing changed: pipe believes it.
    await exec(db, 'DELETE FROM raw.accounts WHERE x = 1');
    expect(started((await backfillIn(dir, DATES)).events)).toEqual([]);
    await exec(db, 'INSERT INTO raw.accounts VALUES (9)');
    expect(started((await backfillIn(dir, DATES)).events)).toEqual(['accounts@2024-01-05']);
  });

  it('a folder a source reads is fingerprinted by the stamps of every file under it, in its subfolders too', async () => {
    const dir = versionsProject({
      'data/events/a.csv': 'id,amount\n1,10\n',
      'data/events/2024/b.csv': 'id,amount\n2,20\n',
      'models/sources.yml': "version: 2\nsources:\n  - name: lake\n    tables:\n      - name: events\n        meta:\n          external_location: \"read_csv('data/events')\"\n",
      'models/event_totals.sql': "{{ config(materialized='table') }}\nselect count(*) as n, sum(amount)::INTEGER as total from {{ source('lake', 'events') }}\n",
    });
    await built(dir);
    expect(started((await backfillIn(dir, DATES)).events)).toEqual([]);
    // A file rewritten in place and one added in a subfolder: the folder's own entries are as they were.
    writeProjectFiles(dir, { 'data/events/a.csv': 'id,amount\n1,55\n', 'data/events/2024/c.csv': 'id,amount\n3,1000\n' });
    const r = await backfillIn(dir, DATES);
    expect(r.code, explain(r)).toBe(0);
    expect(started(r.events)).toEqual(['event_totals@2024-01-05']);
    expect(await queryRows(warehouseOf(dir), 'SELECT n, total FROM event_totals')).toEqual([{ n: '3', total: 1075 }]);
    expect(started((await backfillIn(dir, DATES)).events)).toEqual([]);
  });

  it('a file a source reads is fingerprinted by its stamp: size, times and inode', async () => {
    const dir = versionsProject({
      'data/events.csv': 'id,amount\n1,5\n',
      'models/sources.yml': "version: 2\nsources:\n  - name: lake\n    tables:\n      - name: events\n        meta:\n          external_location: 'data/events.csv'\n",
      'models/event_totals.sql': "{{ config(materialized='table') }}\nselect count(*) as n, sum(amount)::INTEGER as total from {{ source('lake', 'events') }}\n",
    });
    await built(dir);
    expect(started((await backfillIn(dir, DATES)).events)).toEqual([]);
    writeProjectFiles(dir, { 'data/events.csv': 'id,amount\n1,5\n2,6\n' });
    const r = await backfillIn(dir, DATES);
    expect(r.code, explain(r)).toBe(0);
    expect(started(r.events)).toEqual(['event_totals@2024-01-05']);
    // Replaced by a corrected export of the same size, with the exporter's modification time
    // (as `cp -p`, `rsync -t` or a tar leave it): the inode and change time tell it apart.
    const file = join(dir, 'data/events.csv');
    const exported = new Date('2024-01-01T00:00:00Z');
    utimesSync(file, exported, exported);
    expect(started((await backfillIn(dir, DATES)).events)).toEqual(['event_totals@2024-01-05']);
    writeProjectFiles(dir, { 'data/events.new': 'id,amount\n1,7\n2,8\n' });
    utimesSync(join(dir, 'data/events.new'), exported, exported);
    renameSync(join(dir, 'data/events.new'), file);
    const replaced = await backfillIn(dir, DATES);
    expect(replaced.code, explain(replaced)).toBe(0);
    expect(started(replaced.events)).toEqual(['event_totals@2024-01-05']);
    expect(await queryRows(warehouseOf(dir), 'SELECT total FROM event_totals')).toEqual([{ total: 15 }]);
  });

  it("the warehouse's DuckDB settings that may change results are part of what a model is built from", async () => {
    const dir = versionsProject({ 'models/halves.sql': "{{ config(materialized='table') }}\nselect 7 / 2 as half, list_sort([3, 1, 2]) as sorted\n" });
    const db = warehouseOf(dir);
    await built(dir);
    // Settings that change how queries run, not what they compute, change nothing.
    writeProjectFiles(dir, { 'pipe.yaml': 'name: dv\nsettings:\n  memory_limit: 1GB\n  threads: 2\n' });
    expect(started((await backfillIn(dir, DATES)).events)).toEqual([]);
    writeProjectFiles(dir, { 'pipe.yaml': 'name: dv\nsettings:\n  memory_limit: 1GB\n  threads: 2\n  integer_division: true\n  default_order: desc\n' });
    const r = await backfillIn(dir, DATES);
    expect(r.code, explain(r)).toBe(0);
    // Every model: any query may divide or sort.
    expect(started(r.events)).toEqual([...MODEL_TASKS, 'halves@2024-01-05'].sort());
    expect(await queryRows(db, 'SELECT half::VARCHAR AS half, sorted::VARCHAR AS sorted FROM halves')).toEqual([{ half: '3', sorted: '[3, 2, 1]' }]);
    // pipe's own reads of its records keep their order whatever order the settings make the default.
    expect(started((await backfillIn(dir, DATES)).events)).toEqual([]);
  });

  it("a build by another pipe version is not current: what pipe writes may differ between versions", async () => {
    const dir = await builtVersionsProject();
    const db = warehouseOf(dir);
    // The builds as the same project built by another pipe would have recorded them.
    const analysis = analyze(loadProject(dir), { interval: dayInterval(parseDate('2024-01-05')!) });
    for (const node of analysis.nodes.values()) {
      if (node.kind !== 'model') continue;
      await exec(db, `UPDATE _pipe.builds SET config_hash = '${configHash(node, {}, '0.0.1-other')}' WHERE node = '${node.name}'`);
    }
    const r = await backfillIn(dir, DATES);
    expect(r.code, explain(r)).toBe(0);
    expect(started(r.events)).toEqual([...MODEL_TASKS].sort());
    // What this pipe built is current to it.
    expect(started((await backfillIn(dir, DATES)).events)).toEqual([]);
  });

  it('a query check is what it renders to: a var it reads that changes runs the model again, and checks it', async () => {
    const dir = versionsProject({ 'models/customer_totals.yaml': "checks:\n  query:\n    - select * from {{ this }} where amount > {{ var('most', 100) }}\n" });
    await built(dir);
    expect(started((await backfillIn(dir, { ...DATES, vars: { most: 100 } })).events)).toEqual([]);
    const r = await backfillIn(dir, { ...DATES, vars: { most: 20 } });
    expect(started(r.events)).toEqual(['customer_totals@2024-01-05']);
    expect(r.code).not.toBe(0);
    // Back to what it was built and checked with: the failure since runs it again, then it is current.
    expect(started((await backfillIn(dir, DATES)).events)).toEqual(['customer_totals@2024-01-05']);
    expect(started((await backfillIn(dir, DATES)).events)).toEqual([]);
  });

  it("a query check's ref() is an input of the model: a change to what it names runs the model again, and checks it", async () => {
    const dir = versionsProject({
      'seeds/limits.csv': 'most\n100\n',
      'models/customer_totals.yaml': "checks:\n  query:\n    - select * from {{ this }} where amount > (select max(most) from {{ ref('limits') }})\n",
    });
    await built(dir);
    writeProjectFiles(dir, { 'seeds/limits.csv': 'most\n20\n' });
    const r = await backfillIn(dir, DATES);
    expect(started(r.events)).toEqual(['customer_totals@2024-01-05', 'limits']);
    expect(r.code).not.toBe(0);
  });

  it("a query check's source() is an input of the model too", async () => {
    const { dir, db } = await builtOverCrm(
      '      - name: limits\n',
      { 'models/customer_totals.yaml': "checks:\n  query:\n    - select * from {{ this }} where amount > (select max(most) from {{ source('crm', 'limits') }})\n" },
      'CREATE TABLE raw.limits AS SELECT 100 AS most',
    );
    await exec(db, 'UPDATE raw.limits SET most = 20');
    const r = await backfillIn(dir, DATES);
    expect(started(r.events)).toEqual(['customer_totals@2024-01-05']);
    expect(r.code).not.toBe(0);
  });

  it('a dropped table is rebuilt, and nothing else', async () => {
    const dir = await builtVersionsProject();
    const db = warehouseOf(dir);
    await exec(db, 'DROP TABLE main.customer_totals');
    const r = await backfillIn(dir, DATES);
    expect(r.code, explain(r)).toBe(0);
    expect(started(r.events)).toEqual(['customer_totals@2024-01-05']);
    expect(await queryRows(db, 'SELECT count(*)::INTEGER AS n FROM customer_totals')).toEqual([{ n: 3 }]);
  });

  it('after a full refresh, the dates it swapped in are current', async () => {
    const dir = await builtVersionsProject();
    const full = await backfillIn(dir, { ...DATES, fullRefresh: true });
    expect(full.code, explain(full)).toBe(0);
    expect(started(full.events)).toContain('fct_orders@2024-01-03');
    const r = await backfillIn(dir, DATES);
    expect(started(r.events)).toEqual([]);
  });

  it('--force runs everything selected, a seed edited by hand loaded again too', async () => {
    const dir = await builtVersionsProject();
    const db = warehouseOf(dir);
    await exec(db, 'DELETE FROM main.customers WHERE id > 1');
    const r = await backfillIn(dir, { ...DATES, force: true });
    expect(r.code, explain(r)).toBe(0);
    expect(started(r.events)).toEqual([...MODEL_TASKS, 'customers', 'orders'].sort());
    expect(await queryRows(db, 'SELECT count(*)::INTEGER AS n FROM main.customers')).toEqual([{ n: 3 }]);
    const one = await runIn(dir, { date: '2024-01-03', force: true, select: ['fct_orders'] });
    expect(started(one.events)).toEqual(['fct_orders@2024-01-03']);
  });

  it('a retry of a forced run forces too: what it did not get to runs though current', async () => {
    const dir = await builtVersionsProject();
    const controller = new AbortController();
    const stopped = await runIn(dir, {
      date: '2024-01-03',
      force: true,
      threads: 1,
      signal: controller.signal,
      onEvent: (e) => e.type === 'task-succeeded' && controller.abort(),
    });
    expect(stopped.code).toBe(130);
    const done = eventsOfType(stopped.events, 'task-succeeded').map(taskOf);
    expect(done.length).toBeGreaterThan(0);
    const retried = await retryIn(dir, {});
    expect(retried.code, explain(retried)).toBe(0);
    // Current since the builds of the versions project, and run all the same, as the run was forced.
    expect(eventsOfType(retried.events, 'task-skipped')).toEqual([]);
    expect(started(retried.events).length).toBeGreaterThan(0);
  });

  it('a failed task runs again while its current siblings are skipped', async () => {
    const broken = `{{ config(materialized='incremental', partition_by='order_date') }}
select order_date, count(*) as orders, sum(amount){% if var('break', '') == ds %} + 'x'::INTEGER{% endif %} as amount from {{ ref('fct_orders') }}
where order_date = '{{ ds }}' group by order_date
`;
    const dir = versionsProject({ 'models/daily_totals.sql': broken });
    const first = await backfillIn(dir, { ...DATES, vars: { break: '2024-01-03' } });
    expect(first.code).toBe(1);
    expect(taskIdsOf(first.events, 'task-failed')).toEqual(['daily_totals@2024-01-03']);
    const r = await backfillIn(dir, DATES);
    expect(r.code, explain(r)).toBe(0);
    expect(started(r.events)).toEqual(['daily_totals@2024-01-03']);
    expect(current(r.events)).toContain('daily_totals@2024-01-04');
  });

  it('pipe retry re-runs what failed and skips what a later run made current', async () => {
    const dir = await builtVersionsProject();
    writeProjectFiles(dir, { 'models/customer_totals.sql': "{{ config(materialized='table') }}\nselect customer_id, sum(amount)::INTEGER + 'x'::INTEGER as amount from {{ ref('fct_orders') }} group by customer_id\n" });
    const failed = await backfillIn(dir, DATES);
    expect(failed.code).toBe(1);
    writeProjectFiles(dir, { 'models/customer_totals.sql': "{{ config(materialized='table') }}\nselect customer_id, sum(amount) as amount, 1 as v from {{ ref('fct_orders') }} group by customer_id\n" });
    const r = await retryIn(dir);
    expect(r.code, explain(r)).toBe(0);
    expect(started(r.events)).toEqual(['customer_totals@2024-01-05']);
  });

  it('plans what each task reads, and why some always run', async () => {
    const dir = versionsProject({
      'models/merged.sql': "{{ config(materialized='incremental', unique_key='customer_id', incremental_strategy='merge') }}\nselect customer_id, sum(amount) as amount from {{ ref('fct_orders') }} group by 1\n",
      'models/grown.sql': "{{ config(materialized='incremental', unique_key='id', incremental_strategy='merge') }}\nselect id from {{ ref('customers') }}{% if is_incremental() %} where id > (select max(id) from {{ this }}){% endif %}\n",
      'models/hooked.sql': "{{ config(materialized='table', post_hook='select 1') }}\nselect 1 as x\n",
    });
    // Built once: is_incremental() is true from then on, and `grown` reads its own table.
    await built(dir);
    const { plan, prepared } = await runDryRun({ project: dir, date: '2024-01-03', emit: () => undefined });
    prepared.warehouse?.close();
    const of = (id: string) => plan.tasks.find((t) => t.id === id)!.tracking!;
    expect(of('fct_orders@2024-01-03')).toMatchObject({ key: '2024-01-03', untracked: undefined });
    expect(of('fct_orders@2024-01-03').inputs.map((i) => i.key).sort()).toEqual(['ref:stg_orders', 'seed:customers']);
    expect(of('daily_totals@2024-01-03').inputs.map((i) => i.key)).toEqual(['ref:fct_orders[2024-01-03]']);
    expect(of('customer_totals@2024-01-03')).toMatchObject({ key: '' });
    expect(of('customer_totals@2024-01-03').inputs.map((i) => i.key)).toEqual(['ref:fct_orders[*]']);
    expect(of('merged@2024-01-03').inputs.map((i) => i.key)).toEqual(['ref:fct_orders[*]', 'this']);
    expect(of('grown@2024-01-03').untracked).toBe('its query reads its own table');
    expect(of('hooked@2024-01-03').untracked).toBe('it runs hooks, whose effects pipe cannot see');
    expect(plan.tasks.find((t) => t.id === 'customers')!.tracking).toBeUndefined();
  });

  it('a model merged by key is skipped while its inputs stay; one that reads its own table always runs', async () => {
    const dir = versionsProject({
      'models/merged.sql': "{{ config(materialized='incremental', unique_key='customer_id', incremental_strategy='merge') }}\nselect customer_id, sum(amount) as amount from {{ ref('fct_orders') }} group by 1\n",
      'models/grown.sql': "{{ config(materialized='incremental', unique_key='id', incremental_strategy='merge') }}\nselect id from {{ ref('customers') }}{% if is_incremental() %} where id > (select max(id) from {{ this }}){% endif %}\n",
    });
    await built(dir);
    // Its first build rendered is_incremental() false: the second is the first merge.
    await built(dir);
    const r = await backfillIn(dir, DATES);
    expect(started(r.events)).toEqual(['grown@2024-01-05']);
    expect(current(r.events)).toContain('merged@2024-01-05');
  });
});
