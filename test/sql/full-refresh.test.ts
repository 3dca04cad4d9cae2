import { cpSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { DiagnosticError } from '../../src/diagnostics/diagnostics.js';
import { backfill, backfillDryRun } from '../../src/commands/backfill.js';
import { retry } from '../../src/commands/retry.js';
import { run } from '../../src/commands/run.js';
import type { PipeEvent } from '../../src/events/events.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { recoverAfterCrash } from '../../src/warehouse/run-state.js';
import { queryRows, removeTempDirs, runCount, stagingTables, tempDir, warehouseOf, writeProjectFiles } from '../e2e/helpers.js';
import { statusIn } from '../support/in-process.js';

/**
 * A full refresh never deletes published history the user did not name: `pipe run
 * --full-refresh` of a table holding other dates is refused, and `pipe backfill
 * --full-refresh` rebuilds a range into a staging table swapped in at the end, all or nothing.
 */

afterAll(removeTempDirs);

const DAY = "cast('{{ ds }}' as date)";
const EVENTS = {
  v1: `{{ config(materialized='incremental', partition_by='d') }}\nselect ${DAY} as d, 100 + day(${DAY}) as v\n`,
  /** A new column, and new values: the old table's columns do not constrain a full refresh. */
  v2: `{{ config(materialized='incremental', partition_by='d') }}\nselect ${DAY} as d, 200 + day(${DAY}) as v, 'v2' as label\n`,
  /** As v2, but its 2024-01-03 fails. */
  broken: `{{ config(materialized='incremental', partition_by='d') }}
select ${DAY} as d, 200 + day(${DAY}) as v, {% if ds == '2024-01-03' %}error('no data for {{ ds }}'){% else %}'v2'{% endif %} as label
`,
  /** Two rows a date. */
  doubled: `{{ config(materialized='incremental', partition_by='d') }}\nselect ${DAY} as d, unnest([200, 300]) + day(${DAY}) as v\n`,
};
const DAILY = {
  v1: `{{ config(materialized='incremental', partition_by='d') }}\nselect d, v * 10 as w from {{ ref('events') }} where d = '{{ ds }}'\n`,
  /** Reads the column events gains in v2: only the rebuilt events has it. */
  v2: `{{ config(materialized='incremental', partition_by='d') }}\nselect d, v * 10 as w, label from {{ ref('events') }} where d = '{{ ds }}'\n`,
};
const TOTAL = "select count(*)::INTEGER as n, sum(w)::INTEGER as s from {{ ref('daily') }}\n";

/** The project built once for the file, which `built` copies. */
let builtOnce: Promise<string> | undefined;

/** events → daily (incremental) → total (table), built for 2024-01-01 … 2024-01-05 by v1; then `files` written. */
async function built(files: Record<string, string> = {}): Promise<string> {
  builtOnce ??= (async () => {
    const dir = tempDir();
    writeProjectFiles(dir, { 'models/events.sql': EVENTS.v1, 'models/daily.sql': DAILY.v1, 'models/total.sql': TOTAL });
    const outcome = await backfill({ project: dir, start: '2024-01-01', end: '2024-01-05', emit: () => undefined });
    if (outcome.status !== 'succeeded') throw new Error(`building the project failed: ${outcome.status}`);
    return dir;
  })();
  const dir = tempDir();
  cpSync(await builtOnce, dir, { recursive: true });
  writeProjectFiles(dir, files);
  return dir;
}

/** Columns and sorted rows of the published tables: equal means untouched. */
async function published(dir: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const t of ['events', 'daily', 'total']) {
    out[t] = {
      columns: await queryRows(warehouseOf(dir), `SELECT column_name, column_type FROM (DESCRIBE ${t})`),
      rows: await queryRows(warehouseOf(dir), `SELECT * FROM ${t} ORDER BY ALL`),
    };
  }
  return out;
}

const rowsOf = (dir: string, sql: string) => queryRows(warehouseOf(dir), sql);
const days = [1, 2, 3, 4, 5];
const ds = (d: number) => `2024-01-0${d}`;

async function fullBackfill(dir: string, parallel = 2): Promise<{ status: string; events: PipeEvent[] }> {
  const events: PipeEvent[] = [];
  const outcome = await backfill({ project: dir, start: '2024-01-01', end: '2024-01-05', parallel, fullRefresh: true, emit: (e) => events.push(e) });
  return { status: outcome.status, events };
}

const failedIds = (events: readonly PipeEvent[]) => events.flatMap((e) => (e.type === 'task-failed' ? [e.task.id] : []));

describe('pipe run --full-refresh', () => {
  it('is refused when the table holds other dates, naming them and the backfill that rebuilds them all; nothing changes', async () => {
    const dir = await built();
    const before = await published(dir);
    const runs = await runCount(warehouseOf(dir));
    const refused = await run({ project: dir, date: '2024-01-03', fullRefresh: true, emit: () => undefined }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DiagnosticError);
    const diagnostics = (refused as DiagnosticError).diagnostics;
    expect(diagnostics.map((d) => [d.code, d.location?.file])).toEqual([
      ['full-refresh-deletes-history', 'models/events.sql'],
      ['full-refresh-deletes-history', 'models/daily.sql'],
    ]);
    expect(diagnostics[0].message).toBe(
      'events: --full-refresh would replace its table with 2024-01-03 alone and delete the 4 other dates it holds (2024-01-01 … 2024-01-05)',
    );
    expect(diagnostics[0].hint).toBe(`rebuild them all, atomically, with pipe backfill --full-refresh --start 2024-01-01 --end 2024-01-05 --select events --project ${dir}`);
    expect(await published(dir)).toEqual(before);
    expect(await runCount(warehouseOf(dir))).toBe(runs);

    // A backfill --full-refresh over part of what the table holds is refused alike, and so is its dry run.
    const partial = { project: dir, start: '2024-01-02', end: '2024-01-04', fullRefresh: true, select: ['events'], emit: () => undefined };
    for (const refusal of [await backfill(partial).catch((e: unknown) => e), await backfillDryRun(partial).catch((e: unknown) => e)]) {
      expect((refusal as DiagnosticError).diagnostics.map((d) => d.message)).toEqual([
        'events: --full-refresh would replace its table with 2024-01-02 … 2024-01-04 alone and delete the 2 other dates it holds (2024-01-01 … 2024-01-05)',
      ]);
    }
    expect(await published(dir)).toEqual(before);
    expect(await runCount(warehouseOf(dir))).toBe(runs);
  });

  it('runs as before when the table holds only the run\'s date, or does not exist; another date is refused', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, { 'models/events.sql': EVENTS.v1 });
    expect((await run({ project: dir, date: '2024-01-03', fullRefresh: true, emit: () => undefined })).status).toBe('succeeded');
    writeProjectFiles(dir, { 'models/events.sql': EVENTS.v2 });
    expect((await run({ project: dir, date: '2024-01-03', fullRefresh: true, emit: () => undefined })).status).toBe('succeeded');
    expect(await rowsOf(dir, 'SELECT d::VARCHAR AS d, v::INTEGER AS v, label FROM events')).toEqual([{ d: '2024-01-03', v: 203, label: 'v2' }]);
    // The backfill named covers what the table holds and the date asked for.
    const refused = await run({ project: dir, date: '2024-01-04', fullRefresh: true, emit: () => undefined }).catch((e: unknown) => e);
    const [d] = (refused as DiagnosticError).diagnostics;
    expect(d.message).toBe('events: --full-refresh would replace its table with 2024-01-04 alone and delete the 1 other date it holds (2024-01-03)');
    expect(d.hint).toContain('pipe backfill --full-refresh --start 2024-01-03 --end 2024-01-04 --select events');
    expect(await rowsOf(dir, 'SELECT d::VARCHAR AS d, v::INTEGER AS v, label FROM events')).toEqual([{ d: '2024-01-03', v: 203, label: 'v2' }]);
  });

  it('a table with rows whose date is NULL: pipe run --full-refresh is refused, and the backfill it names replaces them, said', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, { 'models/m.sql': "select * from (values (date '2024-01-01', 1), (date '2024-01-02', 2), (NULL::date, 3)) t(d, v)\n" });
    expect((await run({ project: dir, date: '2024-01-02', emit: () => undefined })).status).toBe('succeeded');
    writeProjectFiles(dir, { 'models/m.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect * from (values (date '2024-01-01', 1), (date '2024-01-02', 2)) t(d, v) where d = '{{ ds }}'\n" });
    const refused = await run({ project: dir, date: '2024-01-02', fullRefresh: true, emit: () => undefined }).catch((e: unknown) => e);
    const [d] = (refused as DiagnosticError).diagnostics;
    expect(d.message).toBe('m: --full-refresh would replace its table with 2024-01-02 alone and delete the 1 other date it holds (2024-01-01) and 1 row with d NULL');
    expect(d.hint).toContain('pipe backfill --full-refresh --start 2024-01-01 --end 2024-01-02 --select m');
    // The backfill named: the NULL row belongs to no date of any range, so it is replaced, with a warning.
    const events: PipeEvent[] = [];
    const outcome = await backfill({ project: dir, start: '2024-01-01', end: '2024-01-02', fullRefresh: true, select: ['m'], emit: (e) => events.push(e) });
    expect(outcome.status).toBe('succeeded');
    expect(events.flatMap((e) => (e.type === 'diagnostic' ? [e.diagnostic.message] : []))).toEqual(["m: the table's row with d NULL belongs to no date: the backfill replaces it with 2024-01-01 … 2024-01-02"]);
    expect(await rowsOf(dir, 'SELECT d::VARCHAR AS d, v::INTEGER AS v FROM m ORDER BY d')).toEqual([{ d: '2024-01-01', v: 1 }, { d: '2024-01-02', v: 2 }]);
  });

  it('counts the other hours of an hourly pipeline, and names the range as dates', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'models/hits.sql': "{{ config(materialized='incremental', partition_by='t') }}\nselect TIMESTAMP '{{ interval_start }}' as t\n",
      'pipelines/hourly.yaml': "schedule: '0 * * * *'\ninterval: hourly\n",
    });
    for (const hour of [22, 23]) expect((await run({ project: dir, pipeline: 'hourly', date: '2024-01-04', hour, emit: () => undefined })).status).toBe('succeeded');
    expect((await run({ project: dir, pipeline: 'hourly', date: '2024-01-05', hour: 1, emit: () => undefined })).status).toBe('succeeded');
    const refused = await run({ project: dir, pipeline: 'hourly', date: '2024-01-05', hour: 1, fullRefresh: true, emit: () => undefined }).catch((e: unknown) => e);
    const [d] = (refused as DiagnosticError).diagnostics;
    expect(d.message).toBe('hits: --full-refresh would replace its table with 2024-01-05T01 alone and delete the 2 other hours it holds (2024-01-04T22 … 2024-01-04T23)');
    expect(d.hint).toContain('pipe backfill hourly --full-refresh --start 2024-01-04 --end 2024-01-05 --select hits');
  });
});

describe('pipe backfill --full-refresh', () => {
  it('replaces the tables with exactly the new rows; a downstream model reads them within the backfill', async () => {
    const dir = await built();
    writeProjectFiles(dir, { 'models/events.sql': EVENTS.v2, 'models/daily.sql': DAILY.v2 });
    const { status, events } = await fullBackfill(dir);
    expect(failedIds(events)).toEqual([]);
    expect(status).toBe('succeeded');
    expect(await rowsOf(dir, 'SELECT d::VARCHAR AS d, v::INTEGER AS v, label FROM events ORDER BY d')).toEqual(days.map((d) => ({ d: ds(d), v: 200 + d, label: 'v2' })));
    expect(await rowsOf(dir, 'SELECT d::VARCHAR AS d, w::INTEGER AS w, label FROM daily ORDER BY d')).toEqual(days.map((d) => ({ d: ds(d), w: (200 + d) * 10, label: 'v2' })));
    expect(await rowsOf(dir, 'SELECT * FROM total')).toEqual([{ n: 5, s: 10_150 }]);
    expect(await stagingTables(warehouseOf(dir))).toEqual([]);
  });

  it('a failed date leaves the published tables as they were; a retry after the fix rebuilds every date, even with the staging table dropped', async () => {
    const dir = await built();
    const before = await published(dir);
    const resets = "SELECT node, count(*)::INTEGER AS n FROM _pipe.builds WHERE kind = 'reset' GROUP BY node ORDER BY node";
    const resetsBefore = await rowsOf(dir, resets);
    writeProjectFiles(dir, { 'models/events.sql': EVENTS.broken });
    const { status, events } = await fullBackfill(dir);
    expect(status).toBe('failed');
    expect(failedIds(events)).toEqual(['events@2024-01-03']);
    expect(await published(dir)).toEqual(before);
    // Nothing was replaced: the builds of the dates the tables hold stay on record (no reset is
    // recorded before a swap), and pipe status says those dates were built.
    expect(await rowsOf(dir, resets)).toEqual(resetsBefore);
    const standing = await statusIn(dir, { start: '2024-01-01', end: '2024-01-05' });
    expect(standing.stdout).not.toContain('never built');

    // What crash recovery does when the warehouse is next opened: the partial staging table goes.
    const wh = await DuckDBWarehouse.open(warehouseOf(dir));
    const session = await wh.session();
    try {
      expect((await recoverAfterCrash(session)).droppedStaging).toContain('"main"."__pipe_stage__events__full"');
    } finally {
      session.close();
      wh.close();
    }

    writeProjectFiles(dir, { 'models/events.sql': EVENTS.v2 });
    const retried: PipeEvent[] = [];
    const outcome = await retry({ project: dir, emit: (e) => retried.push(e) });
    expect('status' in outcome && outcome.status).toBe('succeeded');
    // Every date of both models, not only what failed or was skipped, then the swaps.
    const started = retried.flatMap((e) => (e.type === 'task-started' ? [e.task.id] : []));
    expect(started.filter((id) => id.startsWith('events@'))).toHaveLength(7);
    expect(await rowsOf(dir, 'SELECT d::VARCHAR AS d, v::INTEGER AS v, label FROM events ORDER BY d')).toEqual(days.map((d) => ({ d: ds(d), v: 200 + d, label: 'v2' })));
    expect(await rowsOf(dir, 'SELECT d::VARCHAR AS d, w::INTEGER AS w FROM daily ORDER BY d')).toEqual(days.map((d) => ({ d: ds(d), w: (200 + d) * 10 })));
    expect(await rowsOf(dir, 'SELECT * FROM total')).toEqual([{ n: 5, s: 10_150 }]);
    // The swaps recorded the resets: the builds before them no longer describe the tables.
    const after = new Map((await rowsOf(dir, resets)).map((r) => [r.node, r.n]));
    for (const r of resetsBefore) expect(after.get(r.node), String(r.node)).toBe(Number(r.n) + 1);
  });

  it('a blocking check of the whole table fails the swap and leaves the published tables as they were', async () => {
    const dir = await built({ 'models/events.yaml': 'checks:\n  not_null: [v]\n  row_count: {max: 6, scope: table}\n' });
    const before = await published(dir);
    writeProjectFiles(dir, { 'models/events.sql': EVENTS.doubled });
    const { status, events } = await fullBackfill(dir);
    expect(status).toBe('failed');
    expect(failedIds(events)).toEqual(['events@full-refresh:swap']);
    const checks = events.flatMap((e) => (e.type === 'check-failed' ? [`${e.task.id} ${e.failure.check}`] : []));
    expect(checks).toEqual(['events@full-refresh:swap row_count(max 6)']);
    // The partition check ran with each date; the date tasks succeeded.
    const succeeded = events.flatMap((e) => (e.type === 'task-succeeded' ? [e.task.id] : []));
    expect(succeeded.filter((id) => /^events@\d/.test(id)).sort()).toEqual(days.map((d) => `events@${ds(d)}`));
    expect(await published(dir)).toEqual(before);
  });
});

describe("a model's full_refresh: false (dbt's)", () => {
  const KEPT = `{{ config(materialized='incremental', partition_by='d', full_refresh=false) }}\nselect ${DAY} as d, 300 + day(${DAY}) as v\n`;

  it('keeps its history through --full-refresh: the run is its incremental one, and what reads it is rebuilt from it', async () => {
    const dir = await built({ 'models/events.sql': KEPT });
    // Not refused for the dates it holds: nothing of them is deleted.
    expect((await run({ project: dir, date: '2024-01-03', fullRefresh: true, select: ['events'], emit: () => undefined })).status).toBe('succeeded');
    expect(await rowsOf(dir, 'SELECT d::VARCHAR AS d, v::INTEGER AS v FROM events ORDER BY d')).toEqual(days.map((d) => ({ d: ds(d), v: d === 3 ? 303 : 100 + d })));
    // A backfill's full refresh rebuilds daily from nothing, reading events as published; events' dates are replaced one by one.
    const { status, events } = await fullBackfill(dir);
    expect(failedIds(events)).toEqual([]);
    expect(status).toBe('succeeded');
    const ids = events.flatMap((e) => (e.type === 'task-started' ? [e.task.id] : []));
    expect(ids.filter((id) => id.includes('full-refresh')).sort()).toEqual(['daily@full-refresh:reset', 'daily@full-refresh:swap']);
    expect(await rowsOf(dir, 'SELECT d::VARCHAR AS d, v::INTEGER AS v FROM events ORDER BY d')).toEqual(days.map((d) => ({ d: ds(d), v: 300 + d })));
    expect(await rowsOf(dir, 'SELECT * FROM total')).toEqual([{ n: 5, s: 15_150 }]);
  });

  it('an incremental model of a dbt project keeps its rows through --full-refresh, as dbt keeps them; full_refresh: true is refused at its line', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    +full_refresh: false\n',
      'pipe.yaml': 'warehouse: warehouse.duckdb\n',
      'models/keyed.sql': "{{ config(materialized='incremental', unique_key='id') }}\nselect {{ var('n') }} as id\n",
    });
    for (const n of [1, 2]) expect((await run({ project: dir, date: '2024-01-02', vars: { n: String(n) }, emit: () => undefined })).status).toBe('succeeded');
    expect((await run({ project: dir, date: '2024-01-02', vars: { n: '3' }, fullRefresh: true, emit: () => undefined })).status).toBe('succeeded');
    expect(await rowsOf(dir, 'SELECT id FROM keyed ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    writeProjectFiles(dir, { 'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    +full_refresh: true\n' });
    const refused = await run({ project: dir, date: '2024-01-02', vars: { n: '4' }, emit: () => undefined }).catch((e: unknown) => e);
    expect((refused as DiagnosticError).diagnostics.map((d) => [d.code, d.location?.file, d.location?.line])).toEqual([['bad-config', 'dbt_project.yml', 4]]);
    // True only under --full-refresh (snowplow's allow_refresh()): it asks what --full-refresh asks, and the rows go.
    writeProjectFiles(dir, {
      'dbt_project.yml': 'name: shop\nvars:\n  allow_refresh: true\n',
      'models/keyed.sql': "{{ config(materialized='incremental', unique_key='id', full_refresh=(var('allow_refresh') if flags.FULL_REFRESH else none)) }}\nselect {{ var('n') }} as id\n",
    });
    expect((await run({ project: dir, date: '2024-01-02', vars: { n: '5' }, emit: () => undefined })).status).toBe('succeeded');
    expect((await run({ project: dir, date: '2024-01-02', vars: { n: '6' }, fullRefresh: true, emit: () => undefined })).status).toBe('succeeded');
    expect(await rowsOf(dir, 'SELECT id FROM keyed ORDER BY id')).toEqual([{ id: 6 }]);
  });
});
