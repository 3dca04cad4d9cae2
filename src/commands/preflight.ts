import { error, type Diagnostic } from '../analyze/diagnostics.js';
import { didYouMean } from '../analyze/suggest.js';
import type { Task } from '../plan/task.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';

/**
 * Before anything runs: every column a check names must be produced by its model. The
 * model's query is bound, not executed (DESCRIBE). A model whose upstream is built in this
 * same run cannot be bound yet; its checks' columns are verified when its task runs.
 */
export async function preflightCheckColumns(session: WarehouseSession, tasks: readonly Task[]): Promise<Diagnostic[]> {
  const diagnostics: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const task of tasks) {
    const step = task.steps.find((s) => s.kind === 'columns');
    if (!step || step.kind !== 'columns' || seen.has(task.node)) continue;
    seen.add(task.node);
    const query = task.kind === 'test' || task.sql === undefined ? `SELECT * FROM ${task.relation}` : task.sql;
    let columns: string[];
    try {
      columns = (await session.query(`DESCRIBE ${query}`)).map((r) => String(r.column_name));
    } catch {
      continue;
    }
    const have = new Set(columns.map((c) => c.toLowerCase()));
    for (const use of step.expected) {
      if (have.has(use.column.toLowerCase())) continue;
      diagnostics.push(
        error('unknown-column', `check ${use.check} names column '${use.column}', which ${task.node} does not produce`, use.location, {
          hint: didYouMean(use.column, columns) ?? `${task.node} produces: ${columns.join(', ')}`,
        }),
      );
    }
  }
  return diagnostics;
}
