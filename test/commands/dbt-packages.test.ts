import { rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventsOfType } from '../e2e/helpers.js';
import { compileIn, nodesIn, runIn } from '../support/in-process.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/**
 * The models, seeds, sources and tests of an installed dbt package are built with the project's,
 * as dbt builds them: configured by the package's dbt_project.yml and then by the project's
 * `models: <package>:` block over everything, including the package model's config().
 */

const PKG = 'vendor/shared_staging';
const FILES = {
  'dbt_project.yml': `name: shop
models:
  shop:
    +materialized: table
  shared_staging:
    +schema: staging
    staging:
      stg_legacy:
        +enabled: false
      stg_payments:
        +materialized: table
`,
  'packages.yml': `packages:\n  - local: ${PKG}\n`,
  'models/customer_orders.sql': `select c.customer_id, count(o.order_id) as orders, sum(o.amount) as amount
from {{ ref('stg_customers') }} c left join {{ ref('shared_staging', 'stg_orders') }} o using (customer_id)
group by all`,
  [`${PKG}/dbt_project.yml`]: `name: shared_staging
vars:
  shared_staging:
    currency: EUR
models:
  shared_staging:
    +materialized: view
    marts:
      +materialized: table
`,
  [`${PKG}/seeds/raw_orders.csv`]: 'order_id,customer_id,amount_cents,ordered_on\n1,1,1050,2024-01-01\n2,1,200,2024-01-02\n3,2,990,2024-01-02\n',
  [`${PKG}/seeds/raw_customers.csv`]: 'customer_id,name\n1,Ann\n2,Bob\n3,Cy\n',
  [`${PKG}/macros/cents.sql`]: `{% macro cents_to_dollars(column) %}{{ return(adapter.dispatch('cents_to_dollars', 'shared_staging')(column)) }}{% endmacro %}
{% macro default__cents_to_dollars(column) %}({{ column }} / 100)::decimal(12, 2){% endmacro %}`,
  [`${PKG}/tests/generic/is_positive.sql`]: '{% test is_positive(model, column_name) %}select * from {{ model }} where {{ column_name }} <= 0{% endtest %}',
  [`${PKG}/models/staging/sources.yml`]: 'version: 2\nsources:\n  - name: shop_raw\n    schema: main\n    tables:\n      - name: raw_orders\n',
  [`${PKG}/models/staging/stg_orders.sql`]: "select order_id, customer_id, ordered_on, {{ cents_to_dollars('amount_cents') }} as amount from {{ source('shop_raw', 'raw_orders') }}",
  [`${PKG}/models/staging/stg_customers.sql`]: "select *, '{{ var('currency') }}' as currency from {{ ref('raw_customers') }}",
  [`${PKG}/models/staging/stg_payments.sql`]: "{{ config(materialized='view') }}\nselect order_id, amount from {{ ref('stg_orders') }}",
  [`${PKG}/models/staging/stg_legacy.sql`]: "select * from {{ source('shop_raw', 'gone') }}",
  [`${PKG}/models/marts/order_days.sql`]: `{{ config(materialized='incremental', unique_key='ordered_on') }}
select ordered_on, count(*) as orders from {{ ref('stg_orders') }}
{% if is_incremental() %}where ordered_on >= (select max(ordered_on) from {{ this }}){% endif %}
group by all`,
  [`${PKG}/models/schema.yml`]: `version: 2
models:
  - name: stg_orders
    columns:
      - name: order_id
        data_tests: [unique]
      - name: amount
        data_tests: [is_positive]
`,
};

describe('models of installed dbt packages', () => {
  it("are built where dbt builds them, with the project's config over the package's", async () => {
    const dir = tempProject(FILES);
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const relations = await queryWarehouse(dir, "select table_schema || '.' || table_name as relation, table_type as kind from information_schema.tables where table_schema <> '_pipe' order by all");
    expect(relations).toEqual([
      { relation: 'main.customer_orders', kind: 'BASE TABLE' },
      { relation: 'main.raw_customers', kind: 'BASE TABLE' },
      { relation: 'main.raw_orders', kind: 'BASE TABLE' },
      { relation: 'main_staging.order_days', kind: 'BASE TABLE' },
      { relation: 'main_staging.stg_customers', kind: 'VIEW' },
      { relation: 'main_staging.stg_orders', kind: 'VIEW' },
      // The project's +materialized: table wins over the model's own config(materialized='view').
      { relation: 'main_staging.stg_payments', kind: 'BASE TABLE' },
    ]);
    expect(await queryWarehouse(dir, 'select customer_id, orders, amount::varchar as amount from main.customer_orders order by all')).toEqual([
      { customer_id: 1, orders: '2', amount: '12.50' },
      { customer_id: 2, orders: '1', amount: '9.90' },
      { customer_id: 3, orders: '0', amount: null },
    ]);
    // The package's vars are read, under the project's.
    expect(await queryWarehouse(dir, 'select distinct currency from main_staging.stg_customers')).toEqual([{ currency: 'EUR' }]);
    // stg_legacy is disabled from the project: not built; order_days is the package's incremental model.
    const kinds = Object.fromEntries(eventsOfType(r.events, 'task-succeeded').map((e) => [(e.task as { model: string }).model, (e.task as { kind: string }).kind]));
    expect(kinds).toEqual({
      customer_orders: 'table',
      order_days: 'delete+insert',
      raw_customers: 'seed',
      raw_orders: 'seed',
      stg_customers: 'view',
      stg_orders: 'view',
      stg_payments: 'table',
    });
    // The package's tests, its own generic test among them, run on its models.
    expect(eventsOfType(r.events, 'check-passed').map((e) => e.check as string).sort()).toEqual(['is_positive_stg_orders_amount', 'unique_stg_orders_order_id']);
  });

  it("take the project's tests: config for the package's tests, as dbt does", async () => {
    // The project switches the package's tests off by the package's name.
    const off = tempProject({ ...FILES, 'dbt_project.yml': `${FILES['dbt_project.yml']}data_tests:\n  shared_staging:\n    +enabled: false\n` });
    const r = await runIn(off, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(eventsOfType(r.events, 'check-passed')).toEqual([]);
  });

  it('are selected by package and by qualified name', async () => {
    const dir = tempProject(FILES);
    const names = async (select: string) => (await nodesIn(dir, { select: [select] })).nodes.map((n) => n.name).sort();
    expect(await names('package:shared_staging')).toEqual(['order_days', 'raw_customers', 'raw_orders', 'shop_raw.raw_orders', 'stg_customers', 'stg_orders', 'stg_payments']);
    expect(await names('shared_staging.marts.*')).toEqual(['order_days']);
  });

  it("use the package's generate_schema_name over the project's, as dbt does", async () => {
    const dir = tempProject({
      ...FILES,
      'macros/schemas.sql': '{% macro generate_schema_name(custom, node) %}{{ custom or target.schema }}{% endmacro %}',
      [`${PKG}/macros/schemas.sql`]: "{% macro generate_schema_name(custom, node) %}pkg_{{ custom or 'none' }}{% endmacro %}",
    });
    const r = await compileIn(dir, { date: '2024-01-02', model: 'customer_orders' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('from "pkg_staging"."stg_customers" c left join "pkg_staging"."stg_orders" o');
    const seed = await compileIn(dir, { date: '2024-01-02', model: 'stg_customers' });
    expect(seed.stdout).toContain('from "pkg_none"."raw_customers"');
  });

  it("call the package's macros by bare name before the project's of that name, as dbt's do", async () => {
    const dir = tempProject({ ...FILES, 'macros/cents.sql': '{% macro cents_to_dollars(column) %}{{ column }}{% endmacro %}' });
    const pkg = await compileIn(dir, { date: '2024-01-02', model: 'stg_orders' });
    expect(pkg.code, pkg.stdout + pkg.stderr).toBe(0);
    expect(pkg.stdout).toContain('(amount_cents / 100)::decimal(12, 2) as amount');
  });

  it('refuse a name the project has too, naming both files, unless the package one is disabled', async () => {
    const dir = tempProject({ ...FILES, 'models/stg_orders.sql': 'select 1 as order_id' });
    const r = await nodesIn(dir);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toContain(`'stg_orders' is defined twice: models/stg_orders.sql and ${PKG}/models/staging/stg_orders.sql`);

    /** The project's own stg_orders, the package's switched off by `enabled` in dbt_project.yml. */
    const ownOrders = (enabled: string) =>
      tempProject({
        ...FILES,
        'dbt_project.yml': FILES['dbt_project.yml'].replace('      stg_payments:', `      stg_orders:\n        +enabled: ${enabled}\n      stg_payments:`),
        'models/stg_orders.sql': "select 1 as order_id, 1 as customer_id, date '2024-01-01' as ordered_on, 2.5 as amount",
        'models/customer_orders.sql': "select * from {{ ref('stg_orders') }}",
      });
    const built = await nodesIn(ownOrders('false'));
    expect(built.code, built.stdout + built.stderr).toBe(0);
    expect(built.nodes.find((n) => n.name === 'stg_orders')?.file).toBe('models/stg_orders.sql');
    // The package's models read the project's stg_orders in its place, as dbt's do.
    expect(built.nodes.find((n) => n.name === 'order_days')?.upstream).toEqual(['stg_orders']);

    // Disabled by Jinja, rendered with the vars: the same, and refused when it renders true.
    const byVar = ownOrders(`"{{ var('package_orders', false) }}"`);
    const rendered = await nodesIn(byVar);
    expect(rendered.code, rendered.stdout + rendered.stderr).toBe(0);
    expect(rendered.nodes.find((n) => n.name === 'stg_orders')?.file).toBe('models/stg_orders.sql');
    const on = await nodesIn(byVar, { vars: { package_orders: true } });
    expect(on.code).toBe(2);
    expect(on.stdout + on.stderr).toContain(`'stg_orders' is defined twice: models/stg_orders.sql and ${PKG}/models/staging/stg_orders.sql`);
  });

  it("describe the project's node of a disabled package node's name with that node's properties, as dbt does, and name no unused config path", async () => {
    // The package's properties give the seed's column types, description and tests; the
    // project disables the package's seed and brings its own, whose codes keep their zeros.
    const dir = tempProject({
      ...FILES,
      'dbt_project.yml': `${FILES['dbt_project.yml']}seeds:\n  shared_staging:\n    codes:\n      +enabled: false\n`,
      [`${PKG}/seeds/codes.csv`]: 'code,label\n01,one\n',
      [`${PKG}/seeds/codes.yml`]: 'version: 2\nseeds:\n  - name: codes\n    description: Codes to leave out.\n    config:\n      column_types: {code: varchar}\n    columns:\n      - name: code\n        data_tests: [unique]\n',
      'seeds/codes.csv': 'code,label\n01,one\n02,two\n',
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain('applies to no seed');
    expect(await queryWarehouse(dir, 'select code, typeof(code) as type from main.codes order by code')).toEqual([
      { code: '01', type: 'VARCHAR' },
      { code: '02', type: 'VARCHAR' },
    ]);
    expect(eventsOfType(r.events, 'check-passed').map((e) => e.check)).toContain('unique_codes_code');
  });

  it("ref('package', name) names only a model of that package", async () => {
    const dir = tempProject({ ...FILES, 'models/wrong.sql': "select * from {{ ref('shared_staging', 'customer_orders') }}" });
    const r = await nodesIn(dir);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toContain("ref('shared_staging', 'customer_orders'): the package shared_staging has no model or seed named 'customer_orders'");
  });
  it('are read from a local: package named by an absolute path, outside the project, as dbt reads it', async () => {
    const pkgFiles = Object.fromEntries(Object.entries(FILES).filter(([path]) => path.startsWith(`${PKG}/`)).map(([path, text]) => [path.slice(PKG.length + 1), text]));
    const pkg = tempProject(pkgFiles);
    const rest = Object.fromEntries(Object.entries(FILES).filter(([path]) => !path.startsWith(`${PKG}/`)));
    const dir = tempProject({ ...rest, 'packages.yml': `packages:\n  - local: ${pkg}\n` });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await queryWarehouse(dir, 'select customer_id, orders from main.customer_orders order by all')).toEqual([
      { customer_id: 1, orders: '2' },
      { customer_id: 2, orders: '1' },
      { customer_id: 3, orders: '0' },
    ]);
  });
  it("run a package's seed hooks with the package's vars, as the package's node", async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: shop\n',
      'dbt_packages/codes/dbt_project.yml': "name: codes\nvars:\n  batch: 7\nseeds:\n  codes:\n    +post-hook: \"create table main.seeded as select {{ var('batch') }} as batch\"\n",
      'dbt_packages/codes/seeds/country_codes.csv': 'code\nFR\n',
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await queryWarehouse(dir, 'select batch from main.seeded')).toEqual([{ batch: 7 }]);
  });

  it("are read from the install folder when a local: one is installed there too, as dbt reads them: a copy with a warning, dbt deps' link without", async () => {
    const files = {
      'dbt_project.yml': 'name: shop\n',
      'packages.yml': 'packages:\n  - local: vendor/pkg\n',
      'vendor/pkg/dbt_project.yml': 'name: pkg\n',
      'vendor/pkg/models/m.sql': "select 'the local path' as read",
      'dbt_packages/pkg/dbt_project.yml': 'name: pkg\n',
      'dbt_packages/pkg/models/m.sql': "select 'the installed copy' as read",
    };
    const copied = tempProject(files);
    const r = await runIn(copied, { date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await queryWarehouse(copied, 'select read from main.m')).toEqual([{ read: 'the installed copy' }]);
    expect(r.stderr).toContain('packages.yml:2: warning: the local package vendor/pkg is also installed in dbt_packages/pkg, as a copy: pipe reads that copy, as dbt does');
    const linked = tempProject(files);
    rmSync(join(linked, 'dbt_packages/pkg'), { recursive: true });
    symlinkSync(join(linked, 'vendor/pkg'), join(linked, 'dbt_packages/pkg'));
    const l = await runIn(linked, { date: '2024-01-02' });
    expect(l.code, l.stdout + l.stderr).toBe(0);
    expect(await queryWarehouse(linked, 'select read from main.m')).toEqual([{ read: 'the local path' }]);
    expect(l.stderr).not.toContain('warning');
  });
});
