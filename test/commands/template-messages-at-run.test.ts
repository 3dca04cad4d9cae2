import { afterAll, describe, expect, it } from 'vitest';
import { compileIn, runIn } from '../support/in-process.js';
import { removeProjects, tempProject } from '../support/projects.js';
import { eventsOfType, explain, type PipeEventJson } from '../e2e/helpers.js';

afterAll(removeProjects);

/**
 * What templates say with log(msg, info=True), print(msg) and exceptions.warn(msg) when they
 * render as their task runs (dbt's execution render, `execute` true): a model, its post-hook,
 * an on-run-end hook and a dbt test, run in-process on a real DuckDB file. dbt prints each
 * call once; so does pipe, as `template-message` events of the task that rendered it, at the
 * template's place, even where the render stopped at several questions to the warehouse.
 */

const FILES = {
  'dbt_project.yml': `name: p
models:
  p:
    +materialized: table
on-run-end:
  - "{% do print('end: ' ~ run_query('select 40 + 2')[0][0] ~ ' after ' ~ (results | length) ~ ' results') %}"
  - "{% if execute %}{{ log('the end, said once', info=True) }}{% endif %}"
`,
  'models/m.sql': `{{ config(post_hook="{% set c = run_query('select count(*) from ' ~ this) %}{{ log('post-hook counted ' ~ c[0][0], info=True) }}") }}
{% if execute %}{% set one = run_query('select 1') %}{{ log('X', info=True) }}{% endif %}
{% if execute %}{% set two = run_query('select 2') %}{% do print('two is ' ~ two[0][0]) %}{% set three = run_query('select 3') %}{% endif %}
{{ log('a debug line, for the log file alone') }}
{% if execute %}{% do exceptions.warn('three is ' ~ three[0][0]) %}{% endif %}
select 1 as id`,
  'macros/test_logged.sql': `{% test logged(model, column_name) %}
{%- set n = run_query('select count(*) from ' ~ model)[0][0] if execute else 0 %}
{%- if execute %}{{ log('the test counted ' ~ n ~ ' rows', info=True) }}{% endif %}
select * from {{ model }} where {{ column_name }} is null
{% endtest %}
`,
  // Rendered once, as planned (its hook reads nothing of the warehouse): told as the hook runs.
  'models/after.sql': `{{ config(pre_hook="{{ log('pre-hook of ' ~ this.identifier, info=True) }}") }}
select * from {{ ref('m') }}`,
  'models/m.yml': 'version: 2\nmodels:\n  - name: m\n    columns:\n      - name: id\n        data_tests:\n          - logged\n',
};

/** What the run's templates said, as `kind message @ file:line by task id`, in the order told. */
function said(events: readonly PipeEventJson[]): string[] {
  return eventsOfType(events, 'template-message').map((e) => {
    const at = e.location as { file: string; line?: number } | undefined;
    const task = e.task as { id: string };
    return `${String(e.kind)} ${String(e.message)} @ ${at ? `${at.file}:${at.line ?? '-'}` : '-'} by ${task.id}`;
  });
}

describe('what templates say as their task runs', () => {
  it('tells each log(info=True), print() and exceptions.warn() of a model, its hooks, the on-run-end hooks and a dbt test once, with the task and the line', async () => {
    const dir = tempProject(FILES);
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(said(r.events)).toEqual([
      // The model's render asked three questions, and was rendered four times: each call is told once.
      'log X @ models/m.sql:2 by m@2024-01-02',
      'print two is 2 @ models/m.sql:3 by m@2024-01-02',
      'warn three is 3 @ models/m.sql:5 by m@2024-01-02',
      // A hook's own text is told at the hook; a test's macro at its line.
      'log post-hook counted 1 @ models/m.sql:1 by m@2024-01-02',
      'log the test counted 1 rows @ macros/test_logged.sql:3 by m@2024-01-02',
      'log pre-hook of after @ models/after.sql:1 by after@2024-01-02',
      'print end: 42 after 3 results @ dbt_project.yml:6 by on-run-end.1',
      'log the end, said once @ dbt_project.yml:7 by on-run-end.2',
    ]);
    for (const e of eventsOfType(r.events, 'template-message')) expect(e.runId).toBe(r.events[0].runId);
    // Told with the task: after it started, before it ended.
    const started = r.events.findIndex((e) => e.type === 'task-started');
    const ended = r.events.findIndex((e) => e.type === 'task-succeeded' && (e.task as { id: string }).id === 'm@2024-01-02');
    const firstSaid = r.events.findIndex((e) => e.type === 'template-message');
    expect(started).toBeLessThan(firstSaid);
    expect(firstSaid).toBeLessThan(ended);
    // As the plain logger prints them.
    expect(r.stdout).toContain('LOG   m 2024-01-02 X models/m.sql:2\n');
    expect(r.stdout).toContain('PRINT m 2024-01-02 two is 2 models/m.sql:3\n');
    expect(r.stdout).toContain('WARN  m 2024-01-02 three is 3 models/m.sql:5\n');
    expect(r.stdout).not.toContain('a debug line');
  });

  it('tells what a render said up to a query the warehouse refuses, once', async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: p\n',
      'models/m.sql': `{% if execute %}{{ log('before', info=True) }}{% set n = run_query('select 1') %}{{ log('between', info=True) }}{% set m = run_query('select * from no_such_table') %}{{ log('never', info=True) }}{% endif %}
select 1 as id`,
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    expect(said(r.events)).toEqual(['log before @ models/m.sql:1 by m@2024-01-02', 'log between @ models/m.sql:1 by m@2024-01-02']);
  });

  it('tells what an on-run-end hook said before its template failed, then the failure', async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: p\non-run-end:\n  - "{{ steps() }}"\n',
      'macros/steps.sql': "{% macro steps() %}\n  {% do log('step 1', true) %}\n  {% do log('step 2', true) %}\n  {% do tojson({'a': undefined_thing}) %}\n{% endmacro %}\n",
      'models/m.sql': 'select 1 as id',
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    expect(said(r.events)).toEqual(['log step 1 @ macros/steps.sql:2 by on-run-end.1', 'log step 2 @ macros/steps.sql:3 by on-run-end.1']);
    const told = r.events.findIndex((e) => e.type === 'template-message');
    const failed = r.events.findIndex((e) => e.type === 'task-failed');
    expect(told).toBeLessThan(failed);
  });

  it('pipe compile tells what the execution render of a model says, with no run', async () => {
    const dir = tempProject(FILES);
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const r = await compileIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(said(r.events)).toEqual(['log X @ models/m.sql:2 by m@2024-01-02', 'print two is 2 @ models/m.sql:3 by m@2024-01-02', 'warn three is 3 @ models/m.sql:5 by m@2024-01-02']);
    for (const e of eventsOfType(r.events, 'template-message')) expect(e.runId).toBeUndefined();
  });
});
