import type { Step } from '../task.js';
import { SQL, type StrategyInput } from './strategy.js';

/** `view`: create or replace the view in one transaction (replacing a table of the same name if needed). */
export function viewStrategy(input: StrategyInput): Step[] {
  const drop = input.existing === 'table' ? SQL.dropRelation(input.relation, 'table') : [];
  return [{ kind: 'publish', statements: [...drop, SQL.createView(input.relation, input.sql)] }];
}
