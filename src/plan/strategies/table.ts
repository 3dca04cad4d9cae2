import { quoteIdent } from '../../sql/sql-text.js';
import type { Step } from '../task.js';
import type { StrategyInput } from './strategy.js';

/** Drops whatever stands under the name; DuckDB wants DROP VIEW for a view and DROP TABLE for a table. */
export function dropExisting(input: StrategyInput): string[] {
  if (input.existing === 'view') return [`DROP VIEW IF EXISTS ${input.relation}`];
  if (input.existing === 'table') return [`DROP TABLE IF EXISTS ${input.relation}`];
  return [];
}

/**
 * `table`: build the whole result into a staging table, then in one transaction drop the
 * published table and rename the staging table into its place. Readers on other
 * connections see the old table until the commit and the new one after it.
 */
export function tableStrategy(input: StrategyInput): Step[] {
  return [
    { kind: 'statement', sql: `CREATE OR REPLACE TABLE ${input.stagingRelation} AS\n${input.sql}`, countsRows: true, rowsOf: input.stagingRelation },
    {
      kind: 'publish',
      statements: [...dropExisting(input), `ALTER TABLE ${input.stagingRelation} RENAME TO ${quoteIdent(input.name)}`],
    },
    { kind: 'cleanup', sql: `DROP TABLE IF EXISTS ${input.stagingRelation}` },
  ];
}
