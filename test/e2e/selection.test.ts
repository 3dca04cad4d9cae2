import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  copyExample,
  eventsOfType,
  explain,
  ordersOn,
  pipe,
  queryRows,
  removeTempDirs,
  seedRows,
  startedModels,
  warehouseOf,
  writeProjectFiles,
} from './helpers.js';

afterAll(removeTempDirs);

/**
 * Which models a run builds (--select, --exclude, pipelines) and which values reach them
 * (--var, pipeline vars, pipe.yaml vars). The expected sets follow from the example's ref()
 * calls: fct_orders reads order_lines (ephemeral: stg_orders, stg_products) and, through its
 * relationships check, stg_customers; daily_revenue and dim_customers read fct_orders.
 */

describe('selecting models on pipe run', () => {
  let dir: string;
  let db: string;
  const run = (...args: string[]) => {
    const r = pipe(['run', '--date', '2024-01-03', '--json', ...args, '--project', dir]);
    expect(r.code, explain(r)).toBe(0);
    return r;
  };
  const days = async (table: string, column: string) =>
    (await queryRows(db, `SELECT DISTINCT ${column}::VARCHAR AS d FROM ${table} ORDER BY 1`)).map((r) => r.d);

  beforeAll(() => {
    // Everything built once for the day before; then each selection builds 2024-01-03.
    dir = copyExample();
    db = warehouseOf(dir);
    writeProjectFiles(dir, {
      'pipelines/marts.yaml': 'select: [tag:daily]\n',
      'pipelines/staging_only.yaml': 'select: [path:models/staging]\nexclude: [stg_products]\n',
    });
    const r = pipe(['run', '--date', '2024-01-02', '--project', dir]);
    expect(r.code, explain(r)).toBe(0);
  });

  it('name: only that model', async () => {
    expect(startedModels(run('--select', 'fct_orders').events)).toEqual(['fct_orders']);
    expect(await days('fct_orders', 'order_date')).toEqual(['2024-01-02', '2024-01-03']);
    expect(await days('daily_revenue', 'revenue_date')).toEqual(['2024-01-02']);
    const lastOrder = await queryRows(db, 'SELECT max(last_order_date)::VARCHAR AS d FROM dim_customers');
    expect(lastOrder).toEqual([{ d: '2024-01-02' }]);
  });

  it('name+: the model and everything downstream', async () => {
    expect(startedModels(run('--select', 'fct_orders+').events)).toEqual(['daily_revenue', 'dim_customers', 'fct_orders']);
    expect(await days('daily_revenue', 'revenue_date')).toEqual(['2024-01-02', '2024-01-03']);
    const lastOrder = await queryRows(db, 'SELECT max(last_order_date)::VARCHAR AS d FROM dim_customers');
    expect(lastOrder).toEqual([{ d: '2024-01-03' }]);
  });

  it('+name: the model and everything upstream, seeds loaded only if changed', () => {
    const r = run('--select', '+fct_orders');
    expect(startedModels(r.events)).toEqual(['fct_orders', 'stg_customers', 'stg_orders', 'stg_products']);
    const seeds = eventsOfType(r.events, 'task-skipped').map((e) => [(e.task as { id: string }).id, e.reason]);
    expect(seeds.sort()).toEqual([
      ['raw_customers', 'up-to-date'],
      ['raw_orders', 'up-to-date'],
      ['raw_products', 'up-to-date'],
    ]);
  });

  it('tag: and path: selectors', () => {
    expect(startedModels(run('--select', 'tag:daily').events)).toEqual(['daily_revenue', 'dim_customers', 'fct_orders']);
    expect(startedModels(run('--select', 'path:models/staging').events)).toEqual(['stg_customers', 'stg_orders', 'stg_products']);
  });

  it('--exclude removes models from the selection, and several selectors add up', () => {
    expect(startedModels(run('--select', 'tag:daily', '--exclude', 'dim_customers').events)).toEqual(['daily_revenue', 'fct_orders']);
    expect(startedModels(run('--select', '+daily_revenue', '--exclude', 'path:models/staging').events)).toEqual(['daily_revenue', 'fct_orders']);
    expect(startedModels(run('--exclude', 'fct_orders+').events)).toEqual(['stg_customers', 'stg_orders', 'stg_products']);
    expect(startedModels(run('--select', 'stg_orders,stg_products', 'daily_revenue').events)).toEqual(['daily_revenue', 'stg_orders', 'stg_products']);
  });

  it('a pipeline runs its selection; --select on the command line overrides it', () => {
    // The example's own pipeline: the same models as its select/exclude given on the command line.
    const daily = parseYaml(readFileSync(join(dir, 'pipelines/daily.yaml'), 'utf8')) as { select?: string[]; exclude?: string[] };
    const asFlags = [...(daily.select?.length ? ['--select', ...daily.select] : []), ...(daily.exclude?.length ? ['--exclude', ...daily.exclude] : [])];
    const byPipeline = run('daily');
    expect(eventsOfType(byPipeline.events, 'run-started')[0]).toMatchObject({ pipeline: 'daily', ds: '2024-01-03' });
    expect(startedModels(byPipeline.events)).toEqual(startedModels(run(...asFlags).events));
    expect(startedModels(byPipeline.events)).toEqual(expect.arrayContaining(['daily_revenue', 'dim_customers', 'fct_orders']));

    expect(startedModels(run('marts').events)).toEqual(['daily_revenue', 'dim_customers', 'fct_orders']);
    expect(startedModels(run('staging_only').events)).toEqual(['stg_customers', 'stg_orders']);
    expect(startedModels(run('marts', '--select', 'fct_orders').events)).toEqual(['fct_orders']);
  });

  it('pipe ls and pipe dag take the same selectors', () => {
    const ls = pipe(['ls', '--json', '--select', '+daily_revenue', '--exclude', 'tag:staging', '--project', dir]);
    expect(ls.code, explain(ls)).toBe(0);
    expect(ls.events.map((e) => e.name).sort()).toEqual(['daily_revenue', 'fct_orders', 'order_lines', 'raw_customers', 'raw_orders', 'raw_products']);
    const dag = pipe(['dag', '--format', 'json', '--pipeline', 'marts', '--project', dir]);
    expect(dag.code, explain(dag)).toBe(0);
    const nodes = (JSON.parse(dag.stdout) as { nodes: { name: string }[] }).nodes.map((n) => n.name).sort();
    expect(nodes).toEqual(['daily_revenue', 'dim_customers', 'fct_orders']);
  });
});

describe('vars', () => {
  const currencies = async (db: string) =>
    queryRows(
      db,
      `SELECT 'fct_orders' AS t, currency, count(*)::INTEGER AS n FROM fct_orders GROUP BY ALL
       UNION ALL SELECT 'daily_revenue', currency, count(*)::INTEGER FROM daily_revenue GROUP BY ALL ORDER BY 1`,
    );
  const oneDay = (currency: string) => [
    { t: 'daily_revenue', currency, n: 1 },
    { t: 'fct_orders', currency, n: ordersOn('2024-01-02').length },
  ];

  it('--var beats the pipeline\'s vars, which beat pipe.yaml\'s', async () => {
    const dir = copyExample();
    const db = warehouseOf(dir);
    writeProjectFiles(dir, {
      'pipe.yaml': 'name: shop\nvars:\n  currency: EUR\n',
      'pipelines/daily.yaml': 'select: [tag:daily]\nvars:\n  currency: GBP\n',
    });
    const steps: [string[], string][] = [
      [[], 'EUR'],
      [['daily'], 'GBP'],
      [['daily', '--var', 'currency=USD'], 'USD'],
      [['--var', 'currency=CHF'], 'CHF'],
      [['daily'], 'GBP'],
    ];
    for (const [args, currency] of steps) {
      const r = pipe(['run', ...args, '--date', '2024-01-02', '--project', dir]);
      expect(r.code, explain(r)).toBe(0);
      expect(await currencies(db), `pipe run ${args.join(' ')}`).toEqual(oneDay(currency));
    }
  });

  it('a var only pipe.yaml sets, and a default in the template', async () => {
    const dir = copyExample();
    const db = warehouseOf(dir);
    writeProjectFiles(dir, {
      'pipe.yaml': 'name: shop\nvars:\n  currency: EUR\n  min_quantity: 2\n',
      'models/marts/big_orders.sql': `select order_id, quantity, '{{ var("label", "plain") }}' as label
from {{ ref('stg_orders') }} where quantity >= {{ var('min_quantity') }}
`,
    });
    const r = pipe(['run', '--date', '2024-01-02', '--select', '+big_orders', '--project', dir]);
    expect(r.code, explain(r)).toBe(0);
    const rows = await queryRows(db, 'SELECT count(*)::INTEGER AS n, min(quantity)::INTEGER AS q, any_value(label) AS label FROM big_orders');
    const all = seedRows('raw_orders');
    expect(rows).toEqual([{ n: all.filter((o) => Number(o.quantity) >= 2).length, q: 2, label: 'plain' }]);

    const r2 = pipe(['run', '--date', '2024-01-02', '--select', 'big_orders', '--var', 'min_quantity=3', '--var', 'label=big', '--project', dir]);
    expect(r2.code, explain(r2)).toBe(0);
    const rows2 = await queryRows(db, 'SELECT count(*)::INTEGER AS n, min(quantity)::INTEGER AS q, any_value(label) AS label FROM big_orders');
    expect(rows2).toEqual([{ n: all.filter((o) => Number(o.quantity) >= 3).length, q: 3, label: 'big' }]);
  });

  it('--var values are YAML, but a number that would not print back as typed stays text', () => {
    const dir = copyExample();
    writeProjectFiles(dir, {
      'models/marts/var_types.sql': `select '{{ var("code") }}' as code, '{{ var("mask") }}' as mask, {{ var('n') + 1 }} as n,
  {% if var('flag') %}'on'{% else %}'off'{% endif %} as flag, {{ var('regions') | length }} as regions
`,
    });
    const args = ['--var', 'code=007', '--var', 'mask=0x1F', '--var', 'n=41', '--var', 'flag=false', '--var', 'regions=[eu, us]'];
    const r = pipe(['compile', 'var_types', '--date', '2024-01-02', ...args, '--project', dir]);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toContain("select '007' as code, '0x1F' as mask, 42 as n,\n  'off' as flag, 2 as regions");
  });
});

describe('macros', () => {
  it('a macro in macros/ is callable from any model and sees ref() and the run\'s dates', async () => {
    const dir = copyExample();
    writeProjectFiles(dir, {
      'macros/dates.sql': `{% macro orders_of_the_day(model) -%}
  select * from {{ ref(model) }} where order_date = '{{ ds }}'
{%- endmacro %}
`,
      'models/marts/todays_orders.sql': "select order_id, {{ cents_to_amount('quantity * 250') }} as fee\nfrom ({{ orders_of_the_day('stg_orders') }})\n",
    });
    const r = pipe(['run', '--date', '2024-01-04', '--select', '+todays_orders', '--project', dir]);
    expect(r.code, explain(r)).toBe(0);
    const rows = await queryRows(warehouseOf(dir), 'SELECT order_id::INTEGER AS id, fee::VARCHAR AS fee FROM todays_orders ORDER BY 1');
    expect(rows).toEqual(
      ordersOn('2024-01-04').map((o) => ({ id: Number(o.order_id), fee: ((Number(o.quantity) * 250) / 100).toFixed(2) })),
    );
  });
});
