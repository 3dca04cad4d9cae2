import type { Random } from './random.js';
import { VERSIONS_FILES } from './versions-project.js';

/**
 * Random edits of the data-versions project (versions-project.ts), for the tests that compare a
 * warehouse skipping what is current with one that runs everything: queries that change and
 * comments that do not, a macro, seed rows, and a model merged by key.
 */

/** A model's alternative bodies: an edit picks another; `{# n #}` changes the file, not the SQL. */
export const VARIANTS: Record<string, readonly string[]> = {
  'models/fct_orders.sql': [
    VERSIONS_FILES['models/fct_orders.sql'],
    `{{ config(materialized='incremental', partition_by='order_date') }}
select o.order_id, o.customer_id, o.amount * 2 as amount, o.order_date, c.region
from {{ ref('stg_orders') }} o join {{ ref('customers') }} c on c.id = o.customer_id
where o.order_date = '{{ ds }}'
`,
  ],
  'models/daily_totals.sql': [
    `{{ config(materialized='incremental', partition_by='order_date') }}
select order_date, count(*) as orders, sum(amount){% if var('break', '') == ds %} + 'x'::INTEGER{% endif %} as amount from {{ ref('fct_orders') }}
where order_date = '{{ ds }}' group by order_date
`,
    `{{ config(materialized='incremental', partition_by='order_date') }}
select order_date, count(*) as orders, sum(amount) + 1{% if var('break', '') == ds %} + 'x'::INTEGER{% endif %} as amount from {{ ref('fct_orders') }}
where order_date = '{{ ds }}' group by order_date
`,
  ],
  'models/customer_totals.sql': [
    VERSIONS_FILES['models/customer_totals.sql'],
    `{{ config(materialized='table') }}
select customer_id, sum(amount) as amount, count(*) as orders from {{ ref('fct_orders') }} group by customer_id
`,
  ],
  'models/customer_latest.sql': [
    `{{ config(materialized='incremental', unique_key='customer_id', incremental_strategy='merge') }}
select customer_id, max(order_date) as last_order, sum(amount) as amount from {{ ref('fct_orders') }} group by customer_id
`,
    `{{ config(materialized='incremental', unique_key='customer_id', incremental_strategy='merge') }}
select customer_id, min(order_date) as last_order, sum(amount) as amount from {{ ref('fct_orders') }} group by customer_id
`,
  ],
};

export const MACROS = ['{% macro shout(c) %}upper({{ c }}){% endmacro %}\n', "{% macro shout(c) %}upper({{ c }}) || '.'{% endmacro %}\n"];

export type Files = Record<string, string>;

export function initialFiles(): Files {
  const files: Files = { ...VERSIONS_FILES };
  for (const [path, variants] of Object.entries(VARIANTS)) files[path] = variants[0];
  return files;
}

/** One random edit of `files`, described; a seed row's edit always changes the row. */
export function edit(rnd: Random, files: Files): string {
  switch (rnd.int(5)) {
    case 0: {
      const path = rnd.pick(Object.keys(VARIANTS));
      const body = files[path].replace(/\{# \d+ #\}\n?$/, '');
      const next = VARIANTS[path][(VARIANTS[path].indexOf(body) + 1) % VARIANTS[path].length];
      files[path] = next;
      return `${path}: another query`;
    }
    case 1: {
      const path = rnd.pick(Object.keys(VARIANTS));
      files[path] = `${files[path].replace(/\{# \d+ #\}\n?$/, '')}{# ${rnd.int(1000)} #}\n`;
      return `${path}: a comment`;
    }
    case 2: {
      files['macros/shout.sql'] = files['macros/shout.sql'] === MACROS[0] ? MACROS[1] : MACROS[0];
      return 'macro shout';
    }
    case 3: {
      const lines = files['seeds/orders.csv'].trimEnd().split('\n');
      const i = 1 + rnd.int(lines.length - 1);
      const cells = lines[i].split(',');
      cells[2] = String(Number(cells[2]) + 1 + rnd.int(30));
      if (rnd.chance(0.3)) cells[1] = String(1 + rnd.int(3));
      lines[i] = cells.join(',');
      files['seeds/orders.csv'] = `${lines.join('\n')}\n`;
      return `orders row ${i}`;
    }
    default: {
      const lines = files['seeds/customers.csv'].trimEnd().split('\n');
      const i = 1 + rnd.int(lines.length - 1);
      const cells = lines[i].split(',');
      cells[2] = rnd.pick(['north', 'south', 'east'].filter((r) => r !== cells[2]));
      lines[i] = cells.join(',');
      files['seeds/customers.csv'] = `${lines.join('\n')}\n`;
      return `customers row ${i}`;
    }
  }
}

