import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sourceReader } from '../../src/cli/output.js';
import { error } from '../../src/diagnostics/diagnostics.js';
import type { PipeEvent, TaskError, TaskRef } from '../../src/events/events.js';
import { secrets } from '../../src/secrets/secrets.js';
import { JsonLogger } from '../../src/logging/json-logger.js';
import type { Output } from '../../src/logging/logger.js';
import { colors, plainStyle } from '../../src/logging/style.js';
import { TextLogger } from '../../src/logging/text-logger.js';
import { cellText } from '../../src/cli/format-rows.js';

/**
 * The loggers against an in-memory output: what a person reads (the plain text logger) and
 * what a machine reads (one JSON object per line), for the same events.
 */

class Memory implements Output {
  text = '';
  write(t: string): void {
    this.text += t;
  }
  get lines(): string[] {
    return this.text.split('\n').filter((l) => l !== '');
  }
}

/** A project's files as the text logger reads them for source excerpts. */
const FILES: Record<string, string[]> = {
  'models/orders.sql': ['select order_id,', "  'abc'::INTEGER as n", 'from raw'],
  'models/orders.yaml': ['checks:', '  not_null: [n]'],
  // Written with CRLF line ends: each line read keeps its carriage return.
  'models/crlf.sql': ['select 1 as id\r', "from {{ ref('nope') }}\r"],
};

function textLogger(live = false, style = plainStyle) {
  const out = new Memory();
  const err = new Memory();
  const logger = new TextLogger(out, err, style, live, (file) => FILES[file]);
  return { out, err, logger };
}

const RUN = 'r1';
const task = (model: string, ds?: string, kind: TaskRef['kind'] = 'incremental'): TaskRef => ({
  id: ds ? `${model}@${ds}` : model,
  model,
  kind,
  file: `models/${model}.sql`,
  ds,
});
const failure = (model: string, ds: string | undefined, error: Partial<TaskError> & { message: string }): PipeEvent => ({
  type: 'task-failed',
  runId: RUN,
  task: task(model, ds),
  error: { kind: 'Conversion', errorClass: 'permanent', ...error },
  attempts: 1,
  ms: 1234,
});
const started = (tasks: number, extra: Partial<Extract<PipeEvent, { type: 'run-started' }>> = {}): PipeEvent => ({
  type: 'run-started',
  runId: RUN,
  command: 'run',
  ds: '2024-01-02',
  dateIsDefault: false,
  warehouse: '/tmp/w.duckdb',
  threads: 4,
  tasks,
  ...extra,
});
const finished = (status: 'succeeded' | 'failed' | 'cancelled' | 'interrupted', counts: Partial<Record<'succeeded' | 'failed' | 'skipped' | 'cancelled' | 'pending' | 'upToDate' | 'superseded', number>> = {}, retryCommand?: string): PipeEvent => ({
  type: 'run-finished',
  runId: RUN,
  status,
  succeeded: 0,
  failed: 0,
  skipped: 0,
  cancelled: 0,
  pending: 0,
  ms: 2500,
  retryCommand,
  ...counts,
});

describe('the plain text logger', () => {
  it('heads a run with its command, date (and why that date), tasks and threads', () => {
    const { out, logger } = textLogger();
    logger.handle(started(3, { pipeline: 'daily', dateIsDefault: true }));
    logger.handle(started(1, { command: 'backfill', start: '2024-01-01', end: '2024-01-31', threads: 1 }));
    logger.handle(started(2, { ds: '2024-01-02T04', dateIsDefault: true, hourIsDefault: true, retryOf: 'r0' }));
    logger.handle(started(1, { ds: '2024-01-02T03', dateIsDefault: true }));
    expect(out.lines).toEqual([
      'pipe run daily · date 2024-01-02 (yesterday, the default) · 3 tasks · 4 threads',
      'run r1 · warehouse /tmp/w.duckdb',
      'pipe backfill · dates 2024-01-01 → 2024-01-31 · 1 task · 1 thread',
      'run r1 · warehouse /tmp/w.duckdb',
      'pipe run · date 2024-01-02T04 (the previous hour, the default) · 2 tasks · 4 threads',
      'run r1 (retry of r0) · warehouse /tmp/w.duckdb',
      // --hour 3 without --date: the date alone is the default.
      'pipe run · date 2024-01-02T03 (an hour of yesterday, the default date) · 1 task · 4 threads',
      'run r1 · warehouse /tmp/w.duckdb',
    ]);
  });

  it('one line per task: started, succeeded with rows, skipped with the reason, cancelled; a seed shows no date', () => {
    const { out, logger } = textLogger();
    logger.handle({ type: 'task-started', runId: RUN, task: task('raw', '2024-01-02', 'seed') });
    logger.handle({ type: 'task-succeeded', runId: RUN, task: task('raw', '2024-01-02', 'seed'), rows: 1, attempts: 1, ms: 20 });
    logger.handle({ type: 'task-succeeded', runId: RUN, task: task('orders', '2024-01-02'), rows: 12345, attempts: 1, ms: 1500 });
    logger.handle({ type: 'task-succeeded', runId: RUN, task: task('v', '2024-01-02', 'view'), attempts: 1, ms: 5 });
    logger.handle({ type: 'task-skipped', runId: RUN, task: task('daily', '2024-01-02'), reason: 'upstream-failed', detail: 'upstream orders (2024-01-02) failed' });
    logger.handle({ type: 'task-cancelled', runId: RUN, task: task('slow', '2024-01-02'), started: true });
    logger.handle({ type: 'task-started', runId: RUN, task: { ...task('big', undefined), phase: 'swap', id: 'big@full-refresh:swap' } });
    expect(out.lines).toEqual([
      'START raw (seed)',
      'OK raw seed 1 row 0.02s',
      'OK orders 2024-01-02 incremental 12,345 rows 1.50s',
      'OK v 2024-01-02 view 0.01s',
      'SKIP  daily 2024-01-02 upstream orders (2024-01-02) failed',
      'CANCEL slow 2024-01-02 cancelled, rolled back',
      'START big full refresh swap (incremental)',
    ]);
  });

  it('a failure shows the message, then where: the file and source line, or the file alone, or the rendered SQL', () => {
    const { out, logger } = textLogger();
    logger.handle(failure('orders', '2024-01-02', { message: "Conversion Error: Could not convert string 'abc' to INT32", location: { file: 'models/orders.sql', line: 2 } }));
    logger.handle(failure('lines', '2024-01-02', { message: 'models/orders.sql:2: already located', location: { file: 'models/orders.sql', line: 2 } }));
    logger.handle(failure('nowhere', '2024-01-02', { message: 'Binder Error: no such column' }));
    logger.handle(failure('rendered', '2024-01-02', { message: 'Parser Error: syntax error', location: undefined, sqlContext: ['  1 | select', '> 2 | fromm t'] }));
    logger.handle(failure('branches', '2024-01-02', { message: 'Binder Error: x', sqlContext: ['> 5 | where ts like 1'], sqlFromLines: [5, 7, 9] }));
    logger.handle(failure('data', '2024-01-02', { message: 'duplicate key', location: { file: 'models/orders.sql' }, sample: [{ id: 1 }, { id: 1 }] }));
    expect(out.text).toBe(
      [
        'FAIL  orders 2024-01-02 incremental 1.23s',
        "    Conversion Error: Could not convert string 'abc' to INT32",
        '    at models/orders.sql:2',
        "    2 |   'abc'::INTEGER as n",
        'FAIL  lines 2024-01-02 incremental 1.23s',
        '    models/orders.sql:2: already located',
        'FAIL  nowhere 2024-01-02 incremental 1.23s',
        '    Binder Error: no such column',
        '    in models/nowhere.sql',
        'FAIL  rendered 2024-01-02 incremental 1.23s',
        '    Parser Error: syntax error',
        '    in the SQL rendered from models/rendered.sql:',
        '      1 | select',
        '    > 2 | fromm t',
        'FAIL  branches 2024-01-02 incremental 1.23s',
        '    Binder Error: x',
        '    in the SQL rendered from models/branches.sql (its line 5, 7 or 9, whichever rendered):',
        '    > 5 | where ts like 1',
        'FAIL  data 2024-01-02 incremental 1.23s',
        '    duplicate key',
        '    at models/orders.sql',
        '    {"id":1}',
        '    {"id":1}',
        '',
      ].join('\n'),
    );
  });

  it('a multi-line message stays indented under its task', () => {
    const { out, logger } = textLogger();
    logger.handle(failure('orders', '2024-01-02', { message: 'first line\nsecond line' }));
    expect(out.lines.slice(1, 3)).toEqual(['    first line', '    second line']);
  });

  it('checks: a failed blocking check and a warning, with their YAML line and sample rows', () => {
    const { out, logger } = textLogger();
    const location = { file: 'models/orders.yaml', line: 2 };
    logger.handle({ type: 'check-failed', runId: RUN, task: task('orders', '2024-01-02'), failure: { check: 'not_null(n)', severity: 'error', failingRows: 1200, sample: [{ n: null }], location } });
    logger.handle({ type: 'check-failed', runId: RUN, task: task('orders', '2024-01-02'), failure: { check: 'row_count(min 5)', severity: 'warn', failingRows: 1, sample: [{ row_count: '3' }], rowCount: 3, location } });
    // The task's failure for its checks does not repeat the sample rows the check lines showed.
    logger.handle(failure('orders', '2024-01-02', { message: 'check not_null(n) failed', checks: [], sample: [{ n: null }], location }));
    expect(out.lines).toEqual([
      'CHECK orders 2024-01-02 check not_null(n) failed: 1,200 failing rows models/orders.yaml:2',
      '    {"n":null}',
      // A row_count check's failing row is the count it found.
      'WARN  orders 2024-01-02 check row_count(min 5) warning: 3 rows models/orders.yaml:2',
      'FAIL  orders 2024-01-02 incremental 1.23s',
      '    check not_null(n) failed',
      '    at models/orders.yaml:2',
      '    2 |   not_null: [n]',
    ]);
  });

  it('what a template said as its task ran: a line each, under the task, with where; a message of several lines indented', () => {
    const { out, logger } = textLogger();
    const at = { file: 'models/orders.sql', line: 2, column: 3 };
    logger.handle({ type: 'template-message', runId: RUN, task: task('orders', '2024-01-02'), kind: 'log', message: 'counted 3', location: at });
    logger.handle({ type: 'template-message', runId: RUN, task: task('orders', '2024-01-02'), kind: 'print', message: '| id |\n| 1  |', location: at });
    logger.handle({ type: 'template-message', runId: RUN, task: task('on-run-end', undefined, 'run-hook'), kind: 'warn', message: 'careful' });
    expect(out.lines).toEqual([
      'LOG   orders 2024-01-02 counted 3 models/orders.sql:2',
      'PRINT orders 2024-01-02 | id | models/orders.sql:2',
      '    | 1  |',
      'WARN  on-run-end careful models/on-run-end.sql',
    ]);
  });

  it("dbt tests: what dbt says of a failure; pipe test names the tests that pass, a build counts them on the task's line", () => {
    const { out, logger } = textLogger();
    const location = { file: 'models/schema.yml', line: 7 };
    const failure = { check: 'unique_orders_id', severity: 'warn' as const, failingRows: 3, condition: '> 1', sample: [], location };
    logger.handle({ type: 'check-failed', runId: RUN, task: task('orders', '2024-01-02', 'test'), failure });
    logger.handle({ type: 'check-passed', runId: RUN, task: task('orders', '2024-01-02', 'test'), check: 'not_null_orders_id', location });
    logger.handle({ type: 'check-passed', runId: RUN, task: task('orders', '2024-01-02'), check: 'not_null_orders_id', location });
    logger.handle({ type: 'check-passed', runId: RUN, task: task('orders', '2024-01-02'), check: 'unique_orders_id', location });
    logger.handle({ type: 'task-succeeded', runId: RUN, task: task('orders', '2024-01-02'), rows: 2, attempts: 1, ms: 10 });
    // A retried attempt runs its checks again: they are counted once.
    logger.handle({ type: 'check-passed', runId: RUN, task: task('items', '2024-01-02'), check: 'not_null_items_id', location });
    logger.handle({ type: 'task-retrying', runId: RUN, task: task('items', '2024-01-02'), attempt: 1, error: { kind: 'Connection', message: 'lost' } as TaskError });
    logger.handle({ type: 'check-passed', runId: RUN, task: task('items', '2024-01-02'), check: 'not_null_items_id', location });
    logger.handle({ type: 'task-succeeded', runId: RUN, task: task('items', '2024-01-02'), rows: 1, attempts: 2, ms: 10 });
    logger.handle({ type: 'task-succeeded', runId: RUN, task: task('v', '2024-01-02', 'view'), attempts: 1, ms: 5 });
    expect(out.lines).toEqual([
      'WARN  orders 2024-01-02 test unique_orders_id warning: got 3 results, configured to warn if > 1 models/schema.yml:7',
      'PASS  orders 2024-01-02 not_null_orders_id models/schema.yml:7',
      'OK orders 2024-01-02 incremental 2 rows · 2 checks passed 0.01s',
      'RETRY items 2024-01-02 attempt 1 failed (Connection, transient): lost',
      'OK items 2024-01-02 incremental 1 row · 1 check passed 0.01s',
      'OK v 2024-01-02 view 0.01s',
    ]);
  });

  it("a check that warns is counted on its task's line and in the run's last line, as dbt's WARN=", () => {
    const { out, logger } = textLogger();
    logger.handle(started(2));
    const location = { file: 'models/m.yml', line: 7 };
    const warn = { check: 'unique_m_id', severity: 'warn' as const, failingRows: 1, condition: '!= 0', sample: [], location };
    logger.handle({ type: 'check-failed', runId: RUN, task: task('m', '2024-01-02'), failure: warn });
    logger.handle({ type: 'check-passed', runId: RUN, task: task('m', '2024-01-02'), check: 'not_null_m_id', location });
    logger.handle({ type: 'task-succeeded', runId: RUN, task: task('m', '2024-01-02'), rows: 2, attempts: 1, ms: 10 });
    // A task whose one check warned: counted too.
    logger.handle({ type: 'check-failed', runId: RUN, task: task('n', '2024-01-02'), failure: { ...warn, check: 'unique_n_id' } });
    logger.handle({ type: 'task-succeeded', runId: RUN, task: task('n', '2024-01-02'), rows: 2, attempts: 1, ms: 10 });
    logger.handle(finished('succeeded', { succeeded: 2 }));
    expect(out.lines.filter((l) => !l.startsWith('WARN') && !l.startsWith('pipe ') && !l.startsWith('run '))).toEqual([
      'OK m 2024-01-02 incremental 2 rows · 1 check passed, 1 warned 0.01s',
      'OK n 2024-01-02 incremental 2 rows · 0 checks passed, 1 warned 0.01s',
      'Done: 2 succeeded, 0 failed, 0 skipped, 2 checks warned in 2.50s',
    ]);
    // The next run of a watch counts afresh.
    out.text = '';
    logger.handle(started(1));
    logger.handle(finished('succeeded', { succeeded: 1 }));
    expect(out.lines.at(-1)).toBe('Done: 1 succeeded, 0 failed, 0 skipped in 2.50s');
  });

  it('the summary groups failures by their first line (failed checks by all of theirs), lists each task once, and says how to retry', () => {
    const { out, logger } = textLogger();
    logger.handle(started(30));
    for (let d = 1; d <= 23; d++) {
      logger.handle(failure('orders', `2024-01-${String(d).padStart(2, '0')}`, { message: `Conversion Error: bad value\nLINE ${d}: ...` }));
    }
    logger.handle(failure('lines', '2024-01-01', { message: 'Binder Error: no column x' }));
    // Failed checks are each a line of the error: all of them are the error, each said.
    const checks = 'test unique_m_id failed: got 1 result (models/m.yml:6)\ntest not_null_m_v failed: got 2 results (models/m.yml:8)';
    for (const ds of ['2024-01-01', '2024-01-02']) logger.handle(failure('m', ds, { kind: 'Check', message: checks }));
    logger.handle(failure('m', '2024-01-03', { kind: 'Check', message: 'test unique_m_id failed: got 1 result (models/m.yml:6)' }));
    out.text = '';
    logger.handle(finished('failed', { succeeded: 3, failed: 27, skipped: 2, pending: 1 }, 'pipe retry r1'));
    expect(out.lines).toEqual([
      'Failed: 3 succeeded, 27 failed, 2 skipped, 1 not started in 2.50s',
      '1 task was never started',
      'Failures (27, 4 distinct errors):',
      '  Conversion Error: bad value',
      ...Array.from({ length: 20 }, (_, i) => `    orders 2024-01-${String(i + 1).padStart(2, '0')} models/orders.sql`),
      '    … and 3 more',
      '  Binder Error: no column x',
      '    lines 2024-01-01 models/lines.sql',
      '  test unique_m_id failed: got 1 result (models/m.yml:6)',
      '  test not_null_m_v failed: got 2 results (models/m.yml:8)',
      '    m 2024-01-01 models/m.sql',
      '    m 2024-01-02 models/m.sql',
      '  test unique_m_id failed: got 1 result (models/m.yml:6)',
      '    m 2024-01-03 models/m.sql',
      're-run what did not succeed: pipe retry r1',
      'details: pipe history r1',
    ]);
  });

  it('a superseded task is told as such, not as skipped, and counted apart from the built', () => {
    const { out, logger } = textLogger();
    logger.handle(started(3));
    logger.handle({ type: 'task-skipped', runId: RUN, task: task('orders', '2024-01-02'), reason: 'superseded', detail: 'superseded: run r9 published it later (2024-01-04); pipe run --select orders --date 2024-01-02 rebuilds it for this date' });
    out.text = '';
    logger.handle(finished('succeeded', { succeeded: 3, upToDate: 1, superseded: 1 }));
    expect(out.lines).toEqual(['Done: 1 succeeded, 1 up to date, 1 superseded, 0 failed, 0 skipped in 2.50s']);
    const { out: lines, logger: again } = textLogger();
    again.handle({ type: 'task-skipped', runId: RUN, task: task('orders', '2024-01-02'), reason: 'superseded', detail: 'superseded: run r9 published it later (2024-01-04); pipe run --select orders --date 2024-01-02 rebuilds it for this date' });
    expect(lines.lines).toEqual(['~ orders 2024-01-02 superseded: run r9 published it later (2024-01-04); pipe run --select orders --date 2024-01-02 rebuilds it for this date']);
  });

  it('a run another process took as interrupted ends so, naming who', () => {
    const { out, logger } = textLogger();
    logger.handle(started(2));
    out.text = '';
    logger.handle({ ...finished('interrupted', { succeeded: 1, cancelled: 1 }, 'pipe retry r1'), interruptedBy: 'worker w1 (host:42)' } as PipeEvent);
    expect(out.lines).toEqual([
      'Interrupted: 1 succeeded, 0 failed, 0 skipped, 1 cancelled in 2.50s',
      `run ${RUN} was taken as interrupted by worker w1 (host:42) while this process could not reach Postgres; its end is recorded as that process recorded it`,
      're-run what did not succeed: pipe retry r1',
      `details: pipe history ${RUN}`,
    ]);
  });

  it('a new run starts its summary afresh (watch mode runs many builds through one logger)', () => {
    const { out, logger } = textLogger();
    logger.handle(started(1));
    logger.handle(failure('orders', '2024-01-02', { message: 'boom' }));
    logger.handle(finished('failed', { failed: 1 }));
    logger.handle(started(1));
    out.text = '';
    logger.handle(finished('succeeded', { succeeded: 1 }));
    expect(out.lines).toEqual(['Done: 1 succeeded, 0 failed, 0 skipped in 2.50s']);
    logger.handle(finished('cancelled', { cancelled: 2 }));
    expect(out.lines.slice(1)).toEqual(['Cancelled: 0 succeeded, 0 failed, 0 skipped, 2 cancelled in 2.50s', 'details: pipe history r1']);
  });

  it('notices, retries, progress and watch events are one line each', () => {
    const { out, logger } = textLogger();
    logger.handle({ type: 'notice', message: 'stopping: rolling back running models' });
    logger.handle({ type: 'task-retrying', runId: RUN, task: task('landed', '2024-01-02'), attempt: 1, error: { message: 'HTTP 503\ndetails', kind: 'IO', errorClass: 'transient' } });
    logger.handle({ type: 'progress', runId: RUN, datesTotal: 10, datesDone: 3, datesFailed: 1, datesInFlight: 2, parallel: 2, maxParallel: 4, elapsedMs: 1000, unit: 'date' });
    logger.handle({ type: 'watch-change', files: ['models/a.sql'], rebuild: ['a', 'b'], removed: [] });
    logger.handle({ type: 'watch-change', files: ['models/a.sql'], rebuild: [], removed: [], blocked: true });
    logger.handle({ type: 'watch-change', files: [], rebuild: [], removed: [] });
    expect(out.lines).toEqual([
      'stopping: rolling back running models',
      'RETRY landed 2024-01-02 attempt 1 failed (IO, transient): HTTP 503',
      'PROGRESS dates 4/10 done, 1 failed, 2 in flight, parallel 2/4',
      'changed: models/a.sql',
      'rebuilding: a, b',
      'changed: models/a.sql',
      'not rebuilt: the project has errors',
      'changed: (files)',
      'nothing to rebuild',
    ]);
  });

  it('a diagnostic goes to the error output with the source line, a caret under its column, related places and the hint', () => {
    const { out, err, logger } = textLogger();
    logger.handle({
      type: 'diagnostic',
      diagnostic: error('unknown-ref', "ref('ordrs'): no model or seed is named 'ordrs'", { file: 'models/orders.sql', line: 2, column: 3 }, {
        hint: "did you mean 'orders'?",
        related: [{ message: 'checked here', location: { file: 'models/orders.yaml', line: 2 } }],
      }),
    });
    expect(out.text).toBe('');
    expect(err.text).toBe(
      [
        "models/orders.sql:2:3: error: ref('ordrs'): no model or seed is named 'ordrs'",
        "  2 |   'abc'::INTEGER as n",
        '    |   ^',
        '  - checked here: models/orders.yaml:2',
        '    2 |   not_null: [n]',
        "  hint: did you mean 'orders'?",
        '',
      ].join('\n'),
    );
  });

  it("shows a line of a file with CRLF line ends without its carriage return", () => {
    const { err, logger } = textLogger();
    logger.handle({ type: 'diagnostic', diagnostic: error('unknown-ref', "ref('nope'): no model or seed is named 'nope'", { file: 'models/crlf.sql', line: 2, column: 9 }) });
    expect(err.text).toBe(["models/crlf.sql:2:9: error: ref('nope'): no model or seed is named 'nope'", "  2 | from {{ ref('nope') }}", '    |         ^', ''].join('\n'));
  });

  it('masks secret values in everything it prints, out and err', () => {
    secrets.record('s3cr3t-token');
    const { out, err, logger } = textLogger();
    logger.handle({ type: 'notice', message: 'calling https://api?key=s3cr3t-token' });
    logger.handle(failure('orders', '2024-01-02', { message: "HTTP 401 for 's3cr3t-token'" }));
    logger.handle({ type: 'diagnostic', diagnostic: error('bad', 'value s3cr3t-token refused') });
    logger.result('compiled: select s3cr3t-token');
    expect(out.text + err.text).not.toContain('s3cr3t-token');
    expect(out.text).toContain('key=****');
    expect(err.text).toContain('value **** refused');
  });

  it('on a terminal, a status line shows what runs and is cleared before each printed line', () => {
    const { out, logger } = textLogger(true, colors);
    logger.handle(started(2));
    logger.handle({ type: 'task-started', runId: RUN, task: task('orders', '2024-01-02') });
    expect(out.text).toContain('[0/2] running: orders 0s');
    out.text = '';
    logger.handle({ type: 'task-succeeded', runId: RUN, task: task('orders', '2024-01-02'), rows: 2, attempts: 1, ms: 10 });
    // The status line is erased, the result printed (a green tick), and no status line follows (nothing runs).
    expect(out.text.startsWith('\r\x1b[K')).toBe(true);
    expect(out.text).toContain('\x1b[32m✓\x1b[39m orders');
    expect(out.text.endsWith('\n')).toBe(true);
    logger.close();
  });
});

describe('the JSON logger', () => {
  it('writes one JSON object per event and line, with its time, and results as they are', () => {
    const out = new Memory();
    const logger = new JsonLogger(out);
    const events: PipeEvent[] = [started(1), failure('orders', '2024-01-02', { message: 'a "quoted"\nmessage' }), finished('failed', { failed: 1 })];
    for (const e of events) logger.handle(e);
    logger.result('{"type":"node","name":"orders"}');
    const lines = out.lines;
    expect(lines).toHaveLength(4);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.slice(0, 3).map(({ time, ...e }) => e)).toEqual(JSON.parse(JSON.stringify(events)));
    for (const p of parsed.slice(0, 3)) expect(Number.isNaN(Date.parse(String(p.time)))).toBe(false);
    expect(parsed[3]).toEqual({ type: 'node', name: 'orders' });
  });

  it('masks secrets inside values and keeps every line valid JSON', () => {
    secrets.record('tok"en\\value');
    const out = new Memory();
    const logger = new JsonLogger(out);
    logger.handle({ type: 'notice', message: 'sent tok"en\\value upstream' });
    logger.result('{"sql":"select \'tok\\"en\\\\value\'"}');
    expect(out.text).not.toContain('tok');
    for (const line of out.lines) expect(() => JSON.parse(line)).not.toThrow();
    expect((JSON.parse(out.lines[0]) as { message: string }).message).toBe('sent **** upstream');
  });
});

describe('control characters from data', () => {
  const hostile = `bad\x1b]0;pwned-title\x07\x1b[2J\r\x9b31m\x7fend`;

  it('reach the terminal escaped in events and results, while pipe keeps its own colours and live line', () => {
    const { out, logger } = textLogger(true, colors);
    logger.handle(started(2));
    logger.handle({ type: 'task-started', runId: RUN, task: task('items', '2024-01-02') });
    logger.handle(failure('orders', '2024-01-02', { message: hostile }));
    logger.result(`a value: ${hostile}`);
    logger.close();
    expect(out.text).toContain('bad\\x1b]0;pwned-title\\x07\\x1b[2J\\x0d\\x9b31m\\x7fend');
    expect(out.text).not.toMatch(/\x07|\x1b\]|\x1b\[2J|\x9b|\x7f/);
    // pipe's own: the red of the failure and the erase of the live line.
    expect(out.text).toContain('\x1b[31m');
    expect(out.text).toContain('\r\x1b[K');
  });

  it("are escaped where they look like pipe's own colours: a message holding ESC [ 31 m stays text, the colour pipe gives it stays a colour", () => {
    const { out, logger } = textLogger(true, colors);
    logger.handle(started(1));
    logger.handle(failure('orders', '2024-01-02', { message: '\x1b[31mboom\x1b[0m and \x1b[39m' }));
    logger.close();
    expect(out.text).toContain('\\x1b[31mboom\\x1b[0m and \\x1b[39m');
    expect(out.text).not.toMatch(/\x1b\[31mboom|\x1b\[0m/);
    expect(out.text).toContain('\x1b[31m');
    // No private-use mark of pipe's own sequences is left on the terminal.
    expect(out.text).not.toMatch(/[\ue000-\ue0ff]/);
  });

  it('are kept in a result asked exact (compiled SQL) and in diagnostics escaped', () => {
    const { out, err, logger } = textLogger();
    logger.result(`select '${hostile}'`, true);
    logger.handle({ type: 'diagnostic', diagnostic: error('x', `value ${hostile}`, { file: 'models/orders.sql', line: 1 }) });
    expect(out.text).toBe(`select '${hostile}'\n`);
    expect(err.text).toContain('value bad\\x1b]0;');
    expect(err.text).not.toContain('\x1b');
  });

  it('leave every JSON line valid, the values whole, and nothing a terminal obeys', () => {
    const out = new Memory();
    const logger = new JsonLogger(out);
    logger.handle(failure('orders', '2024-01-02', { message: hostile }));
    logger.result(JSON.stringify({ v: hostile }));
    const [event, result] = out.lines;
    expect(out.text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    expect((JSON.parse(event) as { error: { message: string } }).error.message).toBe(hostile);
    expect(JSON.parse(result)).toEqual({ v: hostile });
  });

  it('are escaped in the cells of pipe show, each taking the width it is shown with', () => {
    expect(cellText(`a\x1b[8mhidden\ttab\nline`)).toBe('a\\x1b[8mhidden\\ttab\\nline');
    // Distinct values print distinctly: a carriage return, CRLF, and a backslash typed before an n.
    expect(['x\ry', 'x\ny', 'x\r\ny', 'x\\ny', 'C:\\dir'].map((v) => cellText(v))).toEqual(['x\\ry', 'x\\ny', 'x\\r\\ny', 'x\\\\ny', 'C:\\\\dir']);
    expect(cellText({ a: 'x"y\nz' }, 'STRUCT(a VARCHAR)')).toBe('{"a":"x\\"y\\nz"}');
  });

  it('pipe show prints floats as DuckDB does, by the column type', () => {
    const shown = (values: unknown[], type: string) => values.map((v) => cellText(v, type));
    expect(shown([1, -2, 0.5, 1e20, 1.5e-7, 1 / 3, 'NaN', 'Infinity', '-Infinity', -0], 'DOUBLE')).toEqual([
      '1.0', '-2.0', '0.5', '1e+20', '1.5e-07', '0.3333333333333333', 'nan', 'inf', '-inf', '-0.0',
    ]);
    // A FLOAT's 4 bytes, widened to a double on the way: the fewest digits that read back to them.
    expect(shown([Math.fround(0.1), 3, Math.fround(1 / 3), Math.fround(16777217)], 'FLOAT')).toEqual(['0.1', '3.0', '0.33333334', '16777216.0']);
    // Other types as they come: an integer stays whole, a decimal keeps its scale.
    expect([cellText(1, 'INTEGER'), cellText('2.50', 'DECIMAL(5,2)'), cellText('NaN', 'VARCHAR')]).toEqual(['1', '2.50', 'NaN']);
  });
});

describe('the lines a diagnostic quotes', () => {
  it('are those of the file as it is now: a file saved since it was quoted is read again (watch quotes every save)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipe-reader-'));
    try {
      writeFileSync(join(dir, 'm.sql'), 'select\n  {{ nosuch1 }} as b\n');
      const read = sourceReader(dir);
      expect(read('m.sql')?.[1]).toBe('  {{ nosuch1 }} as b');
      writeFileSync(join(dir, 'm.sql'), 'select\n  {{ other_undefined_var }} as b, 2 as c\n');
      expect(read('m.sql')?.[1]).toBe('  {{ other_undefined_var }} as b, 2 as c');
      expect(read('gone.sql')).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
