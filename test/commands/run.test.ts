import { appendFileSync, cpSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { DuckDBSession } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { parse as parseYaml } from 'yaml';
import {
  copyExample,
  diagnosticsOf,
  eventsOfType,
  explain,
  ordersOn,
  publishedRelations,
  queryRows,
  removeTempDirs,
  startedModels,
  tempDir,
  seedRows,
  snapshotWarehouse,
  sortedRows,
  taskIdsOf,
  taskOf,
  warehouseOf,
  writeProjectFiles,
} from '../e2e/helpers.js';
import { compileIn, runIn } from '../support/in-process.js';
import { builtExample } from '../support/built-example.js';

afterAll(removeTempDirs);

const originalQuery = DuckDBSession.prototype.query;

/** `pipe run` on the example project, in-process: what gets built, how often, and from which date. */

/** A clock fixed at an instant, as PIPE_NOW fixes the binary's. */
const at = (iso: string) => ({ now: () => Date.parse(iso) });

const SEEDS = ['raw_customers', 'raw_orders', 'raw_products'];
const VIEWS = ['stg_customers', 'stg_orders', 'stg_products'];
const TABLES = ['daily_revenue', 'dim_customers', 'fct_orders'];
const EPHEMERAL = 'order_lines';

/** What fct_orders must hold for a day, computed from the seed files alone. */
function expectedFctOrders(day: string, currency: string) {
  const products = new Map(seedRows('raw_products').map((p) => [p.product_id, p]));
  return ordersOn(day)
    .map((o) => {
      const p = products.get(o.product_id)!;
      const cents = Number(o.quantity) * Number(p.price_cents);
      return {
        order_id: Number(o.order_id),
        customer_id: Number(o.customer_id),
        order_date: day,
        status: o.status,
        product_name: p.product_name,
        quantity: Number(o.quantity),
        amount: (cents / 100).toFixed(2),
        currency,
      };
    })
    .sort((a, b) => a.order_id - b.order_id);
}

describe('pipe run on the example project', () => {
  it('builds every seed, view, incremental and table model; never writes the ephemeral one', async () => {
    // The first run of a copy of the example, and a copy of the warehouse it built.
    const { dir, first: r } = await builtExample();

    const started = eventsOfType(r.events, 'run-started');
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({ command: 'run', ds: '2024-01-02', dateIsDefault: false });
    expect(r.events[0].type).toBe('run-started');
    expect(r.events.at(-1)).toMatchObject({ type: 'run-finished', status: 'succeeded', failed: 0, skipped: 0, cancelled: 0, pending: 0 });

    const expectedTasks = [...SEEDS, ...[...VIEWS, ...TABLES].map((m) => `${m}@2024-01-02`)].sort();
    expect(taskIdsOf(r.events, 'task-started')).toEqual(expectedTasks);
    expect(taskIdsOf(r.events, 'task-succeeded')).toEqual(expectedTasks);
    expect(r.events.some((e) => e.task !== undefined && taskOf(e).model === EPHEMERAL)).toBe(false);
    expect(started[0].tasks).toBe(expectedTasks.length);
    expect(eventsOfType(r.events, 'run-finished')[0].succeeded).toBe(expectedTasks.length);

    // Each task starts before it succeeds, and after everything it reads has succeeded.
    const at = (type: string, id: string) => r.events.findIndex((e) => e.type === type && e.task !== undefined && taskOf(e).id === id);
    const after = (later: string, earlier: string) => expect(at('task-started', later)).toBeGreaterThan(at('task-succeeded', earlier));
    after('stg_orders@2024-01-02', 'raw_orders');
    after('fct_orders@2024-01-02', 'stg_orders@2024-01-02');
    after('fct_orders@2024-01-02', 'stg_products@2024-01-02');
    after('daily_revenue@2024-01-02', 'fct_orders@2024-01-02');
    after('dim_customers@2024-01-02', 'fct_orders@2024-01-02');
    after('dim_customers@2024-01-02', 'stg_customers@2024-01-02');

    const db = warehouseOf(dir);
    expect(await publishedRelations(db)).toEqual({ tables: [...SEEDS, ...TABLES].sort(), views: VIEWS });

    // Rows reported match the data, and the data matches the seed files.
    const rowsOf = (id: string) => eventsOfType(r.events, 'task-succeeded').find((e) => taskOf(e).id === id)!.rows;
    for (const seed of SEEDS) {
      expect(rowsOf(seed)).toBe(seedRows(seed).length);
      expect(await sortedRows(db, seed)).toHaveLength(seedRows(seed).length);
    }
    // amount comes from the cents_to_amount macro, currency from pipe.yaml's vars.
    const fct = await queryRows(
      db,
      `SELECT order_id::INTEGER AS order_id, customer_id::INTEGER AS customer_id, order_date::VARCHAR AS order_date, status,
         product_name, quantity::INTEGER AS quantity, amount::VARCHAR AS amount, currency
       FROM fct_orders ORDER BY order_id`,
    );
    const projectVars = (parseYaml(readFileSync(join(dir, 'pipe.yaml'), 'utf8')) as { vars: { currency: string } }).vars;
    expect(fct).toEqual(expectedFctOrders('2024-01-02', projectVars.currency));
    expect(rowsOf('fct_orders@2024-01-02')).toBe(fct.length);
    expect(rowsOf('dim_customers@2024-01-02')).toBe(seedRows('raw_customers').length);
    const revenue = await queryRows(db, 'SELECT revenue_date::VARCHAR AS d, orders FROM daily_revenue');
    expect(revenue).toEqual([{ d: '2024-01-02', orders: String(fct.length) }]);
  });

  it('is idempotent: the same date twice gives identical tables; re-running a date never duplicates it', async () => {
    const { dir } = await builtExample();
    const db = warehouseOf(dir);
    const once = await snapshotWarehouse(db);
    const second = await runIn(dir, { date: '2024-01-02' });
    expect(second.code, explain(second)).toBe(0);
    expect(await snapshotWarehouse(db)).toEqual(once);

    const third = await runIn(dir, { date: '2024-01-03' });
    expect(third.code, explain(third)).toBe(0);
    const afterTwoDays = await snapshotWarehouse(db);
    const again = await runIn(dir, { date: '2024-01-02' });
    expect(again.code, explain(again)).toBe(0);

    const perDay = await queryRows(db, 'SELECT order_date::VARCHAR AS d, count(*)::INTEGER AS n, count(DISTINCT order_id)::INTEGER AS ids FROM fct_orders GROUP BY 1 ORDER BY 1');
    expect(perDay).toEqual(
      ['2024-01-02', '2024-01-03'].map((d) => ({ d, n: ordersOn(d).length, ids: ordersOn(d).length })),
    );
    const revenueDays = await queryRows(db, 'SELECT revenue_date::VARCHAR AS d, orders::INTEGER AS n FROM daily_revenue ORDER BY 1');
    expect(revenueDays).toEqual(['2024-01-02', '2024-01-03'].map((d) => ({ d, n: ordersOn(d).length })));
    // The partitions are exactly those of the two-day state; only the whole-table model follows the date.
    const now = await snapshotWarehouse(db);
    expect(now.fct_orders).toEqual(afterTwoDays.fct_orders);
    expect(now.daily_revenue).toEqual(afterTwoDays.daily_revenue);
    expect(now.dim_customers).toEqual(once.dim_customers);
  });

  it('lists the warehouse once: the catalog analysis saw is the one the run plans, recovers and looks for what is no longer built with', async () => {
    const { dir } = await builtExample();
    const catalogReads: string[] = [];
    const query = vi.spyOn(DuckDBSession.prototype, 'query').mockImplementation(function (this: DuckDBSession, sql: string) {
      if (/FROM duckdb_tables\(\)/.test(sql)) catalogReads.push(sql);
      return originalQuery.call(this, sql);
    });
    let second;
    try {
      second = await runIn(dir, { date: '2024-01-03' });
    } finally {
      query.mockRestore();
    }
    expect(second.code, explain(second)).toBe(0);
    // The whole catalog once, for analysis and the plan, the staging tables left over and the relations named after recorded models.
    expect(catalogReads).toHaveLength(1);
  });

  it("tells a seed's column whose type its reloaded file reads as another, or that came or went", async () => {
    const dir = tempDir();
    writeProjectFiles(dir, { 'pipe.yaml': 'name: shop\n', 'seeds/orders.csv': 'id,amount,note\n1,120,a\n2,80,b\n', 'models/total.sql': "select sum(amount) as s from {{ ref('orders') }}" });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    writeProjectFiles(dir, { 'seeds/orders.csv': 'id,amount,region\n1,120,eu\n2,80,us\n3,10.5,eu\n' });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    const notices = eventsOfType(r.events, 'notice').map((e) => e.message);
    expect(notices).toContain("orders: column amount is DOUBLE now, BIGINT before; column region is new (VARCHAR); column note is gone, as its file reads now (column_types: in its config keeps a column's type)");
    // Reloaded with the same columns: nothing said.
    writeProjectFiles(dir, { 'seeds/orders.csv': 'id,amount,region\n1,121,eu\n2,80,us\n3,10.5,eu\n' });
    const same = await runIn(dir, { date: '2024-01-02' });
    expect(taskIdsOf(same.events, 'task-succeeded')).toContain('orders');
    expect(eventsOfType(same.events, 'notice').filter((e) => String(e.message).startsWith('orders:'))).toEqual([]);
    // A column that came or went alone: nothing said of keeping a type.
    writeProjectFiles(dir, { 'seeds/orders.csv': 'id,amount\n1,121\n2,80\n3,10.5\n' });
    const gone = await runIn(dir, { date: '2024-01-02' });
    expect(eventsOfType(gone.events, 'notice').map((e) => e.message)).toContain('orders: column region is gone, as its file reads now');
    // A type column_types declares is said as the config's, not the file's.
    writeProjectFiles(dir, { 'seeds/orders.yaml': 'column_types:\n  amount: DECIMAL(10,2)\n', 'seeds/orders.csv': 'id,amount\n1,121\n2,80\n3,10.5\n4,1\n' });
    const declared = await runIn(dir, { date: '2024-01-02' });
    expect(declared.code, explain(declared)).toBe(0);
    expect(eventsOfType(declared.events, 'notice').map((e) => e.message)).toContain('orders: column amount is DECIMAL(10,2) now, DOUBLE before, as column_types: in its config declares');
  });

  it("refuses a seed's reload that would make a column of numbers or dates text, at the value's line, unless declared or a full refresh", async () => {
    const dir = tempDir();
    writeProjectFiles(dir, { 'pipe.yaml': 'name: shop\n', 'seeds/items.csv': 'id,qty,day\n1,3,2024-01-01\n2,4,2024-01-02\n', 'models/total.sql': "select sum(qty) as s from {{ ref('items') }}" });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const db = warehouseOf(dir);
    writeProjectFiles(dir, { 'seeds/items.csv': 'id,qty,day\n1,3,2024-01-01\n2,"two",2024-13-02\n3,5,2024-01-03\n' });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(2);
    const said = (value: string, type: string) => `"${value}" is not ${type} as the file's reader reads it (the seed's table has it as ${type.replace(/^an? /, '')}): loaded now, the column would be VARCHAR, and what reads it would compare, sort and sum text`;
    expect(diagnosticsOf(r.events).map((d) => [d.message, d.location])).toEqual([
      [`column qty: ${said('two', 'a BIGINT')}`, { file: 'seeds/items.csv', line: 3 }],
      [`column day: ${said('2024-13-02', 'a DATE')}`, { file: 'seeds/items.csv', line: 3 }],
    ]);
    expect(diagnosticsOf(r.events)[0].hint).toBe('fix the value; or, for a column of text from now on, declare it (column_types: {qty: varchar}) or load the seed with --full-refresh');
    expect(await queryRows(db, 'SELECT typeof(qty) AS t, count(*)::INTEGER AS n FROM items GROUP BY ALL')).toEqual([{ t: 'BIGINT', n: 2 }]);
    // A value a cast would take but the file's reader reads as text (+5, 1_000, 007) makes the column text all the same.
    for (const value of ['+5', '1_000', '007']) {
      writeProjectFiles(dir, { 'seeds/items.csv': `id,qty,day\n1,3,2024-01-01\n2,${value},2024-01-02\n` });
      const cast = await runIn(dir, { date: '2024-01-02' });
      expect(diagnosticsOf(cast.events).map((d) => [d.message, d.location]), value).toEqual([[`column qty: ${said(value, 'a BIGINT')}`, { file: 'seeds/items.csv', line: 3 }]]);
    }
    // Dates in the form the reader found (13/02/2024), which no cast reads: a value in another form makes
    // the column text, and no value in the first form is named as the culprit.
    writeProjectFiles(dir, { 'seeds/dd.csv': 'id,d\n1,13/02/2024\n2,14/02/2024\n' });
    expect((await runIn(dir, { date: '2024-01-02', select: ['dd'] })).code).toBe(0);
    writeProjectFiles(dir, { 'seeds/dd.csv': 'id,d\n1,13/02/2024\n2,14/02/2024\n3,2024-02-15\n' });
    const forms = await runIn(dir, { date: '2024-01-02', select: ['dd'] });
    expect(diagnosticsOf(forms.events).map((d) => [d.message, d.location])).toEqual([
      ["column d: its values read as text now, not as a DATE (the seed's table has it as DATE): loaded now, the column would be VARCHAR, and what reads it would compare, sort and sum text", { file: 'seeds/dd.csv' }],
    ]);
    // Text with no digit (n/a) is no date of any form: named, at its line.
    writeProjectFiles(dir, { 'seeds/dd.csv': 'id,d\n1,13/02/2024\n2,n/a\n' });
    const text = await runIn(dir, { date: '2024-01-02', select: ['dd'] });
    expect(diagnosticsOf(text.events).map((d) => [d.message.split(' (')[0], d.location])).toEqual([['column d: "n/a" is not a DATE as the file\'s reader reads it', { file: 'seeds/dd.csv', line: 3 }]]);
    rmSync(join(dir, 'seeds/dd.csv'));
    // A full refresh of a model that reads it does not retype the seed: only the seed's own.
    writeProjectFiles(dir, { 'seeds/items.csv': 'id,qty,day\n1,3,2024-01-01\n2,"two",2024-01-02\n' });
    const model = await runIn(dir, { date: '2024-01-02', select: ['total'], fullRefresh: true });
    expect(diagnosticsOf(model.events).map((d) => d.message)).toEqual([`column qty: ${said('two', 'a BIGINT')}`]);
    writeProjectFiles(dir, { 'seeds/items.csv': 'id,qty,day\n1,3,2024-01-01\n2,"two",2024-13-02\n3,5,2024-01-03\n' });
    // Declared text, or a full refresh: loaded as the file reads.
    writeProjectFiles(dir, { 'seeds/items.yaml': 'column_types:\n  qty: varchar\n' });
    const declared = await runIn(dir, { date: '2024-01-02', select: ['items'] });
    expect(diagnosticsOf(declared.events).map((d) => d.message)).toEqual([`column day: ${said('2024-13-02', 'a DATE')}`]);
    const full = await runIn(dir, { date: '2024-01-02', select: ['items'], fullRefresh: true });
    expect(full.code, explain(full)).toBe(0);
    expect(await queryRows(db, 'SELECT typeof(qty) AS q, typeof(day) AS d FROM items LIMIT 1')).toEqual([{ q: 'VARCHAR', d: 'VARCHAR' }]);
  });

  it("leaves the types of a seed with post-hooks to them (an ALTER after the load), not of one with pre-hooks alone", async () => {
    for (const [hook, refused] of [['pre_hook', true], ['post_hook', false]] as const) {
      const dir = tempDir();
      writeProjectFiles(dir, { 'pipe.yaml': 'name: shop\n', 'seeds/items.csv': 'id,qty\n1,5\n2,7\n', 'seeds/items.yaml': `${hook}:\n  - "select 1"\n` });
      expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
      writeProjectFiles(dir, { 'seeds/items.csv': 'id,qty\n1,5\n2,seven\n' });
      const r = await runIn(dir, { date: '2024-01-02' });
      expect(r.code, hook).toBe(refused ? 2 : 0);
    }
  });

  it('reloads a seed only when its file changed', async () => {
    const { dir, first } = await builtExample();
    const db = warehouseOf(dir);
    expect(taskIdsOf(first.events, 'task-succeeded')).toEqual(expect.arrayContaining(SEEDS));

    const second = await runIn(dir, { date: '2024-01-02' });
    expect(second.code, explain(second)).toBe(0);
    // The models are current too (see data-versions.test.ts); the seeds are not reloaded.
    const skipped = eventsOfType(second.events, 'task-skipped').filter((e) => e.reason !== 'current');
    expect(skipped.map((e) => taskOf(e).id).sort()).toEqual(SEEDS);
    for (const e of skipped) expect(e.reason).toBe('up-to-date');
    expect(taskIdsOf(second.events, 'task-started').filter((id) => SEEDS.includes(id))).toEqual([]);

    const customers = seedRows('raw_customers');
    const newId = Math.max(...customers.map((c) => Number(c.customer_id))) + 1;
    appendFileSync(join(dir, 'seeds/raw_customers.csv'), `${newId},Uma,Vos,NL,2023-12-01\n`);
    const third = await runIn(dir, { date: '2024-01-02' });
    expect(third.code, explain(third)).toBe(0);
    expect(taskIdsOf(third.events, 'task-succeeded')).toContain('raw_customers');
    expect(eventsOfType(third.events, 'task-skipped').filter((e) => e.reason === 'up-to-date').map((e) => taskOf(e).id).sort()).toEqual(['raw_orders', 'raw_products']);
    const loaded = eventsOfType(third.events, 'task-succeeded').find((e) => taskOf(e).id === 'raw_customers')!;
    expect(loaded.rows).toBe(customers.length + 1);

    expect(await queryRows(db, `SELECT first_name, last_name FROM raw_customers WHERE customer_id = ${newId}`)).toEqual([
      { first_name: 'Uma', last_name: 'Vos' },
    ]);
    expect(await queryRows(db, `SELECT customer_name, orders::INTEGER AS orders FROM dim_customers WHERE customer_id = ${newId}`)).toEqual([
      { customer_name: 'Uma Vos', orders: 0 },
    ]);
  });

  it('without --date builds yesterday by the clock', async () => {
    const dir = copyExample();
    const r = await runIn(dir, { clock: at('2024-03-05T10:00:00Z') });
    expect(r.code, explain(r)).toBe(0);
    expect(eventsOfType(r.events, 'run-started')[0]).toMatchObject({ ds: '2024-03-04', dateIsDefault: true });
    const days = await queryRows(warehouseOf(dir), 'SELECT order_date::VARCHAR AS d, count(*)::INTEGER AS n FROM fct_orders GROUP BY 1');
    expect(days).toEqual([{ d: '2024-03-04', n: ordersOn('2024-03-04').length }]);

    // The human header says which date it chose and why.
    const text = await runIn(dir, { clock: at('2024-03-05T10:00:00Z') });
    expect(text.code, explain(text)).toBe(0);
    expect(text.stdout.split('\n')[0]).toContain('2024-03-04');
    expect(text.stdout.split('\n')[0]).toContain('yesterday');

    // Just after midnight UTC on the first of a month: the last day of the previous month.
    const compiled = await compileIn(dir, { model: 'fct_orders', clock: at('2024-03-01T00:30:00Z') });
    expect(compiled.code, explain(compiled)).toBe(0);
    expect(compiled.stdout).toContain("'2024-02-29'");
    expect(compiled.stdout).toContain("'2024-03-01'");
  });

  it("never names pipe's staging tables in DuckDB's words: a model reading a seed by its plain name before it is loaded", async () => {
    const dir = tempDir();
    writeProjectFiles(dir, { 'pipe.yaml': 'name: t\n', 'seeds/victim.csv': 'a\n1\n', 'models/m.sql': 'from victim' });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(1);
    const message = String((eventsOfType(r.events, 'task-failed')[0].error as { message: string }).message);
    expect(message).toContain('Table with name victim does not exist!');
    expect(message).not.toContain('__pipe');
  });

  it('pipe run MODEL, a model where a pipeline is named, is told --select MODEL', async () => {
    const r = await runIn(copyExample(), { pipeline: 'fct_orders', date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(2);
    expect(r.stderr).toContain("no pipeline named 'fct_orders' in pipelines/");
    expect(r.stderr).toContain('pipe run --select fct_orders builds it');
  });

  it('builds the days around 1970-01-01, whose times are small numbers of milliseconds', async () => {
    const dir = copyExample();
    for (const date of ['1969-12-31', '1970-01-01', '1970-01-24']) {
      const r = await runIn(dir, { date });
      expect(r.code, explain(r)).toBe(0);
    }
    const built = await queryRows(warehouseOf(dir), "SELECT key FROM _pipe.builds WHERE node = 'fct_orders' AND key <> '' ORDER BY 1");
    expect(built.map((b) => b.key)).toEqual(['1969-12-31', '1970-01-01', '1970-01-24']);
  });
});

describe('renaming a model', () => {
  it('to another case of the same name replaces its table (DuckDB names ignore case)', async () => {
    const { dir } = await builtExample();
    renameSync(join(dir, 'models/marts/dim_customers.sql'), join(dir, 'models/marts/Dim_Customers.sql'));
    renameSync(join(dir, 'models/marts/dim_customers.yaml'), join(dir, 'models/marts/Dim_Customers.yaml'));
    const r = await runIn(dir, { date: '2024-01-03' });
    expect(r.code, explain(r)).toBe(0);
    const rows = await queryRows(warehouseOf(dir), "SELECT table_name FROM duckdb_tables() WHERE lower(table_name) = 'dim_customers'");
    expect(rows).toEqual([{ table_name: 'Dim_Customers' }]);
  });
});

describe('where the project lives', () => {
  it('a project inside a hidden folder loads; hidden files and folders inside it are skipped', async () => {
    const dir = join(tempDir(), '.config', 'shop');
    cpSync(copyExample(), dir, { recursive: true });
    writeProjectFiles(dir, { 'models/.draft.sql': 'select broken(', 'models/.wip/half.sql': 'select also broken(' });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(startedModels(r.events)).toEqual(['daily_revenue', 'dim_customers', 'fct_orders', 'stg_customers', 'stg_orders', 'stg_products']);
    expect(await queryRows(warehouseOf(dir), 'SELECT count(*)::INTEGER AS n FROM dim_customers')).toEqual([{ n: seedRows('raw_customers').length }]);
  });
});

describe('a table model made incremental', () => {
  it('says, on its first run by date, that the rest of the table stays as the whole build made it', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'pipe.yaml': 'name: shop\n',
      'seeds/raw.csv': 'id,d,v\n1,2024-01-01,10\n2,2024-01-02,20\n3,2024-01-03,30\n',
      'models/a.sql': "select id, d, v * 100 as v from {{ ref('raw') }}\n",
    });
    const whole = await runIn(dir, { date: '2024-01-02' });
    expect(whole.code, explain(whole)).toBe(0);
    writeProjectFiles(dir, { 'models/a.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect id, d, v from {{ ref('raw') }} where d = '{{ ds }}'\n" });
    const notice = (r: Awaited<ReturnType<typeof runIn>>) => eventsOfType(r.events, 'notice').map((e) => String(e.message)).filter((m) => m.includes('was last built whole'));
    const first = await runIn(dir, { date: '2024-01-02' });
    expect(first.code, explain(first)).toBe(0);
    expect(notice(first)).toEqual([expect.stringContaining('a was last built whole (run ')]);
    expect(notice(first)[0]).toContain('pipe backfill --full-refresh --select a');
    // The date replaced; the whole build's other rows kept, as dbt keeps them.
    expect(await sortedRows(warehouseOf(dir), 'a')).toEqual([
      { id: '1', d: '2024-01-01', v: '1000' },
      { id: '2', d: '2024-01-02', v: '20' },
      { id: '3', d: '2024-01-03', v: '3000' },
    ]);
    // Said once: the next run by date finds a date built since.
    expect(notice(await runIn(dir, { date: '2024-01-03' }))).toEqual([]);
  });
});
