import { afterAll, describe, expect, it } from 'vitest';
import { eventsOfType, explain, queryRows, removeTempDirs, snapshotTables, tempDir, warehouseOf, writeProjectFiles } from '../e2e/helpers.js';
import { backfillIn, runIn, testIn } from '../support/in-process.js';

afterAll(removeTempDirs);

/**
 * Snapshots in a dbt project, through the commands: built once per run and per backfill,
 * read by a model, their tests run before the merge commits (a failing one keeps the
 * snapshot as it was), and `pipe test` runs them on the published snapshot.
 */

const V1 = 'id,status,updated_at\n1,new,2024-01-01 10:00:00\n2,new,2024-01-01 11:00:00\n';
const V2 = 'id,status,updated_at\n1,shipped,2024-01-02 10:00:00\n2,,2024-01-02 11:00:00\n';

function project(): string {
  const dir = tempDir();
  writeProjectFiles(dir, {
    'dbt_project.yml': 'name: shop\nprofile: shop\nsnapshots:\n  shop:\n    +target_schema: history\n',
    'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: warehouse.duckdb\n',
    'seeds/orders.csv': V1,
    'snapshots/orders.sql':
      "{% snapshot orders_history %}\n{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at', post_hook='create or replace table main.history_rows as select count(*) as n from {{ this }}') }}\nselect * from {{ ref('orders') }}\n{% endsnapshot %}\n",
    'snapshots/orders.yml': 'version: 2\nsnapshots:\n  - name: orders_history\n    columns:\n      - name: dbt_scd_id\n        data_tests: [unique]\n      - name: status\n        data_tests: [not_null]\n',
    'models/current_orders.sql': "select id, status from {{ ref('orders_history') }} where dbt_valid_to is null",
  });
  return dir;
}

describe('snapshots through the commands', () => {
  it('run their tests inside the merge: a failing one keeps the snapshot, and what reads it, as they were', async () => {
    const dir = project();
    const first = await runIn(dir, { date: '2024-01-02' });
    expect(first.code, explain(first)).toBe(0);
    const tables = ['"history"."orders_history"', 'current_orders'];
    const before = await snapshotTables(warehouseOf(dir), tables);
    expect(before['"history"."orders_history"']).toHaveLength(2);
    // Its post-hook ran inside the merge's transaction, reading the snapshot as it left it.
    expect(await queryRows(warehouseOf(dir), 'SELECT n::INTEGER AS n FROM main.history_rows')).toEqual([{ n: 2 }]);
    expect((await testIn(dir, { date: '2024-01-02' })).code).toBe(0);

    writeProjectFiles(dir, { 'seeds/orders.csv': V2 });
    const second = await runIn(dir, { date: '2024-01-02' });
    expect(second.code).toBe(1);
    expect(eventsOfType(second.events, 'check-failed').map((e) => (e.failure as { check: string }).check)).toEqual(['not_null_orders_history_status']);
    expect(await snapshotTables(warehouseOf(dir), tables)).toEqual(before);
  });

  it('with a config dbt would refuse: refused before anything runs, at its line', async () => {
    const dir = project();
    writeProjectFiles(dir, { 'snapshots/orders.sql': "{% snapshot orders_history %}\n{{ config(unique_key='id', strategy='timestamp') }}\nselect * from {{ ref('orders') }}\n{% endsnapshot %}\n" });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('snapshots/orders.sql:2:28: error: the timestamp strategy needs updated_at');
    expect(eventsOfType(r.events, 'task-started')).toEqual([]);
  });

  it("whose query gives a column the snapshot adds itself (a snapshot of a snapshot): refused, naming it, not kept as the table's dbt_valid_from", async () => {
    const dir = project();
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const before = await snapshotTables(warehouseOf(dir), ['"history"."orders_history"']);
    writeProjectFiles(dir, {
      'snapshots/again.sql':
        "{% snapshot again %}\n{{ config(unique_key='id', strategy='check', check_cols='all') }}\nselect * from {{ ref('orders_history') }}\n{% endsnapshot %}\n",
      'snapshots/renamed.sql':
        "{% snapshot renamed %}\n{{ config(unique_key='id', strategy='check', check_cols='all') }}\nselect id, status, now() AS DBT_VALID_FROM from {{ ref('orders') }}\n{% endsnapshot %}\n",
    });
    const r = await runIn(dir, { date: '2024-01-02', select: ['again', 'renamed'] });
    expect(r.code, explain(r)).toBe(1);
    const failed = Object.fromEntries(eventsOfType(r.events, 'task-failed').map((e) => [(e.task as { model: string }).model, String((e.error as { message: string }).message)]));
    expect(failed.again).toContain("the snapshot's query gives columns dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to, which the snapshot adds itself");
    expect(failed.renamed).toContain("the snapshot's query gives a column DBT_VALID_FROM, which the snapshot adds itself");
    expect(failed.renamed).toContain('select * exclude (DBT_VALID_FROM)');
    expect(await queryRows(warehouseOf(dir), "SELECT count(*)::INTEGER AS n FROM information_schema.tables WHERE table_name IN ('again', 'renamed')")).toEqual([{ n: 0 }]);
    expect(await snapshotTables(warehouseOf(dir), ['"history"."orders_history"'])).toEqual(before);
  });

  it('a unique_key or updated_at the query does not give is refused at its line; a unique_key its table has not (changed since) fails the merge, naming it, not in DuckDB\'s words', async () => {
    const dir = project();
    const keyed = (key: string, select = 'select * from {{ ref(\'orders\') }}') =>
      `{% snapshot orders_history %}\n{{ config(unique_key='${key}', strategy='timestamp', updated_at='updated_at') }}\n${select}\n{% endsnapshot %}\n`;
    writeProjectFiles(dir, { 'snapshots/orders.sql': keyed('order_id') });
    const refused = await runIn(dir, { date: '2024-01-02' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("snapshots/orders.sql:2:11: error: unique_key names column 'order_id', which orders_history does not produce");
    expect(eventsOfType(refused.events, 'task-started')).toEqual([]);
    writeProjectFiles(dir, { 'snapshots/orders.sql': keyed('id').replace("updated_at='updated_at'", "updated_at='changed_at'") });
    const untimed = await runIn(dir, { date: '2024-01-02' });
    expect(untimed.code).toBe(2);
    expect(untimed.stderr).toContain("snapshots/orders.sql:2:50: error: updated_at names column 'changed_at', which orders_history does not produce");

    writeProjectFiles(dir, { 'snapshots/orders.sql': keyed('id') });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const before = await snapshotTables(warehouseOf(dir), ['"history"."orders_history"']);
    writeProjectFiles(dir, { 'snapshots/orders.sql': keyed('order_id', "select id as order_id, * from {{ ref('orders') }}") });
    const r = await runIn(dir, { date: '2024-01-03' });
    expect(r.code, explain(r)).toBe(1);
    expect(r.stdout).toContain(`"history"."orders_history" has no column order_id of the snapshot's unique_key: its rows would match no row of the query`);
    expect(r.stdout).not.toContain('Binder Error');
    expect(await snapshotTables(warehouseOf(dir), ['"history"."orders_history"'])).toEqual(before);
  });

  it('takes quoted names in check_cols and updated_at, as dbt-duckdb does', async () => {
    const dir = project();
    writeProjectFiles(dir, {
      'snapshots/orders.sql':
        '{% snapshot orders_history %}\n{{ config(unique_key=\'id\', strategy=\'check\', check_cols=[\'"Status"\'], updated_at=\'"Changed"\') }}\nselect id, status as "Status", updated_at as "Changed" from {{ ref(\'orders\') }}\n{% endsnapshot %}\n',
      'snapshots/orders.yml': 'version: 2\n',
      'models/current_orders.sql': "select id, \"Status\" as status from {{ ref('orders_history') }} where dbt_valid_to is null",
    });
    const first = await runIn(dir, { date: '2024-01-02' });
    expect(first.code, explain(first)).toBe(0);
    writeProjectFiles(dir, { 'seeds/orders.csv': V2 });
    const second = await runIn(dir, { date: '2024-01-03' });
    expect(second.code, explain(second)).toBe(0);
    expect(await queryRows(warehouseOf(dir), 'select id, "Status" as status, "Changed"::VARCHAR as changed, dbt_valid_to is null as current from history.orders_history order by id, "Changed"')).toEqual([
      { id: 1, status: 'new', changed: '2024-01-01 10:00:00', current: false },
      { id: 1, status: 'shipped', changed: '2024-01-02 10:00:00', current: true },
      { id: 2, status: 'new', changed: '2024-01-01 11:00:00', current: false },
      { id: 2, status: null, changed: '2024-01-02 11:00:00', current: true },
    ]);
  });

  it('are built once by a backfill, after the dates of what they read', async () => {
    const dir = project();
    const r = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-03' });
    expect(r.code, explain(r)).toBe(0);
    const started = eventsOfType(r.events, 'task-started').map((e) => (e.task as { id: string }).id);
    expect(started.filter((id) => id.startsWith('orders_history'))).toEqual(['orders_history@2024-01-03']);
    expect(await queryRows(warehouseOf(dir), 'SELECT count(*)::INTEGER AS n FROM history.orders_history')).toEqual([{ n: 2 }]);
  });
});
