import { afterEach, describe, expect, it } from 'vitest';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { ensureState, insertRunSql, insertTasksSql, taskResultSql } from '../../src/warehouse/run-state.js';
import { insertBuildSql, insertResetsSql, readLatestBuilds, type BuildRecord, type LatestBuilds } from '../../src/warehouse/build-records.js';
import type { WarehouseSession } from '../../src/warehouse/warehouse.js';

/**
 * The latest builds and failures of some nodes are the same whether DuckDB is given their
 * names to match or reads every node's records and the others are dropped (what many names
 * do, see LISTED_NODES): partitions, a whole build replacing them, a reset, failures, and a
 * node outside the list.
 */

let warehouse: DuckDBWarehouse | undefined;
let s: WarehouseSession | undefined;
afterEach(() => {
  s?.close();
  warehouse?.close();
});

const DAY = 86_400_000;
const t0 = Date.parse('2024-01-02T00:00:00Z');

function build(node: string, key: string, builtAt: number, runId = 'r1'): BuildRecord {
  const interval = key === '' ? undefined : { start: Date.parse(`${key}T00:00:00Z`), end: Date.parse(`${key}T00:00:00Z`) + DAY };
  return { runId, taskId: `${node}:${key}`, node, key, interval, sqlHash: `h-${node}`, configHash: 'c', inputs: { [`ref:${node}`]: `v${builtAt}` }, version: `v${builtAt}`, builtAt };
}

/** Both readings as plain data, to compare. */
function plain(b: LatestBuilds, nodes: readonly string[]) {
  return nodes.map((n) => ({ node: n, builds: b.buildsOf(n), failure: b.failure(n, ''), dayFailure: b.failure(n, '2024-01-02') }));
}

describe('the latest builds of some nodes', () => {
  it('are the same matched by name in DuckDB or read for every node and kept here', async () => {
    warehouse = await DuckDBWarehouse.open(':memory:');
    s = await warehouse.session();
    await ensureState(s);
    await s.exec(insertRunSql({ runId: 'r1', command: 'run', params: {}, startedAt: t0, version: 'test' }));
    for (const sql of insertTasksSql('r1', ['a', 'b', 'c', 'd'].map((n) => ({ id: `${n}:2024-01-02`, node: n, kind: 'incremental', ds: '2024-01-02', upstream: [] })))) await s.exec(sql);
    // a: two partitions, then a later one; b: a whole build that replaces its partitions; c: a reset after its build; d: outside the list.
    for (const b of [build('a', '2024-01-01', t0), build('a', '2024-01-02', t0 + 1), build('a', '2024-01-02', t0 + 5), build('b', '2024-01-01', t0), build('b', '', t0 + 2), build('c', '', t0), build('d', '', t0)]) {
      await s.exec(insertBuildSql(b));
    }
    await s.exec(insertResetsSql('r1', ['c'], t0 + 3));
    // Failures: a's date (its last attempt), d's; a failure to be retried is not a task's end.
    await s.exec(taskResultSql({ runId: 'r1', taskId: 'a:2024-01-02', attempt: 1, status: 'failed', endedAt: t0 + 10, error: 'boom' }));
    await s.exec(taskResultSql({ runId: 'r1', taskId: 'b:2024-01-02', attempt: 1, status: 'failed', endedAt: t0 + 11, error: 'later', detail: 'will retry' }));
    await s.exec(taskResultSql({ runId: 'r1', taskId: 'd:2024-01-02', attempt: 1, status: 'failed', endedAt: t0 + 12, error: 'other' }));

    const nodes = ['a', 'b', 'c'];
    const matched = await readLatestBuilds(s, nodes);
    const kept = await readLatestBuilds(s, nodes, 0);
    expect(plain(kept, [...nodes, 'd'])).toEqual(plain(matched, [...nodes, 'd']));
    expect(matched.buildsOf('a').map((b) => [b.key, b.builtAt])).toEqual([['2024-01-01', t0], ['2024-01-02', t0 + 5]]);
    expect(matched.buildsOf('b').map((b) => b.key)).toEqual(['']);
    expect(matched.buildsOf('c')).toEqual([]);
    expect(matched.failure('a', '2024-01-02')).toMatchObject({ error: 'boom' });
    expect(matched.failure('b', '')).toBeUndefined();
    // Neither reading keeps a node it was not asked for; read for all, it is there.
    expect([kept.buildsOf('d'), kept.failure('d', '')]).toEqual([[], undefined]);
    const all = await readLatestBuilds(s);
    expect([all.buildsOf('d').length, all.failure('d', '')?.error]).toEqual([1, 'other']);
  });
});

describe('the latest failures', () => {
  it('are read from the runs that failed, however many, as from every task ever planned', async () => {
    warehouse = await DuckDBWarehouse.open(':memory:');
    s = await warehouse.session();
    await ensureState(s);
    // More runs with a failure than a list of literals holds (see the dialect's memberOf), each
    // failing a date of e; runs in between that succeed; and a run whose failure will be retried.
    for (let i = 0; i < 70; i++) {
      const runId = `r${String(i).padStart(3, '0')}`;
      await s.exec(insertRunSql({ runId, command: 'run', params: {}, startedAt: t0 + i, version: 'test' }));
      for (const sql of insertTasksSql(runId, [{ id: `e:${i % 3}`, node: 'e', kind: 'incremental', ds: `2024-01-0${(i % 3) + 1}`, upstream: [] }])) await s.exec(sql);
      const status = i % 5 === 4 ? 'succeeded' : 'failed';
      await s.exec(taskResultSql({ runId, taskId: `e:${i % 3}`, attempt: 1, status, endedAt: t0 + 100 + i, error: status === 'failed' ? `boom ${i}` : undefined, ...(i === 68 ? { detail: 'will retry' } : {}) }));
    }
    const listed = await readLatestBuilds(s, ['e']);
    const scanned = await readLatestBuilds(s, ['e'], 0);
    const days = ['2024-01-01', '2024-01-02', '2024-01-03'];
    expect(days.map((d) => listed.failure('e', d))).toEqual(days.map((d) => scanned.failure('e', d)));
    // The latest failure of each date: of the last run that failed it, unless to be retried.
    const latest = days.map((_, d) => Math.max(...Array.from({ length: 70 }, (_, i) => i).filter((i) => i % 3 === d && i % 5 !== 4 && i !== 68)));
    expect(latest).toEqual([66, 67, 65]);
    expect(days.map((d) => listed.failure('e', d)?.error)).toEqual(latest.map((i) => `boom ${i}`));
  });
});

describe('the writers of relations', () => {
  it('are read for the relations asked of alone, in any case, and for every relation when none are named', async () => {
    warehouse = await DuckDBWarehouse.open(':memory:');
    s = await warehouse.session();
    await ensureState(s);
    // Model a wrote "main"."t" and then b took its name; c wrote "main"."u".
    for (const b of [
      { ...build('a', '', t0), relation: '"main"."T"' },
      { ...build('b', '', t0 + 1), relation: '"main"."t"' },
      { ...build('c', '', t0 + 2), relation: '"main"."u"' },
    ]) {
      await s.exec(insertBuildSql(b));
    }
    const asked = await readLatestBuilds(s, ['a', 'b', 'c'], undefined, ['"main"."t"']);
    expect(asked.otherWriterSince('"main"."t"', 'a', t0)).toMatchObject({ node: 'b', builtAt: t0 + 1 });
    expect(asked.writeOf('"MAIN"."T"', 'a')).toMatchObject({ builtAt: t0 });
    // Not asked of: not read.
    expect(asked.writeOf('"main"."u"', 'c')).toBeUndefined();
    const every = await readLatestBuilds(s, ['a', 'b', 'c']);
    expect(every.writeOf('"main"."u"', 'c')).toMatchObject({ builtAt: t0 + 2 });
    // More relations than a list is worth (see LISTED_NODES): every one is read.
    const many = await readLatestBuilds(s, ['a', 'b', 'c'], 0, ['"main"."t"']);
    expect(many.writeOf('"main"."u"', 'c')).toMatchObject({ builtAt: t0 + 2 });
  });
});
