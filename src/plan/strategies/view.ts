import type { Step } from '../task.js';
import type { StrategyInput } from './strategy.js';

/** `view`: create or replace the view in one transaction (replacing a table of the same name if needed). */
export function viewStrategy(input: StrategyInput): Step[] {
  const drop = input.existing === 'table' ? [`DROP TABLE IF EXISTS ${input.relation}`] : [];
  return [{ kind: 'publish', statements: [...drop, `CREATE OR REPLACE VIEW ${input.relation} AS\n${input.sql}`] }];
}
