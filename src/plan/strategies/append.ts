import type { Step } from '../task.js';
import { incrementalStaging, publishStaged } from './incremental.js';
import { SQL, type StrategyInput } from './strategy.js';

/**
 * `append` (dbt's strategy without a key or partition, the query choosing the new rows with an
 * is_incremental() filter): the run's rows are staged in a temporary table, then ONE
 * transaction adds them to the table. A staged row the table already holds, equal in every
 * column, NULL to NULL, fails the task before anything is published: it is what a re-run of the
 * same rows, or a filter that takes the last rows again (`>=` a maximum), would add a second
 * time, which dbt appends unseen. So a re-run adds only what the table lacks, and running twice
 * leaves the table as running once. The comparison runs inside the publishing transaction,
 * after any change of the table's columns and before the insert, on the staged columns as the
 * task finds them (see the schema-change step); it reads the whole table: an append costs a
 * scan of its table per run.
 */
export function appendStrategy(input: StrategyInput): Step[] {
  const staging = incrementalStaging(input);
  return [
    { kind: 'statement', sql: SQL.stageTempTable(input.stagingName, input.sql), countsRows: true, rowsOf: staging },
    ...publishStaged(input, SQL.appendRows(input.relation, staging), { newRowsOnly: ALREADY_HELD }),
  ];
}

const fix =
  'an append model returns only rows its table lacks: filter them with {% if is_incremental() %} where <column> > (select max(<column>) from {{ this }}) {% endif %} (>, not >=), ' +
  'or set unique_key to replace rows by key, or partition_by to replace the dates a run covers ' +
  "(in the model's config, its properties file or dbt_project.yml: they apply to a query a package's macro writes too)";

/** What a task says of the staged rows its table holds. */
const ALREADY_HELD = {
  message: `staged rows the table already holds, equal in every column: appending them would hold each twice; ${fix}`,
  one: `staged row the table already holds, equal in every column: appending it would hold it twice; ${fix}`,
} as const;
