import type { History } from '../commands/inspect.js';
import { storedJson, type StoredParams } from '../commands/stored-params.js';
import { textTable as table } from '../logging/width.js';

/** What a run covered: a backfill's range, or the date. */
function datesOf(p: StoredParams | undefined): string {
  if (p === undefined) return '?';
  switch (p.kind) {
    case 'retry':
      return datesOf(p.of);
    case 'backfill':
      return `${p.start}..${p.end}`;
    case 'run':
    case 'watch':
    case 'test':
      return p.ds;
    default: {
      const never: never = p;
      throw new Error(`internal error: stored params ${JSON.stringify(never)}`);
    }
  }
}

export function formatHistory(h: History, json: boolean): string {
  if (h.kind === 'runs') {
    if (json) return h.runs.map((r) => JSON.stringify({ type: 'run', ...r.run, params: r.params ? storedJson(r.params) : null })).join('\n');
    if (h.runs.length === 0) return 'no runs yet';
    return table(
      ['RUN', 'COMMAND', 'STATUS', 'STARTED', 'DATES', 'TASKS', 'OK', 'FAILED', 'SKIPPED', 'CANCELLED', 'REMAINING'],
      h.runs.map(({ run: r, params }) => [
          `${r.run_id}${r.parent_run_id ? ` ← ${r.parent_run_id}` : ''}`,
          `${r.command}${r.pipeline ? ` ${r.pipeline}` : ''}`,
          r.retried_by ? `${r.status}, retried (${r.retry_status})` : r.completed_by ? `${r.status}, completed by ${r.completed_by}` : r.status,
          r.started_at,
          datesOf(params),
          String(r.tasks),
          String(r.succeeded),
          String(r.failed),
          String(r.skipped),
          String(r.cancelled),
          String(r.pending),
        ]),
    );
  }
  if (json) return h.tasks.map((t) => JSON.stringify({ type: 'task', run_id: h.runId, ...t })).join('\n');
  const body = table(
    ['TASK', 'KIND', 'STATUS', 'ROWS', 'STARTED', 'ENDED', 'ERROR'],
    h.tasks.map((t) => [
      t.task_id,
      t.kind,
      t.status,
      t.rows === null ? '' : String(t.rows),
      t.started_at ?? '',
      t.ended_at ?? '',
      (t.error ?? t.detail ?? '').split('\n')[0],
    ]),
  );
  return `run ${h.runId}\n${body}`;
}
