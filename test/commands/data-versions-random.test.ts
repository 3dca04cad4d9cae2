import { afterAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { explain, removeTempDirs, tempDir, warehouseOf, writeProjectFiles } from '../e2e/helpers.js';
import { backfillIn } from '../support/in-process.js';
import { Random } from '../support/random.js';
import { VERSIONS_FILES } from '../support/versions-project.js';

afterAll(removeTempDirs);

/**
 * Skipping never changes what a run leaves: two warehouses go through the same seeded random
 * edits (models whose rendered SQL changes or not, a macro, seed rows, failures injected into
 * one date), one skipping what is current, the other running everything (--force); after every
 * step their tables are equal. The same history on both sides, since a model merged by key
 * keeps rows of earlier runs that a build from scratch would not have. PIPE_RANDOM_SEED replays a
 * seed, PIPE_RANDOM_STEPS runs longer.
 */

const DATES = { start: '2024-01-01', end: '2024-01-02' };
const TABLES = ['fct_orders', 'daily_totals', 'customer_totals', 'region_names', 'customer_latest'];

/** A model's alternative bodies: an edit picks another; `{# n #}` changes the file, not the SQL. */
const VARIANTS: Record<string, readonly string[]> = {
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

const MACROS = ['{% macro shout(c) %}upper({{ c }}){% endmacro %}\n', "{% macro shout(c) %}upper({{ c }}) || '.'{% endmacro %}\n"];

type Files = Record<string, string>;

function initialFiles(): Files {
  const files: Files = { ...VERSIONS_FILES };
  for (const [path, variants] of Object.entries(VARIANTS)) files[path] = variants[0];
  return files;
}

/** One random edit of `files`, described. */
function edit(rnd: Random, files: Files): string {
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
      cells[2] = String(1 + rnd.int(30));
      if (rnd.chance(0.3)) cells[1] = String(1 + rnd.int(3));
      lines[i] = cells.join(',');
      files['seeds/orders.csv'] = `${lines.join('\n')}\n`;
      return `orders row ${i}`;
    }
    default: {
      const lines = files['seeds/customers.csv'].trimEnd().split('\n');
      const i = 1 + rnd.int(lines.length - 1);
      const cells = lines[i].split(',');
      cells[2] = rnd.pick(['north', 'south', 'east']);
      lines[i] = cells.join(',');
      files['seeds/customers.csv'] = `${lines.join('\n')}\n`;
      return `customers row ${i}`;
    }
  }
}

/** One step on one warehouse: a failing run first when `broken`, then a run that succeeds; how many tasks it found current. */
async function step(dir: string, files: Files, force: boolean, broken: string | undefined): Promise<number> {
  writeProjectFiles(dir, files);
  if (broken !== undefined) {
    const r = await backfillIn(dir, { ...DATES, force, vars: { break: broken } });
    expect(r.code, explain(r)).toBe(1);
  }
  const r = await backfillIn(dir, { ...DATES, force });
  expect(r.code, explain(r)).toBe(0);
  return r.events.filter((e) => e.type === 'task-skipped' && e.reason === 'current').length;
}

/** Every table's rows, in order, read through one connection. */
async function tablesOf(db: string): Promise<Record<string, unknown[]>> {
  const instance = await DuckDBInstance.create(db, { access_mode: 'READ_ONLY' });
  const c = await instance.connect();
  const out: Record<string, unknown[]> = {};
  for (const t of TABLES) out[t] = (await c.runAndReadAll(`SELECT * FROM ${t} ORDER BY ALL`)).getRowObjectsJson();
  c.closeSync();
  instance.closeSync();
  return out;
}

describe('skipping what is current, over random edits', () => {
  const seed = Number(process.env.PIPE_RANDOM_SEED ?? 20241203);
  it(`leaves the tables a run of everything leaves (seed ${seed}; replay with PIPE_RANDOM_SEED=${seed})`, async () => {
    const rnd = new Random(seed);
    const files = initialFiles();
    const skipping = tempDir();
    const forced = tempDir();
    const history: string[] = [];
    let skipped = 0;
    const steps = Number(process.env.PIPE_RANDOM_STEPS ?? 10);
    for (let i = 0; i < steps; i++) {
      const what = i === 0 ? 'first build' : edit(rnd, files);
      const broken = i > 0 && rnd.chance(0.2) ? rnd.pick(['2024-01-01', '2024-01-02']) : undefined;
      history.push(`${i}: ${what}${broken ? `, daily_totals fails for ${broken} first` : ''}`);
      skipped += await step(skipping, files, false, broken);
      expect(await step(forced, files, true, broken)).toBe(0);
      const a = await tablesOf(warehouseOf(skipping));
      const b = await tablesOf(warehouseOf(forced));
      expect(a, `seed ${seed}, after:\n${history.join('\n')}`).toEqual(b);
    }
    // Most steps leave most tasks current: the comparison above is of skipping, not of two full runs.
    expect(skipped).toBeGreaterThan(steps * 3);
  });
});
