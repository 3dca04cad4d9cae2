import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dayInterval, daysBetween, hourInterval, intervalLabel, parseDate, type Interval } from '../../src/dates/dates.js';
import { execute } from '../../src/execute/executor.js';
import type { Task } from '../../src/plan/task.js';
import { incrementalStrategy } from '../../src/plan/strategies/incremental.js';
import { failureOf, TestWarehouse } from './helpers.js';

let w: TestWarehouse;
beforeAll(async () => {
  w = await TestWarehouse.open('pipe-sql-incremental-');
  // The source the model reads: orders over three days.
  await w.exec(`create table src as
    select * from (values
      (1, DATE '2024-01-01', 10), (2, DATE '2024-01-01', 20),
      (3, DATE '2024-01-02', 30), (4, DATE '2024-01-02', 40), (5, DATE '2024-01-02', 50),
      (6, DATE '2024-01-03', 60)
    ) v(order_id, order_date, amount)`);
});
afterAll(() => w?.close());

const day = (d: string) => dayInterval(parseDate(d)!);
const ofDay = (d: string) => `select * from src where order_date = '${d}'`;

async function build(name: string, sql: string, interval: Interval, options: { fullRefresh?: boolean; partitionBy?: string } = {}) {
  const input = await w.input(name, sql, { interval, partitionBy: options.partitionBy ?? 'order_date', fullRefresh: options.fullRefresh });
  return w.run('incremental', input, incrementalStrategy(input));
}

const contents = (table: string) => w.query(`select order_id, strftime(order_date, '%Y-%m-%d') as d, amount from ${table} order by order_id`);

describe('incremental strategy on DuckDB', () => {
  it('creates the table on the first run and adds each date as its own partition', async () => {
    expect((await build('fct', ofDay('2024-01-01'), day('2024-01-01'))).result.status).toBe('succeeded');
    expect((await w.relations()).get('"main"."fct"')).toBe('table');
    const second = await build('fct', ofDay('2024-01-02'), day('2024-01-02'));
    expect(second.result.status).toBe('succeeded');
    // Rows reported are the rows inserted for the date.
    expect(second.events.find((e) => e.type === 'task-succeeded')).toMatchObject({ rows: 3 });
    expect(await contents('fct')).toEqual([
      { order_id: 1, d: '2024-01-01', amount: 10 },
      { order_id: 2, d: '2024-01-01', amount: 20 },
      { order_id: 3, d: '2024-01-02', amount: 30 },
      { order_id: 4, d: '2024-01-02', amount: 40 },
      { order_id: 5, d: '2024-01-02', amount: 50 },
    ]);
  });

  it('replaces exactly one partition on a re-run, leaving the others untouched', async () => {
    await build('fct', ofDay('2024-01-03'), day('2024-01-03'));
    const others = await w.query("select * from fct where order_date <> '2024-01-02' order by order_id");
    // The source changed for 2024-01-02: one order gone, one amount changed.
    await w.exec("delete from src where order_id = 4");
    await w.exec("update src set amount = 31 where order_id = 3");
    expect((await build('fct', ofDay('2024-01-02'), day('2024-01-02'))).result.status).toBe('succeeded');
    expect(await w.query("select order_id, amount from fct where order_date = '2024-01-02' order by order_id")).toEqual([
      { order_id: 3, amount: 31 },
      { order_id: 5, amount: 50 },
    ]);
    expect(await w.query("select * from fct where order_date <> '2024-01-02' order by order_id")).toEqual(others);
  });

  it('is idempotent: running the same date twice gives the same table', async () => {
    const once = await contents('fct');
    await build('fct', ofDay('2024-01-02'), day('2024-01-02'));
    await build('fct', ofDay('2024-01-02'), day('2024-01-02'));
    expect(await contents('fct')).toEqual(once);
    expect(await w.query('select count(*)::INTEGER as n from fct')).toEqual([{ n: once.length }]);
  });

  it('refuses rows outside the interval, leaving the table as it was', async () => {
    const before = await contents('fct');
    // A model that forgot its date filter.
    const r = await build('fct', 'select * from src', day('2024-01-02'));
    expect(r.result.status).toBe('failed');
    const { error } = failureOf(r.events);
    expect(error.kind).toBe('Data');
    expect(error.message).toMatch(/^3 rows outside the run's interval \[2024-01-02 00:00:00, 2024-01-03 00:00:00\) by order_date /);
    expect(error.sample!.map((row) => row.order_id).sort()).toEqual([1, 2, 6]);
    expect(await contents('fct')).toEqual(before);
    // The staging table is dropped after the failure.
    expect([...(await w.relations()).keys()].filter((k) => k.includes('__pipe_stage__'))).toEqual([]);
  });

  it('refuses rows whose partition value is NULL', async () => {
    const before = await contents('fct');
    const r = await build('fct', `${ofDay('2024-01-02')} union all select 99, NULL, 1`, day('2024-01-02'));
    expect(r.result.status).toBe('failed');
    expect(failureOf(r.events).error.message).toMatch(/^1 row outside the run's interval/);
    expect(await contents('fct')).toEqual(before);
  });

  it('accepts rows on the first instant of the interval and refuses the first instant after it', async () => {
    await w.exec(`create table events as select * from (values
      (1, TIMESTAMP '2024-01-02 00:00:00'), (2, TIMESTAMP '2024-01-02 23:59:59.999999'), (3, TIMESTAMP '2024-01-03 00:00:00')
    ) v(id, ts)`);
    const ok = await build('ev', "select * from events where ts < '2024-01-03'", day('2024-01-02'), { partitionBy: 'ts' });
    expect(ok.result.status).toBe('succeeded');
    const bad = await build('ev', 'select * from events', day('2024-01-02'), { partitionBy: 'ts' });
    expect(bad.result.status).toBe('failed');
    expect(failureOf(bad.events).error.sample!.map((r) => r.id)).toEqual([3]);
    expect(await w.query('select id from ev order by id')).toEqual([{ id: 1 }, { id: 2 }]);
  });

  it('replaces one hour of an hourly model and nothing else of the day', async () => {
    await w.exec(`create table clicks as select * from (values
      (1, TIMESTAMP '2024-01-02 12:10:00'), (2, TIMESTAMP '2024-01-02 13:05:00'), (3, TIMESTAMP '2024-01-02 13:55:00'), (4, TIMESTAMP '2024-01-02 14:00:00')
    ) v(id, ts)`);
    const hour = (h: number) => hourInterval(Date.parse(`2024-01-02T${String(h).padStart(2, '0')}:00:00Z`));
    const ofHour = (h: number) => `select * from clicks where hour(ts) = ${h}`;
    for (const h of [12, 13, 14]) expect((await build('hourly', ofHour(h), hour(h), { partitionBy: 'ts' })).result.status).toBe('succeeded');
    await w.exec('delete from clicks where id = 2');
    await build('hourly', ofHour(13), hour(13), { partitionBy: 'ts' });
    expect(await w.query('select id from hourly order by id')).toEqual([{ id: 1 }, { id: 3 }, { id: 4 }]);
  });

  it('rebuilds the table from the interval alone with --full-refresh', async () => {
    const r = await build('fct', ofDay('2024-01-03'), day('2024-01-03'), { fullRefresh: true });
    expect(r.result.status).toBe('succeeded');
    expect(await contents('fct')).toEqual([{ order_id: 6, d: '2024-01-03', amount: 60 }]);
  });

  it('replaces a view of the same name with its table', async () => {
    await w.exec("create view was_view as select 1 as order_id, DATE '2023-12-31' as order_date, 0 as amount");
    const r = await build('was_view', ofDay('2024-01-01'), day('2024-01-01'));
    expect(r.result.status).toBe('succeeded');
    expect((await w.relations()).get('"main"."was_view"')).toBe('table');
    expect(await contents('was_view')).toEqual([
      { order_id: 1, d: '2024-01-01', amount: 10 },
      { order_id: 2, d: '2024-01-01', amount: 20 },
    ]);
  });

  it('takes columns by name, whatever their order in the query', async () => {
    await build('by_name', 'select order_id, order_date, amount from src where order_date = DATE \'2024-01-01\'', day('2024-01-01'));
    const r = await build('by_name', "select amount, order_date, order_id from src where order_date = DATE '2024-01-03'", day('2024-01-03'));
    expect(r.result.status).toBe('succeeded');
    expect(await contents('by_name')).toEqual([
      { order_id: 1, d: '2024-01-01', amount: 10 },
      { order_id: 2, d: '2024-01-01', amount: 20 },
      { order_id: 6, d: '2024-01-03', amount: 60 },
    ]);
  });
  it('publishes several dates of one new table in parallel, each partition once, twice over', async () => {
    const dates = daysBetween(parseDate('2024-02-01')!, parseDate('2024-02-06')!);
    for (const round of [1, 2]) {
      const tasks: Task[] = [];
      for (const interval of dates) {
        const ds = intervalLabel(interval);
        const input = await w.input('parallel', `select DATE '${ds}' as d, i as id, ${round} as round from range(5000) t(i)`, { interval, partitionBy: 'd' });
        tasks.push({
          id: `parallel@${ds}`,
          node: 'parallel',
          kind: 'incremental',
          file: 'models/parallel.sql',
          relation: input.relation,
          schema: 'main',
          interval,
          upstream: [],
          steps: incrementalStrategy(input),
          lockKey: input.relation,
          group: ds,
        });
      }
      const result = await execute({ engine: w.warehouse.engine, runId: `parallel-${round}`, tasks, threads: 4, emit: () => undefined });
      expect(result).toMatchObject({ status: 'succeeded', succeeded: dates.length, failed: 0 });
      expect(await w.query("select strftime(d, '%Y-%m-%d') as d, count(*)::INTEGER as n, min(round) as lo, max(round) as hi from parallel group by d order by d")).toEqual(
        dates.map((i) => ({ d: intervalLabel(i), n: 5000, lo: round, hi: round })),
      );
    }
  });
  it('creates a table planned as new once: the later dates of a backfill leave the creation out', async () => {
    // Planned before the table existed, as a backfill on a new warehouse plans every date.
    const dates = ['2024-01-01', '2024-01-02', '2024-01-03'];
    const planned = await Promise.all(dates.map((ds) => w.input('created_once', ofDay(ds), { interval: day(ds), partitionBy: 'order_date' })));
    const creates = 'CREATE TABLE IF NOT EXISTS "main"."created_once"';
    expect(planned.every((input) => incrementalStrategy(input).some((s) => s.kind === 'publish' && s.statements[0].startsWith(creates)))).toBe(true);
    await w.exec("CALL enable_logging('QueryLog')");
    try {
      const rows: unknown[] = [];
      for (const input of planned) {
        const r = await w.run('incremental', input, incrementalStrategy(input));
        expect(r.result.status).toBe('succeeded');
        rows.push(r.events.find((e) => e.type === 'task-succeeded')?.rows);
      }
      // Each date's count is its insert's, not the statement before it.
      expect(rows).toEqual([2, 2, 1]);
      const logged = await w.query(`SELECT count(*)::INTEGER AS n FROM duckdb_logs WHERE type = 'QueryLog' AND contains(message, '${creates.replaceAll("'", "''")}')`);
      expect(logged).toEqual([{ n: 1 }]);
    } finally {
      await w.exec("CALL disable_logging()");
    }
    expect(await contents('created_once')).toEqual(await contents(`(select * from src where order_date <= '2024-01-03')`));
  });

  it('works with a partition column whose name needs quoting', async () => {
    const sql = (ds: string) => `select order_id, order_date as "order date" from src where order_date = '${ds}'`;
    for (const ds of ['2024-01-01', '2024-01-03', '2024-01-01']) {
      expect((await build('spaced', sql(ds), day(ds), { partitionBy: 'order date' })).result.status).toBe('succeeded');
    }
    expect(await w.query(`select order_id from spaced order by order_id`)).toEqual([{ order_id: 1 }, { order_id: 2 }, { order_id: 6 }]);
  });
});
