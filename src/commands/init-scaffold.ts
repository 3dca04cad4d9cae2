/**
 * The project `pipe init` writes: a seed of orders, a staging view over it, an incremental fact
 * table built one day at a time with its checks, and a pipeline selecting them. It is small, but
 * `pipe run --date SCAFFOLD_DATE` builds rows and `pipe test` passes on it, as the tests hold.
 */

/** A date the seed's orders cover, with orders on the day before and after it too. */
export const SCAFFOLD_DATE = '2024-01-02';

export interface ScaffoldFile {
  /** Relative to the project folder, with forward slashes. */
  readonly path: string;
  /** What the file is, as `pipe init` lists it. */
  readonly about: string;
  readonly text: string;
  /** Written only when missing: a folder's own file of this name is kept as it is, and not a reason to refuse. */
  readonly unlessPresent?: true;
}

/** A project name as pipe.yaml's `name:`: plain when YAML reads it back unchanged, else quoted. */
function yamlName(name: string): string {
  return /^[A-Za-z_][\w.-]*$/.test(name) ? name : JSON.stringify(name);
}

export function scaffoldFiles(projectName: string): readonly ScaffoldFile[] {
  return [
    {
      path: 'pipe.yaml',
      about: 'project settings',
      text: `# Project settings; every key is optional.
name: ${yamlName(projectName)}
vars:
  currency: EUR
`,
    },
    {
      path: 'seeds/raw_orders.csv',
      about: 'orders of 2024-01-01 to 2024-01-03, loaded as the table raw_orders',
      text: `order_id,customer_id,product,quantity,unit_price,status,ordered_at
1001,17,coffee beans 1kg,2,24.50,shipped,2024-01-01 09:14:05
1002,4,milk jug,1,12.50,shipped,2024-01-01 13:41:52
1003,23,espresso cups (set of 4),1,18.00,returned,2024-01-01 19:02:17
1004,17,grinder,1,89.00,shipped,2024-01-02 08:27:33
1005,9,coffee beans 1kg,3,24.50,shipped,2024-01-02 11:56:10
1006,31,tamper,1,21.90,placed,2024-01-02 16:08:44
1007,4,descaler,2,7.95,placed,2024-01-02 21:33:29
1008,12,coffee beans 1kg,1,24.50,placed,2024-01-03 10:19:02
1009,23,milk jug,2,12.50,placed,2024-01-03 15:47:38
`,
    },
    {
      path: 'models/staging/stg_orders.sql',
      about: 'a view: the seed with its amounts and order dates',
      text: `-- A view: always reads the seed as it is now, costs nothing to build.
{{ config(materialized='view') }}

select
    order_id,
    customer_id,
    product,
    quantity,
    unit_price,
    quantity * unit_price as amount,
    status,
    ordered_at,
    ordered_at::DATE as order_date
from {{ ref('raw_orders') }}
`,
    },
    {
      path: 'models/marts/fct_orders.sql',
      about: 'an incremental table: each run replaces the day it is given',
      text: `-- Each run replaces one day of this table: the orders placed on the date of --date.
select
    order_id,
    customer_id,
    order_date,
    status,
    product,
    quantity,
    amount,
    {{ var('currency') | sqlstring }} as currency
from {{ ref('stg_orders') }}
where order_date = '{{ ds }}'
`,
    },
    {
      path: 'models/marts/fct_orders.yaml',
      about: "its config, and the checks a day's rows pass before they are published",
      text: `materialized: incremental
partition_by: order_date
tags: [daily]
description: One row per order, built one day at a time.

# Checked on the day's rows BEFORE they are published: a failure keeps the table as it was.
# \`pipe test --date D\` runs them again on the published day.
checks:
  not_null: [order_id, customer_id, order_date]
  unique: [order_id]
  accepted_values:
    status: [placed, shipped, returned]
  expression: ["amount > 0", "quantity between 1 and 100"]
  warn:
    row_count: {min: 1}
`,
    },
    {
      path: '.gitignore',
      about: 'keeps the warehouse and pipe\'s own files out of git',
      unlessPresent: true,
      text: `# Built by pipe run, not written by hand: the warehouse, and what pipe keeps beside it
# (run logs, compiled templates, parsed YAML).
*.duckdb
*.duckdb.wal
*.duckdb.pipe-*
.pipe/
`,
    },
    {
      path: 'pipelines/daily.yaml',
      about: 'the daily batch: pipe run daily',
      text: `# The daily batch: \`pipe run daily\` (yesterday) or \`pipe run daily --date ${SCAFFOLD_DATE}\`.
description: Orders of one day.
select: [+tag:daily]           # the daily models and everything they read
`,
    },
  ];
}
