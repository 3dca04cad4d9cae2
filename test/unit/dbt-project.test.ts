import { afterAll, describe, expect, it } from 'vitest';
import { analyze, type Analysis, type ModelNode, type SeedNode, type SourceNode } from '../../src/analyze/analyze.js';
import { levelsFor, mergeSettings } from '../../src/analyze/dbt/config-tree.js';
import { readProperties } from '../../src/analyze/dbt/properties.js';
import type { Diagnostic } from '../../src/diagnostics/diagnostics.js';
import { dayInterval, parseDate } from '../../src/dates/dates.js';
import { loadProject } from '../../src/project/load-project.js';
import { analyzeAndSelect } from '../../src/commands/context.js';
import { parseYaml } from '../../src/project/yaml-file.js';
import { removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

const day = dayInterval(parseDate('2024-01-02')!);
const run = (files: Record<string, string>): Analysis => analyze(loadProject(tempProject(files)), { interval: day });
const model = (a: Analysis, name: string) => a.nodes.get(name) as ModelNode;
const errors = (a: Analysis) => a.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.code, d.message, d.location?.file, d.location?.line]);

function yaml(text: string, file = 'dbt_project.yml') {
  const found: Diagnostic[] = [];
  const y = parseYaml(text, file, found);
  expect(found).toEqual([]);
  return y!;
}

const PROJECT = `name: shop
profile: shop
models:
  shop:
    materialized: table
    +tags: [nightly]
    staging:
      +materialized: view
      +schema: stage
      +docs:
        node_color: silver
      stg_orders:
        +tags: orders
`;

describe('folder configs', () => {
  it('walks down the qualified name, a key with + or a value that is no mapping being a setting', () => {
    const y = yaml(PROJECT);
    const levels = levelsFor(y, 'models', ['shop', 'staging', 'stg_orders']);
    expect(levels.map((l) => [...l.keys()])).toEqual([[], ['materialized', 'tags'], ['materialized', 'schema', 'docs'], ['tags']]);
    const merged = levels.reduce(mergeSettings, new Map());
    expect(merged.get('materialized')).toEqual({ value: 'view', location: { file: "dbt_project.yml", line: 8 } });
    // Tags add up from level to level, as in dbt.
    expect(merged.get('tags')!.value).toEqual(['nightly', 'orders']);
    expect(merged.get('docs')!.value).toEqual({ node_color: 'silver' });
  });

  it('stops where the tree has no level for the name', () => {
    const levels = levelsFor(yaml(PROJECT), 'models', ['shop', 'marts', 'orders']);
    expect(levels.map((l) => [...l.keys()])).toEqual([[], ['materialized', 'tags']]);
  });

  it('applies to models by folder: views and custom schemas as dbt names them', () => {
    const a = run({
      'dbt_project.yml': PROJECT,
      'models/staging/stg_orders.sql': 'select 1 as id',
      'models/marts/orders.sql': "select * from {{ ref('stg_orders') }}",
    });
    expect(errors(a)).toEqual([]);
    expect(model(a, 'stg_orders').config.materialized).toBe('view');
    expect(model(a, 'stg_orders').relation).toBe('"main_stage"."stg_orders"');
    expect(model(a, 'stg_orders').tags).toEqual(['nightly', 'orders']);
    expect(model(a, 'stg_orders').fqn).toEqual(['shop', 'staging', 'stg_orders']);
    expect(model(a, 'orders').config.materialized).toBe('table');
    expect(model(a, 'orders').relation).toBe('"main"."orders"');
    // docs (node_color) draws dbt's docs site, in dbt too: nothing to tell.
    expect(a.diagnostics.find((d) => d.code === 'not-used')).toBeUndefined();
  });

  it('ranks config() over the properties file over the folder config, tags adding up', () => {
    const a = run({
      'dbt_project.yml': PROJECT,
      'models/staging/stg_orders.sql': "{{ config(materialized='table', tags=['mine']) }}\nselect 1 as id",
      'models/staging/stg_customers.sql': 'select 1 as id',
      'models/staging/schema.yml': `version: 2
models:
  - name: stg_customers
    description: Customers
    config:
      materialized: ephemeral
      alias: customers_v
  - name: stg_orders
    config:
      materialized: view
`,
    });
    expect(errors(a)).toEqual([]);
    expect(model(a, 'stg_orders').config.materialized).toBe('table');
    expect(model(a, 'stg_orders').tags).toEqual(['nightly', 'orders', 'mine']);
    expect(model(a, 'stg_customers').config.materialized).toBe('ephemeral');
    expect(model(a, 'stg_customers').config.description).toBe('Customers');
  });

  it('builds a model that names no materialization as a view, as dbt does', () => {
    const a = run({ 'dbt_project.yml': 'name: shop\n', 'models/m.sql': 'select 1 as id' });
    expect(model(a, 'm').config.materialized).toBe('view');
    // A pipe project's default stays a table.
    expect(model(run({ 'models/m.sql': 'select 1 as id' }), 'm').config.materialized).toBe('table');
  });

  it('names the relation by alias and keeps the model name for ref()', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    orders:\n      +alias: orders_v2\n',
      'models/orders.sql': "{{ config(alias='orders_v3') }}\nselect 1 as id",
      'models/report.sql': "select * from {{ ref('orders') }}",
    });
    expect(errors(a)).toEqual([]);
    expect(model(a, 'orders').relation).toBe('"main"."orders_v3"');
  });

  it('says a dbt_project.yml without a name (empty, or only comments) has none, at its first line', () => {
    for (const text of ['', '# to do\n']) {
      const a = run({ 'dbt_project.yml': text, 'models/a.sql': 'select 1 as id' });
      expect(a.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.message, d.location])).toEqual([
        ['dbt_project.yml has no name: it must name the project (letters, digits, underscores), e.g. name: shop', { file: 'dbt_project.yml', line: 1 }],
      ]);
    }
  });

  it('says only what is wrong with a dbt_project.yml it cannot read, not what its models would be by the rules of a pipe project', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\nversion: 1.0\nprofile: [shop\n',
      // By dbt's default an incremental model with no key appends; by pipe's it would be left out, with a warning.
      'models/inc.sql': "{{ config(materialized='incremental') }}\nselect 1 as id",
      'models/a.sql': "select * from {{ ref('missing') }}",
    });
    expect(a.diagnostics.map((d) => [d.severity, d.location?.file, d.location?.line])).toEqual([['error', 'dbt_project.yml', 3]]);
    expect(a.diagnostics[0].message).toContain('invalid YAML');
  });

  it("says only what is wrong with a package's dbt_project.yml it cannot read, once though packages.yml names its folder too", () => {
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'packages.yml': 'packages:\n  - local: dbt_packages/pkg\n',
      'dbt_packages/pkg/dbt_project.yml': 'name: pkg\nmodels: [\n',
      'dbt_packages/pkg/models/pm.sql': 'select 1 as x',
      // Not 'a package that is not installed': the package is there, its file unread.
      'models/a.sql': "select * from {{ ref('pkg', 'pm') }}",
    });
    expect(a.diagnostics.map((d) => [d.severity, d.location?.file, d.location?.line])).toEqual([['error', 'dbt_packages/pkg/dbt_project.yml', 2]]);
  });

  it("reads a test's ref('pkg', 'model') of an installed package's model, as a model's ref() of it", () => {
    const files = (to: string) => ({
      'dbt_project.yml': 'name: shop\n',
      'dbt_packages/pkg/dbt_project.yml': 'name: pkg\n',
      'dbt_packages/pkg/models/pm.sql': 'select 1 as x',
      'models/a.sql': 'select 1 as x',
      'models/s.yml': `version: 2\nmodels:\n  - name: a\n    columns:\n      - name: x\n        tests:\n          - relationships:\n              to: ${to}\n              field: x\n`,
    });
    const a = run(files("ref('pkg', 'pm')"));
    expect(errors(a)).toEqual([]);
    expect(model(a, 'a').upstream).toContain('pm');
    // A package that is not installed is still said to be one.
    expect(errors(run(files("ref('other', 'pm')")))).toEqual([['unknown-ref', "test relationships_a_x__x__ref_other_pm_: ref('other', 'pm') names the package 'other': pipe does not install dbt packages", 'models/s.yml', 7]]);
  });

  it('refuses two models written to one relation', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'models/a.sql': "{{ config(alias='b') }}\nselect 1 as id",
      'models/b.sql': 'select 1 as id',
    });
    expect(errors(a).map((e) => e[0])).toEqual(['duplicate-relation']);
  });

  it('refuses what would build another table than dbt builds, at its line', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'models/a.sql': "{{ config(materialized='incremental', unique_key='id', merge_update_columns=['name']) }}\nselect 1 as id",
      'models/b.sql': "{{ config(materialized='snapshot') }}\nselect 1 as id",
      'models/c.sql': "{{ config(materialised='view') }}\nselect 1 as id",
    });
    const found = errors(a);
    // A merge that would update some columns only gives another table than pipe's merge.
    expect(found).toContainEqual(['unsupported', "config 'merge_update_columns' is not supported by pipe", 'models/a.sql', 1]);
    // A model is not a snapshot: those are declared apart.
    expect(found).toContainEqual([
      'bad-config',
      "materialized 'snapshot' is not a model's: a snapshot is a {% snapshot %} block under the snapshot folders, or a snapshots: entry with relation: in a properties file",
      'models/b.sql',
      1,
    ]);
    // A typo of a key pipe reads is not left to the default.
    expect(found).toContainEqual(['unknown-key', "unknown config key 'materialised'", 'models/c.sql', 1]);
  });

  it("refuses a typo of a key pipe reads, not a project's own key that merely looks like one", () => {
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'models/a.sql': "{{ config(materialised='view', update_columns=['x'], tag='daily') }}\nselect 1 as id",
    });
    expect(errors(a)).toEqual([
      ['unknown-key', "unknown config key 'materialised'", 'models/a.sql', 1],
      ['unknown-key', "unknown config key 'tag'", 'models/a.sql', 1],
    ]);
    expect(a.diagnostics.find((d) => d.code === 'not-used')?.message).toContain('config update_columns (models/a.sql:1)');
  });

  it("says a key of a model's, seed's or snapshot's properties entry that dbt does not read: a data_test: holds tests that never run", () => {
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'models/m.sql': 'select 1 as id',
      'seeds/s.csv': 'id\n1\n',
      'models/schema.yml': 'version: 2\nmodels:\n  - name: m\n    data_test:\n      - unique:\n          column_name: id\n    description: fine\n    versions_: []\n    columns:\n      - name: id\n        data_test: [not_null]\nseeds:\n  - name: s\n    column_type: {id: int}\n',
    });
    expect(a.diagnostics.filter((d) => d.code === 'unknown-key').map((d) => [d.severity, d.message, d.hint, d.location?.line])).toEqual([
      ['warning', "model m has a key dbt does not read, 'data_test': it is left out, as dbt leaves it", "did you mean 'data_tests'?", 4],
      ['warning', "model m has a key dbt does not read, 'versions_': it is left out, as dbt leaves it", "did you mean 'versions'?", 8],
      ['warning', "column id of model m has a key dbt does not read, 'data_test': it is left out, as dbt leaves it", "did you mean 'data_tests'?", 11],
      ['warning', "seed s has a key dbt does not read, 'column_type': it is left out, as dbt leaves it", expect.stringContaining('its keys: name, description'), 14],
    ]);
    // The same key on many columns of one node (a type: each): one warning, at the first.
    const typed = run({
      'dbt_project.yml': 'name: shop\n',
      'models/m.sql': 'select 1 as a, 2 as b, 3 as c',
      'models/schema.yml': 'version: 2\nmodels:\n  - name: m\n    columns:\n      - name: a\n        type: int\n      - name: b\n        type: int\n      - name: c\n        type: int\n',
    });
    expect(typed.diagnostics.filter((d) => d.code === 'unknown-key').map((d) => [d.message, d.location?.line])).toEqual([
      ["3 columns (a, b, c) of model m have a key dbt does not read, 'type': it is left out, as dbt leaves it", 6],
    ]);
  });

  it('tells, not refuses, a typo of enabled that holds its default: the node builds as meant, in dbt too', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    +enable: true\n',
      'models/a.sql': 'select 1 as id',
      'models/b.sql': "{{ config(enable=false) }}\nselect 1 as id",
    });
    // false is not the default: b may have been meant off, and is refused as before.
    expect(errors(a)).toEqual([['unknown-key', "unknown config key 'enable'", 'models/b.sql', 1]]);
    expect(a.diagnostics.filter((d) => d.severity === 'warning' && d.code === 'unknown-key').map((d) => [d.message, d.hint, d.location?.file, d.location?.line])).toEqual([
      ["unknown config key 'enable', which pipe and dbt leave aside; its value is enabled's default, so the node builds as meant (model a)", "did you mean 'enabled'?", 'dbt_project.yml', 4],
    ]);
  });

  it('reports a folder config pipe refuses once, at its line, naming the models it stops', () => {
    const models = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`models/marts/m${i}.sql`, 'select 1 as id']));
    const a = run({
      'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    marts:\n      +materialized: incremental\n      +incremental_strategy: merge\n    one:\n      +materialized: materialized_view\n',
      ...models,
      'models/one/solo.sql': 'select 1 as id',
      // Its own config() is its own place, reported as it was.
      'models/marts/m9.sql': "{{ config(incremental_strategy='delete+insert') }}\nselect 1 as id",
    });
    const keyless = (strategy: string) => `incremental_strategy '${strategy}' needs unique_key: without it every row is inserted, and a re-run would add the same rows again`;
    expect(errors(a)).toEqual([
      ['bad-config', `${keyless('merge')} (7 models: m0, m1, m2, m3, m4 and 2 more)`, 'dbt_project.yml', 6],
      ['bad-config', keyless('delete+insert'), 'models/marts/m9.sql', 1],
      ['unsupported', 'materialized: materialized_view is not supported by pipe (model solo)', 'dbt_project.yml', 8],
    ]);
    const seeds = run({
      'dbt_project.yml': 'name: shop\nseeds:\n  shop:\n    +database: other\n',
      'seeds/a.csv': 'id\n1\n',
      'seeds/b.csv': 'id\n1\n',
    });
    expect(errors(seeds)).toEqual([['unsupported', "config 'database' is not supported by pipe (2 seeds: a and b)", 'dbt_project.yml', 4]]);
    // Named as a file would name it: the way to keep the project as it is, said.
    expect(seeds.diagnostics.find((d) => d.code === 'unsupported')?.hint).toMatch(/; or name the warehouse's file other\.duckdb \(pipe\.yaml's warehouse: or the profile's path:\), as DuckDB names a database after its file: database: other is then the warehouse's own$/);
    // A database the profile attaches: said so, with where, and no file to rename.
    const lake = run({
      'dbt_project.yml': 'name: shop\nprofile: shop\nmodels:\n  shop:\n    +database: lakehouse\n',
      'profiles.yml': "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb\n      attach:\n        - path: lake.duckdb\n          alias: LakeHouse\n",
      'models/m.sql': 'select 1 as id',
    });
    expect(lake.diagnostics.find((d) => d.code === 'unsupported')?.hint).toBe(
      "lakehouse is a database the profile attaches (profiles.yml:8), which pipe reads (lakehouse.schema.table) and does not build in: pipe builds every node in the warehouse's own database, where the record of each build commits with its data; remove database:",
    );
    // The warehouse's own database, as projects name it to be explicit, is where pipe builds anyway.
    const own = run({
      'dbt_project.yml': "name: shop\nseeds:\n  shop:\n    +database: \"{{ target.database }}\"\nmodels:\n  shop:\n    +database: WAREHOUSE\n",
      'seeds/a.csv': 'id\n1\n',
      'models/m.sql': 'select 1 as id',
    });
    expect(errors(own)).toEqual([]);
  });

  it("takes a file of a package whose folder is inside another package's as the inner package's (a local package in integration tests)", () => {
    // dbt-project-evaluator keeps exclude_package in its integration_tests/, and its tests install both.
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'packages.yml': 'packages:\n  - local: vendor/outer\n  - local: vendor/outer/integration_tests/inner\n',
      'vendor/outer/dbt_project.yml': "name: outer\nversion: '1.0.0'\nconfig-version: 2\n",
      'vendor/outer/models/o.sql': 'select 1 as id',
      'vendor/outer/integration_tests/inner/dbt_project.yml': "name: inner\nversion: '1.0.0'\nconfig-version: 2\nvars:\n  label: inner\n",
      'vendor/outer/integration_tests/inner/models/_sources.yml': 'version: 2\nsources:\n  - name: raw\n    schema: main\n    tables:\n      - name: t\n',
      'vendor/outer/integration_tests/inner/models/i.sql': "select '{{ var(\"label\") }}' as label from {{ source('raw', 't') }}",
    });
    expect(errors(a)).toEqual([]);
    const source = [...a.nodes.values()].find((n): n is SourceNode => n.kind === 'source')!;
    expect(source.fqn[0]).toBe('inner');
    expect(a.renderer.sql('i', day, { tableExists: false, fullRefresh: false })).toMatchObject({ sql: `select 'inner' as label from "main"."t"` });
  });

  it("refuses a ref() of a private model from outside its group, a relationships test's too, as dbt's parse does; its own group's are read", () => {
    const files = {
      'dbt_project.yml': 'name: shop\n',
      'models/secret.sql': 'select 1 as x',
      'models/nogroup.sql': 'select 1 as x',
      'models/inside.sql': "select * from {{ ref('secret') }}",
      'models/outside.sql': "select * from {{ ref('secret') }}\nunion all select * from {{ ref('nogroup') }}",
      'models/tested.sql': 'select 1 as x',
      'models/schema.yml': [
        'version: 2',
        'models:',
        '  - {name: secret, access: private, group: finance}',
        '  - {name: nogroup, config: {access: private}}',
        '  - {name: inside, group: finance}',
        '  - {name: outside, group: sales}',
        '  - name: tested',
        '    columns:',
        '      - name: x',
        "        data_tests: [{relationships: {to: ref('secret'), field: x}}]",
        '',
      ].join('\n'),
    };
    const a = run(files);
    expect(a.diagnostics.filter((d) => d.code === 'private-ref').map((d) => [d.message, d.location?.file, d.location?.line, d.blocks])).toEqual([
      ["outside reads secret, which is private to the group 'finance' (access: private): dbt refuses a ref() from the group 'sales'", 'models/outside.sql', 1, ['outside']],
      ['outside reads nogroup, which is private (access: private) and in no group: dbt refuses every ref() of it', 'models/outside.sql', 2, ['outside']],
      ["a test of tested reads secret, which is private to the group 'finance' (access: private): dbt refuses a ref() from a model in no group", 'models/schema.yml', 10, ['tested']],
    ]);
    // A version's own access: (not under config:) leaves it protected, as dbt 1.11 builds it; its config's is read.
    const versioned = (version: string) =>
      run({
        'dbt_project.yml': 'name: shop\n',
        'models/priv_v1.sql': 'select 1 as x',
        'models/priv_v2.sql': 'select 2 as x',
        'models/consumer.sql': "select * from {{ ref('priv', v=1) }}",
        'models/schema.yml': `version: 2\nmodels:\n  - name: priv\n    group: g1\n    latest_version: 2\n    versions:\n      - v: 1\n${version}\n      - v: 2\n  - name: consumer\n    group: g2\n`,
      }).diagnostics.filter((d) => d.code === 'private-ref').map((d) => d.message);
    expect(versioned('        access: private')).toEqual([]);
    expect(versioned('        config: {access: private}')).toEqual(["consumer reads priv_v1, which is private to the group 'g1' (access: private): dbt refuses a ref() from the group 'g2'"]);
  });

  it('reads the installed packages when a local: package is not at its path, as dbt reads only those, and says so', () => {
    const files = {
      'dbt_project.yml': 'name: shop\n',
      'packages.yml': 'packages:\n  - local: ../not_here\n',
      'models/m.sql': "select * from {{ ref('pkg_model') }}",
    };
    const installed = run({ ...files, 'dbt_packages/mypkg/dbt_project.yml': 'name: mypkg\n', 'dbt_packages/mypkg/models/pkg_model.sql': 'select 1 as x' });
    expect(errors(installed)).toEqual([]);
    expect(installed.nodes.has('pkg_model')).toBe(true);
    expect(installed.diagnostics.filter((d) => d.code === 'missing-package').map((d) => [d.message, d.location?.file, d.location?.line])).toEqual([
      ['the local package ../not_here is not there: pipe reads the packages installed in dbt_packages, as dbt does', 'packages.yml', 2],
    ]);
    // Nothing installed either: an error saying the folder is missing, not that it lacks a dbt_project.yml.
    const none = run({ ...files, 'models/m.sql': 'select 1 as x' });
    expect(errors(none)).toEqual([['bad-config', 'the local package ../not_here is not there: no folder ../not_here', 'packages.yml', 2]]);
    // A path that is a folder but no package (a package's integration_tests copied out of its repository, `local: ../`): the same.
    const folder = { ...files, 'packages.yml': 'packages:\n  - local: vendor\n', 'vendor/README.md': 'not a package\n' };
    const copied = run({ ...folder, 'dbt_packages/mypkg/dbt_project.yml': 'name: mypkg\n', 'dbt_packages/mypkg/models/pkg_model.sql': 'select 1 as x' });
    expect(errors(copied)).toEqual([]);
    expect(copied.nodes.has('pkg_model')).toBe(true);
    expect(copied.diagnostics.filter((d) => d.code === 'missing-package').map((d) => d.message)).toEqual([
      'the local package vendor has no dbt_project.yml: pipe reads the packages installed in dbt_packages, as dbt does',
    ]);
    expect(errors(run({ ...folder, 'models/m.sql': 'select 1 as x' }))).toEqual([['bad-config', 'the local package vendor has no dbt_project.yml', 'packages.yml', 2]]);
  });

  it('warns at require-dbt-version, the project\'s or a package\'s, when its range leaves out the dbt 1.11 that pipe follows', () => {
    const warned = (a: Analysis) => a.diagnostics.filter((d) => d.code === 'dbt-version').map((d) => [d.message, d.location?.file, d.location?.line]);
    const project = (range: string) => run({ 'dbt_project.yml': `name: shop\nrequire-dbt-version: ${range}\n`, 'models/a.sql': 'select 1 as id' });
    // Ranges that take in a release of 1.11, as a list, one string, or specifiers separated by commas.
    for (const range of ['[">=1.3.0", "<2.0.0"]', '">=1.11.4"', '">=1.0.0,<1.12.0"', '["1.11.0"]', '["<=1.11.0"]', '[">1.10.9"]', '">=1.11.0a1"', '">=1.11.0-b2"']) expect(warned(project(range)), range).toEqual([]);
    expect(warned(project('[">=1.0.0", "<1.1.0"]'))).toEqual([
      ['the project requires dbt >=1.0.0, <1.1.0: pipe follows dbt 1.11, where it may build otherwise (dbt 1.11 itself refuses it)', 'dbt_project.yml', 2],
    ]);
    for (const range of ['"<1.11.0"', '">=1.12.0"', '"2.0.0"', '[">1.11.3", "<1.11.2"]']) expect(warned(project(range)), range).toHaveLength(1);
    expect(warned(project('"latest"'))).toEqual([['require-dbt-version of the project is not a version range dbt reads: "latest"', 'dbt_project.yml', 2]]);
    // An installed package pinned to an old dbt is named, with the file and line of its pin.
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'models/a.sql': 'select 1 as id',
      'dbt_packages/metrics/dbt_project.yml': "name: metrics\nversion: '1.5.1'\nrequire-dbt-version: [\">=1.5.0-a1\", \"<1.6.0\"]\n",
    });
    expect(warned(a)).toEqual([['the package metrics requires dbt >=1.5.0-a1, <1.6.0: pipe follows dbt 1.11, where it may build otherwise (dbt 1.11 itself refuses it)', 'dbt_packages/metrics/dbt_project.yml', 3]]);
    expect(a.diagnostics.find((d) => d.code === 'dbt-version')?.hint).toBe('install a version of metrics made for dbt 1.11');
  });

  it("says how to leave out an installed package's models when only they reach what pipe cannot render, and leaves them out so", () => {
    // elementary's models upload dbt's artifacts with adapter.commit() and dbt.create_table_as().
    const pkg = {
      'dbt_packages/obs/dbt_project.yml': "name: obs\nversion: '1.0.0'\nconfig-version: 2\n",
      'dbt_packages/obs/macros/upload.sql': '{% macro upload() %}{% do adapter.commit() %}select 1 as id{% endmacro %}',
      'dbt_packages/obs/models/runs.sql': '{{ obs.upload() }}',
      'models/a.sql': 'select 1 as id',
    };
    const on = run({ 'dbt_project.yml': 'name: shop\n', ...pkg });
    expect(errors(on)).toEqual([['unsupported', 'adapter.commit is not supported by pipe', 'dbt_packages/obs/macros/upload.sql', 1]]);
    expect(on.diagnostics.find((d) => d.code === 'unsupported')?.hint).toContain('only the models of the package obs reach it: `models: obs: +enabled: false` in dbt_project.yml leaves them out');
    const off = run({ 'dbt_project.yml': 'name: shop\nmodels:\n  obs:\n    +enabled: false\n', ...pkg });
    expect(errors(off)).toEqual([]);
    // Reached by the project's own model too, the hint does not say so.
    const own = run({ 'dbt_project.yml': 'name: shop\n', ...pkg, 'models/b.sql': '{{ obs.upload() }}' });
    expect(own.diagnostics.find((d) => d.code === 'unsupported')?.hint).not.toContain('only the models');
  });

  it("says where a SQL model was switched off: dbt_project.yml's line, not the model's config() that sets other keys", () => {
    const a = run({
      'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    a:\n      +enabled: false\n',
      'models/a.sql': "{{ config(materialized='table') }}\nselect 1 as id",
      'models/b.sql': "select * from {{ ref('a') }}",
    });
    expect(a.diagnostics.find((d) => d.code === 'disabled-ref')?.related?.[0]?.location).toEqual({ file: 'dbt_project.yml', line: 5 });
  });

  it('refuses a Python model unless its config switches it off, then leaves it out as dbt does', () => {
    const py = 'def model(dbt, session):\n    return dbt.ref("a").df()\n';
    const on = run({ 'dbt_project.yml': 'name: shop\n', 'models/a.sql': 'select 1 as id', 'models/py/scores.py': py });
    expect(errors(on)).toEqual([['unsupported', 'models/py/scores.py is a Python model: pipe builds SQL models only', 'models/py/scores.py', undefined]]);
    expect(on.diagnostics.find((d) => d.code === 'unsupported')?.hint).toContain('+enabled: false');
    // Off by its folder in dbt_project.yml: no error, no unused config path; a model reading it is told where it was switched off.
    const byFolder = run({
      'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    py:\n      scores:\n        +enabled: false\n',
      'models/a.sql': 'select 1 as id',
      'models/py/scores.py': py,
      'models/reads.sql': "select * from {{ ref('scores') }}",
    });
    expect(errors(byFolder)).toEqual([['disabled-ref', "ref('scores'): scores is disabled (enabled: false)", 'models/reads.sql', 1]]);
    expect(byFolder.diagnostics.find((d) => d.code === 'disabled-ref')?.related?.[0]?.location).toEqual({ file: 'dbt_project.yml', line: 6 });
    expect(byFolder.diagnostics.filter((d) => d.severity === 'warning').map((d) => d.message).join('\n')).not.toContain('applies to no');
    // Off in its properties entry, which describes the project's own model (not unmatched).
    const byProperties = run({
      'dbt_project.yml': 'name: shop\n',
      'models/a.sql': 'select 1 as id',
      'models/py/scores.py': py,
      'models/py/schema.yml': 'version: 2\nmodels:\n  - name: scores\n    config:\n      enabled: false\n',
    });
    expect(byProperties.diagnostics.filter((d) => d.severity !== 'info').map((d) => [d.code, d.message])).toEqual([]);
    expect([...byProperties.nodes.keys()]).toEqual(['a']);
    expect(byProperties.disabled.get('scores')).toEqual({ file: 'models/py/schema.yml', line: 5 });
  });

  it('renders the Jinja of config values, a single expression keeping its type', () => {
    const a = run({
      'dbt_project.yml': `name: shop
vars:
  load_raw: false
  mat: view
seeds:
  shop:
    raw:
      +enabled: "{{ var('load_raw', true) }}"
models:
  shop:
    +materialized: "{{ var('mat') }}"
    +schema: "s_{{ var('mat') }}"
`,
      'seeds/raw/big.csv': 'id\n1\n',
      'seeds/small.csv': 'id\n1\n',
      'models/m.sql': 'select 1 as id',
    });
    expect(errors(a)).toEqual([]);
    expect([...a.nodes.keys()].sort()).toEqual(['m', 'small']);
    expect(model(a, 'm').config.materialized).toBe('view');
    expect(model(a, 'm').relation).toBe('"main_s_view"."m"');
  });

  it('renders the Jinja of texts inside lists and mappings of a config value too, hooks left to the run', () => {
    const a = run({
      'dbt_project.yml': `name: shop
vars:
  n: 3
models:
  shop:
    +tags: ["{{ target.name }}", "t{{ var('n') + 1 }}", plain]
    +post-hook: ["select '{{ this }}'"]
`,
      'models/m.sql': 'select 1 as id',
      'models/m2.sql': 'select 1 as id',
      'models/props.yml': `version: 2\nmodels:\n  - name: m2\n    config:\n      tags: ["p{{ var('n') }}"]\n`,
    });
    expect(errors(a)).toEqual([]);
    // As dbt ls lists them (with no profiles.yml, the target is named default).
    expect([model(a, 'm').config.tags, model(a, 'm2').config.tags]).toEqual([
      ['default', 't4', 'plain'],
      ['default', 't4', 'plain', 'p3'],
    ]);
    expect(model(a, 'm').config.post_hook.map((h) => h.sql ?? h)).toEqual(["select '{{ this }}'"]);
  });

  it("keeps the type of a config value that says so with as_bool, as_number or as_native, whatever else its template does", () => {
    const enabled = (when: string) => `      enabled: |\n        {% if var('synthetic') == ${when} -%} {{ true|as_bool }} {%- else -%} {{ false|as_bool }} {%- endif -%}\n`;
    const a = run({
      'dbt_project.yml': 'name: shop\nvars:\n  synthetic: true\n',
      'seeds/synthetic.csv': 'id\n1\n',
      'seeds/real.csv': 'id\n1\n',
      'seeds/_seeds.yml': `version: 2\nseeds:\n  - name: synthetic\n    config:\n${enabled('true')}  - name: real\n    config:\n${enabled('false')}`,
    });
    expect(errors(a)).toEqual([]);
    expect([...a.nodes.keys()].sort()).toEqual(['synthetic']);
  });

  it('leaves out a model switched off by its config() before a var nobody sets, as dbt never compiles it; one switched on still needs the var', () => {
    const model = (on: boolean) => `{{ config(enabled = var('benchmarks', ${on ? 'True' : 'False'}) | as_bool) }}\nselect * from {{ var('predictions') }}`;
    const a = run({ 'dbt_project.yml': 'name: shop\n', 'models/off.sql': model(false), 'models/on.sql': model(true) });
    expect(errors(a)).toEqual([
      ['template-render', "var 'predictions' is not set and has no default; pass --vars '{predictions: VALUE}' or set it under vars: in dbt_project.yml", 'models/on.sql', 2],
    ]);
    expect(a.nodes.has('off')).toBe(false);
  });

  it('reads vars, the ones scoped to the project over the global ones, pipe.yaml over both', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\nvars:\n  a: 1\n  b: 1\n  c: 1\n  shop:\n    b: 2\n    c: 2\n',
      'pipe.yaml': 'vars:\n  c: 3\n',
      'models/m.sql': "select {{ var('a') }} as a, {{ var('b') }} as b, {{ var('c') }} as c",
    });
    expect(errors(a)).toEqual([]);
    expect(a.vars).toMatchObject({ a: 1, b: 2, c: 3 });
  });

  it('reads models from the folders dbt_project.yml names, and names files pipe does not use', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\nmodel-paths: ["transform"]\nseed-paths: ["data"]\n',
      'transform/a.sql': 'select 1 as id',
      'transform/docs.md': '{% docs a %}A{% enddocs %}',
      'data/sub/raw.csv': 'id\n1\n',
      'analyses/one.sql': 'select 1',
      'snapshots/snap.sql': "{% snapshot snap %}{{ config(unique_key='id', strategy='check', check_cols='all') }}select 1 as id{% endsnapshot %}",
      'models/ignored.sql': 'select 1',
    });
    expect(errors(a)).toEqual([]);
    expect([...a.nodes.keys()].sort()).toEqual(['a', 'raw', 'snap']);
    expect((a.nodes.get('raw') as SeedNode).fqn).toEqual(['shop', 'sub', 'raw']);
    const notice = a.diagnostics.find((d) => d.code === 'not-used')!.message;
    // A docs block is used, by doc() in descriptions; an analysis is not.
    expect(notice).not.toContain('docs.md');
    expect(notice).toContain('analyses/one.sql');
    expect(notice).not.toContain('snap');
  });

  it('reads docs blocks where docs-paths says, else in the folders of every other path, as dbt does', () => {
    const described = (files: Record<string, string>) => {
      const a = run({
        'models/m.sql': 'select 1 as status',
        'models/m.yml': 'version: 2\nmodels:\n  - name: m\n    columns:\n      - name: status\n        description: \'{{ doc("status") }}\'\n',
        ...files,
      });
      return { errors: errors(a), text: (a.nodes.get('m') as { columns?: readonly { description?: string }[] }).columns?.[0]?.description };
    };
    expect(described({ 'dbt_project.yml': 'name: shop\ndocs-paths: ["docs"]\n', 'docs/status.md': '{% docs status %}Placed or shipped.{% enddocs %}' })).toEqual({ errors: [], text: 'Placed or shipped.' });
    // Without docs-paths: a macro folder's block is found, as dbt finds it.
    expect(described({ 'dbt_project.yml': 'name: shop\n', 'macros/status.md': '{% docs status %}From macros.{% enddocs %}' })).toEqual({ errors: [], text: 'From macros.' });
    // With docs-paths, the model folders' blocks are not read.
    expect(described({ 'dbt_project.yml': 'name: shop\ndocs-paths: ["docs"]\n', 'docs/none.md': '', 'models/status.md': '{% docs status %}x{% enddocs %}' }).errors.map((e) => String(e[1]))).toEqual([
      "doc('status'): no docs block of that name",
    ]);
  });

  it('warns of a folder dbt_project.yml names that the project does not have, at its line', () => {
    // Folders of dbt's default names, as dbt init writes them, may be absent: git keeps no empty folder.
    const a = run({ 'dbt_project.yml': 'name: shop\nmodel-paths: ["modelz", "models"]\nsource-paths: ["x"]\ntest-paths: ["tests"]\nanalysis-paths: ["analysis"]\nmacro-paths: ["macro"]\n', 'models/a.sql': 'select 1 as id' });
    expect(a.diagnostics.filter((d) => d.code === 'missing-folder').map((d) => [d.severity, d.message, d.location?.line])).toEqual([
      ['warning', 'model-paths: the folder modelz does not exist: nothing is read from it', 2],
      ['warning', 'macro-paths: the folder macro does not exist: nothing is read from it', 6],
    ]);
    expect([...a.nodes.keys()]).toEqual(['a']);
  });
});

describe("the project's own generate_schema_name", () => {
  it('names every schema, with target and the custom schema or none', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    marts:\n      +schema: marts\nseeds:\n  shop:\n    +schema: raw\n',
      'macros/schema.sql': `{% macro generate_schema_name(custom_schema_name, node) -%}
  {%- if custom_schema_name is none -%}{{ target.schema }}_{{ node.resource_type }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}`,
      'models/staging/stg.sql': 'select 1 as id',
      'models/marts/fct.sql': "select * from {{ ref('stg') }}",
      'seeds/raw_x.csv': 'id\n1\n',
    });
    expect(errors(a)).toEqual([]);
    expect(model(a, 'stg').relation).toBe('"main_model"."stg"');
    expect(model(a, 'fct').relation).toBe('"marts"."fct"');
    expect(a.nodes.get('raw_x')!.relation).toBe('"raw"."raw_x"');
  });

  it("is the project's default__generate_schema_name when it has one, which dbt's dispatches to, and reads vars, for a package's nodes too", () => {
    // The Tuva project's CI overrides dbt's macro this way, with a var for a prefix.
    const a = run({
      'dbt_project.yml': "name: shop\nvars:\n  prefix: ci\nmodels:\n  shop:\n    marts:\n      +schema: marts\n  tools:\n    +schema: tooling\n",
      'macros/schema.sql': `{% macro default__generate_schema_name(custom_schema_name, node) -%}
  {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ var('prefix') }}_{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}`,
      'models/marts/fct.sql': 'select 1 as id',
      'models/stg.sql': "select * from {{ ref('fct') }}, {{ ref('tool_model') }}",
      'dbt_packages/tools/dbt_project.yml': "name: tools\nversion: '1.0.0'\nconfig-version: 2\n",
      'dbt_packages/tools/models/tool_model.sql': 'select 2 as id',
    });
    expect(errors(a)).toEqual([]);
    expect(model(a, 'fct').relation).toBe('"ci_marts"."fct"');
    expect(model(a, 'stg').relation).toBe('"main"."stg"');
    expect(model(a, 'tool_model').relation).toBe('"ci_tooling"."tool_model"');
    expect(a.renderer.sql('stg', day, { tableExists: false, fullRefresh: false })).toMatchObject({ sql: 'select * from "ci_marts"."fct", "ci_tooling"."tool_model"' });
  });

  it('is an error at the model when it gives no identifier', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'macros/schema.sql': '{% macro generate_schema_name(custom_schema_name, node) %}not a schema{% endmacro %}',
      'models/m.sql': 'select 1 as id',
    });
    expect(errors(a)).toEqual([['bad-config', "generate_schema_name gives 'not a schema' for m: a schema must be a name of letters (of any script), digits, _, $ and -, starting with a letter, a digit or _", 'models/m.sql', undefined]]);
  });
});

describe("the project's own generate_alias_name", () => {
  it('names every model, seed and snapshot, ref() and {{ this }} follow, and an alias is passed to it', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'macros/alias.sql': `{% macro generate_alias_name(custom_alias_name=none, node=none) -%}
  {%- if custom_alias_name -%}{{ custom_alias_name | trim }}_x{%- else -%}{{ target.name }}_{{ node.resource_type }}_{{ node.name }}{%- endif -%}
{%- endmacro %}`,
      'models/orders.sql': "{{ config(materialized='table') }}select 1 as id, '{{ this }}' as me",
      'models/copy.sql': "select * from {{ ref('orders') }}",
      'models/aliased.sql': "{{ config(alias='named') }}select 1 as id",
      'seeds/raw_x.csv': 'id\n1\n',
      'snapshots/snap.sql': "{% snapshot snap %}{{ config(unique_key='id', strategy='check', check_cols='all') }}select * from {{ ref('orders') }}{% endsnapshot %}",
    });
    expect(errors(a)).toEqual([]);
    expect(model(a, 'orders').relation).toBe('"main"."default_model_orders"');
    expect(model(a, 'aliased').relation).toBe('"main"."named_x"');
    expect(a.nodes.get('raw_x')!.relation).toBe('"main"."default_seed_raw_x"');
    expect(a.nodes.get('snap')!.relation).toBe('"main"."default_snapshot_snap"');
    expect(a.renderer.sql('copy', day, { tableExists: false, fullRefresh: false })).toMatchObject({ sql: 'select * from "main"."default_model_orders"' });
    expect(a.renderer.sql('orders', day, { tableExists: false, fullRefresh: false })).toMatchObject({ sql: `select 1 as id, '"warehouse"."main"."default_model_orders"' as me` });
  });

  it('is an error at the model when it gives no table name', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'macros/alias.sql': '{% macro generate_alias_name(custom_alias_name=none, node=none) %}{% endmacro %}',
      'models/m.sql': 'select 1 as id',
    });
    expect(errors(a).map((e) => [e[0], e[2]])).toEqual([['bad-config', 'models/m.sql']]);
    expect(errors(a)[0][1]).toMatch(/^generate_alias_name gives '' for m: /);
  });
});

describe("dbt_project.yml's sources: configs", () => {
  it("apply along dbt's qualified name of a source table (its properties file's folders included), under the file's own", () => {
    const a = run({
      'dbt_project.yml': [
        'name: shop',
        'sources:',
        '  shop:',
        '    +tags: [raw_data]',
        '    +meta: {owner: data, tier: 2}',
        '    staging:',
        '      crm:',
        '        +enabled: false',
        '      erp:',
        '        +loaded_at_field: synced_at',
        '        +freshness: {warn_after: {count: 1, period: day}}',
        '    stagin:',
        '      +enabled: false',
        '',
      ].join('\n'),
      'models/staging/sources.yml': [
        'version: 2',
        'sources:',
        '  - name: crm',
        '    tables: [{name: people}]',
        '  - name: erp',
        '    tables:',
        '      - name: orders',
        '        meta: {tier: 1}',
        '      - name: lines',
        '        loaded_at_field: loaded',
        '        config: {enabled: true, tags: [lines]}',
        '',
      ].join('\n'),
      'models/staging/other.yml': 'version: 2\nsources:\n  - name: crm2\n    config: {enabled: true}\n    tables: [{name: people}]\n',
      'models/m.sql': "select * from {{ source('erp', 'orders') }}",
    });
    expect(errors(a)).toEqual([]);
    const source = (name: string) => a.nodes.get(name) as SourceNode | undefined;
    expect(source('crm.people')).toBeUndefined();
    expect(source('crm2.people')).toBeDefined();
    expect(source('erp.orders')).toMatchObject({ fqn: ['shop', 'staging', 'erp', 'orders'], tags: ['raw_data'], loadedAtField: 'synced_at', freshness: { warnAfter: { count: 1, period: 'day' } } });
    expect(source('erp.orders')!.graph.meta).toEqual({ owner: 'data', tier: 1 });
    expect(source('erp.lines')).toMatchObject({ tags: ['raw_data', 'lines'], loadedAtField: 'loaded' });
    // A path that begins no source's qualified name is said, as dbt says it.
    expect(a.diagnostics.map((d) => [d.severity, d.message, d.location?.line])).toEqual([
      ['warning', 'sources.shop.stagin applies to no source: no qualified name begins shop.stagin (dbt warns of this unused configuration path too)', 12],
    ]);
  });
});

describe('an empty tests: key of a properties file', () => {
  it('is said at its line, as dbt refuses the file for it; nothing else changes', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'models/m.sql': 'select 1 as id',
      'models/schema.yml': 'version: 2\nmodels:\n  - name: m\n    tests:\n    columns:\n      - name: id\n        data_tests:\n',
    });
    expect(a.diagnostics.map((d) => [d.severity, d.code, d.location?.line]).sort()).toEqual([
      ['warning', 'empty-tests', 4],
      ['warning', 'empty-tests', 7],
    ]);
    expect(a.nodes.has('m')).toBe(true);
  });

  it('and an empty columns: key too, of a model and of a source table', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'models/m.sql': 'select 1 as id',
      'models/schema.yml': 'version: 2\nmodels:\n  - name: m\n    columns:\nsources:\n  - name: raw\n    tables:\n      - name: t\n        columns:\n',
    });
    expect(a.diagnostics.map((d) => [d.severity, d.code, d.location?.line, d.message])).toEqual([
      ['warning', 'empty-columns', 4, "columns: is empty: dbt refuses this file for it (None is not of type 'array'); pipe reads no column there"],
      ['warning', 'empty-columns', 9, "columns: is empty: dbt refuses this file for it (None is not of type 'array'); pipe reads no column there"],
    ]);
  });
});

describe('the notice of what pipe does not use', () => {
  it('names every place a key is set, each once however many nodes take it', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    +grants:\n      select: [reporter]\nseeds:\n  shop:\n    +grants:\n      select: [loader]\n',
      'models/a.sql': 'select 1 as x',
      'models/b.sql': 'select 2 as x',
      'seeds/s.csv': 'a\n1\n',
    });
    expect(a.diagnostics.filter((d) => d.code === 'not-used').map((d) => d.message)).toEqual(['pipe does not use: config grants (dbt_project.yml:4, dbt_project.yml:8)']);
    expect(a.diagnostics.find((d) => d.code === 'not-used')?.hint).toBe('these do not change what pipe builds');
  });

  it("leaves out the settings of disabled models and seeds, which dbt does not read either", () => {
    const a = run({
      'dbt_project.yml': "name: shop\nmodels:\n  shop:\n    extra:\n      +enabled: \"{{ var('with_extra', false) }}\"\n      +transient: false\nseeds:\n  shop:\n    +enabled: false\n    +grants:\n      select: [loader]\n",
      'models/a.sql': 'select 1 as x',
      'models/extra/b.sql': "{{ config(indexes=[{'columns': ['x']}]) }}\nselect 2 as x",
      'seeds/s.csv': 'a\n1\n',
    });
    expect(a.diagnostics.filter((d) => d.code === 'not-used')).toEqual([]);
    const on = run({
      'dbt_project.yml': "name: shop\nvars:\n  with_extra: true\nmodels:\n  shop:\n    extra:\n      +enabled: \"{{ var('with_extra', false) }}\"\n      +transient: false\n",
      'models/a.sql': 'select 1 as x',
      'models/extra/b.sql': "{{ config(indexes=[{'columns': ['x']}]) }}\nselect 2 as x",
    });
    expect(on.diagnostics.filter((d) => d.code === 'not-used').map((d) => d.message)).toEqual([
      'pipe does not use: config transient (dbt_project.yml:8), config indexes (models/extra/b.sql:1)',
    ]);
  });

  it('says that the semantic layer it names goes unchecked, which dbt parse checks', () => {
    // A metric of a measure no semantic model has: dbt refuses the project at parse.
    const yml = 'version: 2\nsemantic_models:\n  - name: orders\n    model: ref(\'a\')\nmetrics:\n  - name: revenue\n    type: simple\n    type_params: {measure: nosuch}\n';
    const a = run({ 'dbt_project.yml': 'name: shop\n', 'models/a.sql': 'select 1 as x', 'models/sl.yml': yml });
    const notice = a.diagnostics.find((d) => d.code === 'not-used');
    expect(notice?.message).toBe('pipe does not use: semantic models (models/sl.yml:2), metrics (models/sl.yml:5)');
    expect(notice?.hint).toBe('these do not change what pipe builds; nor does pipe check the semantic models, metrics (dbt parse does)');
  });
});

describe('a groups section', () => {
  it("is read without a notice: pipe selects by a model's group and refuses a ref to another group's private model", () => {
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'models/a.sql': "{{ config(group='finance', access='private') }}\nselect 1 as x",
      'models/groups.yml': 'version: 2\ngroups:\n  - name: finance\n    owner: {name: Ann}\n',
    });
    expect(a.diagnostics.filter((d) => d.code === 'not-used')).toEqual([]);
    expect(a.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
  });
});

describe("a source's schema: and identifier: written with Jinja", () => {
  it('are reported at their own line when they fail to render, not at the table', () => {
    const errorsOf = (yml: string) =>
      run({ 'dbt_project.yml': 'name: shop\n', 'models/a.sql': 'select 1 as id', 'models/src.yml': yml })
        .diagnostics.filter((d) => d.severity === 'error')
        .map((d) => [d.message, d.location?.line]);
    expect(errorsOf("version: 2\nsources:\n  - name: src\n    description: hi\n    schema: \"{{ var('src_schema') }}\"\n    tables:\n      - name: t\n")).toEqual([
      ["var 'src_schema' is not set and has no default", 5],
    ]);
    expect(errorsOf("version: 2\nsources:\n  - name: src\n    tables:\n      - name: t\n        identifier: \"{{ var('tid') }}\"\n")).toEqual([["var 'tid' is not set and has no default", 6]]);
  });
});

describe("a source table's enabled: written with Jinja", () => {
  it('is rendered, with var() as the file\'s project sets it: a table it switches off is no node, its tests do not run, reading it is an error', () => {
    const files = {
      'dbt_project.yml': 'name: shop\nvars:\n  use_b: false\n',
      'models/src.yml': [
        'version: 2',
        'sources:',
        '  - name: raw',
        '    tables:',
        '      - name: raw_a',
        '      - name: raw_b',
        '        config:',
        '          enabled: "{{ var(\'use_b\', true) }}"',
        '        columns:',
        '          - name: id',
        '            data_tests: [not_null]',
        '      - name: raw_c',
        '        config:',
        '          enabled: "{{ var(\'use_c\', true) }}"',
        '',
      ].join('\n'),
      'models/m.sql': "select * from {{ source('raw', 'raw_a') }}",
    };
    const a = run(files);
    expect(errors(a)).toEqual([]);
    expect([...a.nodes.keys()].filter((n) => n.startsWith('raw.')).sort()).toEqual(['raw.raw_a', 'raw.raw_c']);
    expect([...a.sourceChecks.keys()]).toEqual([]);
    const reading = run({ ...files, 'models/m.sql': "select * from {{ source('raw', 'raw_b') }}" });
    expect(errors(reading)).toEqual([['disabled-source', "source('raw', 'raw_b'): raw.raw_b is disabled (enabled: false)", 'models/m.sql', 1]]);
    // A package's own file takes the package's vars.
    const pkg = run({
      'dbt_project.yml': 'name: shop\n',
      'dbt_packages/crm/dbt_project.yml': 'name: crm\nvars:\n  crm:\n    crm_people_enabled: false\n',
      'dbt_packages/crm/models/src.yml': 'version: 2\nsources:\n  - name: crm\n    tables:\n      - name: people\n        config:\n          enabled: "{{ var(\'crm_people_enabled\', true) }}"\n      - name: deals\n',
      'models/m.sql': 'select 1 as x',
    });
    expect([...pkg.nodes.keys()].filter((n) => n.startsWith('crm.')).sort()).toEqual(['crm.deals']);
  });
});

describe("a project's own materialization", () => {
  it('is refused by name, saying the project defines it and what to do instead', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'macros/copy.sql': "{% materialization table_with_copy, adapter='duckdb' %}{{ return({'relations': []}) }}{% endmaterialization %}",
      'models/m.sql': "{{ config(materialized='table_with_copy') }}select 1 as id",
      'models/n.sql': "{{ config(materialized='tabl') }}select 1 as id",
    });
    expect(errors(a).map((e) => [e[1], e[2]])).toEqual([
      ["materialized 'table_with_copy' is the project's own materialization (a {% materialization %} block): pipe builds models its own ways, to keep every write atomic and idempotent", 'models/m.sql'],
      ['materialized must be one of table, view, incremental, external, ephemeral; got "tabl"', 'models/n.sql'],
    ]);
    expect(a.diagnostics.find((d) => d.location?.file === 'models/n.sql')?.hint).toBe("did you mean 'table'?");
  });

  it('is refused by name for an incremental strategy of its own (a get_incremental_<name>_sql macro), a misspelt one still listing the strategies', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'macros/upsert.sql': "{% macro get_incremental_upsert_sql(arg_dict) %}delete from {{ arg_dict['target_relation'] }}{% endmacro %}",
      'models/m.sql': "{{ config(materialized='incremental', unique_key='id', incremental_strategy='upsert') }}select 1 as id",
      'models/n.sql': "{{ config(materialized='incremental', unique_key='id', incremental_strategy='merj') }}select 1 as id",
    });
    expect(errors(a).map((e) => [e[1], e[2]])).toEqual([
      ["incremental_strategy 'upsert' is the project's own strategy (a get_incremental_upsert_sql macro): pipe writes incremental models its own ways, to keep every write atomic and idempotent", 'models/m.sql'],
      ['incremental_strategy must be one of append, delete+insert, merge, microbatch; got "merj"', 'models/n.sql'],
    ]);
    expect(a.diagnostics.find((d) => d.location?.file === 'models/m.sql')?.hint).toBe('use one of append, delete+insert, merge, microbatch (merge with unique_key for an upsert), with pre_hook/post_hook for what the strategy adds');
  });

  it("is refused by name when an installed package defines it, naming the package", () => {
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'dbt_packages/kit/dbt_project.yml': "name: kit\nversion: '1.0'\nconfig-version: 2\n",
      'dbt_packages/kit/macros/view.sql': "{% materialization my_view, adapter='duckdb' %}{{ return({'relations': []}) }}{% endmaterialization %}",
      'models/m.sql': "{{ config(materialized='my_view') }}select 1 as id",
    });
    expect(errors(a).map((e) => [e[1], e[2]])).toEqual([
      ["materialized 'my_view' is the package kit's own materialization (a {% materialization %} block): pipe builds models its own ways, to keep every write atomic and idempotent", 'models/m.sql'],
    ]);
  });
});

describe("a folder's seed column_types", () => {
  it('types the seeds that have the column, as dbt does; one no seed has is a warning at its line', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\nseeds:\n  shop:\n    +column_types:\n      amount: decimal(10,2)\n      amout: integer\n',
      'seeds/orders.csv': 'id,amount\n1,2.5\n',
      'seeds/people.csv': 'id,name\n1,Ann\n',
    });
    const seed = (name: string) => a.nodes.get(name) as SeedNode;
    expect(seed('orders').columnTypes).toEqual({ amount: 'decimal(10,2)' });
    expect(seed('people').columnTypes).toEqual({});
    expect(a.diagnostics.map((d) => [d.severity, d.message, d.location?.file, d.location?.line])).toEqual([
      // At its own entry, under +column_types.
      ['warning', "column_types names column 'amout', which no seed it applies to has: it types nothing", 'dbt_project.yml', 6],
    ]);
  });
});

describe("a dbt project's YAML", () => {
  it("is read as dbt's PyYAML reads it (YAML 1.1), pipe's own files as YAML 1.2", () => {
    const values = "yes off 017 0o17 1_000 1:30 1e3 1.5e+3 08 0x1f 2024-01-01 'yes'".split(' ');
    const vars = values.map((v, i) => `  v${i}: ${v}\n`).join('');
    const sql = `select ${values.map((_, i) => `'{{ var("v${i}") }}' as v${i}`).join(', ')}`;
    // As dbt-duckdb 1.11 compiles it (dbt compile, PyYAML 6): YAML 1.1's booleans, octal,
    // underscores and base 60; PyYAML's text for 1e3 and 08; a date printed as its text; the
    // float 1.5e+3 as 1500.0.
    const a = run({
      'dbt_project.yml': `name: shop\nprofile: shop\nvars:\n${vars}models:\n  shop:\n    old:\n      +enabled: no\n`,
      'models/m.sql': sql,
      'models/old/o.sql': 'select 1 as id',
    });
    expect(errors(a)).toEqual([]);
    expect(a.renderer.sql('m', day, { tableExists: false, fullRefresh: false })).toMatchObject({
      sql: "select 'True' as v0, 'False' as v1, '15' as v2, '0o17' as v3, '1000' as v4, '90' as v5, '1e3' as v6, '1500.0' as v7, '08' as v8, '31' as v9, '2024-01-01' as v10, 'yes' as v11",
    });
    expect(a.nodes.has('o')).toBe(false);
    // A key YAML 1.1 reads as a boolean is said at its line (dbt stops on it in dbt_project.yml).
    const off = run({ 'dbt_project.yml': 'name: shop\nprofile: shop\nmodels:\n  shop:\n    off:\n      +enabled: false\n', 'models/off/o.sql': 'select 1 as id' });
    expect(off.diagnostics.map((d) => [d.severity, d.message, d.location?.file, d.location?.line, d.location?.column])).toEqual([
      ['warning', "the key off is read as false, as dbt's YAML (1.1) reads it", 'dbt_project.yml', 5, 5],
      // And so the folder's config applies to no model.
      ['warning', 'models.shop.false applies to no model: no qualified name begins shop.false (dbt warns of this unused configuration path too)', 'dbt_project.yml', 5, undefined],
    ]);
    // A pipe project keeps YAML 1.2: yes is text, 017 is 17, 1e3 the float 1000.0.
    const p = run({ 'pipe.yaml': `name: shop\nvars:\n${vars}`, 'models/m.sql': sql });
    expect(errors(p)).toEqual([]);
    expect(p.renderer.sql('m', day, { tableExists: false, fullRefresh: false })).toMatchObject({
      sql: "select 'yes' as v0, 'off' as v1, '17' as v2, '15' as v3, '1_000' as v4, '1:30' as v5, '1000.0' as v6, '1500.0' as v7, '8' as v8, '31' as v9, '2024-01-01' as v10, 'yes' as v11",
    });
  });
});

describe('properties files', () => {
  it("merge `<<: *anchor` keys as dbt's YAML does, give merged keys their anchor's lines, and leave a top-level anchor holder alone", () => {
    const text = `version: 2
x-columns: &columns
  - name: id
    data_tests: [not_null]
models:
  - name: o
    config: &config
      tags: ['x']
      materialized: table
    columns: *columns
  - name: m
    config:
      <<: *config
      alias: m_alias
      materialized: view
    columns: *columns
`;
    const y = yaml(text, 'models/props.yml');
    // Merged, the mapping's own keys winning (materialized), as PyYAML merges them.
    expect((y.data.models as { config: unknown }[])[1].config).toEqual({ tags: ['x'], materialized: 'view', alias: 'm_alias' });
    expect([y.pathLine(['models', '1', 'config', 'tags']), y.pathLine(['models', '1', 'config', 'materialized']), y.pathLine(['models', '1', 'config', 'alias'])]).toEqual([8, 15, 14]);
    expect([...y.anchored!]).toEqual(['x-columns']);
    const a = run({ 'models/o.sql': 'select 1 as id', 'models/m.sql': 'select 1 as id', 'models/props.yml': text });
    expect(errors(a)).toEqual([]);
    expect([model(a, 'm').config.materialized, model(a, 'm').relation, model(a, 'm').config.tags]).toEqual(['view', '"main"."m_alias"', ['x']]);
    expect(model(a, 'm').checks.map((c) => c.name)).toEqual(['not_null_m_id']);
    // An anchored mapping at the top level, merged into a config, is left alone too.
    const merged = run({
      'models/o.sql': 'select 1 as id',
      'models/props.yml': 'version: 2\nx-defaults: &defaults\n  materialized: table\nmodels:\n  - name: o\n    config:\n      <<: *defaults\n',
    });
    expect(errors(merged)).toEqual([]);
    expect(model(merged, 'o').config.materialized).toBe('table');
    // A misspelt section holding no anchor is still an error at its line.
    expect(errors(run({ 'models/o.sql': 'select 1 as id', 'models/props.yml': 'version: 2\nmodles:\n  - name: o\n' }))).toEqual([
      ['unknown-key', "unknown section 'modles' in a properties file", 'models/props.yml', 2],
    ]);
    // In a dbt project, left out with a warning, as dbt does (its deprecation D025): tests at the top level run on nothing.
    const dbt = run({
      'dbt_project.yml': 'name: shop\n',
      'models/o.sql': 'select 1 as id',
      'models/props.yml': 'version: 2\nmodels:\n  - name: o\n    columns:\n      - name: id\n        data_tests: [not_null]\ntests:\n  - unique:\n      column_name: id\n',
    });
    expect(errors(dbt)).toEqual([]);
    expect(dbt.diagnostics.filter((d) => d.code === 'unknown-key').map((d) => [d.severity, d.message, d.location?.line, d.hint])).toEqual([
      [
        'warning',
        "unknown section 'tests' in a properties file: left out, as dbt leaves it",
        7,
        "these tests run on nothing: a model's tests go under its entry (models: - name: orders, data_tests: [...])",
      ],
    ]);
    expect(model(dbt, 'o').checks.map((c) => c.name)).toEqual(['not_null_o_id']);
    // The version of a dbt project's properties file is read past, as dbt 1.5+ does; a pipe project's must be 2.
    const v1 = { 'models/o.sql': 'select 1 as id', 'models/props.yml': 'version: 1\nmodels:\n  - name: o\n    columns:\n      - name: id\n        data_tests: [not_null]\n' };
    const dbtV1 = run({ 'dbt_project.yml': 'name: shop\n', ...v1 });
    expect(errors(dbtV1)).toEqual([]);
    expect(model(dbtV1, 'o').checks.map((c) => c.name)).toEqual(['not_null_o_id']);
    expect(errors(run(v1))).toEqual([['bad-properties', 'version must be 2, got 1', 'models/props.yml', 1]]);
  });

  it('are told from pipe YAML by their top level, whatever their name', () => {
    const a = run({
      'models/orders.sql': 'select 1 as id',
      // Named like its model, but a properties file.
      'models/orders.yml': 'version: 2\nmodels:\n  - name: orders\n    config:\n      materialized: view\n',
    });
    expect(errors(a)).toEqual([]);
    expect(model(a, 'orders').config.materialized).toBe('view');
  });

  it('reads columns, tests in their forms, and sources, with lines', () => {
    const found: Diagnostic[] = [];
    const p = readProperties(
      [
        yaml(
          `version: 2
models:
  - name: orders
    columns:
      - name: id
        data_type: integer
        tests:
          - unique
          - not_null:
              config:
                severity: warn
      - name: status
        data_tests:
          - accepted_values:
              values: [a, b]
              quote: false
              where: "id > 1"
    tests:
      - test_name: unique
        name: unique_pair
        column_name: "id || status"
sources:
  - name: raw
    schema: landing
    freshness:
      warn_after: {count: 1, period: day}
    tables:
      - name: events
        identifier: events_v1
        loaded_at_field: loaded_at
      - name: files
        meta:
          external_location: "data/files.parquet"
        freshness: null
metrics:
  - name: dash
`,
          'models/schema.yml',
        ),
      ],
      found,
    );
    expect(found).toEqual([]);
    const orders = p.models.get('orders')!;
    expect(orders.columns.map((c) => [c.name, c.dataType, c.location.line])).toEqual([
      ['id', 'integer', 5],
      ['status', undefined, 12],
    ]);
    expect(orders.tests.map((t) => [t.test, t.column, t.args, t.config, t.name, t.location.line])).toEqual([
      ['unique', 'id', {}, {}, undefined, 8],
      ['not_null', 'id', {}, { severity: 'warn' }, undefined, 9],
      ['accepted_values', 'status', { values: ['a', 'b'], quote: false }, { where: 'id > 1' }, undefined, 14],
      ['unique', 'id || status', {}, {}, 'unique_pair', 19],
    ]);
    expect(p.sources.map((s) => [s.name, s.schema, s.identifier, s.loadedAtField, s.externalLocation, s.freshness?.warnAfter])).toEqual([
      ['raw.events', 'landing', 'events_v1', 'loaded_at', undefined, { count: 1, period: 'day' }],
      ['raw.files', 'landing', 'files', undefined, 'data/files.parquet', undefined],
    ]);
    expect(p.unused.map((u) => [u.what, u.location.line])).toEqual([['metrics', 35]]);
  });

  it('reports every malformed entry and a node declared twice', () => {
    const found: Diagnostic[] = [];
    readProperties(
      [
        yaml('version: 2\nmodels:\n  - name: a\n  - description: no name\n  - name: a\n    columns:\n      - tests: [unique]\n', 'models/x.yml'),
      ],
      found,
    );
    expect(found.map((d) => [d.code, d.location?.line])).toEqual([
      ['bad-properties', 4],
      ['bad-properties', 7],
      ['duplicate-properties', 5],
    ]);
  });

  it('select the models they describe by path:, as dbt does', () => {
    const files = loadProject(
      tempProject({
        'dbt_project.yml': 'name: shop\n',
        'models/a.sql': 'select 1 as id',
        'models/b.sql': 'select 1 as id',
        'models/props/a_and_seed.yml': 'version: 2\nmodels:\n  - name: a\nseeds:\n  - name: s\n',
        'seeds/s.csv': 'id\n1\n',
      }),
    );
    const { selected } = analyzeAndSelect(files, { interval: day, select: ['path:models/props/a_and_seed.yml'] });
    expect([...selected].sort()).toEqual(['a', 's']);
  });

  it('warns of properties for a model the project does not have', () => {
    const a = run({
      'models/orders.sql': 'select 1 as id',
      'models/schema.yml': 'version: 2\nmodels:\n  - name: order\n',
    });
    expect(errors(a)).toEqual([]);
    const w = a.diagnostics.find((d) => d.code === 'unmatched-properties')!;
    expect([w.severity, w.location, w.hint]).toEqual(['warning', { file: 'models/schema.yml', line: 3 }, "did you mean 'orders'?"]);
  });

  it('suggests for an unmatched entry a name of its own kind only', () => {
    const a = run({
      'models/stg_policies.sql': 'select 1 as id',
      'seeds/raw_claims.csv': 'id\n1\n',
      'seeds/schema.yml': 'version: 2\nseeds:\n  - name: raw_policies\n  - name: raw_claim\n',
    });
    const hints = a.diagnostics.filter((d) => d.code === 'unmatched-properties').map((d) => [d.message, d.hint]);
    expect(hints).toEqual([
      ["properties for seed 'raw_policies', which the project does not have", undefined],
      ["properties for seed 'raw_claim', which the project does not have", "did you mean 'raw_claims'?"],
    ]);
    // An entry under the section of another kind of node of its name says so, as dbt does.
    const b = run({ 'models/m.sql': 'select 1 as id', 'seeds/s.csv': 'id\n1\n', 'models/schema.yml': 'version: 2\nmodels:\n  - name: s\nseeds:\n  - name: m\n' });
    expect(b.diagnostics.filter((d) => d.code === 'unmatched-properties').map((d) => [d.message, d.hint, d.location?.line])).toEqual([
      ["properties for model 's', which is a seed of the project: its entry belongs under seeds:", 'move it under seeds: (dbt warns of it too)', 3],
      ["properties for seed 'm', which is a model of the project: its entry belongs under models:", 'move it under models: (dbt warns of it too)', 5],
    ]);
  });

  it('reads past a YAML file with nothing in it, as dbt does, and an empty package list names no package', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'packages.yml': 'packages: []\n',
      'models/orders.sql': 'select 1 as id',
      'models/marts/_schema.yml': '',
      'models/marts/_notes.yml': '# to be written\n',
      'seeds/_seeds.yml': '\n',
    });
    expect(errors(a)).toEqual([]);
    expect(a.diagnostics.find((d) => d.code === 'not-used')).toBeUndefined();
  });

  it("says what is wrong with a properties file dbt's YAML reader lets pass, and not that it is beside no model", () => {
    const a = run({
      'models/orders.sql': 'select 1 as id',
      'models/schema.yml': `version: 2
models:
  - name: orders
    columns:
      - name: id
        description: "the order's id, which
        goes on over a line"
      - name: id
        name: amount
`,
    });
    expect(a.diagnostics.map((d) => [d.message, d.location?.line, d.hint])).toEqual([
      ['invalid YAML: Missing closing "quote', 6, 'a quoted text may go on over several lines only with those lines indented more than its key; indent them, or use a block scalar (key: >)'],
      ['invalid YAML: Implicit map keys need to be followed by map values', 7, undefined],
      ['invalid YAML: Map keys must be unique', 9, "'name' is given twice in one mapping; keep the one you mean"],
    ]);
  });

  it('reads a key given twice as dbt does, the last one, and says so at its second place', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    marts:\n      +materialized: table\n    marts:\n      +materialized: view\n',
      'models/marts/m.sql': 'select 1 as id',
    });
    expect(a.diagnostics.map((d) => [d.severity, d.message, d.location?.line])).toEqual([['warning', "'marts' is given twice in one mapping: the last one is read, as dbt reads it", 6]]);
    expect((a.nodes.get('m') as { config: { kind: string } }).config.kind).toBe('view');
  });

  it('still refuses an empty YAML file beside no model in a pipe project', () => {
    const a = run({ 'models/orders.sql': 'select 1 as id', 'models/order.yml': '' });
    expect(errors(a)).toEqual([['orphan-yaml', 'models/order.yml has no model beside it (expected models/order.sql)', 'models/order.yml', undefined]]);
  });
});

describe('config paths of dbt_project.yml that apply to nothing', () => {
  it("are each a warning at their line, with dbt's rules: the levels that set something, disabled nodes and versions counting", () => {
    const a = run({
      'dbt_project.yml': `name: shop
models:
  +materialized: table
  shopp:
    staging:
      +materialized: view
  shop:
    staging:
      +tags: [s]
      old:
        +enabled: false
    marts:
      orders:
        +tags: [o]
      persist_docs:
        relation: true
seeds:
  shop:
    raw:
      +schema: raw
    staging:
      old:
        +schema: old
`,
      'models/staging/s.sql': 'select 1 as id',
      'models/staging/old/o.sql': 'select 1 as id',
      'models/marts/orders_v2.sql': 'select 1 as id',
      'models/marts/props.yml': 'version: 2\nmodels:\n  - name: orders\n    latest_version: 2\n    versions:\n      - v: 2\n',
      'seeds/codes.csv': 'id\n1\n',
    });
    expect(a.diagnostics.filter((d) => d.code === 'unused-config-path').map((d) => [d.message, `${d.location?.file}:${d.location?.line}`, d.hint])).toEqual([
      ['models.shopp.staging applies to no model: no qualified name begins shopp.staging (dbt warns of this unused configuration path too)', 'dbt_project.yml:5', "did you mean 'shop'?"],
      // A key without + whose value is a mapping is a folder, for dbt too.
      ['models.shop.marts.persist_docs applies to no model: no qualified name begins shop.marts.persist_docs (dbt warns of this unused configuration path too)', 'dbt_project.yml:15', undefined],
      ['seeds.shop.raw applies to no seed: no qualified name begins shop.raw (dbt warns of this unused configuration path too)', 'dbt_project.yml:19', undefined],
      // seeds.shop.staging.old begins the name of the disabled model o: dbt counts it used, in any section.
    ]);
  });

  it("of data_tests: (and the older tests:) are warned of as dbt warns, disabled tests counting", () => {
    const a = run({
      'dbt_project.yml': `name: shop
data_tests:
  shop:
    +tags: [t]
    nothere:
      +severity: warn
    sub:
      +enabled: false
    not_null_a_id:
      +severity: warn
    models:
      +enabled: false
tests:
  shop:
    nope:
      +enabled: false
`,
      'models/a.sql': 'select 1 as id',
      'models/props.yml': 'version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n        data_tests: [not_null]\n',
      'tests/sub/t.sql': "select * from {{ ref('a') }} where false",
    });
    expect(a.diagnostics.filter((d) => d.code === 'unused-config-path').map((d) => [d.message, `${d.location?.file}:${d.location?.line}`])).toEqual([
      ['data_tests.shop.nothere applies to no test: no qualified name begins shop.nothere (dbt warns of this unused configuration path too)', 'dbt_project.yml:5'],
      // A generic test's qualified name leaves out the first folder of its properties file, as dbt's does.
      ['data_tests.shop.models applies to no test: no qualified name begins shop.models (dbt warns of this unused configuration path too)', 'dbt_project.yml:11'],
      ['tests.shop.nope applies to no test: no qualified name begins shop.nope (dbt warns of this unused configuration path too)', 'dbt_project.yml:15'],
    ]);
  });
});

describe('source freshness', () => {
  const SOURCES = (warn: string) => `version: 2
sources:
  - name: raw
    loaded_at_field: loaded_at
    freshness:
      warn_after: ${warn}
    tables:
      - name: t1
      - name: t2
        freshness:
          error_after: {count: "{{ var('error_hours') }}", period: hour}
`;
  const freshness = (a: Analysis, name: string) => {
    const n = a.nodes.get(name);
    return n?.kind === 'source' ? n.freshness : undefined;
  };

  it("renders Jinja in a count as dbt renders it, with env_var() and var()", () => {
    const a = run({ 'dbt_project.yml': 'name: shop\nvars:\n  error_hours: 30\n', 'models/sources.yml': SOURCES(`{count: "{{ env_var('PIPE_TEST_WARN_DAYS', '2') | int }}", period: day}`) });
    expect(errors(a)).toEqual([]);
    expect(freshness(a, 'raw.t1')).toEqual({ warnAfter: { count: 2, period: 'day' }, errorAfter: undefined, filter: undefined });
    expect(freshness(a, 'raw.t2')).toEqual({ warnAfter: undefined, errorAfter: { count: 30, period: 'hour' }, filter: undefined });
  });

  it("says a bad one once per source, at its key, whether it was written as it is or rendered", () => {
    const written = run({ 'dbt_project.yml': 'name: shop\nvars:\n  error_hours: 30\n', 'models/sources.yml': SOURCES('{count: two, period: day}') });
    expect(errors(written)).toEqual([['bad-properties', 'warn_after must be {count: N, period: minute|hour|day}, got {count: "two", period: "day"}', 'models/sources.yml', 6]]);
    const rendered = run({ 'dbt_project.yml': 'name: shop\nvars:\n  error_hours: 30\n', 'models/sources.yml': SOURCES(`{count: "{{ 'two' }}", period: day}`) });
    expect(errors(rendered)).toEqual([['bad-properties', 'warn_after must be {count: N, period: minute|hour|day}, got {count: "two", period: "day"}', 'models/sources.yml', 6]]);
  });
});

describe("ref() with the project's name", () => {
  it("names the project's own model; a package that is not installed is refused", () => {
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'models/a.sql': 'select 1 as id',
      'models/b.sql': "select * from {{ ref('shop', 'a') }}",
      'models/c.sql': "select * from {{ ref('other', 'a') }}",
    });
    expect(model(a, 'b').upstream).toEqual(['a']);
    expect(errors(a)).toEqual([['unsupported', 'ref() of a package that is not installed is not supported by pipe', 'models/c.sql', 1]]);
  });
});

describe('dbt Jinja pipe cannot render yet', () => {
  it('is reported for models and for the macros they reach, not for macros nobody calls', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'models/a.sql': "select {{ cents('x') }} as c from {{ ref('b') }}",
      'models/b.sql': "select {{ flags.LOG_PATH }} as d",
      'models/c.sql': "select * from {{ ref('b') }}",
      'models/d.sql': "select 1 as id{% if newer('1.5.0') %}, 2 as v{% endif %}",
      'macros/m.sql': "{% macro cents(c) %}{{ helper(c) }}{% endmacro %}\n{% macro helper(c) %}{{ adapter.dispatch('helper')(c) }}{% endmacro %}\n{% macro default__helper(c) %}{{ flags.PROFILES_DIR }}{% endmacro %}\n{% macro unused() %}{{ flags.WHICH }}{% endmacro %}\n",
      'macros/version.sql': "{% macro newer(v) %}\n{{ return(dbt_version.split('.') >= v.split('.')) }}\n{% endmacro %}\n",
    });
    // default__helper is reached through adapter.dispatch('helper').
    expect(errors(a)).toEqual([
      ['unsupported', 'flags.LOG_PATH is not supported by pipe', 'models/b.sql', 1],
      ['unsupported', 'flags.PROFILES_DIR is not supported by pipe', 'macros/m.sql', 3],
      // pipe is no version of dbt: a version check is refused at its line, not guessed.
      ['unsupported', 'dbt_version is not supported by pipe', 'macros/version.sql', 2],
    ]);
    // The models that read b are not reported again for it.
    expect(a.nodes.has('c')).toBe(true);
  });

  it("is not reported for a model switched off by its folder config or its own config(), nor is how that model would be built", () => {
    const a = run({
      'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    monitoring:\n      +enabled: false\n',
      'models/monitoring/uploads.sql': "select {{ upload_results() }} as n",
      'models/metadata/invocations.sql': "{{ config(materialized='incremental', enabled=false) }}\nselect 1 as id",
      'models/kept.sql': 'select 1 as id',
      'macros/upload.sql': "{% macro upload_results() %}{% do adapter.commit() %}1{% endmacro %}",
    });
    expect(errors(a)).toEqual([]);
    expect([...a.nodes.keys()]).toEqual(['kept']);
    // A model reading one of them is told it is switched off, as in dbt.
    const reader = run({
      'dbt_project.yml': 'name: shop\nmodels:\n  shop:\n    monitoring:\n      +enabled: false\n',
      'models/monitoring/uploads.sql': "select {{ upload_results() }} as n",
      'models/report.sql': "select * from {{ ref('uploads') }}",
      'macros/upload.sql': "{% macro upload_results() %}{% do adapter.commit() %}1{% endmacro %}",
    });
    expect(reader.diagnostics.map((d) => [d.code, d.location?.file])).toContainEqual(['disabled-ref', 'models/report.sql']);
  });

  it('reads the warehouse while rendering in models and in tests, which are rendered again when they run', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\n',
      'models/a.sql': "{% if execute %}{% set n = run_query('select 1')[0][0] %}{% endif %}select {{ first_id() }} as id",
      'models/b.sql': "select * from {{ ref('a') }}",
      'tests/no_rows.sql': "{% if execute %}select 1 as x where false{% endif %} -- {{ ref('b') }}",
      'tests/via_macro.sql': "select {{ first_id() }} as id from {{ ref('a') }} where false",
      'tests/plain.sql': "select * from {{ ref('a') }} where false",
      'macros/m.sql': "{% macro first_id() %}{% if execute %}{{ run_query('select 1')[0][0] }}{% else %}0{% endif %}{% endmacro %}\n",
    });
    expect(a.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect([...a.nodes.keys()]).toEqual(['a', 'b']);
    expect(a.renderer.rendersAtRun('a')).toBe(true);
    expect(a.renderer.rendersAtRun('b')).toBe(false);
    const checks = (node: string) => (a.nodes.get(node)?.kind === 'model' ? (a.nodes.get(node) as { checks: readonly { name: string; atRun?: unknown }[] }).checks : []);
    expect([...checks('a'), ...checks('b')].map((c) => [c.name, c.atRun !== undefined])).toEqual([
      ['plain', false],
      ['via_macro', true],
      ['no_rows', true],
    ]);
  });
});

describe('config() called twice in a model of a dbt project', () => {
  it('merges as dbt merges the calls: the later value wins (said, with the line of the first), tags add up, meta updates', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\nprofile: shop\n',
      'models/a.sql': [
        "-- {{ config(materialized='view') }}",
        "{{ config(materialized='table', tags=['x'], meta={'owner': 'ann', 'tier': 1}) }}",
        "{{ config(tags='y', meta={'tier': 2}) }}",
        'select 1 as id',
      ].join('\n'),
    });
    expect(errors(a)).toEqual([]);
    const m = model(a, 'a');
    expect(m.config.kind).toBe('table');
    expect(m.config.tags).toEqual(['x', 'y']);
    expect(m.meta).toEqual({ owner: 'ann', tier: 2 });
    const said = a.diagnostics.filter((d) => d.code === 'template-warning').map((d) => [d.message, d.location?.file, d.location?.line]);
    expect(said).toEqual([
      ["config() sets 'materialized' again, to 'table', after 'view' at models/a.sql:1: the later call wins, as in dbt (Jinja inside a -- comment renders all the same)", 'models/a.sql', 2],
    ]);
  });

  it('stays refused in a pipe project, where the last call would win unseen', () => {
    const a = run({ 'pipe.yaml': 'name: shop\n', 'models/a.sql': "{{ config(materialized='view') }}\n{{ config(materialized='table') }}\nselect 1 as id" });
    expect(errors(a)).toEqual([['config-conflict', "config() sets 'materialized' twice, to 'view' and then to 'table'; set it once", 'models/a.sql', 2]]);
  });
});

describe('a folder of dbt_project.yml with nothing under it', () => {
  it('sets nothing and is not named as a setting pipe does not use', () => {
    const a = run({ 'dbt_project.yml': 'name: shop\nprofile: shop\nmodels:\n  shop:\n    staging:\n', 'models/staging/a.sql': 'select 1 as id' });
    expect(errors(a)).toEqual([]);
    expect(a.diagnostics.map((d) => d.message).join('\n')).not.toMatch(/config (shop|staging)/);
    expect(model(a, 'a').config.kind).toBe('view');
  });
});

describe('a properties file that cannot be read', () => {
  it('is refused at its line, and a source() of what it may declare says so rather than to declare it', () => {
    const a = run({
      'dbt_project.yml': 'name: shop\nprofile: shop\n',
      'models/src.yml': 'version: 2\nsources:\n  - name: raw\n    tables:\n      - name: orders\n        columns:\n          - name: id\n            tests: [not_null]\n            description: "it\n',
      'models/a.sql': "select * from {{ source('raw', 'orders') }}",
    });
    const found = a.diagnostics.filter((d) => d.severity === 'error');
    expect(found.map((d) => [d.code, d.location?.file, d.location?.line])).toEqual([
      // At the quote never closed, not at the end of the file.
      ['yaml-syntax', 'models/src.yml', 9],
      ['unknown-source', 'models/a.sql', 1],
    ]);
    expect(found[1].hint).toBe('models/src.yml could not be read (see its error): a source declared there is unknown until it is fixed');
  });
});
