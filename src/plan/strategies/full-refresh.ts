import { siblingRelation } from '../../sql/sql-text.js';
import { STAGING_PREFIX } from '../../warehouse/run-state.js';
import type { Step } from '../task.js';
import type { CheckTarget } from '../materializations.js';
import { incrementalStaging, partitionRows, partitionWrite, stageInterval, stagesRowsFirst } from './incremental.js';
import { SQL, type StrategyInput } from './strategy.js';

/**
 * A backfill's full refresh of an incremental model (`pipe backfill --full-refresh`): the
 * range is rebuilt into ONE staging table of the model, then swapped in for the published
 * table in one transaction. The published table is untouched until that commit, so a failed
 * date leaves it as it was (the swap waits for every date, and is skipped after a failure).
 *
 * A model's full refresh is three kinds of task:
 * - reset: drops the staging table an earlier attempt may have left, so its rows never leak
 *   into this one; every date waits for it;
 * - one per date: the date's rows are staged and checked like a partition replace, then
 *   replace the date in the staging table (dates on other connections share it, so it is a
 *   real table, not a temporary one);
 * - swap: drops the published table and renames the staging table into its place; checks of
 *   the whole table run inside that transaction, before the commit.
 *
 * The staging table is pipe's scratch space: crash recovery drops it. A retry therefore
 * rebuilds every date of a model whose swap has not committed, never swapping in a partial
 * staging table.
 */

/** The staging table every date of a model's full refresh is built into. */
export function fullRefreshStaging(relation: string, name: string): { stagingName: string; stagingRelation: string } {
  const stagingName = `${STAGING_PREFIX}${name}__full`;
  return { stagingName, stagingRelation: siblingRelation(relation, stagingName) };
}

/** The ids of a model's first and last task of a full refresh; its dates keep their usual ids. */
export function fullRefreshTaskIds(name: string): { reset: string; swap: string } {
  return { reset: `${name}@full-refresh:reset`, swap: `${name}@full-refresh:swap` };
}

export function fullRefreshResetSteps(stagingRelation: string): Step[] {
  return [{ kind: 'publish', statements: [SQL.dropTable(stagingRelation)] }];
}

/**
 * One date: its rows replace the interval in the model's staging table, written as an
 * incremental partition is (strategies/incremental.ts), the first date creating the table
 * from the query's shape. The staging table takes the query's columns: the published table's
 * are not compared, and a date whose columns differ from those of the dates before it fails.
 */
export function fullRefreshDateSteps(input: StrategyInput, stagingRelation: string): Step[] {
  if (!stagesRowsFirst(input)) return partitionWrite(stagedDateInput(input, stagingRelation));
  // Rows staged first (see stagesRowsFirst), then copied in.
  const temp = incrementalStaging(input);
  const { steps, inside } = stageInterval(input);
  const publish = SQL.replacePartition(stagingRelation, temp, inside);
  return [...steps, { kind: 'publish', statements: [...publish.statements], countsRowsAt: publish.countAt }, { kind: 'cleanup', sql: SQL.dropTable(temp) }];
}

/** What a date of a full refresh checks: its rows of the staging table inside its publishing transaction, or its staged rows. */
export function fullRefreshDateChecks(input: StrategyInput, stagingRelation: string): CheckTarget {
  if (stagesRowsFirst(input)) return { partition: incrementalStaging(input) };
  return { partition: partitionRows(stagedDateInput(input, stagingRelation)), partitionInPublish: true, columns: `(\n${input.sql}\n)` };
}

const stagedDateInput = (input: StrategyInput, stagingRelation: string): StrategyInput => ({ ...input, relation: stagingRelation, existing: undefined, onSchemaChange: 'fail' });

/** The swap: `input.stagingRelation` is the model's full-refresh staging table. */
export function fullRefreshSwapSteps(input: StrategyInput): Step[] {
  return [{ kind: 'publish', statements: [...SQL.swapIn(input.stagingRelation, input.relation, input.name, input.existing)] }];
}
