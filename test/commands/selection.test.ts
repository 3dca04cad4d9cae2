import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderDag } from '../../src/graph/render-dag.js';
import type { RunOptions } from '../../src/commands/run.js';
import {
  copyExample,
  diagnosticsOf,
  eventsOfType,
  explain,
  ordersOn,
  queryRows,
  removeTempDirs,
  seedRows,
  startedModels,
  tempDir,
  warehouseOf,
  writeProjectFiles,
} from '../e2e/helpers.js';
import { backfillIn, nodesIn, runIn } from '../support/in-process.js';
import { removeProjects, tempProject } from '../support/projects.js';

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
  // Forced: each selection builds the same date, current or not after the one before.
  const run = async (options: Omit<RunOptions, 'project' | 'emit'> = {}) => {
    const r = await runIn(dir, { date: '2024-01-03', force: true, ...options });
    expect(r.code, explain(r)).toBe(0);
    return r;
  };
  const days = async (table: string, column: string) =>
    (await queryRows(db, `SELECT DISTINCT ${column}::VARCHAR AS d FROM ${table} ORDER BY 1`)).map((r) => r.d);

  beforeAll(async () => {
    // Everything built once for the day before; then each selection builds 2024-01-03.
    dir = copyExample();
    db = warehouseOf(dir);
    writeProjectFiles(dir, {
      'pipelines/marts.yaml': 'select: [tag:daily]\n',
      'pipelines/staging_only.yaml': 'select: [path:models/staging]\nexclude: [stg_products]\n',
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
  });

  it('name: only that model', async () => {
    expect(startedModels((await run({ select: ['fct_orders'] })).events)).toEqual(['fct_orders']);
    expect(await days('fct_orders', 'order_date')).toEqual(['2024-01-02', '2024-01-03']);
    expect(await days('daily_revenue', 'revenue_date')).toEqual(['2024-01-02']);
    const lastOrder = await queryRows(db, 'SELECT max(last_order_date)::VARCHAR AS d FROM dim_customers');
    expect(lastOrder).toEqual([{ d: '2024-01-02' }]);
  });

  it('name+: the model and everything downstream', async () => {
    expect(startedModels((await run({ select: ['fct_orders+'] })).events)).toEqual(['daily_revenue', 'dim_customers', 'fct_orders']);
    expect(await days('daily_revenue', 'revenue_date')).toEqual(['2024-01-02', '2024-01-03']);
    const lastOrder = await queryRows(db, 'SELECT max(last_order_date)::VARCHAR AS d FROM dim_customers');
    expect(lastOrder).toEqual([{ d: '2024-01-03' }]);
  });

  it('+name: the model and everything upstream, seeds loaded only if changed (or forced)', async () => {
    const r = await run({ select: ['+fct_orders'] });
    expect(startedModels(r.events)).toEqual(['fct_orders', 'stg_customers', 'stg_orders', 'stg_products']);
    // Forced, as every run here: the seeds selected are loaded too.
    const started = eventsOfType(r.events, 'task-started').map((e) => e.task as { id: string; kind: string });
    expect(started.filter((t) => t.kind === 'seed').map((t) => t.id).sort()).toEqual(['raw_customers', 'raw_orders', 'raw_products']);
    const unforced = await run({ select: ['+fct_orders'], force: false });
    const seeds = eventsOfType(unforced.events, 'task-skipped').filter((e) => e.reason === 'up-to-date').map((e) => (e.task as { id: string }).id);
    expect(seeds.sort()).toEqual(['raw_customers', 'raw_orders', 'raw_products']);
  });

  it('tag: and path: selectors', async () => {
    expect(startedModels((await run({ select: ['tag:daily'] })).events)).toEqual(['daily_revenue', 'dim_customers', 'fct_orders']);
    expect(startedModels((await run({ select: ['path:models/staging'] })).events)).toEqual(['stg_customers', 'stg_orders', 'stg_products']);
  });

  it('--exclude removes models from the selection, and several selectors add up', async () => {
    expect(startedModels((await run({ select: ['tag:daily'], exclude: ['dim_customers'] })).events)).toEqual(['daily_revenue', 'fct_orders']);
    expect(startedModels((await run({ select: ['+daily_revenue'], exclude: ['path:models/staging'] })).events)).toEqual(['daily_revenue', 'fct_orders']);
    expect(startedModels((await run({ exclude: ['fct_orders+'] })).events)).toEqual(['stg_customers', 'stg_orders', 'stg_products']);
    expect(startedModels((await run({ select: ['stg_orders stg_products', 'daily_revenue'] })).events)).toEqual(['daily_revenue', 'stg_orders', 'stg_products']);
    // Joined by a comma, selectors intersect (as in dbt): the daily models among the marts' upstream.
    expect(startedModels((await run({ select: ['tag:daily,+dim_customers'] })).events)).toEqual(['dim_customers', 'fct_orders']);
    // An intersection, or an exclusion, that leaves nothing runs nothing, and says so.
    for (const [options, asked] of [
      [{ select: ['tag:daily,path:models/staging'] }, '--select tag:daily,path:models/staging'],
      [{ select: ['fct_orders'], exclude: ['tag:daily'] }, '--select fct_orders, --exclude tag:daily'],
    ] as const) {
      const none = await run(options);
      expect(startedModels(none.events)).toEqual([]);
      expect(eventsOfType(none.events, 'notice').map((e) => e.message)).toContain(
        `the selection selects nothing (${asked}): each term matches something, but no model or seed is left after the intersections and exclusions; nothing runs`,
      );
      // As dbt's "Nothing to do": said, and no run of no task is started or recorded.
      expect(none.code).toBe(0);
      expect(eventsOfType(none.events, 'run-started')).toEqual([]);
      expect(eventsOfType(none.events, 'notice').map((e) => e.message)).toContain('nothing to do: the selection leaves no model, seed or snapshot to build; no run is recorded');
    }
    const emptyBackfill = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-02', select: ['fct_orders'], exclude: ['tag:daily'] });
    expect(emptyBackfill.code).toBe(0);
    expect(eventsOfType(emptyBackfill.events, 'run-started')).toEqual([]);
    expect(eventsOfType(emptyBackfill.events, 'notice').map((e) => e.message)).toContain('nothing to do: the selection leaves no model, seed or snapshot to build; no run is recorded');
  });

  it('a pipeline runs its selection; --select on the command line overrides it', async () => {
    // The example's own pipeline: the same models as its select/exclude given on the command line.
    const daily = parseYaml(readFileSync(join(dir, 'pipelines/daily.yaml'), 'utf8')) as { select?: string[]; exclude?: string[] };
    const asFlags = { select: daily.select ?? [], exclude: daily.exclude ?? [] };
    const byPipeline = await run({ pipeline: 'daily' });
    expect(eventsOfType(byPipeline.events, 'run-started')[0]).toMatchObject({ pipeline: 'daily', ds: '2024-01-03' });
    expect(startedModels(byPipeline.events)).toEqual(startedModels((await run(asFlags)).events));
    expect(startedModels(byPipeline.events)).toEqual(expect.arrayContaining(['daily_revenue', 'dim_customers', 'fct_orders']));

    expect(startedModels((await run({ pipeline: 'marts' })).events)).toEqual(['daily_revenue', 'dim_customers', 'fct_orders']);
    expect(startedModels((await run({ pipeline: 'staging_only' })).events)).toEqual(['stg_customers', 'stg_orders']);
    expect(startedModels((await run({ pipeline: 'marts', select: ['fct_orders'] })).events)).toEqual(['fct_orders']);
  });

  it('pipe ls and pipe dag take the same selectors', async () => {
    const ls = await nodesIn(dir, { select: ['+daily_revenue'], exclude: ['tag:staging'] });
    expect(ls.code, explain(ls)).toBe(0);
    expect(ls.nodes.map((e) => e.name).sort()).toEqual(['daily_revenue', 'fct_orders', 'order_lines', 'raw_customers', 'raw_orders', 'raw_products']);
    const dag = await nodesIn(dir, { pipeline: 'marts' });
    expect(dag.code, explain(dag)).toBe(0);
    const nodes = (JSON.parse(renderDag(dag.nodes, 'json')) as { nodes: { name: string }[] }).nodes.map((n) => n.name).sort();
    expect(nodes).toEqual(['daily_revenue', 'dim_customers', 'fct_orders']);
  });

  it('an excluded seed is not loaded, though it changed and a selected model reads it, as dbt loads no excluded seed', async () => {
    const file = join(dir, 'seeds/raw_products.csv');
    const before = readFileSync(file, 'utf8');
    try {
      writeFileSync(file, `${before.trimEnd()}\n99,"gift card",1000\n`);
      const seeds = (r: Awaited<ReturnType<typeof run>>) => eventsOfType(r.events, 'task-started').map((e) => (e.task as { id: string; kind: string })).filter((t) => t.kind === 'seed').map((t) => t.id);
      const excluded = await run({ select: ['+stg_products'], exclude: ['raw_products'] });
      expect(seeds(excluded)).toEqual([]);
      expect(startedModels(excluded.events)).toEqual(['stg_products']);
      expect(await queryRows(db, 'SELECT count(*) AS n FROM raw_products WHERE product_id = 99')).toEqual([{ n: '0' }]);
      // Behind a table the run does not rebuild (fct_orders, incremental): the selection reads the
      // table, not the seed, and loading it would change nothing it reads.
      expect(seeds(await run({ select: ['daily_revenue'] }))).toEqual([]);
      // Not excluded, it loads: a selected model never reads a stale seed.
      expect(seeds(await run({ select: ['stg_products'] }))).toEqual(['raw_products']);
    } finally {
      writeFileSync(file, before);
    }
  });
});

describe('dbt selectors: --selector, default: true and pipelines', () => {
  let dir: string;
  const names = async (options: Parameters<typeof nodesIn>[1]) => {
    const r = await nodesIn(dir, options);
    expect(r.code, explain(r)).toBe(0);
    return r.nodes.map((n) => n.name).sort();
  };

  beforeAll(() => {
    // A dbt-shaped project: staging views, marts in a nested folder, one seed, selectors.yml.
    dir = tempDir();
    writeProjectFiles(dir, {
      'dbt_project.yml': "name: shop\nversion: '1.0'\nmodel-paths: [models]\nseed-paths: [seeds]\n",
      'seeds/raw_orders.csv': 'id,amount\n1,10\n2,20\n',
      'models/staging/stg_orders.sql': "{{ config(materialized='view', tags=['nightly']) }}\nselect * from {{ ref('raw_orders') }}\n",
      'models/staging/stg_refunds.sql': "{{ config(materialized='view') }}\nselect id, 0 as amount from {{ ref('raw_orders') }}\n",
      'models/marts/finance/fct_orders.sql': "{{ config(materialized='table', tags=['nightly', 'finance']) }}\nselect * from {{ ref('stg_orders') }}\n",
      'models/marts/finance/fct_refunds.sql': "{{ config(materialized='table', tags=['finance']) }}\nselect * from {{ ref('stg_refunds') }}\n",
      'models/marts/dim_orders.sql': "{{ config(materialized='table') }}\nselect id from {{ ref('fct_orders') }}\n",
      'selectors.yml': `selectors:
  - name: nightly
    default: true
    definition: tag:nightly
  - name: finance_tables
    description: The finance marts and what they read.
    definition:
      union:
        - method: fqn
          value: marts.finance
          parents: true
        - exclude:
            - method: resource_type
              value: seed
  - name: views
    definition: "config.materialized:view"
`,
      'pipelines/finance.yaml': 'selector: finance_tables\nexclude: [stg_refunds+]\n',
    });
  });

  it('--selector selects what the selector says, on pipe ls and pipe run alike, and --exclude still applies', async () => {
    const finance = ['fct_orders', 'fct_refunds', 'stg_orders', 'stg_refunds'];
    expect(await names({ selector: 'finance_tables' })).toEqual(finance);
    expect(await names({ selector: 'finance_tables', exclude: ['stg_refunds'] })).toEqual(['fct_orders', 'fct_refunds', 'stg_orders']);
    expect(await names({ selector: 'views' })).toEqual(['stg_orders', 'stg_refunds']);
    const r = await runIn(dir, { date: '2024-01-02', selector: 'finance_tables', force: true });
    expect(r.code, explain(r)).toBe(0);
    expect(startedModels(r.events)).toEqual(finance);
  });

  it('the default selector applies when nothing else selects or excludes, and says so', async () => {
    expect(await names({})).toEqual(['fct_orders', 'stg_orders']);
    expect(await names({ select: ['marts'] })).toEqual(['dim_orders', 'fct_orders', 'fct_refunds']);
    // As in dbt: --exclude alone means every node but those, not the default selector's.
    expect(await names({ exclude: ['staging'] })).toEqual(['dim_orders', 'fct_orders', 'fct_refunds', 'raw_orders']);
    const r = await runIn(dir, { date: '2024-01-02', force: true });
    expect(r.code, explain(r)).toBe(0);
    expect(startedModels(r.events)).toEqual(['fct_orders', 'stg_orders']);
    expect(eventsOfType(r.events, 'notice').map((e) => e.message)).toContain('selecting with the default selector of selectors.yml: nightly');
  });

  it('a pipeline may name a selector, with its own exclude:', async () => {
    expect(await names({ pipeline: 'finance' })).toEqual(['fct_orders', 'stg_orders']);
  });

  it("checks a pipeline's selector: and select: where they are written", async () => {
    const other = tempDir();
    writeProjectFiles(other, {
      'dbt_project.yml': 'name: other\n',
      'models/a.sql': 'select 1 as id\n',
      'selectors.yml': 'selectors:\n  - name: only_a\n    definition: a\n',
      'pipelines/p.yaml': 'description: typo\nselector: only_b\n',
      'pipelines/q.yaml': 'select: [a]\nselector: only_a\n',
      'pipelines/r.yaml': "select: 'tags:x,a'\n",
    });
    const r = await nodesIn(other, {});
    expect(r.code).toBe(2);
    expect(diagnosticsOf(r.events).map((d) => [d.code, `${d.location?.file}:${d.location?.line}`, d.message, d.hint])).toEqual([
      ['unknown-selector', 'pipelines/p.yaml:2', "no selector named 'only_b' in selectors.yml", "did you mean 'only_a'?"],
      ['bad-config', 'pipelines/q.yaml:2', 'select: and selector: both say what the pipeline runs: keep one', expect.any(String)],
      ['bad-selector', 'pipelines/r.yaml:1', "select: selector 'tags:x': 'tags' is not a selector method", expect.stringContaining("did you mean 'tag'?")],
    ]);
  });

  it("a pipeline's selector naming no model is an error at its line; a pipeline file that cannot be read says why when run by name", async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'models/a.sql': 'select 1 as id\n',
      'pipelines/p.yaml': 'description: typo\nexclude: [b]\n',
      'pipelines/list.yaml': '- a\n- b\n',
    });
    const r = await runIn(dir, { pipeline: 'p', date: '2024-01-02', dryRun: true });
    expect(r.code).toBe(2);
    // Every pipeline file's problems are told, the one run's among them.
    expect(diagnosticsOf(r.events).map((d) => [`${d.location?.file}:${d.location?.line}`, d.message])).toEqual([
      ['pipelines/list.yaml:1', 'pipelines/list.yaml must be a mapping of keys to values'],
      ['pipelines/p.yaml:2', "selector 'b': no model, seed or test named 'b'"],
    ]);
    const list = await runIn(dir, { pipeline: 'list', date: '2024-01-02', dryRun: true });
    expect(list.code).toBe(2);
    expect(diagnosticsOf(list.events).map((d) => [`${d.location?.file}:${d.location?.line}`, d.message])).toEqual([
      ['pipelines/list.yaml:1', 'pipelines/list.yaml must be a mapping of keys to values'],
    ]);
  });

  it('refuses an unknown selector with the closest name, and --select with --selector', async () => {
    const unknown = await nodesIn(dir, { selector: 'finance_table' });
    expect(unknown.code).toBe(2);
    expect(diagnosticsOf(unknown.events)).toEqual([
      { severity: 'error', code: 'unknown-selector', message: "no selector named 'finance_table' in selectors.yml", hint: "did you mean 'finance_tables'?" },
    ]);
    const both = await nodesIn(dir, { selector: 'views', select: ['marts'] });
    expect(both.code).toBe(2);
    expect(diagnosticsOf(both.events).map((d) => d.code)).toEqual(['selection-conflict']);
    const unsupported = await nodesIn(dir, { select: ['metric:weekly+'] });
    expect(unsupported.code).toBe(2);
    expect(diagnosticsOf(unsupported.events)[0].message).toContain("selector 'metric:weekly+': pipe does not support the metric: method");
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
    const steps: [{ pipeline?: string; vars?: Record<string, unknown> }, string][] = [
      [{}, 'EUR'],
      [{ pipeline: 'daily' }, 'GBP'],
      [{ pipeline: 'daily', vars: { currency: 'USD' } }, 'USD'],
      [{ vars: { currency: 'CHF' } }, 'CHF'],
      [{ pipeline: 'daily' }, 'GBP'],
    ];
    for (const [options, currency] of steps) {
      const r = await runIn(dir, { ...options, date: '2024-01-02' });
      expect(r.code, explain(r)).toBe(0);
      expect(await currencies(db), `pipe run ${JSON.stringify(options)}`).toEqual(oneDay(currency));
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
    const r = await runIn(dir, { date: '2024-01-02', select: ['+big_orders'] });
    expect(r.code, explain(r)).toBe(0);
    const rows = await queryRows(db, 'SELECT count(*)::INTEGER AS n, min(quantity)::INTEGER AS q, any_value(label) AS label FROM big_orders');
    const all = seedRows('raw_orders');
    expect(rows).toEqual([{ n: all.filter((o) => Number(o.quantity) >= 2).length, q: 2, label: 'plain' }]);

    const r2 = await runIn(dir, { date: '2024-01-02', select: ['big_orders'], vars: { min_quantity: 3, label: 'big' } });
    expect(r2.code, explain(r2)).toBe(0);
    const rows2 = await queryRows(db, 'SELECT count(*)::INTEGER AS n, min(quantity)::INTEGER AS q, any_value(label) AS label FROM big_orders');
    expect(rows2).toEqual([{ n: all.filter((o) => Number(o.quantity) >= 3).length, q: 3, label: 'big' }]);
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
    const r = await runIn(dir, { date: '2024-01-04', select: ['+todays_orders'] });
    expect(r.code, explain(r)).toBe(0);
    const rows = await queryRows(warehouseOf(dir), 'SELECT order_id::INTEGER AS id, fee::VARCHAR AS fee FROM todays_orders ORDER BY 1');
    expect(rows).toEqual(
      ordersOn('2024-01-04').map((o) => ({ id: Number(o.order_id), fee: ((Number(o.quantity) * 250) / 100).toFixed(2) })),
    );
  });
});

/** A dbt project `shop` whose models/marts/ folder dbt_project.yml configures with `marts`, and the names `--select` picks in it. */
function dbtShop(marts: string, files: Record<string, string>): { dir: string; names: (select: string) => Promise<string[]> } {
  const dir = tempDir();
  writeProjectFiles(dir, {
    'dbt_project.yml': `name: shop\nprofile: shop\nconfig-version: 2\nmodels:\n  shop:\n    marts:\n      ${marts}\n`,
    'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: warehouse.duckdb\n',
    ...files,
  });
  return { dir, names: async (select) => (await nodesIn(dir, { select: [select] })).nodes.map((n) => n.name) };
}

describe('group: and access: in a dbt project', () => {
  it("select the models whose config sets them, from properties and dbt_project.yml, as dbt does", async () => {
    const { names } = dbtShop('+access: public', {
      'models/a.sql': 'select 1 as id',
      'models/props.yml': 'version: 2\nmodels:\n  - name: a\n    config:\n      group: finance\n',
      'models/marts/b.sql': "select * from {{ ref('a') }}",
    });
    expect(await names('group:finance')).toEqual(['a']);
    expect(await names('access:public')).toEqual(['b']);
    expect(await names('access:protected')).toEqual(['a']);
  });
});

describe('package: of an installed package of macros alone', () => {
  it('says the package has no node to select, not that there is no such package', async () => {
    const { dir } = dbtShop('+schema: marts', {
      'dbt_packages/mymacros/dbt_project.yml': "name: mymacros\nversion: '1.0.0'\nconfig-version: 2\n",
      'dbt_packages/mymacros/macros/one.sql': '{% macro one() %}1{% endmacro %}\n',
      'models/m.sql': 'select {{ mymacros.one() }} as x',
    });
    const r = await nodesIn(dir, { select: ['package:mymacros'] });
    expect(r.stderr).toContain("selector 'package:mymacros': the installed package 'mymacros' has no model, seed, snapshot or source (its macros are no nodes to select)");
    expect((await nodesIn(dir, { select: ['package:mymacro'] })).stderr).toMatch(/no package named 'mymacro'[\s\S]*did you mean 'mymacros'\?/);
  });
});

describe('config. selectors in a dbt project', () => {
  it("read the schema and alias as set, before the naming macros, and a snapshot's keys, as dbt's do", async () => {
    const { dir, names } = dbtShop('+schema: marts', {
      'models/marts/orders.sql': "{{ config(alias='all_orders') }}\nselect 1 as id",
      'models/m.sql': 'select 1 as id',
      'snapshots/snap.sql': "{% snapshot snap %}\n{{ config(target_schema='snapshots', unique_key='id', strategy='check', check_cols='all') }}\nselect * from {{ ref('m') }}\n{% endsnapshot %}\n",
      'snapshots/newer.sql': "{% snapshot newer %}\n{{ config(schema='history', unique_key='id', strategy='check', check_cols='all') }}\nselect * from {{ ref('m') }}\n{% endsnapshot %}\n",
    });
    // dbt-duckdb names the schema main_marts; its config.schema is marts.
    expect(await names('config.schema:marts')).toEqual(['orders']);
    expect(await names('config.alias:all_orders')).toEqual(['orders']);
    const refused = async (select: string) => (await nodesIn(dir, { select: [select] })).stderr;
    expect(await refused('config.schema:main_marts')).toMatch(/no model has config schema = 'main_marts'/);
    expect(await names('config.target_schema:snapshots')).toEqual(['snap']);
    expect(await names('config.schema:history')).toEqual(['newer']);
    expect(await names('config.strategy:check')).toEqual(['newer', 'snap']);
    expect(await refused('config.schema:snapshots')).toMatch(/no model has config schema = 'snapshots'/);
  });

  it('read config.meta keys, set by a folder, config() or a properties file, nested too', async () => {
    const { names } = dbtShop("+meta:\n        owner: ana\n        dagster: {group: silver}", {
      'models/marts/a.sql': 'select 1 as id',
      'models/b.sql': "{{ config(meta={'owner': 'bob'}) }}\nselect 1 as id",
      'models/c.sql': 'select 1 as id',
      'models/c.yml': 'version: 2\nmodels:\n  - name: c\n    config:\n      meta: {owner: carl}\n',
    });
    expect(await names('config.meta.owner:ana')).toEqual(['a']);
    expect(await names('config.meta.owner:bob')).toEqual(['b']);
    expect(await names('config.meta.owner:carl')).toEqual(['c']);
    expect(await names('config.meta.dagster.group:silver')).toEqual(['a']);
  });

  it("read a seed's schema and alias as set too", async () => {
    const { dir, names } = dbtShop('+schema: marts', {
      'models/m.sql': "select * from {{ ref('codes') }}",
      'seeds/codes.csv': 'id\n1\n',
      'seeds/rates.csv': 'id\n1\n',
      'seeds/props.yml': 'version: 2\nseeds:\n  - name: codes\n    config:\n      schema: raw\n      alias: code_list\n',
    });
    expect(await names('config.schema:raw')).toEqual(['codes']);
    expect(await names('config.alias:code_list')).toEqual(['codes']);
    expect((await nodesIn(dir, { select: ['config.schema:main_raw'] })).stderr).toMatch(/no model has config schema = 'main_raw'/);
  });
});

describe('a disabled model named by a selection', () => {
  afterAll(removeProjects);

  it('is an error selected, and excluded excludes nothing, as dbt warns and goes on', async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    retired:\n      +enabled: false\n',
      'models/a.sql': 'select 1 as id',
      'models/retired/b.sql': 'select 2 as id',
    });
    const selected = await runIn(dir, { date: '2024-01-02', select: ['b'] });
    expect(selected.code).toBe(2);
    expect(selected.stderr).toContain("selector 'b': b is disabled (enabled: false)");
    const excluded = await runIn(dir, { date: '2024-01-02', exclude: ['b'] });
    expect(excluded.code, excluded.stderr).toBe(0);
    expect(excluded.stderr + excluded.stdout).toContain("selector 'b' excludes nothing: b is disabled (enabled: false)");
    expect(excluded.stdout).toContain('OK a 2024-01-02');
  });
});

describe("a model of a materialization pipe refuses (the project's own)", () => {
  afterAll(removeProjects);

  it('is selected by config.materialized as written, listed as it, and excluded by it so that the rest runs', async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: shop\n',
      'macros/semantic.sql': "{% materialization semantic_view, adapter='duckdb' %}{{ return({'relations': []}) }}{% endmaterialization %}",
      'models/a.sql': "{{ config(materialized='semantic_view') }}select 1 as id",
      'models/b.sql': 'select 2 as id',
      'models/c.sql': "{{ config(materialized='table') }}select 3 as id",
    });
    const listed = async (select: string) => (await nodesIn(dir, { select: [select] })).nodes.map((n) => [n.name, n.kind]);
    // Not the default kind it stands in as in the graph: pipe never builds it as a table.
    expect(await listed('config.materialized:semantic_view')).toEqual([['a', 'semantic_view']]);
    expect(await listed('config.materialized:table')).toEqual([['c', 'table']]);
    const r = await runIn(dir, { date: '2024-01-02', exclude: ['config.materialized:semantic_view'] });
    expect(r.code, explain(r)).toBe(0);
    expect(startedModels(r.events).sort()).toEqual(['b', 'c']);
  });
});
