import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diagnosticsOf, explain, queryRows, removeTempDirs, sortedRows, taskIdsOf, tempDir, warehouseOf, writeProjectFiles } from '../e2e/helpers.js';
import { backfillDryRun } from '../../src/commands/backfill.js';
import { runDryRun } from '../../src/commands/run.js';
import { formatRunPlan } from '../../src/cli/format-plan.js';
import { backfillIn, backfillMissingIn, compileIn, retryIn, runIn, scheduleIn, statusIn, testIn } from '../support/in-process.js';
import { notCurrentAgreed } from '../support/status-standings.js';
import { cliIn } from '../support/cli-in-process.js';
import { DAILY, eventsProject } from '../support/incremental-project.js';

/**
 * `lookback: N`: a run of date D rebuilds D-N … D-1 of the model too, each its own task, and
 * the dated models that read them; backfills build their range only; a schedule's catch-up
 * leaves a lookback date to the later run that rebuilds it anyway.
 */

afterAll(removeTempDirs);

/** The dated tasks a run built or found current (unchanged since they were built: see data-versions.test.ts). */
const done = (events: Parameters<typeof taskIdsOf>[0]) =>
  [...taskIdsOf(events, 'task-succeeded'), ...events.filter((e) => e.type === 'task-skipped' && e.reason === 'current').map((e) => (e.task as { id: string }).id)].sort();

/** Orders of five days; `late` adds rows that arrived after their day was built. */
const RAW = (late = '') => `day,amount
2024-01-01,1
2024-01-02,2
2024-01-03,3
2024-01-04,4
2024-01-05,5
${late}`;

const ORDERS = (config: string) => `{{ config(materialized='incremental', partition_by='day'${config}) }}
select day, count(*) as n, sum(amount) as amount from {{ ref('raw') }}
where day >= '{{ interval_start }}' and day < '{{ interval_end }}'
group by day
`;

/** Per day, what the orders of that day come to, read from the orders model. */
const DAILY_TOTAL = `{{ config(materialized='incremental', partition_by='day') }}
select day, amount * 10 as amount10 from {{ ref('orders') }}
where day >= '{{ interval_start }}' and day < '{{ interval_end }}'
`;

function project(files: Record<string, string> = {}): string {
  const dir = tempDir();
  writeProjectFiles(dir, {
    'pipe.yaml': 'name: shop\n',
    'seeds/raw.csv': RAW(),
    'models/orders.sql': ORDERS(', lookback=2'),
    ...files,
  });
  return dir;
}

describe('lookback', () => {
  it('reaches no date before 0100-01-01, the earliest a run takes, and is refused past the dates a build plans', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'pipe.yaml': 'name: shop\n',
      'models/lb.sql': "{{ config(materialized='incremental', partition_by='d', lookback=3) }}\nselect '{{ ds }}'::DATE as d\n",
    });
    const early = await runIn(dir, { date: '0100-01-02' });
    expect(early.code, explain(early)).toBe(0);
    expect(taskIdsOf(early.events, 'task-succeeded').sort()).toEqual(['lb@0100-01-01', 'lb@0100-01-02']);
    writeProjectFiles(dir, { 'models/lb.sql': "{{ config(materialized='incremental', partition_by='d', lookback=40000) }}\nselect '{{ ds }}'::DATE as d\n" });
    const far = await runIn(dir, { date: '2024-01-02' });
    expect(far.code).toBe(2);
    expect(far.stderr).toMatch(/models\/lb\.sql:1:\d+: error: lookback is 40,000 intervals before the run's own: a build plans at most 36,600/);
  });

  it('rebuilds D-2, D-1 and D on a run of D, and picks up rows that arrived late', async () => {
    const dir = project();
    const first = await runIn(dir, { date: '2024-01-04' });
    expect(first.code, explain(first)).toBe(0);
    expect(taskIdsOf(first.events, 'task-succeeded').filter((id) => id.startsWith('orders'))).toEqual(['orders@2024-01-02', 'orders@2024-01-03', 'orders@2024-01-04']);
    // The text says why a date outside --date runs.
    expect(first.stdout).toContain('orders 2024-01-02 (lookback 2 of orders)');
    expect(first.stdout).not.toContain('2024-01-04 (lookback');

    // A row of the 3rd arrives on the 5th: the run of the 5th rebuilds the 3rd with it.
    writeProjectFiles(dir, { 'seeds/raw.csv': RAW('2024-01-03,30\n') });
    const next = await runIn(dir, { date: '2024-01-05' });
    expect(next.code, explain(next)).toBe(0);
    const runId = (next.events.find((e) => e.type === 'run-started') as { runId: string }).runId;
    const state = await queryRows(
      warehouseOf(dir),
      `SELECT t.task_id, r.status FROM _pipe.tasks t JOIN _pipe.task_results r USING (run_id, task_id) WHERE t.run_id = '${runId}' AND t.node = 'orders' ORDER BY t.task_id`,
    );
    expect(state).toEqual([
      { task_id: 'orders@2024-01-03', status: 'succeeded' },
      { task_id: 'orders@2024-01-04', status: 'succeeded' },
      { task_id: 'orders@2024-01-05', status: 'succeeded' },
    ]);
    expect(await sortedRows(warehouseOf(dir), 'orders')).toEqual([
      { day: '2024-01-02', n: '1', amount: '2' },
      { day: '2024-01-03', n: '2', amount: '33' },
      { day: '2024-01-04', n: '1', amount: '4' },
      { day: '2024-01-05', n: '1', amount: '5' },
    ]);
  });

  it('rebuilds the same dates of the dated models that read the model, after it, and tables once', async () => {
    const dir = project({
      'models/daily_total.sql': DAILY_TOTAL,
      'models/total.sql': `select sum(amount) as amount from {{ ref('orders') }}`,
    });
    const plan = await runDryRun({ project: dir, date: '2024-01-05', emit: () => undefined });
    const tasks = new Map(plan.plan.tasks.map((t) => [t.id, t]));
    expect([...tasks.keys()].filter((id) => id.startsWith('daily_total'))).toEqual(['daily_total@2024-01-03', 'daily_total@2024-01-04', 'daily_total@2024-01-05']);
    expect(tasks.get('daily_total@2024-01-03')).toMatchObject({ lookback: { of: 'orders', n: 2 } });
    expect(tasks.get('daily_total@2024-01-03')!.upstream).toEqual(expect.arrayContaining(['orders@2024-01-03']));
    expect(tasks.get('total@2024-01-05')!.upstream).toEqual(['orders@2024-01-03', 'orders@2024-01-04', 'orders@2024-01-05']);
    expect(tasks.get('orders@2024-01-05')!.lookback).toBeUndefined();
    const text = formatRunPlan(plan.plan, { ds: '2024-01-05', dateIsDefault: false, threads: 1 }, false);
    expect(text).toMatch(/-- \d+\. daily_total@2024-01-03 \(incremental, lookback 2 of orders\)/);
    expect(text).toMatch(/-- \d+\. orders@2024-01-05 \(incremental\)/);

    expect((await runIn(dir, { date: '2024-01-04' })).code).toBe(0);
    writeProjectFiles(dir, { 'seeds/raw.csv': RAW('2024-01-04,40\n') });
    const r = await runIn(dir, { date: '2024-01-05' });
    expect(r.code, explain(r)).toBe(0);
    expect(await sortedRows(warehouseOf(dir), 'daily_total')).toEqual([
      { day: '2024-01-02', amount10: '20' },
      { day: '2024-01-03', amount10: '30' },
      { day: '2024-01-04', amount10: '440' },
      { day: '2024-01-05', amount10: '50' },
    ]);
    // pipe compile shows every task, and says why; selected alone, what reads orders has no lookback to follow.
    const compiled = await compileIn(dir, { date: '2024-01-05' });
    expect(compiled.models.filter((m) => m.model === 'daily_total').map((m) => [m.ds, m.lookback?.of])).toEqual([
      ['2024-01-03', 'orders'],
      ['2024-01-04', 'orders'],
      ['2024-01-05', undefined],
    ]);
    expect((await compileIn(dir, { date: '2024-01-05', select: ['daily_total'] })).models.map((m) => m.ds)).toEqual(['2024-01-05']);
    // pipe compile MODEL prints each of its tasks, said, where it has several (its own lookback); its SQL alone where one.
    const several = await cliIn(['compile', 'orders', '--date', '2024-01-05', '--project', dir]);
    expect(several.stdout.match(/^-- orders \(incremental\) · models\/orders\.sql · ds \S+/gm)).toEqual([
      '-- orders (incremental) · models/orders.sql · ds 2024-01-03',
      '-- orders (incremental) · models/orders.sql · ds 2024-01-04',
      '-- orders (incremental) · models/orders.sql · ds 2024-01-05',
    ]);
    const alone = await cliIn(['compile', 'daily_total', '--date', '2024-01-05', '--project', dir]);
    expect(alone.stdout.trim()).toBe("select day, amount * 10 as amount10 from \"main\".\"orders\"\nwhere day >= '2024-01-05' and day < '2024-01-06'");
  });

  it('rebuilds exactly D-N … D when late rows change them, nothing when nothing did; status and --missing name the dates it leaves', async () => {
    const dir = project({ 'models/daily_total.sql': DAILY_TOTAL });
    const all = { start: '2024-01-01', end: '2024-01-05' };
    const started = (events: Parameters<typeof taskIdsOf>[0]) => taskIdsOf(events, 'task-started').sort();
    expect((await backfillIn(dir, all)).code).toBe(0);
    // Its lookback dates are current: a run of D rebuilds none of them.
    const same = await runIn(dir, { date: '2024-01-05' });
    expect(same.code, explain(same)).toBe(0);
    expect(started(same.events)).toEqual([]);
    writeProjectFiles(dir, { 'seeds/raw.csv': RAW('2024-01-04,40\n') });
    const late = await runIn(dir, { date: '2024-01-05' });
    expect(late.code, explain(late)).toBe(0);
    expect(started(late.events)).toEqual(['daily_total@2024-01-03', 'daily_total@2024-01-04', 'daily_total@2024-01-05', 'orders@2024-01-03', 'orders@2024-01-04', 'orders@2024-01-05', 'raw']);
    // The dates before read the seed too: the run left them stale, and that is what --missing builds.
    const left = await notCurrentAgreed(dir, all);
    expect(left).toEqual(['daily_total@2024-01-01', 'daily_total@2024-01-02', 'orders@2024-01-01', 'orders@2024-01-02']);
    const missing = await backfillMissingIn(dir, all);
    expect(missing.code, explain(missing)).toBe(0);
    expect(started(missing.events)).toEqual(left);
    expect(await notCurrentAgreed(dir, all)).toEqual([]);
  });

  it('follows through a view not selected, which reads the rebuilt rows, and stops at a table not selected, which keeps a copy', async () => {
    const READS = (from: string) => DAILY_TOTAL.replace("ref('orders')", `ref('${from}')`);
    const dir = project({
      'models/v.sql': `{{ config(materialized='view') }}\nselect * from {{ ref('orders') }}`,
      'models/t.sql': `select * from {{ ref('orders') }}`,
      'models/via_view.sql': READS('v'),
      'models/via_table.sql': READS('t'),
    });
    expect((await runIn(dir, { date: '2024-01-04' })).code).toBe(0);
    const plan = await runDryRun({ project: dir, date: '2024-01-05', select: ['orders', 'via_view', 'via_table'], emit: () => undefined });
    const ids = plan.plan.tasks.map((t) => t.id).filter((id) => id.startsWith('via_')).sort();
    expect(ids).toEqual(['via_table@2024-01-05', 'via_view@2024-01-03', 'via_view@2024-01-04', 'via_view@2024-01-05']);
  });

  it('records each lookback date as a dated task: a failed one is what pipe retry runs', async () => {
    const dir = project({
      'models/orders.sql': ORDERS(', lookback=2').replace('sum(amount)', 'sum(cast(amount as integer))'),
      'models/daily_total.sql': DAILY_TOTAL,
    });
    writeProjectFiles(dir, { 'seeds/raw.csv': RAW('2024-01-03,x\n') });
    const failed = await runIn(dir, { date: '2024-01-05' });
    expect(failed.code).toBe(1);
    expect(taskIdsOf(failed.events, 'task-failed')).toEqual(['orders@2024-01-03']);
    // A date may read its neighbours: what reads the model waits for every date of it, as in any run.
    expect(taskIdsOf(failed.events, 'task-skipped').sort()).toEqual(['daily_total@2024-01-03', 'daily_total@2024-01-04', 'daily_total@2024-01-05']);
    // A retry runs the run's tasks again with the files as they are now: the model, fixed, skips what is not a number.
    writeProjectFiles(dir, { 'models/orders.sql': ORDERS(', lookback=2').replace('sum(amount)', 'sum(try_cast(amount as integer))') });
    const retried = await retryIn(dir, {});
    expect(retried.code, explain(retried)).toBe(0);
    expect(taskIdsOf(retried.events, 'task-succeeded').filter((id) => id.includes('@')).sort()).toEqual([
      'daily_total@2024-01-03',
      'daily_total@2024-01-04',
      'daily_total@2024-01-05',
      'orders@2024-01-03',
    ]);
    expect(await sortedRows(warehouseOf(dir), 'daily_total')).toContainEqual({ day: '2024-01-03', amount10: '30' });
  });

  it('keeps a depends_on_past model in order: D-2 before D-1 before D', async () => {
    const dir = project({ 'models/orders.sql': ORDERS(', lookback=2, depends_on_past=true') });
    const plan = await runDryRun({ project: dir, date: '2024-01-05', ignoreDependenciesOnPast: true, emit: () => undefined });
    const up = new Map(plan.plan.tasks.map((t) => [t.id, t.upstream]));
    expect(up.get('orders@2024-01-04')).toContain('orders@2024-01-03');
    expect(up.get('orders@2024-01-05')).toContain('orders@2024-01-04');
  });

  it('is not added to a backfill, which builds its range', async () => {
    const dir = project({ 'models/daily_total.sql': DAILY_TOTAL });
    const plan = await backfillDryRun({ project: dir, start: '2024-01-04', end: '2024-01-05', emit: () => undefined });
    expect(plan.tasks.map((t) => t.id).filter((id) => id.includes('@')).sort()).toEqual([
      'daily_total@2024-01-04',
      'daily_total@2024-01-05',
      'orders@2024-01-04',
      'orders@2024-01-05',
    ]);
    const r = await backfillIn(dir, { start: '2024-01-04', end: '2024-01-05' });
    expect(r.code, explain(r)).toBe(0);
    expect((await sortedRows(warehouseOf(dir), 'orders')).map((row) => row.day)).toEqual(['2024-01-04', '2024-01-05']);
  });

  it('counts hours in an hourly run', async () => {
    const dir = project({
      'seeds/raw.csv': 'day,amount\n2024-01-05 01:30:00,1\n2024-01-05 02:30:00,2\n2024-01-05 03:30:00,3\n',
      'seeds/raw.yaml': 'column_types: {day: timestamp}\n',
    });
    const r = await runIn(dir, { date: '2024-01-05', hour: 3 });
    expect(r.code, explain(r)).toBe(0);
    expect(taskIdsOf(r.events, 'task-succeeded').filter((id) => id.startsWith('orders'))).toEqual(['orders@2024-01-05T01', 'orders@2024-01-05T02', 'orders@2024-01-05T03']);
  });

  it('an hour of a model partitioned by a DATE column is refused before anything runs, saying a DATE holds days, the first hour too, its dry run as well', async () => {
    const dir = project({ 'models/orders.sql': ORDERS('') });
    expect((await runIn(dir, { date: '2024-01-05' })).code).toBe(0);
    const before = await sortedRows(warehouseOf(dir), 'orders');
    expect(before.length).toBeGreaterThan(0);
    // Hour 0's partition is the day's rows, the DATE's midnight: its query, filtered on the hour, would replace them with none.
    for (const hour of [0, 3]) {
      for (const dryRun of [true, false]) {
        const r = await runIn(dir, { date: '2024-01-05', hour, dryRun });
        expect(r.code, explain(r)).toBe(2);
        expect(diagnosticsOf(r.events)).toEqual([
          expect.objectContaining({ code: 'bad-partition', message: expect.stringContaining('partition_by column day of orders is DATE: it holds days, and this build is of one hour'), location: expect.objectContaining({ file: 'models/orders.sql', line: 1 }) }),
        ]);
      }
      expect(await sortedRows(warehouseOf(dir), 'orders')).toEqual(before);
    }
    // A first build of an hour, whose upstream the run builds too, is refused the same way before anything exists.
    const fresh = project({ 'models/base.sql': "select date '2024-01-05' as day, 1 as id", 'models/orders.sql': "{{ config(materialized='incremental', partition_by='day') }}\nselect * from {{ ref('base') }}" });
    const first = await runIn(fresh, { date: '2024-01-05', hour: 3 });
    expect(diagnosticsOf(first.events).map((d) => d.code), explain(first)).toEqual(['bad-partition']);
  });

  it("a depends_on_past model's first hour of a day follows the whole previous day's build, which wrote that day's last hour too", async () => {
    const dir = project({
      'models/ticks.sql': "{{ config(materialized='incremental', partition_by='ts', depends_on_past=true) }}\nselect timestamp '{{ interval_start }}' + interval 30 minute as ts",
    });
    expect((await runIn(dir, { date: '2024-01-01', select: ['ticks'] })).code).toBe(0);
    const r = await runIn(dir, { date: '2024-01-02', hour: 0, select: ['ticks'] });
    expect(r.code, explain(r)).toBe(0);
    expect(taskIdsOf(r.events, 'task-succeeded')).toEqual(['ticks@2024-01-02T00']);
    // pipe status of an hourly pipeline does not call the hours of a day built whole never built.
    writeProjectFiles(dir, { 'pipelines/hourly.yaml': 'select: [ticks]\nschedule: "5 * * * *"\ninterval: hourly\n' });
    const shown = await statusIn(dir, { pipeline: 'hourly', start: '2024-01-01', end: '2024-01-01' });
    expect(shown.stdout, explain(shown)).toContain('modified 2024-01-01T00…2024-01-01T23 (built with its day 2024-01-01, whose SQL differs from the hour\'s)');
    expect(shown.stdout).not.toContain('never built');
    // Without a build of the day or of its last hour, the hour still waits.
    const gap = await runIn(dir, { date: '2024-01-04', hour: 0, select: ['ticks'] });
    expect(gap.code).toBe(1);
    expect(gap.stdout).toContain('depends_on_past: ticks for 2024-01-03T23 has not succeeded');
  });

  it("a depends_on_past model's day follows a previous day built hour by hour once its 24 hours have all succeeded", async () => {
    const files = {
      // With gap set, each day's last hour fails.
      'models/ticks.sql': "{{ config(materialized='incremental', partition_by='ts', depends_on_past=true) }}\n{% if var('gap', false) and ' 23:00' in interval_start %}select error('gap')::TIMESTAMP as ts{% else %}select timestamp '{{ interval_start }}' + interval 30 minute as ts{% endif %}",
      'pipelines/hourly.yaml': 'select: [ticks]\nschedule: "5 * * * *"\ninterval: hourly\n',
    };
    const dir = project(files);
    // The first day built whole, the next two hour by hour.
    expect((await runIn(dir, { date: '2024-02-27', select: ['ticks'] })).code).toBe(0);
    const hours = await backfillIn(dir, { pipeline: 'hourly', start: '2024-02-28', end: '2024-02-29' });
    expect(hours.code, explain(hours)).toBe(0);
    const next = await runIn(dir, { date: '2024-03-01', select: ['ticks'] });
    expect(next.code, explain(next)).toBe(0);
    expect(taskIdsOf(next.events, 'task-succeeded')).toEqual(['ticks@2024-03-01']);
    // A day whose last hour failed is not done: the next day waits.
    const gappy = project(files);
    expect((await runIn(gappy, { date: '2024-02-27', select: ['ticks'] })).code).toBe(0);
    const failed = await backfillIn(gappy, { pipeline: 'hourly', start: '2024-02-28', end: '2024-02-28', vars: { gap: true } });
    expect(failed.code, explain(failed)).toBe(1);
    const waits = await runIn(gappy, { date: '2024-02-29', select: ['ticks'] });
    expect(waits.code).toBe(1);
    expect(waits.stdout).toContain('depends_on_past: ticks for 2024-02-28 has not succeeded');
  });

  it('pipe test --hour checks the rows of that hour, as its build did, and pipe retry of it checks the same hour', async () => {
    const dir = project({
      'models/ticks.sql': "{{ config(materialized='incremental', partition_by='ts') }}\nselect * from (values (timestamp '2024-03-01 00:10:00')) v(ts) where ts >= '{{ interval_start }}' and ts < '{{ interval_end }}'",
      'models/ticks.yaml': 'checks:\n  row_count: {min: 1}\n',
      'pipelines/hourly.yaml': 'select: [ticks]\nschedule: "5 * * * *"\ninterval: hourly\n',
    });
    expect((await runIn(dir, { pipeline: 'hourly', date: '2024-03-01', hour: 0 })).code).toBe(0);
    // Hour 05 has no row: its build fails its check, and so does a test of that hour; the day passes.
    expect((await runIn(dir, { pipeline: 'hourly', date: '2024-03-01', hour: 5 })).code).toBe(1);
    const hour = await testIn(dir, { pipeline: 'hourly', date: '2024-03-01', hour: 5 });
    expect([hour.code, taskIdsOf(hour.events, 'task-failed')], explain(hour)).toEqual([1, ['ticks@2024-03-01T05']]);
    const first = await testIn(dir, { pipeline: 'hourly', date: '2024-03-01', hour: 0 });
    expect([first.code, taskIdsOf(first.events, 'task-succeeded')], explain(first)).toEqual([0, ['ticks@2024-03-01T00']]);
    const day = await testIn(dir, { date: '2024-03-01', select: ['ticks'] });
    expect([day.code, taskIdsOf(day.events, 'task-succeeded')], explain(day)).toEqual([0, ['ticks@2024-03-01']]);
    const runId = String(hour.events.find((e) => e.type === 'run-started')!.runId);
    const again = await retryIn(dir, { runId });
    expect([again.code, taskIdsOf(again.events, 'task-failed')], explain(again)).toEqual([1, ['ticks@2024-03-01T05']]);
    expect(again.events.find((e) => e.type === 'run-started')?.ds).toBe('2024-03-01T05');
    // A model whose partition column holds days has no hour to test, as it has none to build.
    writeProjectFiles(dir, { 'models/days.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect '{{ ds }}'::DATE as d", 'models/days.yaml': 'checks:\n  row_count: {min: 1}\n' });
    expect((await runIn(dir, { date: '2024-03-01', select: ['days'] })).code).toBe(0);
    const days = await testIn(dir, { date: '2024-03-01', hour: 7, select: ['days'] });
    expect([days.code, diagnosticsOf(days.events).map((d) => [d.message, d.location?.line])], explain(days)).toEqual([
      2,
      [['partition_by column d of days is DATE: it holds days, not hours, so one hour of it cannot be tested: test the whole day (without --hour)', 1]],
    ]);
  });

  it('an hour of a model whose partition or event_time is text is refused in words of its kind: text is placed by day', async () => {
    const dir = project({
      'models/events.sql': "{{ config(materialized='incremental', partition_by='s') }}\nselect '2024-01-05 07:15:00' as s",
      'models/batches.sql': "{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='s', batch_size='hour', begin='2024-01-05') }}\nselect '2024-01-05 07:15:00' as s",
    });
    const r = await runIn(dir, { date: '2024-01-05', hour: 7, select: ['events', 'batches'] });
    expect(diagnosticsOf(r.events).filter((d) => d.severity === 'error').map((d) => d.message).sort(), explain(r)).toEqual([
      "event_time column s of batches is text, which pipe places by day, and this build is of one hour, which would replace its day's rows with the hour's; give the model batch_size='day', or cast the column to a TIMESTAMP in its query",
      "partition_by column s of events is text, which pipe places by day, and this build is of one hour, which would replace its day's rows with the hour's; run the whole day (without --hour), or cast the column to a TIMESTAMP in the query",
    ]);
  });

  it('refuses a value that is not a whole number 0 or more, at its line', async () => {
    const inConfig = project({ 'models/orders.sql': `\n${ORDERS(', lookback=-1')}` });
    const a = await runIn(inConfig, { date: '2024-01-05' });
    expect(a.code).toBe(2);
    expect(diagnosticsOf(a.events)).toEqual([expect.objectContaining({ message: expect.stringContaining('lookback must be a whole number, 0 or more'), location: expect.objectContaining({ file: 'models/orders.sql', line: 2 }) })]);

    const inYaml = project({ 'models/orders.sql': ORDERS(''), 'models/orders.yaml': 'tags: [daily]\nlookback: two\n' });
    const b = await runIn(inYaml, { date: '2024-01-05' });
    expect(b.code).toBe(2);
    expect(diagnosticsOf(b.events)).toEqual([expect.objectContaining({ message: expect.stringContaining('got "two"'), location: expect.objectContaining({ file: 'models/orders.yaml', line: 2 }) })]);
  });

  it("is one mechanism with a microbatch model's: never before begin, and what reads the batches follows", async () => {
    const dir = eventsProject({
      'models/daily.sql': DAILY(', lookback=3').replace("begin='2024-01-01'", "begin='2024-01-02'"),
      'models/per_day.sql': `{{ config(materialized='incremental', partition_by='day') }}
select cast(day as date) as day, events from {{ ref('daily') }}
where day >= '{{ interval_start }}' and day < '{{ interval_end }}'`,
    });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const r = await runIn(dir, { date: '2024-01-04' });
    expect(r.code, explain(r)).toBe(0);
    // Three batches back would be the 1st: begin is the 2nd.
    expect(done(r.events)).toEqual(['daily@2024-01-02', 'daily@2024-01-03', 'daily@2024-01-04', 'per_day@2024-01-02', 'per_day@2024-01-03', 'per_day@2024-01-04']);
    expect(r.stdout).toContain('per_day 2024-01-03 (lookback 3 of daily)');
  });

  it("rebuilds each date a catch-up looks back on once, leaving it to the latest run that reaches it", async () => {
    const dir = project({ 'pipelines/nightly.yaml': 'schedule: "0 2 * * *"\ntimezone: UTC\ncatchup: true\nmax_catchup: 5\n' });
    const r = await scheduleIn(dir, { clock: { now: () => Date.parse('2024-01-06T03:00:00Z') } });
    expect(r.code, explain(r)).toBe(0);
    // Only the due run the first time; then down for two days.
    const later = await scheduleIn(dir, { clock: { now: () => Date.parse('2024-01-08T03:00:00Z') } });
    expect(later.code, explain(later)).toBe(0);
    const built = done(later.events).filter((id) => id.startsWith('orders'));
    // Runs of the 6th and 7th: the 6th leaves the 5th to the 7th's lookback, and builds the 4th.
    expect(built.sort()).toEqual(['orders@2024-01-04', 'orders@2024-01-05', 'orders@2024-01-06', 'orders@2024-01-06', 'orders@2024-01-07']);
    const runs = await queryRows(join(dir, 'warehouse.duckdb'), `SELECT r.params->>'ds' AS ds, r.status FROM _pipe.schedule s JOIN _pipe.runs r USING (run_id) ORDER BY s.fire_at`);
    expect(runs).toEqual([
      { ds: '2024-01-05', status: 'succeeded' },
      { ds: '2024-01-06', status: 'succeeded' },
      { ds: '2024-01-07', status: 'succeeded' },
    ]);
  });
});
