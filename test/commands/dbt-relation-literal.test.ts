import { afterAll, describe, expect, it } from 'vitest';
import { runIn } from '../support/in-process.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/**
 * A relation printed inside a string literal is data: dbt-duckdb prints it with the database
 * before the schema (`"warehouse"."main"."orders"`), and so does pipe in a dbt project, while
 * the same relation in the query's code reads as pipe names it.
 */
const FILES = {
  'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    +materialized: table\n',
  'seeds/raw_orders.csv': 'id\n1\n2\n',
  'models/orders.sql': "{{ config(materialized='view') }}\nselect id from {{ ref('raw_orders') }}",
  'models/audit.sql': `select count(*) as n,
  '{{ this }}' as written_to,
  {{ dbt.string_literal(ref('orders')) }} as read_from,
  'from {{ ref("raw_orders") }} and {{ ref("raw_orders") }}' as note
from {{ ref('orders') }}`,
  'models/appended.sql': `{{ config(materialized='incremental', unique_key='id') }}
select id, '{{ this }}' as written_to from {{ ref('orders') }}`,
  'models/made.sql': `-- depends_on: {{ ref('raw_orders') }}
{% set found = adapter.get_relation(database=target.database, schema='main', identifier='raw_orders') %}
{% set made = api.Relation.create(database=target.database, schema='main', identifier='audit') %}
select count(*) as n,
  '{{ found }}' as found,
  '{{ made }}' as made,
  '{{ api.Relation.create(schema="main", identifier="audit") }}' as without_database,
  '{{ made.include(database=False) }}' as included,
  '{{ (found | string).split(".")[-1] }}' as last_part
from {{ found }}`,
};

describe('a relation printed in a string literal of a dbt model', () => {
  it('names the database, as dbt-duckdb prints it, in a table and an incremental model run twice', async () => {
    const dir = tempProject(FILES);
    for (const date of ['2024-01-02', '2024-01-03']) {
      const r = await runIn(dir, { date });
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    expect(await queryWarehouse(dir, 'select n, written_to, read_from, note from main.audit')).toEqual([
      {
        n: '2',
        written_to: '"warehouse"."main"."audit"',
        read_from: '"warehouse"."main"."orders"',
        note: 'from "warehouse"."main"."raw_orders" and "warehouse"."main"."raw_orders"',
      },
    ]);
    expect(await queryWarehouse(dir, 'select distinct written_to from main.appended')).toEqual([{ written_to: '"warehouse"."main"."appended"' }]);
    // A relation the warehouse gives or a template makes with the database prints it in a
    // literal too; one made without a database prints without, as in dbt; in the code, as pipe names it;
    // made into text, it is the text pipe names it by, for string methods.
    expect(await queryWarehouse(dir, 'select * from main.made')).toEqual([
      { n: '2', found: '"warehouse"."main"."raw_orders"', made: '"warehouse"."main"."audit"', without_database: '"main"."audit"', included: '"main"."audit"', last_part: '"raw_orders"' },
    ]);
  });
});

describe("adapter.get_relation()'s relations", () => {
  it("compare and key dicts as dbt's: two of one table are equal, one key, and unique; render() prints as the relation does", async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: shop\n',
      'seeds/raw_orders.csv': 'id\n1\n2\n',
      // Parsed, the relation is not there yet (None), as in dbt: the model asks once it executes.
      'models/found.sql': `-- depends_on: {{ ref('raw_orders') }}
{% if execute %}
{% set get = adapter.get_relation %}
{% set a = get(database=target.database, schema='main', identifier='raw_orders') %}
{% set b = get(database=target.database, schema='main', identifier='raw_orders') %}
{% set rels = [] %}
{% for r in [a, b] %}{% if r not in rels %}{% do rels.append(r) %}{% endif %}{% endfor %}
{% set cols = {} %}
{% do cols.update({a: ['id']}) %}
{% do cols[b].append('n') %}
select count(*) as n, {{ a == b }} as equal, {{ rels | length }} as kept, {{ [a, b] | unique | list | length }} as uniq,
  {{ cols | length }} as keys, '{{ cols[a] | join(",") }}' as columns, {{ (cols.keys() | list)[0] == a }} as key_back,
  {{ a is mapping and a.get('metadata', {}).get('type', '').endswith('Relation') }} as is_relation,
  {{ dbt.string_literal(a.render()) }} as rendered
from {% for r in rels %}{{ r }}{% endfor %}
{% else %}select 1 as n{% endif %}`,
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await queryWarehouse(dir, 'select * from main.found')).toEqual([
      { n: '2', equal: true, kept: 1, uniq: 1, keys: 1, columns: 'id,n', key_back: true, is_relation: true, rendered: '"warehouse"."main"."raw_orders"' },
    ]);
  });
});

describe("a ref's database and schema as a model executes", () => {
  it('are known, so adapter.get_relation() finds the model by them, as snowplow looks up its manifest', async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    staged:\n      +schema: stage\n',
      'models/staged/manifest.sql': 'select 1 as id',
      'models/limits.sql': `{% set m = ref('manifest') %}
{% if execute %}
{% set rel = adapter.get_relation(database=m.database, schema=m.schema, identifier=m.name) %}
select {{ rel is not none }} as found, '{{ m.database }}.{{ m.schema }}' as place
{% else %}select false as found, '' as place{% endif %}`,
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // dbt-duckdb's custom schema: the target's schema, an underscore, the folder's.
    expect(await queryWarehouse(dir, 'select * from main.limits')).toEqual([{ found: true, place: 'warehouse.main_stage' }]);
  });
});
