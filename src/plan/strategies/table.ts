import type { Step } from '../task.js';
import { SQL, type StrategyInput } from './strategy.js';

/**
 * `table`: build the whole result into a staging table, then in one transaction drop the
 * published table and rename the staging table into its place. Readers on other
 * connections see the old table until the commit and the new one after it.
 */
export function tableStrategy(input: StrategyInput): Step[] {
  return [
    { kind: 'statement', sql: SQL.stageTable(input.stagingRelation, input.sql), countsRows: true, rowsOf: input.stagingRelation },
    { kind: 'publish', statements: [...SQL.swapIn(input.stagingRelation, input.relation, input.name, input.existing)] },
    { kind: 'cleanup', sql: SQL.dropTable(input.stagingRelation) },
  ];
}
