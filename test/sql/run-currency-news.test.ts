import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, type Analysis } from '../../src/analyze/analyze.js';
import { dayInterval, parseDate } from '../../src/dates/dates.js';
import { BuildNews } from '../../src/execute/build-news.js';
import { RunCurrency } from '../../src/execute/run-currency.js';
import { planRun } from '../../src/plan/plan.js';
import type { Task } from '../../src/plan/task.js';
import { loadProject } from '../../src/project/load-project.js';
import { insertBuildSql } from '../../src/warehouse/build-records.js';
import { removeProjects, tempProject } from '../support/projects.js';
import { TestWarehouse } from './helpers.js';

/**
 * Runs that overlap in one process (a scheduler's catch-up) hear what the others publish: a
 * task is judged, and its build recorded, with the versions a run started after those
 * publications would read from the warehouse. Without it, a table a slow older run rebuilt last
 * was recorded as built from the dated model as that run first read it, and pipe status called
 * it stale though it held every date.
 */

afterAll(removeProjects);

let w: TestWarehouse;
beforeAll(async () => {
  w = await TestWarehouse.open('pipe-news-');
});
afterAll(() => w.close());

const dir = tempProject({
  'models/fct.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect '{{ ds }}'::DATE as d, 1 as n\n",
  'models/agg.sql': "select count(*) as days from {{ ref('fct') }}\n",
});

function plan(analysis: Analysis, ds: string, runId: string): Map<string, Task> {
  const interval = dayInterval(parseDate(ds)!);
  // Both tables exist: a run builds neither from nothing (which would set their builds aside).
  const catalog = new Map([...analysis.nodes.values()].map((n) => [n.relation, 'table' as const]));
  const p = planRun({ analysis, selected: new Set(analysis.graph.nodes), catalog, seedHashes: new Map(), fullRefresh: false, runId }, interval);
  return new Map(p.tasks.map((t) => [t.node, t]));
}

/** What `task` would record as built from, when judged by `currency` now. */
async function builtFrom(currency: RunCurrency, task: Task) {
  return (await currency.judge(task, w.session))?.inputs;
}

describe("a run's currency, beside other runs of the process", () => {
  it("judges a task with what another run published since it started, as a run started after it would", async () => {
    const analysis = analyze(loadProject(dir), { interval: dayInterval(parseDate('2024-06-01')!) });
    const older = plan(analysis, '2024-06-01', 'older');
    const newer = plan(analysis, '2024-06-03', 'newer');
    const news = new BuildNews();
    const all = [...older.values(), ...newer.values()];
    const hearing = (await RunCurrency.open(w.session, 'older', all, undefined, news))!;
    const deaf = (await RunCurrency.open(w.session, 'deaf', all))!;
    const publishing = (await RunCurrency.open(w.session, 'newer', all, undefined, news))!;

    // The newer run publishes its date of fct, its build written as its publish writes it.
    const fct = newer.get('fct')!;
    const recorded = publishing.recording(fct, await publishing.judge(fct, w.session), Date.now()).build!;
    await w.session.exec(insertBuildSql(recorded));
    publishing.published(fct, recorded);

    // A run opened now reads it from the warehouse; the run that heard of it knows it too.
    const later = (await RunCurrency.open(w.session, 'later', all))!;
    const agg = older.get('agg')!;
    expect(await builtFrom(hearing, agg)).toEqual(await builtFrom(later, agg));
    expect(await builtFrom(deaf, agg)).not.toEqual(await builtFrom(later, agg));

    // Closed (its run over), it hears no more.
    hearing.close();
    const again = publishing.recording(fct, await publishing.judge(fct, w.session), Date.now() + 1).build!;
    publishing.published(fct, { ...again, version: `${again.version}-again` });
    expect(await builtFrom(hearing, agg)).toEqual(await builtFrom(later, agg));
  });
});
