import type { History } from '../commands/inspect.js';
import { textTable as table } from '../logging/width.js';

export function formatHistory(h: History, json: boolean): string {
  if (h.kind === 'runs') {
    if (json) return h.runs.map((r) => JSON.stringify({ type: 'run', ...r, params: JSON.parse(r.params) })).join('\n');
    if (h.runs.length === 0) return 'no runs yet';
    return table(
      ['RUN', 'COMMAND', 'STATUS', 'STARTED', 'DATES', 'TASKS', 'OK', 'FAILED', 'SKIPPED', 'CANCELLED', 'REMAINING'],
      h.runs.map((r) => {
        const p = JSON.parse(r.params) as { ds?: string; start?: string; end?: string };
        return [
          `${r.run_id}${r.parent_run_id ? ` ← ${r.parent_run_id}` : ''}`,
          `${r.command}${r.pipeline ? ` ${r.pipeline}` : ''}`,
          r.retried_by ? `${r.status}, retried (${r.retry_status})` : r.completed_by ? `${r.status}, completed by ${r.completed_by}` : r.status,
          r.started_at,
          p.start ? `${p.start}..${p.end}` : (p.ds ?? ''),
          String(r.tasks),
          String(r.succeeded),
          String(r.failed),
          String(r.skipped),
          String(r.cancelled),
          String(r.pending),
        ];
      }),
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
