import { describe, expect, it } from 'vitest';
import { report } from '../../src/cli/report.js';
import type { StopPoint } from '../../src/cli/stop-notice.js';
import type { PipeEvent } from '../../src/events/events.js';
import { EXIT } from '../../src/cli/exit-status.js';
import { toTaskError } from '../../src/execute/task-errors.js';
import { WarehouseError } from '../../src/warehouse/warehouse.js';

/**
 * What a command threw, as the CLI reports it: a DuckDB file found damaged as DuckDB reads its
 * blocks (after an open that succeeded) is the file's problem, said with what to do and exit 2,
 * not an internal error of pipe's. (A file damaged at its open: test/e2e/warehouse-open.test.ts.)
 */

function reported(e: unknown, point: StopPoint = 'started') {
  const events: PipeEvent[] = [];
  const code = report(e, { handle: (ev) => events.push(ev), result: () => undefined, close: () => undefined }, point);
  return { code, diagnostics: events.flatMap((ev) => (ev.type === 'diagnostic' ? [ev.diagnostic] : [])) };
}

describe('a damaged DuckDB file', () => {
  it.each([
    ['cut short', 'IO Error: Could not read enough bytes from file "/srv/shop/warehouse.duckdb": attempted to read 262144 bytes from location 3420160', 'the DuckDB file /srv/shop/warehouse.duckdb is cut short or damaged'],
    ['a checksum that fails', 'IO Error: Corrupt database file: computed checksum 1234 does not match stored checksum 5678 in block at location 3158016', 'a DuckDB file pipe read is cut short or damaged'],
  ])('%s: says so with what to do, exit 2', (_what, message, says) => {
    const r = reported(new Error(message));
    expect(r.code).toBe(EXIT.badInput);
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0].code).toBe('bad-warehouse');
    expect(r.diagnostics[0].message).toContain(says);
    expect(r.diagnostics[0].message).not.toContain('internal error');
    expect(r.diagnostics[0].hint).toContain('restore it from a copy');
  });

  it('any other error is still an internal one', () => {
    const r = reported(new Error('something pipe did not expect'));
    expect(r.code).toBe(EXIT.taskFailed);
    expect(r.diagnostics[0].message).toBe('internal error: something pipe did not expect');
  });
});

describe('a full disk outside any task', () => {
  it.each([
    ['DuckDB committing the run state', 'TransactionContext Error: Failed to commit: Could not write file "/srv/shop/warehouse.duckdb.wal": No space left on device', '/srv/shop/warehouse.duckdb.wal could not be written'],
    ['a file pipe writes', "ENOSPC: no space left on device, open '/srv/shop/.pipe/x'", 'the disk is full'],
  ])('%s: said as a full disk with what to do, not as an internal error', (_what, message, says) => {
    const r = reported(new Error(message));
    expect(r.code).toBe(EXIT.taskFailed);
    expect(r.diagnostics.map((d) => d.code)).toEqual(['disk-full']);
    expect(r.diagnostics[0].message).toContain(says);
    expect(r.diagnostics[0].message).not.toMatch(/internal error|TransactionContext/);
    expect(r.diagnostics[0].hint).toContain('pipe retry');
  });

  it('before its run started: nothing ran and no run is recorded, so the command is given again, exit 2', () => {
    const e = new Error('TransactionContext Error: Failed to commit: Could not write file "/srv/shop/warehouse.duckdb.wal": No space left on device');
    for (const point of ['preparing', 'waiting'] as const) {
      const r = reported(e, point);
      expect(r.code).toBe(EXIT.badInput);
      expect(r.diagnostics[0].hint).toBe('free space on that disk, then give the command again: nothing was run');
    }
    // A command that runs no run (run-operation's queries run as it renders): given again, not retried.
    expect(reported(e, 'unknown').diagnostics[0].hint).toBe('free space on that disk, then give the command again');
  });
});

describe('a full disk at a task', () => {
  it("fails the task as the disk's problem, still transient, without DuckDB's text", () => {
    const e = toTaskError(new WarehouseError('TransactionContext Error: Failed to commit: Could not write file "/srv/shop/warehouse.duckdb": No space left on device', 'TransactionContext', 'transient'));
    expect(e.message).toBe('the disk is full: /srv/shop/warehouse.duckdb could not be written (no space left on device); nothing of this task was published');
    expect(e.errorClass).toBe('transient');
  });

  it("names the folder of a lake's data file, so that the tasks a full disk fails read as one error", () => {
    const at = (uuid: string) => toTaskError(new WarehouseError(`IO Error: Could not write file "/lake/main/events/ducklake-${uuid}.parquet": No space left on device`, 'IO', 'transient')).message;
    const first = at('01a24218-67dc-79d8-94a6-cdc8765334dd');
    expect(first).toBe('the disk is full: no new data file could be written in /lake/main/events/ (no space left on device); nothing of this task was published');
    expect(at('01a24218-6991-715d-ad09-fadc241aba7f')).toBe(first);
  });
});

describe('DuckDB stopped after a fatal error on its file', () => {
  // DuckDB's words when a checkpoint after a commit could not remove its log (the folder made read-only).
  const fatal =
    'FATAL Error: Failed: database has been invalidated because of a previous fatal error. The database must be restarted prior to being used again.\nOriginal error: "Failed to create checkpoint because of error: Could not remove file "/srv/shop/warehouse.duckdb.wal": Permission denied"';
  const says =
    'DuckDB stopped writing the warehouse after a fatal error (Failed to create checkpoint because of error: Could not remove file "/srv/shop/warehouse.duckdb.wal": Permission denied): nothing more is written by this process, and whether its last commit reached the file, pipe history tells once the warehouse opens again';

  it("fails a task in pipe's words, which name the cause and that the commit may have landed", () => {
    expect(toTaskError(new WarehouseError(fatal, 'FATAL', 'permanent')).message).toBe(says);
  });

  it('outside any task is no internal error of pipe\'s', () => {
    const r = reported(new Error(fatal), 'running');
    expect(r.code).toBe(EXIT.taskFailed);
    expect(r.diagnostics[0]).toMatchObject({ code: 'warehouse-stopped', message: says });
  });
});

describe("a lake's catalog lost outside any task", () => {
  it('is said as the catalog lost, with what to do, not as an internal error', () => {
    const lost = new WarehouseError("lost the lake's catalog (its Postgres at /tmp:5499/shop): server closed the connection unexpectedly; run it again once Postgres answers", 'IO', 'transient');
    const r = reported(lost, 'started');
    expect(r.code).toBe(EXIT.taskFailed);
    expect(r.diagnostics.map((d) => [d.code, d.message])).toEqual([['warehouse-lost', lost.message]]);
    expect(r.diagnostics[0].hint).toContain('pipe retry finishes it');
    const before = reported(lost, 'preparing');
    expect(before.code).toBe(EXIT.badInput);
    expect(before.diagnostics[0].hint).toContain('nothing was run');
  });
});
