import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/analyze/analyze.js';
import { daysBetween, parseDate } from '../../src/dates/dates.js';
import { planBackfill, type PlanContext } from '../../src/plan/plan.js';
import type { Task } from '../../src/plan/task.js';
import { loadProject } from '../../src/project/load-project.js';

/** The tasks of `pipe backfill --full-refresh`, and what each waits for and reads. */

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const inc = "{{ config(materialized='incremental', partition_by='d') }}\n";
const files = {
  'models/events.sql': `${inc}select '{{ ds }}'::DATE as d`,
  'models/daily.sql': `${inc}select d from {{ ref('events') }} where d = '{{ ds }}'`,
  'models/recent.sql': "{{ config(materialized='view') }}\nselect * from {{ ref('events') }}",
  // Reads events directly and through a view that reads its published table after the swap.
  'models/mixed.sql': `${inc}select e.d from {{ ref('events') }} e join {{ ref('recent') }} r using (d) where e.d = '{{ ds }}'`,
  'models/totals.sql': "select count(*) as n from {{ ref('daily') }}",
};

const first = parseDate('2024-01-01')!;
const intervals = daysBetween(first, parseDate('2024-01-03')!);
const STAGE = '"main"."__pipe_stage__events__full"';

function plan(over: Partial<PlanContext> = {}): Map<string, Task> {
  const root = mkdtempSync(join(tmpdir(), 'pipe-full-refresh-plan-'));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const analysis = analyze(loadProject(root), { interval: intervals[0], fullRefresh: true });
  expect(analysis.diagnostics).toEqual([]);
  const ctx: PlanContext = { analysis, selected: new Set(analysis.graph.nodes), catalog: new Map(), seedHashes: new Map(), fullRefresh: true, runId: 'r', ...over };
  const p = planBackfill(ctx, intervals, 'oldest');
  expect(p.diagnostics).toEqual([]);
  return new Map(p.tasks.map((t) => [t.id, t]));
}

/** Whether every task can run: no task waits, through upstream or `after`, for itself. */
function acyclic(tasks: ReadonlyMap<string, Task>): boolean {
  const state = new Map<string, 'open' | 'done'>();
  const visit = (id: string): boolean => {
    if (state.get(id) === 'done' || !tasks.has(id)) return true;
    if (state.get(id) === 'open') return false;
    state.set(id, 'open');
    const t = tasks.get(id)!;
    const ok = [...t.upstream, ...(t.after ?? [])].every(visit);
    state.set(id, 'done');
    return ok;
  };
  return [...tasks.keys()].every(visit);
}

describe('planBackfill with fullRefresh', () => {
  it('resets, builds every date into the staging table, then swaps; readers read the staging table until the swap', () => {
    const tasks = plan();
    const ids = [...tasks.keys()];
    expect(ids.slice(0, 3)).toEqual(['events@full-refresh:reset', 'daily@full-refresh:reset', 'mixed@full-refresh:reset']);
    expect(tasks.get('events@2024-01-02')!.upstream).toEqual(['events@full-refresh:reset']);
    expect(tasks.get('events@2024-01-02')!.lockKey).toBe(STAGE);
    expect(tasks.get('events@full-refresh:swap')!.upstream).toEqual(['events@2024-01-01', 'events@2024-01-02', 'events@2024-01-03']);
    // daily reads events' staging table for its date; events' swap waits for every such read.
    expect(tasks.get('daily@2024-01-02')!.upstream).toEqual(['daily@full-refresh:reset', 'events@2024-01-02']);
    expect(tasks.get('daily@2024-01-02')!.sql).toContain(`from ${STAGE} where d = '2024-01-02'`);
    expect(tasks.get('events@full-refresh:swap')!.after).toEqual(['daily@2024-01-01', 'daily@2024-01-02', 'daily@2024-01-03']);
    // A rebuilt model is swapped in only after what it was built from.
    expect(tasks.get('daily@full-refresh:swap')!.upstream).toContain('events@full-refresh:swap');
    // Tables and views read the published table after the swap.
    expect(tasks.get('totals@2024-01-03')!.upstream).toEqual(['daily@full-refresh:swap']);
    expect(tasks.get('recent@2024-01-03')!.upstream).toEqual(['events@full-refresh:swap']);
    // mixed also reads events through that view, so it waits for the swap and reads the published table.
    expect(tasks.get('mixed@2024-01-02')!.upstream).toContain('recent@2024-01-03');
    expect(tasks.get('mixed@2024-01-02')!.sql).toContain('from "main"."events" e');
    expect(tasks.get('events@full-refresh:swap')!.after).not.toContain('mixed@2024-01-02');
    expect(acyclic(tasks)).toBe(true);
  });

  it('in a retry, a model whose swap committed is read as published and not rebuilt', () => {
    const tasks = plan({ refreshed: new Set(['events']) });
    expect(tasks.has('events@full-refresh:reset')).toBe(false);
    expect(tasks.has('events@full-refresh:swap')).toBe(false);
    expect(tasks.get('events@2024-01-02')!.lockKey).toBe('"main"."events"');
    expect(tasks.get('daily@2024-01-02')!.sql).toContain('from "main"."events" where');
    expect(tasks.get('daily@full-refresh:swap')!.upstream).toContain('events@2024-01-03');
    expect(acyclic(tasks)).toBe(true);
  });
});
