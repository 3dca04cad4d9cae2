import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyExample, eventsOfType, queryRows, removeTempDirs, snapshotTables, taskIdsOf, tempDir, writeProjectFiles } from '../e2e/helpers.js';
import { backfillIn, backfillMissingIn, dryRunIn, historyIn, retryIn, runIn } from '../support/in-process.js';
import { backfillDryRun } from '../../src/commands/backfill.js';
import { extensionAvailable } from '../support/extensions.js';
import { cliIn } from '../support/cli-in-process.js';

afterAll(removeTempDirs);

const httpfs = await extensionAvailable('httpfs');

/** pipe backfill and retry, in-process. Interrupting a backfill's process: test/e2e/backfill.test.ts. */

const EXAMPLE_TABLES = ['fct_orders', 'daily_revenue', 'dim_customers'];

describe('pipe backfill', () => {
  it('takes --start and --end with spaces around them as the dates, and records and shows them so', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, { 'pipe.yaml': 'name: shop\n', 'models/d.sql': "{{ config(materialized='incremental', partition_by='day') }}\nselect '{{ ds }}'::DATE as day\n" });
    const r = await cliIn(['backfill', '--project', dir, '--start', ' 2024-01-02', '--end', '2024-01-03\t']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('pipe backfill · dates 2024-01-02 → 2024-01-03 ·');
    expect((await historyIn(dir, {})).stdout).toMatch(/ {2}2024-01-02\.\.2024-01-03 {2}/);
  });

  it('gives identical tables at --parallel 1 and --parallel 4, each date exactly once', async () => {
    const a = copyExample();
    const b = copyExample();
    // Ten dates: slow start takes two to open the window to four, the rest run four at a time.
    const r1 = await backfillIn(a, { start: '2024-01-01', end: '2024-01-10', parallel: 1 });
    const r4 = await backfillIn(b, { start: '2024-01-01', end: '2024-01-10', parallel: 4 });
    expect(r1.code, r1.stderr).toBe(0);
    expect(r4.code, r4.stderr).toBe(0);
    expect(await snapshotTables(join(b, 'warehouse.duckdb'), EXAMPLE_TABLES)).toEqual(await snapshotTables(join(a, 'warehouse.duckdb'), EXAMPLE_TABLES));

    // 10 dates of each incremental model; tables once.
    const succeeded = taskIdsOf(r4.events, 'task-succeeded');
    expect(succeeded.filter((id) => id.startsWith('fct_orders@'))).toHaveLength(10);
    expect(succeeded.filter((id) => id.startsWith('daily_revenue@'))).toHaveLength(10);
    expect(succeeded.filter((id) => id.startsWith('dim_customers@'))).toEqual(['dim_customers@2024-01-10']);

    // Each date's partition holds exactly the seed's orders of that day, once.
    const perDay = await queryRows(
      join(b, 'warehouse.duckdb'),
      `SELECT f.order_date::VARCHAR AS d, count(*) AS n, (SELECT count(*) FROM raw_orders r WHERE r.ordered_at::DATE = f.order_date) AS expected
       FROM fct_orders f GROUP BY f.order_date ORDER BY 1`,
    );
    expect(perDay).toHaveLength(10);
    for (const row of perDay) expect(row.n).toBe(row.expected);
    const revenueDays = await queryRows(join(b, 'warehouse.duckdb'), 'SELECT count(*) AS n, count(DISTINCT revenue_date) AS d FROM daily_revenue');
    expect(revenueDays).toEqual([{ n: '10', d: '10' }]);

    // Parallelism grew by slow start: one date first, then more.
    const progress = eventsOfType(r4.events, 'progress');
    expect(progress[0]).toMatchObject({ parallel: 1, maxParallel: 4 });
    expect(Math.max(...progress.map((p) => p.datesInFlight as number))).toBeGreaterThan(1);
  });

  it('tells progress that never goes back while failed dates skip their downstream', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'pipe.yaml': 'name: progress\n',
      'models/flaky.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect cast(case when day(DATE '{{ ds }}') % 3 = 0 then 'x' else '1' end as int) as v, DATE '{{ ds }}' as d\n",
      'models/after_flaky.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect * from {{ ref('flaky') }} where d = '{{ ds }}'\n",
    });
    const r = await backfillIn(dir, { start: '2024-03-01', end: '2024-03-20', parallel: 4 });
    expect(r.code).toBe(1);
    const told = eventsOfType(r.events, 'progress').map((p) => ({ done: p.datesDone as number, failed: p.datesFailed as number }));
    for (let i = 1; i < told.length; i++) {
      expect(told[i].done, JSON.stringify(told)).toBeGreaterThanOrEqual(told[i - 1].done);
      expect(told[i].failed, JSON.stringify(told)).toBeGreaterThanOrEqual(told[i - 1].failed);
    }
    expect(told.at(-1)).toEqual({ done: 14, failed: 6 });
  });

  it('at --parallel 4, a reader of a date reads the upstream partition committed for it, never an empty one', async () => {
    // Two incremental readers of one incremental model: a connection that has just published a
    // date of a reader takes the next ready task into the same commit, and that task may be a
    // reader of a date whose upstream another connection committed since: it must not read the
    // warehouse as it was before that commit.
    const dir = tempDir();
    const day = (i: number) => new Date(Date.UTC(2024, 0, 1 + i)).toISOString().slice(0, 10);
    const reader = (from: string) =>
      `{{ config(materialized='incremental', partition_by='day') }}\nselect id, day from {{ ref('${from}') }}\nwhere day >= '{{ interval_start }}' and day < '{{ interval_end }}'\n`;
    writeProjectFiles(dir, {
      'pipe.yaml': 'name: readers\n',
      'seeds/events.csv': `id,day\n${Array.from({ length: 600 }, (_, i) => `${i},${day(i % 60)}`).join('\n')}\n`,
      'models/a.sql': reader('events'),
      'models/b.sql': reader('a'),
      'models/c.sql': reader('a'),
    });
    const r = await backfillIn(dir, { start: '2024-01-01', end: '2024-02-29', parallel: 4 });
    expect(r.code, r.stderr).toBe(0);
    const db = join(dir, 'warehouse.duckdb');
    for (const model of ['a', 'b', 'c']) {
      expect(await queryRows(db, `SELECT count(DISTINCT day) AS days, count(*) AS n FROM ${model}`), model).toEqual([{ days: '60', n: '600' }]);
    }
  });

  it("a first build's later dates render with is_incremental() true, after the date that creates the table", async () => {
    // A running total: each date adds its day to the one before, read from its own table.
    const dir = tempDir();
    const cumulative = `{{ config(materialized='incremental', partition_by='d', depends_on_past=true) }}
select '{{ ds }}'::DATE as d, (select coalesce(sum(v), 0) from {{ ref('ev') }} where d = '{{ ds }}')
{% if is_incremental() %} + coalesce((select c from {{ this }} where d = '{{ prev_ds }}'), 0){% endif %} as c`;
    // What does not ask is_incremental() still runs its dates side by side.
    const plain = "{{ config(materialized='incremental', partition_by='d') }}\nselect d, v from {{ ref('ev') }} where d = '{{ ds }}'";
    writeProjectFiles(dir, {
      'pipe.yaml': 'name: totals\n',
      'seeds/ev.csv': 'id,d,v\n1,2024-01-01,10\n2,2024-01-01,20\n3,2024-01-02,30\n4,2024-01-02,40\n5,2024-01-03,50\n6,2024-01-04,60\n',
      'models/cum.sql': cumulative,
      'models/plain.sql': plain,
    });
    const plan = await backfillDryRun({ project: dir, start: '2024-01-01', end: '2024-01-04', emit: () => undefined });
    const task = (id: string) => plan.tasks.find((t) => t.id === id)!;
    expect(task('cum@2024-01-01').sql).not.toContain('"main"."cum"');
    expect(task('cum@2024-01-03').sql).toContain('"main"."cum"');
    expect(task('cum@2024-01-03').upstream).toContain('cum@2024-01-02');
    expect(task('plain@2024-01-03').upstream).not.toContain('plain@2024-01-01');
    const r = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-04', parallel: 2 });
    expect(r.code, r.stderr).toBe(0);
    expect(await queryRows(join(dir, 'warehouse.duckdb'), 'SELECT d::VARCHAR AS d, c::INTEGER AS c FROM cum ORDER BY d')).toEqual([
      { d: '2024-01-01', c: 30 },
      { d: '2024-01-02', c: 100 },
      { d: '2024-01-03', c: 150 },
      { d: '2024-01-04', c: 210 },
    ]);
  });

  it('runs the dates of a model whose query reads its own table in order, its table already there, at any --parallel', async () => {
    // A running total with no depends_on_past: each date reads the dates before it from its own table.
    const dir = tempDir();
    writeProjectFiles(dir, {
      'pipe.yaml': 'name: totals\n',
      'models/acc.sql': `{{ config(materialized='incremental', partition_by='d') }}
select '{{ ds }}'::DATE as d,
{% if is_incremental() %} coalesce((select max(total) from {{ this }} where d < '{{ ds }}'::DATE), 0) + 1 {% else %} 1 {% endif %} as total`,
    });
    expect((await runIn(dir, { date: '2024-01-01' })).code).toBe(0);
    const plan = await backfillDryRun({ project: dir, start: '2024-01-02', end: '2024-01-06', emit: () => undefined });
    for (const d of ['03', '04', '05', '06']) expect(plan.tasks.find((t) => t.id === `acc@2024-01-${d}`)!.upstream).toEqual([`acc@2024-01-${String(Number(d) - 1).padStart(2, '0')}`]);
    const r = await backfillIn(dir, { start: '2024-01-02', end: '2024-01-06', parallel: 4 });
    expect(r.code, r.stderr).toBe(0);
    expect(await queryRows(join(dir, 'warehouse.duckdb'), 'SELECT total::INTEGER AS t FROM acc ORDER BY d')).toEqual([1, 2, 3, 4, 5, 6].map((t) => ({ t })));
  });

  it('--dry-run prints the plan and writes nothing', async () => {
    const dir = copyExample();
    const r = await dryRunIn(dir, { start: '2024-01-01', end: '2024-01-03' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('fct_orders@2024-01-02');
    expect(r.stdout).toMatch(/dim_customers\s+table\s+once, with ds 2024-01-03/);
    // A table waits for every date of what it reads: said as the first and last of them.
    expect(r.stdout).toMatch(/^ +\d+\. dim_customers@2024-01-03  ← stg_customers@2024-01-03, fct_orders@2024-01-01 … 2024-01-03 \(3 dates\)$/m);
    expect(existsSync(join(dir, 'warehouse.duckdb'))).toBe(false);
  });

  it('rejects a reversed range, a range of centuries and a date past 9999-12-30 before doing anything', async () => {
    const dir = copyExample();
    const r = await backfillIn(dir, { start: '2024-02-01', end: '2024-01-01' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--start 2024-02-01 is after --end 2024-01-01');
    const long = await backfillIn(dir, { start: '1900-01-01', end: '9024-01-01', dryRun: true });
    expect(long.code).toBe(2);
    expect(long.stderr).toContain('--start 1900-01-01 --end 9024-01-01 is 2,601,988 dates: a backfill covers at most 36,600 dates');
    const last = await backfillIn(dir, { start: '9999-12-30', end: '9999-12-31' });
    expect(last.code).toBe(2);
    expect(last.stderr).toContain("invalid --end '9999-12-31': expected a calendar date as YYYY-MM-DD, from 0100-01-01 to 9999-12-30");
    expect(existsSync(join(dir, 'warehouse.duckdb'))).toBe(false);
  });

  it('runs a depends_on_past date only after its previous date succeeded', async () => {
    const dir = copyExample();
    writeProjectFiles(dir, {
      'models/marts/running_total.sql': `{{ config(materialized='incremental', partition_by='revenue_date', depends_on_past=true) }}
select revenue_date, revenue from {{ ref('daily_revenue') }} where revenue_date = '{{ ds }}'`,
    });
    const r = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-08', parallel: 4 });
    expect(r.code, r.stderr).toBe(0);
    const position = (type: string, id: string) =>
      r.events.findIndex((e) => e.type === type && (e.task as { id?: string } | undefined)?.id === id);
    for (let day = 2; day <= 8; day++) {
      const d = `2024-01-${String(day).padStart(2, '0')}`;
      const prev = `2024-01-${String(day - 1).padStart(2, '0')}`;
      const startedAt = position('task-started', `running_total@${d}`);
      const previousDone = position('task-succeeded', `running_total@${prev}`);
      expect(previousDone).toBeGreaterThanOrEqual(0);
      expect(startedAt).toBeGreaterThan(previousDone);
    }
    // Other models did run dates out of order (the backfill was parallel).
    const fctStarts = r.events.filter((e) => e.type === 'task-started' && (e.task as { model: string }).model === 'fct_orders');
    expect(fctStarts.length).toBe(8);
  });

  it("skips a depends_on_past model's first date when the date before the range failed or was never built, as pipe run does", async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'pipe.yaml': 'name: past\n',
      'models/m.sql': "{{ config(materialized='incremental', partition_by='d', depends_on_past=true) }}\nselect '{{ ds }}'::DATE as d, case when '{{ ds }}' = '{{ var(\"bad\", \"\") }}' then error('boom') else 1 end as v\n",
    });
    expect((await runIn(dir, { date: '2024-01-01' })).code).toBe(0);
    expect((await runIn(dir, { date: '2024-01-02', vars: { bad: '2024-01-02' } })).code).toBe(1);
    const days = async () => (await queryRows(join(dir, 'warehouse.duckdb'), 'SELECT d::VARCHAR AS d FROM m ORDER BY d')).map((r) => r.d);
    const skipped = (r: { events: readonly Record<string, unknown>[] }) =>
      r.events.flatMap((e) => (e.type === 'task-skipped' ? [`${(e.task as { id: string }).id}:${String(e.reason)}`] : []));

    // 2024-01-02 failed: the range's first date is skipped, and the date after it with it.
    const failed = await backfillIn(dir, { start: '2024-01-03', end: '2024-01-04' });
    expect(failed.code).toBe(1);
    expect(skipped(failed)).toEqual(['m@2024-01-03:depends-on-past', 'm@2024-01-04:upstream-failed']);
    expect(failed.stdout + failed.stderr).toContain('m for 2024-01-02 has not succeeded');
    // 2024-01-09 was never built.
    const never = await backfillIn(dir, { start: '2024-01-10', end: '2024-01-10' });
    expect(skipped(never)).toEqual(['m@2024-01-10:depends-on-past']);
    expect(await days()).toEqual(['2024-01-01']);

    // A range that starts after a date that succeeded runs; so does one that asks to ignore the past.
    expect((await backfillIn(dir, { start: '2024-01-02', end: '2024-01-03' })).code).toBe(0);
    expect((await backfillIn(dir, { start: '2024-01-10', end: '2024-01-10', ignoreDependenciesOnPast: true })).code).toBe(0);
    expect(await days()).toEqual(['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-10']);
  });

  it('a depends_on_past model rebuilds its first date, and dates before it, as it built them first: nothing before them was ever built', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'pipe.yaml': 'name: past\n',
      'models/m.sql': "{{ config(materialized='incremental', partition_by='d', depends_on_past=true) }}\nselect '{{ ds }}'::DATE as d, 1 as v\n",
    });
    expect((await backfillIn(dir, { start: '2024-01-01', end: '2024-01-03' })).code).toBe(0);
    const again = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-03', force: true });
    expect(again.code, again.stdout).toBe(0);
    expect(taskIdsOf(again.events, 'task-succeeded').sort()).toEqual(['m@2024-01-01', 'm@2024-01-02', 'm@2024-01-03']);
    expect((await runIn(dir, { date: '2024-01-01', force: true })).code).toBe(0);
    expect((await runIn(dir, { date: '2023-12-31' })).code).toBe(0);
    // A gap is not a first date: the date after one that never succeeded still waits.
    const gap = await runIn(dir, { date: '2024-01-05' });
    expect(gap.code).toBe(1);
    expect(gap.stdout + gap.stderr).toContain('m for 2024-01-04 has not succeeded');
    // The gap is longer than a day: the command said builds all of it, as printed.
    expect(gap.stdout + gap.stderr).toContain('build it first (pipe backfill --select m --start 2023-12-31 --end 2024-01-04 --missing)');
    expect((await backfillMissingIn(dir, { start: '2023-12-31', end: '2024-01-04', select: ['m'] })).code).toBe(0);
    expect((await runIn(dir, { date: '2024-01-05' })).code).toBe(0);
  });

  it("builds every date where a date's model reads a table built once, after every date of what it reads, at --parallel 1 and 3", async () => {
    for (const parallel of [1, 3]) {
      const dir = tempDir();
      writeProjectFiles(dir, {
        'pipe.yaml': 'name: chain\n',
        'models/a.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect '{{ ds }}'::date as d, 1 as v\n",
        'models/t.sql': "select count(*)::INTEGER as n from {{ ref('a') }}\n",
        'models/b.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect '{{ ds }}'::date as d, n from {{ ref('t') }}\n",
      });
      const r = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-03', parallel });
      expect(r.code, r.stdout).toBe(0);
      expect(taskIdsOf(r.events, 'task-succeeded')).toHaveLength(7);
      expect(await queryRows(join(dir, 'warehouse.duckdb'), 'SELECT d::VARCHAR AS d, n FROM b ORDER BY d')).toEqual([
        { d: '2024-01-01', n: 3 },
        { d: '2024-01-02', n: 3 },
        { d: '2024-01-03', n: 3 },
      ]);
    }
  });

  it("pipe retry of a run whose selection names a model deleted since says it is the run's selection", async () => {
    const dir = copyExample();
    const flaky = `{{ config(materialized='incremental', partition_by='revenue_date') }}
select revenue_date, {% if ds == '2024-01-02' %}'not a number'::INTEGER{% else %}orders{% endif %} as orders
from {{ ref('daily_revenue') }} where revenue_date = '{{ ds }}'`;
    writeProjectFiles(dir, { 'models/marts/order_counts.sql': flaky });
    const bad = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-02', select: ['+order_counts'] });
    expect(bad.code).toBe(1);
    const runId = /pipe retry (\S+)/.exec(bad.stdout)?.[1];
    rmSync(join(dir, 'models/marts/order_counts.sql'));
    const r = await retryIn(dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`run ${runId} was selected with --select +order_counts, which pipe retry selects again: selector '+order_counts': no model, seed or test named 'order_counts'`);
    expect(r.stderr).toContain('the project no longer has it');
  });

  it('reports every failed date, grouped by error, and pipe retry completes it identically', async () => {
    const broken = copyExample();
    const clean = copyExample();
    const flaky = `{{ config(materialized='incremental', partition_by='revenue_date') }}
select revenue_date, {% if ds in var('bad_dates', '') %}'not a number'::INTEGER{% else %}orders{% endif %} as orders
from {{ ref('daily_revenue') }} where revenue_date = '{{ ds }}'`;
    writeProjectFiles(broken, { 'models/marts/order_counts.sql': flaky });
    writeProjectFiles(clean, { 'models/marts/order_counts.sql': flaky });

    const bad = await backfillIn(broken, { start: '2024-01-01', end: '2024-01-08', parallel: 2, vars: { bad_dates: '2024-01-03,2024-01-05,2024-01-07' } });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/Failures \(3, 1 distinct error\)/);
    for (const d of ['2024-01-03', '2024-01-05', '2024-01-07']) expect(bad.stdout).toContain(`order_counts ${d}`);
    const runId = /pipe retry (\S+)/.exec(bad.stdout)?.[1];
    expect(runId).toBeDefined();

    // The same error again on retry: vars are those of the original run.
    const again = await retryIn(broken);
    expect(again.code).toBe(1);
    const changedNotices = (r: { events: { type: string; message?: unknown }[] }) => eventsOfType(r.events, 'notice').filter((e) => String(e.message).startsWith('changed since'));
    expect(changedNotices(again)).toEqual([]);
    expect(taskIdsOf(again.events, 'task-failed').sort()).toEqual([
      'order_counts@2024-01-03', 'order_counts@2024-01-05', 'order_counts@2024-01-07',
    ]);

    // Fix the model, retry: only the failed dates run, and the result equals a clean backfill.
    writeProjectFiles(broken, { 'models/marts/order_counts.sql': flaky.replace("'not a number'::INTEGER", 'orders') });
    const fixed = await retryIn(broken);
    expect(fixed.code, fixed.stderr + fixed.stdout).toBe(0);
    // The fix is said: the retry builds the model as it is now, the other dates keep the run's.
    expect(changedNotices(fixed).map((e) => e.message)).toEqual([
      expect.stringMatching(/^changed since run \S+ planned them, and retried as they are now: order_counts; the dates that run built keep that run's version/),
    ]);
    expect(taskIdsOf(fixed.events, 'task-succeeded').sort()).toEqual([
      'order_counts@2024-01-03', 'order_counts@2024-01-05', 'order_counts@2024-01-07',
    ]);
    const noop = await retryIn(broken);
    expect(noop.code).toBe(0);
    expect(noop.stdout).toContain('nothing to retry');

    const ok = await backfillIn(clean, { start: '2024-01-01', end: '2024-01-08', parallel: 2 });
    expect(ok.code, ok.stderr).toBe(0);
    const tables = [...EXAMPLE_TABLES, 'order_counts'];
    expect(await snapshotTables(join(broken, 'warehouse.duckdb'), tables)).toEqual(await snapshotTables(join(clean, 'warehouse.duckdb'), tables));

    const history = await historyIn(broken, { json: true });
    const runs = history.events.filter((e) => e.type === 'run');
    const original = runs.find((r) => r.run_id === runId)!;
    // Retried twice (the second retry retried the first): the history shows the family's last run.
    const lastRetry = eventsOfType(fixed.events, 'run-started')[0].runId;
    expect(original).toMatchObject({ command: 'backfill', status: 'failed', failed: 3, retried_by: lastRetry, retry_status: 'succeeded' });
    const text = (await historyIn(broken)).stdout;
    expect(text.split('\n').find((l) => l.startsWith(runId!))).toContain('failed, retried (succeeded)');
    expect((original.params as { start: string }).start).toBe('2024-01-01');
    expect(runs.filter((r) => r.command === 'retry').every((r) => r.parent_run_id !== null)).toBe(true);
  });

  it('pipe retry of a model made a table since its failed date rebuilds it as it is now, said, rather than retrying nothing', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'pipe.yaml': 'name: remade\n',
      'models/x.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect '{{ ds }}'::date as d, {% if ds == '2024-01-03' %}error('bad'){% else %}1{% endif %} as v\n",
    });
    expect((await backfillIn(dir, { start: '2024-01-01', end: '2024-01-04' })).code).toBe(1);
    writeProjectFiles(dir, { 'models/x.sql': "{{ config(materialized='table') }}\nselect '{{ ds }}'::date as d, 1 as v\n" });
    const r = await retryIn(dir);
    expect(r.code, r.stdout).toBe(0);
    expect(eventsOfType(r.events, 'notice').map((e) => String(e.message))).toEqual([
      expect.stringMatching(/^built another way since run \S+ planned them, and retried as they are now: x \(x@2024-01-04\)$/),
    ]);
    expect(taskIdsOf(r.events, 'task-succeeded')).toEqual(['x@2024-01-04']);
    expect(await queryRows(join(dir, 'warehouse.duckdb'), 'SELECT d::VARCHAR AS d, v FROM x')).toEqual([{ d: '2024-01-04', v: 1 }]);
  });

  it('--max-failures stops starting tasks and leaves the rest for pipe retry', async () => {
    const dir = copyExample();
    writeProjectFiles(dir, {
      'models/marts/always_fails.sql': `{{ config(materialized='incremental', partition_by='d') }}
select '{{ ds }}'::DATE as d, 'x'::INTEGER as v`,
    });
    const r = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-10', maxFailures: 2 });
    expect(r.code).toBe(1);
    const failed = eventsOfType(r.events, 'task-failed');
    expect(failed.length).toBeGreaterThanOrEqual(2);
    expect(failed.length).toBeLessThan(10);
    const finished = eventsOfType(r.events, 'run-finished')[0];
    expect(finished.pending as number).toBeGreaterThan(0);
  });
});

/** A clock fixed at an instant, as PIPE_NOW fixes the binary's. */
const at = (iso: string) => ({ now: () => Date.parse(iso) });

describe('an hourly pipeline', () => {
  const hourly = {
    'pipelines/hourly.yaml': 'select: [clicks]\nschedule: "5 * * * *"\ninterval: hourly\n',
    'models/clicks.sql': `{{ config(materialized='incremental', partition_by='ts') }}
select i as id, timestamp '{{ interval_start }}' + interval (i) minute as ts, '{{ hour }}' as h
from range(3) t(i)
`,
  };

  it('pipe run of the pipeline with no --date builds the previous full hour (UTC)', async () => {
    const dir = copyExample();
    writeProjectFiles(dir, hourly);
    const text = await runIn(dir, { pipeline: 'hourly', clock: at('2024-01-02T05:30:00Z') });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout.split('\n')[0]).toContain('2024-01-02T04 (the previous hour, the default)');
    const r = await runIn(dir, { pipeline: 'hourly', clock: at('2024-01-02T06:00:00Z') });
    expect(taskIdsOf(r.events, 'task-succeeded')).toEqual(['clicks@2024-01-02T05']);
    const rows = await queryRows(join(dir, 'warehouse.duckdb'), "SELECT strftime(ts, '%Y-%m-%dT%H') AS hour, count(*)::INTEGER AS n FROM clicks GROUP BY ALL ORDER BY 1");
    expect(rows).toEqual([{ hour: '2024-01-02T04', n: 3 }, { hour: '2024-01-02T05', n: 3 }]);
    // pipe history tells the two runs apart by their hour.
    const history = await historyIn(dir);
    expect(history.stdout).toMatch(/run hourly\s+succeeded\s+\S+ \S+\s+\S+\s+2024-01-02T05 /);
    expect(history.stdout).toMatch(/run hourly\s+succeeded\s+\S+ \S+\s+\S+\s+2024-01-02T04 /);
    // --hour without --date: an hour of yesterday, the date alone the default.
    const third = await runIn(dir, { pipeline: 'hourly', hour: 3, clock: at('2024-01-02T05:30:00Z') });
    expect(third.stdout.split('\n')[0]).toContain('2024-01-01T03 (an hour of yesterday, the default date)');
  });

  it("a run of the whole day refuses a model that uses hour, at its line, and leaves the day's hours as they are", async () => {
    const dir = tempDir();
    writeProjectFiles(dir, { 'pipe.yaml': 'name: hours\n', ...hourly });
    for (const hour of [4, 5]) expect((await runIn(dir, { pipeline: 'hourly', date: '2024-01-02', hour })).code).toBe(0);
    const day = await runIn(dir, { pipeline: 'hourly', date: '2024-01-02' });
    expect(day.code).toBe(2);
    expect(day.stderr).toContain("models/clicks.sql:2:80: error: 'hour' is undefined (or null) in template output");
    expect(day.stderr).toContain('hour is set only when a run covers one hour');
    const rows = await queryRows(join(dir, 'warehouse.duckdb'), "SELECT strftime(ts, '%Y-%m-%dT%H') AS hour, count(*)::INTEGER AS n FROM clicks GROUP BY ALL ORDER BY 1");
    expect(rows).toEqual([{ hour: '2024-01-02T04', n: 3 }, { hour: '2024-01-02T05', n: 3 }]);
  });

  it('is backfilled hour by hour, each hour exactly once, and pipe retry re-runs the same hours', async () => {
    const dir = copyExample();
    writeProjectFiles(dir, hourly);
    const plan = await dryRunIn(dir, { pipeline: 'hourly', start: '2024-01-01', end: '2024-01-02' });
    expect(plan.stdout).toContain('48 tasks, 48 hours of incremental models');
    expect(plan.stdout).toContain('clicks@2024-01-01T00');
    expect(plan.stdout).toContain('clicks@2024-01-02T23');

    // Hour 13 of the second day fails once: the retry must re-run that hour only.
    writeProjectFiles(dir, {
      'models/clicks.sql': hourly['models/clicks.sql'].replace(
        'from range(3) t(i)',
        "from range(3) t(i)\nwhere error(CASE WHEN '{{ ds }}T{{ hour }}' = '2024-01-02T13' THEN 'broken hour' END) IS NULL",
      ),
    });
    const r = await backfillIn(dir, { pipeline: 'hourly', start: '2024-01-01', end: '2024-01-02', parallel: 4 });
    expect(r.code, r.stderr).toBe(1);
    expect(taskIdsOf(r.events, 'task-failed')).toEqual(['clicks@2024-01-02T13']);
    expect(taskIdsOf(r.events, 'task-succeeded')).toHaveLength(47);

    writeProjectFiles(dir, hourly);
    const retried = await retryIn(dir);
    expect(retried.code, retried.stderr).toBe(0);
    expect(taskIdsOf(retried.events, 'task-succeeded')).toEqual(['clicks@2024-01-02T13']);

    const rows = await queryRows(
      join(dir, 'warehouse.duckdb'),
      "SELECT strftime(ts, '%Y-%m-%dT%H') AS hour, count(*)::INTEGER AS n, count(DISTINCT h)::INTEGER AS labels FROM clicks GROUP BY ALL ORDER BY 1",
    );
    expect(rows).toHaveLength(48);
    expect(rows.every((row) => row.n === 3 && row.labels === 1)).toBe(true);
    expect(rows[0].hour).toBe('2024-01-01T00');
    expect(rows[47].hour).toBe('2024-01-02T23');
  });
});

describe('retries', () => {
  it.runIf(httpfs)('retries a transient error (HTTP 503) and succeeds; attempts are recorded', async () => {
    // A landing endpoint on the loopback address: busy (503) until the first retry is announced.
    let ready = false;
    const server = http.createServer((req, res) => {
      const body = ready ? 'id\n1\n2\n' : 'busy';
      res.writeHead(ready ? 200 : 503, { 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const dir = copyExample();
    writeProjectFiles(dir, {
      'models/marts/landed.sql': `{{ config(materialized='table', retries=3, retry_delay='50ms') }}
select * from read_csv('http://127.0.0.1:${(server.address() as AddressInfo).port}/landing.csv')`,
    });
    const r = await runIn(dir, {
      date: '2024-01-02',
      select: ['landed'],
      onEvent: (e) => {
        if (e.type === 'task-retrying') ready = true;
      },
    });
    server.close();
    expect(r.code, r.stderr).toBe(0);
    const retrying = eventsOfType(r.events, 'task-retrying');
    expect(retrying.length).toBeGreaterThanOrEqual(1);
    expect((retrying[0].error as { errorClass: string }).errorClass).toBe('transient');
    const ok = eventsOfType(r.events, 'task-succeeded').find((e) => (e.task as { id: string }).id === 'landed@2024-01-02')!;
    expect(ok.rows).toBe(2);
    expect(ok.attempts as number).toBeGreaterThan(1);
    const runId = eventsOfType(r.events, 'run-started')[0].runId as string;
    const attempts = await queryRows(
      join(dir, 'warehouse.duckdb'),
      `SELECT attempt, status, error IS NOT NULL AS has_error, ended_at >= started_at AS timed
       FROM _pipe.task_results WHERE run_id = '${runId}' AND task_id = 'landed@2024-01-02' ORDER BY attempt`,
    );
    expect(attempts.at(-1)).toMatchObject({ status: 'succeeded', has_error: false, timed: true });
    expect(attempts.slice(0, -1).every((a) => a.status === 'failed' && a.has_error === true)).toBe(true);
    // pipe history RUN_ID says how many attempts the task took.
    const shown = (await historyIn(dir, { runId })).stdout.split('\n');
    const header = shown.find((l) => l.startsWith('TASK'))!;
    const row = shown.find((l) => l.startsWith('landed@2024-01-02'))!;
    expect(row.slice(header.indexOf('ATTEMPTS')).split(/\s+/)[0]).toBe(String(attempts.length));
    // The last column holds an error or a note (an up-to-date task's why): it is not headed ERROR.
    expect(header.trim().split(/\s+/).at(-1)).toBe('DETAIL');
  });

  it('never retries a permanent error, whatever the setting', async () => {
    const dir = copyExample();
    writeProjectFiles(dir, {
      'models/marts/bad_cast.sql': `{{ config(materialized='table', retries=5, retry_delay='1s') }}
select 'abc'::INTEGER as n`,
    });
    const r = await runIn(dir, { date: '2024-01-02', select: ['bad_cast'] });
    expect(r.code).toBe(1);
    expect(eventsOfType(r.events, 'task-retrying')).toHaveLength(0);
    const failed = eventsOfType(r.events, 'task-failed')[0];
    expect(failed).toMatchObject({ attempts: 1, error: { kind: 'Conversion', errorClass: 'permanent' } });
    const rows = await queryRows(join(dir, 'warehouse.duckdb'), `SELECT count(*) AS n FROM _pipe.task_results WHERE task_id = 'bad_cast@2024-01-02'`);
    expect(rows).toEqual([{ n: '1' }]);
  });

  it.runIf(httpfs)('a backfill does not retry a transient error unless --retries is given', async () => {
    // Always busy: a transient error that a retry could cure.
    const server = http.createServer((req, res) => {
      res.writeHead(503, { 'content-length': 4 });
      res.end(req.method === 'HEAD' ? undefined : 'busy');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const dir = copyExample();
    writeProjectFiles(dir, {
      // DuckDB's own retries of an HTTP error (three, waiting up to 1.6 s) are not what is tested.
      'pipe.yaml': 'name: shop\nvars:\n  currency: EUR\nsettings:\n  http_retries: 0\n',
      'models/marts/landed.sql': `{{ config(materialized='incremental', partition_by='d', retries=3, retry_delay='1s') }}
select '{{ ds }}'::DATE as d, count(*) as n from read_csv('http://127.0.0.1:${(server.address() as AddressInfo).port}/landing.csv')`,
    });
    const r = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-02', select: ['landed'] });
    server.close();
    expect(r.code).toBe(1);
    expect(eventsOfType(r.events, 'task-retrying')).toHaveLength(0);
    const failed = eventsOfType(r.events, 'task-failed');
    expect(failed).toHaveLength(2);
    expect(failed.map((e) => (e.error as { errorClass: string }).errorClass)).toEqual(['transient', 'transient']);

    // Retried (--retries): each retry's error names the model's file and line, as the failure does.
    const server2 = http.createServer((req, res) => {
      res.writeHead(503, { 'content-length': 4 });
      res.end(req.method === 'HEAD' ? undefined : 'busy');
    });
    await new Promise<void>((r) => server2.listen(0, '127.0.0.1', r));
    writeProjectFiles(dir, {
      'models/marts/landed.sql': `{{ config(materialized='incremental', partition_by='d', retries=1, retry_delay='50ms') }}
select '{{ ds }}'::DATE as d,
  count(*) as n from read_csv('http://127.0.0.1:${(server2.address() as AddressInfo).port}/landing.csv')`,
    });
    const retried = await runIn(dir, { date: '2024-01-02', select: ['landed'] });
    server2.close();
    const retrying = eventsOfType(retried.events, 'task-retrying');
    expect(retrying).toHaveLength(1);
    expect((retrying[0].error as { message: string }).message).toContain('models/marts/landed.sql:3:');
    expect((retrying[0].error as { message: string }).message).not.toContain('LINE ');
  });
});
