import { describe, expect, it } from 'vitest';
import { dayInterval, hourInterval, parseDate } from '../../src/dates/dates.js';
import type { RelationType } from '../../src/warehouse/run-state.js';
import { incrementalStrategy } from '../../src/plan/strategies/incremental.js';
import { uniqueKeyStrategy } from '../../src/plan/strategies/unique-key.js';
import { MATERIALIZATIONS } from '../../src/plan/materializations.js';
import { fullRefreshDateSteps, fullRefreshResetSteps, fullRefreshStaging, fullRefreshSwapSteps } from '../../src/plan/strategies/full-refresh.js';
import { seedStrategy } from '../../src/plan/strategies/seed.js';
import { DUCKDB } from '../../src/warehouse/duckdb/dialect.js';
import type { StrategyInput } from '../../src/plan/strategies/strategy.js';
import { tableStrategy } from '../../src/plan/strategies/table.js';
import { viewStrategy } from '../../src/plan/strategies/view.js';
import { expectSql, microbatchConfig, renderSteps } from './helpers.js';

/**
 * The statements each materialization produces, compared with the files in expected/. A
 * change of generated SQL shows up as a change of those files in review.
 */

const day = dayInterval(parseDate('2024-01-02')!);
const query = "select order_id, customer_id, order_date, amount\nfrom \"main\".\"stg_orders\"\nwhere order_date = '2024-01-02'";

function input(existing: RelationType | undefined, over: Partial<StrategyInput> = {}): StrategyInput {
  return {
    schema: 'main',
    name: 'fct_orders',
    relation: '"main"."fct_orders"',
    stagingName: '__pipe_stage__fct_orders__20240102',
    stagingRelation: '"main"."__pipe_stage__fct_orders__20240102"',
    existing,
    sql: query,
    interval: day,
    partitionBy: 'order_date',
    fullRefresh: false,
    ...over,
  };
}

describe('table strategy SQL', () => {
  it('first build: written from the query in its publishing transaction', () => {
    expectSql('table-first', renderSteps(tableStrategy(input(undefined))));
  });

  it('over a table: replaced from the query in its publishing transaction', () => {
    expectSql('table-over-table', renderSteps(tableStrategy(input('table'))));
  });

  it('a query that reads its own table, or tables other processes write: stage, then drop and rename in one transaction', () => {
    expectSql('table-staged', renderSteps(tableStrategy(input('table', { readsItself: true }))));
    expect(renderSteps(tableStrategy(input('table', { stagePartitions: true })))).toBe(renderSteps(tableStrategy(input('table', { readsItself: true }))));
  });

  it('over a view of the same name: the view is dropped as a view', () => {
    expectSql('table-over-view', renderSteps(tableStrategy(input('view'))));
  });

  it('in another schema, with names that need quoting', () => {
    expectSql(
      'table-quoted-names',
      renderSteps(
        tableStrategy({
          ...input('table'),
          schema: 'mart',
          name: 'odd"name',
          relation: '"mart"."odd""name"',
          stagingName: '__pipe_stage__odd"name__20240102',
          stagingRelation: '"mart"."__pipe_stage__odd""name__20240102"',
        }),
      ),
    );
  });
});

describe('view strategy SQL', () => {
  it('creates or replaces the view', () => {
    expectSql('view-first', renderSteps(viewStrategy(input(undefined))));
  });

  it('replaces a table of the same name', () => {
    expectSql('view-over-table', renderSteps(viewStrategy(input('table'))));
  });
});

describe('incremental strategy SQL', () => {
  it('first build: the table is created from the shape of the query, then written like a partition', () => {
    expectSql('incremental-first', renderSteps(incrementalStrategy(input(undefined))));
  });

  it('over its table: delete the interval and insert the rows of the query in one transaction, refusing a row outside it', () => {
    expectSql('incremental-over-table', renderSteps(incrementalStrategy(input('table'))));
  });

  it('with --full-refresh: the table is dropped and rebuilt from the interval', () => {
    expectSql('incremental-full-refresh', renderSteps(incrementalStrategy(input('table', { fullRefresh: true }))));
  });

  it('over a view of the same name: the view is dropped', () => {
    expectSql('incremental-over-view', renderSteps(incrementalStrategy(input('view'))));
  });

  it('on a lake other processes write: the rows are staged first, so that a publish refused by another commit only deletes and inserts again', () => {
    expectSql('incremental-shared-lake', renderSteps(incrementalStrategy(input('table', { stagePartitions: true }))));
  });

  it('for one hour: the interval bounds are the hour', () => {
    const hour = hourInterval(Date.parse('2024-01-02T13:00:00Z'));
    expectSql(
      'incremental-hourly',
      renderSteps(
        incrementalStrategy(
          input('table', {
            interval: hour,
            partitionBy: 'event_time',
            stagingName: '__pipe_stage__fct_orders__20240102T13',
            stagingRelation: '"main"."__pipe_stage__fct_orders__20240102T13"',
          }),
        ),
      ),
    );
  });
});

describe('unique_key strategies SQL', () => {
  const latest = "select order_id, status, updated_at\nfrom \"main\".\"stg_order_updates\"\nwhere updated_at >= '2024-01-02'";

  it('merge: stage, refuse NULL and shared keys, then one MERGE by the key in one transaction', () => {
    expectSql('unique-key-merge', renderSteps(uniqueKeyStrategy(input('table', { sql: latest, interval: undefined, partitionBy: undefined }), ['order_id'], 'merge')));
  });

  it('delete+insert on a composite key, first build: the table is created from the staged rows; NULL keys refused, shared keys kept', () => {
    expectSql(
      'unique-key-delete-insert',
      renderSteps(uniqueKeyStrategy(input(undefined, { sql: latest, interval: undefined, partitionBy: undefined }), ['order_id', 'status'], 'delete+insert')),
    );
  });
});

describe('microbatch SQL', () => {
  it("one hour's batch, its input read for the batch: a partition replace of event_time", () => {
    const hour = hourInterval(Date.parse('2024-01-02T13:00:00Z'));
    const config = microbatchConfig();
    const batch = input('table', {
      sql: `select event_id, event_at\nfrom (SELECT * FROM "main"."events" WHERE ${DUCKDB.inInterval('event_at', hour.start, hour.end)})`,
      interval: hour,
      stagingName: '__pipe_stage__fct_events__20240102T13',
      stagingRelation: '"main"."__pipe_stage__fct_events__20240102T13"',
    });
    expectSql('microbatch-hourly', renderSteps(MATERIALIZATIONS.microbatch.strategy(batch, config)));
  });
});

describe('backfill --full-refresh SQL', () => {
  it('resets the staging table, builds each date into it, then swaps it in for the table in one transaction', () => {
    const { stagingRelation } = fullRefreshStaging('"main"."fct_orders"', 'fct_orders');
    expectSql(
      'incremental-full-refresh-staged',
      [
        '-- reset\n' + renderSteps(fullRefreshResetSteps(stagingRelation)),
        '-- a date\n' + renderSteps(fullRefreshDateSteps(input('table', { fullRefresh: true }), stagingRelation)),
        '-- swap\n' + renderSteps(fullRefreshSwapSteps({ ...input('table', { fullRefresh: true }), ...fullRefreshStaging('"main"."fct_orders"', 'fct_orders') })),
      ].join('\n'),
    );
  });

  it('on a lake other processes write: each date is staged before its transaction, as a partition is', () => {
    const { stagingRelation } = fullRefreshStaging('"main"."fct_orders"', 'fct_orders');
    expectSql('incremental-full-refresh-shared-lake', renderSteps(fullRefreshDateSteps(input('table', { fullRefresh: true, stagePartitions: true }), stagingRelation)));
  });
});

describe('seed strategy SQL', () => {
  it('reads the CSV with declared column types, published like a table', () => {
    const sql = DUCKDB.seedSelect({ absPath: '/srv/shop/seeds/raw_orders.csv', columnTypes: { price_cents: 'INTEGER', "it's": 'VARCHAR' } });
    expectSql('seed-column-types', renderSteps(seedStrategy({ ...input('table'), name: 'raw_orders', relation: '"main"."raw_orders"', stagingName: '__pipe_stage__raw_orders', stagingRelation: '"main"."__pipe_stage__raw_orders"', sql, interval: undefined, partitionBy: undefined }, { file: 'seeds/raw_orders.csv', rows: true })));
  });

  it('reads the CSV with inferred types when none are declared', () => {
    const sql = DUCKDB.seedSelect({ absPath: "/srv/shop/seeds/o'brien.csv", columnTypes: {} });
    expectSql('seed-inferred', renderSteps(seedStrategy({ ...input(undefined), name: 'obrien', relation: '"main"."obrien"', stagingName: '__pipe_stage__obrien', stagingRelation: '"main"."__pipe_stage__obrien"', sql, interval: undefined, partitionBy: undefined }, { file: "seeds/o'brien.csv", rows: false })));
  });
});
