import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/analyze/analyze.js';
import { daysBetween, parseDate } from '../../src/dates/dates.js';
import { SlowStart } from '../../src/execute/slow-start.js';
import { backfillPastTaskIds, planBackfill, type PlanContext } from '../../src/plan/plan.js';
import { loadProject } from '../../src/project/load-project.js';

function project(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'pipe-backfill-plan-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

function context(root: string, first: number): PlanContext {
  const analysis = analyze(loadProject(root), { interval: { start: first, end: first + 86_400_000 } });
  expect(analysis.diagnostics).toEqual([]);
  return {
    analysis,
    selected: new Set(analysis.graph.nodes),
    catalog: new Map(),
    seedHashes: new Map(),
    fullRefresh: false,
    runId: 'r1',
  };
}

const chain = {
  'models/events.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect '{{ ds }}'::DATE as d",
  'models/daily.sql': "{{ config(materialized='incremental', partition_by='d', depends_on_past=true) }}\nselect * from {{ ref('events') }} where d = '{{ ds }}'",
  'models/totals.sql': "select count(*) as n from {{ ref('daily') }}",
  'models/lookup.sql': "{{ config(materialized='view') }}\nselect 1 as k",
  'models/enriched.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect e.d from {{ ref('events') }} e, {{ ref('lookup') }} where e.d = '{{ ds }}'",
};

describe('planBackfill', () => {
  const first = parseDate('2024-01-01')!;
  const intervals = daysBetween(first, parseDate('2024-01-03')!);

  it('plans incremental models per date, tables and views once with the last date', () => {
    const { tasks } = planBackfill(context(project(chain), first), intervals, 'oldest');
    const ids = tasks.map((t) => t.id);
    expect(ids.filter((i) => i.startsWith('events@'))).toEqual(['events@2024-01-01', 'events@2024-01-02', 'events@2024-01-03']);
    expect(ids.filter((i) => i.startsWith('totals'))).toEqual(['totals@2024-01-03']);
    expect(ids.filter((i) => i.startsWith('lookup'))).toEqual(['lookup@2024-01-03']);
    const byId = new Map(tasks.map((t) => [t.id, t]));
    // A table waits for every date of its upstream.
    expect([...byId.get('totals@2024-01-03')!.upstream].sort()).toEqual(['daily@2024-01-01', 'daily@2024-01-02', 'daily@2024-01-03']);
    // Within a date, dependency order; across dates, only depends_on_past links.
    expect(byId.get('daily@2024-01-02')!.upstream).toEqual(['events@2024-01-02', 'daily@2024-01-01']);
    expect(byId.get('daily@2024-01-01')!.upstream).toEqual(['events@2024-01-01']);
    expect(byId.get('events@2024-01-02')!.upstream).toEqual([]);
    // A view upstream of dated models runs first and every date waits for it.
    expect(byId.get('enriched@2024-01-02')!.upstream.sort()).toEqual(['events@2024-01-02', 'lookup@2024-01-03']);
    // Dated tasks carry their date as the group the executor admits; single tasks none.
    expect(byId.get('events@2024-01-02')!.group).toBe('2024-01-02');
    expect(byId.get('totals@2024-01-03')!.group).toBeUndefined();
    // Each date's SQL is rendered for that date.
    expect(byId.get('events@2024-01-02')!.sql).toContain("'2024-01-02'::DATE");
  });

  it('a task of one batch size waits for the tasks of another whose times overlap its own, and only those', () => {
    const micro = (size: string, body: string) =>
      `{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='t', batch_size='${size}', begin='2024-01-01', lookback=0) }}\n${body}`;
    const root = project({
      'models/events.sql': "{{ config(event_time='t') }}\nselect '2024-01-01'::TIMESTAMP as t",
      'models/hourly.sql': micro('hour', "select t from {{ ref('events') }}"),
      'models/daily.sql': micro('day', "select t from {{ ref('hourly') }}"),
      'models/hourly_again.sql': micro('hour', "select t from {{ ref('daily') }}"),
    });
    const { tasks } = planBackfill(context(root, first), daysBetween(first, parseDate('2024-01-31')!), 'oldest');
    const byId = new Map(tasks.map((t) => [t.id, t]));
    const hours = (day: string) => Array.from({ length: 24 }, (_, h) => `hourly@${day}T${String(h).padStart(2, '0')}`);
    expect(tasks.filter((t) => t.id.startsWith('hourly@'))).toHaveLength(31 * 24);
    expect(byId.get('daily@2024-01-01')!.upstream).toEqual(hours('2024-01-01'));
    expect(byId.get('daily@2024-01-17')!.upstream).toEqual(hours('2024-01-17'));
    expect(byId.get('daily@2024-01-31')!.upstream).toEqual(hours('2024-01-31'));
    expect(byId.get('hourly_again@2024-01-17T05')!.upstream).toEqual(['daily@2024-01-17']);
    expect(byId.get('hourly_again@2024-01-31T23')!.upstream).toEqual(['daily@2024-01-31']);
  });

  it('orders dates newest first on request, dependency order within a date', () => {
    const { tasks } = planBackfill(context(project(chain), first), intervals, 'newest');
    const dated = tasks.filter((t) => t.group !== undefined).map((t) => t.id);
    expect(dated.slice(0, 3)).toEqual(['events@2024-01-03', 'daily@2024-01-03', 'enriched@2024-01-03']);
    expect(dated.at(-1)!.endsWith('2024-01-01')).toBe(true);
  });

  it("blocks a depends_on_past model's first date, newest first too, unless the date before the range succeeded", () => {
    const built = { ...context(project(chain), first), catalog: new Map([['"main"."daily"', 'table' as const]]) };
    // The day's own task, or its 24 hours built one by one (see pastDone).
    expect(backfillPastTaskIds(built, intervals)).toEqual(['daily@2023-12-31', ...Array.from({ length: 24 }, (_, h) => `daily@2023-12-31T${String(h).padStart(2, '0')}`)]);
    // Dates of daily were built before the range (from 2023-12-01): the day before it must have succeeded.
    const before = new Map([['daily', '2023-12-01']]);
    for (const order of ['oldest', 'newest'] as const) {
      const blocked = planBackfill({ ...built, pastSucceeded: new Set(), pastFirst: before }, intervals, order).tasks.filter((t) => t.blocked !== undefined);
      expect(blocked.map((t) => t.id)).toEqual(['daily@2024-01-01']);
      expect(blocked[0].blocked).toContain('daily for 2023-12-31 has not succeeded');
    }
    expect(planBackfill({ ...built, pastSucceeded: new Set(['daily@2023-12-31']), pastFirst: before }, intervals, 'oldest').tasks.some((t) => t.blocked)).toBe(false);
    // Nothing of daily was built before the range's first date (its first date rebuilt, or none recorded): it waits for nothing.
    for (const first of [new Map([['daily', '2024-01-01']]), new Map<string, string>()]) {
      expect(planBackfill({ ...built, pastSucceeded: new Set(), pastFirst: first }, intervals, 'oldest').tasks.some((t) => t.blocked)).toBe(false);
    }
    // The first date ever built (no table yet) waits for nothing.
    expect(backfillPastTaskIds(context(project(chain), first), intervals)).toEqual([]);
  });
});

describe('SlowStart', () => {
  it('starts at one, doubles on success up to the limit, halves on failure', () => {
    const w = new SlowStart(4);
    expect(w.current).toBe(1);
    w.dateSucceeded();
    expect(w.current).toBe(2);
    w.dateSucceeded();
    w.dateSucceeded();
    expect(w.current).toBe(4);
    w.taskFailed();
    expect(w.current).toBe(2);
    w.taskFailed();
    w.taskFailed();
    expect(w.current).toBe(1);
  });
});
