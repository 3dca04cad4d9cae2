import { describe, it } from 'vitest';
import { dayInterval, parseDate } from '../../src/dates/dates.js';
import { aroundQuery, type AroundQuery } from '../../src/plan/strategies/around-query.js';
import { externalStrategy } from '../../src/plan/strategies/external.js';
import type { StrategyInput } from '../../src/plan/strategies/strategy.js';
import { incrementalStrategy } from '../../src/plan/strategies/incremental.js';
import { tableStrategy } from '../../src/plan/strategies/table.js';
import { viewStrategy } from '../../src/plan/strategies/view.js';
import { expectSql, renderSteps } from './helpers.js';

/**
 * What a dbt model runs around its query (hooks, sql_header, contract, persist_docs), placed
 * among its materialization's steps, and an external model's steps; compared with the files in
 * expected/.
 */

const day = dayInterval(parseDate('2024-01-02')!);
const query = 'select order_id, amount\nfrom "main"."stg_orders"';
const at = (line: number) => ({ file: 'models/fct_orders.sql', line });

const input: StrategyInput = {
  schema: 'main',
  name: 'fct_orders',
  relation: '"main"."fct_orders"',
  stagingName: '__pipe_stage__fct_orders__20240102',
  stagingRelation: '"main"."__pipe_stage__fct_orders__20240102"',
  existing: 'table',
  sql: query,
  interval: day,
  partitionBy: 'order_date',
  fullRefresh: false,
  root: '/project',
  runId: '20240103T020000-ab12',
};

const hooks: AroundQuery = {
  pre: [
    { sql: "insert into audit values ('pre')", transaction: true, label: 'pre-hook 1', location: at(1) },
    { sql: 'set threads = 2', transaction: false, label: 'pre-hook 2', location: at(2) },
  ],
  post: [
    { sql: 'insert into audit select count(*) from "main"."fct_orders"', transaction: true, label: 'post-hook 1', location: at(3) },
    { sql: 'checkpoint', transaction: false, label: 'post-hook 2', location: at(4) },
  ],
  header: { sql: "set variable region = 'eu'", location: at(5) },
  docs: { kind: 'persist-docs', relation: '"main"."fct_orders"', relationKind: 'table', description: 'the orders', columns: [{ name: 'amount', description: 'in cents' }] },
};

const contract: AroundQuery['contract'] = {
  sql: query,
  columns: [
    { name: 'order_id', dataType: 'bigint', location: at(10) },
    { name: 'amount', dataType: 'integer', location: at(12) },
  ],
  location: at(8),
};

describe('around the query', () => {
  it('a table with pre-hooks is built inside its publishing transaction, after them', () => {
    expectSql('around-table-hooks', renderSteps(aroundQuery(tableStrategy(input), hooks)));
  });

  it('a table with post-hooks only is written in its publishing transaction, before them', () => {
    expectSql('around-table-post-hooks', renderSteps(aroundQuery(tableStrategy(input), { ...hooks, pre: [] })));
  });

  it('a table whose query reads itself is staged before the transaction opens, the post-hooks inside it', () => {
    expectSql('around-table-staged-post-hooks', renderSteps(aroundQuery(tableStrategy({ ...input, readsItself: true }), { ...hooks, pre: [] })));
  });

  it("an enforced contract is checked before the query, and a table created with the contract's columns and constraints", () => {
    const table = { staging: input.stagingRelation, constraints: new Map([['order_id', ['NOT NULL']]]), tableConstraints: ['PRIMARY KEY (order_id)'] };
    expectSql('around-table-contract', renderSteps(aroundQuery(tableStrategy({ ...input, contractTable: true }), { pre: [], post: [], contract: { ...contract, table } })));
  });

  it('a view: header and contract before the transaction, hooks inside it', () => {
    expectSql('around-view', renderSteps(aroundQuery(viewStrategy(input), { ...hooks, contract })));
  });

  it('an incremental model: the partition replace in the transaction, after its pre-hooks', () => {
    expectSql('around-incremental', renderSteps(aroundQuery(incrementalStrategy(input), { ...hooks, docs: undefined })));
  });

  it('an external model: staged, written beside its file and renamed, its view in the transaction', () => {
    expectSql('external-csv', renderSteps(externalStrategy(input, { ...EXTERNAL, location: 'out/orders.csv', format: 'csv', delimiter: '|' })));
  });
});

const EXTERNAL = {
  materialized: 'external',
  format: 'parquet',
  tags: [],
  depends_on_past: false,
  schema: 'main',
  enabled: true,
  pre_hook: [],
  post_hook: [],
  persist_docs: { relation: false, columns: false },
  contract: false,
} as const;
