import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, type Analysis } from '../../src/analyze/analyze.js';
import { dayInterval, parseDate } from '../../src/dates/dates.js';
import { Engine, type EngineHandle } from '../../src/execute/engine.js';
import { renderAtRun } from '../../src/execute/render-at-run.js';
import { RenderError, toTaskError } from '../../src/execute/task-errors.js';
import { planRun } from '../../src/plan/plan.js';
import type { Task } from '../../src/plan/task.js';
import { loadProject } from '../../src/project/load-project.js';
import type { QueryTable, WarehouseSession } from '../../src/warehouse/warehouse.js';
import { removeProjects, tempProject } from '../support/projects.js';

/**
 * dbt's two render phases: the parse render (execute false, empty answers) plans a model and
 * builds the graph; a model that reads the warehouse while rendering is rendered again as its
 * task runs, each question answered by a real DuckDB until the render asks nothing new.
 */

const day = dayInterval(parseDate('2024-01-02')!);
let warehouse: EngineHandle;
let session: WarehouseSession;

beforeAll(async () => {
  warehouse = await Engine.inMemory();
  session = await warehouse.session();
  await session.exec(`CREATE TABLE main.pointers AS SELECT * FROM (VALUES (1, 'old_facts'), (2, 'facts')) t(id, name)`);
  await session.exec(`CREATE TABLE main.facts AS SELECT range AS id, 'f' || range AS label FROM range(3)`);
  await session.exec(`CREATE TABLE main.old_facts AS SELECT 1 AS id`);
});

afterAll(() => {
  session?.close();
  warehouse?.close();
  removeProjects();
});

/** A dbt project's profile, for the files of a test's dbt project. */
const DBT_PROFILE = { 'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: warehouse.duckdb\n' };

function analyzed(files: Record<string, string>): Analysis {
  const analysis = analyze(loadProject(tempProject({ ...('dbt_project.yml' in files ? DBT_PROFILE : { 'pipe.yaml': 'name: shop\n' }), ...files })), { interval: day });
  expect(analysis.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return analysis;
}

/** The planned tasks of every model, by model. */
function planned(files: Record<string, string>): Map<string, Task> {
  const analysis = analyzed(files);
  const plan = planRun({ analysis, selected: new Set(analysis.graph.nodes), catalog: new Map(), seedHashes: new Map(), fullRefresh: false, runId: 'r' }, day);
  expect(plan.diagnostics).toEqual([]);
  return new Map(plan.tasks.map((t) => [t.node, t]));
}

/** The session, recording every query a render runs on it. */
function recording(asked: string[]): WarehouseSession {
  return Object.create(session, {
    table: {
      value: (sql: string): Promise<QueryTable> => {
        asked.push(sql);
        return session.table(sql);
      },
    },
  }) as WarehouseSession;
}

/** Where a render's messages go when a test does not look at them. */
const ignored = () => undefined;

/** The task rendered as it runs, and what its templates said, as `kind message @ file:line`, in the order told. */
async function sayings(task: Task): Promise<{ ran: Task; said: string[] }> {
  const said: string[] = [];
  const ran = await renderAtRun(task, session, (messages) => {
    for (const m of messages) said.push(`${m.kind} ${m.message} @ ${m.at?.file}:${m.at?.line}`);
  });
  return { ran, said };
}

async function renderError(task: Task): Promise<RenderError> {
  const e = await renderAtRun(task, session, ignored).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(e instanceof RenderError)) throw new Error(`expected a RenderError, got ${String(e)}`);
  return e;
}

const LATEST = `{% macro latest_count() -%}
{%- set pointer = run_query("select name from main.pointers order by id desc limit 1") -%}
{%- if execute -%}
{%- set counted = run_query("select count(*) as n from main." ~ pointer[0][0]) -%}
{{ counted.rows[0]['n'] }}
{%- else -%}
0
{%- endif -%}
{%- endmacro %}
`;

describe('the execution render', () => {
  it('asks each question once, in order: a query built from an earlier answer runs with that answer', async () => {
    const task = planned({ 'macros/latest.sql': LATEST, 'models/m.sql': "{{ config(materialized='table') }}\nselect {{ latest_count() }} as n" }).get('m')!;
    expect(task.renderAtRun).toBeDefined();
    expect(task.sql).toBe('\nselect 0 as n');
    const asked: string[] = [];
    const ran = await renderAtRun(task, recording(asked), ignored);
    expect(ran.sql).toBe('\nselect 3 as n');
    expect(asked).toEqual(['select name from main.pointers order by id desc limit 1', 'select count(*) as n from main.facts']);
    // The steps build the table from the SQL of this render, and its hash is of that SQL.
    expect(ran.steps[0]).toMatchObject({ kind: 'publish', statements: [expect.stringContaining('select 3 as n')] });
    expect(ran.sqlHash).not.toBe(task.sqlHash);
    expect(ran.renderAtRun).toBeUndefined();
  });

  it('gives dbt\'s objects: agate tables, statement results, columns, relations, the graph', async () => {
    const task = planned({
      'models/a.sql': "{{ config(materialized='table') }}\nselect 1 as id",
      'models/m.sql': `{{ config(materialized='table') }}
{%- set t = run_query('select id, label from main.facts order by id') -%}
{%- call statement('two', fetch_result=True) %}select 40 + 2 as v{% endcall -%}
{%- set cols = adapter.get_columns_in_relation(api.Relation.create(schema='main', identifier='facts')) -%}
{%- set rel = adapter.get_relation(database=none, schema='MAIN', identifier='facts') -%}
select {{ t | length }} as n, '{{ t.column_names | join(",") }}' as names, '{{ t.columns[1].values() | join("+") }}' as labels,
  '{% for name, c in t.columns.items() %}{{ name }}={{ c.values() | join("/") }};{% endfor %}{{ t.columns.keys() | join }}{{ t.columns.get("id").name }}' as mapping,
  '{{ t[2][1] }}{{ t.rows[0]["label"] }}' as cells, {{ t[2][0] + 1 }} as added, {{ load_result('two')['data'][0][0] }} as v,
  '{% for c in cols %}{{ c.quoted }} {{ c.data_type }}{% if c.is_string() %} text{% endif %};{% endfor %}' as cols,
  '{% if execute %}{{ rel }} {{ rel.type }} {{ rel.identifier }}{% endif %}' as rel, {{ adapter.get_relation(none, 'main', 'nothing') is none }} as none_found,
  '{% for n in graph.nodes.values() | sort(attribute="unique_id") %}{{ n.unique_id }}<{{ n.depends_on.nodes | join(",") }}>{{ n.config.materialized }} {% endfor %}' as graph
from {{ ref('a') }}`,
    }).get('m')!;
    const ran = await renderAtRun(task, session, ignored);
    expect(ran.sql).toBe(`select 3 as n, 'id,label' as names, 'f0+f1+f2' as labels,
  'id=0/1/2;label=f0/f1/f2;idlabelid' as mapping,
  'f2f0' as cells, 3 as added, 42 as v,
  '"id" BIGINT;"label" character varying(256) text;' as cols,
  '"main"."facts" table facts' as rel, True as none_found,
  'model.shop.a<>table model.shop.m<model.shop.a>table ' as graph
from "main"."a"`);
  });
});

describe("dbt's agate tables", () => {
  it("give a column's values, the column names and a row's parts as tuples, as agate does: a query can read them as a list of SQL", async () => {
    const task = planned({
      'models/m.sql': `{%- set t = run_query('select id, label from main.facts order by id') -%}
select * from main.facts where id in {{ t.columns[0].values() }} and label in {{ t.columns['label'].values_distinct() }}
-- {{ t.column_names }} {{ t.rows[0].values() }} {{ t.rows[0].keys() }} {{ t.columns[0].values_without_nulls() }} {{ t.columns.keys() }}`,
    }).get('m')!;
    const ran = await renderAtRun(task, session, ignored);
    expect(ran.sql).toBe(`select * from main.facts where id in (0, 1, 2) and label in ('f0', 'f1', 'f2')
-- ('id', 'label') (0, 'f0') ('id', 'label') (0, 1, 2) ('id', 'label')`);
  });
});

describe("dbt's agate columns", () => {
  it('are sequences of their values, as agate\'s: column[0], a loop over it, its length (dbt-stat-test reads stats.columns[0][0])', async () => {
    const task = planned({
      'models/m.sql': `{%- set t = run_query('select id, label from main.facts order by id') -%}
select {{ t.columns[0][0] }} as first, '{{ t.columns[1][-1] }}' as last, '{% for v in t.columns['label'] %}{{ v }};{% endfor %}' as labels, {{ t.columns[0] | length }} as n, {{ t.columns[0][2] + 1 }} as f`,
    }).get('m')!;
    const ran = await renderAtRun(task, session, ignored);
    expect(ran.sql).toBe("select 0 as first, 'f2' as last, 'f0;f1;f2;' as labels, 3 as n, 3 as f");
  });
});

describe("dbt's model variable and the graph's nodes", () => {
  it('model is the node rendered: its config as it stands, its text; graph.nodes list text and columns, when executing', async () => {
    const task = planned({
      'models/a.sql': "{{ config(materialized='table') }}\nselect 1 as id",
      'models/a.yml': 'version: 2\nmodels:\n  - name: a\n    description: the a\n    columns:\n      - name: id\n        description: its id\n        data_type: "{{ \'integer\' }}"\n',
      'models/m.sql': `{{ config(materialized='table', tags=['x']) }}
select '{{ model.name }} {{ model.unique_id }} {{ model.config.materialized }} {{ model.config.get("tags") | join }} {{ model.raw_code.count("\\n") }}' as me,
  '{% if execute %}{% set a = graph.nodes["model.shop.a"] %}{{ a.raw_code | length }} {{ a.description }} {{ a.columns.id.description }} {{ a.columns.id.data_type }}{% endif %}' as a
from {{ ref('a') }}`,
    }).get('m')!;
    expect(task.sql).toBe(`
select 'm model.shop.m table x 3' as me,
  '' as a
from "main"."a"`);
    expect((await renderAtRun(task, session, ignored)).sql).toBe(`
select 'm model.shop.m table x 3' as me,
  '49 the a its id integer' as a
from "main"."a"`);
  });

  it("gives each node dbt's paths: original_file_path from its own package's folder, path from its model or seed folder", async () => {
    const files = {
      'dbt_project.yml': "name: shop\nprofile: shop\nconfig-version: 2\nmodel-paths: ['transform']\n",
      'packages.yml': 'packages:\n  - package: acme/kit\n    version: 1.0.0\n',
      'dbt_packages/kit/dbt_project.yml': "name: kit\nversion: '1.0.0'\nconfig-version: 2\n",
      'dbt_packages/kit/models/staging/kit_stg.sql': 'select 1 as id',
      'seeds/codes.csv': 'id\n1\n',
      'transform/marts/a.sql': 'select 1 as id',
      'transform/marts/m.sql': `select '{% if execute %}{% for n in graph.nodes.values() | sort(attribute="unique_id") %}{{ n.unique_id }}={{ n.original_file_path }}|{{ n.path }};{% endfor %}{% endif %}' as paths from {{ ref('a') }}, {{ ref('kit_stg') }}, {{ ref('codes') }}`,
    };
    const task = planned(files).get('m')!;
    expect((await renderAtRun(task, session, ignored)).sql).toContain(
      "'model.kit.kit_stg=models/staging/kit_stg.sql|staging/kit_stg.sql;model.shop.a=transform/marts/a.sql|marts/a.sql;model.shop.m=transform/marts/m.sql|marts/m.sql;seed.shop.codes=seeds/codes.csv|codes.csv;'",
    );
  });

  it("gives each node dbt's checksum of its file and a created_at; a key pipe does not know is an error naming it", async () => {
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    const files = {
      'dbt_project.yml': 'name: shop\nprofile: shop\nconfig-version: 2\n',
      'seeds/codes.csv': 'id\n1\n\n',
      'models/a.sql': '\n  select 1 as id\n\n',
      'models/schema.yml': 'version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n        data_tests: [not_null]\n',
      'models/m.sql': `select '{% if execute %}{% for n in graph.nodes.values() | sort(attribute="unique_id") %}{{ n.unique_id }}={{ n.checksum.name }}:{{ n.checksum.checksum }}:{{ n.created_at is number }};{% endfor %}{% endif %}' as sums from {{ ref('a') }}, {{ ref('codes') }}`,
      'models/u.sql': "select 1 as x\n{% if execute %}\n-- {{ graph.nodes['model.shop.a'].unrendered_config }}\n{% endif %}",
    };
    const tasks = planned(files);
    const sql = (await renderAtRun(tasks.get('m')!, session, ignored)).sql;
    const sums = /'(.*)'/.exec(sql)![1]!.split(';').filter(Boolean);
    // As dbt's FileHash: the text without the whitespace around it.
    expect(sums.filter((s) => !s.startsWith('model.shop.m=') && !s.startsWith('model.shop.u='))).toEqual([
      `model.shop.a=sha256:${sha('select 1 as id')}:True`,
      `seed.shop.codes=sha256:${sha('id\n1')}:True`,
      // A generic test has no file of its own.
      expect.stringMatching(/^test\.shop\.not_null_a_id\.[0-9a-f]{10}=none::True$/),
    ]);
    const e = await renderError(tasks.get('u')!);
    expect([e.message, e.location?.file, e.location?.line]).toEqual([
      "the graph's model.shop.a has no unrendered_config in pipe: dbt's config as written, before rendering, is not kept",
      'models/u.sql',
      3,
    ]);
  });

  it("graph.sources have their descriptions, loader, freshness and columns, as dbt's manifest", async () => {
    const task = planned({
      'models/sources.yml':
        'version: 2\nsources:\n  - name: raw\n    schema: main\n    description: the raw feed\n    loader: fivetran\n    freshness: {warn_after: {count: 2, period: day}}\n    tables:\n      - name: the_facts\n        identifier: facts\n        description: facts\n        columns:\n          - name: id\n            description: the id\n',
      'models/m.sql': `select '{% if execute %}{% for s in graph.sources.values() %}{{ s.unique_id }} {{ s.source_description }} / {{ s.description }} {{ s.loader }} {{ s.freshness.warn_after.count }} {{ s.freshness.warn_after.period }} {{ s.columns.id.description }}{% endfor %}{% endif %}' as s from {{ source('raw', 'the_facts') }}`,
    }).get('m')!;
    expect((await renderAtRun(task, session, ignored)).sql).toBe(`select 'source.shop.raw.the_facts the raw feed / facts fivetran 2 day the id' as s from "main"."facts"`);
  });

  it("lists the run hooks of the project and its packages as dbt's graph does: an operation node each, named by its package, key and place", async () => {
    const task = planned({
      'dbt_project.yml': 'name: shop\nprofile: shop\non-run-start: "select 1"\non-run-end: ["select 2", "select {{ 3 }}"]\n',
      'dbt_packages/kit/dbt_project.yml': "name: kit\non-run-end: \"select 'kit'\"\n",
      'models/m.sql': `{% if execute %}{% for n in graph.nodes.values() if n.resource_type == 'operation' %}-- {{ {'id': n.unique_id, 'name': n.name, 'package': n.package_name, 'fqn': n.fqn, 'tags': n.tags, 'raw_code': n.raw_code, 'index': n.index, 'schema': n.schema, 'path': n.path, 'original_file_path': n.original_file_path, 'depends_on': n.depends_on} | tojson }}
{% endfor %}{% endif %}select 1 as id`,
    }).get('m')!;
    const lines = (await renderAtRun(task, session, ignored)).sql.split('\n').filter((l) => l.startsWith('-- ')).map((l) => JSON.parse(l.slice(3)) as Record<string, unknown>);
    const node = (pkg: string, key: string, index: number, raw_code: string) => ({
      id: `operation.${pkg}.${pkg}-${key}-${index}`,
      name: `${pkg}-${key}-${index}`,
      package: pkg,
      fqn: [pkg, 'hooks', `${pkg}-${key}-${index}`],
      tags: [key],
      raw_code,
      index,
      schema: 'main',
      path: `hooks/${pkg}-${key}-${index}.sql`,
      original_file_path: './dbt_project.yml',
      depends_on: { macros: [], nodes: [] },
    });
    expect(lines).toEqual([
      node('shop', 'on-run-start', 0, 'select 1'),
      node('shop', 'on-run-end', 0, 'select 2'),
      node('shop', 'on-run-end', 1, 'select {{ 3 }}'),
      node('kit', 'on-run-end', 0, "select 'kit'"),
    ]);
  });

  it("gives models and sources the keys of dbt's manifest: time_spine, a source's config, meta and external (as dbt-duckdb 1.11's)", async () => {
    const task = planned({
      'models/sources.yml': `version: 2
sources:
  - name: raw
    schema: main
    meta: {owner: a}
    config:
      freshness:
        warn_after: {count: 12, period: hour}
      loaded_at_field: loaded_at
      meta: {cfg: 1}
    tables:
      - name: facts
        meta: {tm: 2}
        external:
          location: data/facts.csv
          options: {header: true}
      - name: pointers
        config:
          event_time: ts
          meta: {tc: 3}
          freshness: null
`,
      'models/spine.sql': 'select current_date as date_day',
      'models/props.yml': 'version: 2\nmodels:\n  - name: spine\n    time_spine:\n      standard_granularity_column: date_day\n',
      'models/m.sql': `{% if execute %}{% set spines = graph.nodes.values() | selectattr("resource_type", "equalto", "model") | rejectattr("time_spine", "none") | list %}
{% for s in spines %}-- {{ s.name }} {{ s.time_spine | tojson }}
{% endfor %}{% for id in ['source.shop.raw.facts', 'source.shop.raw.pointers'] %}{% set n = graph.sources[id] %}-- {{ {'config': n.config, 'meta': n.meta, 'source_meta': n.source_meta, 'external': n.external, 'freshness': n.freshness, 'loaded_at_query': n.loaded_at_query} | tojson }}
{% endfor %}{% do graph.nodes.values() | list | tojson %}{% endif %}select 1 from {{ source('raw', 'facts') }}, {{ source('raw', 'pointers') }}, {{ ref('spine') }}`,
    }).get('m')!;
    const lines = (await renderAtRun(task, session, ignored)).sql.split('\n').filter((l) => l.startsWith('-- '));
    // Only the model whose properties give a time_spine has one; every node prints as JSON (no config key left undefined).
    expect(lines[0]).toBe('-- spine {"custom_granularities": [], "standard_granularity_column": "date_day"}');
    const warn = { error_after: { count: null, period: null }, filter: null, warn_after: { count: 12, period: 'hour' } };
    expect(lines.slice(1).map((l) => JSON.parse(l.slice(3)))).toEqual([
      {
        config: { enabled: true, event_time: null, freshness: warn, loaded_at_field: 'loaded_at', loaded_at_query: null, meta: { cfg: 1, owner: 'a', tm: 2 }, static_analysis: null, tags: [] },
        meta: { cfg: 1, owner: 'a', tm: 2 },
        source_meta: { cfg: 1, owner: 'a' },
        external: { file_format: null, location: 'data/facts.csv', options: { header: true }, partitions: null, row_format: null, tbl_properties: null },
        freshness: warn,
        loaded_at_query: null,
      },
      {
        config: { enabled: true, event_time: 'ts', freshness: null, loaded_at_field: 'loaded_at', loaded_at_query: null, meta: { cfg: 1, owner: 'a', tc: 3 }, static_analysis: null, tags: [] },
        meta: { cfg: 1, owner: 'a', tc: 3 },
        source_meta: { cfg: 1, owner: 'a' },
        external: null,
        freshness: null,
        loaded_at_query: null,
      },
    ]);
  });

  it("gives a model's access and group as its config sets them, protected and none by default, and refuses an access dbt has not", async () => {
    const dbt = {
      'dbt_project.yml': "name: shop\nprofile: shop\nconfig-version: 2\nmodels:\n  shop:\n    marts:\n      +access: public\n",
      'models/a.sql': 'select 1 as id',
      'models/props.yml': 'version: 2\nmodels:\n  - name: a\n    config:\n      access: private\n      group: finance\n  - name: m\n    config:\n      group: finance\n',
      'models/marts/b.sql': 'select 1 as id',
      'models/m.sql': `select '{% if execute %}{% for n in graph.nodes.values() | sort(attribute="unique_id") %}{{ n.name }}={{ n.access }}/{{ n.group }};{% endfor %}{% endif %}' as described from {{ ref('a') }}, {{ ref('b') }}`,
    };
    // Read, so not in the notice of what pipe leaves aside.
    expect(analyzed(dbt).diagnostics.map((d) => d.message).join('\n')).not.toMatch(/config (access|group)/);
    const task = planned(dbt).get('m')!;
    expect((await renderAtRun(task, session, ignored)).sql).toContain("'a=private/finance;b=public/None;m=protected/finance;'");

    const bad = analyze(loadProject(tempProject({ ...DBT_PROFILE, ...dbt, 'models/props.yml': 'version: 2\nmodels:\n  - name: a\n    config:\n      access: open\n' })), { interval: day });
    expect(bad.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.message, d.location])).toEqual([
      ['access must be one of private, protected, public; got "open"', { file: 'models/props.yml', line: 5 }],
    ]);
  });

  it("an installed package's macro that reads graph.metrics or a node's depends_on.macros is warned at its line, where the project reaches it", () => {
    const files = (model: string, project = '') => ({
      ...DBT_PROFILE,
      'dbt_project.yml': `name: shop\nprofile: shop\nconfig-version: 2\n${project}`,
      'packages.yml': 'packages:\n  - package: acme/kit\n    version: 1.0.0\n',
      'dbt_packages/kit/dbt_project.yml': "name: kit\nversion: '1.0.0'\nconfig-version: 2\n",
      'dbt_packages/kit/macros/unpack.sql':
        "{% macro metric_names() %}\n{{ return(graph.metrics.values() | map(attribute='name') | list) }}\n{% endmacro %}\n{% macro calls(node) %}\n  {{ return(node.get('depends_on', {}).get('macros', [])) }}\n{% endmacro %}\n{% macro both() %}{{ metric_names() }}{{ calls(none) }}{% endmacro %}\n",
      'models/a.sql': model,
    });
    const notices = (model: string, project?: string) =>
      analyze(loadProject(tempProject(files(model, project))), { interval: day })
        .diagnostics.filter((d) => d.code === 'partial-graph')
        .map((d) => [d.message.split(':')[0], d.location]);
    // Reached through another of its macros.
    expect(notices('{% if false %}{{ kit.both() }}{% endif %}select 1 as id')).toEqual([
      ['graph.metrics is read here', { file: 'dbt_packages/kit/macros/unpack.sql', line: 2 }],
      ["a node's depends_on.macros is read here", { file: 'dbt_packages/kit/macros/unpack.sql', line: 5 }],
    ]);
    // A helper nothing calls (dbt-codegen's, for run-operation) changes nothing built: no notice.
    expect(notices('select 1 as id')).toEqual([]);
    // A run hook reaches it too.
    expect(notices('select 1 as id', 'on-run-end: ["{{ kit.metric_names() }}"]\n').map(([m]) => m)).toEqual(['graph.metrics is read here']);
  });

  it('a template that reads graph.metrics is warned, once, that pipe has none; dbt\'s tests are nodes of graph', async () => {
    const analysis = analyze(
      loadProject(tempProject({ 'pipe.yaml': 'name: shop\n', 'models/a.sql': 'select 1 as id', 'models/b.sql': 'select 1 as id\n{% for n in graph.metrics.values() %}{% endfor %}', 'models/c.sql': '{{ graph.groups }} select 1 as id' })),
      { interval: day },
    );
    expect(analysis.diagnostics.filter((d) => d.code === 'partial-graph').map((d) => [d.message, d.location])).toEqual([
      ["graph.metrics is read here: pipe has no metrics, semantic models, saved queries or groups, so it is empty", { file: 'models/b.sql', line: 2 }],
    ]);
    const task = planned({
      'dbt_project.yml': 'name: shop\n',
      'models/a.sql': 'select 1 as id',
      'models/a.yml': 'version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n        data_tests: [unique]\n',
      'tests/a_positive.sql': "select * from {{ ref('a') }} where id < 0",
      'models/m.sql': `select '{% if execute %}{% for n in graph.nodes.values() | selectattr("resource_type", "equalto", "test") | sort(attribute="name") %}{{ n.name }} {{ n.test_metadata.name if n.test_metadata else "singular" }} {{ n.column_name }} {{ n.attached_node }} {{ n.depends_on.nodes | join(",") }} {{ n.config.severity }}; {% endfor %}{% endif %}' as tests`,
    }).get('m')!;
    expect((await renderAtRun(task, session, ignored)).sql).toBe(`select 'a_positive singular None None model.shop.a ERROR; unique_a_id unique id model.shop.a model.shop.a ERROR; ' as tests`);
  });

  it("gives dbt's tests in graph their unique id, alias, path, macros and refs as dbt's parse records them, seeds no group, and a deprecation date as a date-time", async () => {
    const task = planned({
      'dbt_project.yml': 'name: shop\n',
      'seeds/s.csv': 'id\n1\n',
      'models/a.sql': "select * from {{ ref('s') }}",
      'models/v.sql': 'select 1 as id',
      'macros/positive.sql': '{% test positive(model, column_name) %}select * from {{ model }} where {{ column_name }} < 0{% endtest %}',
      'models/a.yml':
        'version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n        data_tests:\n          - unique\n          - positive\n          - accepted_values:\n              values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]\n' +
        '  - name: v\n    latest_version: 1\n    versions:\n      - v: 1\n        deprecation_date: 2031-02-03\n',
      'tests/a_positive.sql': "select * from {{ ref('a') }} where id < 0",
      'models/m.sql': `select '{% if execute %}{% for n in graph.nodes.values() | sort(attribute="name") %}{% if n.resource_type == "test" %}{{ n.unique_id }}|{{ n.alias }}|{{ n.path }}|{{ n.depends_on.macros | join(",") }}|{{ n.refs | map(attribute="name") | join(",") }}|{{ n.group }};
{% else %}{{ n.name }}|{{ n.group }}|{{ n.get("deprecation_date") }}|{{ n.config.on_schema_change }};
{% endif %}{% endfor %}{% endif %}' as graph from {{ ref('a') }}, {{ ref('v') }}`,
    }).get('m')!;
    expect((await renderAtRun(task, session, ignored)).sql).toBe(`select 'a|None|None|ignore;
test.shop.a_positive|a_positive|a_positive.sql||a|None;
test.shop.accepted_values_a_id__1__2__3__4__5__6__7__8__9__10__11__12__13__14__15.a47549cc7e|accepted_values_a_56d4c49786edc3909224b3fb8fc2e391|accepted_values_a_56d4c49786edc3909224b3fb8fc2e391.sql|macro.dbt.test_accepted_values,macro.dbt.get_where_subquery|a|None;
m|None|None|ignore;
test.shop.positive_a_id.fb4e5b69f5|positive_a_id|positive_a_id.sql|macro.shop.test_positive,macro.dbt.get_where_subquery|a|None;
s|None|None|ignore;
test.shop.unique_a_id.f6a5f640da|unique_a_id|unique_a_id.sql|macro.dbt.test_unique|a|None;
v|None|2031-02-03T00:00:00+00:00|ignore;
' as graph from "main"."a", "main"."v_v1"`);
  });

  it("gives nodes dbt's schema, attached node, contract and depends_on: tests in the schema dbt names, a source's attached to none, a model reading what it reads itself", async () => {
    const task = planned({
      'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    marts:\n      +schema: marts\n',
      'models/sources.yml': 'version: 2\nsources:\n  - name: raw\n    schema: main\n    tables:\n      - name: facts\n        columns:\n          - name: id\n            data_tests: [not_null]\n',
      'models/marts/a.sql': "select * from {{ source('raw', 'facts') }}",
      'models/b.sql': 'select 1 as id',
      // Its relationships test makes a wait for b, which is no ref of a's.
      'models/marts/a.yml': "version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n        data_tests:\n          - unique\n          - relationships: {to: \"ref('b')\", field: id}\n",
      'models/m.sql': `select '{% if execute %}{% for n in graph.nodes.values() | sort(attribute="name") %}{{ n.name }}={{ n.schema }}/{{ n.get("attached_node") }}/{{ n.config.get("contract") }}/{{ n.depends_on.nodes | join(",") }};
{% endfor %}{% endif %}' as nodes from {{ ref('a') }}`,
    }).get('m')!;
    const contract = "{'enforced': False, 'alias_types': True}";
    expect((await renderAtRun(task, session, ignored)).sql).toBe(`select 'a=main_marts/None/${contract}/source.shop.raw.facts;
b=main/None/${contract}/;
m=main/None/${contract}/model.shop.a;
relationships_a_id__id__ref_b_=main_dbt_test__audit/model.shop.a/None/model.shop.b,model.shop.a;
source_not_null_raw_facts_id=main_dbt_test__audit/None/None/source.shop.raw.facts;
unique_a_id=main_dbt_test__audit/model.shop.a/None/model.shop.a;
' as nodes from "main_marts"."a"`);
  });

  it("a package's template counts what is undefined as nothing (length 0), as dbt's Jinja does; the project's own refuses", () => {
    const files = {
      'dbt_project.yml': 'name: shop\n',
      'dbt_packages/helper/dbt_project.yml': 'name: helper\n',
      'dbt_packages/helper/macros/count.sql': '{% macro count_unset() %}{% if execute %}{% set items = [1] %}{% endif %}{{ return(items | length) }}{% endmacro %}',
      'models/m.sql': "select {{ helper.count_unset() }} as n",
    };
    const analysis = analyze(loadProject(tempProject(files)), { interval: day });
    expect(analysis.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(analysis.renderer.sql('m', day, { tableExists: false, fullRefresh: false })).toMatchObject({ sql: 'select 0 as n' });
    const own = analyze(loadProject(tempProject({ ...files, 'models/m.sql': '{% if execute %}{% set items = [1] %}{% endif %}select {{ items | length }} as n' })), { interval: day });
    expect(own.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual(["object of type 'Undefined' has no len()"]);
  });
});

describe('a source in a template', () => {
  it("is a relation, as in dbt: its database, schema and identifier, which adapter.get_relation() finds when the task runs", async () => {
    const task = planned({
      'models/sources.yml': 'version: 2\nsources:\n  - name: raw\n    schema: main\n    tables:\n      - name: the_facts\n        identifier: facts\n',
      'models/m.sql': `{{ config(materialized='table') }}
{%- set src = source('raw', 'the_facts') -%}
{%- set rel = adapter.get_relation(database=src.database, schema=src.schema, identifier=src.identifier) -%}
select '{{ src.schema }}.{{ src.identifier }}' as parts, {{ rel is not none }} as found, (select count(*) from {{ src }}) as n`,
    }).get('m')!;
    expect(task.sql).toBe(`select 'main.facts' as parts, False as found, (select count(*) from "main"."facts") as n`);
    expect((await renderAtRun(task, session, ignored)).sql).toBe(`select 'main.facts' as parts, True as found, (select count(*) from "main"."facts") as n`);
  });
});

describe('the parse render', () => {
  it('has execute false and empty answers that let every lookup pass, and its branches make the graph', () => {
    const analysis = analyzed({
      'models/a.sql': 'select 1 as id',
      'models/b.sql': 'select 2 as id',
      'models/m.sql': `select {{ run_query('select 1') | length }} as q, {{ run_query('select 1').columns[0].values() | length }} as c0,
  {{ adapter.get_columns_in_relation(ref('b')) | length }} as c, {{ adapter.get_relation(none, 'main', 'b') is none }} as r,
  {{ load_result('x').data | length }} as l, {{ graph.nodes | length }} as g, {{ execute }} as e,
  '{{ run_query('select 1')[0][0] }}{{ run_query('select 1').rows[3]['x'] }}{{ load_result('x')['data'][0][0] }}' as unguarded
{% if execute %}from {{ ref('a') }}{% else %}from {{ ref('b') }}{% endif %}`,
    });
    expect(analysis.nodes.get('m')!.upstream).toEqual(['b']);
    const sql = analysis.renderer.sql('m', day, { tableExists: false, fullRefresh: false });
    expect('sql' in sql && sql.sql).toBe(`select 0 as q, 0 as c0,
  0 as c, True as r,
  0 as l, 0 as g, False as e,
  '' as unguarded
from "main"."b"`);
  });

  it("prints nothing for what a macro leaves undefined until the warehouse answers, as dbt's parse does; the run's render prints the answer", async () => {
    const IDS = `{% macro ids() %}
  {%- call statement('get_ids', fetch_result=True) %}select id from main.facts order by id{% endcall -%}
  {%- set value_list = load_result('get_ids') -%}
  {%- if value_list and value_list['data'] -%}{%- set values = value_list['data'] | map(attribute=0) | join(', ') %}{%- endif -%}
  {{ return(values) }}
{% endmacro %}`;
    const task = planned({ 'macros/ids.sql': IDS, 'models/m.sql': "{{ config(materialized='table') }}\nselect 1 as x where 1 in ({{ ids() }})" }).get('m')!;
    expect(task.sql).toBe('\nselect 1 as x where 1 in ()');
    expect((await renderAtRun(task, session, ignored)).sql).toBe('\nselect 1 as x where 1 in (0, 1, 2)');
    // A model rendered once keeps printing an undefined value as the error it is.
    const a = analyze(loadProject(tempProject({ 'pipe.yaml': 'name: shop\n', 'macros/ids.sql': IDS, 'models/m.sql': 'select {{ nothing_here }} as x' })), { interval: day });
    expect(a.diagnostics.map((d) => d.message)).toEqual(["'nothing_here' is undefined (or null) in template output"]);
  });

  it('leaves a template that does not tell the phases apart rendered once', () => {
    const tasks = planned({ 'models/a.sql': 'select 1 as id', 'models/m.sql': "select * from {{ ref('a') }} -- execution" });
    expect([...tasks.values()].map((t) => t.renderAtRun)).toEqual([undefined, undefined]);
  });

  it('renders again what inlines an ephemeral model that reads the warehouse', async () => {
    const tasks = planned({
      'models/e.sql': "{{ config(materialized='ephemeral') }}\nselect {% if execute %}{{ run_query('select 7')[0][0] }}{% else %}0{% endif %} as v",
      'models/m.sql': "select v from {{ ref('e') }}",
    });
    const ran = await renderAtRun(tasks.get('m')!, session, ignored);
    expect(ran.sql).toContain('select 7 as v');
  });
  it("reads what the ephemeral models it inlines read, which are upstream of it through them (the Tuva project's staging models)", async () => {
    const tasks = planned({
      'models/a.sql': 'select 1 as id',
      'models/e.sql': "{{ config(materialized='ephemeral') }}\nselect id{% for c in adapter.get_columns_in_relation(ref('a')) %}, {{ c.name }} as x_{{ c.name }}{% endfor %} from {{ ref('a') }}",
      'models/m.sql': "select id from {{ ref('e') }}",
    });
    const ran = await renderAtRun(tasks.get('m')!, session, ignored);
    expect(ran.sql).toContain('from "main"."a"');
  });
});

describe('an execution render that fails', () => {
  it('fails the task at the template line of a query the warehouse refuses, in the macro that runs it', async () => {
    const task = planned({
      'macros/q.sql': "{% macro count_of(t) %}\n{{ run_query('select count(*) from ' ~ t)[0][0] }}\n{% endmacro %}\n",
      'models/m.sql': "select 1 as id,\n  {{ count_of('main.no_such_table') }} as n",
    }).get('m')!;
    const e = await renderError(task);
    expect(e.message).toMatch(/^a query that macros\/q\.sql:2 asks the warehouse for failed: Catalog Error: Table with name no_such_table does not exist/);
    expect(toTaskError(e)).toMatchObject({ kind: 'Template', errorClass: 'permanent', location: { file: 'macros/q.sql', line: 2 } });
  });

  it('fails the task at the line of a template error that only the execution render reaches', async () => {
    const task = planned({ 'models/m.sql': "{% set t = run_query('select 1 as x') %}\nselect 1 as id{% if execute %},\n  {{ t.rows[5].x }} as x{% endif %}" }).get('m')!;
    const e = await renderError(task);
    expect([e.message, e.location]).toEqual(["'t.rows[5].x' is undefined (or null) in template output", { file: 'models/m.sql', line: 3, column: 3 }]);
  });

  it('refuses a ref() that only the execution render reaches, as dbt does', async () => {
    const task = planned({
      'models/a.sql': 'select 1 as id',
      'models/m.sql': "select 1 as id\n{% if execute %}union all select id from {{ ref('a') }}{% endif %}",
    }).get('m')!;
    const e = await renderError(task);
    expect(e.message).toMatch(/^ref\('a'\) is reached only when m runs \(execute is true\)/);
    expect(e.location).toMatchObject({ file: 'models/m.sql', line: 2 });
  });

  it('refuses a query naming a ref() that only the execution render reaches before it runs, as the table may not be built yet', async () => {
    const task = planned({
      'macros/count_of.sql': "{% macro count_of(name) %}{% call statement('n', fetch_result=True) %}select count(*) from {{ ref(name) }}{% endcall %}{{ load_result('n')['data'][0][0] }}{% endmacro %}",
      'models/a.sql': 'select 1 as id',
      'models/m.sql': "select {{ count_of('a') }} as n",
    }).get('m')!;
    const asked: string[] = [];
    const e = await renderAtRun(task, recording(asked), ignored).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(e).toBeInstanceOf(RenderError);
    expect((e as RenderError).message).toMatch(/^ref\('a'\) is reached only when m runs \(execute is true\)/);
    expect(asked).toEqual([]);
  });

  it('reads the columns of a source in a query, and a source only the execution render reaches, as dbt does', async () => {
    const SOURCES = 'sources:\n  - name: raw\n    schema: main\n    tables:\n      - name: facts\n';
    const tasks = planned({
      'models/sources.yml': SOURCES,
      'models/m.sql': "{% set cols = adapter.get_columns_in_relation(source('raw', 'facts')) %}\nselect {% for c in cols %}{{ c.name }}{{ ', ' if not loop.last }}{% else %}*{% endfor %} from {{ source('raw', 'facts') }}",
      'models/late.sql': "select 1 as id\n{% if execute %}union all select id from {{ source('raw', 'facts') }}{% endif %}",
    });
    expect((await renderAtRun(tasks.get('m')!, session, ignored)).sql).toBe('\nselect id, label from "main"."facts"');
    expect((await renderAtRun(tasks.get('late')!, session, ignored)).sql).toBe('select 1 as id\nunion all select id from "main"."facts"');
  });

  it('refuses a render that gives several statements', async () => {
    const task = planned({ 'models/m.sql': "select 1 as id{% if execute %}; drop table main.facts{% endif %}" }).get('m')!;
    const e = await renderError(task);
    expect(e.message).toBe('m renders to 2 SQL statements when it runs; pipe runs exactly one');
    expect(await session.query('select count(*) as n from main.facts')).toEqual([{ n: '3' }]);
  });
});

describe('what the execution render says', () => {
  it('is told once, in order, from the render that stands: the renders a question stopped are not told', async () => {
    const task = planned({
      'macros/latest.sql': LATEST,
      'models/m.sql': `{{ log('parse and run: ' ~ execute, info=True) }}
select {{ latest_count() }} as n{% if execute %}{% do print('counted') %}{{ log('for the log file alone') }}{% do exceptions.warn('last') %}{% endif %}`,
    }).get('m')!;
    const { ran, said } = await sayings(task);
    expect(ran.sql).toBe('\nselect 3 as n');
    expect(said).toEqual(['log parse and run: True @ models/m.sql:1', 'print counted @ models/m.sql:2', 'warn last @ models/m.sql:2']);
  });

  it('names a relation as the SQL does, never by the token pipe marks it with: what it logs and warns, and an error it raises', async () => {
    const render = `-- depends_on: {{ ref('src') }}\n{% if execute %}{% set n = run_query('select 1') %}{{ log('reading ' ~ ref('src'), info=True) }}{% do exceptions.warn(this ~ ' is old') %}{% endif %}select 1 as id`;
    const task = planned({ 'models/src.sql': 'select 1 as id', 'models/m.sql': render }).get('m')!;
    expect((await sayings(task)).said).toEqual(['log reading "main"."src" @ models/m.sql:2', 'warn "main"."m" is old @ models/m.sql:2']);
    const raising = planned({
      'models/src.sql': 'select 1 as id',
      'models/m.sql': "-- depends_on: {{ ref('src') }}\n{% if execute %}{% set n = run_query('select 1') %}{{ exceptions.raise_compiler_error(ref('src') ~ ' has fewer columns than ' ~ this) }}{% endif %}select 1 as id",
    }).get('m')!;
    expect((await renderError(raising)).message).toBe('"main"."src" has fewer columns than "main"."m"');
  });

  it("is the template's alone: pipe's warning of a None printed is the analysis's, not told again as the task runs", async () => {
    const task = planned({ 'models/m.sql': "{% set n = run_query('select 1') %}select '{{ {}.get('x') }}' as v" }).get('m')!;
    const { ran, said } = await sayings(task);
    expect(ran.sql).toBe("select 'None' as v");
    expect(said).toEqual([]);
  });

  it('a model rendered again for its config tells what the second render said, once', async () => {
    const task = planned({
      'models/m.sql': `{% if execute %}{% set n = run_query('select 1') %}{{ log('in ' ~ this.schema, info=True) }}{% endif %}
{{ config(schema='other') }}
select 1 as id`,
    }).get('m')!;
    expect((await sayings(task)).said).toEqual(['log in other @ models/m.sql:1']);
  });

  it('an ephemeral model inlined says what it says with the model that reads it, after it', async () => {
    const tasks = planned({
      'models/e.sql': "{{ config(materialized='ephemeral') }}\nselect {% if execute %}{{ run_query('select 7')[0][0] }}{{ log('e ran', info=True) }}{% else %}0{% endif %} as v",
      'models/m.sql': "{% if execute %}{{ log('m ran', info=True) }}{% endif %}select v from {{ ref('e') }}",
    });
    expect((await sayings(tasks.get('m')!)).said).toEqual(['log m ran @ models/m.sql:1', 'log e ran @ models/e.sql:2']);
  });
});
