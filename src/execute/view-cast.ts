import type { TaskError } from '../events/events.js';
import type { Task } from '../plan/task.js';
import { escapeRegExp } from '../sql/sql-text.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';

/** How task-errors.ts says a cast failed in a view the query reads (see withoutLine). */
const OF_A_VIEW = 'the error is of a view the query reads, directly or not)';

/**
 * A cast that failed in a view the task's query reads, directly or through other views (DuckDB
 * numbers the view's text as the query's, so no line of the model is at fault): the views of
 * the warehouse that query reaches and that cast the column DuckDB names, said with the error,
 * so that the user knows which model to open. The error as it is where none is found.
 */
export async function explainViewCast(error: TaskError, task: Task, session: WarehouseSession): Promise<TaskError> {
  if (!error.message.includes(OF_A_VIEW) || task.sql === undefined) return error;
  const column = /when casting from source column (.+)$/m.exec(error.message)?.[1].trim();
  if (column === undefined) return error;
  const views = await session
    .query(`SELECT schema_name, view_name, sql FROM duckdb_views() WHERE NOT internal AND database_name = current_database()`)
    .catch(() => []);
  const named = views.map((v) => ({ schema: String(v.schema_name), name: String(v.view_name), sql: String(v.sql ?? '') }));
  const mentions = (text: string, v: { schema: string; name: string }) => {
    const lower = text.toLowerCase();
    return lower.includes(`"${v.schema.toLowerCase()}"."${v.name.toLowerCase()}"`) || new RegExp(`\\b${escapeRegExp(v.schema)}\\.${escapeRegExp(v.name)}\\b`, 'i').test(text);
  };
  // The views the query reads, and those they read in turn.
  const reached = new Set<(typeof named)[number]>();
  const queue = named.filter((v) => mentions(task.sql!, v));
  for (let v = queue.shift(); v !== undefined; v = queue.shift()) {
    if (reached.has(v)) continue;
    reached.add(v);
    queue.push(...named.filter((w) => !reached.has(w) && mentions(v.sql, w)));
  }
  const name = escapeRegExp(column.replace(/^"|"$/g, ''));
  const casts = new RegExp(`(?:try_)?cast\\s*\\(\\s*(?:\\w+\\.)?"?${name}"?\\s+as\\b|(?:\\w+\\.)?"?${name}"?\\s*::`, 'i');
  const culprits = [...reached].filter((v) => casts.test(v.sql)).map((v) => `${v.schema}.${v.name}`);
  if (culprits.length === 0) return error;
  const which = culprits.length === 1 ? `the view ${culprits[0]} casts ${column}` : `the views ${culprits.join(', ')} cast ${column}`;
  return { ...error, message: error.message.replace(OF_A_VIEW, `${OF_A_VIEW.slice(0, -1)}: ${which})`) };
}
