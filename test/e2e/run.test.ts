import { afterAll, describe, expect, it } from 'vitest';
import { copyExample, explain, ordersOn, pipe, queryRows, removeTempDirs, warehouseOf, writeProjectFiles } from './helpers.js';

afterAll(removeTempDirs);

/**
 * What `pipe run` takes from its process's environment: the machine's time zone and PIPE_NOW.
 * What a run builds is tested in-process in test/commands/run.test.ts.
 */

describe('the clock of the process', () => {
  it('without --date builds yesterday by PIPE_NOW, and the header says so', async () => {
    const dir = copyExample();
    const text = pipe(['run', '--project', dir], { env: { PIPE_NOW: '2024-03-05T10:00:00Z' } });
    expect(text.code, explain(text)).toBe(0);
    expect(text.stdout.split('\n')[0]).toContain('2024-03-04 (yesterday, the default)');
    const days = await queryRows(warehouseOf(dir), 'SELECT order_date::VARCHAR AS d, count(*)::INTEGER AS n FROM fct_orders GROUP BY 1');
    expect(days).toEqual([{ d: '2024-03-04', n: ordersOn('2024-03-04').length }]);
  });

  it('reads a PIPE_NOW without an offset as UTC in any time zone, and refuses one that is not a time', () => {
    const dir = copyExample();
    const late = pipe(['run', '--dry-run', '--project', dir], { env: { PIPE_NOW: '2024-01-05T22:00:00', TZ: 'America/New_York' } });
    expect(late.code, explain(late)).toBe(0);
    expect(late.stdout.split('\n')[0]).toContain('-- run 2024-01-04 (the default)');
    const bogus = pipe(['run', '--dry-run', '--project', dir], { env: { PIPE_NOW: 'bogus' } });
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toBe("error: PIPE_NOW='bogus' is not a time pipe reads: write an ISO timestamp such as 2024-01-08T03:00:00Z (without an offset, it is UTC), or unset it\n");
    expect(bogus.stdout).toBe('');
  });
});

describe('time zones', () => {
  it('a TIMESTAMPTZ partition lands in its UTC date whatever the machine time zone', async () => {
    const dir = copyExample();
    writeProjectFiles(dir, {
      'models/marts/tz_events.sql': `{{ config(materialized='incremental', partition_by='happened_at') }}
select 1 as id, TIMESTAMPTZ '{{ ds }} 02:00:00+00' as happened_at
`,
    });
    for (const tz of ['America/New_York', 'Asia/Tokyo']) {
      const r = pipe(['run', '--date', '2024-01-02', '--select', 'tz_events', '--project', dir], { env: { TZ: tz } });
      expect(r.code, explain(r)).toBe(0);
    }
    const rows = await queryRows(warehouseOf(dir), 'SELECT count(*)::INTEGER AS n, epoch(min(happened_at))::BIGINT::VARCHAR AS at FROM tz_events');
    expect(rows).toEqual([{ n: 1, at: String(Date.UTC(2024, 0, 2, 2) / 1000) }]);
  });
});

