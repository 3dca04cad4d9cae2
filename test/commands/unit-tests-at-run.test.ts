import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventsOfType, taskIdsOf, type PipeEventJson } from '../e2e/helpers.js';
import { runIn, testIn } from '../support/in-process.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/**
 * Unit tests of models that dbt renders as they run (`execute`, `run_query`,
 * `adapter.get_columns_in_relation`, ...): rendered for the test as dbt renders them then, the
 * warehouse answering what the render asks, the given rows standing for the inputs and the
 * test's macro overrides applied. A render whose question is about the given rows fails that
 * test alone, at the call. Checked against dbt-core 1.11 with dbt-duckdb on the same projects.
 */

const passed = (events: readonly PipeEventJson[]) => eventsOfType(events, 'check-passed').map((e) => e.check as string).sort();
const failedChecks = (events: readonly PipeEventJson[]) =>
  eventsOfType(events, 'check-failed').map((e) => {
    const f = e.failure as { check: string; sample: readonly Record<string, unknown>[] };
    return [f.check, f.sample];
  });
const taskErrors = (events: readonly PipeEventJson[]) =>
  eventsOfType(events, 'task-failed')
    .filter((e) => !(e.error as { checks?: unknown }).checks)
    .map((e) => {
      const err = e.error as { message: string; location?: { file: string; line?: number } };
      return [(e.task as { id: string }).id, err.message, err.location];
    });
const errors = (events: readonly PipeEventJson[]) =>
  eventsOfType(events, 'diagnostic')
    .map((e) => e.diagnostic as { severity: string; message: string; hint?: string; location?: { file: string; line?: number } })
    .filter((d) => d.severity === 'error');

/** A unit test of `model` giving base the row id 5, expecting `expect`. */
const unitTest = (name: string, model: string, expect: string, overrides = '') => `  - name: ${name}
    model: ${model}${overrides}
    given:
      - input: ref('base')
        rows: [{id: 5}]
    expect:
      rows: [${expect}]
`;

const DBT_PROJECT = "name: mini\nversion: '1.0'\n";

describe('unit tests of models rendered as they run', () => {
  it('render as dbt renders them: execute true, a branch not taken asks nothing, run_query answered by the warehouse; a wrong expectation fails', async () => {
    const tests = [
      unitTest('t_execute', 'm_execute', '{id: 5}'),
      unitTest('t_dead', 'm_deadquery', '{id: 5}'),
      // Quoted: in a dbt project's YAML, as PyYAML reads it, a bare yes is true.
      unitTest('t_query', 'm_query', "{id: 5, x: 42, executed: 'yes'}"),
    ].join('');
    const files = {
      'dbt_project.yml': DBT_PROJECT,
      'models/base.sql': 'select 1 as id',
      'models/m_execute.sql': "{% if execute %}{% endif %}select id from {{ ref('base') }}",
      'models/m_deadquery.sql': "{% if false %}{% do run_query('select 1') %}{% endif %}select id from {{ ref('base') }}",
      'models/m_query.sql': `{% set r = run_query('select 42 as x') %}
select id, {{ r.columns[0].values()[0] if execute else 0 }} as x, '{{ 'yes' if execute else 'no' }}' as executed
from {{ ref('base') }}`,
      'models/unit.yml': `unit_tests:\n${tests}`,
    };
    const dir = tempProject(files);
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(passed(r.events)).toEqual(['t_dead', 't_execute', 't_query']);
    expect(await queryWarehouse(dir, 'select * from m_query')).toEqual([{ id: 1, x: 42, executed: 'yes' }]);

    // Not vacuous: the execution render's value is what the test compares.
    writeFileSync(join(dir, 'models/unit.yml'), `unit_tests:\n${tests.replace("{id: 5, x: 42, executed: 'yes'}", "{id: 5, x: 0, executed: 'no'}")}`);
    const wrong = await testIn(dir, { date: '2024-01-02' });
    expect(wrong.code).toBe(1);
    expect(passed(wrong.events)).toEqual(['t_dead', 't_execute']);
    expect(failedChecks(wrong.events)).toEqual([
      [
        't_query',
        [
          { '@@': '+++', id: 5, x: 42, executed: 'yes' },
          { '@@': '---', id: 5, x: 0, executed: 'no' },
        ],
      ],
    ]);
  });

  it("an override of a package's macro that reads the warehouse stands for it, where the model calls it through another macro", async () => {
    const dir = tempProject({
      'dbt_project.yml': DBT_PROJECT,
      'dbt_packages/pkg/dbt_project.yml': "name: pkg\nversion: '1.0'\n",
      'dbt_packages/pkg/macros/bounds.sql': `{% macro _bounds() %}{% set r = run_query('select 100') %}{{ return(r.columns[0].values()[0] if execute else 0) }}{% endmacro %}
{% macro outer() %}{{ return(pkg._bounds()) }}{% endmacro %}`,
      'models/base.sql': 'select 1 as id',
      'models/m_pkg.sql': "select id, {{ pkg.outer() }} as b from {{ ref('base') }}",
      'models/unit.yml': `unit_tests:\n${unitTest('t_pkg', 'm_pkg', '{id: 5, b: 7}', '\n    overrides: {macros: {pkg._bounds: 7}}')}`,
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(passed(r.events)).toEqual(['t_pkg']);
    // Outside the test the macro asks the warehouse.
    expect(await queryWarehouse(dir, 'select b from m_pkg')).toEqual([{ b: 100 }]);
  });

  it('a question about the given rows fails that unit test alone, at the call; the rest builds', async () => {
    const dir = tempProject({
      'dbt_project.yml': DBT_PROJECT,
      'macros/ncols.sql': `{% macro ncols(relation) %}
  {% set cols = adapter.get_columns_in_relation(relation) %}
  {{ return(cols | length) }}
{% endmacro %}`,
      'seeds/s.csv': 'a\n1\n',
      'models/base.sql': 'select 1 as id',
      'models/m_cols.sql': "select id,\n  {{ ncols(ref('base')) }} as n\nfrom {{ ref('base') }}",
      'models/m_after.sql': "select * from {{ ref('m_cols') }}",
      'models/m_query.sql': "{% set r = run_query('select count(*) from ' ~ ref('base')) %}\nselect id from {{ ref('base') }}",
      'models/m_execute.sql': "{% if execute %}{% endif %}select id from {{ ref('base') }}",
      'models/unit.yml': `unit_tests:\n${[unitTest('t_cols', 'm_cols', '{id: 5, n: 1}'), unitTest('t_query', 'm_query', '{id: 5}'), unitTest('t_execute', 'm_execute', '{id: 5}')].join('')}`,
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    const hint = 'override the macro that asks, under overrides: macros: of the unit test, with the value it should give';
    expect(taskErrors(r.events).sort()).toEqual([
      [
        'm_cols::t_cols@2024-01-02',
        `unit test t_cols: adapter.get_columns_in_relation() asks the warehouse for the columns of ref('base'), which the test gives as rows, not as a relation the warehouse has (${hint})`,
        { file: 'macros/ncols.sql', line: 2, column: 25 },
      ],
      [
        'm_query::t_query@2024-01-02',
        `unit test t_query: a query run while rendering (run_query, statement) reads ref('base'), which the test gives as rows, not as a relation the warehouse has (${hint})`,
        { file: 'models/m_query.sql', line: 1, column: 12 },
      ],
    ]);
    expect(taskIdsOf(r.events, 'task-skipped').sort()).toEqual(['m_after@2024-01-02', 'm_cols@2024-01-02', 'm_query@2024-01-02']);
    expect(passed(r.events)).toEqual(['t_execute']);
    expect(taskIdsOf(r.events, 'task-succeeded').sort()).toEqual(['base@2024-01-02', 'm_execute::t_execute@2024-01-02', 'm_execute@2024-01-02', 's']);
  });
});

describe('macro overrides by the name a template calls them by', () => {
  const files = (overrides: string) => ({
    'dbt_project.yml': DBT_PROJECT,
    'macros/bounds.sql': "{% macro bounds(col) %}{% set r = run_query('select 100') %}{{ return(r.columns[0].values()[0] if execute else 0) }}{% endmacro %}",
    'models/base.sql': 'select 1 as id',
    'models/m_prefixed.sql': "select id, {{ mini.bounds('id') }} as b from {{ ref('base') }}",
    'models/m_bare.sql': "select id, {{ bounds('id') }} as b from {{ ref('base') }}",
    'models/unit.yml': `unit_tests:\n${overrides}`,
  });

  it("the project's name keys its macros as templates call them by it; a bare key stands for bare calls only, as in dbt", async () => {
    const dir = tempProject(
      files(
        [
          unitTest('prefixed_by_prefixed_key', 'm_prefixed', '{id: 5, b: 7}', '\n    overrides: {macros: {mini.bounds: 7}}'),
          unitTest('bare_by_bare_key', 'm_bare', '{id: 5, b: 7}', '\n    overrides: {macros: {bounds: 7}}'),
          unitTest('prefixed_by_bare_key', 'm_prefixed', '{id: 5, b: 7}', '\n    overrides: {macros: {bounds: 7}}'),
          unitTest('bare_by_prefixed_key', 'm_bare', '{id: 5, b: 7}', '\n    overrides: {macros: {mini.bounds: 7}}'),
        ].join(''),
      ),
    );
    expect((await runIn(dir, { date: '2024-01-02', select: ['base'] })).code).toBe(0);
    const t = await testIn(dir, { date: '2024-01-02', select: ['test_type:unit'] });
    expect(t.code).toBe(1);
    expect(passed(t.events)).toEqual(['bare_by_bare_key', 'prefixed_by_prefixed_key']);
    // dbt leaves these calls to the macro, which asks the warehouse.
    const other = [
      { '@@': '+++', id: 5, b: 100 },
      { '@@': '---', id: 5, b: 7 },
    ];
    expect(failedChecks(t.events).sort()).toEqual([
      ['bare_by_prefixed_key', other],
      ['prefixed_by_bare_key', other],
    ]);
  });

  it('a key no template can call is an error at overrides:, pointing to the key that would apply', async () => {
    const dir = tempProject({
      ...files(
        [
          unitTest('misspelt', 'm_prefixed', '{id: 5, b: 7}', '\n    overrides: {macros: {mini.boundz: 7}}'),
          unitTest('package_by_bare_name', 'm_pkg', '{id: 5, b: 7}', '\n    overrides: {macros: {_bounds: 7}}'),
        ].join(''),
      ),
      'dbt_packages/pkg/dbt_project.yml': "name: pkg\nversion: '1.0'\n",
      'dbt_packages/pkg/macros/bounds.sql': '{% macro _bounds() %}100{% endmacro %}',
      'models/m_pkg.sql': "select id, {{ pkg._bounds() }} as b from {{ ref('base') }}",
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(2);
    expect(errors(r.events).map((d) => [d.message, d.hint, d.location?.line])).toEqual([
      ['unit test misspelt: overrides.macros.mini.boundz: no macro of that name is there to override', "did you mean 'mini.bounds'?", 4],
      [
        'unit test package_by_bare_name: overrides.macros._bounds: no macro of that name is there to override',
        'templates call it as pkg._bounds, and an override stands for calls by the name it is keyed by, as in dbt: key it pkg._bounds',
        12,
      ],
    ]);
    expect(eventsOfType(r.events, 'task-started')).toEqual([]);
  });
});
