import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SnapshotConfig } from '../../src/analyze/model-config.js';
import { META_COLUMNS } from '../../src/analyze/snapshot-config.js';
import { renderSnapshotMerge, snapshotSpec, snapshotStrategy, type SnapshotMergeStep } from '../../src/plan/strategies/snapshot.js';
import { expectSql, failureOf, renderSteps, TestWarehouse } from './helpers.js';

/**
 * Snapshots on DuckDB, run after run: what each strategy and hard_deletes mode records of rows
 * updated, added, deleted and back again; a run on the same data changes nothing; what is
 * refused is refused before anything is written. (test/dbt-compat/snapshots.mjs holds the same
 * tables to dbt-duckdb's.)
 */

let w: TestWarehouse;
beforeAll(async () => {
  w = await TestWarehouse.open('pipe-sql-snapshot-');
});
afterAll(() => w?.close());

function config(over: Partial<SnapshotConfig>): SnapshotConfig {
  return {
    materialized: 'snapshot',
    tags: [],
    depends_on_past: false,
    schema: 'main',
    enabled: true,
    unique_key: 'id',
    strategy: 'timestamp',
    updated_at: 'updated_at',
    hard_deletes: 'ignore',
    snapshot_meta_column_names: META_COLUMNS,
    ...over,
  };
}

/** The source's rows now: `id, status, updated_at` (the day of January 2024). */
async function source(name: string, rows: readonly [number, string, number][], extra = '') {
  const values = rows.map(([id, status, d]) => `(${id}, '${status}', TIMESTAMP '2024-01-${String(d).padStart(2, '0')} 00:00:00'${extra === '' ? '' : `, '${status}!'`})`);
  const columns = `id, status, updated_at${extra === '' ? '' : `, ${extra}`}`;
  await w.exec(`CREATE OR REPLACE TABLE src_${name} AS SELECT * FROM (VALUES ${values.join(', ')}) AS t(${columns})`);
}

async function snapshot(name: string, over: Partial<SnapshotConfig>) {
  const input = await w.input(name, `select * from src_${name}`);
  return w.run('snapshot', input, snapshotStrategy(input, config(over)));
}

/** Each row as `id status from→to`, days of January or `T` for a run's time, `*` after a deletion record. */
async function history(name: string): Promise<string[]> {
  const rows = await w.query(
    `SELECT id, status, strftime(dbt_valid_from, '%d') AS f, strftime(dbt_valid_to, '%d') AS t, year(dbt_valid_from) > 2024 AS f_now, year(dbt_valid_to) > 2024 AS t_now,
       ${(await w.query(`SELECT 1 FROM (DESCRIBE ${name}) WHERE column_name = 'dbt_is_deleted'`)).length > 0 ? 'dbt_is_deleted' : "'False'"} AS deleted
     FROM ${name} ORDER BY id, dbt_valid_from, deleted`,
  );
  const day = (d: unknown, now: unknown) => (d === null ? '' : now ? 'T' : String(d));
  return rows.map((r) => `${String(r.id)} ${String(r.status)} ${day(r.f, r.f_now)}→${day(r.t, r.t_now)}${r.deleted === 'True' ? ' *' : ''}`);
}

/** The same source run twice more: the second run changes nothing. */
async function rerunChangesNothing(name: string, over: Partial<SnapshotConfig>) {
  const before = await w.query(`SELECT * FROM ${name} ORDER BY ALL`);
  const r = await snapshot(name, over);
  expect(r.result.status).toBe('succeeded');
  expect(await w.query(`SELECT * FROM ${name} ORDER BY ALL`)).toEqual(before);
}

const V1: [number, string, number][] = [
  [1, 'new', 1],
  [2, 'new', 1],
  [3, 'new', 1],
];
// 1 updated, 2 deleted, 3 changed without a newer updated_at, 4 added.
const V2: [number, string, number][] = [
  [1, 'shipped', 2],
  [3, 'paid', 1],
  [4, 'new', 2],
];
// 2 back, 4 deleted.
const V3: [number, string, number][] = [
  [1, 'shipped', 2],
  [2, 'back', 3],
  [3, 'paid', 1],
];

async function threeRuns(name: string, over: Partial<SnapshotConfig>): Promise<string[][]> {
  const out: string[][] = [];
  for (const rows of [V1, V2, V3]) {
    await source(name, rows);
    const r = await snapshot(name, over);
    expect(r.result.status, JSON.stringify(r.events.filter((e) => e.type === 'task-failed'))).toBe('succeeded');
    out.push(await history(name));
  }
  await rerunChangesNothing(name, over);
  return out;
}

describe('the timestamp strategy', () => {
  it('hard_deletes ignore: a row gone from the query stays current', async () => {
    const [first, second, third] = await threeRuns('ts_ignore', {});
    expect(first).toEqual(['1 new 01→', '2 new 01→', '3 new 01→']);
    // 3 changed without a newer updated_at: no change, as dbt has it.
    expect(second).toEqual(['1 new 01→02', '1 shipped 02→', '2 new 01→', '3 new 01→', '4 new 02→']);
    expect(third).toEqual(['1 new 01→02', '1 shipped 02→', '2 new 01→03', '2 back 03→', '3 new 01→', '4 new 02→']);
  });

  it('hard_deletes invalidate: a row gone is closed at the run time, and comes back as a new version', async () => {
    const [, second, third] = await threeRuns('ts_invalidate', { hard_deletes: 'invalidate' });
    expect(second).toEqual(['1 new 01→02', '1 shipped 02→', '2 new 01→T', '3 new 01→', '4 new 02→']);
    expect(third).toEqual(['1 new 01→02', '1 shipped 02→', '2 new 01→T', '2 back 03→', '3 new 01→', '4 new 02→T']);
  });

  it('hard_deletes new_record: a row gone gets a deletion record, closed when it comes back', async () => {
    const [first, second, third] = await threeRuns('ts_new_record', { hard_deletes: 'new_record' });
    expect(first).toEqual(['1 new 01→', '2 new 01→', '3 new 01→']);
    expect(second).toEqual(['1 new 01→02', '1 shipped 02→', '2 new 01→T', '2 new T→ *', '3 new 01→', '4 new 02→']);
    // The deletion record is closed at the updated_at of the row back, older than the run time, as in dbt.
    expect(third).toEqual(['1 new 01→02', '1 shipped 02→', '2 new 01→T', '2 back 03→', '2 new T→03 *', '3 new 01→', '4 new 02→T', '4 new T→ *']);
  });

  it('keys a snapshot by several columns, and holds current rows at dbt_valid_to_current', async () => {
    await source('ts_current', V1);
    const over: Partial<SnapshotConfig> = { unique_key: ['id', 'status'], hard_deletes: 'invalidate', dbt_valid_to_current: "'9999-12-31'::timestamp" };
    await snapshot('ts_current', over);
    await source('ts_current', V2);
    await snapshot('ts_current', over);
    // A changed status is another key: the old one is deleted, the new one added.
    const rows = await w.query(`SELECT id, status, strftime(dbt_valid_to, '%Y-%m-%d') = '9999-12-31' AS current FROM ts_current ORDER BY id, status`);
    expect(rows.map((r) => `${String(r.id)} ${String(r.status)} ${r.current ? 'current' : 'closed'}`)).toEqual([
      '1 new closed',
      '1 shipped current',
      '2 new closed',
      '3 new closed',
      '3 paid current',
      '4 new current',
    ]);
    await rerunChangesNothing('ts_current', over);
  });
});

describe('the check strategy', () => {
  it('records a change of a checked column at the run time, whatever updated_at says', async () => {
    const over: Partial<SnapshotConfig> = { strategy: 'check', check_cols: ['status'], updated_at: undefined, hard_deletes: 'invalidate' };
    const [first, second] = await threeRuns('chk', over);
    expect(first).toEqual(['1 new T→', '2 new T→', '3 new T→']);
    expect(second).toEqual(['1 new T→T', '1 shipped T→', '2 new T→T', '3 new T→T', '3 paid T→', '4 new T→']);
    // One time per run: a changed row's version ends when its next starts (1 and 3; 2 was deleted in between).
    const times = await w.query(`SELECT count(DISTINCT dbt_valid_from)::INTEGER AS runs FROM chk`);
    expect(times).toEqual([{ runs: 3 }]);
    const seams = await w.query(`SELECT count(*)::INTEGER AS n FROM chk a JOIN chk b ON a.id = b.id AND a.dbt_valid_to = b.dbt_valid_from`);
    expect(seams).toEqual([{ n: 2 }]);
  });

  it("check_cols 'all' counts every row as changed when the query gains a column, as dbt does, and adds the column", async () => {
    const over: Partial<SnapshotConfig> = { strategy: 'check', check_cols: 'all', updated_at: undefined };
    await source('chk_all', V1);
    await snapshot('chk_all', over);
    await source('chk_all', V1, 'note');
    const r = await snapshot('chk_all', over);
    expect(r.result.status).toBe('succeeded');
    expect(r.events.find((e) => e.type === 'task-succeeded')).toMatchObject({ rows: 3 });
    const columns = (await w.query('DESCRIBE chk_all')).map((c) => String(c.column_name));
    expect(columns).toEqual(['id', 'status', 'updated_at', 'dbt_scd_id', 'dbt_updated_at', 'dbt_valid_from', 'dbt_valid_to', 'note']);
    expect(await w.query('SELECT id, note FROM chk_all WHERE dbt_valid_to IS NULL ORDER BY id')).toEqual([
      { id: 1, note: 'new!' },
      { id: 2, note: 'new!' },
      { id: 3, note: 'new!' },
    ]);
    await rerunChangesNothing('chk_all', over);
  });

  it('refuses check_cols naming a column the query does not have, changing nothing', async () => {
    await source('chk_missing', V1);
    const over: Partial<SnapshotConfig> = { strategy: 'check', check_cols: ['state'], updated_at: undefined };
    await snapshot('chk_missing', over);
    const before = await w.query('SELECT * FROM chk_missing ORDER BY ALL');
    await source('chk_missing', V2);
    const r = await snapshot('chk_missing', over);
    expect(failureOf(r.events).error.message).toContain("check_cols names column 'state', which the snapshot's query does not produce (columns: id, status, updated_at)");
    expect(await w.query('SELECT * FROM chk_missing ORDER BY ALL')).toEqual(before);
  });
});

describe('what a snapshot refuses before writing anything', () => {
  it.each([
    ['a unique key held by two rows', [[1, 'a', 1], [1, 'b', 2], [2, 'c', 1], [2, 'd', 1]], '2 unique_key values (id) held by more than one row', [{ id: 1, rows: 2 }, { id: 2, rows: 2 }]],
    ['a NULL unique key', [[1, 'a', 1]], '1 row of the snapshot\'s query with a NULL unique_key (id)', undefined],
  ] as const)('%s', async (_what, rows, message, sample) => {
    const name = sample ? 'dup' : 'nullkey';
    await source(name, V1);
    await snapshot(name, {});
    const before = await w.query(`SELECT * FROM ${name} ORDER BY ALL`);
    await source(name, rows as unknown as [number, string, number][]);
    if (!sample) await w.exec(`INSERT INTO src_${name} VALUES (NULL, 'x', TIMESTAMP '2024-01-05 00:00:00')`);
    const r = await snapshot(name, {});
    const { error } = failureOf(r.events);
    expect(error.message).toContain(message);
    if (sample) expect(error.sample).toEqual(sample);
    expect(await w.query(`SELECT * FROM ${name} ORDER BY ALL`)).toEqual(before);
  });

  it('a table that is not a snapshot, or lacks the column new_record needs', async () => {
    await w.exec('CREATE TABLE plain AS SELECT 1 AS id, now() AS updated_at');
    await w.exec('CREATE TABLE src_plain AS SELECT 1 AS id, now() AS updated_at');
    let r = await snapshot('plain', {});
    expect(failureOf(r.events).error.message).toContain('"main"."plain" is not this snapshot\'s table: it has no column dbt_scd_id, dbt_valid_from, dbt_valid_to');
    await source('switched', V1);
    await snapshot('switched', {});
    r = await snapshot('switched', { hard_deletes: 'new_record' });
    expect(failureOf(r.events).error.message).toContain('hard_deletes: new_record records deletions in dbt_is_deleted');
  });

  it('a statement of the merge that fails: the rows it closed before are rolled back with it', async () => {
    await w.exec("CREATE TABLE src_atomic AS SELECT * FROM (VALUES (1, 10, TIMESTAMP '2024-01-01'), (2, 20, TIMESTAMP '2024-01-01')) AS t(id, amount, updated_at)");
    await snapshot('atomic', {});
    const before = await w.query('SELECT * FROM atomic ORDER BY ALL');
    // Both rows change; the new version of 2 does not fit the table's INTEGER column.
    await w.exec("CREATE OR REPLACE TABLE src_atomic AS SELECT * FROM (VALUES (1, '11', TIMESTAMP '2024-01-02'), (2, 'lots', TIMESTAMP '2024-01-02')) AS t(id, amount, updated_at)");
    const r = await snapshot('atomic', {});
    expect(failureOf(r.events).error.message).toContain('Could not convert string');
    expect(await w.query('SELECT * FROM atomic ORDER BY ALL')).toEqual(before);
  });

  it('a view under its name', async () => {
    await source('aview', V1);
    await w.exec('CREATE VIEW aview AS SELECT 1 AS id');
    const r = await snapshot('aview', {});
    expect(failureOf(r.events).error.message).toContain('"main"."aview" is a view, not a snapshot\'s table');
    expect(await w.query('SELECT * FROM aview')).toEqual([{ id: 1 }]);
  });
});

describe('snapshot SQL', () => {
  const step = (over: Partial<SnapshotConfig>): SnapshotMergeStep => ({
    target: '"main"."orders_snap"',
    source: '"temp"."main"."__pipe_stage__orders_snap__20240102"',
    changes: '"temp"."main"."__pipe_stage__orders_snap__20240102__changes"',
    changesName: '__pipe_stage__orders_snap__20240102__changes',
    spec: snapshotSpec(config(over)),
  });
  const col = (name: string, type = 'VARCHAR') => ({ name, type });
  const query = [col('id', 'INTEGER'), col('status'), col('updated_at', 'TIMESTAMP')];
  const table = [...query, col('dbt_scd_id'), col('dbt_updated_at', 'TIMESTAMP'), col('dbt_valid_from', 'TIMESTAMP'), col('dbt_valid_to', 'TIMESTAMP')];
  const changes = (extra: ReturnType<typeof col>[] = []) => [col('dbt_change_type'), ...query, ...extra, col('dbt_unique_key', 'INTEGER'), ...table.slice(3)];

  it('stages the query and refuses NULL and repeated keys before the merge', async () => {
    const input = await w.input('orders_snap', 'select * from "main"."orders"');
    expectSql('snapshot-steps', renderSteps(snapshotStrategy({ ...input, stagingName: '__pipe_stage__orders_snap__20240102', stagingRelation: '"main"."__pipe_stage__orders_snap__20240102"' }, config({}))));
  });

  it('first run: the table from the staged rows', async () => {
    expectSql('snapshot-first', await renderSnapshotMerge(step({ hard_deletes: 'new_record' }), query, [], []));
  });

  it('timestamp, hard_deletes ignore', async () => {
    expectSql('snapshot-timestamp', await renderSnapshotMerge(step({}), query, table, changes()));
  });

  it('check, a new column, hard_deletes new_record, a composite key, renamed columns', async () => {
    const renamed = { ...META_COLUMNS, dbt_valid_to: 'valid_to', dbt_is_deleted: 'is_deleted' };
    const over: Partial<SnapshotConfig> = { strategy: 'check', check_cols: ['status'], updated_at: undefined, hard_deletes: 'new_record', unique_key: ['id', 'status'], snapshot_meta_column_names: renamed };
    const target = [...query, col('dbt_scd_id'), col('dbt_updated_at', 'TIMESTAMP'), col('dbt_valid_from', 'TIMESTAMP'), col('valid_to', 'TIMESTAMP'), col('is_deleted')];
    const staged = [col('dbt_change_type'), ...query, col('note'), col('dbt_unique_key_1', 'INTEGER'), col('dbt_unique_key_2'), ...target.slice(3)];
    expectSql('snapshot-check-new-record', await renderSnapshotMerge(step(over), [...query, col('note')], target, staged));
  });
});
