import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, AnalysisCache, type Analysis, type ModelNode, type SourceNode } from '../../src/analyze/analyze.js';
import { externalExpression, formatLocation } from '../../src/analyze/sources.js';
import { ageText, freshnessStatus } from '../../src/commands/freshness.js';
import { nodeKind } from '../../src/commands/inspect.js';
import { noLongerBuilt } from '../../src/commands/no-longer-built.js';
import { dayInterval, parseDate } from '../../src/dates/dates.js';
import type { Diagnostic } from '../../src/diagnostics/diagnostics.js';
import { planRun } from '../../src/plan/plan.js';
import { NO_TABLE } from '../../src/plan/materializations.js';
import { loadProject } from '../../src/project/load-project.js';
import { removeProjects, tempProject } from '../support/projects.js';

/**
 * dbt sources in analysis: what source() renders (a relation, or dbt-duckdb's external
 * location with its placeholders, relative paths read from the project folder), the errors at
 * a call that reads nothing, and the freshness rule.
 */

afterAll(removeProjects);
const project = (files: Record<string, string>) => tempProject(files, 'pipe-sources-');

const day = dayInterval(parseDate('2024-01-02')!);
const analyzed = (files: Record<string, string>): Analysis => analyze(loadProject(project(files)), { interval: day });

function sqlOf(a: Analysis, name: string): string {
  const r = a.renderer.sql(name, day, NO_TABLE);
  if ('severity' in r) throw new Error(`${r.code}: ${r.message}`);
  return r.sql;
}

const where = (d: Diagnostic) => `${d.location?.file}:${d.location?.line}${d.location?.column ? `:${d.location.column}` : ''}`;

const SOURCES = `version: 2
sources:
  - name: raw
    tags: [landing]
    tables:
      - name: orders
      - name: customers
        identifier: customer_list
        schema: crm
      - name: ledger
        database: finance
      - name: retired
        config:
          enabled: false
  - name: lake
    meta:
      external_location: "data/{name}_{region}.parquet"
      region: eu
    tables:
      - name: events
      - name: clicks
        config:
          external_location: "read_csv('exports/{identifier}.csv', header = true)"
        identifier: click_log
      - name: remote
        config:
          external_location: "s3://bucket/{name}/*.parquet"
`;

describe('source() in a model', () => {
  it('renders the relation of the table: schema (the source name by default), identifier, database', () => {
    const a = analyzed({
      'models/sources.yml': SOURCES,
      'models/m.sql': "select *\nfrom {{ source('raw', 'orders') }}\njoin {{ source(\"raw\", \"customers\") }} using (id)\njoin {{ source('raw', 'ledger') }} using (id)",
    });
    expect(a.diagnostics).toEqual([]);
    expect(sqlOf(a, 'm')).toBe('select *\nfrom "raw"."orders"\njoin "crm"."customer_list" using (id)\njoin "finance"."raw"."ledger" using (id)');
    const m = a.nodes.get('m') as ModelNode;
    expect(m.upstream).toEqual(['raw.orders', 'raw.customers', 'raw.ledger']);
    expect(m.refs.map((r) => [r.name, r.location.line, r.location.column])).toEqual([
      ['raw.orders', 2, 9],
      ['raw.customers', 3, 9],
      ['raw.ledger', 4, 9],
    ]);
    expect(a.graph.upstream.get('m')).toEqual(['raw.orders', 'raw.customers', 'raw.ledger']);
  });

  it('makes each enabled source table a node that selection and lineage see, and no task', () => {
    const a = analyzed({ 'models/sources.yml': SOURCES, 'models/m.sql': "select * from {{ source('raw', 'orders') }}" });
    const orders = a.nodes.get('raw.orders') as SourceNode;
    expect(orders).toMatchObject({
      kind: 'source',
      name: 'raw.orders',
      file: 'models/sources.yml',
      location: { file: 'models/sources.yml', line: 6 },
      relation: '"raw"."orders"',
      tags: ['landing'],
      upstream: [],
    });
    expect(orders.fqn).toEqual([expect.any(String), 'raw', 'orders']);
    expect(nodeKind(orders)).toBe('source');
    expect(a.nodes.has('raw.retired')).toBe(false);
    expect(a.disabled.get('raw.retired')).toEqual({ file: 'models/sources.yml', line: 12 });
    const plan = planRun({ analysis: a, selected: new Set(a.graph.nodes), catalog: new Map(), seedHashes: new Map(), fullRefresh: false, runId: 'r' }, day);
    expect(plan.tasks.map((t) => t.node)).toEqual(['m']);
    expect(plan.tasks[0].sources?.map((s) => s.name)).toEqual(['raw.orders']);
  });

  it("waits with a source's tests for the seed that loads another source they read", () => {
    // Seeds in a raw schema and sources over them; a relationships test between the two sources.
    const a = analyzed({
      'dbt_project.yml': 'name: shop\nseeds:\n  shop:\n    +schema: raw\n',
      'seeds/customers.csv': 'id\n1\n',
      'seeds/orders.csv': 'id,customer_id\n1,1\n',
      'models/sources.yml':
        "version: 2\nsources:\n  - name: raw\n    schema: main_raw\n    tables:\n      - name: orders\n        columns:\n          - name: customer_id\n            data_tests:\n              - relationships: {to: \"source('raw', 'customers')\", field: id}\n      - name: customers\n",
      'models/m.sql': "select * from {{ source('raw', 'orders') }}",
    });
    expect(a.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect((a.nodes.get('raw.orders') as SourceNode).upstream).toEqual(['orders', 'customers']);
    expect((a.nodes.get('raw.customers') as SourceNode).upstream).toEqual(['customers']);
    // One that reads a model instead runs with that model, once it is built.
    const toModel = analyzed({
      'pipe.yaml': 'name: shop\n',
      'seeds/customers.csv': 'id\n1\n',
      'models/sources.yml':
        "version: 2\nsources:\n  - name: raw\n    schema: main\n    tables:\n      - name: orders\n        columns:\n          - name: customer_id\n            data_tests:\n              - relationships: {to: \"ref('cust')\", field: id}\n              - not_null\n",
      'models/cust.sql': "select * from {{ ref('customers') }}",
      'models/m.sql': "select * from {{ source('raw', 'orders') }}",
    });
    expect(toModel.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect((toModel.nodes.get('cust') as ModelNode).checks.map((c) => c.name)).toEqual(['source_relationships_raw_orders_customer_id__id__ref_cust_']);
    expect(toModel.sourceChecks.get('raw.orders')?.map((c) => c.name)).toEqual(['source_not_null_raw_orders_customer_id']);
  });

  it('a table a source reads is not reported as no longer built, though a model that left the project built it', () => {
    const a = analyzed({ 'models/sources.yml': 'version: 2\nsources:\n  - name: main\n    tables: [{name: orders}]\n', 'models/m.sql': 'select 1 as x' });
    const found = [
      { schema: 'main', name: 'orders', type: 'table' as const },
      { schema: 'main', name: 'gone', type: 'table' as const },
    ];
    expect(noLongerBuilt(found, a).map((r) => r.relation)).toEqual(['"main"."gone"']);
  });

  it('reads what dbt-duckdb reads for external_location, relative paths from the project folder', () => {
    const root = project({
      'models/sources.yml': SOURCES,
      'models/m.sql': "select * from {{ source('lake', 'events') }}, {{ source('lake', 'clicks') }}, {{ source('lake', 'remote') }}",
    });
    const a = analyze(loadProject(root), { interval: day });
    expect(a.diagnostics).toEqual([]);
    expect(sqlOf(a, 'm')).toBe(
      `select * from '${root}/data/events_eu.parquet', read_csv('${root}/exports/click_log.csv', header = true), 's3://bucket/remote/*.parquet'`,
    );
    // Where its properties place it, as dbt's node names it: the source's name as its schema.
    expect((a.nodes.get('lake.events') as SourceNode).reads).toEqual({
      kind: 'external',
      location: 'data/events_eu.parquet',
      files: [`${root}/data/events_eu.parquet`],
      globs: [],
      schema: 'lake',
      identifier: 'events',
    });
    expect((a.nodes.get('lake.remote') as SourceNode).reads).toMatchObject({ files: [], globs: [] });
  });

  it("renders the Jinja of external_location and meta: before formatting, as dbt renders properties files", () => {
    const before = process.env.PIPE_TEST_LANDING;
    process.env.PIPE_TEST_LANDING = 'landing/zone';
    try {
      const root = project({
        'models/sources.yml': `version: 2
sources:
  - name: api
    meta:
      region: "{{ var('region', 'eu') }}"
    tables:
      - name: votes
        meta:
          external_location: "read_json_auto('{{ env_var('PIPE_TEST_LANDING') }}/{name}/{name}_{region}_*.json', filename = true)"
`,
        'models/m.sql': "select * from {{ source('api', 'votes') }}",
      });
      const a = analyze(loadProject(root), { interval: day, vars: { region: 'dk' } });
      expect(a.diagnostics).toEqual([]);
      expect(sqlOf(a, 'm')).toContain(`from read_json_auto('${root}/landing/zone/votes/votes_dk_*.json', filename = true))`);
      expect((a.nodes.get('api.votes') as SourceNode).reads).toMatchObject({ kind: 'external', location: "read_json_auto('landing/zone/votes/votes_dk_*.json', filename = true)" });
    } finally {
      if (before === undefined) delete process.env.PIPE_TEST_LANDING;
      else process.env.PIPE_TEST_LANDING = before;
    }
  });

  it('reports what external_location renders to at its own line: an env_var() unset', () => {
    const root = project({
      'models/sources.yml': `version: 2
sources:
  - name: api
    tables:
      - name: votes
        meta:
          external_location: "read_json_auto('{{ env_var('PIPE_TEST_NOWHERE_SET') }}/votes.json')"
`,
      'models/m.sql': "select * from {{ source('api', 'votes') }}",
    });
    const a = analyze(loadProject(root), { interval: day });
    // Once: the location in meta is the source's external_location, rendered once.
    const unset = a.diagnostics.filter((d) => d.message.includes('PIPE_TEST_NOWHERE_SET'));
    expect(unset.map((d) => d.location)).toEqual([expect.objectContaining({ file: 'models/sources.yml', line: 7 })]);
  });

  it("renders a folded YAML template (identifier: >) as Jinja does, without the newline that ends it", () => {
    const a = analyzed({
      'dbt_project.yml': "name: shop\nversion: '1.0'\n",
      'models/sources.yml': `version: 2
sources:
  - name: raw
    tables:
      - name: orders
        identifier: >
          {% if target.type == 'snowflake' %}ORDERS_RAW{% else %}orders_raw{% endif %}
`,
      'models/m.sql': "select * from {{ source('raw', 'orders') }}",
    });
    expect(a.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(a.nodes.get('raw.orders')).toMatchObject({ relation: '"raw"."orders_raw"' });
  });

  it("says at its line a key of a source or its table that dbt does not read, which it leaves out", () => {
    const a = analyzed({
      'dbt_project.yml': "name: shop\nversion: '1.0'\n",
      'models/sources.yml': 'version: 2\nsources:\n  - name: raw\n    catalog: hive_metastore\n    tables:\n      - name: orders\n        shema: x\n',
      'models/m.sql': "select * from {{ source('raw', 'orders') }}",
    });
    expect(a.diagnostics.map((d) => [d.severity, d.location?.line, d.message, d.hint])).toEqual([
      ['warning', 4, "source raw has a key dbt does not read, 'catalog': it is left out (dbt refuses the file)", expect.stringContaining('its keys: name, description')],
      ['warning', 7, "table orders of source raw has a key dbt does not read, 'shema': it is left out (dbt refuses the file)", "did you mean 'schema'?"],
    ]);
  });

  it('through an ephemeral model and a macro, the model reads the source', () => {
    const a = analyzed({
      'models/sources.yml': SOURCES,
      'macros/m.sql': "{% macro landed(t) %}{{ source('raw', t) }}{% endmacro %}",
      'models/eph.sql': "{{ config(materialized='ephemeral') }}\nselect * from {{ landed('orders') }}",
      'models/top.sql': "select * from {{ ref('eph') }}",
    });
    expect(a.diagnostics).toEqual([]);
    expect(sqlOf(a, 'top')).toContain('select * from "raw"."orders"');
    const plan = planRun({ analysis: a, selected: new Set(['top']), catalog: new Map(), seedHashes: new Map(), fullRefresh: false, runId: 'r' }, day);
    expect(plan.diagnostics).toEqual([]);
    expect(plan.tasks.map((t) => [t.node, t.sources?.map((s) => s.name)])).toEqual([['top', ['raw.orders']]]);
  });

  it('resolves source() in a query check, and refuses one that reads nothing at the check', () => {
    const a = analyzed({
      'models/sources.yml': SOURCES,
      'models/m.sql': 'select 1 as id',
      'models/m.yaml': `checks:\n  query:\n    - "select * from {{ this }} where id not in (select id from {{ source('raw', 'orders') }})"\n    - "select * from {{ source('raw', 'order') }}"\n`,
    });
    const [good, bad] = (a.nodes.get('m') as ModelNode).checks;
    expect(a.renderer.checkSql('m', good, day, '"main"."m"')).toBe('select * from "main"."m" where id not in (select id from "raw"."orders")');
    const refused = a.renderer.checkSql('m', bad, day, '"main"."m"') as Diagnostic;
    expect([refused.code, refused.message, where(refused), refused.hint]).toEqual([
      'unknown-source',
      "check query(select * from {{ source('raw', 'order') }}): source('raw', 'order'): source 'raw' has no table 'order'",
      'models/m.yaml:2',
      "did you mean 'orders'?",
    ]);
  });
});

describe('a source() call that reads nothing', () => {
  it('is an error at the call: unknown source or table with the name it probably meant, a disabled table, a ref() to a source', () => {
    const a = analyzed({
      'models/sources.yml': SOURCES,
      'models/m.sql': [
        "select * from {{ source('raw', 'ordres') }}",
        "union all select * from {{ source('rae', 'orders') }}",
        "union all select * from {{ source('raw', 'retired') }}",
        "union all select * from {{ ref('raw.orders') }}",
      ].join('\n'),
    });
    expect(a.diagnostics.map((d) => [d.code, where(d), d.message, d.hint])).toEqual([
      ['unknown-ref', 'models/m.sql:4:28', "ref('raw.orders'): no model or seed is named 'raw.orders'", "raw.orders is a source: read it with source('raw', 'orders')"],
      ['unknown-source', 'models/m.sql:1:18', "source('raw', 'ordres'): source 'raw' has no table 'ordres'", "did you mean 'orders'?"],
      ['unknown-source', 'models/m.sql:2:28', "source('rae', 'orders'): no source is named 'rae'", "did you mean 'raw'?"],
      ['disabled-source', 'models/m.sql:3:28', "source('raw', 'retired'): raw.retired is disabled (enabled: false)", 'enable raw.retired again, or stop reading it'],
    ]);
    expect(a.diagnostics[3].related).toEqual([{ message: 'disabled here', location: { file: 'models/sources.yml', line: 12 } }]);
  });

  it('in a project without sources, says where they are declared', () => {
    const a = analyzed({ 'models/m.sql': "select 1,\n  x from {{ source('raw', 'orders') }}" });
    expect(a.diagnostics.map((d) => [where(d), d.message, d.hint])).toEqual([
      ['models/m.sql:2:13', "source('raw', 'orders'): no source is named 'raw'", 'declare it under sources: in a properties file (a .yml file among the models)'],
    ]);
  });

  it('with the watch cache: declaring the table later clears the error', () => {
    const root = project({ 'models/sources.yml': SOURCES, 'models/m.sql': "select * from {{ source('raw', 'payments') }}" });
    const cache = new AnalysisCache();
    expect(analyze(loadProject(root), { interval: day }, cache).diagnostics.map((d) => d.code)).toEqual(['unknown-source']);
    writeFileSync(join(root, 'models/sources.yml'), SOURCES.replace('      - name: orders\n', '      - name: orders\n      - name: payments\n'));
    const second = analyze(loadProject(root), { interval: day }, cache);
    expect(second.diagnostics).toEqual([]);
    expect((second.nodes.get('m') as ModelNode).upstream).toEqual(['raw.payments']);
  });

  it('a bad external_location is an error at the source table', () => {
    const a = analyzed({
      'models/sources.yml': `version: 2
sources:
  - name: lake
    tables:
      - name: a
        meta: {external_location: "data/{nme}.csv"}
      - name: b
        meta: {external_location: "data/{name.csv"}
      - name: c
        config: {plugin: excel}
`,
    });
    expect(a.diagnostics.map((d) => [where(d), d.message])).toEqual([
      ['models/sources.yml:5', "source lake.a: external_location 'data/{nme}.csv': {nme} names 'nme', which the source does not have"],
      ['models/sources.yml:7', "source lake.b: external_location 'data/{name.csv': '{' at character 6 is not a placeholder: write '{name}' (a brace itself is '{{' or '}}')"],
      ['models/sources.yml:9', 'source lake.c: dbt-duckdb source plugins (plugin: excel) are not supported'],
    ]);
    expect(a.diagnostics[0].hint).toContain('{name}, {identifier}, {schema}, {database}, {tags}');
  });
});

describe("dbt-duckdb's external_location", () => {
  const values = { name: 'events', identifier: 'evt', schema: 'lake', database: null, tags: ['a', 'b'], region: 'eu', n: 3 };

  it('fills placeholders as Python does: str.format_map, % and string.Template', () => {
    expect(formatLocation('data/{name}_{region}_{n}.parquet', 'newstyle', values)).toBe('data/events_eu_3.parquet');
    expect(formatLocation('{{literal}} {tags} {database}', 'newstyle', values)).toBe("{literal} ['a', 'b'] None");
    expect(formatLocation("read_csv('/tmp/%(identifier)s.csv') 100%%", 'oldstyle', values)).toBe("read_csv('/tmp/evt.csv') 100%");
    expect(formatLocation('/tmp/${name}/$region.csv $$5', 'template', values)).toBe('/tmp/events/eu.csv $5');
    expect(formatLocation('data/{missing}.csv', 'newstyle', values)).toEqual({ problem: "{missing} names 'missing', which the source does not have" });
    expect(formatLocation('data/%(name)d', 'oldstyle', values)).toMatchObject({ problem: expect.stringContaining("'%' at character 6 is not a placeholder") });
    expect(formatLocation('a}b', 'newstyle', values)).toMatchObject({ problem: expect.stringContaining("'}' at character 2") });
  });

  it('quotes a path, keeps a call, and reads relative paths from the project folder', () => {
    expect(externalExpression('data/x.parquet', '/p')).toEqual({ expression: "'/p/data/x.parquet'", files: ['/p/data/x.parquet'], globs: [] });
    expect(externalExpression("it's.csv", '/p')).toEqual({ expression: "'/p/it''s.csv'", files: ["/p/it's.csv"], globs: [] });
    expect(externalExpression('/abs/x.csv', '/p')).toEqual({ expression: "'/abs/x.csv'", files: ['/abs/x.csv'], globs: [] });
    expect(externalExpression("'data/x.csv'", '/p')).toEqual({ expression: "'/p/data/x.csv'", files: ['/p/data/x.csv'], globs: [] });
    // A glob names no one local file, but a pattern that must match one; a URL neither.
    expect(externalExpression('data/*.parquet', '/p')).toEqual({ expression: "'/p/data/*.parquet'", files: [], globs: ['/p/data/*.parquet'] });
    expect(externalExpression('https://host/x.csv', '/p')).toEqual({ expression: "'https://host/x.csv'", files: [], globs: [] });
    expect(externalExpression('s3://b/*.parquet', '/p')).toEqual({ expression: "'s3://b/*.parquet'", files: [], globs: [] });
    expect(externalExpression("read_parquet(['a.parquet', '/b.parquet'], union_by_name = true)", '/p')).toEqual({
      expression: "read_parquet(['/p/a.parquet', '/b.parquet'], union_by_name = true)",
      files: ['/p/a.parquet', '/b.parquet'],
      globs: [],
    });
    expect(externalExpression("iceberg_scan('s3://b/t')", '/p')).toEqual({ expression: "iceberg_scan('s3://b/t')", files: [], globs: [] });
    // The filename column of a relative path holds the path as written, the project folder taken off.
    expect(externalExpression("read_csv('./d/*.csv', filename = true)", '/p')).toEqual({
      expression: `(select * replace (case when starts_with("filename", '/p/') then substr("filename", 4) else "filename" end as "filename") from read_csv('/p/./d/*.csv', filename = true))`,
      files: [],
      globs: ['/p/d/*.csv'],
    });
    expect(externalExpression("read_csv(['/abs/a.csv'], filename = true)", '/p').expression).toBe("read_csv(['/abs/a.csv'], filename = true)");
    expect(externalExpression("read_csv('a.csv', filename='src')", '/p').expression).toContain('as "src") from read_csv(\'/p/a.csv\'');
    expect(externalExpression("read_csv('a.csv', filename = false)", '/p').expression).toBe("read_csv('/p/a.csv', filename = false)");
    // A path in double quotes, which DuckDB reads as a string in a call's arguments: read from the project folder too.
    expect(externalExpression('read_parquet("data/x.parquet")', '/p')).toEqual({ expression: "read_parquet('/p/data/x.parquet')", files: ['/p/data/x.parquet'], globs: [] });
    expect(externalExpression('read_csv(["a.csv", \'b "q".csv\', "say ""hi"".csv"], header = true)', '/p').expression).toBe(
      "read_csv(['/p/a.csv', '/p/b \"q\".csv', '/p/say \"hi\".csv'], header = true)",
    );
    // A call whose first argument is no string is used as it is.
    expect(externalExpression("read_csv(getenv('X'))", '/p')).toEqual({ expression: "read_csv(getenv('X'))", files: [], globs: [] });
  });
});

describe('freshness', () => {
  const criteria = { warnAfter: { count: 12, period: 'hour' as const }, errorAfter: { count: 1, period: 'day' as const } };
  const HOUR = 3_600_000;

  it('is past a threshold only when older than it, error_after first (dbt)', () => {
    expect(freshnessStatus(12 * HOUR, criteria)).toBe('pass');
    expect(freshnessStatus(12 * HOUR + 1, criteria)).toBe('warn');
    expect(freshnessStatus(24 * HOUR, criteria)).toBe('warn');
    expect(freshnessStatus(24 * HOUR + 1, criteria)).toBe('error');
    expect(freshnessStatus(-5 * HOUR, criteria)).toBe('pass');
    expect(freshnessStatus(100 * HOUR, { warnAfter: criteria.warnAfter })).toBe('warn');
    expect(freshnessStatus(100 * HOUR, { errorAfter: { count: 5, period: 'minute' } })).toBe('error');
  });

  it('writes an age in its two largest units, rounded down', () => {
    expect(ageText(25 * HOUR + 59 * 60_000)).toBe('1 day 1 hour');
    expect(ageText(24 * HOUR + 30_000)).toBe('1 day');
    expect(ageText(13 * HOUR)).toBe('13 hours');
    expect(ageText(61_000)).toBe('1 minute 1 second');
    expect(ageText(400)).toBe('less than a second');
  });
});
