import { mkdtempSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { analyze, AnalysisCache, type Analysis, type AnalyzeOptions, type ModelNode, type SeedNode } from '../../src/analyze/analyze.js';
import type { Diagnostic } from '../../src/diagnostics/diagnostics.js';
import { analyzeAndSelect } from '../../src/commands/context.js';
import { DiagnosticError } from '../../src/diagnostics/diagnostics.js';
import { dayInterval, hourInterval, parseDate } from '../../src/dates/dates.js';
import { NO_TABLE } from '../../src/plan/materializations.js';
import { loadProject } from '../../src/project/load-project.js';
import { CachedFs, type ProjectFs } from '../../src/project/project-fs.js';

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function project(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'pipe-analyze-'));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const day = dayInterval(parseDate('2024-01-02')!);

function run(files: Record<string, string>, options: Partial<AnalyzeOptions> = {}): Analysis {
  return analyze(loadProject(project(files)), { interval: day, ...options });
}

/** The SQL a model renders to for the analysed day, its table existing or not. */
function sqlOf(a: Analysis, name: string, tableExists = false): string {
  const r = a.renderer.sql(name, day, { tableExists, fullRefresh: false });
  if ('severity' in r) throw new Error(`${r.code}: ${r.message}`);
  return r.sql;
}

const model = (a: Analysis, name: string) => a.nodes.get(name) as ModelNode;
const where = (d: Diagnostic) => `${d.location?.file}:${d.location?.line}:${d.location?.column}`;

describe('template rendering', () => {
  it('resolves ref() to the quoted relation and records the dependency', () => {
    const a = run({
      'models/orders.sql': 'select 1 as id',
      'models/marts/daily.sql': "select *\nfrom {{ ref('orders') }} o\njoin {{ ref('lookup') }} l using (id)",
      'seeds/lookup.csv': 'id,name\n1,a\n',
    });
    expect(a.diagnostics).toEqual([]);
    expect(sqlOf(a, 'daily')).toBe('select *\nfrom "main"."orders" o\njoin "main"."lookup" l using (id)');
    expect([...model(a, 'daily').upstream].sort()).toEqual(['lookup', 'orders']);
    expect(a.graph.upstream.get('daily')).toEqual(['orders', 'lookup']);
    expect(model(a, 'daily').refs.map((r) => [r.name, r.location.line, r.location.column])).toEqual([
      ['orders', 2, 9],
      ['lookup', 3, 9],
    ]);
  });

  it('gives the date variables of the interval', () => {
    const a = run({ 'models/d.sql': "select '{{ ds }}' a, '{{ ds_nodash }}' b, '{{ prev_ds }}' c, '{{ next_ds }}' d, '{{ interval_start }}' e, '{{ interval_end }}' f" });
    expect(sqlOf(a, 'd')).toBe("select '2024-01-02' a, '20240102' b, '2024-01-01' c, '2024-01-03' d, '2024-01-02' e, '2024-01-03' f");
    // The same compiled model renders for another date.
    const other = a.renderer.sql('d', dayInterval(parseDate('2024-03-01')!), NO_TABLE);
    expect('sql' in other && other.sql).toContain("'2024-02-29' c");
  });

  it('sets hour only for an interval of an hour: a whole day renders a model using it as an error at its line, in a macro too', () => {
    const files = {
      'macros/h.sql': '{% macro h() %}{{ hour }}{% endmacro %}',
      'seeds/events.csv': 'ts\n2024-01-02 13:30:00\n',
      'models/ev.sql': "select * from {{ ref('events') }}\nwhere hour(ts) = {{ hour }}",
      'models/via.sql': 'select {{ h() }} as h',
      'models/guarded.sql': "select {% if hour is defined %}{{ hour }}{% else %}'all'{% endif %} as h",
    };
    // Analyzed at a day, the models are known all the same (any command analyzes an hourly model).
    const daily = run(files);
    expect(daily.diagnostics).toEqual([]);
    expect(model(daily, 'ev').upstream).toEqual(['events']);
    const failure = (name: string) => {
      const r = daily.renderer.sql(name, day, NO_TABLE);
      return 'severity' in r ? [r.code, where(r), r.message, r.hint] : r.sql;
    };
    const hint = expect.stringContaining('hour is set only when a run covers one hour');
    expect(failure('ev')).toEqual(['unset-hour', 'models/ev.sql:2:18', "'hour' is undefined (or null) in template output", hint]);
    expect(failure('via')).toEqual(['unset-hour', 'macros/h.sql:1:16', "'hour' is undefined (or null) in template output", hint]);
    expect(sqlOf(daily, 'guarded')).toBe("select 'all' as h");
    const hour = hourInterval(day.start + 13 * 3_600_000);
    const at13 = daily.renderer.sql('ev', hour, NO_TABLE);
    expect('sql' in at13 && at13.sql).toBe('select * from "main"."events"\nwhere hour(ts) = 13');
    // One cache, for a day then an hour: the engine made for the day has hour for the hour.
    const cache = new AnalysisCache();
    const root = project(files);
    analyze(loadProject(root), { interval: day }, cache);
    const byHour = analyze(loadProject(root), { interval: hour }, cache);
    expect(byHour.diagnostics).toEqual([]);
    const guarded = byHour.renderer.sql('guarded', hour, NO_TABLE);
    expect('sql' in guarded && guarded.sql).toBe('select 13 as h');
  });

  it('renders this as the model relation, in the schema config() gives it', () => {
    const a = run({
      'models/plain.sql': "select '{{ this }}' as t",
      'models/marted.sql': "select '{{ this }}' as t\n{{ config(schema='mart') }}",
    });
    expect(sqlOf(a, 'plain')).toBe(`select '"main"."plain"' as t`);
    expect(sqlOf(a, 'marted')).toBe(`select '"mart"."marted"' as t`);
    expect(model(a, 'marted').relation).toBe('"mart"."marted"');
  });

  it('takes var() from --var, then the pipeline, then pipe.yaml, then the default', () => {
    const a = run(
      {
        'pipe.yaml': 'vars:\n  a: project\n  b: project\n  c: project\n',
        'pipelines/p.yaml': 'vars:\n  b: pipeline\n  c: pipeline\n',
        'models/v.sql': "select '{{ var('a') }}' a, '{{ var('b') }}' b, '{{ var('c') }}' c, '{{ var('d', 'default') }}' d",
      },
      { pipeline: 'p', vars: { c: 'cli' } },
    );
    expect(a.diagnostics).toEqual([]);
    expect(sqlOf(a, 'v')).toBe("select 'project' a, 'pipeline' b, 'cli' c, 'default' d");
  });

  it('does not use the vars of a pipeline that is not run', () => {
    const a = run({ 'pipe.yaml': 'vars:\n  b: project\n', 'pipelines/p.yaml': 'vars:\n  b: pipeline\n', 'models/v.sql': "select '{{ var('b') }}' b" });
    expect(sqlOf(a, 'v')).toBe("select 'project' b");
  });

  describe('env_var()', () => {
    const saved = process.env.PIPE_TEST_REGION;
    afterEach(() => {
      if (saved === undefined) delete process.env.PIPE_TEST_REGION;
      else process.env.PIPE_TEST_REGION = saved;
    });

    it('reads the environment, else the default', () => {
      process.env.PIPE_TEST_REGION = 'eu-west';
      delete process.env.PIPE_TEST_UNSET_VARIABLE;
      const a = run({ 'models/e.sql': "select '{{ env_var('PIPE_TEST_REGION') }}' r, '{{ env_var('PIPE_TEST_UNSET_VARIABLE', 'none') }}' u" });
      expect(sqlOf(a, 'e')).toBe("select 'eu-west' r, 'none' u");
    });

    it('is an error at its line when unset without a default', () => {
      delete process.env.PIPE_TEST_UNSET_VARIABLE;
      const a = run({ 'models/e.sql': "select 1,\n  '{{ env_var('PIPE_TEST_UNSET_VARIABLE') }}' as u" });
      expect(a.diagnostics).toHaveLength(1);
      expect(a.diagnostics[0]).toMatchObject({
        code: 'template-render',
        message: "environment variable 'PIPE_TEST_UNSET_VARIABLE' is not set and env_var() was given no default",
        location: { file: 'models/e.sql', line: 2 },
      });
    });
  });

  it('answers is_incremental() from the materialization, the existing table and --full-refresh', () => {
    const files = {
      'models/inc.sql':
        "{{ config(materialized='incremental', partition_by='d') }}\nselect 1 as d\n{% if is_incremental() %}-- incremental{% else %}-- full{% endif %}",
      // config() after is_incremental() still counts.
      'models/late.sql': "{% if is_incremental() %}select 'inc' as k{% else %}select 'full' as k{% endif %}\n{{ config(materialized='incremental', partition_by='k') }}",
      'models/tab.sql': "select {% if is_incremental() %}'inc'{% else %}'full'{% endif %} as k",
    };
    const fresh = run(files);
    expect(fresh.diagnostics).toEqual([]);
    expect(sqlOf(fresh, 'inc', false)).toContain('-- full');
    const existing = new Set(['"main"."inc"', '"main"."late"', '"main"."tab"']);
    const a = run(files, { existingRelations: existing });
    expect(sqlOf(a, 'inc', true)).toContain('-- incremental');
    expect(sqlOf(a, 'late', true)).toBe("select 'inc' as k");
    expect(sqlOf(a, 'late', false)).toBe("select 'full' as k");
    // --full-refresh rebuilds from nothing, though the table exists.
    const full = a.renderer.sql('inc', day, { tableExists: true, fullRefresh: true });
    expect('sql' in full && full.sql).toContain('-- full');
    // A table model is never incremental, even when it exists.
    expect(sqlOf(a, 'tab', true)).toBe("select 'full' as k");
  });

  it('lets macros see ds, this, ref() and var() like the calling model', () => {
    const a = run({
      'pipe.yaml': 'vars:\n  currency: EUR\n',
      'macros/helpers.sql':
        "{% macro stamp(col) -%} {{ col }} || '{{ ds }}' || '{{ this }}' || '{{ var('currency') }}' {%- endmacro %}\n" +
        "{% macro lookup() -%} (select max(id) from {{ ref('ids') }}) {%- endmacro %}",
      'models/ids.sql': 'select 1 as id',
      'models/m.sql': 'select {{ stamp("name") }} as s, {{ lookup() }} as l',
    });
    expect(a.diagnostics).toEqual([]);
    expect(sqlOf(a, 'm')).toBe(`select name || '2024-01-02' || '"main"."m"' || 'EUR' as s, (select max(id) from "main"."ids") as l`);
    // A ref() inside a macro is a dependency of the model that calls it.
    expect(model(a, 'm').upstream).toEqual(['ids']);
  });

  it("inlines ephemeral models as CTEs, merged into the model's own WITH clause", () => {
    const a = run({
      'models/base.sql': 'select 1 as id',
      'models/eph.sql': "{{ config(materialized='ephemeral') }}\nselect id from {{ ref('base') }};",
      'models/plain.sql': "select * from {{ ref('eph') }}",
      'models/withed.sql': "-- leading comment\nwith x as (select * from {{ ref('eph') }})\nselect * from x",
    });
    expect(a.diagnostics).toEqual([]);
    expect(sqlOf(a, 'plain')).toBe('with "__pipe_ephemeral__eph" as (\n\nselect id from "main"."base"\n)\nselect * from "__pipe_ephemeral__eph"');
    expect(sqlOf(a, 'withed')).toBe(
      '-- leading comment\nwith "__pipe_ephemeral__eph" as (\n\nselect id from "main"."base"\n),\nx as (select * from "__pipe_ephemeral__eph")\nselect * from x',
    );
    // The ephemeral model's own upstream is the real dependency.
    expect(model(a, 'plain').upstream).toEqual(['eph']);
    expect(a.graph.upstream.get('eph')).toEqual(['base']);
  });

  it('inlines nested ephemeral models once each, inner ones first', () => {
    const a = run({
      'models/base.sql': 'select 1 as id',
      'models/e1.sql': "{{ config(materialized='ephemeral') }}\nselect id from {{ ref('base') }}",
      'models/e2.sql': "{{ config(materialized='ephemeral') }}\nselect id from {{ ref('e1') }}",
      'models/m.sql': "select * from {{ ref('e2') }} join {{ ref('e1') }} using (id)",
    });
    expect(a.diagnostics).toEqual([]);
    const sql = sqlOf(a, 'm');
    expect(sql.match(/"__pipe_ephemeral__e\d" as \(/g)).toEqual(['"__pipe_ephemeral__e1" as (', '"__pipe_ephemeral__e2" as (']);
    expect(sql.endsWith('select * from "__pipe_ephemeral__e2" join "__pipe_ephemeral__e1" using (id)')).toBe(true);
  });

  it('finds ref() sites written with double quotes and spaces', () => {
    const a = run({ 'models/orders.sql': 'select 1 as id', 'models/m.sql': 'select *\n  from {{ ref( "orders" ) }}' });
    expect(model(a, 'm').refs.map((r) => [r.name, r.location.line, r.location.column])).toEqual([['orders', 2, 11]]);
  });

  it('strips a trailing semicolon and keeps line numbers of the file', () => {
    const a = run({ 'models/s.sql': "{{ config(materialized='table') }}\nselect 1 as x;\n\n" });
    expect(sqlOf(a, 's')).toBe('\nselect 1 as x');
  });
});

describe('config', () => {
  it('reads config from config() and from the YAML beside the model', () => {
    const a = run({
      'models/a.sql': "{{ config(materialized='incremental', partition_by='d', tags=['daily']) }}\nselect current_date as d",
      'models/b.sql': 'select 1 as x',
      'models/b.yaml': 'materialized: view\ntags: [hourly, x]\nschema: staging\ndescription: B\n',
    });
    expect(a.diagnostics).toEqual([]);
    expect(model(a, 'a').config).toMatchObject({ materialized: 'incremental', partition_by: 'd', tags: ['daily'], schema: 'main' });
    expect(model(a, 'b').config).toMatchObject({ materialized: 'view', tags: ['hourly', 'x'], schema: 'staging', description: 'B' });
    expect(model(a, 'b').relation).toBe('"staging"."b"');
  });

  it("takes a macro's output as its text, as dbt's Jinja passes a str: config(materialized=mat(), schema=sch(), tags=[tag()])", () => {
    const a = run({
      'macros/names.sql': "{% macro mat() %}view{% endmacro %}\n{% macro sch() %}other{% endmacro %}\n{% macro tag() %}daily{% endmacro %}\n",
      'models/a.sql': '{{ config(materialized=mat(), schema=sch(), tags=[tag()]) }}\nselect 1 as x',
    });
    expect(a.diagnostics).toEqual([]);
    expect(model(a, 'a').config).toMatchObject({ materialized: 'view', schema: 'other', tags: ['daily'] });
  });

  it('is an error to set one key in both places, pointing at both', () => {
    const a = run({
      'models/a.sql': "-- a model\n{{ config(materialized='view', tags=['x']) }}\nselect 1",
      'models/a.yaml': 'description: fine\nmaterialized: table\n',
    });
    expect(a.diagnostics).toHaveLength(1);
    const d = a.diagnostics[0];
    expect(d.code).toBe('config-conflict');
    expect(d.message).toBe("'materialized' is set both in config() and in models/a.yaml; set it in one place");
    expect(where(d)).toBe('models/a.sql:2:11');
    expect(d.related).toEqual([{ message: 'also set here', location: { file: 'models/a.yaml', line: 2 } }]);
  });

  it('reports an unknown key with the closest known key, in the template or the YAML', () => {
    const a = run({
      'models/a.sql': "\n{{ config(materialzed='view') }}\nselect 1",
      'models/b.sql': 'select 1',
      'models/b.yaml': 'tags: [x]\npartiton_by: d\n',
      'models/c.sql': "{{ config(colour='blue') }}\nselect 1",
    });
    const byFile = Object.fromEntries(a.diagnostics.map((d) => [d.location!.file, d]));
    expect(byFile['models/a.sql']).toMatchObject({
      code: 'unknown-key',
      message: "unknown config key 'materialzed'",
      location: { file: 'models/a.sql', line: 2, column: 11 },
      hint: "did you mean 'materialized'?",
    });
    expect(byFile['models/b.yaml']).toMatchObject({
      message: "unknown config key 'partiton_by'",
      location: { file: 'models/b.yaml', line: 2 },
      hint: "did you mean 'partition_by'?",
    });
    // No close key: the hint lists the known ones.
    expect(byFile['models/c.sql'].hint).toMatch(/^known keys: materialized, partition_by, tags,/);
  });

  it('rejects bad values with the key location', () => {
    const a = run({
      'models/a.sql': "{{ config(materialized='snapshot') }}\nselect 1",
      'models/a2.sql': "{{ config(materialized='materialised_view') }}\nselect 1",
      'models/b.sql': "{{ config(materialized='incremental') }}\nselect 1",
      'models/c.sql': 'select 1',
      'models/c.yaml': 'tags: [x]\nschema: "bad schema"\ndepends_on_past: yes please\n',
    });
    const messages = a.diagnostics.map((d) => `${where(d)} ${d.message}`).sort();
    expect(messages).toEqual([
      "models/a.sql:1:11 materialized 'snapshot' is not a model's: a snapshot is a {% snapshot %} block under the snapshot folders, or a snapshots: entry with relation: in a properties file",
      'models/a2.sql:1:11 materialized must be one of table, view, incremental, external, ephemeral; got "materialised_view"',
      "models/b.sql:1:11 an incremental model needs partition_by (the column that places each row in a date), unique_key, or incremental_strategy microbatch or append",
      'models/c.yaml:2:undefined schema must be a plain identifier (letters, digits, underscores and $, starting with a letter or an underscore)',
      'models/c.yaml:3:undefined depends_on_past must be true or false',
    ]);
  });

  it("refuses a schema that holds pipe's run state or is DuckDB's own, for models, seeds and snapshots", () => {
    const a = run({
      'models/runs.sql': "{{ config(schema='_pipe', materialized='table') }}\nselect 1 as a",
      'models/cat.sql': "{{ config(schema='Information_Schema') }}\nselect 1 as a",
      'models/t.sql': 'select 1 as a',
      'models/t.yaml': 'schema: temp\n',
      'seeds/s.csv': 'a\n1\n',
      'seeds/s.yaml': 'schema: _PIPE\n',
      'snapshots/snap.sql': "{% snapshot snap %}{{ config(unique_key='a', strategy='check', check_cols='all', target_schema='system') }}select 1 as a{% endsnapshot %}",
    });
    expect(a.diagnostics.map((d) => `${where(d)} ${d.message}`).sort()).toEqual([
      "models/cat.sql:1:11 schema 'Information_Schema' is DuckDB's catalog: nothing may be built in it",
      "models/runs.sql:1:11 schema '_pipe' holds pipe's run state: nothing else may be built in it",
      "models/t.yaml:1:undefined 'temp' names one of DuckDB's own databases, and cannot be a schema of the warehouse",
      "seeds/s.yaml:1:undefined schema '_PIPE' holds pipe's run state: nothing else may be built in it",
      "snapshots/snap.sql:1:82 'system' names one of DuckDB's own databases, and cannot be a schema of the warehouse",
    ]);
  });

  it('refuses two macros of one name, in two files or one, and calls a private macro of the project by its name', () => {
    const a = run({
      'macros/money.sql': "{% macro cents(c) %}{{ c }} / 100{% endmacro %}\n{% macro _up() %}upper{% endmacro %}\n",
      'macros/zz.sql': "{% macro other() %}1{% endmacro %}\n\n{% macro cents(c) %}{{ c }} / 1000{% endmacro %}\n{% macro other() %}2{% endmacro %}\n",
      'models/m.sql': "select {{ cents('x') }} as a, {{ _up() }}('b') as b",
    });
    expect(a.diagnostics.map((d) => [where(d), d.message, d.related?.[0].location.line])).toEqual([
      ['macros/zz.sql:4:undefined', 'macro other is defined twice: at macros/zz.sql:1 and here', 1],
      ['macros/zz.sql:3:undefined', 'macro cents is defined twice: at macros/money.sql:1 and here', 1],
    ]);
    const ok = run({ 'macros/money.sql': "{% macro _up() %}upper{% endmacro %}\n", 'models/m.sql': "select {{ _up() }}('b') as b" });
    expect(ok.diagnostics).toEqual([]);
    expect(sqlOf(ok, 'm')).toBe("select upper('b') as b");
  });

  it('validates a seed YAML', () => {
    const a = run({
      'seeds/s.csv': 'a,b\n1,2\n',
      'seeds/s.yaml': 'column_types:\n  a: INTEGER\n  b: VARCHAR\ncolumn_typos: {}\n',
      'seeds/t.csv': 'a\n1\n',
      'seeds/t.yaml': 'column_types: [INTEGER]\n',
      'seeds/u.csv': 'id,price\n1,2.5\n',
      'seeds/u.yaml': 'column_types: {id: INTEGER, price: DECIMAL(10,2)}\n',
    });
    expect((a.nodes.get('s') as SeedNode).columnTypes).toEqual({ a: 'INTEGER', b: 'VARCHAR' });
    expect(a.diagnostics.map((d) => [d.code, where(d), d.hint])).toEqual([
      ['unknown-key', 'seeds/s.yaml:4:undefined', "did you mean 'column_types'?"],
      ['bad-config', 'seeds/t.yaml:1:undefined', undefined],
      ['bad-config', 'seeds/u.yaml:1:undefined', undefined],
    ]);
    expect(a.diagnostics[1].message).toBe('column_types must map column names to DuckDB types, e.g. {amount: "DECIMAL(10,2)"}, or one column a line');
    // The example quotes its type: in a {…} mapping, YAML splits a type at its comma.
    expect(a.diagnostics[2].message).toBe('column_types: price\'s type DECIMAL(10,2) was split at its comma, as YAML splits a {…} mapping: quote it ({price: "DECIMAL(10,2)"}) or write one column a line');
  });
});

describe('project problems', () => {
  it('names the closest model and the file:line:col of an unknown ref', () => {
    const a = run({ 'models/orders.sql': 'select 1 as id', 'models/a.sql': "select *\nfrom {{ ref('ordrs') }}" });
    expect(a.diagnostics).toEqual([
      {
        severity: 'error',
        code: 'unknown-ref',
        message: "ref('ordrs'): no model or seed is named 'ordrs'",
        location: { file: 'models/a.sql', line: 2, column: 9 },
        hint: "did you mean 'orders'?",
      },
    ]);
  });

  it('gives no hint for an unknown ref close to nothing', () => {
    const a = run({ 'models/orders.sql': 'select 1 as id', 'models/a.sql': "select * from {{ ref('zzzzzzzz') }}" });
    expect(a.diagnostics.map((d) => [d.code, d.hint])).toEqual([['unknown-ref', undefined]]);
  });

  it('names both files of a duplicate model name', () => {
    const a = run({ 'models/a/orders.sql': 'select 1', 'models/b/orders.sql': 'select 2' });
    expect(a.diagnostics).toHaveLength(1);
    expect(a.diagnostics[0]).toMatchObject({
      code: 'duplicate-model',
      message: "model 'orders' is defined twice: models/a/orders.sql and models/b/orders.sql",
      location: { file: 'models/b/orders.sql' },
      related: [{ message: 'first defined here', location: { file: 'models/a/orders.sql' } }],
    });
  });

  it('names both files when a seed has the name of a model', () => {
    const a = run({ 'models/orders.sql': 'select 1', 'seeds/orders.csv': 'a\n1\n' });
    expect(a.diagnostics.map((d) => [d.code, d.message])).toEqual([
      ['duplicate-model', "'orders' is defined twice: models/orders.sql and seeds/orders.csv"],
    ]);
  });

  it('reports a cycle with its whole path and the ref() site of each edge', () => {
    const a = run({
      'models/a.sql': "select * from {{ ref('b') }}",
      'models/b.sql': "select 1\nfrom {{ ref('c') }}",
      'models/c.sql': "\n\nselect * from {{ ref('a') }}",
      'models/d.sql': "select * from {{ ref('a') }}",
    });
    expect(a.diagnostics).toHaveLength(1);
    const d = a.diagnostics[0];
    expect(d.code).toBe('cycle');
    expect(d.message).toBe('dependency cycle: a → b → c → a');
    expect(d.related!.map((r) => `${r.message} @ ${where({ ...d, location: r.location })}`)).toEqual([
      'a refs b @ models/a.sql:1:18',
      'b refs c @ models/b.sql:2:9',
      'c refs a @ models/c.sql:3:18',
    ]);
  });

  it('reports every problem of the project at once', () => {
    const a = run({
      'models/a.sql': "select * from {{ ref('nope') }}",
      'models/b.sql': "select '{{ undefined_thing }}'",
      'models/c.sql': "{{ config(colour='red') }}\nselect 1",
      'models/d.sql': "select 1\n{% if true %}",
      'models/e.yaml': 'tags: [x]\n',
    });
    expect(a.diagnostics.map((d) => `${d.code} ${d.location?.file}`).sort()).toEqual([
      'orphan-yaml models/e.yaml',
      'template-render models/b.sql',
      'template-syntax models/d.sql',
      'unknown-key models/c.sql',
      'unknown-ref models/a.sql',
    ]);
  });
});

describe('template error positions', () => {
  const only = (files: Record<string, string>) => {
    const a = run(files);
    expect(a.diagnostics).toHaveLength(1);
    return a.diagnostics[0];
  };

  it('points an undefined variable at its expression, never rendering an empty string', () => {
    const d = only({ 'models/a.sql': "select 1\nfrom x where d = '{{ dss }}'" });
    expect([d.code, d.message, where(d)]).toEqual(['template-render', "'dss' is undefined (or null) in template output", 'models/a.sql:2:19']);
  });

  it("says where a config() further down may set what an undefined model. or config. value reads", () => {
    const d = only({ 'models/a.sql': "select '{{ model.meta.owner }}' as o\n{{ config(meta={'owner': 'ann'}) }}" });
    expect([d.message, where(d), d.hint]).toEqual([
      "'model.meta.owner' is undefined (or null) in template output",
      'models/a.sql:1:9',
      'a config() call further down may set what this reads: a model renders top to bottom, so put that config() call first',
    ]);
    expect(only({ 'models/a.sql': "select '{{ model.meta.owner }}' as o" }).hint).toBeUndefined();
  });

  it('points an unclosed block tag at the tag that opens it', () => {
    const d = only({ 'models/a.sql': "select 1\n\n  {% if x %}\nselect 2" });
    expect(d.code).toBe('template-syntax');
    expect(where(d)).toBe('models/a.sql:3:3');
    expect(d.message).toContain('{% if %} opened here is never closed');
  });

  it('points an unclosed expression at its opening braces', () => {
    const d = only({ 'models/a.sql': 'select 1,\n  {{ ds \n' });
    expect(where(d)).toBe('models/a.sql:2:3');
    expect(d.message).toContain('an expression {{ opened here is never closed');
  });

  it('points an unclosed expression at its opening braces when the text after it parses on (a SQL comment)', () => {
    const d = only({ 'models/a.sql': '-- note: {{ not closed\nselect 1 as x\n' });
    expect([d.code, d.message, where(d)]).toEqual(['template-syntax', 'expected variable end: an expression {{ opened here is never closed', 'models/a.sql:1:10']);
  });

  it('points a syntax error inside an expression at its line and column', () => {
    const d = only({ 'models/a.sql': 'select 1,\n  {{ foo( }}\n' });
    expect([d.code, d.message, where(d)]).toEqual(['template-syntax', "a ')' is missing before }}: the call's '(' is not closed", 'models/a.sql:2:11']);
    // After an argument, or in a tag: the same, not a missing comma.
    const ref = only({ 'models/a.sql': "select * from {{ ref('b' }}\n", 'models/b.sql': 'select 1 as id' });
    expect([ref.message, where(ref)]).toEqual(["a ')' is missing before }}: the call's '(' is not closed", 'models/a.sql:1:26']);
    const tag = only({ 'models/a.sql': "{% set x = ref('b' %}\nselect 1 as id\n", 'models/b.sql': 'select 1 as id' });
    expect([tag.message, where(tag)]).toEqual(["a ')' is missing before %}: the call's '(' is not closed", 'models/a.sql:1:20']);
    expect(only({ 'models/a.sql': "select {{ f(1 2) }}\n" }).message).toBe('expected a comma between arguments');
  });

  it("takes var()'s and env_var()'s default by position or as default=, as dbt's do; None is a default too", () => {
    const a = run({ 'models/a.sql': "select '{{ var('country', default='NL') }}' as c, '{{ env_var('PIPE_TEST_UNSET_VARIABLE', default='x') }}' as e, {{ var(var_name='n', default=none) is none }} as n, '{{ var('country', 'BE') }}' as p" });
    expect(a.diagnostics).toEqual([]);
    expect(sqlOf(a, 'a')).toBe("select 'NL' as c, 'x' as e, True as n, 'BE' as p");
    expect(only({ 'models/a.sql': "select {{ var('country', fallback='NL') }}" }).message).toContain("var() got an unexpected keyword argument 'fallback'");
  });

  it('points a var() without value or default at its call', () => {
    const d = only({ 'models/a.sql': "select 1\n, {{ var('country') }} as c" });
    expect(d.message).toBe("var 'country' is not set and has no default; pass --var country=VALUE or set it under vars: in pipe.yaml or the pipeline");
    expect(d.location!.line).toBe(2);
    // Within the call `var('country')`, which spans columns 6 to 19.
    expect(d.location!.column).toBeGreaterThanOrEqual(6);
    expect(d.location!.column).toBeLessThanOrEqual(19);
  });

  it('points a bad ref() call at its line', () => {
    const d = only({ 'models/a.sql': 'select 1\n from {{ ref(1) }}' });
    expect([d.message, d.location!.line]).toEqual(["ref() takes one model or seed name, e.g. ref('orders'), or a package's name and one, e.g. ref('shop', 'orders')", 2]);
  });

  it('finds var(), env_var() and ref() errors on the first line, where Nunjucks gives no position', () => {
    expect(where(only({ 'models/a.sql': "select {{ var('missing') }} as b" }))).toBe('models/a.sql:1:11');
    expect(where(only({ 'models/a.sql': "select 1, {{ env_var('PIPE_TEST_UNSET_VARIABLE') }} as c" }))).toBe('models/a.sql:1:14');
    expect(where(only({ 'models/a.sql': 'select * from {{ ref(1) }}' }))).toBe('models/a.sql:1:18');
  });

  it('points an error inside a macro at the macro file, with the call in the model as related', () => {
    const d = only({
      'macros/m.sql': '{% macro m(x) %}\n\n\n\n  select {{ nothere }} as y\n{% endmacro %}\n',
      'models/a.sql': 'select 1 as a,\n{{ m(1) }}\n',
    });
    expect([d.message, where(d)]).toEqual(["'nothere' is undefined (or null) in template output", 'macros/m.sql:5:10']);
    expect(d.related).toEqual([{ message: 'reached through m(), called here', location: { file: 'models/a.sql', line: 2, column: 4 } }]);
  });

  it("points at the macro's call, not at a call in its arguments evaluated before it", () => {
    const d = only({
      'macros/m.sql': '{% macro m(a, b) %}\n{{ nothere }}\n{% endmacro %}\n{% macro cols() %}1{% endmacro %}\n',
      'models/a.sql': 'select\n  {{\n    m(\n      a=1,\n      b=cols()\n    )\n  }} as x\n',
    });
    expect(d.related).toEqual([{ message: 'reached through m(), called here', location: { file: 'models/a.sql', line: 3, column: 5 } }]);
  });

  it('points a syntax error in a macro file at the macro file', () => {
    const d = only({ 'macros/m.sql': '{% macro m() %}\n{{ x( }}{% endmacro %}', 'models/a.sql': 'select 1' });
    expect([d.code, where(d)]).toEqual(['template-syntax', 'macros/m.sql:2:7']);
  });

  it('refuses include, import, from-import and extends where they run, in a model or a macro, as dbt does', () => {
    const reads = (tag: string, name: string) => `{% ${tag} %} reads another template file (${name}), which pipe does not do (nor does dbt); put what is shared in a macro of macros/*.sql and call it`;
    const seen = (files: Record<string, string>) => {
      const d = only(files);
      return [d.message, where(d), ...(d.related ?? []).map((r) => `${r.message} ${r.location?.file}:${r.location?.line}`)];
    };
    expect(seen({ 'models/a.sql': "select 1 as a\n  {% include 'snip.sql' %}" })).toEqual([reads('include', "'snip.sql'"), 'models/a.sql:2:6']);
    expect(seen({ 'models/a.sql': "select 1\n{% import 'x.sql' as y %}" })).toEqual([reads('import', "'x.sql'"), 'models/a.sql:2:4']);
    expect(seen({ 'models/a.sql': 'select 1\n{%- from "x.sql" import z %}' })).toEqual([reads('from ... import', "'x.sql'"), 'models/a.sql:2:5']);
    expect(seen({ 'models/a.sql': "{% extends 'base.sql' %}" })).toEqual([reads('extends', "'base.sql'"), 'models/a.sql:1:4']);
    expect(seen({ 'models/a.sql': "{% set f = 'a.sql' %}select 1 {% include f %}" })).toEqual([reads('include', "'a.sql'"), 'models/a.sql:1:34']);
    // In a macro's body, and in a loop there (whose output was lost without a word before).
    const called = { 'models/a.sql': 'select {{ m() }} as a' };
    expect(seen({ ...called, 'macros/m.sql': "{% macro m() %}\n{% include 'q.sql' %}\n{% endmacro %}" })).toEqual([reads('include', "'q.sql'"), 'macros/m.sql:2:4', 'reached through m(), called here models/a.sql:1']);
    expect(seen({ ...called, 'macros/m.sql': "{% macro m() %}\n{% for x in [1] %}{% include 'q.sql' %}{% endfor %}1\n{% endmacro %}" })).toEqual([
      reads('include', "'q.sql'"),
      'macros/m.sql:2:22',
      'reached through m(), called here models/a.sql:1',
    ]);
    // Only where it runs, as in dbt: a branch not taken reads nothing.
    expect(run({ 'models/a.sql': "{% if false %}{% include 'n.sql' %}{% endif %}select 1 as a" }).diagnostics).toEqual([]);
  });

  it('refuses to print a whole number from 2^53 on, which 64-bit floats no longer hold exactly, at its place', () => {
    const inexact = (about: string) => `a whole number of 2^53 or more (about ${about}) is not exact in pipe, which computes with 64-bit floats; write a large id or literal as a string ('...')`;
    const seen = (files: Record<string, string>) => {
      const d = only(files);
      return [d.message, where(d)];
    };
    // 123456789012345678 is 123456789012345680 as a float: printed, it was another id.
    expect(seen({ 'models/a.sql': 'select {{ 123456789012345678 }} as id' })).toEqual([inexact('1.23e+17'), 'models/a.sql:1:8']);
    expect(seen({ 'models/a.sql': 'select 1 as x,\n  {{ 3 ** 40 }} as b' })).toEqual([inexact('1.22e+19'), 'models/a.sql:2:3']);
    expect(seen({ 'models/a.sql': "select '{{ [1, 2 ** 60] | tojson }}' as c" })).toEqual([inexact('1.15e+18'), 'models/a.sql:1:27']);
    // Written in YAML, it is refused where it is written (first; the var is then not set).
    const [yaml] = run({ 'pipe.yaml': 'vars:\n  big: 123456789012345678\n', 'models/a.sql': "select {{ var('big') }} as g" }).diagnostics;
    expect([yaml.message, where(yaml)]).toEqual(['123456789012345678 is an integer past 2^53, which pipe cannot hold exactly (it would be 123456789012345680)', 'pipe.yaml:2:8']);
    expect(seen({ 'models/a.sql': "select 1 as x, {{ 'id_' ~ 123456789012345678 }} as c" })[0]).toBe(inexact('1.23e+17'));
    // Up to 2^53 - 1 every whole number is exact, and prints as Python prints it; a string keeps any id.
    const a = run({ 'pipe.yaml': "vars:\n  big: '123456789012345678'\n", 'models/a.sql': "select {{ 9007199254740991 }} as a, {{ -9007199254740991 }} as b, '{{ var('big') }}' as c" });
    expect(a.diagnostics).toEqual([]);
    expect(sqlOf(a, 'a')).toBe("select 9007199254740991 as a, -9007199254740991 as b, '123456789012345678' as c");
  });

  it('says what a block set through a filter and a recursive loop are, at their tag, instead of a malformed tag', () => {
    const seen = (sql: string) => {
      const d = only({ 'models/a.sql': sql });
      return [d.code, d.message, where(d)];
    };
    expect(seen('select 1\n  {% set x | upper %}abc{% endset %}{{ x }}')).toEqual([
      'template-syntax',
      '{% set name | filter %}...{% endset %} (a block set through a filter) is not rendered by pipe: filter where the name is used, {{ name | filter }}',
      'models/a.sql:2:6',
    ]);
    expect(seen('select {% for i in [1, [2]] recursive -%}{{ i }}{% endfor %}')).toEqual(['template-syntax', 'a recursive loop ({% for ... recursive %}) is not rendered by pipe', 'models/a.sql:1:11']);
    // Other malformed tags keep Nunjucks' words.
    expect(seen('select 1\n{% set x y %}')).toEqual(['template-syntax', 'expected = or block end in set tag', 'models/a.sql:2:4']);
  });

  it("refuses {% block %} and Nunjucks' asynchronous tags at their line, in a model or a macro", () => {
    const block = "{% block %} (Jinja's template inheritance, with its own scope) is not rendered by pipe: write what it holds in place";
    const firstOf = (files: Record<string, string>) => {
      const d = run(files).diagnostics[0];
      return [d.code, d.message, where(d)];
    };
    expect(firstOf({ 'models/a.sql': 'select 1\n{% if false %}{% block b %}1{% endblock %}{% endif %}' })).toEqual(['template-syntax', block, 'models/a.sql:2:18']);
    // In a macro it did not compile ("missing ) after argument list"), and Nunjucks' block saw the loop's variable that Jinja's does not.
    const called = { 'models/a.sql': 'select {{ m() }} as a' };
    expect(firstOf({ ...called, 'macros/m.sql': '{% macro m() %}{% for x in [1] %}{% block b %}{{ x }}{% endblock %}{% endfor %}{% endmacro %}' })).toEqual([
      'template-syntax',
      block,
      'macros/m.sql:1:37',
    ]);
    for (const tag of ['asyncEach', 'asyncAll']) {
      expect(firstOf({ ...called, 'macros/m.sql': `{% macro m() %}\n  {% ${tag} x in [1] %}{{ x }}{% end${tag === 'asyncEach' ? 'each' : 'all'} %}{% endmacro %}` })).toEqual([
        'template-syntax',
        `unknown block tag: ${tag}`,
        'macros/m.sql:2:6',
      ]);
    }
    expect(firstOf({ 'models/a.sql': 'select\n{% ifAsync true %}1{% endif %} as a' })).toEqual(['template-syntax', 'unknown block tag: ifAsync', 'models/a.sql:2:4']);
  });
});

describe('project files', () => {
  it('reports a model with both a .yaml and a .yml beside it', () => {
    const a = run({ 'models/a.sql': 'select 1', 'models/a.yaml': 'tags: [x]\n', 'models/a.yml': 'tags: [y]\n' });
    expect(a.diagnostics.map((d) => [d.code, d.message, where(d)])).toEqual([
      ['duplicate-yaml', 'both models/a.yaml and a.yml exist; keep one', 'models/a.yaml:undefined:undefined'],
    ]);
  });

  it('points invalid YAML at its line and column', () => {
    const a = run({ 'models/a.sql': 'select 1', 'models/a.yaml': 'tags: [x\nfoo: 1\n' });
    expect(a.diagnostics).toHaveLength(1);
    // At the [ that is never closed, not at the line YAML stopped at.
    expect([a.diagnostics[0].code, where(a.diagnostics[0])]).toEqual(['yaml-syntax', 'models/a.yaml:1:7']);
  });

  it('reports a YAML file without a model beside it', () => {
    const a = run({ 'models/a.sql': 'select 1', 'models/b.yaml': 'tags: [x]\n' });
    expect(a.diagnostics.map((d) => [d.code, d.message])).toEqual([['orphan-yaml', 'models/b.yaml has no model beside it (expected models/b.sql)']]);
  });

  it('finds models and seeds in nested folders', () => {
    const a = run({
      'models/a/b/c/deep.sql': 'select 1',
      'seeds/top.csv': 'x\n1\n',
      'seeds/nested/below.csv': 'x\n1\n',
      'models/.hidden.sql': 'select 1',
      'models/notes.txt': 'not a model',
    });
    expect(a.diagnostics).toEqual([]);
    expect([...a.nodes.keys()].sort()).toEqual(['below', 'deep', 'top']);
    expect(a.nodes.get('deep')!.file).toBe('models/a/b/c/deep.sql');
    expect(a.nodes.get('below')!.file).toBe('seeds/nested/below.csv');
  });

  it('reports a call of an unknown function at its line, with a hint of a few lines even in a project of many macros', () => {
    const macros = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`macros/m${i}.sql`, `{% macro helper_${i}() %}1{% endmacro %}`]));
    const a = run({ ...macros, 'models/a.sql': 'select 1,\n\n  {{ nofunc() }}', 'models/b.sql': "select {{ config.set('x', 1) }}" });
    expect(a.diagnostics.map((d) => [d.code, d.message, d.location?.line])).toEqual([
      ['template-render', 'nofunc() is not defined', 3],
      ['template-render', 'config.set() is not defined', 1],
    ]);
    const [listed, member] = a.diagnostics.map((d) => d.hint ?? '');
    expect(listed).toBe("no macro of the project (macros/*.sql) or of an installed package is named nofunc, nor is it a function of dbt's context");
    // A macro two packages have is called with a package's name: said so.
    const twice = run({
      'dbt_project.yml': 'name: shop\n',
      'dbt_packages/one/dbt_project.yml': 'name: one\n',
      'dbt_packages/one/macros/m.sql': '{% macro shared() %}1{% endmacro %}',
      'dbt_packages/two/dbt_project.yml': 'name: two\n',
      'dbt_packages/two/macros/m.sql': '{% macro shared() %}2{% endmacro %}',
      'models/a.sql': 'select {{ shared() }} as x',
    });
    expect(twice.diagnostics.map((d) => [d.message, d.hint])).toEqual([['shared() is not defined', 'one has a macro of that name: call it one.shared()']]);
    expect(member).toBe('config has no function set()');
  });
});

describe('project file systems', () => {
  /** A project held in memory: loading reads files only through the ProjectFs it is given. */
  function memoryFs(files: Record<string, string>): ProjectFs {
    const texts = new Map(Object.entries(files).map(([p, t]) => [`/mem/${p}`, t]));
    const fs = {
      exists: (p: string) => texts.has(p),
      list: (dir: string, recursive: boolean) =>
        [...texts.keys()]
          .filter((p) => p.startsWith(`${dir}/`) && (recursive || !p.slice(dir.length + 1).includes('/')))
          .sort(),
      read: (p: string) => {
        const t = texts.get(p);
        if (t === undefined) throw new Error(`no file ${p}`);
        return t;
      },
      // Values derived from a file (parsed YAML, hashes) are computed afresh on every read.
      derive: <T>(_p: string, _kind: string, compute: () => T): T => compute(),
    };
    return fs as ProjectFs;
  }

  it('analyzes a project provided in memory', () => {
    const fs = memoryFs({
      'pipe.yaml': 'vars:\n  n: 3\n',
      'models/staging/a.sql': 'select {{ var("n") }} as n',
      'models/b.sql': "select * from {{ ref('a') }}",
      'models/b.yaml': 'materialized: view\n',
      'seeds/s.csv': 'x\n1\n',
    });
    const a = analyze(loadProject('/mem', fs), { interval: day });
    expect(a.diagnostics).toEqual([]);
    expect(a.nodes.get('a')!.file).toBe('models/staging/a.sql');
    expect(model(a, 'b').config.materialized).toBe('view');
    expect(sqlOf(a, 'a')).toBe('select 3 as n');
    expect(a.nodes.get('s')!.kind).toBe('seed');
  });

  it('keeps reading a cached file until told of its change', () => {
    const root = project({ 'models/a.sql': 'select 1 as v' });
    const fs = new CachedFs();
    expect(sqlOf(analyze(loadProject(root, fs), { interval: day }), 'a')).toBe('select 1 as v');
    writeFileSync(join(root, 'models/a.sql'), 'select 2 as v');
    expect(sqlOf(analyze(loadProject(root, fs), { interval: day }), 'a')).toBe('select 1 as v');
    fs.update(join(root, 'models/a.sql'), 'change');
    expect(sqlOf(analyze(loadProject(root, fs), { interval: day }), 'a')).toBe('select 2 as v');
    // A new file appears only once told of, and goes into the listing kept.
    writeFileSync(join(root, 'models/b.sql'), 'select 3 as v');
    expect(loadProject(root, fs).models.map((m) => m.name)).toEqual(['a']);
    fs.update(join(root, 'models/b.sql'), 'add');
    expect(loadProject(root, fs).models.map((m) => m.name)).toEqual(['a', 'b']);
    rmSync(join(root, 'models/a.sql'));
    fs.update(join(root, 'models/a.sql'), 'unlink');
    expect(loadProject(root, fs).models.map((m) => m.name)).toEqual(['b']);
  });
});

describe('selection through analysis', () => {
  it('turns unknown selectors into diagnostics with a suggestion', () => {
    const files = loadProject(project({ 'models/fct_orders.sql': "{{ config(tags=['daily']) }}\nselect 1", 'models/other.sql': 'select 1' }));
    let thrown: unknown;
    try {
      analyzeAndSelect(files, { interval: day, select: ['fct_ordrs', 'tag:dayly'], exclude: ['path:models/none'] });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(DiagnosticError);
    expect((thrown as DiagnosticError).diagnostics.map((d) => [d.code, d.message, d.hint])).toEqual([
      ['unknown-selector', "selector 'fct_ordrs': no model, seed or test named 'fct_ordrs'", "did you mean 'fct_orders'?"],
      ['unknown-selector', "selector 'tag:dayly': no model, seed or test has the tag 'dayly'", "did you mean 'daily'?"],
      ['unknown-selector', "selector 'path:models/none': no model file under 'models/none'", undefined],
    ]);
  });

  it('selects with a pipeline select and the command line exclude', () => {
    const files = loadProject(
      project({
        'pipelines/daily.yaml': 'select: [+c]\n',
        'models/a.sql': 'select 1',
        'models/b.sql': "select * from {{ ref('a') }}",
        'models/c.sql': "select * from {{ ref('b') }}",
        'models/z.sql': 'select 1',
      }),
    );
    const { selected } = analyzeAndSelect(files, { interval: day, pipeline: 'daily', exclude: ['a'] });
    expect([...selected].sort()).toEqual(['b', 'c']);
  });
});

describe('enabled: false', () => {
  it('leaves the model out of the graph; a ref to it is an error at the ref, naming where it was disabled', () => {
    const a = run({
      'models/old.sql': "{{ config(enabled=false) }}\nselect 1 as x",
      'models/gone.sql': 'select 2 as x',
      'models/gone.yaml': 'enabled: false\n',
      'models/reader.sql': "select *\nfrom {{ ref('gone') }}",
      'models/empty_off.sql': '{{ config(enabled=false) }}',
    });
    expect([...a.nodes.keys()].sort()).toEqual(['reader']);
    expect([...a.disabled.keys()].sort()).toEqual(['empty_off', 'gone', 'old']);
    expect(a.disabled.get('gone')).toEqual({ file: 'models/gone.yaml', line: 1 });
    expect(a.diagnostics.map((d) => [d.code, where(d), d.related?.[0]?.location])).toEqual([
      ['disabled-ref', 'models/reader.sql:2:9', { file: 'models/gone.yaml', line: 1 }],
    ]);
  });

  it('with the watch cache: disabling a model is seen by the models that ref it', () => {
    const root = project({ 'models/up.sql': 'select 1 as x', 'models/down.sql': "select * from {{ ref('up') }}" });
    const cache = new AnalysisCache();
    const first = analyze(loadProject(root), { interval: day }, cache);
    expect(first.diagnostics).toEqual([]);
    writeFileSync(join(root, 'models/up.sql'), '{{ config(enabled=false) }}\nselect 1 as x');
    const second = analyze(loadProject(root), { interval: day }, cache);
    expect(second.diagnostics.map((d) => d.code)).toEqual(['disabled-ref']);
    writeFileSync(join(root, 'models/up.sql'), 'select 1 as x');
    const third = analyze(loadProject(root), { interval: day }, cache);
    expect(third.diagnostics).toEqual([]);
    expect((third.nodes.get('down') as ModelNode).upstream).toEqual(['up']);
  });
});

describe('the watch cache and moved files', () => {
  it('a model moved to another folder is reported at its new path', () => {
    const root = project({ 'models/a/m.sql': 'select {{ nope }}' });
    const cache = new AnalysisCache();
    const first = analyze(loadProject(root), { interval: day }, cache);
    expect(first.diagnostics.map((d) => d.location?.file)).toEqual(['models/a/m.sql']);
    mkdirSync(join(root, 'models/b'));
    renameSync(join(root, 'models/a/m.sql'), join(root, 'models/b/m.sql'));
    const second = analyze(loadProject(root), { interval: day }, cache);
    expect(second.diagnostics.map((d) => d.location?.file)).toEqual(['models/b/m.sql']);
  });
});
