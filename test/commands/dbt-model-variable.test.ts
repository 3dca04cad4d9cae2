import { afterAll, describe, expect, it } from 'vitest';
import { runIn } from '../support/in-process.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/**
 * dbt's `model` in a model's render is its node: its tags and meta (from dbt_project.yml and
 * config()), and what only the parsed graph knows (its refs, what it depends on, its relation
 * name). The row below is the one dbt-duckdb 1.11 builds from the same files; a parse-time
 * node without those fields dropped the tag column and emptied the rest without a word.
 */
const FILES = {
  'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    +materialized: table\n    +tags: [pii]\n',
  'seeds/raw.csv': 'id\n1\n',
  'models/base.sql': "select id from {{ ref('raw') }}",
  'models/users.sql': `{{ config(meta={'owner': 'ann'}) }}
select
  {% for t in model.tags %}'{{ t }}' as tag_{{ loop.index }},{% endfor %}
  '{{ model.meta.owner }}' as owner,
  {{ model.refs | length }} as n_refs,
  '{{ model.depends_on.nodes | join(",") }}' as deps,
  '{{ model.relation_name }}' as rel,
  id
from {{ ref('base') }}`,
  // Rendered once (nothing read that only the graph knows): config() keys pipe leaves aside are read all the same.
  'models/plain.sql': `{{ config(meta={'owner': 'bob'}, team='core') }}
select '{{ model.meta.owner }}' as owner, '{{ config.get("meta")["owner"] }}' as via_get, '{{ config.get("team") }}' as team`,
};

describe("dbt's model in a model's render", () => {
  it('holds its tags, meta, refs, depends_on and relation_name, as dbt-duckdb renders them', async () => {
    const dir = tempProject(FILES);
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const rows = await queryWarehouse(dir, 'select * from main.users');
    expect(rows).toEqual([{ tag_1: 'pii', owner: 'ann', n_refs: 1, deps: 'model.shop.base', rel: '"warehouse"."main"."users"', id: 1 }]);
    expect(await queryWarehouse(dir, 'select * from main.plain')).toEqual([{ owner: 'bob', via_get: 'bob', team: 'core' }]);
  });
});

describe("config.get() in the parse of a model rendered again at run", () => {
  it("gives the empty string, as dbt's parse does: a branch on a config value (dbt-unit-testing's) is taken only at run, where graph is whole", async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: shop\n',
      'models/base.sql': 'select 1 as id',
      'models/uses_graph.sql': `{{ config(tags=['mocked']) }}
{% if 'mocked' in config.get('tags', []) %}
  {% set found = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model') | selectattr('name', 'equalto', 'base') | list %}
  {% if found | length == 0 %}{{ exceptions.raise_compiler_error('Node base not found.') }}{% endif %}
{% endif %}
select '{{ config.get("tags") | join(",") }}' as tags, * from {{ ref('base') }}`,
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await queryWarehouse(dir, 'select * from main.uses_graph')).toEqual([{ tags: 'mocked', id: 1 }]);
  });
});
