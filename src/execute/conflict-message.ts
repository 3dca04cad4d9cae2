import type { TaskError } from '../events/events.js';
import type { Task } from '../plan/task.js';
import { quoteLiteral } from '../sql/sql-text.js';
import { STATE_SCHEMA } from '../warehouse/run-state.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';

/** DuckLake's (and DuckDB's) words for a commit that lost to another transaction's. */
const CONFLICT = /transaction conflict|write-write conflict/i;

/**
 * A task whose commit lost to another transaction writing the same relation (two runs building
 * one table at once, on a lake several processes write) fails with the engine's words for it,
 * which name neither the other writer nor what to do: said here in words, naming the runs still
 * running that build the same model (from the run state), and how to build it again.
 */
export async function explainConflict(error: TaskError, task: Task, runId: string, session: WarehouseSession, lake: boolean): Promise<TaskError> {
  if (!CONFLICT.test(error.message)) return error;
  const others = await session
    .query(
      `SELECT DISTINCT r.run_id, r.command, r.host, r.pid FROM ${STATE_SCHEMA}.runs r JOIN ${STATE_SCHEMA}.tasks t ON t.run_id = r.run_id
       WHERE r.status = 'running' AND r.run_id <> ${quoteLiteral(runId)} AND t.node = ${quoteLiteral(task.node)} ORDER BY r.run_id`,
    )
    .catch(() => []);
  const who =
    others.length > 0
      ? others.map((r) => `run ${String(r.run_id)} (pipe ${String(r.command)}${r.host ? ` on ${String(r.host)}:${String(r.pid)}` : ''})`).join(', ') + ', still running,'
      : 'another run';
  return {
    ...error,
    message:
      // No date nor staging name in it: the dates one other run took read as one error.
      `${who} builds ${task.node} at the same time, and this task's commit lost to it (a transaction conflict on the ${lake ? 'lake' : 'warehouse'}); ` +
      `nothing of this task was published: pipe retry ${runId} builds it again, after that run if both must not overlap`,
  };
}
