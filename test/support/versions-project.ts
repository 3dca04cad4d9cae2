import { tempDir, writeProjectFiles } from '../e2e/helpers.js';

/**
 * A small shop for the tests of data versions: two seeds, a view over one, dated models over
 * the view and both seeds, tables over them, and a macro only one model uses.
 */

export const CUSTOMERS = `id,name,region
1,Ann,north
2,Bob,south
3,Cid,north
`;

export const ORDERS = `order_id,customer_id,amount,order_date
1,1,10,2024-01-01
2,2,20,2024-01-01
3,3,5,2024-01-02
4,1,7,2024-01-03
5,2,8,2024-01-04
6,3,9,2024-01-05
7,1,4,2024-01-05
`;

export const VERSIONS_FILES: Record<string, string> = {
  'pipe.yaml': 'name: dv\n',
  'seeds/customers.csv': CUSTOMERS,
  'seeds/orders.csv': ORDERS,
  'macros/shout.sql': '{% macro shout(c) %}upper({{ c }}){% endmacro %}\n',
  'models/stg_orders.sql': "{{ config(materialized='view') }}\nselect order_id, customer_id, amount, order_date::DATE as order_date from {{ ref('orders') }}\n",
  'models/fct_orders.sql': `{{ config(materialized='incremental', partition_by='order_date') }}
select o.order_id, o.customer_id, o.amount, o.order_date, c.region
from {{ ref('stg_orders') }} o join {{ ref('customers') }} c on c.id = o.customer_id
where o.order_date = '{{ ds }}'
`,
  'models/daily_totals.sql': `{{ config(materialized='incremental', partition_by='order_date') }}
select order_date, count(*) as orders, sum(amount) as amount from {{ ref('fct_orders') }}
where order_date = '{{ ds }}' group by order_date
`,
  'models/customer_totals.sql': `{{ config(materialized='table') }}
select customer_id, sum(amount) as amount from {{ ref('fct_orders') }} group by customer_id
`,
  'models/region_names.sql': `{{ config(materialized='table') }}
select distinct region, {{ shout('region') }} as label from {{ ref('customers') }}
`,
};

/** The model tables of the project. */
export const VERSIONS_TABLES = ['fct_orders', 'daily_totals', 'customer_totals', 'region_names'] as const;

export function versionsProject(files: Record<string, string> = {}): string {
  const dir = tempDir();
  writeProjectFiles(dir, { ...VERSIONS_FILES, ...files });
  return dir;
}
