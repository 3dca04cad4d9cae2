import { afterAll, describe, expect, it } from 'vitest';
import { analyze, type Analysis, type ModelNode } from '../../src/analyze/analyze.js';
import { dayInterval, parseDate } from '../../src/dates/dates.js';
import { NO_TABLE } from '../../src/plan/materializations.js';
import { loadProject } from '../../src/project/load-project.js';
import { removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/**
 * dbt's `config.get()` and `config.require()` in models, macros and hooks: what the node's
 * config holds when it is compiled (dbt_project.yml, properties and config() together), and a
 * refusal where what a template reads would change what it sets.
 */

const day = dayInterval(parseDate('2024-01-02')!);
const run = (files: Record<string, string>): Analysis => analyze(loadProject(tempProject(files)), { interval: day });
const errors = (a: Analysis) => a.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.message, d.location?.file, d.location?.line]);
const sqlOf = (a: Analysis, name: string): string => {
  const r = a.renderer.sql(name, day, NO_TABLE);
  if ('severity' in r) throw new Error(r.message);
  return r.sql;
};

const DBT_PROJECT = `name: shop
models:
  shop:
    marts:
      +materialized: table
      +tags: ['nightly']
      +schema: sales
`;

describe('config.get() and config.require()', () => {
  it('read what dbt_project.yml, the properties file and config() give a model together, as dbt compiles it', () => {
    const a = run({
      'dbt_project.yml': DBT_PROJECT,
      'macros/describe.sql': `{% macro describe() -%}
'{{ config.get("materialized") }}' as mat, '{{ config.get("tags") | join(",") }}' as tags, '{{ config.get("unique_key") }}' as uk, '{{ config.get("schema") }}' as custom_schema
{%- endmacro %}`,
      'models/marts/orders.sql': `{{ config(tags=['finance']) }}
select {{ describe() }}, '{{ config.get("persist_docs", "none set") }}' as fallback, {{ config.get("secure") is none }} as unset, '{{ config.require(name="materialized") }}' as required, '{{ config.get(name="missing", default="d") }}' as named`,
      'models/marts/orders.yml': `version: 2
models:
  - name: orders
    config:
      unique_key: id
`,
      'models/staging/stg.sql': `select '{{ config.get("materialized") }}' as mat, {{ config.get("enabled") }} as enabled`,
    });
    expect(errors(a)).toEqual([]);
    // persist_docs unset is dbt's default, {}, not the default given to get(): as dbt-core 1.11 compiles it.
    expect(sqlOf(a, 'orders')).toBe(
      "\nselect 'table' as mat, 'nightly,finance' as tags, 'id' as uk, 'sales' as custom_schema, '{}' as fallback, True as unset, 'table' as required, 'd' as named",
    );
    // dbt builds a model that names no materialization as a view, and reads it so.
    expect(sqlOf(a, 'stg')).toBe("select 'view' as mat, True as enabled");
  });

  it("reads pipe's own default materialization in a pipe project", () => {
    const a = run({ 'models/a.sql': `select '{{ config.get("materialized") }}' as mat` });
    expect(errors(a)).toEqual([]);
    expect(sqlOf(a, 'a')).toBe("select 'table' as mat");
  });

  it('reads the value a config() call further down the template sets, as dbt knows the whole config when it compiles', () => {
    const a = run({
      'models/a.sql': `select '{{ config.get("materialized") }}' as mat, '{{ "incremental" if is_incremental() else "full" }}' as mode
{{ config(materialized='incremental', unique_key='id') }}`,
    });
    expect(errors(a)).toEqual([]);
    expect(sqlOf(a, 'a')).toBe("select 'incremental' as mat, 'full' as mode");
    expect((a.nodes.get('a') as ModelNode).config.materialized).toBe('incremental');
  });

  it('refuses a template whose config() depends on what config.get() reads of the same key, at the config() call', () => {
    const a = run({
      'models/a.sql': `select 1 as x
{% if config.get("materialized") == 'table' %}{{ config(materialized='view') }}{% endif %}`,
    });
    expect(errors(a)).toEqual([
      ["config.get('materialized') is read before config() sets 'materialized', and what it reads changes what config() sets ('view' read, 'table' set): set 'materialized' without reading it first", 'models/a.sql', 2],
    ]);
  });

  it('refuses config.require() of a key nothing sets, and a call without a key, where the template calls them', () => {
    const a = run({
      'models/a.sql': `select 1 as x,\n  '{{ config.require("unique_key") }}' as k`,
      'models/b.sql': `select '{{ config.get() }}' as k`,
    });
    expect(errors(a)).toEqual([
      ["config.require('unique_key'): the model's config sets no 'unique_key' (in config(), its properties or dbt_project.yml)", 'models/a.sql', 2],
      ["config.get() takes a config key, e.g. config.get('materialized')", 'models/b.sql', 1],
    ]);
  });

  it("gives a hook the model's config", () => {
    const a = run({
      'dbt_project.yml': DBT_PROJECT,
      'models/marts/orders.sql': `{{ config(post_hook="select '{{ config.get('materialized') }}:{{ config.get('unique_key') }}'", unique_key='id') }}
select 1 as id`,
    });
    expect(errors(a)).toEqual([]);
    const orders = a.nodes.get('orders') as ModelNode;
    const hook = a.renderer.hook('orders', orders.config.post_hook[0], day, NO_TABLE, { schema: 'main_sales', identifier: 'orders', database: 'warehouse' });
    expect(hook).toEqual({ sql: "select 'table:id'", refs: [] });
  });
});
