/**
 * Synthetic projects for the benchmark, written from one spec so that pipe, dbt and SQLMesh
 * get the same models: a layered DAG in which every model refs 1-3 models of earlier
 * layers (layer 0 refs seeds), with a mix of tables, views and incremental models.
 *
 * Every relation has the columns (id, ds, v): `(id, ds)` is unique, joins are left joins on
 * it, so row counts stay small and every model is "trivial" SQL. Incremental models keep the
 * rows of the run's date only.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Small deterministic PRNG (mulberry32): the same seed gives the same project. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n, width) => String(n).padStart(width, '0');

export function addDays(ds, days) {
  return new Date(Date.parse(`${ds}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/**
 * The spec: plain data every writer below reads.
 * @param {{ models: number, seed?: number, date: string, seeds?: number, seedRows?: number }} o
 */
export function syntheticSpec(o) {
  const rand = prng(o.seed ?? 42);
  const n = o.models;
  const layers = Math.max(4, Math.ceil(Math.log2(n)));
  const width = String(n).length;
  const seeds = Array.from({ length: o.seeds ?? 3 }, (_, i) => ({ name: `raw_${i}`, rows: o.seedRows ?? 200 }));
  const models = [];
  const byLayer = Array.from({ length: layers }, () => []);
  for (let i = 0; i < n; i++) {
    // Spread models evenly over layers, in order, so earlier layers exist before later ones.
    const layer = Math.min(layers - 1, Math.floor((i * layers) / n));
    const name = `m_${pad(i + 1, width)}`;
    const r = rand();
    const kind = r < 0.45 ? 'table' : r < 0.8 ? 'view' : 'incremental';
    const count = 1 + Math.floor(rand() * 3);
    const refs = [];
    if (layer === 0) {
      for (let k = 0; k < count; k++) refs.push(seeds[Math.floor(rand() * seeds.length)].name);
    } else {
      // The first ref comes from the previous layer, keeping the graph deep; the others from any earlier layer.
      const prev = byLayer[layer - 1];
      refs.push(prev[Math.floor(rand() * prev.length)]);
      for (let k = 1; k < count; k++) {
        const l = Math.floor(rand() * layer);
        refs.push(byLayer[l][Math.floor(rand() * byLayer[l].length)]);
      }
    }
    const model = { name, layer, kind, refs: [...new Set(refs)], configInYaml: rand() < 0.1 };
    models.push(model);
    byLayer[layer].push(name);
  }
  return { kind: 'synthetic', date: o.date, layers, seeds, models };
}

/**
 * The realistic template shape: what models of a real project use beyond `ref()`, decided
 * per model from a PRNG of its own so that the spec's graph stays the plain shape's:
 *
 * - 35 % plain (config, refs and the date, as in the plain shape);
 * - of the others, 60 % compute columns in `{% for %}` loops over lists made by `{% set %}`,
 *   70 % call the project's macros with arguments (half the loop models, all the rest), and every
 *   incremental model filters in an `{% if is_incremental() %}` block;
 * - 20 % of all models have a YAML file beside them with checks (besides the 10 % whose
 *   config is there), and the project has four macros in two files under macros/.
 */
export function withTemplateShape(spec, seed = 7) {
  const rand = prng(seed);
  const models = spec.models.map((m) => {
    const plain = rand() < 0.35;
    const loop = !plain && rand() < 0.6;
    const macro = !plain && (!loop || rand() < 0.5);
    return { ...m, shape: { plain, loop, macro, checks: rand() < 0.2 } };
  });
  return { ...spec, shape: 'realistic', models };
}

/** The macros of the realistic shape; `runDate` is the date's expression in each tool's syntax. */
function shapeMacros(runDate) {
  return {
    'numbers.sql': `{% macro scaled(column, factor=1, digits=4) -%}
  round({{ column }} * {{ factor }}, {{ digits }})
{%- endmacro %}

{% macro safe_divide(numerator, denominator) -%}
  case when {{ denominator }} is null or {{ denominator }} = 0 then null else {{ numerator }} / {{ denominator }} end
{%- endmacro %}

{% macro weighted_sum(columns, weights) -%}
  {%- for c in columns %}coalesce({{ c }}, 0) * {{ weights[loop.index0] }}{% if not loop.last %} + {% endif %}{% endfor -%}
{%- endmacro %}
`,
    'dates.sql': `{% macro run_date() -%}
  '{{ ${runDate} }}'
{%- endmacro %}
`,
  };
}

/** A model's body in the realistic shape; `runDate` as in shapeMacros. */
function shapedBody(m, ref, runDate) {
  if (m.shape.plain) return modelBody(m, ref, `'{{ ${runDate} }}'`);
  const [first, ...rest] = m.refs;
  const aliases = m.refs.map((_, k) => `r${k}.v`);
  const lines = [];
  if (m.shape.loop) lines.push(`{%- set weights = [${m.refs.map((_, k) => k + 1).join(', ')}] %}`, `{%- set offsets = [1, 7, 28] %}`);
  lines.push('select r0.id, r0.ds,');
  const value = m.shape.macro
    ? `{{ scaled(weighted_sum(${JSON.stringify(aliases).replace(/"/g, "'")}, [${aliases.map(() => 1).join(', ')}]), factor=0.5) }}`
    : aliases.map((a, k) => (k === 0 ? a : `coalesce(${a}, 0) * 0.5`)).join(' + ');
  if (m.shape.loop) {
    lines.push(`  ${value} as v,`);
    lines.push('  {%- for w in weights %}', `  {{ ${m.shape.macro ? "safe_divide('r0.v', w)" : "'r0.v / ' ~ w"} }} as v_w{{ w }},`, '  {%- endfor %}');
    lines.push('  {%- for o in offsets %}', "  r0.id + {{ o }} as id_plus_{{ o }}{{ ',' if not loop.last }}", '  {%- endfor %}');
  } else {
    lines.push(`  ${value} as v`);
  }
  lines.push(`from ${ref(first)} as r0`);
  rest.forEach((r, k) => lines.push(`left join ${ref(r)} as r${k + 1} on r${k + 1}.id = r0.id and r${k + 1}.ds = r0.ds`));
  if (m.kind === 'incremental') {
    lines.push('{% if is_incremental() %}', `where r0.ds = {{ run_date() }}`, '{% else %}', `where r0.ds <= {{ run_date() }}`, '{% endif %}');
  }
  return `${lines.join('\n')}\n`;
}

/** Seed rows: ids 1..rows, each on one of the three days ending at the run's date. */
function seedCsv(seed, index, date) {
  const lines = ['id,ds,v'];
  for (let id = 1; id <= seed.rows; id++) lines.push(`${id},${addDays(date, -(id % 3))},${((id * (index + 7)) % 97) / 10}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The body every tool shares; `ref` renders a reference and `dsExpr` the run's date,
 * in each tool's own syntax.
 */
function modelBody(m, ref, dsExpr) {
  const [first, ...rest] = m.refs;
  const value = ['r0.v', ...rest.map((_, k) => `coalesce(r${k + 1}.v, 0) * 0.5`)].join(' + ');
  const lines = [`select r0.id, r0.ds, ${value} as v`, `from ${ref(first)} as r0`];
  rest.forEach((r, k) => lines.push(`left join ${ref(r)} as r${k + 1} on r${k + 1}.id = r0.id and r${k + 1}.ds = r0.ds`));
  if (m.kind === 'incremental') lines.push(`where r0.ds = ${dsExpr}`);
  return `${lines.join('\n')}\n`;
}

function writeFile(path, text) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** The model's file under models/, in a folder per layer. */
export const pipeModelPath = (dir, m) => join(dir, 'models', `layer_${pad(m.layer, 2)}`, `${m.name}.sql`);

export function writePipeProject(spec, dir) {
  rmSync(dir, { recursive: true, force: true });
  writeFile(join(dir, 'pipe.yaml'), 'name: bench\nthreads: 4\n');
  spec.seeds.forEach((s, i) => writeFile(join(dir, 'seeds', `${s.name}.csv`), seedCsv(s, i, spec.date)));
  writeFile(join(dir, 'seeds', 'raw_0.yaml'), 'column_types:\n  v: DOUBLE\n');
  if (spec.shape === 'realistic') for (const [file, text] of Object.entries(shapeMacros('ds'))) writeFile(join(dir, 'macros', file), text);
  for (const m of spec.models) {
    const config =
      m.kind === 'incremental'
        ? `materialized='incremental', partition_by='ds', tags=['layer_${m.layer}']`
        : `materialized='${m.kind}', tags=['layer_${m.layer}']`;
    const ref = (r) => `{{ ref('${r}') }}`;
    const body = m.shape ? shapedBody(m, ref, 'ds') : modelBody(m, ref, "'{{ ds }}'");
    const path = pipeModelPath(dir, m);
    const checks = m.shape?.checks ? `checks:\n  not_null: [id, ds]\n  unique: [[id, ds]]\n` : '';
    if (m.configInYaml) {
      const yaml = [`materialized: ${m.kind}`, ...(m.kind === 'incremental' ? ['partition_by: ds'] : []), `tags: [layer_${m.layer}]`];
      writeFile(path.replace(/\.sql$/, '.yaml'), `${yaml.join('\n')}\ndescription: synthetic model ${m.name}\n${checks}`);
      writeFile(path, body);
    } else {
      // Described, as a real project's models are: no two YAML files have the same text.
      if (checks) writeFile(path.replace(/\.sql$/, '.yaml'), `description: synthetic model ${m.name}\n${checks}`);
      writeFile(path, `{{ config(${config}) }}\n\n${body}`);
    }
  }
}

/** The same spec as a dbt project for dbt-duckdb: the run's date is `var('ds')`. */
export function writeDbtProject(spec, dir, dbPath) {
  rmSync(dir, { recursive: true, force: true });
  writeFile(
    join(dir, 'dbt_project.yml'),
    ["name: bench", "version: '1.0'", 'config-version: 2', 'profile: bench', "model-paths: ['models']", "seed-paths: ['seeds']", `vars:\n  ds: '${spec.date}'`].join('\n') + '\n',
  );
  writeFile(
    join(dir, 'profiles.yml'),
    `bench:\n  target: bench\n  outputs:\n    bench:\n      type: duckdb\n      path: '${dbPath}'\n      threads: 4\n`,
  );
  spec.seeds.forEach((s, i) => writeFile(join(dir, 'seeds', `${s.name}.csv`), seedCsv(s, i, spec.date)));
  writeFile(join(dir, 'seeds', 'properties.yml'), 'seeds:\n  - name: raw_0\n    config:\n      column_types:\n        v: DOUBLE\n');
  if (spec.shape === 'realistic') for (const [file, text] of Object.entries(shapeMacros('var("ds")'))) writeFile(join(dir, 'macros', file), text);
  for (const m of spec.models) {
    const config =
      m.kind === 'incremental'
        ? `materialized='incremental', incremental_strategy='delete+insert', unique_key='ds', tags=['layer_${m.layer}']`
        : `materialized='${m.kind}', tags=['layer_${m.layer}']`;
    const ref = (r) => `{{ ref('${r}') }}`;
    const body = m.shape ? shapedBody(m, ref, 'var("ds")') : modelBody(m, ref, "'{{ var(\"ds\") }}'");
    const path = join(dir, 'models', `layer_${pad(m.layer, 2)}`, `${m.name}.sql`);
    const tests = m.shape?.checks ? `    columns:\n      - name: id\n        data_tests: [not_null]\n      - name: ds\n        data_tests: [not_null]\n` : '';
    if (m.configInYaml) {
      const extra = m.kind === 'incremental' ? `\n      incremental_strategy: delete+insert\n      unique_key: ds` : '';
      writeFile(
        path.replace(/\.sql$/, '.yml'),
        `models:\n  - name: ${m.name}\n    description: synthetic model ${m.name}\n    config:\n      materialized: ${m.kind}\n      tags: [layer_${m.layer}]${extra}\n${tests}`,
      );
      writeFile(path, body);
    } else {
      if (tests) writeFile(path.replace(/\.sql$/, '.yml'), `models:\n  - name: ${m.name}\n${tests}`);
      writeFile(path, `{{ config(${config}) }}\n\n${body}`);
    }
  }
}

/**
 * SQLMesh's own reading of a dbt project (its dbt loader: `sqlmesh init -t dbt` writes the
 * same config.py), for timing SQLMesh on the dbt project's templates: every model starts at
 * the run's date.
 */
export function writeSqlmeshDbtConfig(spec, dir) {
  writeFile(
    join(dir, 'config.py'),
    [
      'from pathlib import Path',
      'from sqlmesh.core.config import ModelDefaultsConfig',
      'from sqlmesh.dbt.loader import sqlmesh_config',
      `config = sqlmesh_config(Path(__file__).parent, model_defaults=ModelDefaultsConfig(start='${spec.date}'))`,
    ].join('\n') + '\n',
  );
}

/**
 * The same spec as a SQLMesh project on DuckDB: tables are FULL, incremental models are
 * INCREMENTAL_BY_TIME_RANGE on `ds`, seeds are SEED models. Every model starts and ends at
 * the run's date so one plan builds exactly that date.
 */
export function writeSqlmeshProject(spec, dir, dbPath) {
  rmSync(dir, { recursive: true, force: true });
  writeFile(
    join(dir, 'config.yaml'),
    [
      'gateways:',
      '  local:',
      '    connection:',
      '      type: duckdb',
      `      database: '${dbPath}'`,
      '      concurrent_tasks: 4',
      'default_gateway: local',
      'model_defaults:',
      '  dialect: duckdb',
      `  start: '${spec.date}'`,
      '  cron: "@daily"',
      '',
    ].join('\n'),
  );
  const ref = (r) => `bench.${r}`;
  spec.seeds.forEach((s, i) => {
    writeFile(join(dir, 'seeds', `${s.name}.csv`), seedCsv(s, i, spec.date));
    writeFile(
      join(dir, 'models', 'seeds', `${s.name}.sql`),
      `MODEL (\n  name bench.${s.name},\n  kind SEED (path '../../seeds/${s.name}.csv'),\n  columns (id INT, ds DATE, v DOUBLE)\n);\n`,
    );
  });
  for (const m of spec.models) {
    const kind =
      m.kind === 'table' ? 'FULL' : m.kind === 'view' ? 'VIEW' : 'INCREMENTAL_BY_TIME_RANGE (time_column ds)';
    const body = modelBody(m, ref, '@start_ds').replace(/where r0\.ds = @start_ds\n$/, 'where r0.ds between @start_ds and @end_ds\n');
    writeFile(
      join(dir, 'models', `layer_${pad(m.layer, 2)}`, `${m.name}.sql`),
      `MODEL (\n  name bench.${m.name},\n  kind ${kind},\n  grain (id, ds)\n);\n\n${body}`,
    );
  }
}

/**
 * A chain of incremental models for backfills: a generated daily source and `depth`
 * models, each reading the one before, with small partitions.
 */
export function writeChainProject(dir, { depth = 4, rowsPerDay = 200 } = {}) {
  rmSync(dir, { recursive: true, force: true });
  writeFile(join(dir, 'pipe.yaml'), 'name: chain\n');
  writeFile(
    join(dir, 'models', 'src_events.sql'),
    `{{ config(materialized='incremental', partition_by='ds') }}\n\nselect i as id, '{{ ds }}'::date as ds, (i * 7) % 101 as v\nfrom range(${rowsPerDay}) t(i)\n`,
  );
  let prev = 'src_events';
  for (let k = 1; k <= depth; k++) {
    const name = `chain_${k}`;
    writeFile(
      join(dir, 'models', `${name}.sql`),
      `{{ config(materialized='incremental', partition_by='ds') }}\n\nselect id, ds, v * 2 + ${k} as v\nfrom {{ ref('${prev}') }}\nwhere ds = '{{ ds }}'\n`,
    );
    prev = name;
  }
}

/**
 * A heavy partitioned backfill: `days × rowsPerDay` events in a Parquet file (sorted by date),
 * and one incremental model that writes each date's rows into its table. Returns the model's
 * query for a date, for the plain SQL that does the same without pipe.
 * @param {string} dir
 * @param {{ start: string, days: number, rowsPerDay: number }} o
 */
export async function writeHeavyProject(dir, o) {
  rmSync(dir, { recursive: true, force: true });
  writeFile(join(dir, 'pipe.yaml'), 'name: heavy\n');
  const parquet = join(dir, 'data', 'events.parquet');
  mkdirSync(dirname(parquet), { recursive: true });
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    await c.run(`COPY (
      SELECT DATE '${o.start}' + CAST(i // ${o.rowsPerDay} AS INTEGER) AS event_date, i AS event_id,
             hash(i) % 100000 AS user_id, CAST(hash(i + 1) % 20000 AS BIGINT) AS amount_cents,
             ['view', 'click', 'cart', 'purchase'][CAST(hash(i + 2) % 4 AS INTEGER) + 1] AS kind
      FROM range(${o.days * o.rowsPerDay}) t(i)
    ) TO '${parquet}' (FORMAT parquet)`);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
  const query = (ds) => `select event_date, event_id, user_id, amount_cents / 100.0 as amount, upper(kind) as kind
from read_parquet('${parquet}')
where event_date = '${ds}'`;
  writeFile(join(dir, 'models', 'daily_events.sql'), `{{ config(materialized='incremental', partition_by='event_date') }}\n\n${query('{{ ds }}')}\n`);
  return { query, relation: '"main"."daily_events"' };
}

/**
 * A realistic project: a few million daily events and their users as CSV seeds, staging
 * views, incremental daily facts, and marts that scan the whole history. The CSV files are
 * written by DuckDB itself (`COPY … FROM range()`), which takes seconds for millions of rows.
 * @param {string} dir
 * @param {{ date: string, days?: number, events?: number, users?: number }} o
 */
export async function writeRealisticProject(dir, o) {
  const days = o.days ?? 30;
  const events = o.events ?? 3_000_000;
  const users = o.users ?? 100_000;
  const first = addDays(o.date, -(days - 1));
  rmSync(dir, { recursive: true, force: true });
  writeFile(join(dir, 'pipe.yaml'), 'name: realistic\nthreads: 4\n');
  writeFile(
    join(dir, 'seeds', 'raw_events.yaml'),
    'column_types:\n  event_id: BIGINT\n  user_id: BIGINT\n  event_ts: TIMESTAMP\n  event_type: VARCHAR\n  amount_cents: BIGINT\n',
  );
  writeFile(join(dir, 'seeds', 'raw_users.yaml'), 'column_types:\n  user_id: BIGINT\n  country: VARCHAR\n  signup_date: DATE\n');
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    // hash() spreads ids deterministically: the same arguments give the same files.
    await c.run(`COPY (
      SELECT i AS event_id,
             hash(i) % ${users} + 1 AS user_id,
             TIMESTAMP '${first} 00:00:00' + to_days(CAST(i % ${days} AS INTEGER)) + to_seconds(CAST(hash(i + 1) % 86400 AS BIGINT)) AS event_ts,
             ['view', 'view', 'view', 'click', 'click', 'cart', 'purchase'][CAST(hash(i + 2) % 7 AS INTEGER) + 1] AS event_type,
             CAST(hash(i + 3) % 20000 AS BIGINT) AS amount_cents
      FROM range(${events}) t(i)
    ) TO '${join(dir, 'seeds', 'raw_events.csv')}' (HEADER)`);
    await c.run(`COPY (
      SELECT i + 1 AS user_id,
             ['NL', 'DE', 'FR', 'BE', 'US', 'GB', 'ES', 'IT'][CAST(hash(i) % 8 AS INTEGER) + 1] AS country,
             DATE '${first}' - CAST(hash(i + 5) % 900 AS INTEGER) AS signup_date
      FROM range(${users}) t(i)
    ) TO '${join(dir, 'seeds', 'raw_users.csv')}' (HEADER)`);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
  const models = {
    'staging/stg_events.sql': `{{ config(materialized='view') }}

select event_id, user_id, event_ts, cast(event_ts as date) as event_date, event_type, amount_cents / 100.0 as amount
from {{ ref('raw_events') }}
`,
    'staging/stg_users.sql': `{{ config(materialized='view') }}

select user_id, country, signup_date
from {{ ref('raw_users') }}
`,
    'facts/fct_events.sql': `{{ config(materialized='incremental', partition_by='event_date') }}

select e.event_id, e.user_id, u.country, e.event_ts, e.event_date, e.event_type, e.amount
from {{ ref('stg_events') }} as e
join {{ ref('stg_users') }} as u using (user_id)
where e.event_date = '{{ ds }}'
`,
    'facts/fct_user_daily.sql': `{{ config(materialized='incremental', partition_by='event_date') }}

select user_id, event_date, any_value(country) as country, count(*) as events,
       count(*) filter (where event_type = 'purchase') as purchases,
       sum(amount) filter (where event_type = 'purchase') as revenue
from {{ ref('fct_events') }}
where event_date = '{{ ds }}'
group by user_id, event_date
`,
    'marts/mart_revenue_by_country.sql': `{{ config(materialized='table') }}

select event_date, country, sum(revenue) as revenue, sum(purchases) as purchases, count(*) as active_users
from {{ ref('fct_user_daily') }}
group by event_date, country
`,
    'marts/mart_daily_kpis.sql': `{{ config(materialized='table') }}

select event_date, event_type, count(*) as events, count(distinct user_id) as users, sum(amount) as amount
from {{ ref('stg_events') }}
group by event_date, event_type
`,
    'marts/mart_user_lifetime.sql': `{{ config(materialized='table') }}

select u.user_id, u.country, u.signup_date, count(e.event_id) as events,
       coalesce(sum(e.amount) filter (where e.event_type = 'purchase'), 0) as lifetime_revenue,
       min(e.event_ts) as first_seen, max(e.event_ts) as last_seen
from {{ ref('stg_users') }} as u
left join {{ ref('stg_events') }} as e using (user_id)
group by u.user_id, u.country, u.signup_date
`,
  };
  for (const [path, sql] of Object.entries(models)) writeFile(join(dir, 'models', path), sql);
  return { days, events, users, first };
}
