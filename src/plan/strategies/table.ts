import type { Step } from '../task.js';
import { stagesRowsFirst } from './incremental.js';
import { SQL, type StrategyInput } from './strategy.js';

/**
 * `table`: in one transaction, create or replace the table from the query, then run the
 * checks, post-hooks and the run's records on it before the commit; a failed check rolls it
 * all back, the old table with it. Readers on other connections see the old table until the
 * commit and the new one after it, and a process killed before the commit leaves the old one:
 * the rows are written once, with no staging table to drop or rename.
 *
 * Where that cannot be, the result is built into a staging table first, then swapped in
 * (`stagedTableStrategy`): see `writesTableOnce`.
 */
export function tableStrategy(input: StrategyInput): Step[] {
  if (!writesTableOnce(input)) return stagedTableStrategy(input);
  return [{ kind: 'publish', statements: [SQL.stageTable(input.relation, input.sql)], countsRowsAt: 0, rowsOf: input.relation }];
}

/**
 * Whether a table is written straight from its query in its publishing transaction. Not when
 * a view stands under its name (it is dropped and the staged table renamed in its place), when
 * an enforced contract creates the table from its own columns before the rows go in (see
 * around-query.ts), nor when its query reads its own table or other processes write the
 * tables (see stagesRowsFirst: the transaction would hold the query, long enough to conflict
 * with their commits).
 */
export function writesTableOnce(input: Pick<StrategyInput, 'existing' | 'readsItself' | 'stagePartitions' | 'contractTable'>): boolean {
  return input.existing !== 'view' && input.contractTable !== true && !stagesRowsFirst(input);
}

/**
 * The result built into a staging table, then, in one transaction, the published table
 * dropped and the staging table renamed into its place (a seed's too, whose loaded rows are
 * asserted between the two).
 */
export function stagedTableStrategy(input: StrategyInput): Step[] {
  return [
    { kind: 'statement', sql: SQL.stageTable(input.stagingRelation, input.sql), countsRows: true, rowsOf: input.stagingRelation },
    { kind: 'publish', statements: [...SQL.swapIn(input.stagingRelation, input.relation, input.name, input.existing)] },
    { kind: 'cleanup', sql: SQL.dropTable(input.stagingRelation) },
  ];
}
