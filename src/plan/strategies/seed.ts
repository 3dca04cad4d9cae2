import { quoteLiteral } from '../../sql/sql-text.js';
import type { Step } from '../task.js';
import type { StrategyInput } from './strategy.js';
import { stagedTableStrategy } from './table.js';

/** What a seed's strategy needs to know of its file. */
export interface SeedFile {
  /** Relative to the project, as errors print it. */
  readonly file: string;
  /** Whether anything follows the header line. */
  readonly rows: boolean;
  /** The columns column_types declares. */
  readonly declared?: readonly string[];
}

/**
 * A seed is published like a table: staged, then swapped in. A file with lines after its
 * header that loads no rows is refused before the swap, whatever DuckDB made of it; a column
 * whose type changed from the table it replaces is told.
 */
export function seedStrategy(input: StrategyInput, seed: SeedFile): Step[] {
  const [stage, ...staged] = stagedTableStrategy(input);
  // Its columns' types are read from its values (where column_types gives none): a reload may read another.
  const rest: Step[] = input.existing === 'table' ? [{ kind: 'type-changes', staged: input.stagingRelation, target: input.relation, ...(seed.declared?.length ? { declared: seed.declared } : {}) }, ...staged] : staged;
  if (!seed.rows) return [stage, ...rest];
  const noRows: Step = {
    kind: 'assert-empty',
    sql: `SELECT ${quoteLiteral(seed.file)} AS seed, count(*) AS rows_loaded FROM ${input.stagingRelation} HAVING count(*) = 0`,
    countSql: `SELECT count(*) AS n FROM ${input.stagingRelation}`,
    message: `rows loaded from ${seed.file}, though lines follow its header`,
  };
  return [stage, noRows, ...rest];
}
