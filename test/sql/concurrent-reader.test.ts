import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dayInterval, parseDate } from '../../src/dates/dates.js';
import { incrementalStrategy } from '../../src/plan/strategies/incremental.js';
import { tableStrategy } from '../../src/plan/strategies/table.js';
import type { WarehouseSession } from '../../src/warehouse/warehouse.js';
import { TestWarehouse } from './helpers.js';

/**
 * Another connection of the same DuckDB instance reads while pipe publishes, over and over:
 * it must always see a whole table, the old one or the new one, and never an error.
 */

let w: TestWarehouse;
beforeAll(async () => {
  w = await TestWarehouse.open('pipe-sql-reader-');
});
afterAll(() => w?.close());

interface Reads {
  readonly seen: Map<string, number>;
  readonly errors: string[];
}

/** Reads `sql` on its own connection until `writing` settles; counts each distinct answer. */
async function readWhile(reader: WarehouseSession, sql: string, writing: Promise<unknown>): Promise<Reads> {
  let done = false;
  void writing.finally(() => (done = true));
  const seen = new Map<string, number>();
  const errors: string[] = [];
  while (!done) {
    try {
      const rows = await reader.query(sql);
      const key = JSON.stringify(rows);
      seen.set(key, (seen.get(key) ?? 0) + 1);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  return { seen, errors };
}

describe('a reader during publication', () => {
  it('sees the old or the new table while the table strategy swaps it, never a missing or partial table', async () => {
    // Version k of the table has 1000 or 2000 rows, all with v = k.
    const version = (k: number) => `select i as id, ${k} as v from range(${k % 2 === 0 ? 1000 : 2000}) t(i)`;
    const swap = async (k: number) => {
      const input = await w.input('swapped', version(k));
      const { result } = await w.run('table', input, tableStrategy(input));
      expect(result.status).toBe('succeeded');
    };
    await swap(0);
    const reader = await w.warehouse.session();
    const writing = (async () => {
      for (let k = 1; k <= 40; k++) await swap(k);
    })();
    const reads = await readWhile(reader, 'select count(*)::INTEGER as n, sum(v)::BIGINT as s, min(v) as lo, max(v) as hi from swapped', writing);
    await writing;
    reader.close();

    expect(reads.errors).toEqual([]);
    const answers = [...reads.seen.keys()].map((k) => (JSON.parse(k) as { n: number; s: string; lo: number; hi: number }[])[0]);
    for (const a of answers) {
      // One version at a time, all of its rows.
      expect(a.lo).toBe(a.hi);
      expect(a.n).toBe(a.lo % 2 === 0 ? 1000 : 2000);
      expect(Number(a.s)).toBe(a.n * a.lo);
    }
    // The reader really read during the swaps: it saw more than one version.
    expect(answers.length).toBeGreaterThan(1);
    expect(await w.query('select max(v) as v from swapped')).toEqual([{ v: 40 }]);
  });

  it('sees the old or the new partition while the incremental strategy replaces it, the other partitions always whole', async () => {
    const d1 = dayInterval(parseDate('2024-01-01')!);
    const d2 = dayInterval(parseDate('2024-01-02')!);
    const ofDay = (ds: string, k: number) => `select DATE '${ds}' as d, i as id, ${k} as v from range(${k % 2 === 0 ? 500 : 800}) t(i)`;
    const replace = async (ds: string, interval: typeof d1, k: number) => {
      const input = await w.input('parts', ofDay(ds, k), { interval, partitionBy: 'd' });
      const { result } = await w.run('incremental', input, incrementalStrategy(input));
      expect(result.status).toBe('succeeded');
    };
    await replace('2024-01-01', d1, 0);
    await replace('2024-01-02', d2, 0);
    const reader = await w.warehouse.session();
    const writing = (async () => {
      for (let k = 1; k <= 30; k++) await replace('2024-01-02', d2, k);
    })();
    const reads = await readWhile(
      reader,
      `select strftime(d, '%Y-%m-%d') as d, count(*)::INTEGER as n, min(v) as lo, max(v) as hi from parts group by d order by d`,
      writing,
    );
    await writing;
    reader.close();

    expect(reads.errors).toEqual([]);
    const answers = [...reads.seen.keys()].map((k) => JSON.parse(k) as { d: string; n: number; lo: number; hi: number }[]);
    for (const [first, second] of answers) {
      expect(first).toEqual({ d: '2024-01-01', n: 500, lo: 0, hi: 0 });
      expect(second.d).toBe('2024-01-02');
      expect(second.lo).toBe(second.hi);
      expect(second.n).toBe(second.lo % 2 === 0 ? 500 : 800);
    }
    expect(answers.length).toBeGreaterThan(1);
  });
  it('keeps showing a reading transaction the table as it was when it first read it', async () => {
    const build = async (n: number) => {
      const input = await w.input('snapshot', `select * from range(${n}) t(i)`);
      expect((await w.run('table', input, tableStrategy(input))).result.status).toBe('succeeded');
    };
    await build(10);
    const reader = await w.warehouse.session();
    try {
      await reader.exec('BEGIN TRANSACTION');
      expect(await reader.query('select count(*)::INTEGER as n from snapshot')).toEqual([{ n: 10 }]);
      await build(20);
      // The swap has committed; the reader's transaction still sees its snapshot.
      expect(await reader.query('select count(*)::INTEGER as n from snapshot')).toEqual([{ n: 10 }]);
      await reader.exec('COMMIT');
      expect(await reader.query('select count(*)::INTEGER as n from snapshot')).toEqual([{ n: 20 }]);
    } finally {
      reader.close();
    }
  });
});
