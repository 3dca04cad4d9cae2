import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { diagnosticsOf, eventsOfType, explain, removeTempDirs, writeProjectFiles } from '../e2e/helpers.js';
import { compileIn, nodesIn, runIn, testIn } from '../support/in-process.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

afterAll(() => {
  removeProjects();
  removeTempDirs();
});

/**
 * dbt's model versions, on test/fixtures/dbt/versions (which dbt-duckdb builds the same:
 * test/dbt-compat/compare.sh versions): each version is a model of its own, ref() reads the
 * latest or the version asked for, and each version has the model's properties with its own
 * over them. Exposures, whose depends_on may name a version, are tested here on the same project.
 */

const FIXTURE = fileURLToPath(new URL('../fixtures/dbt/versions', import.meta.url));

function versionsProject(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'pipe-versions-'));
  cpSync(FIXTURE, dir, { recursive: true });
  writeProjectFiles(dir, files);
  return dir;
}

const passed = (events: Parameters<typeof eventsOfType>[0]) => eventsOfType(events, 'check-passed').map((e) => e.check as string).sort();

describe('model versions', () => {
  it('builds each version as its own table; ref() reads the latest, v= and version= the version named', async () => {
    const dir = versionsProject();
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    const tables = await queryWarehouse(dir, "select table_name, table_type from information_schema.tables where table_schema = 'main' and table_name not like '%pipe%' order by 1");
    expect(tables).toEqual([
      { table_name: 'dim_customers_v1', table_type: 'VIEW' },
      { table_name: 'dim_customers_v2', table_type: 'BASE TABLE' },
      { table_name: 'dim_customers_v3', table_type: 'BASE TABLE' },
      { table_name: 'orders_v1', table_type: 'BASE TABLE' },
      { table_name: 'orders_v2', table_type: 'BASE TABLE' },
      { table_name: 'reader', table_type: 'BASE TABLE' },
      { table_name: 'reader_next', table_type: 'BASE TABLE' },
      { table_name: 'reader_old', table_type: 'BASE TABLE' },
    ]);
    // reader: the latest of each (dim_customers v2, orders v2 from orders.sql); reader_old v1; reader_next the prerelease v3, from customers_next.sql.
    expect(await queryWarehouse(dir, 'select * from main.reader order by all')).toEqual([
      { customer_id: 1, full_name: 'Ann', order_id: 10 },
      { customer_id: 2, full_name: 'Bob', order_id: 11 },
    ]);
    expect(await queryWarehouse(dir, 'select legacy from main.reader_old limit 1')).toEqual([{ legacy: 'old' }]);
    expect(await queryWarehouse(dir, 'select customer_id, active from main.reader_next')).toEqual([{ customer_id: 1, active: true }]);
    // Tests per version, named as dbt names them: the model's columns each version keeps
    // (v2 leaves name and legacy out, v3 keeps customer_id alone), and orders v1's own tests instead of the model's.
    const tests = [
      'not_null_dim_customers_v1_customer_id',
      'not_null_dim_customers_v2_customer_id',
      'not_null_dim_customers_v2_full_name',
      'not_null_dim_customers_v3_customer_id',
      'not_null_orders_v1_order_id',
      'relationships_orders_v1_customer_id__customer_id__ref_dim_customers_v_1_',
      'relationships_orders_v2_customer_id__customer_id__ref_dim_customers_v_1_',
      'unique_dim_customers_v1_customer_id',
      'unique_dim_customers_v2_customer_id',
      'unique_dim_customers_v3_customer_id',
      'unique_orders_v2_order_id',
    ];
    expect(passed(r.events)).toEqual(tests);
    expect(passed((await testIn(dir, { date: '2024-01-02' })).events)).toEqual(tests);
    // orders v1 is past its deprecation date.
    expect(diagnosticsOf(r.events).filter((d) => d.code === 'deprecated-version').map((d) => [d.message, d.location?.line])).toEqual([
      ['orders_v1: version 1 of orders is past its deprecation date, 2024-06-30', 31],
    ]);
  });

  it.each([
    ['dim_customers', ['dim_customers_v1', 'dim_customers_v2', 'dim_customers_v3']],
    ['dim_customers.v2', ['dim_customers_v2']],
    ['dim_customers_v2', ['dim_customers_v2']],
    ['shop.dim_customers.v1', ['dim_customers_v1']],
    ['version:latest', ['dim_customers_v2', 'orders_v2']],
    ['version:prerelease', ['dim_customers_v3']],
    ['version:old', ['dim_customers_v1', 'orders_v1']],
    ['version:none', ['reader', 'reader_next', 'reader_old']],
  ])('--select %s selects as dbt does', async (selector, names) => {
    const r = await nodesIn(versionsProject(), { select: [selector] });
    expect(r.code, explain(r)).toBe(0);
    expect(r.nodes.map((n) => n.name).sort()).toEqual(names);
  });

  it('unit tests: of a model with versions, each version is tested; an input may name a version', async () => {
    const dir = versionsProject({
      'models/unit.yml': `unit_tests:
  - name: keeps_names
    model: dim_customers
    given: []
    expect:
      rows: [{customer_id: 1}, {customer_id: 2}]
  - name: old_only
    model: dim_customers
    versions: {include: [1]}
    given: []
    expect:
      rows: [{customer_id: 1, legacy: old}, {customer_id: 2, legacy: old}]
  - name: old_reader
    model: reader_old
    given:
      - input: ref('dim_customers', v=1)
        rows: [{customer_id: 7, name: Cy, legacy: x}]
    expect:
      rows: [{customer_id: 7, name: Cy, legacy: x}]
  - name: latest_reader
    model: reader
    given:
      - input: ref('dim_customers')
        rows: [{customer_id: 1, full_name: Ann}]
      - input: ref('orders')
        rows: [{order_id: 10, customer_id: 1, amount: 5.0}]
    expect:
      rows: [{customer_id: 1, full_name: Ann, order_id: 10}]
`,
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    // Named as dbt names a versioned model's: keeps_names_v1, ...; versions: {exclude: [3]} leaves v3 out.
    const tests = passed(r.events).filter((t) => !t.startsWith('not_null') && !t.startsWith('unique') && !t.startsWith('relationships'));
    expect(tests).toEqual(['keeps_names_v1', 'keeps_names_v2', 'keeps_names_v3', 'latest_reader', 'old_only_v1', 'old_reader']);
    const tasks = eventsOfType(r.events, 'task-succeeded').map((e) => (e.task as { id: string }).id).filter((id) => id.includes('::keeps_names'));
    expect(tasks.map((id) => id.split('::')[0]).sort()).toEqual(['dim_customers_v1', 'dim_customers_v2', 'dim_customers_v3']);
  });

  it('refuses a unit test of versions a model does not have, or of versions of a model without', async () => {
    const test = (model: string, versions: string) => `unit_tests:\n  - name: t\n    model: ${model}\n    versions: ${versions}\n    given: []\n    expect: {rows: []}\n`;
    const r = await compileIn(versionsProject({ 'models/unit.yml': test('dim_customers', '{include: [7]}') }), { date: '2024-01-02' });
    expect(r.code).toBe(2);
    expect(diagnosticsOf(r.events).map((d) => d.message)).toContain('unit test t: dim_customers has no version 7 (its versions: 1, 2, 3)');
    const plain = await compileIn(versionsProject({ 'models/unit.yml': test('reader_old', '{exclude: [1]}') }), { date: '2024-01-02' });
    expect(diagnosticsOf(plain.events).map((d) => d.message)).toContain('unit test t: versions: is for a model with versions, and reader_old has none');
  });

  it('refuses what names no version, at its file and line', async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: shop\n',
      'models/m_v1.sql': 'select 1 as id',
      'models/m_v2.sql': 'select 2 as id',
      'models/other.sql': 'select 3 as id',
      'models/n_v1.sql': 'select 4 as id',
      'models/bad_ref.sql': "select * from {{ ref('m', v=3) }}",
      'models/plain_ref.sql': "select * from {{ ref('other', version=1) }}",
      'models/schema.yml': `version: 2
models:
  - name: m
    versions:
      - v: 1
      - v: 2
      - v: 1
  - name: k
    latest_version: 5
    versions:
      - v: 1
  - name: j
    versions:
      - v: 1
        columns:
          - include: all
          - exclude: [a]
  - name: n
    versions:
      - v: 1
        defined_in: other
  - name: p
    versions:
      - v: 1
`,
    });
    const r = await compileIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(2);
    expect(
      diagnosticsOf(r.events)
        .filter((d) => d.code !== 'deprecated-version')
        .map((d) => [d.message, d.location?.file, d.location?.line])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    ).toEqual([
      ['a version can have at most one include/exclude element under columns:', 'models/schema.yml', 17],
      ["latest_version: 5 is not one of k's versions (1)", 'models/schema.yml', 9],
      ['m has version 1 twice', 'models/schema.yml', 7],
      ['models/n_v1.sql is model n_v1, and version 1 of n is n_v1 too (its query in models/other.sql)', 'models/n_v1.sql', undefined],
      ["ref('m', v=3): m has no version 3 (its versions: 1, 2)", 'models/bad_ref.sql', 1],
      ["ref('other', v=1): other has no versions (no versions: in its properties)", 'models/plain_ref.sql', 1],
      ['version 1 of p has no file: p_v1.sql or p.sql is not among the models', 'models/schema.yml', 24],
    ]);
  });

  it('compiles a version with the config its version sets over the model', async () => {
    const dir = versionsProject();
    writeFileSync(join(dir, 'models/dim_customers_v2.sql'), "select 1 as customer_id, '{{ this.identifier }}' as full_name");
    const r = await compileIn(dir, { date: '2024-01-02', model: 'dim_customers_v2' });
    expect(r.code, explain(r)).toBe(0);
    expect(r.models[0].sql).toContain("'dim_customers_v2' as full_name");
  });
});

describe('exposures', () => {
  const EXPOSURES = `version: 2
exposures:
  - name: weekly_report
    type: dashboard
    maturity: high
    url: https://bi.example.com/1
    description: Weekly customers
    depends_on:
      - ref('reader')
      - ref('dim_customers', v=1)
      - metric('revenue')
    owner: {name: Ann, email: ann@example.com}
`;

  it.each([
    ['+exposure:weekly_report', ['dim_customers_v1', 'dim_customers_v2', 'orders_v2', 'reader']],
    ['1+exposure:weekly_report', ['dim_customers_v1', 'reader']],
    ['@exposure:weekly_report', ['dim_customers_v1', 'dim_customers_v2', 'orders_v2', 'reader']],
  ])('--select %s selects what it depends on, as dbt does', async (selector, names) => {
    const r = await nodesIn(versionsProject({ 'models/exposures.yml': EXPOSURES }), { select: [selector] });
    expect(r.code, explain(r)).toBe(0);
    expect(r.nodes.map((n) => n.name).sort()).toEqual(names);
  });

  it('refuses an exposure alone (nothing pipe builds) and one of no such name; a depends_on naming nothing is an error at its line', async () => {
    const dir = versionsProject({ 'models/exposures.yml': EXPOSURES });
    const alone = await nodesIn(dir, { select: ['exposure:weekly_report'] });
    expect(alone.code).toBe(2);
    const errors = (events: Parameters<typeof diagnosticsOf>[0]) => diagnosticsOf(events).filter((d) => d.code !== 'deprecated-version');
    expect(errors(alone.events)[0].message).toContain('exposure:weekly_report selects the exposure alone, which pipe does not build: +exposure:weekly_report selects what it depends on');
    const typo = await nodesIn(dir, { select: ['+exposure:weekly_reprot'] });
    expect(errors(typo.events)[0]).toMatchObject({ message: "selector '+exposure:weekly_reprot': no exposure named 'weekly_reprot'", hint: "did you mean 'weekly_report'?" });
    writeProjectFiles(dir, { 'models/exposures.yml': EXPOSURES.replace("ref('reader')", "ref('raeder')") });
    const broken = await compileIn(dir, { date: '2024-01-02' });
    expect(broken.code).toBe(2);
    expect(diagnosticsOf(broken.events).filter((d) => d.code === 'unknown-ref').map((d) => [d.message, d.location?.line])).toEqual([
      ["exposure weekly_report: ref('raeder'): no model or seed is named 'raeder'", 9],
    ]);
  });

  it('are in graph.exposures, with the unique ids of what they depend on, the docs block their description names, and the owner as dbt writes it', async () => {
    const dir = versionsProject({
      'models/exposures.yml': EXPOSURES.replace('description: Weekly customers', 'description: "{{ doc(\'weekly\') }}"'),
      'models/docs.md': '{% docs weekly %}\nWeekly customers, by region.\n{% enddocs %}\n',
      'models/listed.sql': `select '{% if execute %}{% for e in graph.exposures.values() %}{{ e.unique_id }} {{ e.type }} {{ e.owner.email }} {{ e.depends_on.nodes | sort | join(",") }} [{{ e.description }}] {{ tojson(e.owner) }}{% endfor %}{% endif %}' as exposures`,
    });
    const r = await runIn(dir, { date: '2024-01-02', select: ['listed'] });
    expect(r.code, explain(r)).toBe(0);
    expect(await queryWarehouse(dir, 'select exposures from main.listed')).toEqual([
      { exposures: 'exposure.shop.weekly_report dashboard ann@example.com model.shop.dim_customers.v1,model.shop.reader [Weekly customers, by region.] {"email": "ann@example.com", "name": "Ann"}' },
    ]);
  });
});

