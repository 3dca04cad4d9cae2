import { afterAll, describe, expect, it } from 'vitest';
import { diagnosticsOf, eventsOfType, explain, removeTempDirs, sortedRows, taskIdsOf, warehouseOf, writeProjectFiles } from '../e2e/helpers.js';
import { backfillDryRun } from '../../src/commands/backfill.js';
import { backfillIn, compileIn, retryIn, runIn } from '../support/in-process.js';
import { DAILY, eventsProject as project } from '../support/incremental-project.js';

/**
 * dbt's microbatch models through pipe's commands in this process: a first build from begin,
 * runs with their lookback or an event-time range, inputs read by batch, backfills hour by
 * hour, batches in order, retries of a first build and a full refresh from begin.
 */

afterAll(removeTempDirs);

describe('microbatch models', () => {
  it("build from begin on the first run, then the run's batch and its lookback, reading their inputs by batch", async () => {
    const dir = project({ 'models/daily.sql': DAILY('') });
    const first = await runIn(dir, { date: '2024-01-02' });
    expect(first.code, explain(first)).toBe(0);
    expect(taskIdsOf(first.events, 'task-succeeded')).toEqual(['daily@2024-01-01', 'daily@2024-01-02', 'events']);
    const next = await runIn(dir, { date: '2024-01-04' });
    expect(taskIdsOf(next.events, 'task-succeeded')).toEqual(['daily@2024-01-03', 'daily@2024-01-04']);
    const table = await sortedRows(warehouseOf(dir), 'daily');
    expect(table).toEqual([
      { day: '2024-01-01', events: '2', amount: '12' },
      { day: '2024-01-02', events: '2', amount: '12' },
      { day: '2024-01-03', events: '1', amount: '1' },
      { day: '2024-01-04', events: '1', amount: '2' },
    ]);
    // A re-run replaces its batches and nothing else.
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    expect(await sortedRows(warehouseOf(dir), 'daily')).toEqual(table);
    // The seed declares event_time: each batch reads its own day of it.
    const compiled = await compileIn(dir, { model: 'daily', date: '2024-01-03' });
    expect(compiled.models.map((m) => m.ds)).toEqual(['2024-01-02', '2024-01-03']);
    expect(compiled.models[1].sql).toContain(
      `from (SELECT * FROM "main"."events" WHERE CAST("event_at" AS DATE) >= CAST(TIMESTAMP '2024-01-03 00:00:00' AS DATE) AND CAST("event_at" AS DATE) < CAST(TIMESTAMP '2024-01-04 00:00:00' AS DATE) + 1 AND CASE WHEN TRY_CAST("event_at" AS TIMESTAMPTZ) <> CAST(TRY_CAST("event_at" AS TIMESTAMP) AS TIMESTAMPTZ) THEN error('pipe: a partition value is text with a UTC offset, whose date is ambiguous: ' || CAST("event_at" AS VARCHAR)) ELSE true END AND CAST("event_at" AS TIMESTAMP) >= TIMESTAMP '2024-01-03 00:00:00' AND CAST("event_at" AS TIMESTAMP) < TIMESTAMP '2024-01-04 00:00:00')`,
    );
  });

  it('builds the batches of --event-time-start/--event-time-end, and refuses half a range', async () => {
    const dir = project({ 'models/daily.sql': DAILY(', lookback=0'), 'models/hourly.sql': DAILY(', lookback=0').replace("batch_size='day'", "batch_size='hour'").replace('cast(event_at as date)', "date_trunc('hour', event_at)") });
    const r = await runIn(dir, { date: '2024-01-04', eventTimeStart: '2024-01-02 23:00', eventTimeEnd: '2024-01-03 01:00' });
    expect(r.code, explain(r)).toBe(0);
    expect(taskIdsOf(r.events, 'task-succeeded')).toEqual(['daily@2024-01-02', 'daily@2024-01-03', 'events', 'hourly@2024-01-02T23', 'hourly@2024-01-03T00']);
    const half = await runIn(dir, { date: '2024-01-04', eventTimeStart: '2024-01-02' });
    expect(half.code).toBe(2);
    expect(half.stdout + half.stderr).toContain('--event-time-start needs --event-time-end too');
    const backwards = await runIn(dir, { date: '2024-01-04', eventTimeStart: '2024-01-03', eventTimeEnd: '2024-01-02' });
    expect(backwards.code).toBe(2);
  });

  it("gives each batch's render dbt's model.batch: its id and its bounds, so that what a template does for one batch is done for that batch alone", async () => {
    const dir = project({
      'models/daily.sql': `{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='day', batch_size='day', begin='2024-01-01', lookback=0) }}
select cast(event_at as date) as day, '{{ model.batch.id }}' as batch_id, '{{ model.batch.event_time_start }}' as batch_start, count(*) as events
{% if model.batch.id == '20240103' %}, error('a bad batch') as boom{% endif %}
from {{ ref('events') }}
group by all
`,
      'models/hourly.sql': `{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='event_at', batch_size='hour', begin='2024-01-01', lookback=0) }}
select event_at, '{{ model.batch.id }}' as batch_id from {{ ref('events') }}
`,
    });
    const r = await runIn(dir, { date: '2024-01-04', eventTimeStart: '2024-01-02 23:00', eventTimeEnd: '2024-01-04' });
    expect(r.code).toBe(1);
    // Only the batch whose id the template names fails.
    expect(taskIdsOf(r.events, 'task-failed')).toEqual(['daily@2024-01-03']);
    expect((await sortedRows(warehouseOf(dir), 'daily')).map((x) => [x.batch_id, x.batch_start])).toEqual([['20240102', '2024-01-02 00:00:00+00:00']]);
    expect((await sortedRows(warehouseOf(dir), 'hourly')).map((x) => x.batch_id)).toEqual(['2024010306']);
  });

  it("an input's event_time naming a column it does not give is an error at its line before anything runs, not the batches' engine error", async () => {
    const dir = project({
      'models/daily.sql': DAILY('').replace("ref('events')", "ref('stg_events')"),
      'models/stg_events.sql': 'select event_at, user_id, amount from {{ ref(\'events\') }}',
      'models/stg_events.yaml': 'event_time: event_time\n',
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(2);
    expect(r.stderr).toContain("models/stg_events.yaml:1: error: event_time names column 'event_time', which stg_events does not produce");
    expect(taskIdsOf(r.events, 'task-started')).toEqual([]);
    // A seed's, at its header; one set on a model no microbatch model reads is nothing to it, as in dbt.
    writeProjectFiles(dir, {
      'models/daily.sql': DAILY(''),
      'seeds/events.yml': 'version: 2\nseeds:\n  - name: events\n    config:\n      event_time: happened_at\n',
      'models/unread.sql': 'select 1 as id',
      'models/unread.yaml': 'event_time: nosuch\n',
    });
    const seeded = await runIn(dir, { date: '2024-01-02' });
    expect(seeded.code, explain(seeded)).toBe(2);
    expect(seeded.stderr).toContain("seeds/events.csv:1: error: event_time of seed events names column 'happened_at', which its header does not have (event_id, user_id, amount, event_at)");
    writeProjectFiles(dir, { 'seeds/events.yml': 'version: 2\nseeds:\n  - name: events\n' });
    const ok = await runIn(dir, { date: '2024-01-02' });
    expect(ok.code, explain(ok)).toBe(0);
  });

  it("an input's event_time holding text with a UTC offset fails the batch that reads it, at the model, naming the value", async () => {
    const dir = project({
      'models/daily.sql': DAILY('').replace("ref('events')", "ref('stg_events')"),
      'models/stg_events.sql': "select strftime(event_at, '%Y-%m-%dT%H:%M:%S-05:00') as event_at, user_id, amount from {{ ref('events') }}",
      'models/stg_events.yaml': 'event_time: event_at\n',
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(1);
    const failed = eventsOfType(r.events, 'task-failed').map((e) => e.error as { message: string; location?: { file: string; line?: number } });
    expect(failed.length).toBeGreaterThan(0);
    for (const { message, location } of failed) {
      expect(message).toMatch(/^daily reads by batch an input whose event_time holds '2024-01-0\dT\d\d:\d\d:\d\d-05:00', text with a UTC offset: its date is ambiguous/);
      expect([location?.file, location?.line]).toEqual(['models/daily.sql', 1]);
    }
  });

  it("a source's event_time naming none of its columns is an error at its entry, also when an on-run-start statement creates the source", async () => {
    const dir = project({
      'dbt_project.yml': "name: shop\non-run-start:\n  - \"create table if not exists raw_ev as select timestamp '2024-01-01 05:00' as ts, 1 as id\"\n",
      'models/src.yml': 'version: 2\nsources:\n  - name: raw\n    schema: main\n    tables:\n      - name: raw_ev\n        config:\n          event_time: tss\n',
      'models/daily.sql': DAILY('').replace("event_time='day'", "event_time='ts'").replace("cast(event_at as date) as day, count(*) as events, sum(amount) as amount", 'cast(ts as date) as ts, count(*) as n').replace("ref('events')", "source('raw', 'raw_ev')"),
    });
    const message = 'models/src.yml:6: error: source raw.raw_ev: its event_time tss is not a column of "main"."raw_ev", which the microbatch models reading it filter by';
    // Checked again once on-run-start made the table.
    const first = await runIn(dir, { date: '2024-01-02' });
    expect(first.code, explain(first)).toBe(1);
    expect(first.stderr).toContain(message);
    expect(first.stderr).toContain("did you mean 'ts'?");
    expect(first.stderr).not.toMatch(/Binder Error/);
    expect(taskIdsOf(first.events, 'task-started').filter((t) => t.startsWith('daily'))).toEqual([]);
    // The table there before the run: the same (on-run-start might still mend it, so it runs first).
    const again = await runIn(dir, { date: '2024-01-02' });
    expect(again.code, explain(again)).toBe(1);
    expect(again.stderr).toContain(message);
    writeProjectFiles(dir, { 'models/src.yml': 'version: 2\nsources:\n  - name: raw\n    schema: main\n    tables:\n      - name: raw_ev\n        config:\n          event_time: ts\n' });
    const ok = await runIn(dir, { date: '2024-01-02' });
    expect(ok.code, explain(ok)).toBe(0);
  });

  it('refuses a first build that ends before begin', async () => {
    const dir = project({ 'models/daily.sql': DAILY('').replace("begin='2024-01-01'", "begin='2024-01-05'") });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(2);
    expect(r.stdout + r.stderr).toContain("daily: its first build starts at begin (2024-01-05T00:00:00.000Z), after the run's interval ends");
  });

  it('refuses, before planning them, more batches than a build plans: a begin a century back with hourly batches', async () => {
    const dir = project({ 'models/hourly.sql': DAILY('').replace("batch_size='day'", "batch_size='hour'").replace("begin='2024-01-01'", "begin='1900-01-01'") });
    const r = await runIn(dir, { date: '2024-01-02', dryRun: true });
    expect(r.code, explain(r)).toBe(2);
    expect(r.stdout + r.stderr).toContain('hourly: its first build, from begin (1900-01-01T00:00:00.000Z) to the run\'s interval is 1,087,008 batches of an hour: a build plans at most 36,600');
    expect(r.stdout + r.stderr).toContain('check the year of begin');
    const range = await runIn(dir, { date: '2024-01-04', eventTimeStart: '1990-01-01', eventTimeEnd: '2024-01-01' });
    expect(range.code).toBe(2);
    expect(range.stdout + range.stderr).toContain('batches of an hour: a build plans at most 36,600');
  });

  it('backfill builds an hourly model hour by hour within each date, and the days read the hours', async () => {
    const dir = project({
      'models/hourly.sql': DAILY('').replace("batch_size='day'", "batch_size='hour'").replace('cast(event_at as date)', "date_trunc('hour', event_at)"),
      'models/per_day.sql': `{{ config(materialized='incremental', partition_by='day') }}
select cast(day as date) as day, sum(events) as events from {{ ref('hourly') }}
where day >= '{{ interval_start }}' and day < '{{ interval_end }}' group by 1`,
    });
    const plan = await backfillDryRun({ project: dir, start: '2024-01-01', end: '2024-01-02', emit: () => undefined });
    const tasks = new Map(plan.tasks.map((t) => [t.id, t]));
    expect(plan.tasks.filter((t) => t.node === 'hourly')).toHaveLength(48);
    expect(tasks.get('hourly@2024-01-02T13')).toMatchObject({ group: '2024-01-02' });
    expect(tasks.get('per_day@2024-01-02')!.upstream).toHaveLength(24);
    const r = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-02', parallel: 2 });
    expect(r.code, explain(r)).toBe(0);
    expect(await sortedRows(warehouseOf(dir), 'per_day')).toEqual([
      { day: '2024-01-01', events: '2' },
      { day: '2024-01-02', events: '2' },
    ]);
  });

  it('runs the batches one after another when concurrent_batches is false or the model reads itself', async () => {
    for (const model of [DAILY(', concurrent_batches=false'), `${DAILY('')}\n-- {{ this }}`]) {
      const dir = project({ 'models/daily.sql': model });
      const plan = await backfillDryRun({ project: dir, start: '2024-01-01', end: '2024-01-03', emit: () => undefined });
      expect(plan.tasks.find((t) => t.id === 'daily@2024-01-03')!.upstream).toContain('daily@2024-01-02');
    }
    const free = await backfillDryRun({ project: project({ 'models/daily.sql': DAILY('') }), start: '2024-01-01', end: '2024-01-03', emit: () => undefined });
    expect(free.tasks.find((t) => t.id === 'daily@2024-01-03')!.upstream).toEqual(['events']);
  });

  it("retries the batches of a first build that failed, though its table exists now, one from before the run's lookback too", async () => {
    // 2024-01-02 is within the run's lookback; 2024-01-01 a run of 2024-01-03 alone would not plan.
    for (const [failing, day] of [["event_at >= '2024-01-02' and event_at < '2024-01-03'", '2024-01-02'], ["event_at < '2024-01-02'", '2024-01-01']]) {
      const dir = project({ 'models/daily.sql': DAILY('').replace('sum(amount) as amount', `sum(amount) as amount, max(case when ${failing} then error('no') end) as boom`) });
      const r = await runIn(dir, { date: '2024-01-03' });
      expect(r.code).toBe(1);
      expect(taskIdsOf(r.events, 'task-failed')).toEqual([`daily@${day}`]);
      writeProjectFiles(dir, { 'models/daily.sql': DAILY('').replace('sum(amount) as amount', 'sum(amount) as amount, NULL as boom') });
      const retried = await retryIn(dir);
      expect(retried.code, explain(retried)).toBe(0);
      expect(taskIdsOf(retried.events, 'task-succeeded')).toEqual([`daily@${day}`]);
      expect((await sortedRows(warehouseOf(dir), 'daily')).map((row) => row.day)).toEqual(['2024-01-01', '2024-01-02', '2024-01-03']);
    }
  });

  it('--full-refresh rebuilds from begin into a staging table swapped in whole', async () => {
    const dir = project({ 'models/daily.sql': DAILY('') });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const r = await runIn(dir, { date: '2024-01-03', fullRefresh: true, select: ['daily'] });
    expect(r.code, explain(r)).toBe(0);
    expect(taskIdsOf(r.events, 'task-succeeded')).toEqual([
      'daily@2024-01-01',
      'daily@2024-01-02',
      'daily@2024-01-03',
      'daily@full-refresh:reset',
      'daily@full-refresh:swap',
    ]);
    expect((await sortedRows(warehouseOf(dir), 'daily')).map((row) => row.day)).toEqual(['2024-01-01', '2024-01-02', '2024-01-03']);
    // An earlier date would drop the later ones: refused, naming them.
    const refused = await runIn(dir, { date: '2024-01-01', fullRefresh: true, select: ['daily'] });
    expect(refused.code, explain(refused)).toBe(2);
    expect(refused.stdout + refused.stderr).toContain('delete the 2 other dates it holds (2024-01-02 … 2024-01-03)');
  });

  it('warns when nothing it reads declares event_time, and fails a batch that returns rows of other batches', async () => {
    const dir = project({ 'dbt_project.yml': 'name: shop\nseeds:\n  shop:\n    events:\n      +column_types: {event_at: timestamp}\n', 'models/daily.sql': DAILY('') });
    const r = await runIn(dir, { date: '2024-01-01' });
    expect(r.code, explain(r)).toBe(1);
    expect(diagnosticsOf(r.events)).toContainEqual(
      expect.objectContaining({ code: 'no-batched-input', message: expect.stringContaining('daily is a microbatch model, but nothing it reads declares event_time') }),
    );
    expect(r.stdout).toContain("3 rows outside the run's interval [2024-01-01 00:00:00, 2024-01-02 00:00:00) by day");
    expect(r.stdout).toContain('a microbatch model returns the rows of its batch only: declare event_time on the models it reads');
  });

  it('reads a source that declares event_time by batch', async () => {
    const dir = project({
      'models/sources.yml': `version: 2
sources:
  - name: raw
    schema: main
    tables:
      - name: events
        config:
          event_time: event_at
`,
      'models/from_source.sql': DAILY('').replace("{{ ref('events') }}", "{{ source('raw', 'events') }}"),
    });
    expect((await runIn(dir, { date: '2024-01-01', select: ['events'] })).code).toBe(0);
    const compiled = await compileIn(dir, { model: 'from_source', date: '2024-01-02' });
    expect(compiled.models.at(-1)!.sql).toContain(`from (SELECT * FROM "main"."events" WHERE CAST("event_at" AS DATE) >= CAST(TIMESTAMP '2024-01-02 00:00:00' AS DATE)`);
  });
});
