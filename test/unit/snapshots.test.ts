import { afterAll, describe, expect, it } from 'vitest';
import { analyze, type Analysis, type ModelNode } from '../../src/analyze/analyze.js';
import type { SnapshotConfig } from '../../src/analyze/model-config.js';
import { dayInterval, parseDate } from '../../src/dates/dates.js';
import { loadProject } from '../../src/project/load-project.js';
import { snapshotBlocks } from '../../src/project/snapshot-blocks.js';
import { selectableNode } from '../../src/commands/selectable-node.js';
import { removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

const day = dayInterval(parseDate('2024-01-02')!);
const DBT = 'name: shop\nprofile: shop\n';
const run = (files: Record<string, string>): Analysis => analyze(loadProject(tempProject({ 'dbt_project.yml': DBT, ...files })), { interval: day });
const node = (a: Analysis, name: string) => a.nodes.get(name) as ModelNode;
const config = (a: Analysis, name: string) => node(a, name).config as SnapshotConfig;
const errors = (a: Analysis) => a.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.message, `${d.location?.file}:${d.location?.line}`]);

const TS = "unique_key='id', strategy='timestamp', updated_at='updated_at'";
const block = (name: string, cfg: string, query = 'select 1 as id, now() as updated_at') => `{% snapshot ${name} %}\n{{ config(${cfg}) }}\n${query}\n{% endsnapshot %}\n`;

describe('snapshot blocks', () => {
  it('finds each block with its name, its line and its body, and what stands outside', () => {
    const text = "{# {% snapshot commented %} #}\n{% snapshot a %}\nselect 1\n{% endsnapshot %}\n\n{%- snapshot b -%} select 2 {%- endsnapshot -%}\n";
    const found = snapshotBlocks(text);
    expect(found.problems).toEqual([]);
    expect(found.textOutside).toBe(false);
    expect(found.blocks.map((b) => [b.name, b.line, text.slice(b.bodyStart, b.bodyEnd)])).toEqual([
      ['a', 2, '\nselect 1\n'],
      ['b', 6, ' select 2 '],
    ]);
    expect(snapshotBlocks('select 1\n{% snapshot a %}select 1{% endsnapshot %}').textOutside).toBe(true);
    // SQL comments between blocks are no text.
    expect(snapshotBlocks('-- header\n/* a\nnote */\n{% snapshot a %}select 1{% endsnapshot %}\n-- the end').textOutside).toBe(false);
    expect(snapshotBlocks('-- header\nselect 1\n{% snapshot a %}select 1{% endsnapshot %}').textOutside).toBe(true);
  });

  it('says what is wrong with a block, at its line', () => {
    expect(snapshotBlocks('{% snapshot a %}\nselect 1\n').problems).toEqual([{ message: "snapshot block 'a' is not closed: {% endsnapshot %} is missing", line: 1 }]);
    expect(snapshotBlocks('{% snapshot a %}\n{% snapshot b %}{% endsnapshot %}').problems[0]).toMatchObject({ line: 2 });
    expect(snapshotBlocks('\n{% endsnapshot %}').problems).toEqual([{ message: '{% endsnapshot %} without a {% snapshot %} block before it', line: 2 }]);
    expect(snapshotBlocks('{% snapshot %}select 1{% endsnapshot %}').problems[0].message).toContain('a snapshot block needs a name');
  });
});

describe('snapshots in the graph', () => {
  it('are nodes other nodes ref, with their config from the block, the folders of dbt_project.yml and properties', () => {
    const a = run({
      'dbt_project.yml': `${DBT}snapshots:\n  shop:\n    +tags: [history]\n    orders:\n      +hard_deletes: invalidate\n`,
      'snapshots/orders.sql': block('orders_snap', TS, "select * from {{ ref('raw_orders') }}") + block('orders_check', "unique_key=['id', 'region'], strategy='check', check_cols='all'", "select * from {{ ref('raw_orders') }}"),
      'snapshots/props.yml': "snapshots:\n  - name: orders_check\n    config:\n      hard_deletes: new_record\n      target_schema: archive\n",
      'seeds/raw_orders.csv': 'id,region,updated_at\n1,eu,2024-01-01 00:00:00\n',
      'models/current.sql': "select * from {{ ref('orders_snap') }} where dbt_valid_to is null",
    });
    expect(errors(a)).toEqual([]);
    expect(node(a, 'current').upstream).toEqual(['orders_snap']);
    expect(node(a, 'orders_snap')).toMatchObject({ upstream: ['raw_orders'], relation: '"main"."orders_snap"', fqn: ['shop', 'orders', 'orders_snap'], tags: ['history'] });
    expect(config(a, 'orders_snap')).toMatchObject({ materialized: 'snapshot', unique_key: 'id', strategy: 'timestamp', updated_at: 'updated_at', hard_deletes: 'invalidate' });
    // target_schema is the schema as written; a properties entry wins over the folder.
    expect(node(a, 'orders_check')).toMatchObject({ relation: '"archive"."orders_check"', propertiesFile: 'snapshots/props.yml' });
    expect(config(a, 'orders_check')).toMatchObject({ unique_key: ['id', 'region'], strategy: 'check', check_cols: 'all', hard_deletes: 'new_record' });
    expect(selectableNode(node(a, 'orders_snap')).resourceType).toBe('snapshot');
    expect(selectableNode(node(a, 'current')).resourceType).toBe('model');
  });

  it('are declared by a snapshots: entry with relation: (dbt 1.9), its query at that line', () => {
    const a = run({
      'seeds/raw_orders.csv': 'id,updated_at\n1,2024-01-01 00:00:00\n',
      'models/raw.yml': "sources:\n  - name: crm\n    tables:\n      - name: customers\n",
      'snapshots/declared.yml': `snapshots:
  - name: orders_history
    relation: ref('raw_orders')
    config: {unique_key: id, strategy: timestamp, updated_at: updated_at, schema: history, alias: orders_hist}
  - name: customers_history
    relation: source('crm', 'customers')
    config: {unique_key: id, strategy: check, check_cols: all, invalidate_hard_deletes: true}
`,
    });
    expect(errors(a)).toEqual([]);
    expect(node(a, 'orders_history')).toMatchObject({ file: 'snapshots/declared.yml', upstream: ['raw_orders'], relation: '"main_history"."orders_hist"', fqn: ['shop', 'orders_history'] });
    expect(node(a, 'customers_history').upstream).toEqual(['crm.customers']);
    expect(config(a, 'customers_history').hard_deletes).toBe('invalidate');
    const sql = a.renderer.sql('orders_history', day, { tableExists: false, fullRefresh: false });
    expect('sql' in sql && sql.sql.split('\n')).toEqual(['', '', 'select * from "main"."raw_orders"']);
  });

  it('a key an entry lacks is told at the entry, where its name stands', () => {
    const a = run({
      'seeds/raw_orders.csv': 'id,updated_at\n1,2024-01-01 00:00:00\n',
      'snapshots/declared.yml': "snapshots:\n  - name: good\n    relation: ref('raw_orders')\n    config: {unique_key: id, strategy: timestamp, updated_at: updated_at}\n  - name: bad\n    relation: ref('raw_orders')\n    config:\n      unique_key: id\n",
    });
    expect(a.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.message, d.location])).toEqual([
      ["a snapshot needs strategy: 'timestamp' (with updated_at) or 'check' (with check_cols)", { file: 'snapshots/declared.yml', line: 5 }],
    ]);
  });

  it('read the snapshot folders of a pipe project too, with schema as written', () => {
    const dir = tempProject({ 'snapshots/s.sql': block('s', `${TS}, schema='history'`) });
    const a = analyze(loadProject(dir), { interval: day });
    expect(errors(a)).toEqual([]);
    expect(node(a, 's').relation).toBe('"history"."s"');
  });
});

describe("an installed package's snapshots", () => {
  it('are nodes named from the package, configured by its dbt_project.yml then the project, read by ref()', () => {
    const a = run({
      'dbt_project.yml': `${DBT}snapshots:\n  kit:\n    +tags: [from_project]\n`,
      'packages.yml': 'packages:\n  - package: acme/kit\n    version: 1.0.0\n',
      'dbt_packages/kit/dbt_project.yml': "name: kit\nsnapshots:\n  kit:\n    +target_schema: history\n",
      'dbt_packages/kit/seeds/raw_orders.csv': 'id,updated_at\n1,2024-01-01 00:00:00\n',
      'dbt_packages/kit/snapshots/deep/orders.sql': block('kit_orders', TS, "select * from {{ ref('raw_orders') }}"),
      'models/current.sql': "select * from {{ ref('kit', 'kit_orders') }} where dbt_valid_to is null",
    });
    expect(errors(a)).toEqual([]);
    expect(node(a, 'kit_orders')).toMatchObject({ upstream: ['raw_orders'], relation: '"history"."kit_orders"', fqn: ['kit', 'deep', 'orders', 'kit_orders'], tags: ['from_project'] });
    expect(node(a, 'current').upstream).toEqual(['kit_orders']);
    expect(a.diagnostics.filter((d) => d.code === 'not-used').map((d) => d.message).join(' ')).not.toContain('snapshot');
  });

  it("named like one of the project's is an error naming both", () => {
    const a = run({
      'dbt_packages/kit/dbt_project.yml': 'name: kit\n',
      'dbt_packages/kit/snapshots/orders.sql': block('orders', TS),
      'models/orders.sql': 'select 1',
    });
    expect(errors(a)).toEqual([["'orders' is defined twice: models/orders.sql and dbt_packages/kit/snapshots/orders.sql", 'dbt_packages/kit/snapshots/orders.sql:1']]);
  });
});

describe('snapshot refusals, each at its line', () => {
  it.each([
    ["unique_key=''", 'a snapshot needs unique_key'],
    ["unique_key='id'", "a snapshot needs strategy: 'timestamp' (with updated_at) or 'check' (with check_cols)"],
    ["unique_key='id', strategy='custom'", `strategy must be 'timestamp' or 'check'; got "custom"`],
    ["unique_key='id', strategy='timestamp'", 'the timestamp strategy needs updated_at'],
    ["unique_key='id', strategy='check'", 'the check strategy needs check_cols'],
    ["unique_key='id', strategy='check', check_cols='status'", `check_cols must be 'all' or a list of columns; got "status"`],
    ["unique_key='id', strategy='check', check_cols=['status', 'ds::DATE']", "check_cols names columns of the snapshot's query, and 'ds::DATE' is not a column's name"],
    [`${TS}, check_cols=['a']`, 'a timestamp snapshot has no check_cols'],
    [`${TS}, hard_deletes='delete'`, 'hard_deletes must be one of ignore, invalidate, new_record; got "delete"'],
    [`${TS}, hard_deletes='invalidate', invalidate_hard_deletes=True`, 'set hard_deletes or invalidate_hard_deletes, not both'],
    [`${TS}, target_database='other'`, 'target_database is not supported'],
    [`${TS}, snapshot_meta_column_names={'dbt_valid_since': 'x'}`, "snapshot_meta_column_names: 'dbt_valid_since' is not a snapshot column"],
    [`${TS}, snapshot_meta_column_names={'dbt_valid_to': 'dbt_valid_from'}`, 'snapshot_meta_column_names gives two snapshot columns one name'],
    [`${TS}, dbt_valid_to_current="null; drop table x"`, 'dbt_valid_to_current must be one SQL expression'],
    ["unique_key='id; drop table x', strategy='timestamp', updated_at='updated_at'", 'unique_key must be one SQL expression'],
    [`${TS}, materialized='table'`, 'a snapshot is materialized as a snapshot; got "table"'],
    [`${TS}, target_schema='not a schema'`, 'target_schema must be a name of letters'],
    [`${TS}, unique_keys='id'`, "unknown config key 'unique_keys'"],
  ])('config(%s)', (cfg, message) => {
    const a = run({ 'snapshots/s.sql': `\n${block('s', cfg)}` });
    const found = errors(a).filter(([m]) => m.includes(message));
    expect(found, JSON.stringify(errors(a))).toHaveLength(1);
    expect(found[0][1]).toBe('snapshots/s.sql:3');
  });

  it('refuses a key of dbt_project.yml and of a properties entry at its own line', () => {
    const a = run({
      'dbt_project.yml': `${DBT}snapshots:\n  shop:\n    +strategy: timestamps\n`,
      'snapshots/s.sql': block('s', "unique_key='id', updated_at='updated_at'"),
      'snapshots/props.yml': "snapshots:\n  - name: s\n    config:\n      hard_deletes: sometimes\n  - name: t\n    relation: model('x')\n",
    });
    expect(errors(a)).toEqual(
      expect.arrayContaining([
        [`strategy must be 'timestamp' or 'check'; got "timestamps" (snapshot s)`, 'dbt_project.yml:5'],
        ['hard_deletes must be one of ignore, invalidate, new_record; got "sometimes"', 'snapshots/props.yml:4'],
        [`relation must be ref('model') or source('source', 'table'), got "model('x')"`, 'snapshots/props.yml:6'],
      ]),
    );
  });

  it('refuses a broken block, a name taken twice, and a model materialized as a snapshot', () => {
    const a = run({
      'snapshots/a.sql': `${block('orders', TS)}\n{% snapshot open %}\nselect 1\n`,
      'snapshots/b.sql': block('orders', TS),
      'snapshots/props.yml': `snapshots:\n  - name: orders\n    relation: ref('m')\n`,
      'models/m.sql': "{{ config(materialized='snapshot') }}\nselect 1 as id",
    });
    expect(errors(a)).toEqual(
      expect.arrayContaining([
        ["snapshot block 'open' is not closed: {% endsnapshot %} is missing", 'snapshots/a.sql:6'],
        ["'orders' is defined twice: snapshots/a.sql and snapshots/b.sql", 'snapshots/b.sql:1'],
        ["'orders' is defined twice: snapshots/a.sql and snapshots/props.yml", 'snapshots/props.yml:2'],
        [expect.stringContaining("materialized 'snapshot' is not a model's"), 'models/m.sql:1'],
      ]),
    );
  });
});
