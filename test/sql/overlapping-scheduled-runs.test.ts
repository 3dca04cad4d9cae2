import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { constants, open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PipeEvent } from '../../src/events/events.js';
import { schedule } from '../../src/schedule/scheduler.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';
import { retry } from '../../src/commands/retry.js';

afterAll(removeProjects);

/**
 * Runs that overlap in one process: a scheduler catching up ten intervals three at a time
 * publishes every table and view it shares between them in one engine. However the runs
 * interleave, a table ends with the newest interval's result (an older run finishing last
 * leaves it alone, as superseded), every partition is there once, and no conflict between
 * the runs reaches the user. Each repetition is the same case, interleaved as it happens to be:
 * one per run; PIPE_STRESS=20 repeats it twenty times.
 */

const FILES = {
  'pipelines/nightly.yaml': 'schedule: "0 2 * * *"\ntimezone: UTC\ncatchup: true\nmax_catchup: 10\nmax_active_runs: 3\n',
  'models/latest.sql': "select '{{ ds }}' as ds, count(*) as n from range(20000) t(i)\n",
  'models/latest_view.sql': "{{ config(materialized='view') }}\nselect ds from {{ ref('latest') }}\n",
  'models/daily.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect date '{{ ds }}' as d, (select ds from {{ ref('latest') }}) as latest_then\n",
};

const at = (iso: string) => ({ now: () => Date.parse(iso) });

describe('a scheduler catching up with max_active_runs: 3', () => {
  const repetitions = Number(process.env.PIPE_STRESS ?? 1);
  it(`ends with the newest interval in every table and every partition once (${repetitions} repetitions)`, async () => {
    for (let r = 0; r < repetitions; r++) {
      const dir = tempProject(FILES, 'pipe-overlap-');
      const quiet = (events: PipeEvent[]) => (e: PipeEvent) => events.push(e);
      const first: PipeEvent[] = [];
      await schedule({ project: dir, once: true, clock: at('2024-01-02T03:00:00Z'), emit: quiet(first), signal: new AbortController().signal });
      const events: PipeEvent[] = [];
      const result = await schedule({ project: dir, once: true, clock: at('2024-01-12T03:00:00Z'), emit: quiet(events), signal: new AbortController().signal });
      const starts = events.flatMap((e) => (e.type === 'notice' && e.message.includes('starting') ? [e.message] : []));
      expect(result, starts.join('\n')).toEqual({ runs: 10, failed: 0 });
      const problems = events.filter((e) => e.type === 'task-failed' || e.type === 'diagnostic' || (e.type === 'notice' && /conflict/i.test(e.message)));
      expect(problems).toEqual([]);
      expect(await queryWarehouse(dir, 'select ds from latest')).toEqual([{ ds: '2024-01-11' }]);
      expect(await queryWarehouse(dir, 'select ds from latest_view')).toEqual([{ ds: '2024-01-11' }]);
      const partitions = await queryWarehouse(dir, "select strftime(d, '%Y-%m-%d') as d, count(*)::INTEGER as n from daily group by d order by d");
      expect(partitions).toEqual(Array.from({ length: 11 }, (_, i) => ({ d: `2024-01-${String(i + 1).padStart(2, '0')}`, n: 1 })));
    }
  });
});

/**
 * Holds every reader of `fifo` until `ready()` (polled, not spun), then gives each its `rows`,
 * until `running` settles: the run reading it goes on only when the test says so.
 */
async function feedWhen(fifo: string, running: Promise<unknown>, ready: () => boolean, rows: string): Promise<void> {
  let ended = false;
  void running.finally(() => (ended = true));
  while (!ended && !ready()) await sleep(20);
  while (!ended) {
    // Non-blocking: a FIFO nobody reads refuses the writer (ENXIO) instead of holding it.
    const writer = await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => undefined);
    if (writer) {
      // A reader that goes away between the open and the write (its query ended) breaks the pipe: the next turn writes again.
      await writer.writeFile(rows).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EPIPE' && e.code !== 'EAGAIN') throw e;
      });
      await writer.close();
    }
    await sleep(20);
  }
}

/**
 * Writes `models/NAME.sql` as an incremental model whose 2024-06-01 reads a FIFO (its run holds
 * until feedWhen writes to it, whatever the other runs do meanwhile), its other dates a file of
 * one row; returns the FIFO's path.
 */
function heldOn20240601(dir: string, name: string, config: string): string {
  const fifo = join(dir, 'held.fifo');
  execFileSync('mkfifo', [fifo]);
  const free = join(dir, 'free.csv');
  writeFileSync(free, 'n\n1\n');
  writeFileSync(
    join(dir, `models/${name}.sql`),
    `{{ config(${config}) }}\nselect '{{ ds }}'::DATE as d, n from read_csv({% if ds == '2024-06-01' %}'${fifo}'{% else %}'${free}'{% endif %}, header = true, columns = {'n': 'INTEGER'})\n`,
  );
  return fifo;
}

describe('a catch-up of a depends_on_past model with max_active_runs: 3', () => {
  it('runs each date once the run of the date before it has ended, not skipping it as never built', async () => {
    const dir = tempProject(
      {
        'pipelines/nightly.yaml': 'schedule: "0 2 * * *"\ntimezone: UTC\ncatchup: true\nmax_catchup: 5\nmax_active_runs: 3\n',
        // Another pipeline building the same model waits for the first one's earlier dates too.
        'pipelines/another.yaml': 'schedule: "0 2 * * *"\ntimezone: UTC\ncatchup: false\nmax_active_runs: 3\n',
        'models/fct.sql': 'select 1',
      },
      'pipe-overlap-past-',
    );
    const fifo = heldOn20240601(dir, 'fct', "materialized='incremental', partition_by='d', depends_on_past=true");
    const quiet = () => undefined;
    await schedule({ project: dir, once: true, clock: at('2024-06-01T03:00:00Z'), emit: quiet, signal: new AbortController().signal });
    const events: PipeEvent[] = [];
    const catchingUp = schedule({ project: dir, once: true, clock: at('2024-06-04T03:00:00Z'), emit: (e) => events.push(e), signal: new AbortController().signal });
    // Held until the later runs have planned (and, waiting, said so); then every reader of the FIFO is given its rows.
    const said = (label: string) => events.some((e) => e.type === 'notice' && e.message.includes(` ${label}: waits for run`)) || events.some((e) => e.type === 'task-skipped' && e.task.ds === label);
    const waitsCount = () => events.filter((e) => e.type === 'notice' && e.message.includes('waits for run')).length;
    await feedWhen(fifo, catchingUp, () => said('2024-06-02') && waitsCount() >= 3, 'n\n1\n');
    expect(await catchingUp).toEqual({ runs: 4, failed: 0 });
    expect(events.filter((e) => e.type === 'task-skipped' || e.type === 'task-failed')).toEqual([]);
    const waits = events.flatMap((e) => (e.type === 'notice' && e.message.includes('waits for run') ? [e.message.replace(/\d{8}T\d{6}-[0-9a-f]{4}/g, 'R')] : []));
    expect(waits.sort()).toEqual([
      'another 2024-06-03: waits for runs R (2024-06-01), R (2024-06-02) to end: fct depends on its past (depends_on_past)',
      'nightly 2024-06-02: waits for run R (2024-06-01) to end: fct depends on its past (depends_on_past)',
      'nightly 2024-06-03: waits for runs R (2024-06-01), R (2024-06-02) to end: fct depends on its past (depends_on_past)',
    ]);
    expect(await queryWarehouse(dir, "select strftime(d, '%m-%d') as d from fct order by d")).toEqual(['05-31', '06-01', '06-02', '06-03'].map((d) => ({ d })));
  });
});

describe('a catch-up of a model whose query reads its own table, with max_active_runs: 3', () => {
  it('runs each date once the runs of the dates before it have ended: a running total reads what they wrote', async () => {
    const dir = tempProject({ 'pipelines/nightly.yaml': 'schedule: "0 2 * * *"\ntimezone: UTC\ncatchup: true\nmax_catchup: 5\nmax_active_runs: 3\n', 'models/total.sql': 'select 1' }, 'pipe-overlap-self-');
    const fifo = heldOn20240601(dir, 'total', "materialized='incremental', partition_by='d'");
    // The running total: this date's rows, and the total of the dates before it in the table.
    const held = join(dir, 'models/total.sql');
    const query = readFileSync(held, 'utf8').replace(
      "select '{{ ds }}'::DATE as d, n from",
      "select '{{ ds }}'::DATE as d, n + {% if is_incremental() %}coalesce((select max(n) from {{ this }} where d < '{{ ds }}'::DATE), 0){% else %}0{% endif %} as n from",
    );
    writeFileSync(held, query);
    await schedule({ project: dir, once: true, clock: at('2024-06-01T03:00:00Z'), emit: () => undefined, signal: new AbortController().signal });
    const events: PipeEvent[] = [];
    const catchingUp = schedule({ project: dir, once: true, clock: at('2024-06-04T03:00:00Z'), emit: (e) => events.push(e), signal: new AbortController().signal });
    const waitsCount = () => events.filter((e) => e.type === 'notice' && e.message.includes('waits for run')).length;
    // 2024-06-01 is held until both later runs wait for it (or, not waiting, have built their dates from the table without it).
    const built = (ds: string) => events.some((e) => e.type === 'task-succeeded' && e.task.ds === ds);
    await feedWhen(fifo, catchingUp, () => waitsCount() >= 2 || (built('2024-06-02') && built('2024-06-03')), 'n\n1\n');
    expect(await catchingUp).toEqual({ runs: 3, failed: 0 });
    const waits = events.flatMap((e) => (e.type === 'notice' && e.message.includes('waits for run') ? [e.message.replace(/\d{8}T\d{6}-[0-9a-f]{4}/g, 'R')] : []));
    expect(waits.sort()).toEqual([
      'nightly 2024-06-02: waits for run R (2024-06-01) to end: total reads its own table',
      'nightly 2024-06-03: waits for runs R (2024-06-01), R (2024-06-02) to end: total reads its own table',
    ]);
    expect(await queryWarehouse(dir, "select strftime(d, '%m-%d') as d, n from total order by d")).toEqual([
      { d: '05-31', n: 1 },
      { d: '06-01', n: 2 },
      { d: '06-02', n: 3 },
      { d: '06-03', n: 4 },
    ]);
  });
});

describe('pipe retry of a catch-up run whose table a newer run built before its slow date', () => {
  it('fails the table again, saying why, rather than leave it as done without that date', async () => {
    const dir = tempProject({ 'pipelines/nightly.yaml': 'schedule: "0 2 * * *"\ntimezone: UTC\ncatchup: true\nmax_catchup: 5\nmax_active_runs: 3\n', 'models/ev.sql': 'select 1' }, 'pipe-overlap-retry-');
    const fifo = heldOn20240601(dir, 'ev', "materialized='incremental', partition_by='d'");
    // Its query reads the date: built for 2024-06-01, it is not what the newer run would build.
    writeFileSync(join(dir, 'models/agg.sql'), "select '{{ ds }}' as as_of, count(*)::INTEGER as days from {{ ref('ev') }}\n");
    await schedule({ project: dir, once: true, clock: at('2024-06-01T03:00:00Z'), emit: () => undefined, signal: new AbortController().signal });
    const events: PipeEvent[] = [];
    // Two runs at once: 2024-06-02's builds agg while 2024-06-01's date of ev is held.
    const catchingUp = schedule({ project: dir, once: true, clock: at('2024-06-03T03:00:00Z'), emit: (e) => events.push(e), signal: new AbortController().signal });
    await feedWhen(fifo, catchingUp, () => events.some((e) => e.type === 'task-succeeded' && e.task.id === 'agg@2024-06-02'), 'n\n1\n');
    expect(await catchingUp).toEqual({ runs: 2, failed: 1 });
    const failedRun = events.flatMap((e) => (e.type === 'task-failed' && e.task.id === 'agg@2024-06-01' ? [e.runId] : []))[0];
    expect(failedRun).toBeDefined();
    const again: PipeEvent[] = [];
    const outcome = await retry({ project: dir, runId: failedRun, emit: (e) => again.push(e) });
    expect('status' in outcome && outcome.status).toBe('failed');
    expect(again.filter((e) => e.type === 'task-skipped')).toEqual([]);
    expect(again.flatMap((e) => (e.type === 'task-failed' ? [e.error.message.replace(/\d{8}T\d{6}-[0-9a-f]{4}/g, 'R')] : []))).toEqual([
      "agg was published by run R for 2024-06-02 before ev was written, so that build misses it; rebuilding it for 2024-06-01 would replace it with an older interval's query: pipe run nightly --select agg --date 2024-06-02 rebuilds it",
    ]);
  });
});
