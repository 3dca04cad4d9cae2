import { describe, expect, it } from 'vitest';
import type { UiTask } from '../../src/ui/api.js';
import { groupFailures } from '../../src/ui/server/run-data.js';

/** A run page tells one cause once, with every task it failed and where each points. */

const failed = (node: string, error: string): UiTask => ({
  task_id: `${node}@2024-01-02`,
  node,
  kind: 'table',
  ds: '2024-01-02',
  status: 'failed',
  attempts: 1,
  rows: null,
  start_ms: 0,
  end_ms: 1,
  error,
  detail: null,
});

describe('failures grouped by error', () => {
  it('groups errors that differ only in names, places and numbers; keeps where each points', () => {
    const tasks = [
      failed('a', 'Binder Error: Referenced column "x" not found in FROM clause!\n\nmodels/a.sql:3:   x'),
      failed('b', 'Binder Error: Referenced column "y" not found in FROM clause!\n\nmodels/b.sql:12:   y'),
      failed('c', 'Conversion Error: Could not convert string \'abc\' to INT32'),
      { ...failed('d', 'ignored'), status: 'succeeded' as const },
    ];
    const groups = groupFailures(tasks, new Map([['c@2024-01-02', 'models/c.sql:7']]), (node) => `models/${node}.sql`);
    expect(groups.map((g) => g.tasks.map((t) => [t.node, t.at]))).toEqual([
      [
        ['a', 'models/a.sql:3'],
        ['b', 'models/b.sql:12'],
      ],
      [['c', 'models/c.sql:7']],
    ]);
    expect(groups[0].error).toMatch(/^Binder Error: Referenced column "x"/);
  });

  it('groups the same failure of models named in their messages', () => {
    const groups = groupFailures(
      [failed('orders', 'post-hook of orders (models/orders.sql:2) failed: Catalog Error: Table with name audit does not exist!'), failed('customers', 'post-hook of customers (models/customers.sql:5) failed: Catalog Error: Table with name audit does not exist!')],
      new Map(),
      () => undefined,
    );
    expect(groups.map((g) => g.tasks.map((t) => t.at))).toEqual([['models/orders.sql:2', 'models/customers.sql:5']]);
  });

  it("keeps a task's own message when it differs from the group's: the group's text is not told of a task it does not describe", () => {
    const groups = groupFailures(
      [failed('flaky', 'Invalid Input Error: feed for 2024-01-02 is missing'), { ...failed('flaky', 'Invalid Input Error: feed for 2024-01-04 is missing'), task_id: 'flaky@2024-01-04' }, { ...failed('flaky', 'Invalid Input Error: feed for 2024-01-02 is missing'), task_id: 'flaky@2024-01-05' }],
      new Map(),
      () => 'models/flaky.sql',
    );
    expect(groups).toHaveLength(1);
    expect(groups[0].error).toBe('Invalid Input Error: feed for 2024-01-02 is missing');
    expect(groups[0].tasks.map((t) => [t.task_id, t.error])).toEqual([
      ['flaky@2024-01-02', undefined],
      ['flaky@2024-01-04', 'Invalid Input Error: feed for 2024-01-04 is missing'],
      ['flaky@2024-01-05', undefined],
    ]);
  });

  it('points at the node\'s file when the error names no place', () => {
    expect(groupFailures([failed('a', 'IO Error: disk full')], new Map(), () => 'models/a.sql')[0].tasks[0].at).toBe('models/a.sql');
    expect(groupFailures([failed('gone', 'IO Error: disk full')], new Map(), () => undefined)[0].tasks[0].at).toBeNull();
  });
});
