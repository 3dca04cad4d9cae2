import type { UiTask } from '../api.js';
import { duration, rowCount } from './format.js';
import { href } from './router.js';

/**
 * A run's tasks over time, each bar from its start to its end (to now while it runs), coloured
 * by status. A lane per worker (the run's threads) when the run recorded which ran each task;
 * else (a run of an earlier pipe) a lane per task, in the order they started, where tasks that
 * never started (skipped upstream of a failure, pending) have a lane and no bar.
 */

const LANE = 22;
const LABEL = 220;
const WIDTH = 900;

interface Lane {
  readonly key: string;
  readonly label: string;
  /** A lane of one task links to it. */
  readonly task?: string;
  readonly tasks: readonly UiTask[];
}

export function lanesOf(tasks: readonly UiTask[]): Lane[] {
  const started = tasks.filter((t) => t.start_ms !== null);
  if (started.some((t) => t.worker !== null)) {
    const most = Math.max(...started.map((t) => t.worker ?? 0));
    const lanes: Lane[] = Array.from({ length: most }, (_, i) => ({ key: `worker-${i + 1}`, label: `worker ${i + 1}`, tasks: started.filter((t) => t.worker === i + 1) }));
    const unknown = started.filter((t) => t.worker === null);
    return unknown.length > 0 ? [...lanes, { key: 'worker-unknown', label: 'worker not recorded', tasks: unknown }] : lanes;
  }
  const order = [...started].sort((a, b) => a.start_ms! - b.start_ms!).concat(tasks.filter((t) => t.start_ms === null));
  return order.map((t) => ({ key: t.task_id, label: t.task_id, task: t.task_id, tasks: [t] }));
}

export function Gantt({ runId, tasks, now, highlight }: { runId: string; tasks: readonly UiTask[]; now: number; highlight?: string }) {
  const started = tasks.filter((t) => t.start_ms !== null);
  const lanes = lanesOf(tasks);
  const t0 = Math.min(...started.map((t) => t.start_ms!));
  const endOf = (t: UiTask) => t.end_ms ?? (t.status === 'running' ? now : t.start_ms!);
  const t1 = Math.max(t0 + 1, ...started.map(endOf));
  const x = (ms: number) => LABEL + ((ms - t0) / (t1 - t0)) * (WIDTH - LABEL - 10);
  if (started.length === 0) return <p class="muted">No task has started yet.</p>;
  return (
    <div class="scroll">
      <svg class="gantt" data-testid="gantt" width={WIDTH} height={lanes.length * LANE + 24} role="img" aria-label="tasks over time">
        <text x={LABEL} y={14} class="axis">
          0
        </text>
        <text x={WIDTH - 10} y={14} class="axis" text-anchor="end">
          {duration(t1 - t0)}
        </text>
        {lanes.map((lane, i) => {
          const y = 20 + i * LANE;
          const text = (
            <text x={LABEL - 6} y={y + 14} text-anchor="end" data-lane={lane.key} class={`lane-label${lane.task !== undefined && lane.task === highlight ? ' on' : ''}`}>
              {lane.label.length > 32 ? `${lane.label.slice(0, 31)}…` : lane.label}
            </text>
          );
          return (
            <>
              {lane.task !== undefined ? <a href={href({ page: 'run', runId, task: lane.task })}>{text}</a> : text}
              {lane.tasks
                .filter((t) => t.start_ms !== null)
                .map((t) => (
                  <a href={href({ page: 'run', runId, task: t.task_id })}>
                    <rect
                      class={`bar status-${t.status}${t.task_id === highlight ? ' on' : ''}`}
                      data-task={t.task_id}
                      data-worker={t.worker ?? undefined}
                      x={x(t.start_ms!)}
                      y={y + 3}
                      width={Math.max(2, x(endOf(t)) - x(t.start_ms!))}
                      height={LANE - 6}
                      rx={3}
                    >
                      <title>{`${t.task_id}: ${t.status}, ${duration(endOf(t) - t.start_ms!)}${t.rows === null ? '' : `, ${rowCount(t.rows)}`}${t.worker === null ? '' : `, worker ${t.worker}`}`}</title>
                    </rect>
                  </a>
                ))}
            </>
          );
        })}
      </svg>
    </div>
  );
}
