import { afterAll, describe, expect, it } from 'vitest';
import { diagnosticsOf, eventsOfType, execOn, explain, holdWarehouse, queryRows, removeTempDirs, taskIdsOf, warehouseOf, writeProjectFiles, type PipeEventJson, type PipeResult } from '../e2e/helpers.js';
import { backfillIn, backfillMissingIn, compileIn, runIn, freshnessIn, retryIn, showIn, statusIn } from '../support/in-process.js';
import { CUSTOMERS, versionsProject } from '../support/versions-project.js';
import { BUILT_DATES, builtVersionsProject } from '../support/built-versions-project.js';
import { EXIT } from '../../src/cli/exit-status.js';
import { cliIn } from '../support/cli-in-process.js';
import { notCurrent as notCurrentBy, standings as standingsBy, statusNodes, type NodeLine } from '../support/status-standings.js';

afterAll(removeTempDirs);

/**
 * `pipe status`, `pipe backfill --missing` and the `state:` selectors: one judgement of each
 * task (the data versions on record), so that what status shows as not current is exactly
 * what --missing builds, and what a run then records makes everything current.
 */

const DATES = BUILT_DATES;
/** Yesterday is 2024-01-05: the default range ends there. */
const clock = { now: () => Date.parse('2024-01-06T10:00:00Z') };

async function statusOf(dir: string, options: Parameters<typeof statusIn>[1] = {}): Promise<{ nodes: Map<string, NodeLine>; r: PipeResult }> {
  const r = await statusIn(dir, { clock, json: true, ...options });
  expect(r.code, explain(r)).toBe(0);
  return { nodes: statusNodes(r), r };
}

const standings = (nodes: ReadonlyMap<string, NodeLine>, end = DATES.end) => standingsBy(nodes, end);
const notCurrent = (nodes: ReadonlyMap<string, NodeLine>) => notCurrentBy(nodes, DATES.end);
const started = (events: readonly PipeEventJson[]) => taskIdsOf(events, 'task-started');
const FIVE = ['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04', '2024-01-05'];

/** --missing builds exactly what status shows as not current; then status shows everything current and a second --missing runs nothing. */
async function missingAgrees(dir: string): Promise<string[]> {
  const before = notCurrent((await statusOf(dir)).nodes);
  const r = await backfillMissingIn(dir, DATES);
  expect(r.code, explain(r)).toBe(0);
  expect(started(r.events)).toEqual(before);
  const after = await statusOf(dir);
  expect(notCurrent(after.nodes)).toEqual([]);
  const again = await backfillMissingIn(dir, DATES);
  expect(again.code, explain(again)).toBe(0);
  expect(started(again.events)).toEqual([]);
  expect(eventsOfType(again.events, 'notice').map((e) => e.message)).toContain('nothing to build: every selected task from 2024-01-01 to 2024-01-05 is current');
  return before;
}

describe('pipe status', () => {
  it("a model reading a tested source is current after a run: the source's test, which runs first, publishes nothing", async () => {
    const dir = versionsProject({
      'models/sources.yml': 'version: 2\nsources:\n  - name: db\n    schema: raw\n    tables:\n      - name: thing\n        columns:\n          - name: id\n            tests: [unique]\n',
      'models/reads_thing.sql': "select * from {{ source('db', 'thing') }}",
    });
    await execOn(warehouseOf(dir), 'CREATE SCHEMA raw; CREATE TABLE raw.thing AS SELECT 1 AS id');
    const r = await runIn(dir, { date: '2024-01-05', select: ['reads_thing'] });
    expect(r.code, explain(r)).toBe(0);
    expect([...standings((await statusOf(dir, { select: ['reads_thing'] })).nodes)]).toEqual([['reads_thing@2024-01-05', 'current']]);
    const stale = await cliIn(['ls', '--project', dir, '-s', 'state:stale']);
    expect(stale.code, explain(stale)).toBe(0);
    expect(stale.stdout).not.toContain('reads_thing');
  });

  it('on a project never run: every node never built, and it says so', async () => {
    const dir = versionsProject();
    const text = await statusIn(dir, { clock });
    expect(text.code, explain(text)).toBe(0);
    expect(text.stdout).toContain('nothing is built in');
    expect(text.stdout).toMatch(/fct_orders\s+incremental\s+never built \(no begin and no build to start from: give --start and --end\)/);
    // The models kept by date, with no date to judge, are counted apart: the counts add up to the nodes.
    expect(text.stdout).toMatch(/; 2 models kept by date with no date to judge \(\d+ nodes, dates to /);
    const { nodes } = await statusOf(dir, DATES);
    expect(new Set([...standings(nodes).values()])).toEqual(new Set(['never-built']));
    expect(nodes.get('fct_orders')!.intervals!.map((u) => u.interval)).toEqual(FIVE);
  });

  it("a microbatch model's dates start at its begin", async () => {
    const dir = versionsProject({
      'models/orders_mb.sql': "{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='order_date', begin='2024-01-03', batch_size='day') }}\nselect * from {{ ref('stg_orders') }}\n",
    });
    const text = await statusIn(dir, { clock });
    expect(text.stdout).toMatch(/orders_mb\s+microbatch\s+never built 2024-01-03…2024-01-05\n/);
  });

  /** The versions project with one date built, far back or not. */
  const builtOn = async (date: string): Promise<string> => {
    const dir = versionsProject();
    const built = await backfillIn(dir, { start: date, end: date });
    expect(built.code, explain(built)).toBe(0);
    return dir;
  };

  it('judges no further back than the dates one command plans, saying where the history on record starts and how to judge it', async () => {
    // A build for a date far back (a mistyped year) would make every date since one to judge.
    const dir = await builtOn('2023-12-25');
    const text = await statusIn(dir, { clock, judgedAtMost: 4 });
    expect(text.code, explain(text)).toBe(0);
    expect(text.stdout).toMatch(/fct_orders\s+incremental\s+never built 2024-01-02…2024-01-05\n/);
    expect(text.stdout).toContain('dates before 2024-01-02 are not judged: the history on record reaches back to 2023-12-25, past the 4 dates pipe judges at once; give --start and --end to judge them');
    const json = await statusIn(dir, { clock, judgedAtMost: 4, json: true });
    expect(JSON.parse(json.stdout.trim().split('\n').at(-1)!)).toMatchObject({ type: 'summary', start: '2024-01-02', end: '2024-01-05', history_start: '2023-12-25' });
    // Within the bound, the history is judged whole and nothing is said.
    const whole = await statusIn(dir, { clock });
    expect(whole.stdout).toMatch(/fct_orders\s+incremental\s+current 2023-12-25 · never built 2023-12-26…2024-01-05\n/);
    expect(whole.stdout).not.toContain('not judged');
  });

  it('judges fewer of the latest dates by default the more models are kept by date, saying why', async () => {
    const dir = await builtOn('2023-12-25');
    // Two models kept by date, eight of their tasks at most: four dates.
    const text = await statusIn(dir, { clock, judgedTasksAtMost: 8 });
    expect(text.code, explain(text)).toBe(0);
    expect(text.stdout).toMatch(/fct_orders\s+incremental\s+never built 2024-01-02…2024-01-05\n/);
    expect(text.stdout).toContain(
      'dates before 2024-01-02 are not judged: the history on record reaches back to 2023-12-25, past the 4 dates pipe judges at once for 2 models kept by date (8 model-dates at most); give --start and --end to judge them',
    );
    // A range given is judged whole.
    const given = await statusIn(dir, { clock, judgedTasksAtMost: 8, start: '2023-12-25', end: '2024-01-05' });
    expect(given.stdout).toMatch(/fct_orders\s+incremental\s+current 2023-12-25 · never built 2023-12-26…2024-01-05\n/);
    expect(given.stdout).not.toContain('not judged');
  });

  it("refuses an hourly pipeline's range past the hours one command plans, as its backfill does, before judging any", async () => {
    const dir = versionsProject({ 'pipelines/hourly.yaml': 'select: [stg_orders]\nschedule: "5 * * * *"\ninterval: hourly\n' });
    const r = await statusIn(dir, { clock, pipeline: 'hourly', start: '2019-01-01', end: '2024-01-09' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--start 2019-01-01 --end 2024-01-09 is 44,040 hours: pipe status covers at most 36,600 hours');
  });

  it('an hourly pipeline is shown hour by hour', async () => {
    const dir = versionsProject({
      'pipelines/hourly.yaml': 'select: [clicks]\nschedule: "5 * * * *"\ninterval: hourly\n',
      'models/clicks.sql': `{{ config(materialized='incremental', partition_by='ts') }}
select i as id, timestamp '{{ interval_start }}' + interval (i) minute as ts from range(3) t(i)
`,
    });
    const first = await backfillIn(dir, { pipeline: 'hourly', start: '2024-01-01', end: '2024-01-01' });
    expect(first.code, explain(first)).toBe(0);
    const text = await statusIn(dir, { clock, pipeline: 'hourly', start: '2024-01-01', end: '2024-01-02' });
    expect(text.stdout).toMatch(/clicks\s+incremental\s+current 2024-01-01T00…2024-01-01T23 · never built 2024-01-02T00…2024-01-02T23\n/);
    // Judged by the day (no pipeline), a day built by the hour is built, not never built.
    const days = await statusIn(dir, { clock, start: '2024-01-01', end: '2024-01-02', select: ['clicks'] });
    expect(days.stdout).toMatch(/clicks\s+incremental\s+modified 2024-01-01 \(built by the hour \(24 of its 24 hours\), never as the whole day, whose SQL differs\) · never built 2024-01-02\n/);
  });

  it('an hour and its whole day, each built after the other with other SQL: neither is current, and a run rebuilds it', async () => {
    const dir = versionsProject({
      'pipelines/hourly.yaml': 'select: [clicks]\nschedule: "5 * * * *"\ninterval: hourly\n',
      'models/clicks.sql': `{{ config(materialized='incremental', partition_by='ts') }}
select ts, '{{ var("v", "v1") }}' as version from range(timestamp '{{ interval_start }}', timestamp '{{ interval_end }}', interval 20 minute) t(ts)
`,
    });
    const versions = async () => Object.fromEntries((await queryRows(warehouseOf(dir), "select strftime(ts, '%H') as h, string_agg(distinct version) as v from clicks group by h order by h")).map((r) => [r.h, r.v]));
    const hourOf = (r: PipeResult) => taskIdsOf(r.events, 'task-started');
    // Hour 08 alone, then the whole day with other SQL: the day's build rewrote hour 08's rows.
    expect((await runIn(dir, { pipeline: 'hourly', date: '2024-01-01', hour: 8 })).code).toBe(0);
    expect((await runIn(dir, { pipeline: 'hourly', date: '2024-01-01', vars: { v: 'v2' } })).code).toBe(0);
    expect((await versions())['08']).toBe('v2');
    const text = await statusIn(dir, { clock, pipeline: 'hourly', start: '2024-01-01', end: '2024-01-01' });
    expect(text.stdout).toMatch(/clicks\s+incremental\s+modified 2024-01-01T00…2024-01-01T23 \(built with its day 2024-01-01, whose SQL differs from the hour's\)\n/);
    const hour = await runIn(dir, { pipeline: 'hourly', date: '2024-01-01', hour: 8 });
    expect(hourOf(hour)).toEqual(['clicks@2024-01-01T08']);
    expect((await versions())['08']).toBe('v1');
    const dayStatus = await statusIn(dir, { clock, start: '2024-01-01', end: '2024-01-01', select: ['clicks'] });
    expect(dayStatus.stdout).toMatch(/clicks\s+incremental\s+modified 2024-01-01 \(its hour 2024-01-01T08 was built on its own since\)/);
    // Now the day, built before hour 08, is not current either: run again with its own SQL, it is rebuilt whole.
    const day = await runIn(dir, { pipeline: 'hourly', date: '2024-01-01', vars: { v: 'v2' } });
    expect(hourOf(day)).toEqual(['clicks@2024-01-01']);
    expect((await versions())['08']).toBe('v2');
    // Each is current once rebuilt: the same run again skips it.
    const again = await runIn(dir, { pipeline: 'hourly', date: '2024-01-01', vars: { v: 'v2' } });
    expect(hourOf(again)).toEqual([]);
  });

  it('after a partial backfill: the dates never built, and the table that would change once they are', async () => {
    const dir = versionsProject();
    const first = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-03' });
    expect(first.code, explain(first)).toBe(0);
    const text = await statusIn(dir, { clock });
    expect(text.stdout).toMatch(/fct_orders\s+incremental\s+current 2024-01-01…2024-01-03 · never built 2024-01-04…2024-01-05\n/);
    expect(text.stdout).toMatch(/customer_totals\s+table\s+stale \(fct_orders changed\) · built \S+ \S+ by run /);
    expect(text.stdout).toMatch(/region_names\s+table\s+current · built/);
    expect(text.stdout).toContain('10 of 15 current, 4 never built, 1 stale (7 nodes, dates to 2024-01-05)');
    const built = await missingAgrees(dir);
    expect(built).toEqual(['customer_totals@2024-01-05', 'daily_totals@2024-01-04', 'daily_totals@2024-01-05', 'fct_orders@2024-01-04', 'fct_orders@2024-01-05']);
  });

  it('a table whose query names its date: built for one date, its SQL for a later one differs, and status says which', async () => {
    const dir = versionsProject({ 'models/as_of.sql': "{{ config(materialized='table') }}\nselect count(*) as n from {{ ref('fct_orders') }} where order_date <= '{{ ds }}'\n" });
    const first = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-03' });
    expect(first.code, explain(first)).toBe(0);
    const text = await statusIn(dir, { clock });
    expect(text.stdout).toMatch(/as_of\s+table\s+modified \(built for 2024-01-03; its SQL for 2024-01-05 differs\)/);
  });

  it('after a failure: the date that failed, with the run that recorded it', async () => {
    const broken = `{{ config(materialized='incremental', partition_by='order_date') }}
select order_date, count(*) as orders, sum(amount){% if var('break', '') == ds %} + 'x'::INTEGER{% endif %} as amount from {{ ref('fct_orders') }}
where order_date = '{{ ds }}' group by order_date
`;
    const dir = versionsProject({ 'models/daily_totals.sql': broken });
    const failed = await backfillIn(dir, { ...DATES, vars: { break: '2024-01-03' } });
    expect(failed.code).toBe(1);
    const runId = String(eventsOfType(failed.events, 'run-started')[0].runId);
    const { nodes } = await statusOf(dir);
    const daily = nodes.get('daily_totals')!.intervals!;
    expect(daily.map((u) => u.state)).toEqual(['current', 'current', 'failed', 'current', 'current']);
    expect(daily[2]).toMatchObject({ reason: `run ${runId}` });
    // As the run state records it.
    const rows = await queryRows(warehouseOf(dir), `SELECT t.node, t.ds FROM _pipe.task_results x JOIN _pipe.tasks t USING (run_id, task_id) WHERE x.status = 'failed'`);
    expect(rows).toEqual([{ node: 'daily_totals', ds: '2024-01-03' }]);
    // Still broken, --missing fails on that date alone; pipe retry re-runs that run's one task (with its vars).
    const again = await backfillMissingIn(dir, { ...DATES, vars: { break: '2024-01-03' } });
    expect(again.code).toBe(1);
    expect(started(again.events)).toEqual(['daily_totals@2024-01-03']);
    const retried = await retryIn(dir);
    expect(retried.code).toBe(1);
    expect(started(retried.events)).toEqual(['daily_totals@2024-01-03']);
    expect(await missingAgrees(dir)).toEqual(['daily_totals@2024-01-03']);
  });

  it('a date that failed after a build is retried with what it was built from: what reads it stays current, as the run finds it', async () => {
    const dir = versionsProject({
      'models/fct_orders.sql': `{{ config(materialized='incremental', partition_by='order_date') }}
select o.order_id, o.customer_id, o.amount{% if var('break', '') == ds %} + 'x'::INTEGER{% endif %} as amount, o.order_date, c.region
from {{ ref('stg_orders') }} o join {{ ref('customers') }} c on c.id = o.customer_id
where o.order_date = '{{ ds }}'
`,
    });
    const first = await backfillIn(dir, DATES);
    expect(first.code, explain(first)).toBe(0);
    const failed = await backfillIn(dir, { ...DATES, vars: { break: '2024-01-03' } });
    expect(failed.code).toBe(1);
    // Its table still holds that build: run again as it was, it records the same data version.
    const { nodes } = await statusOf(dir);
    expect(nodes.get('fct_orders')!.intervals!.map((u) => u.state)).toEqual(['current', 'current', 'failed', 'current', 'current']);
    expect(nodes.get('daily_totals')!.intervals!.map((u) => u.state)).toEqual(['current', 'current', 'current', 'current', 'current']);
    expect(nodes.get('customer_totals')).toMatchObject({ state: 'current' });
    expect(await missingAgrees(dir)).toEqual(['fct_orders@2024-01-03']);
  });

  it('after editing a model: it is modified, what reads it stale', async () => {
    const dir = await builtVersionsProject();
    writeProjectFiles(dir, {
      'models/fct_orders.sql': `{{ config(materialized='incremental', partition_by='order_date') }}
select o.order_id, o.customer_id, o.amount * 2 as amount, o.order_date, c.region
from {{ ref('stg_orders') }} o join {{ ref('customers') }} c on c.id = o.customer_id
where o.order_date = '{{ ds }}'
`,
    });
    const text = await statusIn(dir, { clock });
    expect(text.stdout).toMatch(/fct_orders\s+incremental\s+modified 2024-01-01…2024-01-05 \(its SQL changed: its file, a macro or a var\)\n/);
    expect(text.stdout).toMatch(/daily_totals\s+incremental\s+stale 2024-01-01…2024-01-05 \(fct_orders changed\)\n/);
    expect(await missingAgrees(dir)).toEqual([...FIVE.map((d) => `daily_totals@${d}`), ...FIVE.map((d) => `fct_orders@${d}`), 'customer_totals@2024-01-05'].sort());
    expect(await queryRows(warehouseOf(dir), 'SELECT sum(amount)::INTEGER AS a FROM daily_totals')).toEqual([{ a: 126 }]);
  });

  it('after a table kept by date is dropped by hand: every date it was built for is dropped, not never built', async () => {
    const dir = await builtVersionsProject();
    await execOn(warehouseOf(dir), 'DROP TABLE main.fct_orders');
    const { nodes } = await statusOf(dir);
    expect(nodes.get('fct_orders')!.intervals!.map((u) => `${u.interval} ${u.state}`)).toEqual(FIVE.map((d) => `${d} dropped`));
    const text = await statusIn(dir, { clock, select: ['fct_orders'] });
    expect(text.stdout).toMatch(/fct_orders\s+incremental\s+dropped 2024-01-01…2024-01-05 \(its relation is gone\)\n/);
  });

  it('after a seed edit: the seed modified, what reads it stale with the seed as the reason', async () => {
    const dir = await builtVersionsProject();
    writeProjectFiles(dir, { 'seeds/customers.csv': CUSTOMERS.replace('2,Bob,south', '2,Bob,west') });
    const { nodes } = await statusOf(dir);
    expect(nodes.get('customers')).toMatchObject({ state: 'modified', reason: 'its file or config changed' });
    expect(nodes.get('region_names')).toMatchObject({ state: 'stale', reason: 'customers changed' });
    expect(nodes.get('fct_orders')!.intervals!.every((u) => u.state === 'stale' && u.reason === 'customers changed')).toBe(true);
    expect(nodes.get('stg_orders')).toMatchObject({ state: 'current' });
    expect(await missingAgrees(dir)).toEqual(['customers', 'customer_totals@2024-01-05', 'region_names@2024-01-05', ...FIVE.map((d) => `daily_totals@${d}`), ...FIVE.map((d) => `fct_orders@${d}`)].sort());
  });

  it('after a model that always runs: what reads it runs again after it, said so, not as changed until it is rebuilt alone', async () => {
    const dir = await builtVersionsProject();
    writeProjectFiles(dir, {
      'models/dice.sql': "{{ config(materialized='table') }}\nselect 1 as id, random() as r",
      'models/dice_ids.sql': "{{ config(materialized='table') }}\nselect id from {{ ref('dice') }}",
      'models/dice_count.sql': "{{ config(materialized='table') }}\nselect count(*) as n from {{ ref('dice_ids') }}",
      // Through a view, which a plan puts before the tables: judged after what it reads all the same.
      'models/dice_view.sql': "{{ config(materialized='view') }}\nselect id from {{ ref('dice') }}",
      'models/dice_viewed.sql': "{{ config(materialized='table') }}\nselect count(*) as n from {{ ref('dice_view') }}",
    });
    const built = await runIn(dir, { date: '2024-01-05', select: ['dice+'] });
    expect(built.code, explain(built)).toBe(0);
    const after = (await statusOf(dir)).nodes;
    expect(after.get('dice')).toMatchObject({ state: 'untracked' });
    for (const n of ['dice_ids', 'dice_count', 'dice_view', 'dice_viewed']) expect(after.get(n), n).toMatchObject({ state: 'stale', reason: 'runs again after dice, which always runs' });
    // Rebuilt alone, it changed: what was built from the build before reads another table now.
    expect((await runIn(dir, { date: '2024-01-05', select: ['dice'] })).code).toBe(0);
    expect((await statusOf(dir)).nodes.get('dice_ids')).toMatchObject({ state: 'stale', reason: 'dice changed' });
  });

  it('a warehouse another process holds is refused as pipe show refuses it, naming the holder', async () => {
    const dir = await builtVersionsProject();
    const held = await holdWarehouse(warehouseOf(dir));
    try {
      const [st, sh] = [await statusIn(dir, { clock }), await showIn(dir, { model: 'customer_totals' })];
      expect(st.code).toBe(EXIT.badInput);
      expect(sh.code).toBe(EXIT.badInput);
      expect(diagnosticsOf(st.events).map((d) => d.code)).toEqual(['warehouse-locked']);
      expect(diagnosticsOf(sh.events).map((d) => d.code)).toEqual(['warehouse-locked']);
      expect(diagnosticsOf(st.events)[0].message).toContain(String(held.pid));
      // pipe compile compiles without it, and does not claim that what it could not read is unbuilt.
      const compiled = await compileIn(dir, { date: '2024-01-05', select: ['customer_totals'] });
      expect(compiled.code, compiled.stderr).toBe(0);
      expect(diagnosticsOf(compiled.events).map((d) => d.code)).toEqual(['warehouse-locked']);
      expect(compiled.models.map((m) => m.model)).toEqual(['customer_totals']);
    } finally {
      await held.release();
    }
  });

  it('refuses --missing with --force, state: where the warehouse is not judged, and half a range', async () => {
    const dir = versionsProject();
    const both = await backfillMissingIn(dir, { ...DATES, force: true });
    expect(both.code).toBe(EXIT.badInput);
    expect(diagnosticsOf(both.events)[0].message).toBe('--missing builds only what is not current, and --force builds everything selected: pass one');
    const fresh = await freshnessIn(dir, { select: ['state:modified'] });
    expect(fresh.code).toBe(EXIT.badInput);
    expect(diagnosticsOf(fresh.events)[0].code).toBe('state-needs-warehouse');
    const half = await statusIn(dir, { clock, start: '2024-01-01' });
    expect(half.code).toBe(EXIT.badInput);
    expect(diagnosticsOf(half.events)[0].message).toContain('--start needs --end');
    // No save can fix watch's command line: it ends, exit 2, rather than watching on.
    const watching = await cliIn(['watch', '--project', dir, '--select', 'state:modified']);
    expect(watching.code).toBe(EXIT.badInput);
    expect(watching.stderr).toContain('the state: method selects by what the warehouse records');
    expect(watching.stderr + watching.stdout).not.toContain('watching goes on');
  });
});
