import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedStrategy } from '../../src/plan/strategies/seed.js';
import { DUCKDB } from '../../src/warehouse/duckdb/dialect.js';
import { tableStrategy } from '../../src/plan/strategies/table.js';
import { viewStrategy } from '../../src/plan/strategies/view.js';
import { failureOf, TestWarehouse } from './helpers.js';

let w: TestWarehouse;
beforeAll(async () => {
  w = await TestWarehouse.open('pipe-sql-table-');
});
afterAll(() => w?.close());

const rowsOf = (n: number, tag: string) => `select i as id, '${tag}' as tag from range(${n}) t(i)`;

async function buildTable(name: string, sql: string) {
  const input = await w.input(name, sql);
  return w.run('table', input, tableStrategy(input));
}

describe('table strategy on DuckDB', () => {
  it('builds the table, then replaces it whole with the next run', async () => {
    const first = await buildTable('orders', rowsOf(3, 'old'));
    expect(first.result.status).toBe('succeeded');
    expect(first.events.find((e) => e.type === 'task-succeeded')).toMatchObject({ rows: 3 });
    expect(await w.query('select id, tag from orders order by id')).toEqual([
      { id: '0', tag: 'old' },
      { id: '1', tag: 'old' },
      { id: '2', tag: 'old' },
    ]);

    const second = await buildTable('orders', `${rowsOf(2, 'new')} union all select 99, 'new'`);
    expect(second.result.status).toBe('succeeded');
    expect(await w.query('select id, tag from orders order by id')).toEqual([
      { id: '0', tag: 'new' },
      { id: '1', tag: 'new' },
      { id: '99', tag: 'new' },
    ]);
    // The staging table was renamed into place: nothing is left beside the table.
    expect([...(await w.relations()).keys()].filter((r) => r.includes('orders'))).toEqual(['"main"."orders"']);
  });

  it('takes the new columns and types of the query', async () => {
    await buildTable('reshaped', 'select 1 as a, 2 as b');
    await buildTable('reshaped', "select 'x' as c");
    expect(await w.query("select column_name, data_type from duckdb_columns() where table_name = 'reshaped'")).toEqual([
      { column_name: 'c', data_type: 'VARCHAR' },
    ]);
  });

  it('leaves the old table exactly as it was when the query fails, and drops the staging table', async () => {
    await buildTable('stable', rowsOf(5, 'kept'));
    const before = await w.query('select * from stable order by id');
    const failed = await buildTable('stable', "select i as id, 'x'::INTEGER as tag from range(3) t(i)");
    expect(failed.result.status).toBe('failed');
    expect(failureOf(failed.events).error).toMatchObject({ kind: 'Conversion', errorClass: 'permanent' });
    expect(await w.query('select * from stable order by id')).toEqual(before);
    expect([...(await w.relations()).keys()].filter((r) => r.includes('stable'))).toEqual(['"main"."stable"']);
  });

  it('leaves the old table as it was when the query fails after producing rows', async () => {
    await buildTable('late_failure', rowsOf(4, 'kept'));
    const before = await w.query('select * from late_failure order by id');
    // Fails only on a row far into the result.
    const failed = await buildTable('late_failure', "select i as id, case when i = 90000 then error('boom') else 'new' end as tag from range(100000) t(i)");
    expect(failed.result.status).toBe('failed');
    expect(failureOf(failed.events).error.message).toContain('boom');
    expect(await w.query('select * from late_failure order by id')).toEqual(before);
  });

  it('records the success with its row count, and a failed run as failed', async () => {
    const ok = await buildTable('recorded', rowsOf(2, 'a'));
    const bad = await buildTable('recorded', 'select nope');
    const results = await w.query(
      `select run_id, status, rows from _pipe.task_results where task_id = 'recorded' order by ended_at`,
    );
    expect(results.map((r) => [r.status, r.rows])).toEqual([
      ['succeeded', '2'],
      ['failed', null],
    ]);
    expect(ok.result.status).toBe('succeeded');
    expect(bad.result.status).toBe('failed');
  });

  it('replaces a view of the same name with the table', async () => {
    await w.exec('create view was_view as select 1 as x');
    const r = await buildTable('was_view', rowsOf(2, 'table'));
    expect(r.result.status).toBe('succeeded');
    expect((await w.relations()).get('"main"."was_view"')).toBe('table');
    expect(await w.query('select count(*)::INTEGER as n from was_view')).toEqual([{ n: 2 }]);
  });
});

describe('view strategy on DuckDB', () => {
  it('creates the view, then replaces its definition', async () => {
    await w.exec('create table view_source as select * from range(10) t(i)');
    let input = await w.input('small', 'select i from view_source where i < 3');
    expect((await w.run('view', input, viewStrategy(input))).result.status).toBe('succeeded');
    expect(await w.query('select count(*)::INTEGER as n from small')).toEqual([{ n: 3 }]);
    // A view reads its source live.
    await w.exec('insert into view_source values (1)');
    expect(await w.query('select count(*)::INTEGER as n from small')).toEqual([{ n: 4 }]);

    input = await w.input('small', 'select i from view_source where i >= 8');
    expect((await w.run('view', input, viewStrategy(input))).result.status).toBe('succeeded');
    expect(await w.query('select i::INTEGER as i from small order by i')).toEqual([{ i: 8 }, { i: 9 }]);
    expect((await w.relations()).get('"main"."small"')).toBe('view');
  });

  it('replaces a table of the same name', async () => {
    await buildTable('was_table', rowsOf(3, 't'));
    const input = await w.input('was_table', 'select 42 as answer');
    expect(input.existing).toBe('table');
    expect((await w.run('view', input, viewStrategy(input))).result.status).toBe('succeeded');
    expect((await w.relations()).get('"main"."was_table"')).toBe('view');
    expect(await w.query('select answer from was_table')).toEqual([{ answer: 42 }]);
  });

  it('keeps the old view when the new definition does not bind', async () => {
    const good = await w.input('guarded', 'select 1 as one');
    await w.run('view', good, viewStrategy(good));
    const bad = await w.input('guarded', 'select no_such_column from view_source');
    const r = await w.run('view', bad, viewStrategy(bad));
    expect(r.result.status).toBe('failed');
    expect(failureOf(r.events).error.kind).toBe('Binder');
    expect(await w.query('select one from guarded')).toEqual([{ one: 1 }]);
  });
});

describe('views over swapped tables', () => {
  it('keeps a view working, reading the new table, after the table it reads is swapped', async () => {
    await buildTable('base_for_view', rowsOf(2, 'old'));
    const input = await w.input('over_base', "select count(*)::INTEGER as n, min(tag) as tag from base_for_view");
    expect((await w.run('view', input, viewStrategy(input))).result.status).toBe('succeeded');
    expect(await w.query('select * from over_base')).toEqual([{ n: 2, tag: 'old' }]);
    expect((await buildTable('base_for_view', rowsOf(5, 'new'))).result.status).toBe('succeeded');
    expect(await w.query('select * from over_base')).toEqual([{ n: 5, tag: 'new' }]);
  });
});

describe('seed strategy on DuckDB', () => {
  it('loads the CSV with declared column types overriding inference', async () => {
    const csv = join(w.dir, 'raw_orders.csv');
    writeFileSync(csv, 'order_id,zip,price_cents,ordered_on\n1,01234,250,2024-01-02\n2,99999,1000,2024-01-03\n');
    const sql = DUCKDB.seedSelect({ absPath: csv, columnTypes: { zip: 'VARCHAR', price_cents: 'INTEGER' } });
    const input = { ...(await w.input('raw_orders', sql)) };
    const r = await w.run('seed', input, seedStrategy(input, { file: `seeds/${input.name}.csv`, rows: true }));
    expect(r.result.status).toBe('succeeded');
    expect(await w.query("select column_name, data_type from duckdb_columns() where table_name = 'raw_orders' order by column_index")).toEqual([
      { column_name: 'order_id', data_type: 'BIGINT' },
      { column_name: 'zip', data_type: 'VARCHAR' },
      { column_name: 'price_cents', data_type: 'INTEGER' },
      { column_name: 'ordered_on', data_type: 'DATE' },
    ]);
    // The leading zero survives because zip is text.
    expect(await w.query('select zip, price_cents from raw_orders order by order_id')).toEqual([
      { zip: '01234', price_cents: 250 },
      { zip: '99999', price_cents: 1000 },
    ]);
  });

  it('infers types without declarations, and reloads replacing the old rows', async () => {
    const csv = join(w.dir, 'lookup.csv');
    writeFileSync(csv, 'code,label\n1,one\n2,two\n');
    let input = await w.input('lookup', DUCKDB.seedSelect({ absPath: csv, columnTypes: {} }));
    await w.run('seed', input, seedStrategy(input, { file: `seeds/${input.name}.csv`, rows: true }));
    expect(await w.query("select data_type from duckdb_columns() where table_name = 'lookup' and column_name = 'zip'")).toEqual([]);
    expect(await w.query("select data_type from duckdb_columns() where table_name = 'lookup' and column_name = 'code'")).toEqual([{ data_type: 'BIGINT' }]);
    writeFileSync(csv, 'code,label\n3,three\n');
    input = await w.input('lookup', DUCKDB.seedSelect({ absPath: csv, columnTypes: {} }));
    expect(input.existing).toBe('table');
    await w.run('seed', input, seedStrategy(input, { file: `seeds/${input.name}.csv`, rows: true }));
    expect(await w.query('select code, label from lookup')).toEqual([{ code: '3', label: 'three' }]);
  });

  it('fails on a value that does not fit the declared type, keeping the loaded seed', async () => {
    const csv = join(w.dir, 'typed.csv');
    writeFileSync(csv, 'n\n1\n');
    let input = await w.input('typed', DUCKDB.seedSelect({ absPath: csv, columnTypes: { n: 'INTEGER' } }));
    await w.run('seed', input, seedStrategy(input, { file: `seeds/${input.name}.csv`, rows: true }));
    writeFileSync(csv, 'n\n2\nnot a number\n');
    input = await w.input('typed', DUCKDB.seedSelect({ absPath: csv, columnTypes: { n: 'INTEGER' } }));
    const r = await w.run('seed', input, seedStrategy(input, { file: `seeds/${input.name}.csv`, rows: true }));
    expect(r.result.status).toBe('failed');
    expect(await w.query('select n from typed')).toEqual([{ n: 1 }]);
  });
  it('loads a CSV whose path and column names need quoting', async () => {
    const csv = join(w.dir, "o'brien's list.csv");
    writeFileSync(csv, '"unit price",it\'s\n1.5,yes\n');
    const input = await w.input('quoted_seed', DUCKDB.seedSelect({ absPath: csv, columnTypes: { 'unit price': 'DECIMAL(10,2)', "it's": 'VARCHAR' } }));
    const r = await w.run('seed', input, seedStrategy(input, { file: `seeds/${input.name}.csv`, rows: true }));
    expect(r.result.status).toBe('succeeded');
    expect(await w.query("select column_name, data_type from duckdb_columns() where table_name = 'quoted_seed' order by column_index")).toEqual([
      { column_name: 'unit price', data_type: 'DECIMAL(10,2)' },
      { column_name: "it's", data_type: 'VARCHAR' },
    ]);
  });
});
