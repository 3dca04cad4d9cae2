import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatRunPlan } from '../../src/cli/format-plan.js';
import { runDryRun } from '../../src/commands/run.js';
import { runIn } from '../support/in-process.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';
import { eventsOfType, explain, taskOf } from '../e2e/helpers.js';

afterAll(removeProjects);

/**
 * pipe's own dbt_utils macros that read the warehouse (star, get_column_values,
 * union_relations, unpivot), for a project that declares dbt_utils without installing it, run
 * in-process on a real DuckDB file: each model calling one is rendered again when its task
 * runs, and sees what its upstream published earlier in the same run.
 */

const FILES = {
  'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    +materialized: table\n',
  'packages.yml': 'packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n',
  'models/up.sql': `select range as id, 'n' || range as name{% if var('wide', false) %}, true as flag{% endif %} from range({{ var('n', 2) }})`,
  'models/other.sql': `select * from (values (7, 1.5, 'x')) t(id, score, Label)`,
  'models/starred.sql': `select {{ dbt_utils.star(ref('up'), except=['NAME'], relation_alias='u', prefix='p_') }} from {{ ref('up') }} u`,
  'models/plain_star.sql': `select {{ dbt_utils.star(from=ref('other'), quote_identifiers=false) }} from {{ ref('other') }}`,
  'models/named.sql': `{%- set names = dbt_utils.get_column_values(ref('up'), 'name', order_by='name desc', max_records=2, where='id > 0') %}
{%- set none_found = dbt_utils.get_column_values(ref('up'), 'name', where='id < 0', default=['nobody']) %}
select '{{ names | join(",") }}' as names, '{{ none_found | join(",") }}' as fallback`,
  'models/unioned.sql': `{{ dbt_utils.union_relations([ref('up'), ref('other')], exclude=['name'], column_override={'score': 'decimal(4,2)'}) }}`,
  'models/unpivoted.sql': `{{ dbt_utils.unpivot(ref('other'), exclude=['id'], remove=['label'], field_name='metric') }}`,
};

/** A query's rows (BIGINT values come back as text). */
const rows = (dir: string, sql: string) => queryWarehouse(dir, sql);

describe("pipe's own dbt_utils macros that read the warehouse", () => {
  it('give what dbt_utils gives on DuckDB, from the columns and values upstream published in the same run', async () => {
    const dir = tempProject(FILES);
    const first = await runIn(dir, { date: '2024-01-02' });
    expect(first.code, explain(first)).toBe(0);
    expect(await rows(dir, 'select * from main.starred order by 1')).toEqual([{ p_id: '0' }, { p_id: '1' }]);
    expect(await rows(dir, 'select * from main.plain_star')).toEqual([{ id: 7, score: '1.5', Label: 'x' }]);
    expect(await rows(dir, 'select * from main.named')).toEqual([{ names: 'n1', fallback: 'nobody' }]);
    expect(await rows(dir, 'select _dbt_source_relation, id, cast(score as varchar) as score, Label from main.unioned order by id')).toEqual([
      { _dbt_source_relation: '"warehouse"."main"."up"', id: '0', score: null, Label: null },
      { _dbt_source_relation: '"warehouse"."main"."up"', id: '1', score: null, Label: null },
      { _dbt_source_relation: '"warehouse"."main"."other"', id: '7', score: '1.50', Label: 'x' },
    ]);
    expect(await rows(dir, 'select * from main.unpivoted')).toEqual([{ id: 7, metric: 'score', value: '1.5' }]);

    // up gains a column and rows: star and get_column_values see them in the run that builds them.
    const second = await runIn(dir, { date: '2024-01-03', vars: { n: 4, wide: true } });
    expect(second.code, explain(second)).toBe(0);
    expect(await rows(dir, 'select * from main.starred order by 1 limit 1')).toEqual([{ p_id: '0', p_flag: true }]);
    expect(await rows(dir, 'select * from main.named')).toEqual([{ names: 'n3,n2', fallback: 'nobody' }]);
    expect(await rows(dir, 'select count(*) as n, count(flag) as flags from main.unioned')).toEqual([{ n: '5', flags: '4' }]);
  });

  it('a view built from get_column_values has its tests checked as it runs, not refused for its parse render', async () => {
    // The parse render selects no column; the view's tests read its query, so they are judged with the run's render.
    const dir = tempProject({
      ...FILES,
      'models/counted.sql': `{{ config(materialized='view') }}
{%- set names = dbt_utils.get_column_values(ref('up'), 'name', default=[], order_by='name') %}
select {% for n in names %}count(*) filter (where name = '{{ n }}') as count_{{ n }}{% if not loop.last %}, {% endif %}{% endfor %} from {{ ref('up') }}`,
      'models/counted.yml': 'version: 2\nmodels:\n  - name: counted\n    columns:\n      - name: count_n0\n        data_tests:\n          - accepted_values: {values: [1]}\n',
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(await rows(dir, 'select * from main.counted')).toEqual([{ count_n0: '1', count_n1: '1' }]);
  });

  it("adapter's schema and relation statements run as the hook or model renders, as dbt-duckdb's do", async () => {
    const dir = tempProject({
      ...FILES,
      'dbt_project.yml': `name: shop
on-run-start:
  - "{% do adapter.create_schema(api.Relation.create(database=target.database, schema='audit')) %}"
  - "{% do adapter.create_schema(api.Relation.create(database=target.database, schema='tmp_zone')) %}"
on-run-end:
  - "{% do adapter.drop_schema(api.Relation.create(database=target.database, schema='tmp_zone')) %}"
models:
  shop:
    +materialized: table
`,
      'models/moved.sql': `{{ config(pre_hook="create or replace table main.tmp_t as select 1 as x", post_hook=[
  "{% do adapter.rename_relation(api.Relation.create(schema='main', identifier='tmp_t', type='table'), api.Relation.create(schema='main', identifier='renamed_t', type='table')) %}",
  "{% do adapter.truncate_relation(api.Relation.create(schema='main', identifier='renamed_t')) %}"]) }}
select 1 as id`,
      'models/schemas_seen.sql': `{%- set has = adapter.check_schema_exists(target.database, 'audit') -%}
{%- set missing = adapter.check_schema_exists(target.database, 'nowhere') -%}
{%- do adapter.create_schema(this.without_identifier()) -%}
select {{ has }} as has_audit, {{ missing }} as has_nowhere, '{{ this.without_identifier() }}' as own_schema`,
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(await rows(dir, 'select * from main.schemas_seen')).toEqual([{ has_audit: true, has_nowhere: false, own_schema: '"main"' }]);
    expect(await rows(dir, "select schema_name from information_schema.schemata where schema_name in ('audit', 'tmp_zone')")).toEqual([{ schema_name: 'audit' }]);
    expect(await rows(dir, "select table_name from duckdb_tables() where table_name in ('tmp_t', 'renamed_t')")).toEqual([{ table_name: 'renamed_t' }]);
    expect(await rows(dir, 'select count(*) as n from main.renamed_t')).toEqual([{ n: '0' }]);
  });

  it('adapter.drop_relation() of this.incorporate(type=...) in a post-hook drops it as the hook runs, as dbt-duckdb does', async () => {
    const dir = tempProject({ ...FILES, 'models/gone.sql': `{{ config(post_hook="{% do adapter.drop_relation(this.incorporate(type='table')) %}") }}\nselect 1 as id` });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(await rows(dir, "select count(*) as n from duckdb_tables() where table_name = 'gone'")).toEqual([{ n: '0' }]);
    const untyped = tempProject({ ...FILES, 'models/gone.sql': `{{ config(post_hook="{% do adapter.drop_relation(this) %}") }}\nselect 1 as id` });
    const refused = await runIn(untyped, { date: '2024-01-02' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("its type is not known, as in dbt: give it, e.g. adapter.drop_relation(this.incorporate(type='table'))");
  });

  it('are rendered again when the task runs: the plan shows their parse render', async () => {
    const dir = tempProject(FILES);
    const planned = await runDryRun({ project: dir, date: '2024-01-02' });
    const json = formatRunPlan(planned.plan, { ds: '2024-01-02', dateIsDefault: false, threads: 1 }, true)
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.type === 'planned-task');
    expect(Object.fromEntries(json.map((t) => [t.model, t.rendered_at_run ?? false]))).toEqual({
      up: false,
      other: false,
      starred: true,
      plain_star: true,
      named: true,
      unioned: true,
      unpivoted: true,
    });
    const text = formatRunPlan(planned.plan, { ds: '2024-01-02', dateIsDefault: false, threads: 1 }, false);
    expect(text).toContain('select * from "main"."up" u');
  });

  it('fail the task when the run render comes out empty, as any model that renders to no SQL', async () => {
    const dir = tempProject({ ...FILES, 'models/unpivoted.sql': `{{ dbt_utils.unpivot(ref('other'), remove=['id', 'score', 'label']) }}` });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    const [failed] = eventsOfType(r.events, 'task-failed');
    expect([taskOf(failed).model, failed.error?.message]).toEqual([
      'unpivoted',
      'unpivoted renders to no SQL (only whitespace or comments) for 2024-01-02 (a model is one query: select ... (or with ... select ...))',
    ]);
    expect(await rows(dir, 'select count(*) as n from main.other')).toEqual([{ n: '1' }]);
  });

  it("get_column_values gives its default for a relation that does not exist, in a model and in a test, and without one fails as dbt_utils does", async () => {
    const missing = "api.Relation.create(schema='main', identifier='nowhere')";
    const dir = tempProject({
      ...FILES,
      'models/named.sql': `{%- set names = dbt_utils.get_column_values(${missing}, 'name', default=['n0', 'n1']) %}
select '{{ names | join(",") }}' as names`,
      'models/schema.yml': 'version: 2\nmodels:\n  - name: up\n    columns:\n      - name: name\n        data_tests: [known_name]\n',
      'tests/generic/known_name.sql': `{% test known_name(model, column_name) %}
{%- set known = dbt_utils.get_column_values(${missing}, 'name', default=['n0', 'n1']) -%}
select * from {{ model }} where {{ column_name }} not in ('{{ known | join("', '") }}')
{% endtest %}
`,
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(await rows(dir, 'select * from main.named')).toEqual([{ names: 'n0,n1' }]);
    expect(eventsOfType(r.events, 'check-passed').map((e) => e.check)).toEqual(['known_name_up_name']);

    writeFileSync(join(dir, 'models/named.sql'), `select 1 as one,\n  '{{ dbt_utils.get_column_values(${missing}, 'name') | join(",") }}' as names`);
    const bare = await runIn(dir, { date: '2024-01-02' });
    expect(bare.code).toBe(1);
    const [failed] = eventsOfType(bare.events, 'task-failed');
    expect([taskOf(failed).model, failed.error?.message, failed.error?.location]).toEqual([
      'named',
      'In get_column_values(): relation "main"."nowhere" does not exist and no default value was provided.',
      { file: 'models/named.sql', line: 2, column: expect.any(Number) },
    ]);
  });

  it('equality compares every column of the relation tested without compare_columns, counting as dbt_utils does', async () => {
    const dir = tempProject({
      'dbt_project.yml': FILES['dbt_project.yml'],
      'packages.yml': FILES['packages.yml'],
      'models/a.sql': 'select * from (values (1, 1.004::double, \'x\'), (2, 2.0, \'y\'), (2, 2.0, \'y\')) v(id, score, label)',
      'models/b.sql': 'select * from (values (1, 1.0::double, \'x\'), (2, 2.0, \'z\')) v(id, score, label)',
      'models/c.sql': "select id, label from {{ ref('a') }}",
      'models/schema.yml': `version: 2
models:
  - name: a
    data_tests:
      - dbt_utils.equality: {name: all_columns, compare_model: ref('b'), config: {severity: warn}}
      - dbt_utils.equality: {name: some_columns, compare_model: ref('b'), compare_columns: ['id']}
      - dbt_utils.equality: {name: rounded, compare_model: ref('b'), exclude_columns: ['label'], precision: 2}
  - name: c
    data_tests:
      - dbt_utils.equality: {name: fewer_columns, compare_model: ref('a')}
  - name: d
    data_tests:
      - dbt_utils.equality: {name: filtered, compare_model: ref('d'), config: {where: 'id > 0'}}
`,
      'models/d.sql': 'select 1 as id',
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    // (1, 1.004, x) and (2, 2.0, y) against (1, 1.0, x) and (2, 2.0, z): two rows each way.
    expect(eventsOfType(r.events, 'check-failed').map((e) => [(e.failure as { check: string }).check, (e.failure as { failingRows: number }).failingRows])).toEqual([['all_columns', 4]]);
    expect(eventsOfType(r.events, 'check-passed').map((e) => e.check).sort()).toEqual(['rounded', 'some_columns']);
    const failed = eventsOfType(r.events, 'task-failed').sort((x, y) => taskOf(x).model.localeCompare(taskOf(y).model));
    expect(failed.map((e) => [taskOf(e).model, e.error?.location])).toEqual([
      ['c', { file: 'models/schema.yml', line: 10 }],
      ['d', { file: 'models/schema.yml', line: 13 }],
    ]);
    expect(failed[0].error?.message).toMatch(/^test fewer_columns: "main"."a" has less columns than "main"."c", please ensure they have the same columns/);
    // With a where, the relation tested is a query, which dbt_utils' equality refuses.
    expect(failed[1].error?.message).toBe('test filtered: Macro test_equality expected a Relation but received the value: (select * from "main"."d" where id > 0) dbt_subquery');
  });

  it('refuse include and exclude together, at the model', async () => {
    const dir = tempProject({ ...FILES, 'models/unioned.sql': `{{ dbt_utils.union_relations([ref('up')], include=['id'], exclude=['name']) }}` });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('models/unioned.sql:1');
    expect(r.stderr).toContain('union_relations(): give include or exclude, not both');
  });
});
