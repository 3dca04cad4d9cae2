import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dayInterval, hourInterval, parseDate, type Interval } from '../../src/dates/dates.js';
import { MATERIALIZATIONS } from '../../src/plan/materializations.js';
import { uniqueKeyStrategy } from '../../src/plan/strategies/unique-key.js';
import { failureOf, microbatchConfig, TestWarehouse } from './helpers.js';

/**
 * dbt's incremental strategies as pipe writes them, on DuckDB: merge and delete+insert by
 * unique_key, and a microbatch model's batch. Each run gives the same table when repeated, and
 * a run that would not (a merge's key naming several rows, a NULL key, a row outside the batch)
 * fails before anything is published.
 */

let w: TestWarehouse;
beforeAll(async () => {
  w = await TestWarehouse.open('pipe-sql-incremental-strategies-');
  // The latest state of each order, as the source holds it after each day.
  await w.exec(`create table updates as select * from (values
    (1, 'placed', 10, DATE '2024-01-01'), (2, 'placed', 20, DATE '2024-01-01'),
    (1, 'shipped', 10, DATE '2024-01-02'), (3, 'placed', 30, DATE '2024-01-02'),
    (2, 'cancelled', 0, DATE '2024-01-03')
  ) v(order_id, status, amount, updated_on)`);
});
afterAll(() => w?.close());

const day = (d: string) => dayInterval(parseDate(d)!);
const ofDay = (d: string) => `select order_id, status, amount, updated_on from updates where updated_on = '${d}'`;

async function byKey(name: string, sql: string, how: 'merge' | 'delete+insert', keys: readonly string[] = ['order_id'], options: { fullRefresh?: boolean } = {}) {
  const input = await w.input(name, sql, { fullRefresh: options.fullRefresh });
  return w.run(how, input, uniqueKeyStrategy(input, keys, how));
}

const orders = (table: string) => w.query(`select order_id, status, amount, strftime(updated_on, '%Y-%m-%d') as d from ${table} order by all`);

describe.each(['merge', 'delete+insert'] as const)('%s by unique_key on DuckDB', (how) => {
  const table = how === 'merge' ? 'latest_m' : 'latest_di';

  it('creates the table, then replaces the rows whose key a run stages and adds the others', async () => {
    expect((await byKey(table, ofDay('2024-01-01'), how)).result.status).toBe('succeeded');
    const second = await byKey(table, ofDay('2024-01-02'), how);
    expect(second.result.status).toBe('succeeded');
    // The rows written are the rows the run staged: one updated, one added.
    expect(second.events.find((e) => e.type === 'task-succeeded')).toMatchObject({ rows: 2 });
    expect(await orders(table)).toEqual([
      { order_id: 1, status: 'shipped', amount: 10, d: '2024-01-02' },
      { order_id: 2, status: 'placed', amount: 20, d: '2024-01-01' },
      { order_id: 3, status: 'placed', amount: 30, d: '2024-01-02' },
    ]);
  });

  it('gives the same table when a run is repeated', async () => {
    await byKey(table, ofDay('2024-01-03'), how);
    const once = await orders(table);
    await byKey(table, ofDay('2024-01-03'), how);
    expect(await orders(table)).toEqual(once);
    expect(once).toHaveLength(3);
  });

  it.runIf(how === 'merge')('refuses a key that several staged rows share, naming some of them, and leaves the table as it was', async () => {
    const before = await orders(table);
    const r = await byKey(table, 'select order_id, status, amount, updated_on from updates', how);
    expect(r.result.status).toBe('failed');
    const { error } = failureOf(r.events);
    expect(error.kind).toBe('Data');
    expect(error.message).toMatch(/^2 values of unique_key \(order_id\) that more than one staged row has: a merge updates a row with one of them chosen by chance/);
    expect(error.sample).toEqual([
      { order_id: 1, staged_rows: 2 },
      { order_id: 2, staged_rows: 2 },
    ]);
    expect(await orders(table)).toEqual(before);
    expect([...(await w.relations()).keys()].filter((k) => k.includes('__pipe_stage__'))).toEqual([]);
  });

  it.runIf(how === 'delete+insert')('keeps every staged row of a key several share, in place of the rows the table had of it, and a re-run leaves the same rows', async () => {
    const sql = 'select order_id, status, amount, updated_on from updates';
    const r = await byKey(table, sql, how);
    expect(r.result.status).toBe('succeeded');
    const once = await orders(table);
    // Every key of the table is staged: it holds the staged rows, orders 1 and 2 twice each.
    expect(once).toEqual(await orders('updates'));
    expect(once).toHaveLength(5);
    expect((await byKey(table, sql, how)).result.status).toBe('succeeded');
    expect(await orders(table)).toEqual(once);
  });

  it('refuses a NULL key: it matches no row, so a re-run would insert it again', async () => {
    const before = await orders(table);
    const r = await byKey(table, `${ofDay('2024-01-03')} union all select NULL, 'lost', 1, DATE '2024-01-03'`, how);
    expect(r.result.status).toBe('failed');
    expect(failureOf(r.events).error.message).toMatch(/^1 staged row with unique_key \(order_id\) NULL: NULL matches no row, so every re-run would insert it again/);
    expect(await orders(table)).toEqual(before);
  });

  it('matches on every column of a composite key', async () => {
    const name = `${table}_composite`;
    const sql = (d: string) => `select order_id, status, count(*)::INTEGER as updates from updates where updated_on <= '${d}' group by all`;
    expect((await byKey(name, sql('2024-01-01'), how, ['order_id', 'status'])).result.status).toBe('succeeded');
    expect((await byKey(name, sql('2024-01-03'), how, ['order_id', 'status'])).result.status).toBe('succeeded');
    expect((await byKey(name, sql('2024-01-03'), how, ['order_id', 'status'])).result.status).toBe('succeeded');
    expect(await w.query(`select order_id, status, updates from ${name} order by all`)).toEqual([
      { order_id: 1, status: 'placed', updates: 1 },
      { order_id: 1, status: 'shipped', updates: 1 },
      { order_id: 2, status: 'cancelled', updates: 1 },
      { order_id: 2, status: 'placed', updates: 1 },
      { order_id: 3, status: 'placed', updates: 1 },
    ]);
  });

  it('rebuilds the table from the run alone under --full-refresh', async () => {
    expect((await byKey(table, ofDay('2024-01-02'), how, ['order_id'], { fullRefresh: true })).result.status).toBe('succeeded');
    expect(await orders(table)).toEqual([
      { order_id: 1, status: 'shipped', amount: 10, d: '2024-01-02' },
      { order_id: 3, status: 'placed', amount: 30, d: '2024-01-02' },
    ]);
  });
});

describe('merge and delete+insert', () => {
  it('leave the same table after the same runs', async () => {
    for (const how of ['merge', 'delete+insert'] as const) {
      for (const d of ['2024-01-02', '2024-01-01', '2024-01-03', '2024-01-03']) await byKey(`same_${how === 'merge' ? 'm' : 'di'}`, ofDay(d), how);
    }
    expect(await orders('same_m')).toEqual(await orders('same_di'));
  });

  it('take the columns by name, a new column failing the run by default', async () => {
    await byKey('by_name', 'select order_id, status from updates where updated_on = DATE \'2024-01-01\'', 'merge');
    expect((await byKey('by_name', "select status, order_id from updates where updated_on = DATE '2024-01-02'", 'merge')).result.status).toBe('succeeded');
    expect(await w.query('select order_id, status from by_name order by all')).toEqual([
      { order_id: 1, status: 'shipped' },
      { order_id: 2, status: 'placed' },
      { order_id: 3, status: 'placed' },
    ]);
    const r = await byKey('by_name', "select order_id, status, 1 as extra from updates where updated_on = DATE '2024-01-03'", 'merge');
    expect(r.result.status).toBe('failed');
    expect(failureOf(r.events).error.message).toContain('new: extra INTEGER');
  });
});

describe('a microbatch batch on DuckDB', () => {
  const config = microbatchConfig({ event_time: 'ts' });
  const hour = (h: number) => hourInterval(Date.parse(`2024-01-02T${String(h).padStart(2, '0')}:00:00Z`));
  async function batch(sql: string, interval: Interval) {
    const input = await w.input('clicks_hourly', sql, { interval });
    return w.run('microbatch', input, MATERIALIZATIONS.microbatch.strategy(input, config));
  }

  it('replaces its own hour of event_time, and a row outside it fails the batch, saying how a microbatch model reads its inputs', async () => {
    await w.exec(`create table clicks as select * from (values
      (1, TIMESTAMP '2024-01-02 12:10:00'), (2, TIMESTAMP '2024-01-02 13:05:00'), (3, TIMESTAMP '2024-01-02 13:55:00')
    ) v(id, ts)`);
    const ofHour = (h: number) => `select * from clicks where hour(ts) = ${h}`;
    for (const h of [12, 13, 13]) expect((await batch(ofHour(h), hour(h))).result.status).toBe('succeeded');
    expect(await w.query('select id from clicks_hourly order by id')).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    const r = await batch('select * from clicks', hour(13));
    expect(r.result.status).toBe('failed');
    expect(failureOf(r.events).error.message).toMatch(
      /^1 row outside the run's interval \[2024-01-02 13:00:00, 2024-01-02 14:00:00\) by ts \(or with ts NULL\); a microbatch model returns the rows of its batch only: declare event_time on the models it reads/,
    );
    expect(await w.query('select id from clicks_hourly order by id')).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
  });

  it('is built in days too', () => {
    const steps = MATERIALIZATIONS.microbatch.strategy(
      { schema: 'main', name: 'd', relation: '"main"."d"', stagingName: 's', stagingRelation: '"main"."s"', sql: 'select 1', interval: day('2024-01-02'), fullRefresh: false },
      { ...config, batch_size: 'day' },
    );
    expect(steps.find((s) => s.kind === 'publish')).toMatchObject({ statements: expect.arrayContaining([expect.stringContaining("TIMESTAMP '2024-01-03 00:00:00'")]) });
  });
});
