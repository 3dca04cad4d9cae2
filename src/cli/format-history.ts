import { firstLine } from '../util/first-line.js';
import type { HeldBy, History } from '../commands/inspect.js';
import { datesOf, readStoredParams, storedDates, storedJson } from '../commands/stored-params.js';
import { formatDuration } from '../logging/text-logger.js';
import { textTable as table } from '../logging/width.js';
import type { LoggedRun, LoggedTask } from '../run-log/run-log-reader.js';
import type { TaskRow } from '../warehouse/run-state.js';

/** The one line that says history comes from the run logs, and why. */
export function heldNotice(held: HeldBy): string {
  const who = held.pid !== undefined ? `pid ${held.pid}${held.what ? ` (${held.what})` : ''}` : (held.what ?? 'another process');
  return `warehouse in use by ${who}: showing live run logs`;
}

const TASK_HEADER = ['TASK', 'KIND', 'STATUS', 'ATTEMPTS', 'ROWS', 'STARTED', 'ENDED', 'WORKER', 'DETAIL'];

function taskCells(t: TaskRow | LoggedTask): string[] {
  return [t.task_id, t.kind, t.status, t.attempts === null || t.attempts === undefined ? '' : String(t.attempts), t.rows === null ? '' : String(t.rows), t.started_at ?? '', t.ended_at ?? '', workerCell(t), firstLine(t.error ?? t.detail ?? '')];
}

/** The `pipe worker` that ran the task (a distributed backfill), else the run's thread. */
function workerCell(t: TaskRow | LoggedTask): string {
  if ('runner' in t && t.runner !== null) return t.runner;
  return t.worker === null ? '' : String(t.worker);
}

/** A logged run as a JSON line: its counts and times, without its tasks. */
function loggedRunJson(r: LoggedRun): string {
  const { task_rows: _tasks, params, ...run } = r;
  const read = params === null ? undefined : readStoredParams({ run_id: r.run_id, command: r.command, params });
  return JSON.stringify({ type: 'run', source: 'run-log', ...run, params: read && 'params' in read ? storedJson(read.params) : null });
}

function loggedDates(r: LoggedRun): string {
  return r.params === null ? '?' : storedDates({ run_id: r.run_id, command: r.command, params: r.params });
}

const elapsed = (r: LoggedRun) => (r.elapsed_ms === null ? '' : formatDuration(r.elapsed_ms));

/** One line of a logged run's progress. */
function progressLine(r: LoggedRun): string {
  const parts = [`${r.succeeded + r.skipped} of ${r.tasks} tasks done`, `${r.failed} failed`, `${r.running} running`];
  return `run ${r.run_id} (${r.command}${r.pipeline ? ` ${r.pipeline}` : ''}, ${r.status}${r.elapsed_ms === null ? '' : `, ${elapsed(r)}`}): ${parts.join(', ')}`;
}

export function formatHistory(h: History, json: boolean): string {
  switch (h.kind) {
    case 'runs':
      if (json) return h.runs.map((r) => JSON.stringify({ type: 'run', ...r.run, params: r.params ? storedJson(r.params) : null })).join('\n');
      if (h.runs.length === 0) return 'no runs yet';
      return table(
        ['RUN', 'COMMAND', 'STATUS', 'STARTED', 'DURATION', 'DATES', 'TASKS', 'OK', 'FAILED', 'SKIPPED', 'CANCELLED', 'REMAINING'],
        h.runs.map(({ run: r, params }) => [
          `${r.run_id}${r.parent_run_id ? ` ← ${r.parent_run_id}` : ''}`,
          `${r.command}${r.pipeline ? ` ${r.pipeline}` : ''}`,
          r.retried_by ? `${r.status}, retried (${r.retry_status})` : r.completed_by ? `${r.status}, completed by ${r.completed_by}` : r.status,
          r.started_at,
          // An interrupted run's process died: when it stopped is not known, only its last recorded moment.
          r.duration_ms === null || r.status === 'interrupted' ? '' : formatDuration(r.duration_ms),
          datesOf(params),
          String(r.tasks),
          String(r.succeeded),
          String(r.failed),
          String(r.skipped),
          String(r.cancelled),
          String(r.pending),
        ]),
      );
    case 'tasks':
      if (json) return h.tasks.map((t) => JSON.stringify({ type: 'task', run_id: h.runId, ...t })).join('\n');
      return `run ${h.runId}\n${table(TASK_HEADER, h.tasks.map(taskCells))}`;
    case 'live-runs':
      if (json) return h.runs.map(loggedRunJson).join('\n');
      if (h.runs.length === 0) return 'no run logs yet';
      return table(
        ['RUN', 'COMMAND', 'STATUS', 'STARTED', 'ELAPSED', 'DATES', 'TASKS', 'OK', 'FAILED', 'RUNNING', 'SKIPPED', 'CANCELLED', 'REMAINING'],
        h.runs.map((r) => [
          `${r.run_id}${r.parent_run_id ? ` ← ${r.parent_run_id}` : ''}`,
          `${r.command}${r.pipeline ? ` ${r.pipeline}` : ''}`,
          r.status,
          r.started_at,
          elapsed(r),
          loggedDates(r),
          String(r.tasks),
          String(r.succeeded),
          String(r.failed),
          String(r.running),
          String(r.skipped),
          String(r.cancelled),
          String(r.pending),
        ]),
      );
    case 'live-tasks':
      if (json) return [loggedRunJson(h.run), ...h.run.task_rows.map((t) => JSON.stringify({ type: 'task', source: 'run-log', run_id: h.run.run_id, ...t }))].join('\n');
      return `${progressLine(h.run)}\n${table(TASK_HEADER, h.run.task_rows.map(taskCells))}`;
    default: {
      const never: never = h;
      throw new Error(`internal error: history ${JSON.stringify(never)}`);
    }
  }
}
