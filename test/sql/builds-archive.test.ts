import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventsOfType, execOn, explain, queryRows, warehouseOf, type PipeEventJson } from '../e2e/helpers.js';
import { runIn } from '../support/in-process.js';
import { removeProjects, tempProject } from '../support/projects.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { ensureState, finishRunSql, insertRunSql, insertTasksSql, laterPublications, readSeedHashes, seedLoadedSql, taskResultSql } from '../../src/warehouse/run-state.js';
import { insertBuildSql, insertResetsSql, readLatestBuilds, type BuildRecord } from '../../src/warehouse/build-records.js';
import { archiveSupersededBuilds, TOLD_FROM_ROWS } from '../../src/warehouse/builds-archive.js';
import type { WarehouseSession } from '../../src/warehouse/warehouse.js';

/**
 * Moving superseded builds to the archive changes nothing any reader of the run state answers:
 * the latest builds of every node and key (partitions, hours, whole builds, resets), who last
 * wrote each relation (a model taking another's table, a seed and a model of one name, a
 * relation named in another case, builds of an earlier pipe that name none), what wrote a
 * seed's table since its load, every attempt's outcome, and what `pipe retry` finds published
 * after a run. Checked on histories drawn at random, with builds at the same moment and a clock
 * set back. (Attempts end at distinct moments: which of two tied rows a reader takes was never
 * defined, and is not compared.)
 */

afterAll(removeProjects);

let warehouse: DuckDBWarehouse | undefined;
let s: WarehouseSession | undefined;
afterEach(() => {
  s?.close();
  warehouse?.close();
  s = undefined;
  warehouse = undefined;
});

const DAY = 86_400_000;
const t0 = Date.parse('2024-01-02T00:00:00Z');
const NODES = ['a', 'b', 'c', 's'];
const KEYS = ['', '2024-01-01', '2024-01-02', '2024-01-02T05', '2024-01-02T06'];
const KINDS: Record<string, string> = { a: 'incremental', b: 'table', c: 'incremental', s: 'table' };

/** A small deterministic generator (mulberry32): a failing history is drawn again from its seed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function intervalOf(key: string): { start: number; end: number } | undefined {
  if (key === '') return undefined;
  const start = Date.parse(key.length === 10 ? `${key}T00:00:00Z` : `${key}:00:00Z`);
  return { start, end: start + (key.length === 10 ? DAY : DAY / 24) };
}

/** Writes a random history of `runs` runs; returns how many build rows it wrote. */
async function history(session: WarehouseSession, seed: number, runs: number): Promise<number> {
  const next = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  let clock = t0;
  // When attempts end: always later than the last, so that what retry reads (the latest end) has no tie to break.
  let ended = t0;
  let rows = 0;
  for (let r = 0; r < runs; r++) {
    const runId = `r${String(r).padStart(3, '0')}`;
    await session.exec(insertRunSql({ runId, command: 'run', params: {}, startedAt: clock, version: 'test', ...(r > 0 && next() < 0.1 ? { parentRunId: `r${String(r - 1).padStart(3, '0')}` } : {}) }));
    const built: { node: string; key: string }[] = [];
    for (let k = 0, n = 1 + Math.floor(next() * 4); k < n; k++) built.push({ node: pick(NODES), key: pick(KEYS) });
    for (const sql of insertTasksSql(runId, built.map((b, i) => ({ id: `${b.node}@${b.key}#${i}`, node: b.node, kind: KINDS[b.node], ds: b.key.slice(0, 10) || undefined, upstream: [] })))) await session.exec(sql);
    for (const [i, b] of built.entries()) {
      // Mostly later; sometimes the same moment (a tie), sometimes earlier (a clock set back).
      const step = next();
      clock += step < 0.15 ? 0 : step < 0.2 ? -500 : 1 + Math.floor(next() * 1000);
      const taskId = `${b.node}@${b.key}#${i}`;
      ended = Math.max(ended + 1, clock);
      if (next() < 0.08) {
        await session.exec(insertResetsSql(runId, [b.node], clock));
        rows++;
        continue;
      }
      if (next() < 0.1) {
        await session.exec(taskResultSql({ runId, taskId, attempt: 1, status: 'failed', startedAt: ended - 5, endedAt: ended, error: `failed at ${clock}` }));
        continue;
      }
      const r2 = next();
      // Its own table; another node's (one took a name); in another case; none (an earlier pipe's record).
      const relation = r2 < 0.7 ? `"main"."${b.node}"` : r2 < 0.85 ? `"main"."${pick(NODES)}"` : r2 < 0.95 ? `"main"."${b.node.toUpperCase()}"` : undefined;
      const record: BuildRecord = {
        runId,
        taskId,
        node: b.node,
        key: b.key,
        interval: intervalOf(b.key),
        sqlHash: `sql-${Math.floor(next() * 3)}`,
        configHash: 'c',
        inputs: { [`ref:${pick(NODES)}`]: `v${Math.floor(next() * 5)}` },
        version: `v${clock}`,
        builtAt: clock,
        ...(relation === undefined ? {} : { relation }),
      };
      await session.exec(insertBuildSql(record, { attempt: 1, startedAt: ended - 10, endedAt: ended, rows: 3, worker: 1 }));
      rows++;
      // Seeds `s` (a model's name too) and `t`, loaded now and then into their tables.
      if (next() < 0.15) await session.exec(seedLoadedSql(pick(['s', 't']), `"main"."${pick(['s', 't', 'a'])}"`, `hash-${clock}`, runId, clock + 1));
    }
    await session.exec(finishRunSql(runId, next() < 0.8 ? 'succeeded' : 'failed', ended));
  }
  return rows;
}

/** `x` with every Map and Set as its entries in one order: what was read is compared, not the order DuckDB gave the rows in. */
function canonical(x: unknown): unknown {
  if (x instanceof Map) return [...x].map(([k, v]) => [canonical(k), canonical(v)]).sort((a, b) => (JSON.stringify(a[0]) < JSON.stringify(b[0]) ? -1 : 1));
  if (x instanceof Set) return [...x].map(canonical).sort();
  if (Array.isArray(x)) return x.map(canonical);
  if (x !== null && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, canonical(v)]));
  return x;
}

/** Everything the readers of the run state answer, as plain data to compare. */
async function answers(session: WarehouseSession) {
  const all = await readLatestBuilds(session);
  const some = await readLatestBuilds(session, ['a', 's'], 1000, ['"main"."a"', '"main"."S"']);
  const retried = [];
  for (const run of ['r002', 'r010', 'r025']) retried.push(await laterPublications(session, run, ['table'], ['incremental']));
  const relations = NODES.flatMap((n) => [`"main"."${n}"`, `"main"."${n.toUpperCase()}"`]);
  const writers = relations.flatMap((rel) => NODES.map((n) => [rel, n, all.writeOf(rel, n), all.otherWriterSince(rel, n, t0)]));
  return canonical({
    all,
    some,
    writers,
    seeds: [...(await readSeedHashes(session))].sort(),
    results: await session.query('SELECT * FROM _pipe.task_results ORDER BY ALL'),
    retried,
  });
}

async function opened(): Promise<WarehouseSession> {
  warehouse = await DuckDBWarehouse.open(':memory:');
  s = await warehouse.session();
  await ensureState(s);
  return s;
}

describe('moving superseded builds to the archive', () => {
  it.each([1, 2, 3, 4, 5, 6])('changes no answer of the run state (history %i)', async (seed) => {
    const session = await opened();
    const rows = await history(session, seed, 40);
    const before = await answers(session);
    const record = await session.query('SELECT * FROM _pipe.builds ORDER BY ALL');
    const moved = await archiveSupersededBuilds(session, 1);
    expect(moved?.rows).toBe(rows);
    // Most of a history of a few nodes and keys is superseded: the move is not an empty one.
    expect(moved!.archived).toBeGreaterThan(rows / 3);
    expect(await answers(session)).toEqual(before);
    // Nothing is lost: the builds and the archive hold every row the builds held.
    expect(await session.query('SELECT * FROM (SELECT * FROM _pipe.builds UNION ALL BY NAME SELECT * FROM _pipe.builds_archive) ORDER BY ALL')).toEqual(record);
    const [left] = await session.query('SELECT count(*)::INTEGER AS n FROM _pipe.builds');
    expect(Number(left.n)).toBe(rows - moved!.archived);
  });

  it('is due once the builds reach the threshold, and again only when they have doubled since', async () => {
    const session = await opened();
    const rows = await history(session, 7, 30);
    const told: number[] = [];
    expect(await archiveSupersededBuilds(session, rows + 1, (n) => told.push(n))).toBeUndefined();
    expect(told).toEqual([]);
    const first = await archiveSupersededBuilds(session, rows, (n) => told.push(n));
    expect(told).toEqual([rows]);
    expect(first?.rows).toBe(rows);
    const kept = rows - first!.archived;
    // Not due: fewer than twice the rows the last move kept.
    expect(await archiveSupersededBuilds(session, 1)).toBeUndefined();
    // The same builds again, one moment later each, until the builds reach twice what was kept.
    while (Number((await session.query('SELECT count(*) AS n FROM _pipe.builds'))[0].n) < 2 * kept) {
      await session.exec('INSERT INTO _pipe.builds SELECT * REPLACE (built_at + 1 AS built_at) FROM _pipe.builds');
    }
    const before = await answers(session);
    const second = await archiveSupersededBuilds(session, 1);
    expect(second?.archived).toBeGreaterThan(0);
    expect(await answers(session)).toEqual(before);
    const moves = await session.query('SELECT rows, archived, kept FROM _pipe.builds_archived ORDER BY moved_at');
    expect(moves.map((m) => Number(m.rows))).toEqual([rows, second!.rows]);
  });

  it('on a warehouse with no run state, does nothing', async () => {
    warehouse = await DuckDBWarehouse.open(':memory:');
    s = await warehouse.session();
    expect(await archiveSupersededBuilds(s, 1)).toBeUndefined();
  });
});

describe('a run on a warehouse whose builds have grown', () => {
  it('moves the superseded ones aside before its first task, saying so when they are many, and finds current what was current', async () => {
    const dir = tempProject({
      'pipe.yaml': 'name: shop\n',
      'models/orders.sql': "{{ config(materialized='incremental', partition_by='ds') }}\nselect 1 as id, '{{ ds }}' as ds",
      'models/totals.sql': "{{ config(materialized='table') }}\nselect count(*) as n from {{ ref('orders') }}",
    });
    const first = await runIn(dir, { date: '2024-01-02' });
    expect(first.code, explain(first)).toBe(0);
    const db = warehouseOf(dir);
    // A long history of the same records (the two builds, and the resets of tables made from nothing), each earlier than the one on record: every copy is superseded.
    const recorded = Number((await queryRows(db, 'SELECT count(*)::INTEGER AS n FROM _pipe.builds'))[0].n);
    const copies = Math.ceil(TOLD_FROM_ROWS / recorded);
    await execOn(db, `INSERT INTO _pipe.builds SELECT b.* REPLACE (built_at - i AS built_at, 'old-' || i AS run_id) FROM _pipe.builds b, range(1, ${copies + 1}) AS t(i)`);
    const [before] = await queryRows(db, 'SELECT (SELECT count(*) FROM _pipe.task_results)::INTEGER AS results');
    const again = await runIn(dir, { date: '2024-01-02' });
    expect(again.code, explain(again)).toBe(0);
    expect(again.stdout).toMatch(/Done: 0 succeeded, 2 up to date/);
    // The pause has its reason, before the run starts.
    const moveNotices = (events: readonly PipeEventJson[]) => eventsOfType(events, 'notice').filter((e) => String(e.message).includes('_pipe.builds_archive'));
    expect(moveNotices(first.events)).toEqual([]);
    expect(moveNotices(again.events).map((e) => e.message)).toEqual([
      `the run state holds ${(recorded * (copies + 1)).toLocaleString('en-US')} builds: moving those that later builds superseded to _pipe.builds_archive, once (later commands read fewer)`,
    ]);
    expect(again.events.findIndex((e) => e.type === 'notice')).toBeLessThan(again.events.findIndex((e) => e.type === 'run-started'));
    const [after] = await queryRows(
      db,
      `SELECT (SELECT count(*) FROM _pipe.builds)::INTEGER AS builds, (SELECT count(*) FROM _pipe.builds_archive)::INTEGER AS archived,
         (SELECT count(*) FROM _pipe.task_results)::INTEGER AS results`,
    );
    // The records stay; every copy is in the archive, and still an outcome on record (plus the run's two).
    expect(after).toEqual({ builds: recorded, archived: recorded * copies, results: Number(before.results) + 2 });
    // A change is still a change: the edited model and what reads it run, from the builds that stayed.
    writeFileSync(join(dir, 'models/totals.sql'), "{{ config(materialized='table') }}\nselect count(*) + 0 as n from {{ ref('orders') }}");
    const edited = await runIn(dir, { date: '2024-01-02' });
    expect(edited.stdout).toMatch(/Done: 1 succeeded, 1 up to date/);
    expect(moveNotices(edited.events)).toEqual([]);
  });
});
