import { describe, expect, it } from 'vitest';
import { DiagnosticError } from '../../src/diagnostics/diagnostics.js';
import { parseStoredParams, readStoredParams, storedJson } from '../../src/commands/stored-params.js';

/** What runs record of how they were started is read back checked, never cast. */

const row = (command: string, params: unknown, run_id = '20240102T000000-ab12') => ({
  run_id,
  command,
  params: typeof params === 'string' ? params : JSON.stringify(params),
});

const problemOf = (command: string, params: unknown): string => {
  const read = readStoredParams(row(command, params));
  if (!('problem' in read)) throw new Error(`read: ${JSON.stringify(read.params)}`);
  return read.problem.message;
};

describe('stored run parameters', () => {
  it('read back what each command records, and record it again unchanged', () => {
    const recorded: [string, Record<string, unknown>][] = [
      ['run', { ds: '2024-01-02', hour: 5, scheduled_at: '2024-01-02T06:00:00.000Z', vars: { a: 1 }, resolved_vars: { a: 1, b: 'x' }, select: ['tag:daily'], exclude: [], threads: null, full_refresh: false, ignore_dependencies_on_past: true, resume_of: 'r0' }],
      ['watch', { ds: '2024-01-02', vars: {}, resolved_vars: {}, select: ['m'], exclude: [], threads: 2, full_refresh: false }],
      ['test', { ds: '2024-01-02', vars: {}, resolved_vars: {}, select: [], exclude: ['x'], selector: 'nightly', threads: 3 }],
      ['backfill', { start: '2024-01-01', end: '2024-01-31', interval: 'hourly', parallel: 4, order: 'newest', max_failures: 3, retries: 2, vars: {}, resolved_vars: {}, select: [], exclude: [], threads: null, full_refresh: true }],
      ['retry', { start: '2024-01-01', end: '2024-01-02', interval: 'daily', parallel: 1, order: 'oldest', max_failures: null, retries: 0, vars: {}, resolved_vars: {}, select: [], exclude: [], threads: null, full_refresh: false, original_command: 'backfill', retry_of: 'r1' }],
    ];
    for (const [command, params] of recorded) {
      const p = parseStoredParams(row(command, params));
      expect(p.kind).toBe(command);
      expect(storedJson(p)).toEqual(params);
    }
  });

  it('fill in what early versions did not record', () => {
    const p = parseStoredParams(row('backfill', { start: '2024-01-01', end: '2024-01-02', vars: { a: 1 } }));
    expect(p).toMatchObject({ kind: 'backfill', interval: 'daily', parallel: 1, order: 'oldest', max_failures: null, retries: 0, select: [], threads: null, full_refresh: false });
    expect(p.kind === 'backfill' && p.resolved_vars).toBeUndefined();
    // A retry recorded without its first run's command repeated a run.
    expect(parseStoredParams(row('retry', { ds: '2024-01-02', retry_of: 'r1' }))).toMatchObject({ kind: 'retry', retry_of: 'r1', of: { kind: 'run', ds: '2024-01-02' } });
  });

  it('a retry of a watch build records it as the run it repeats', () => {
    const watch = parseStoredParams(row('watch', { ds: '2024-01-02', select: ['m'] }));
    if (watch.kind !== 'watch') throw new Error(watch.kind);
    expect(storedJson({ kind: 'retry', of: watch, retry_of: 'w1' })).toMatchObject({ original_command: 'run', retry_of: 'w1', ds: '2024-01-02' });
  });

  it('refuse, naming the run, what they cannot read', () => {
    expect(problemOf('run', '{"ds": ')).toBe('run 20240102T000000-ab12: its recorded parameters are not JSON');
    expect(problemOf('run', [1])).toBe('run 20240102T000000-ab12: its recorded parameters are [1], not an object');
    expect(problemOf('frobnicate', {})).toBe("run 20240102T000000-ab12: it was recorded by 'pipe frobnicate', a command this version of pipe does not know");
    expect(problemOf('run', { ds: 20240102, select: 'a', hour: 24 })).toBe(
      'run 20240102T000000-ab12: its recorded parameters cannot be read (select: expected a list of text, got "a"; hour: expected 0 to 23, got 24; ds: expected a date as YYYY-MM-DD, got 20240102)',
    );
    expect(problemOf('test', {})).toContain('(ds: missing)');
    expect(problemOf('backfill', { start: '2024-02-01', end: '2024-01-01', order: 'random', parallel: 0 })).toContain(
      'start 2024-02-01 is after end 2024-01-01; parallel: expected a whole number of at least 1, got 0; order: expected oldest or newest, got "random"',
    );
    expect(problemOf('retry', { ds: '2024-01-02', original_command: 'schedule' })).toContain('original_command: expected run or backfill or test, got "schedule"; retry_of: missing');
  });

  it('parseStoredParams throws the problem as a diagnostic with a hint', () => {
    let thrown: unknown;
    try {
      parseStoredParams(row('run', { ds: 'yesterday' }, 'r9'));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(DiagnosticError);
    const [d] = (thrown as DiagnosticError).diagnostics;
    expect(d).toMatchObject({ severity: 'error', code: 'bad-run-state' });
    expect(d.message).toContain('run r9:');
    expect(d.hint).toContain('start a new run');
  });
});
