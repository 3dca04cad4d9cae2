import { afterAll, describe, expect, it } from 'vitest';
import { formatRunPlan } from '../../src/cli/format-plan.js';
import { runDryRun } from '../../src/commands/run.js';
import { backfillIn, compileIn, runIn } from '../support/in-process.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';
import { eventsOfType, explain, taskOf } from '../e2e/helpers.js';

afterAll(removeProjects);

/**
 * Models that read the warehouse while rendering, run in-process on a real DuckDB file: each
 * is rendered again when its task runs, after its upstream published in the same run, and
 * sees that run's data, as dbt's execution render does.
 */

const UPSTREAM = `{{ config(materialized='table') }}
select range as id{% if var('wide', false) %}, 'x' as extra{% endif %} from range({{ var('n', 2) }})`;

const COUNTS = `{{ config(materialized='table') }}
{%- set counted = run_query('select count(*) as n from ' ~ ref('up')) %}
{%- set columns = adapter.get_columns_in_relation(ref('up')) %}
select {% if execute %}{{ counted[0][0] }}{% else %}-1{% endif %} as n,
  '{% for c in columns %}{{ c.name }} {{ c.dtype }};{% endfor %}' as columns
from {{ ref('up') }}
limit 1`;

function project(files: Record<string, string> = {}): string {
  return tempProject({ 'pipe.yaml': 'name: phases\n', 'models/up.sql': UPSTREAM, 'models/counts.sql': COUNTS, ...files });
}

describe('a model that reads the warehouse while rendering', () => {
  it("sees what its upstream published earlier in the same run, and the run records the hash of the SQL it ran", async () => {
    const dir = project();
    const first = await runIn(dir, { date: '2024-01-02' });
    expect(first.code, explain(first)).toBe(0);
    expect(await queryWarehouse(dir, 'select * from main.counts')).toEqual([{ n: 2, columns: 'id BIGINT;' }]);

    const vars = { n: 5, wide: true };
    const second = await runIn(dir, { date: '2024-01-03', vars });
    expect(second.code, explain(second)).toBe(0);
    expect(await queryWarehouse(dir, 'select * from main.counts')).toEqual([{ n: 5, columns: 'id BIGINT;extra VARCHAR;' }]);

    // pipe compile renders it with the warehouse as it now is, as the run did: the same SQL, the same hash.
    const compiled = await compileIn(dir, { date: '2024-01-03', vars, model: 'counts' });
    const [model] = compiled.models;
    expect(model).toMatchObject({ rendered_with: 'warehouse', sql: expect.stringContaining('select 5 as n,') });
    const recorded = await queryWarehouse(dir, `select t.sql_hash from _pipe.tasks t join _pipe.runs r using (run_id) where t.task_id = 'counts@2024-01-03'`);
    expect(recorded).toEqual([{ sql_hash: model.sql_hash }]);
  });

  it("compiles each model with its own answer to a query, the columns of a table read once for all (nothing writes the warehouse meanwhile)", async () => {
    const RANDOM = `{{ config(materialized='table') }}
select {% if execute %}{{ run_query('select random()')[0][0] }}{% else %}0{% endif %} as r,
  '{{ adapter.get_columns_in_relation(ref('up')) | map(attribute='name') | join(',') }}' as c`;
    const dir = project({ 'models/r1.sql': RANDOM, 'models/r2.sql': RANDOM });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const compiled = await compileIn(dir, { date: '2024-01-02' });
    const sqlOf = (name: string) => compiled.models.find((m) => m.model === name)!.sql;
    expect(sqlOf('r1')).toMatch(/^\nselect 0\.\d+ as r,\n  'id' as c$/);
    expect(sqlOf('r2')).toMatch(/^\nselect 0\.\d+ as r,\n  'id' as c$/);
    // A query may read the time or a random number: its answer is its model's alone.
    expect(sqlOf('r1')).not.toBe(sqlOf('r2'));
  });

  it('is planned with its parse render, which dry runs show and mark', async () => {
    const dir = project();
    const planned = await runDryRun({ project: dir, date: '2024-01-02' });
    const text = formatRunPlan(planned.plan, { ds: '2024-01-02', dateIsDefault: false, threads: 1 }, false);
    expect(text).toContain(`-- 2. counts@2024-01-02 (table)  ← up@2024-01-02
-- its SQL reads the warehouse while rendering: rendered again when it runs (execute true); shown as rendered with execute false`);
    expect(text).toContain('select -1 as n,');
    const json = formatRunPlan(planned.plan, { ds: '2024-01-02', dateIsDefault: false, threads: 1 }, true)
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.type === 'planned-task');
    expect(json.map((t) => [t.model, t.rendered_at_run])).toEqual([
      ['up', undefined],
      ['counts', true],
    ]);
  });

  it('compiles with the parse render, and says so, when there is no warehouse to read', async () => {
    const dir = project();
    const r = await compileIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(r.models.map((m) => [m.model, m.rendered_with])).toEqual([
      ['up', undefined],
      ['counts', 'parse'],
    ]);
    expect(r.models[1].sql).toContain('select -1 as n,');
    expect(r.stderr).toContain('counts is rendered as it runs (its template reads the warehouse, or tests execute), and there is no warehouse to read: shown as rendered with execute false');
  });

  it("is told by what a template's tags call, not by SQL that reads like a call (UNPIVOT ( calls no macro unpivot); a }} in a string ends no tag", async () => {
    const dir = project({
      'macros/unpivot.sql': "{% macro unpivot() %}{{ run_query('select 1')[0][0] if execute else 0 }}{% endmacro %}\n",
      'models/long.sql': "{% set cols = ['id'] %}select k, v from {{ ref('up') }} unpivot (v for k in ({{ cols | join(', ') }}))",
      // A `}}` in a string does not end the tag: the call after it counts.
      'models/calls.sql': "select '{{ \"}}\" ~ unpivot() }}' as x",
      'models/asks.sql': "select '{{ \"}}\" ~ (run_query('select 1')[0][0] if execute else 0) }}' as x",
    });
    const r = await compileIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(r.models.map((m) => [m.model, m.rendered_with])).toEqual([
      ['asks', 'parse'],
      ['calls', 'parse'],
      ['up', undefined],
      ['counts', 'parse'],
      ['long', undefined],
    ]);
    expect(r.stderr).not.toContain('long reads the warehouse');
  });

  it('compiles with the parse render, and says so, when what it reads is not built yet', async () => {
    const dir = project({ 'models/other.sql': "{{ config(materialized='table') }}\nselect 1 as id" });
    expect((await runIn(dir, { date: '2024-01-02', select: ['other'] })).code).toBe(0);
    const r = await compileIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(r.models.map((m) => [m.model, m.rendered_with])).toEqual([
      ['other', undefined],
      ['up', undefined],
      ['counts', 'parse'],
    ]);
    expect(r.stderr).toContain('counts is rendered as it runs (its template reads the warehouse, or tests execute), and up, which it reads, is not built yet: shown as rendered with execute false');
  });

  it('fails its task at the template line of a query the warehouse refuses, and skips what reads it', async () => {
    const dir = project({
      'models/broken.sql': "{{ config(materialized='table') }}\nselect 1 as id,\n  {{ run_query('select count(*) from main.nowhere')[0][0] }} as n",
      'models/after.sql': "select * from {{ ref('broken') }}",
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    const [failed] = eventsOfType(r.events, 'task-failed');
    expect(failed.error).toMatchObject({ kind: 'Template', location: { file: 'models/broken.sql', line: 3 } });
    expect(String(failed.error?.message)).toMatch(/^a query that models\/broken\.sql:3 asks the warehouse for failed: Catalog Error: Table with name nowhere does not exist/);
    expect(eventsOfType(r.events, 'task-skipped').map((e) => taskOf(e).model)).toEqual(['after']);
    expect(eventsOfType(r.events, 'task-succeeded').map((e) => taskOf(e).model).sort()).toEqual(['counts', 'up']);
  });

  it('reads the staging table of an upstream that a full-refresh backfill rebuilds, as its other reads do', async () => {
    const dir = tempProject({
      'pipe.yaml': 'name: phases\n',
      'models/events.sql': "{{ config(materialized='incremental', partition_by='day') }}\nselect '{{ ds }}'::date as day, {{ var('v', 1) }} as v{% if var('wide', false) %}, 'w' as extra{% endif %}",
      'models/seen.sql': `{{ config(materialized='incremental', partition_by='day') }}
{%- set rows = run_query('select count(*) from ' ~ ref('events')) %}
{%- set columns = adapter.get_columns_in_relation(ref('events')) %}
select '{{ ds }}'::date as day, {% if execute %}{{ rows[0][0] }}{% else %}-1{% endif %} as rows_so_far,
  '{% for c in columns %}{{ c.name }};{% endfor %}' as columns`,
    });
    const first = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-02' });
    expect(first.code, explain(first)).toBe(0);
    // Rebuilt from nothing with a new column: each date of seen reads the staging table events is rebuilt in.
    const again = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-02', fullRefresh: true, vars: { wide: true } });
    expect(again.code, explain(again)).toBe(0);
    expect(await queryWarehouse(dir, "select strftime(day, '%Y-%m-%d') as day, rows_so_far, columns from main.seen order by day")).toEqual([
      { day: '2024-01-01', rows_so_far: 1, columns: 'day;v;extra;' },
      { day: '2024-01-02', rows_so_far: 2, columns: 'day;v;extra;' },
    ]);
  });
});
