import { afterAll, describe, expect, it } from 'vitest';
import { diagnosticsOf, eventsOfType, explain, queryRows, removeTempDirs, sortedRows, taskIdsOf, tempDir, warehouseOf, writeProjectFiles } from '../e2e/helpers.js';
import { nodesIn, runIn, runOperationIn, scheduleIn } from '../support/in-process.js';
import { DAILY, eventsProject as project, USERS } from '../support/incremental-project.js';

/**
 * dbt's incremental strategies in a dbt project, through pipe's commands in this process: the
 * forms dbt's config takes them in, what is refused and why, and runs and re-runs of merge and
 * delete+insert models (microbatch models: microbatch.test.ts).
 */

afterAll(removeTempDirs);

describe('the forms of dbt config', () => {
  it('reads unique_key and incremental_strategy from config(), properties files and dbt_project.yml, and selects them all as incremental models', async () => {
    const dir = project({
      'dbt_project.yml': `name: shop
models:
  shop:
    keyed:
      +materialized: incremental
      +unique_key: user_id
seeds:
  shop:
    events:
      +event_time: event_at
`,
      'models/keyed/by_default.sql': USERS,
      'models/keyed/merged.sql': `{{ config(incremental_strategy='merge') }}\n${USERS}`,
      'models/composite.sql': `{{ config(materialized='incremental', unique_key=['user_id', 'events'], incremental_strategy='delete+insert') }}\n${USERS}`,
      'models/props.sql': USERS,
      'models/props.yml': `version: 2
models:
  - name: props
    config:
      materialized: incremental
      incremental_strategy: merge
      unique_key: [user_id]
`,
      'models/daily.sql': DAILY(''),
      // Names with commas in one text: those columns, as dbt-duckdb's delete+insert reads it.
      'models/texted.sql': `{{ config(materialized='incremental', unique_key='user_id, events') }}\n${USERS}`,
    });
    const r = await nodesIn(dir);
    expect(r.code, explain(r)).toBe(0);
    const kinds = Object.fromEntries(r.nodes.map((n) => [n.name, n.kind]));
    // dbt-duckdb's default strategy with a unique_key is delete+insert.
    expect(kinds).toMatchObject({ by_default: 'delete+insert', merged: 'merge', composite: 'delete+insert', props: 'merge', daily: 'microbatch', texted: 'delete+insert' });
    const selected = await nodesIn(dir, { select: ['config.materialized:incremental'] });
    expect(selected.nodes.map((n) => n.name).sort()).toEqual(['by_default', 'composite', 'daily', 'merged', 'props', 'texted']);
    // dbt's config selectors read the strategy and the key as set: a model that sets no strategy has none.
    const names = async (select: string) => (await nodesIn(dir, { select: [select] })).nodes.map((n) => n.name).sort();
    expect(await names('config.incremental_strategy:merge')).toEqual(['merged', 'props']);
    expect(await names('config.incremental_strategy:delete+insert')).toEqual(['composite']);
    expect(await names('config.unique_key:events')).toEqual(['composite']);
    expect(await names('config.unique_key:user_id')).toEqual(['by_default', 'composite', 'merged', 'props']);
  });

  it.each([
    ['merge without a key', "incremental_strategy='merge'", 'models/m.sql', "incremental_strategy 'merge' needs unique_key"],
    ['insert_overwrite', "unique_key='user_id', incremental_strategy='insert_overwrite'", 'models/m.sql', "incremental_strategy 'insert_overwrite' is not one of dbt-duckdb's"],
    ['an expression as the key', "unique_key='user_id || events'", 'models/m.sql', 'unique_key must be a column name or a list of them'],
    ['a partial merge', "unique_key='user_id', incremental_strategy='merge', merge_update_columns=['spent']", 'models/m.sql', "config 'merge_update_columns' is not supported by pipe"],
    ['predicates', "unique_key='user_id', incremental_predicates=['spent > 0']", 'models/m.sql', "config 'incremental_predicates' is not supported by pipe"],
  ])('refuses %s before anything runs, at the model', async (_what, config, file, message) => {
    const dir = project({ 'models/m.sql': `{{ config(materialized='incremental'${config ? `, ${config}` : ''}) }}\n${USERS}` });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(2);
    const found = diagnosticsOf(r.events).find((d) => d.message.includes(message));
    expect(found, explain(r)).toBeDefined();
    expect(found!.location).toMatchObject({ file, line: 1 });
  });

  it('leaves partition_by aside beside a unique_key, as dbt-duckdb reads none there: the model merges by key', async () => {
    const dir = project({ 'models/m.sql': `{{ config(materialized='incremental', unique_key='user_id', partition_by='day') }}\n${USERS}` });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(diagnosticsOf(r.events).filter((d) => d.code === 'not-used').map((d) => d.message)).toEqual([expect.stringContaining('config partition_by (models/m.sql:1)')]);
  });

  it("a model's config pipe cannot read (BigQuery's partition_by, an unknown strategy) stops only the commands that build it", async () => {
    const dir = project({
      'models/bq.sql': `{{ config(materialized='incremental', partition_by={'field': 'day', 'data_type': 'date'}) }}\n${USERS}`,
      'models/typo.sql': `{{ config(materialized='incremental', unique_key='user_id', incremental_strategy='merj') }}\n${USERS}`,
      'models/users.sql': USERS,
    });
    const rest = await runIn(dir, { date: '2024-01-02', select: ['users'] });
    expect(rest.code, explain(rest)).toBe(0);
    const told = diagnosticsOf(rest.events).filter((d) => d.message.endsWith('is left out of what this command builds'));
    expect(told.map((d) => [d.severity, d.location?.file]).sort()).toEqual([['warning', 'models/bq.sql'], ['warning', 'models/typo.sql']]);
    for (const select of [['bq'], ['typo'], undefined]) {
      const r = await runIn(dir, { date: '2024-01-02', ...(select ? { select } : {}) });
      expect(r.code, explain(r)).toBe(2);
    }
  });

  it('builds the rest of the project without a refused model that the command leaves out, and tells why it is not built', async () => {
    const dir = project({
      'models/m.sql': `{{ config(materialized='incremental', incremental_strategy='merge') }}\n${USERS}`,
      'models/users.sql': USERS,
      'macros/hello.sql': "{% macro hello() %}{{ log('hello', info=True) }}{% endmacro %}",
      'pipelines/rest.yaml': "exclude: [m]\nschedule: '0 2 * * *'\n",
      'pipelines/all.yaml': "schedule: '0 3 * * *'\n",
    });
    const refusal = "incremental_strategy 'merge' needs unique_key";
    for (const options of [{ exclude: ['m'] }, { select: ['users'] }, { pipeline: 'rest' }]) {
      const r = await runIn(dir, { date: '2024-01-02', ...options });
      expect(r.code, explain(r)).toBe(0);
      const told = diagnosticsOf(r.events).find((d) => d.message.includes(refusal));
      expect(told, explain(r)).toMatchObject({ severity: 'warning', location: { file: 'models/m.sql', line: 1 } });
      expect(told!.message).toContain('m is left out of what this command builds');
      if (options.exclude) expect(taskIdsOf(r.events, 'task-succeeded')).toEqual(['events', 'users@2024-01-02']);
      expect(r.events.filter((e) => 'taskId' in e && /^m\b/.test(String(e.taskId)))).toEqual([]);
    }
    // A run-operation builds nothing.
    const op = await runOperationIn(dir, { macro: 'hello', args: {} });
    expect(op.code, explain(op)).toBe(0);
    // Building it, or a pipeline that builds it, is refused as before.
    for (const options of [{}, { select: ['+m'] }, { pipeline: 'all' }]) {
      const r = await runIn(dir, { date: '2024-01-02', ...options });
      expect(r.code, explain(r)).toBe(2);
      expect(diagnosticsOf(r.events).find((d) => d.message.includes(refusal))).toMatchObject({ severity: 'error' });
    }
    const scheduled = await scheduleIn(dir, { pipelines: ['rest', 'all'], list: true });
    expect(scheduled.code, explain(scheduled)).toBe(2);
    expect(diagnosticsOf(scheduled.events).map((d) => d.message).join('\n')).toContain(refusal);
    expect((await scheduleIn(dir, { pipelines: ['rest'], list: true })).code).toBe(0);
  });

  const microbatch = (keys: string) => `materialized='incremental', incremental_strategy='microbatch', event_time='day'${keys}`;
  it.each([
    ['a key', microbatch(", batch_size='day', begin='2024-01-01', unique_key='day'"), 'a microbatch model replaces whole batches of its event_time: unique_key would not be used'],
    ['no begin', microbatch(", batch_size='day'"), 'a microbatch model needs begin'],
    ['a monthly batch', microbatch(", batch_size='month', begin='2024-01-01'"), "batch_size 'month' is not supported: pipe's intervals are days and hours"],
    ['a begin that is no date', microbatch(", batch_size='day', begin='soon'"), 'begin must be a date or a date and time'],
    ['a fractional lookback', microbatch(", batch_size='day', begin='2024-01-01', lookback=1.5"), 'lookback must be a whole number, 0 or more'],
    // dbt runs them around its first and last batch; pipe's batches are tasks of their own.
    ['a post-hook', microbatch(", batch_size='day', begin='2024-01-01', post_hook='select 1'"), 'a microbatch model cannot have a post_hook'],
  ])('refuses a microbatch model with %s', async (_what, config, message) => {
    const dir = project({ 'models/m.sql': `{{ config(${config}) }}\nselect 1` });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(2);
    expect(diagnosticsOf(r.events).map((d) => d.message).join('\n')).toContain(message);
  });
});

describe('merge and delete+insert models', () => {
  it('replace rows by key, run after run; a re-run of a date gives the same table', async () => {
    const dir = project({
      'models/users_merge.sql': `{{ config(materialized='incremental', unique_key='user_id', incremental_strategy='merge') }}\n${USERS}`,
      'models/users_di.sql': `{{ config(materialized='incremental', unique_key=['user_id'], incremental_strategy='delete+insert') }}\n${USERS}`,
    });
    for (const date of ['2024-01-01', '2024-01-02']) expect((await runIn(dir, { date })).code).toBe(0);
    const once = await sortedRows(warehouseOf(dir), 'users_merge');
    expect(once).toEqual([
      { user_id: 10, events: '2', spent: '8' },
      { user_id: 11, events: '1', spent: '7' },
      { user_id: 12, events: '1', spent: '9' },
    ]);
    // Forced: the same date, current as it is, merged again (its seed loaded again from the same file).
    const again = await runIn(dir, { date: '2024-01-02', force: true });
    expect(again.code, explain(again)).toBe(0);
    expect(taskIdsOf(again.events, 'task-succeeded')).toEqual(['events', 'users_di@2024-01-02', 'users_merge@2024-01-02']);
    expect(await sortedRows(warehouseOf(dir), 'users_merge')).toEqual(once);
    expect(await sortedRows(warehouseOf(dir), 'users_di')).toEqual(once);
  });

  it('refuses a unique_key the table holding rows has not, whatever on_schema_change says: its rows would match no key and stay beside every run\'s', async () => {
    const keyed = (key: string, policy: string) =>
      `{{ config(materialized='incremental', unique_key='${key}', incremental_strategy='merge', on_schema_change='${policy}') }}\nselect user_id, user_id * 10 as account, count(*) as events from {{ ref('events') }} group by all`;
    for (const policy of ['append_new_columns', 'sync_all_columns']) {
      const dir = project({ 'models/users.sql': keyed('user_id', policy).replace(', user_id * 10 as account', '') });
      expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
      const before = await sortedRows(warehouseOf(dir), 'users');
      writeProjectFiles(dir, { 'models/users.sql': keyed('account', policy) });
      const r = await runIn(dir, { date: '2024-01-02', force: true });
      expect(r.code, explain(r)).toBe(1);
      expect(r.stdout).toContain('the table "main"."users" has no column account of the unique_key (account) users replaces its rows by');
      expect(eventsOfType(r.events, 'task-failed').map((e) => (e.error as { location?: unknown }).location)).toEqual([{ file: 'models/users.sql', line: 1, column: 39 }]);
      expect(await sortedRows(warehouseOf(dir), 'users')).toEqual(before);
      // As the refusal says: rebuilt from the query, the table has one row per key.
      const rebuilt = await runIn(dir, { date: '2024-01-02', fullRefresh: true });
      expect(rebuilt.code, explain(rebuilt)).toBe(0);
      expect((await sortedRows(warehouseOf(dir), 'users')).length).toBe(before.length);
    }
  });

  it('fails a merge whose rows share a key, naming the keys, and publishes nothing', async () => {
    const dir = project({
      'models/users.sql': `{{ config(materialized='incremental', unique_key='user_id', incremental_strategy='merge') }}\nselect user_id, amount from {{ ref('events') }}`,
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(1);
    // A first build: there is no row to merge into, the table itself would hold the key several times.
    expect(r.stdout).toContain(
      "3 values of unique_key (user_id) that more than one staged row has: the table would hold several rows of one key, and every later run would merge the key's new row into one of them chosen by chance",
    );
    expect(r.stdout).toMatch(/user_id[^\n]*10/);
    expect(await queryRows(warehouseOf(dir), "select count(*)::INTEGER as n from duckdb_tables() where table_name = 'users'")).toEqual([{ n: 0 }]);
  });

  it("builds a delete+insert whose rows share a key, as dbt's does: every row of the key, and a re-run leaves the same rows", async () => {
    const dir = project({
      'models/users.sql': `{{ config(materialized='incremental', unique_key='user_id', incremental_strategy='delete+insert') }}\nselect user_id, amount from {{ ref('events') }}`,
    });
    const first = await runIn(dir, { date: '2024-01-02' });
    expect(first.code, explain(first)).toBe(0);
    const rows = await sortedRows(warehouseOf(dir), 'users');
    expect(rows.map((r) => [r.user_id, r.amount])).toEqual([[10, 3], [10, 5], [11, 1], [11, 7], [12, 2], [12, 9]]);
    const again = await runIn(dir, { date: '2024-01-02' });
    expect(again.code, explain(again)).toBe(0);
    expect(await sortedRows(warehouseOf(dir), 'users')).toEqual(rows);
  });

  it('points a failure of the key at where unique_key is set: its line in config(), or in the YAML', async () => {
    const dir = project({
      'models/users.sql': `{{ config(\n    materialized='incremental',\n    unique_key='user_id', incremental_strategy='merge',\n) }}\nselect user_id, amount from {{ ref('events') }}`,
      'models/users_yaml.sql': `select user_id, amount from {{ ref('events') }}`,
      'models/users_yaml.yaml': `materialized: incremental\nincremental_strategy: merge\nunique_key: [user_id]\n`,
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(1);
    const failed = eventsOfType(r.events, 'task-failed').map((e) => [(e.task as { model: string }).model, (e.error as { location?: unknown }).location]);
    expect(failed.sort()).toEqual([
      ['users', { file: 'models/users.sql', line: 3, column: 5 }],
      ['users_yaml', { file: 'models/users_yaml.yaml', line: 3 }],
    ]);
    expect(r.stdout).toContain("at models/users.sql:3\n    3 |     unique_key='user_id', incremental_strategy='merge',");
  });
});

describe('append models', () => {
  const ORDERS = 'order_id,ordered_at,amount\n1,2024-01-01 09:00:00,5\n2,2024-01-02 10:00:00,7\n';
  /** dbt's watermark: the rows after the newest one the table holds (`>`, or `>=` when `from` says so). */
  const log = (config: string, from = '>') => `{{ config(materialized='incremental'${config}) }}
select order_id, ordered_at, amount from {{ ref('orders') }}
{% if is_incremental() %}
where ordered_at ${from} (select max(ordered_at) from {{ this }})
{% endif %}
`;
  const rowsOf = (r: { events: readonly Record<string, unknown>[] }, model: string) =>
    eventsOfType(r.events as never, 'task-succeeded').filter((e) => (e.task as { model: string }).model === model).map((e) => e.rows);

  it("add the rows their query returns, run after run, as dbt's append does; a re-run adds nothing", async () => {
    const dir = project({
      'seeds/orders.csv': ORDERS,
      // dbt-duckdb's default with neither unique_key nor partition_by, and the strategy named.
      'models/orders_log.sql': log(''),
      'models/named_log.sql': log(", incremental_strategy='append'"),
      'models/totals.sql': "select count(*) as orders, sum(amount) as amount from {{ ref('orders_log') }}",
    });
    const kinds = Object.fromEntries((await nodesIn(dir)).nodes.map((n) => [n.name, n.kind]));
    expect(kinds).toMatchObject({ orders_log: 'append', named_log: 'append' });
    const first = await runIn(dir, { date: '2024-01-02' });
    expect(first.code, explain(first)).toBe(0);
    expect(rowsOf(first, 'orders_log')).toEqual([2]);
    writeProjectFiles(dir, { 'seeds/orders.csv': `${ORDERS}3,2024-01-03 08:00:00,9\n` });
    const second = await runIn(dir, { date: '2024-01-03' });
    expect(second.code, explain(second)).toBe(0);
    expect(rowsOf(second, 'orders_log')).toEqual([1]);
    const once = await sortedRows(warehouseOf(dir), 'orders_log');
    expect(once.map((r) => r.order_id)).toEqual([1, 2, 3]);
    // The same run again: the filter finds nothing newer, and the table stays as it was.
    const again = await runIn(dir, { date: '2024-01-03', force: true });
    expect(again.code, explain(again)).toBe(0);
    expect(rowsOf(again, 'orders_log')).toEqual([0]);
    expect(await sortedRows(warehouseOf(dir), 'orders_log')).toEqual(once);
    expect(await sortedRows(warehouseOf(dir), 'named_log')).toEqual(once);
    expect(await queryRows(warehouseOf(dir), 'select orders::INTEGER as n from totals')).toEqual([{ n: 3 }]);
    // --full-refresh builds the table from the whole query again.
    const rebuilt = await runIn(dir, { date: '2024-01-03', fullRefresh: true });
    expect(rebuilt.code, explain(rebuilt)).toBe(0);
    expect(rowsOf(rebuilt, 'orders_log')).toEqual([3]);
    expect(await sortedRows(warehouseOf(dir), 'orders_log')).toEqual(once);
  });

  it('refuses staged rows the table already holds, naming them, and publishes nothing: a >= watermark, or no filter at all', async () => {
    const dir = project({
      'seeds/orders.csv': ORDERS,
      'models/orders_log.sql': log('', '>='),
      'models/unfiltered.sql': "{{ config(materialized='incremental') }}\nselect order_id, amount from {{ ref('orders') }}",
      'models/downstream.sql': "select count(*) as n from {{ ref('orders_log') }}",
    });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const before = await sortedRows(warehouseOf(dir), 'orders_log');
    writeProjectFiles(dir, { 'seeds/orders.csv': `${ORDERS}3,2024-01-03 08:00:00,9\n` });
    const r = await runIn(dir, { date: '2024-01-03' });
    expect(r.code, explain(r)).toBe(1);
    // dbt would append order 2 a second time (>=), and every row again (no filter).
    const failed = Object.fromEntries(eventsOfType(r.events, 'task-failed').map((e) => [(e.task as { model: string }).model, String((e.error as { message: string }).message)]));
    expect(Object.keys(failed).sort()).toEqual(['orders_log', 'unfiltered']);
    expect(failed.orders_log).toContain('1 staged row the table already holds, equal in every column');
    expect(failed.unfiltered).toContain('2 staged rows the table already holds, equal in every column');
    expect(r.stdout).toMatch(/"order_id":2,"ordered_at":"2024-01-02 10:00:00","amount":7/);
    expect(r.stdout).toContain('(>, not >=)');
    expect(eventsOfType(r.events, 'task-skipped').map((e) => (e.task as { model: string }).model)).toContain('downstream');
    expect(await sortedRows(warehouseOf(dir), 'orders_log')).toEqual(before);
    expect((await sortedRows(warehouseOf(dir), 'unfiltered')).length).toBe(2);
    // As the refusal says: with `>`, the run adds order 3 alone.
    writeProjectFiles(dir, { 'models/orders_log.sql': log('') });
    const fixed = await runIn(dir, { date: '2024-01-03', select: ['orders_log+'] });
    expect(fixed.code, explain(fixed)).toBe(0);
    expect((await sortedRows(warehouseOf(dir), 'orders_log')).map((row) => row.order_id)).toEqual([1, 2, 3]);
  });

  it("compares a row on the query's columns as the table holds them after on_schema_change, NULL equal to NULL", async () => {
    const dir = project({
      'seeds/orders.csv': 'order_id,ordered_at,amount\n1,2024-01-01 09:00:00,\n',
      'models/orders_log.sql': log(", on_schema_change='append_new_columns'"),
    });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    // A new column: the rows it adds hold it, the rows before hold NULL.
    writeProjectFiles(dir, {
      'seeds/orders.csv': 'order_id,ordered_at,amount\n1,2024-01-01 09:00:00,\n2,2024-01-02 10:00:00,\n',
      'models/orders_log.sql': log(", on_schema_change='append_new_columns'").replace('amount from', "amount, 'web' as channel from"),
    });
    const added = await runIn(dir, { date: '2024-01-03' });
    expect(added.code, explain(added)).toBe(0);
    expect(await queryRows(warehouseOf(dir), 'select order_id::INTEGER as id, amount, channel from orders_log order by 1')).toEqual([
      { id: 1, amount: null, channel: null },
      { id: 2, amount: null, channel: 'web' },
    ]);
    // Without the filter, order 2 comes again: its NULL amount matches the table's NULL.
    writeProjectFiles(dir, { 'models/orders_log.sql': "{{ config(materialized='incremental', on_schema_change='append_new_columns') }}\nselect order_id, ordered_at, amount, 'web' as channel from {{ ref('orders') }} where order_id = 2" });
    const r = await runIn(dir, { date: '2024-01-04' });
    expect(r.code, explain(r)).toBe(1);
    expect(r.stdout).toContain('1 staged row the table already holds');
  });

  it("with a unique_key appends in a dbt project, as dbt's append ignores the key, and says so at the key; a pipe project's is refused", async () => {
    const dir = project({ 'seeds/orders.csv': ORDERS, 'models/orders_log.sql': log(", unique_key='order_id', incremental_strategy='append'") });
    const first = await runIn(dir, { date: '2024-01-02' });
    expect(first.code, explain(first)).toBe(0);
    const told = diagnosticsOf(first.events).find((d) => d.message.startsWith("unique_key is not used by incremental_strategy 'append'"));
    expect(told, explain(first)).toMatchObject({ severity: 'warning', location: { file: 'models/orders_log.sql', line: 1 } });
    // An order changed and a new one: the changed one is added as a row of its own, as dbt adds it.
    writeProjectFiles(dir, { 'seeds/orders.csv': `${ORDERS.replace('2,2024-01-02 10:00:00,7', '2,2024-01-03 07:00:00,8')}3,2024-01-03 08:00:00,9\n` });
    const second = await runIn(dir, { date: '2024-01-03' });
    expect(second.code, explain(second)).toBe(0);
    expect((await sortedRows(warehouseOf(dir), 'orders_log')).map((r) => [r.order_id, r.amount])).toEqual([[1, 5], [2, 7], [2, 8], [3, 9]]);
    const own = tempDir();
    writeProjectFiles(own, { 'pipe.yaml': 'name: shop\n', 'seeds/orders.csv': ORDERS, 'models/orders_log.sql': log(", unique_key='order_id', incremental_strategy='append'") });
    const refused = await runIn(own, { date: '2024-01-02' });
    expect(refused.code, explain(refused)).toBe(2);
    expect(diagnosticsOf(refused.events).find((d) => d.message.includes("incremental_strategy 'append' inserts every row and ignores unique_key"))).toMatchObject({ severity: 'error', location: { file: 'models/orders_log.sql', line: 1 } });
  });

  it("is a pipe project's only when it says incremental_strategy='append'", async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'pipe.yaml': 'name: shop\n',
      'seeds/orders.csv': ORDERS,
      'models/orders_log.sql': log(", incremental_strategy='append'"),
      'models/bare.sql': "{{ config(materialized='incremental') }}\nselect 1 as id",
    });
    const r = await runIn(dir, { date: '2024-01-02', select: ['orders_log'] });
    expect(r.code, explain(r)).toBe(0);
    expect(rowsOf(r, 'orders_log')).toEqual([2]);
    const bare = await runIn(dir, { date: '2024-01-02' });
    expect(bare.code).toBe(2);
    expect(diagnosticsOf(bare.events).find((d) => d.message.startsWith('an incremental model needs partition_by'))?.hint).toContain("incremental_strategy='append'");
  });
});
