import { didYouMean } from '../diagnostics/suggest.js';
import { queryRows } from '../sql/sql-text.js';
import type { ColumnUse, Task } from './task.js';

/**
 * Why `use` fails: its column is not among `columns`, those of `owner` (the task's own rows
 * when `produced`, else another model's). One wording for the check before anything runs
 * (`message` and `hint`) and the one as the task runs (`inOneLine`, with the columns).
 */
export function missingColumn(use: ColumnUse, owner: string, columns: readonly string[], produced: boolean): { message: string; hint: string; inOneLine: string } {
  const message = `${use.namedBy} names column '${use.column}', which ${owner} does not ${produced ? 'produce' : 'have'}`;
  const suggestion = didYouMean(use.column, columns);
  return {
    message,
    hint: suggestion ?? `${owner} ${produced ? 'produces' : 'has'}: ${columns.join(', ')}`,
    inOneLine: `${message}${suggestion ? `; ${suggestion}` : ''} (columns: ${columns.join(', ')})`,
  };
}

/**
 * The query that gives a task's rows (its model's, with the columns its table gets: see
 * queryRows), or its relation's for a task that builds nothing (`pipe test`).
 */
export function ownQuery(task: Task): string {
  return task.kind === 'test' || task.sql === undefined ? `SELECT * FROM ${task.relation}` : queryRows(task.sql);
}
