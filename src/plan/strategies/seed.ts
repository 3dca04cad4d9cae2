import { quoteLiteral } from '../../analyze/sql-text.js';
import type { Step } from '../task.js';
import type { StrategyInput } from './strategy.js';
import { tableStrategy } from './table.js';

/** The query that reads a CSV seed, with declared column types overriding inference. */
export function seedSelectSql(absPath: string, columnTypes: Readonly<Record<string, string>>): string {
  const types = Object.entries(columnTypes);
  const typeArg =
    types.length === 0 ? '' : `, types = {${types.map(([c, t]) => `${quoteLiteral(c)}: ${quoteLiteral(t)}`).join(', ')}}`;
  return `SELECT * FROM read_csv(${quoteLiteral(absPath)}, header = true, auto_detect = true${typeArg})`;
}

/** A seed is published like a table: staged, then swapped in. */
export function seedStrategy(input: StrategyInput): Step[] {
  return tableStrategy(input);
}
