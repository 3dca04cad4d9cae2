import { afterAll, describe, expect, it } from 'vitest';
import { runIn } from '../support/in-process.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/**
 * A project's generate_schema_name and generate_alias_name read the node as dbt gives it: its
 * tags (from dbt_project.yml and from config()), its config (materialized, meta, `.get()`) and
 * its path under the model folder. Each relation below is where dbt-duckdb 1.11 builds it from
 * the same files; a node without those fields put the models elsewhere without a word.
 */
const FILES = {
  'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    +materialized: table\n    silver:\n      +tags: [finance]\n',
  'macros/names.sql': `{% macro generate_schema_name(custom_schema_name, node) -%}
  {%- set ns = namespace(schema=target.schema) -%}
  {%- for tag in node.tags -%}
    {%- if tag == 'finance' -%}{%- set ns.schema = 'finance' -%}{%- endif -%}
  {%- endfor -%}
  {%- if node.config.materialized == 'view' -%}{%- set ns.schema = ns.schema ~ '_views' -%}{%- endif -%}
  {%- if node.config.get('meta', {}).get('team') -%}{%- set ns.schema = ns.schema ~ '_' ~ node.config.meta.team -%}{%- endif -%}
  {{ ns.schema }}
{%- endmacro %}
{% macro generate_alias_name(custom_alias_name, node) -%}
  {{ node.path.split('/')[0] }}__{{ node.name }}
{%- endmacro %}
`,
  'models/silver/stg_a.sql': 'select 1 as id',
  'models/silver/v_a.sql': "{{ config(materialized='view') }}\nselect * from {{ ref('stg_a') }}",
  'models/gold/g.sql': "{{ config(tags=['finance'], meta={'team': 'ops'}) }}\nselect * from {{ ref('stg_a') }}",
  'models/gold/h.sql': "select * from {{ ref('g') }}",
};

describe("the node dbt's naming macros are given", () => {
  it('holds its tags, config and path, and names each relation as dbt does', async () => {
    const dir = tempProject(FILES);
    for (const date of ['2024-01-02', '2024-01-03']) {
      const r = await runIn(dir, { date });
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    const built = await queryWarehouse(dir, "select table_schema || '.' || table_name as relation from information_schema.tables where table_schema <> '_pipe' order by 1");
    expect(built.map((r) => r.relation)).toEqual(['finance.silver__stg_a', 'finance_ops.gold__g', 'finance_views.silver__v_a', 'main.gold__h']);
  });
});
