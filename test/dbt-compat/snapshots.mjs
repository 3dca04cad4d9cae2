#!/usr/bin/env node
/**
 * Snapshots, pipe against dbt-duckdb: one dbt project, built by `dbt seed && dbt snapshot &&
 * dbt run` in one copy and by `pipe run` in another, over several versions of its seed (rows
 * updated, added, deleted, back again, a column added, then nothing changed). After every
 * version each snapshot table (and a model reading one) must be the same in both warehouses:
 * the same columns with the same types, the same rows. Values that depend on the wall clock
 * (the time a check snapshot or a deletion is recorded at, and dbt_scd_id hashed from it) are
 * compared by the run that wrote them: each is replaced by the number of the run whose
 * interval holds it, and a dbt_scd_id found in one warehouse only by a mark (every dbt_scd_id
 * is also checked to be unique).
 *
 * Not part of `npm test` (it needs dbt): build pipe, then
 *   python3 -m venv /tmp/dbtvenv && /tmp/dbtvenv/bin/pip install 'dbt-core==1.10.23' 'dbt-duckdb==1.9.6'
 *   node test/dbt-compat/snapshots.mjs     # DBT=/path/to/dbt (and PYTHON=, with duckdb) to use others
 * It prints one line per table and version, and exits 1 on a difference.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PIPE = join(REPO, 'dist/cli/main.js');
const DBT = process.env.DBT ?? '/tmp/dbtvenv/bin/dbt';
const PYTHON = process.env.PYTHON ?? join(dirname(DBT), 'python');
const ENV = { ...process.env, TZ: 'UTC', NO_COLOR: '1', DBT_SEND_ANONYMOUS_USAGE_STATS: 'false' };

const snapshot = (name, config) => `{% snapshot ${name} %}\n{{ config(${config}) }}\nselect * from {{ ref('orders') }}\n{% endsnapshot %}\n`;

const PROJECT = {
  'dbt_project.yml': `name: shop
profile: shop
config-version: 2
snapshots:
  shop:
    +tags: [history]
    folder_cfg:
      +hard_deletes: invalidate
`,
  'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: warehouse.duckdb\n      threads: 1\n',
  'snapshots/timestamp.sql': [
    snapshot('ts_ignore', "unique_key='id', strategy='timestamp', updated_at='updated_at'"),
    snapshot('ts_invalidate', "unique_key='id', strategy='timestamp', updated_at='updated_at', hard_deletes='invalidate'"),
    snapshot('ts_new_record', "unique_key='id', strategy='timestamp', updated_at='updated_at', hard_deletes='new_record'"),
    snapshot('ts_legacy_invalidate', "unique_key='id', strategy='timestamp', updated_at='updated_at', invalidate_hard_deletes=True"),
    snapshot('ts_expression_key', "unique_key=\"id || '-' || region\", strategy='timestamp', updated_at='updated_at'"),
    snapshot('ts_composite_new_record', "unique_key=['id', 'region'], strategy='timestamp', updated_at='updated_at', hard_deletes='new_record'"),
    snapshot('ts_current_new_record', "unique_key='id', strategy='timestamp', updated_at='updated_at', hard_deletes='new_record', dbt_valid_to_current=\"'9999-12-31'::timestamp\""),
    snapshot(
      'ts_renamed',
      "unique_key='id', strategy='timestamp', updated_at='updated_at', hard_deletes='new_record', snapshot_meta_column_names={'dbt_valid_from': 'valid_from', 'dbt_valid_to': 'valid_to', 'dbt_scd_id': 'scd_id', 'dbt_updated_at': 'changed_at', 'dbt_is_deleted': 'is_deleted'}",
    ),
    snapshot('ts_schema', "unique_key='id', strategy='timestamp', updated_at='updated_at', schema='history', alias='orders_history'"),
    snapshot('ts_target_schema', "unique_key='id', strategy='timestamp', updated_at='updated_at', target_schema='archive'"),
  ].join('\n'),
  'snapshots/check.sql': [
    snapshot('chk_cols_ignore', "unique_key='id', strategy='check', check_cols=['status', 'amount']"),
    snapshot('chk_all_invalidate', "unique_key='id', strategy='check', check_cols='all', hard_deletes='invalidate'"),
    snapshot('chk_new_record', "unique_key='id', strategy='check', check_cols=['status', 'amount'], hard_deletes='new_record'"),
    snapshot('chk_updated_at', "unique_key='id', strategy='check', check_cols=['status'], updated_at='updated_at', hard_deletes='invalidate'"),
    snapshot('chk_current_invalidate', "unique_key='id', strategy='check', check_cols='all', hard_deletes='invalidate', dbt_valid_to_current=\"'9999-12-31'::timestamp\""),
  ].join('\n'),
  'snapshots/folder_cfg.sql': snapshot('folder_invalidate', "unique_key='id', strategy='timestamp', updated_at='updated_at'"),
  'snapshots/declared.yml': `snapshots:
  - name: yaml_new_record
    relation: ref('orders')
    config:
      unique_key: id
      strategy: check
      check_cols: all
      hard_deletes: new_record
`,
  'models/current_orders.sql': "select id, status, amount from {{ ref('ts_new_record') }} where dbt_valid_to is null and dbt_is_deleted = 'False'",
};

const HEADER = 'id,region,status,amount,updated_at';
/** The seed, version by version. */
const VERSIONS = [
  ['first rows', HEADER, '1,eu,new,10,2024-01-01 10:00:00', '2,eu,new,20,2024-01-01 11:00:00', '3,us,new,30,2024-01-01 12:00:00', '4,us,new,40,2024-01-01 13:00:00', '6,us,new,,2024-01-01 14:00:00'],
  // 1 updated, 2 deleted, 3 changed without a newer updated_at, 5 new.
  ['updated, deleted, added', HEADER, '1,eu,shipped,10,2024-01-02 10:00:00', '3,us,new,31,2024-01-01 12:00:00', '4,us,new,40,2024-01-01 13:00:00', '5,eu,new,50,2024-01-02 12:00:00', '6,us,new,,2024-01-01 14:00:00'],
  // 2 back, 4 deleted, 5 moved to another region (a new key for the composite one), 6 from NULL to a value.
  ['back again, deleted, moved', HEADER, '1,eu,shipped,10,2024-01-02 10:00:00', '2,eu,returned,20,2024-01-03 09:00:00', '3,us,new,31,2024-01-01 12:00:00', '5,us,new,50,2024-01-03 12:00:00', '6,us,new,60,2024-01-03 14:00:00'],
  // A column added; 3 updated.
  ['a new column', `${HEADER},note`, '1,eu,shipped,10,2024-01-02 10:00:00,a', '2,eu,returned,20,2024-01-03 09:00:00,b', '3,us,paid,31,2024-01-04 12:00:00,c', '5,us,new,50,2024-01-03 12:00:00,d', '6,us,new,60,2024-01-03 14:00:00,e'],
  ['nothing changed', `${HEADER},note`, '1,eu,shipped,10,2024-01-02 10:00:00,a', '2,eu,returned,20,2024-01-03 09:00:00,b', '3,us,paid,31,2024-01-04 12:00:00,c', '5,us,new,50,2024-01-03 12:00:00,d', '6,us,new,60,2024-01-03 14:00:00,e'],
];

const TABLES = [
  ...['ts_ignore', 'ts_invalidate', 'ts_new_record', 'ts_legacy_invalidate', 'ts_expression_key', 'ts_composite_new_record', 'ts_current_new_record', 'ts_renamed'].map((t) => `main.${t}`),
  'main_history.orders_history',
  'archive.ts_target_schema',
  ...['chk_cols_ignore', 'chk_all_invalidate', 'chk_new_record', 'chk_updated_at', 'chk_current_invalidate', 'folder_invalidate', 'yaml_new_record', 'current_orders'].map((t) => `main.${t}`),
];

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, env: ENV, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${cwd} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
}

/**
 * Reads a table with the duckdb Python package beside dbt (dbt-duckdb's DuckDB may be newer
 * than pipe's, and write files pipe's cannot read; it reads pipe's), every value as text.
 */
const READER = `
import duckdb, json, sys
con = duckdb.connect(sys.argv[1], read_only=True)
columns = [f"{r[0]} {r[1]}" for r in con.execute(f"DESCRIBE {sys.argv[2]}").fetchall()]
cur = con.execute(f"SELECT * FROM {sys.argv[2]}")
names = [d[0] for d in cur.description]
rows = [dict(zip(names, [None if v is None else str(v) for v in row])) for row in cur.fetchall()]
print(json.dumps({"columns": columns, "rows": rows}))
`;

/** The rows of a table, with its columns; time-dependent values replaced as said above. */
function read(db, table, runs) {
  const r = spawnSync(PYTHON, ['-c', READER, db, table], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`reading ${table} of ${db}: ${r.stderr}`);
  const { columns, rows } = JSON.parse(r.stdout);
  return { columns, rows: rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, byRun(v, runs)]))) };
}

/** A timestamp written while run N ran becomes `run N`. */
function byRun(value, runs) {
  if (typeof value !== 'string' || !/^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d/.test(value)) return value;
  const t = Date.parse(`${value.replace(' ', 'T')}Z`);
  const i = runs.findIndex((r) => t >= r.start && t <= r.end);
  return i < 0 ? value : `run ${i + 1}`;
}

const SCD = /^(dbt_)?scd_id$/;

/** Marks the dbt_scd_id values the other warehouse does not have (hashed from a time), after checking they are unique. */
function markScd(a, b, table, problems) {
  for (const side of [a, b]) {
    for (const key of Object.keys(side.rows[0] ?? {}).filter((k) => SCD.test(k))) {
      const ids = side.rows.map((r) => r[key]);
      if (new Set(ids).size !== ids.length) problems.push(`${table}: ${key} is not unique`);
    }
  }
  const mark = (side, other) => {
    const known = new Set(other.rows.flatMap((r) => Object.entries(r).filter(([k]) => SCD.test(k)).map(([, v]) => v)));
    side.rows = side.rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, SCD.test(k) && !known.has(v) ? 'hash of a run time' : v])));
  };
  const [ma, mb] = [structuredClone(a), structuredClone(b)];
  mark(ma, b);
  mark(mb, a);
  return [ma, mb];
}

const sorted = (rows) => rows.map((r) => JSON.stringify(r)).sort();

async function main() {
  spawnSync(DBT, ['--version'], { encoding: 'utf8' }).status === 0 || fail(`no dbt at ${DBT}: set DBT`);
  const root = mkdtempSync(join(tmpdir(), 'pipe-dbt-snapshots-'));
  const dirs = { dbt: join(root, 'dbt'), pipe: join(root, 'pipe') };
  for (const dir of Object.values(dirs)) {
    for (const [file, text] of Object.entries(PROJECT)) {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), text);
    }
  }
  const runs = { dbt: [], pipe: [] };
  const problems = [];
  let compared = 0;
  for (const [v, [label, ...lines]] of VERSIONS.entries()) {
    for (const dir of Object.values(dirs)) {
      mkdirSync(join(dir, 'seeds'), { recursive: true });
      writeFileSync(join(dir, 'seeds/orders.csv'), `${lines.join('\n')}\n`);
    }
    let start = Date.now();
    run(DBT, ['seed', '--full-refresh', '--profiles-dir', '.'], dirs.dbt);
    run(DBT, ['snapshot', '--profiles-dir', '.'], dirs.dbt);
    run(DBT, ['run', '--profiles-dir', '.'], dirs.dbt);
    runs.dbt.push({ start, end: Date.now() });
    start = Date.now();
    run(process.execPath, [PIPE, 'run'], dirs.pipe);
    runs.pipe.push({ start, end: Date.now() });
    for (const table of TABLES) {
      const dbt = read(join(dirs.dbt, 'warehouse.duckdb'), table, runs.dbt);
      const pipe = read(join(dirs.pipe, 'warehouse.duckdb'), table, runs.pipe);
      const [d, p] = markScd(dbt, pipe, table, problems);
      const same = JSON.stringify(d.columns) === JSON.stringify(p.columns) && JSON.stringify(sorted(d.rows)) === JSON.stringify(sorted(p.rows));
      compared++;
      console.log(`${same ? 'same' : 'DIFFERENT'}  version ${v + 1} (${label})  ${table}: ${p.rows.length} rows, ${p.columns.length} columns`);
      if (!same) {
        problems.push(`${table} after version ${v + 1}`);
        console.log(`  dbt:  ${d.columns.join(', ')}\n${sorted(d.rows).map((r) => `    ${r}`).join('\n')}`);
        console.log(`  pipe: ${p.columns.join(', ')}\n${sorted(p.rows).map((r) => `    ${r}`).join('\n')}`);
      }
    }
  }
  console.log(`\n${compared - problems.length} of ${compared} comparisons the same${problems.length ? `; differences: ${problems.join('; ')}` : ''}`);
  if (problems.length === 0) rmSync(root, { recursive: true, force: true });
  else console.log(`projects kept in ${root}`);
  process.exit(problems.length === 0 ? 0 : 1);
}

function fail(message) {
  console.error(message);
  process.exit(2);
}

await main();
