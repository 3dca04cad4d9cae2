import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dayInterval, parseDate } from '../../src/dates/dates.js';
import { incrementalStrategy } from '../../src/plan/strategies/incremental.js';
import type { SchemaChangePolicy } from '../../src/analyze/model-config.js';
import { failureOf, TestWarehouse } from './helpers.js';

let w: TestWarehouse;
beforeAll(async () => {
  w = await TestWarehouse.open('pipe-sql-schema-change-');
});
afterAll(() => w?.close());

const day = (d: string) => dayInterval(parseDate(d)!);

/** One date of an incremental model `name` whose query yields `columns` plus its partition column. */
async function build(name: string, columns: string, date: string, policy: SchemaChangePolicy = 'append_new_columns') {
  const input = await w.input(name, `select ${columns}, DATE '${date}' as d`, { interval: day(date), partitionBy: 'd' });
  return w.run('incremental', { ...input, onSchemaChange: policy }, incrementalStrategy({ ...input, onSchemaChange: policy }));
}

const describeTable = async (name: string) => (await w.query(`DESCRIBE ${name}`)).map((r) => `${String(r.column_name)} ${String(r.column_type)}`);
const rows = (name: string) => w.query(`select * exclude (d), strftime(d, '%Y-%m-%d') as d from ${name} order by d`);

describe('append_new_columns on DuckDB', () => {
  it.each([
    ['a VARCHAR column the query now yields as DOUBLE', "'7'::VARCHAR as v", '7.5::DOUBLE as v', 'v VARCHAR → DOUBLE'],
    ['an INTEGER column the query now yields as VARCHAR', '7::INTEGER as v', "'seven' as v", 'v INTEGER → VARCHAR'],
  ])('fails on %s, naming the column and both types, and leaves the table as it was', async (_what, before, after, retyped) => {
    const name = `t_${before.includes('VARCHAR') ? 'varchar' : 'integer'}`;
    expect((await build(name, before, '2024-01-01')).result.status).toBe('succeeded');
    const shape = await describeTable(name);
    const data = await rows(name);

    const r = await build(name, `${after}, 1 as added`, '2024-01-02');
    expect(r.result.status).toBe('failed');
    const { error } = failureOf(r.events);
    expect(error.message).toContain(`the query's column types no longer match the table "main"."${name}" (retyped: ${retyped}); append_new_columns only adds columns`);
    expect(error.message).toContain('sync_all_columns');
    expect(error.message).toContain('--full-refresh');
    // Not even the new column was added: the run changed nothing.
    expect(await describeTable(name)).toEqual(shape);
    expect(await rows(name)).toEqual(data);
  });

  it('still adds new columns when none is retyped', async () => {
    expect((await build('grows', '1 as id', '2024-01-01')).result.status).toBe('succeeded');
    expect((await build('grows', "1 as id, 'x' as label", '2024-01-02')).result.status).toBe('succeeded');
    expect(await describeTable('grows')).toEqual(['id INTEGER', 'd DATE', 'label VARCHAR']);
    expect(await rows('grows')).toEqual([
      { id: 1, label: null, d: '2024-01-01' },
      { id: 1, label: 'x', d: '2024-01-02' },
    ]);
  });

  it('leaves the retype to sync_all_columns, which applies it', async () => {
    expect((await build('synced', "'7' as v", '2024-01-01', 'sync_all_columns')).result.status).toBe('succeeded');
    expect((await build('synced', '7.5::DOUBLE as v', '2024-01-02', 'sync_all_columns')).result.status).toBe('succeeded');
    expect(await describeTable('synced')).toEqual(['v DOUBLE', 'd DATE']);
  });
});
