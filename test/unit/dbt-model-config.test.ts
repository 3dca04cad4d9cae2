import { afterAll, describe, expect, it } from 'vitest';
import { analyze, type Analysis, type ModelNode } from '../../src/analyze/analyze.js';
import { dayInterval, parseDate } from '../../src/dates/dates.js';
import { loadProject } from '../../src/project/load-project.js';
import { removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/**
 * The rest of dbt's model config, as analysis reads it: hooks in each of dbt's forms and
 * places (in dbt's order, each at its line), on-run-start and on-run-end, persist_docs,
 * contracts with their constraints, sql_header and dbt-duckdb's external materialization;
 * and what pipe refuses of them, at its line.
 */

const day = dayInterval(parseDate('2024-01-02')!);
const run = (files: Record<string, string>): Analysis => analyze(loadProject(tempProject(files)), { interval: day });
const model = (a: Analysis, name: string) => a.nodes.get(name) as ModelNode;
const errors = (a: Analysis) => a.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.message, d.location?.file, d.location?.line]);
const hooks = (list: ModelNode['config']['pre_hook']) => list.map((h) => [h.sql, h.transaction, h.location.file, h.location.line]);

describe('dbt model config', () => {
  it("reports tags that are not text where they are set, not at a level below that adds its own (dbt's tags add up)", () => {
    const a = run({
      'dbt_project.yml': 'name: p\nmodels:\n  p:\n    a:\n      +tags: 5\n      m1:\n        +tags: [leaf]\n',
      'models/a/m1.sql': "{{ config(tags=['own']) }}\nselect 1 as id",
      'models/m2.sql': "{{ config(tags=[1]) }}\nselect 1 as id",
    });
    expect(errors(a)).toEqual([
      ['tags must be a list of strings (model m1)', 'dbt_project.yml', 5],
      ['tags must be a list of strings', 'models/m2.sql', 1],
    ]);
  });

  it('reads hooks from dbt_project.yml, a properties file and config(), in that order, each where it is written', () => {
    const a = run({
      'dbt_project.yml': `name: shop
on-run-start: "create schema if not exists audit"
on-run-end:
  - "select 1"
  - "select {{ results | length }}"
models:
  +post-hook: "select 'project'"
  shop:
    marts:
      +pre-hook:
        - "select 'folder'"
        - sql: "select 'outside'"
          transaction: false
`,
      'models/marts/orders.sql': `{{ config(pre_hook="select 'own'", post_hook=["select 'a'", {"sql": "select 'b'", "transaction": false}]) }}
select 1 as id`,
      'models/marts/orders.yml': `version: 2
models:
  - name: orders
    config:
      post_hook: "select 'properties'"
`,
    });
    expect(errors(a)).toEqual([]);
    const { config } = model(a, 'orders');
    expect(hooks(config.pre_hook)).toEqual([
      ["select 'folder'", true, 'dbt_project.yml', 11],
      ["select 'outside'", false, 'dbt_project.yml', 12],
      ["select 'own'", true, 'models/marts/orders.sql', 1],
    ]);
    expect(hooks(config.post_hook)).toEqual([
      ["select 'project'", true, 'dbt_project.yml', 7],
      ["select 'properties'", true, 'models/marts/orders.yml', 5],
      ["select 'a'", true, 'models/marts/orders.sql', 1],
      ["select 'b'", false, 'models/marts/orders.sql', 1],
    ]);
    expect(a.runHooks.start).toEqual([{ sql: 'create schema if not exists audit', location: { file: 'dbt_project.yml', line: 2 } }]);
    expect(a.runHooks.end.map((h) => [h.sql, h.location.line])).toEqual([
      ['select 1', 4],
      ['select {{ results | length }}', 5],
    ]);
  });

  it("renders a hook with this, and builds what its ref() reads first, as dbt adds a hook's refs to the model's", () => {
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'models/log.sql': 'select 1 as n',
      'models/orders.sql': `{{ config(post_hook="insert into {{ ref('log') }} select count(*) from {{ this }} -- {{ this.schema }}.{{ this.identifier }}", schema='sales') }}
select 1 as id`,
    });
    expect(errors(a)).toEqual([]);
    const orders = model(a, 'orders');
    expect(orders.upstream).toEqual(['log']);
    const sql = a.renderer.hook('orders', orders.config.post_hook[0], day, { tableExists: false, fullRefresh: false }, { schema: 'main_sales', identifier: 'orders', database: 'warehouse' });
    expect(sql).toEqual({ sql: 'insert into "main"."log" select count(*) from "main_sales"."orders" -- main_sales.orders', refs: ['log'] });
  });

  it('reads persist_docs, contracts with their constraints, sql_header and external models', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    +materialized: table\n    +persist_docs: {relation: true, columns: true}\n',
      'models/orders.sql': "{{ config(sql_header='set threads = 1') }}\nselect 1 as id",
      'models/orders.yml': `version: 2
models:
  - name: orders
    description: the orders
    config:
      contract: {enforced: true}
    constraints:
      - type: primary_key
        columns: [id]
    columns:
      - name: id
        data_type: int
        description: the id
        constraints:
          - type: not_null
          - type: check
            expression: id > 0
`,
      'models/lake.sql': "{{ config(materialized='external', location='out/lake.csv', delimiter='|') }}\nselect 1 as id",
    });
    expect(errors(a)).toEqual([]);
    const orders = model(a, 'orders');
    expect(orders.config).toMatchObject({ persist_docs: { relation: true, columns: true }, contract: true, sql_header: { sql: 'set threads = 1' } });
    expect(orders.contract?.columns.map((c) => [c.name, c.dataType, c.location.line])).toEqual([['id', 'int', 12]]);
    expect([...orders.contract!.constraints]).toEqual([['id', ['NOT NULL', 'CHECK (id > 0)']]]);
    expect(orders.contract?.tableConstraints).toEqual(['PRIMARY KEY (id)']);
    expect(model(a, 'lake').config).toMatchObject({ materialized: 'external', location: 'out/lake.csv', format: 'csv', delimiter: '|' });
  });

  it('refuses what pipe cannot build as dbt builds it, each at its line', () => {
    const a = run({
      'dbt_project.yml': `name: shop
models:
  shop:
    +pre-hook: [{sql: "select 1", when: always}]
    +persist_docs: yes
`,
      'models/a.sql': "{{ config(materialized='external', partition_by='day', options={'codec': 'zstd'}) }}\nselect 1 as day",
      'models/b.sql': "{{ config(materialized='view') }}\nselect 1 as id",
      'models/b.yml': `version: 2
models:
  - name: b
    config:
      contract: {enforced: true}
    columns:
      - name: id
        constraints: [{type: not_null}]
      - name: other_id
        data_type: int
        constraints:
          - type: foreign_key
            to: ref('a')
`,
      'models/c.sql': "{{ config(materialized='ephemeral', contract={'enforced': true}) }}\nselect 1 as id",
    });
    const found = errors(a);
    expect(found).toContainEqual(['a pre_hook takes sql and transaction, not when (3 models: a, b and c)', 'dbt_project.yml', 4]);
    expect(found).toContainEqual(['persist_docs must be {relation: true|false, columns: true|false} (3 models: a, b and c)', 'dbt_project.yml', 5]);
    expect(found).toContainEqual([expect.stringMatching(/^partition_by is not supported on an external model/), 'models/a.sql', 1]);
    expect(found).toContainEqual([expect.stringMatching(/^config 'options' is not supported by pipe/), 'models/a.sql', 1]);
    expect(found).toContainEqual(['column id of b has no data_type: a model with an enforced contract declares the type of every column', 'models/b.yml', 7]);
    expect(found).toContainEqual(['foreign_key constraints are not supported by pipe', 'models/b.yml', 12]);
    expect(found).toContainEqual(['constraints of a view model are not supported by pipe', 'models/b.yml', 8]);
    expect(found).toContainEqual([expect.stringMatching(/^an ephemeral model cannot have an enforced contract/), 'models/c.sql', 1]);
  });

  it("leaves another adapter's partition_by aside on a model that does not read it, and says what to write on an incremental one", () => {
    const BIGQUERY = `partition_by={"field": "order_date", "data_type": "date"}`;
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'models/sales.sql': `{{ config(materialized='table', ${BIGQUERY}) }}\nselect current_date as order_date`,
      'models/daily.sql': `{{ config(materialized='incremental', ${BIGQUERY}) }}\nselect current_date as order_date`,
      // Another adapter's variant of a package's model, switched off here: how it would be built is no matter.
      'models/daily_bigquery.sql': `{{ config(materialized='incremental', ${BIGQUERY}, enabled=false) }}\nselect current_date as order_date`,
    });
    expect(a.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.message, d.location?.file, d.hint])).toEqual([
      ['partition_by must be a column name', 'models/daily.sql', "that is BigQuery's form; pipe replaces the dates of a date column: partition_by='order_date'"],
    ]);
    expect(model(a, 'sales').config.materialized).toBe('table');
    // Left aside, said: pipe does not use it there.
    expect(a.diagnostics.filter((d) => d.code === 'not-used').map((d) => d.message)).toEqual([expect.stringContaining('config partition_by (models/sales.sql:1)')]);
  });

  it("leaves partition_by aside on an incremental model with a unique_key, whatever its form, as dbt-duckdb reads none there", () => {
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'models/cohorts.sql': `{{ config(materialized='incremental', unique_key='id', incremental_strategy='delete+insert', partition_by={"field": "date_month", "data_type": "date"}) }}\nselect 1 as id`,
      // Fivetran's form for Spark: a list of the column.
      'models/spark.sql': "{{ config(materialized='incremental', unique_key='id', partition_by=['d']) }}\nselect 1 as id, current_date as d",
    });
    expect(a.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(model(a, 'cohorts').config.partition_by).toBeUndefined();
    expect(model(a, 'spark').config.partition_by).toBeUndefined();
    expect(model(a, 'spark').config.kind).toBe('delete+insert');
    expect(a.diagnostics.filter((d) => d.code === 'not-used').map((d) => d.message)).toEqual([expect.stringContaining('config partition_by (models/cohorts.sql:1, models/spark.sql:1)')]);
  });

  it("leaves incremental_strategy aside on a model that is not incremental, as dbt's table and view do", () => {
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'models/t.sql': "{{ config(materialized='table', incremental_strategy='insert_overwrite') }}\nselect 1 as id",
      'models/v.sql': "{{ config(materialized='view', incremental_strategy='anything') }}\nselect 1 as id",
      'models/i.sql': "{{ config(materialized='incremental', incremental_strategy='insert_overwrite') }}\nselect 1 as id",
    });
    expect(a.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.location?.file, d.message])).toEqual([
      ['models/i.sql', expect.stringContaining("incremental_strategy 'insert_overwrite' is not one of dbt-duckdb's")],
    ]);
    expect(model(a, 't').config.materialized).toBe('table');
  });

  it('takes partition_by=none for no partition_by, as dbt does (a package sets it so for another adapter)', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'models/daily.sql': "{{ config(materialized='incremental', unique_key='id', incremental_strategy='delete+insert', partition_by=none) }}\nselect 1 as id",
    });
    expect(a.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(model(a, 'daily').config.partition_by).toBeUndefined();
  });
});
