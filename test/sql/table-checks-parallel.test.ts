import { afterAll, describe, expect, it } from 'vitest';
import { backfill } from '../../src/commands/backfill.js';
import type { PipeEvent } from '../../src/events/events.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

/**
 * A check of the whole table (`scope: table`) of an incremental model reads the other dates'
 * rows. It runs inside the publishing transaction, and the dates publish in the order a
 * sequential backfill would: --parallel changes neither the tables nor the check outcomes,
 * and the first backfill (no table yet when it is planned) checks against what earlier dates
 * published.
 */

afterAll(removeProjects);

/** Each date has two ids of its own; the 3rd repeats an id of the 2nd, the 6th one of the 5th. */
function project(): string {
  return tempProject(
    {
      'models/events.sql': `{{ config(materialized='incremental', partition_by='d') }}
select cast('{{ ds }}' as date) as d, unnest(case day(cast('{{ ds }}' as date))
    when 3 then [30, 21] when 6 then [60, 51]
    else [day(cast('{{ ds }}' as date)) * 10, day(cast('{{ ds }}' as date)) * 10 + 1] end) as id
`,
      'models/events.yaml': 'checks:\n  unique: {columns: [id], scope: table}\n  warn:\n    row_count: {max: 9, scope: table}\n',
      'models/daily.sql': "select count(*) as n from {{ ref('events') }}\n",
    },
    'pipe-table-checks-',
  );
}

interface Outcome {
  readonly failed: string[];
  readonly warned: string[];
  readonly rows: string[];
}

async function backfillOnce(dir: string, parallel: number, order: 'oldest' | 'newest', force = false): Promise<Outcome> {
  const events: PipeEvent[] = [];
  await backfill({ project: dir, start: '2024-01-01', end: '2024-01-08', parallel, threads: parallel, order, force, emit: (e) => events.push(e) });
  const rows = await queryWarehouse(dir, "SELECT strftime(d, '%Y-%m-%d') || ':' || id AS r FROM events ORDER BY d, id");
  return {
    failed: events.flatMap((e) => (e.type === 'task-failed' ? [e.task.id] : [])).sort(),
    warned: events.flatMap((e) => (e.type === 'check-failed' && e.failure.severity === 'warn' ? [e.task.id] : [])).sort(),
    rows: rows.map((r) => String(r.r)),
  };
}

describe('checks of the whole table of an incremental model', () => {
  for (const order of ['oldest', 'newest'] as const) {
    it(`a parallel backfill (${order} first) gives the tables and check outcomes of --parallel 1`, async () => {
      const sequential = await backfillOnce(project(), 1, order);
      // The first backfill found the repeated ids although no table existed when it was planned.
      expect(sequential.failed).toEqual(order === 'oldest' ? ['events@2024-01-03', 'events@2024-01-06'] : ['events@2024-01-02', 'events@2024-01-05']);
      expect(new Set(sequential.rows.map((r) => r.split(':')[1])).size).toBe(sequential.rows.length);
      for (let i = 0; i < 3; i++) expect(await backfillOnce(project(), 4, order)).toEqual(sequential);
    });
  }

  it('a re-run over the published table checks each date against the others, and changes nothing', async () => {
    const dir = project();
    const first = await backfillOnce(dir, 4, 'oldest');
    // Forced: the dates that succeeded are current and would be skipped, checks and all.
    const again = await backfillOnce(dir, 4, 'oldest', true);
    // The warning reads a full table from the first date on now; the failures and rows stand.
    expect(again.warned.length).toBeGreaterThan(first.warned.length);
    expect({ failed: again.failed, rows: again.rows }).toEqual({ failed: first.failed, rows: first.rows });
  });
});
