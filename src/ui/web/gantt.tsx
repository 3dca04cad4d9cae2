import type { UiTask } from '../api.js';
import { duration } from './format.js';
import { href } from './router.js';

/**
 * A run's tasks over time: a lane per task (pipe records no worker per task), in the order they
 * started, each bar from its start to its end (to now while it runs), coloured by status.
 * Tasks that never started (skipped upstream of a failure, pending) have a lane and no bar.
 */

const LANE = 22;
const LABEL = 220;
const WIDTH = 900;

export function Gantt({ runId, tasks, now, highlight }: { runId: string; tasks: readonly UiTask[]; now: number; highlight?: string }) {
  const started = tasks.filter((t) => t.start_ms !== null);
  const order = [...started].sort((a, b) => a.start_ms! - b.start_ms!).concat(tasks.filter((t) => t.start_ms === null));
  const t0 = Math.min(...started.map((t) => t.start_ms!));
  const endOf = (t: UiTask) => t.end_ms ?? (t.status === 'running' ? now : t.start_ms!);
  const t1 = Math.max(t0 + 1, ...started.map(endOf));
  const x = (ms: number) => LABEL + ((ms - t0) / (t1 - t0)) * (WIDTH - LABEL - 10);
  if (started.length === 0) return <p class="muted">No task has started yet.</p>;
  return (
    <div class="scroll">
      <svg class="gantt" data-testid="gantt" width={WIDTH} height={order.length * LANE + 24} role="img" aria-label="tasks over time">
        <text x={LABEL} y={14} class="axis">
          0
        </text>
        <text x={WIDTH - 10} y={14} class="axis" text-anchor="end">
          {duration(t1 - t0)}
        </text>
        {order.map((t, i) => {
          const y = 20 + i * LANE;
          const lane = (
            <a href={href({ page: 'run', runId, task: t.task_id })}>
              <text x={LABEL - 6} y={y + 14} text-anchor="end" class={`lane-label${t.task_id === highlight ? ' on' : ''}`}>
                {t.task_id.length > 32 ? `${t.task_id.slice(0, 31)}…` : t.task_id}
              </text>
            </a>
          );
          if (t.start_ms === null) return lane;
          const w = Math.max(2, x(endOf(t)) - x(t.start_ms));
          return (
            <>
              {lane}
              <rect class={`bar status-${t.status}${t.task_id === highlight ? ' on' : ''}`} data-task={t.task_id} x={x(t.start_ms)} y={y + 3} width={w} height={LANE - 6} rx={3}>
                <title>{`${t.task_id}: ${t.status}, ${duration(endOf(t) - t.start_ms)}${t.rows === null ? '' : `, ${t.rows} rows`}`}</title>
              </rect>
            </>
          );
        })}
      </svg>
    </div>
  );
}
