import { afterEach, describe, expect, it } from 'vitest';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { ensureState, finishRunSql, insertRunSql, insertTasksSql, laterKey, laterPublications } from '../../src/warehouse/run-state.js';
import { insertBuildSql } from '../../src/warehouse/build-records.js';
import type { WarehouseSession } from '../../src/warehouse/warehouse.js';

/**
 * What `pipe retry` finds published after the run it retries (see retry.ts): per node and the
 * relation it wrote, the latest publication. DuckDB's names are case-insensitive, so a table
 * written as `"main"."Orders"` by one run and `"main"."orders"` by a later one is one table,
 * and the later run's is its latest publication, whichever spelling came first.
 */

let warehouse: DuckDBWarehouse | undefined;
let s: WarehouseSession | undefined;
afterEach(() => {
  s?.close();
  warehouse?.close();
});

const t0 = Date.parse('2024-01-02T00:00:00Z');

async function published(spellings: readonly string[]): Promise<string | undefined> {
  warehouse = await DuckDBWarehouse.open(':memory:');
  s = await warehouse.session();
  await ensureState(s);
  // r0 is retried; r1, r2, ... published after it, each spelling the table as given.
  for (const [i, relation] of ['"main"."orders"', ...spellings].entries()) {
    const runId = `r${i}`;
    const at = t0 + i * 1000;
    await s.exec(insertRunSql({ runId, command: 'run', params: {}, startedAt: at, version: 'test' }));
    for (const sql of insertTasksSql(runId, [{ id: 'orders', node: 'orders', kind: 'table', upstream: [] }])) await s.exec(sql);
    await s.exec(
      insertBuildSql(
        { runId, taskId: 'orders', node: 'orders', key: '', sqlHash: 'h', configHash: 'c', inputs: {}, version: `v${i}`, builtAt: at + 500, relation },
        { attempt: 1, startedAt: at + 100, endedAt: at + 500 },
      ),
    );
    await s.exec(finishRunSql(runId, 'succeeded', at + 600));
  }
  const { byNode } = await laterPublications(s, 'r0', ['table']);
  return byNode.get(laterKey('orders', '"main"."orders"'))?.runId;
}

describe('the publications after a run', () => {
  it('of one table spelled in two cases, are the latest of both', async () => {
    expect(await published(['"main"."Orders"', '"main"."orders"'])).toBe('r2');
  });

  it('whichever spelling is the later one', async () => {
    expect(await published(['"main"."orders"', '"main"."Orders"'])).toBe('r2');
  });

  it('when the spelling seen first is also the latest one', async () => {
    expect(await published(['"main"."Orders"', '"main"."orders"', '"main"."Orders"'])).toBe('r3');
  });

  it('with several of each spelling, the latest of all', async () => {
    expect(await published(['"main"."orders"', '"main"."ORDERS"', '"main"."orders"', '"main"."Orders"', '"main"."oRdErS"'])).toBe('r5');
  });
});
