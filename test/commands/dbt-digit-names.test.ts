import { afterAll, describe, expect, it } from 'vitest';
import { runIn, testIn } from '../support/in-process.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/**
 * dbt projects often number their models (`01_stg_orders.sql`); dbt-duckdb quotes every
 * relation it writes and builds them. So does pipe in a dbt project: a model, a seed, an
 * ephemeral model and an incremental model whose names start with a digit, a snapshot of one,
 * their tests, `--select` and a second run. (A snapshot block's own name is a Jinja name, as
 * in dbt.) A name of digits alone is still refused, at its file.
 */
const FILES = {
  'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    +materialized: table\n',
  'seeds/01_raw_orders.csv': 'id,amount\n1,10\n2,20\n',
  'models/02_stg_orders.sql': "select id, amount from {{ ref('01_raw_orders') }}",
  'models/03_doubled.sql': "{{ config(materialized='ephemeral') }}\nselect id, amount * 2 as amount from {{ ref('02_stg_orders') }}",
  'models/04_orders.sql': "{{ config(materialized='incremental', unique_key='id') }}\nselect id, amount from {{ ref('03_doubled') }}",
  'models/schema.yml': `version: 2
models:
  - name: 04_orders
    columns:
      - name: id
        data_tests: [unique, not_null]
`,
  'snapshots/orders_history.sql': `{% snapshot orders_history %}
{{ config(target_schema='main', unique_key='id', strategy='check', check_cols=['amount']) }}
select * from {{ ref('04_orders') }}
{% endsnapshot %}`,
};

describe('names starting with a digit in a dbt project', () => {
  it('are built, tested and selected, twice over', async () => {
    const dir = tempProject(FILES);
    for (const date of ['2024-01-02', '2024-01-03']) {
      const r = await runIn(dir, { date });
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    expect(await queryWarehouse(dir, 'select id, amount from main."04_orders" order by id')).toEqual([
      { id: 1, amount: 20 },
      { id: 2, amount: 40 },
    ]);
    expect(await queryWarehouse(dir, 'select count(*) as n from main.orders_history')).toEqual([{ n: '2' }]);
    const selected = await runIn(dir, { date: '2024-01-04', select: ['02_stg_orders+'] });
    expect(selected.code, selected.stdout + selected.stderr).toBe(0);
    expect(selected.stdout + selected.stderr).toContain('04_orders');
    const tested = await testIn(dir, { date: '2024-01-04' });
    expect(tested.code, tested.stdout + tested.stderr).toBe(0);
    expect(tested.stdout).toMatch(/unique_04_orders_id/);
  });

  it('are refused when digits alone, which YAML reads as a number, naming the file and the rule', async () => {
    const dir = tempProject({ ...FILES, 'models/2024.sql': 'select 1 as id' });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("models/2024.sql: error: '2024' cannot be a model name: it is digits alone, which YAML reads as a number");
    expect(r.stderr).toContain('starting with a letter, a digit or _, not digits alone');
  });

  it('aliases of digits alone are built, quoted, as dbt-duckdb does (a folder\'s +alias, a config() call, a seed\'s): only a model\'s name is refused so', async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    +materialized: table\n    y:\n      +alias: "123"\nseeds:\n  shop:\n    +alias: "7"\n',
      'seeds/s.csv': 'id\n2\n',
      'models/y/a.sql': 'select 1 as id',
      'models/b.sql': "{{ config(alias='456') }}\nselect * from {{ ref('a') }} union all select * from {{ ref('s') }}",
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await queryWarehouse(dir, 'select * from main."123"')).toEqual([{ id: 1 }]);
    expect(await queryWarehouse(dir, 'select * from main."456" order by id')).toEqual([{ id: 1 }, { id: 2 }]);
    expect(await queryWarehouse(dir, 'select * from main."7"')).toEqual([{ id: 2 }]);
  });

  it('schemas too: a custom schema "2023", as a project\'s generate_schema_name gives it, is built in, quoted, as dbt-duckdb does', async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    y2023:\n      +schema: "2023"\nseeds:\n  shop:\n    +schema: "2023"\n',
      'seeds/s.csv': 'id\n2\n',
      'macros/schema.sql': '{% macro generate_schema_name(custom_schema_name, node) -%}{%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}{%- endmacro %}',
      'models/y2023/a.sql': 'select 1 as id',
      'models/b.sql': "select * from {{ ref('a') }}",
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await queryWarehouse(dir, 'select * from "2023".a')).toEqual([{ id: 1 }]);
    expect(await queryWarehouse(dir, 'select * from main.b')).toEqual([{ id: 1 }]);
    expect(await queryWarehouse(dir, 'select * from "2023".s')).toEqual([{ id: 2 }]);
  });
});
