import type { UiModelTask } from '../api.js';
import { duration, rowCount } from './format.js';

/**
 * A model's recent tasks at a glance, oldest on the left: a bar per task as tall as it took,
 * coloured by its status, and under the axis a thin bar per task as tall as the rows it wrote.
 * Each is scaled to the largest of the tasks shown; a task that took no recorded time or wrote
 * no rows keeps a sliver, so that every task has a bar to hover and click.
 */

const BAR_AREA = 72;
const ROW_AREA = 22;
const GAP = 2;
const MAX_WIDTH = 900;
const AXIS = 64;

export function TaskChart({ tasks, open }: { tasks: readonly UiModelTask[]; open: (t: UiModelTask) => void }) {
  if (tasks.length === 0) return null;
  // The server sends the newest first.
  const inOrder = [...tasks].reverse();
  const longest = Math.max(1, ...inOrder.map((t) => t.duration_ms ?? 0));
  const most = Math.max(1, ...inOrder.map((t) => t.rows ?? 0));
  const step = Math.min(36, (MAX_WIDTH - AXIS) / inOrder.length);
  const width = AXIS + step * inOrder.length;
  const base = BAR_AREA + 4;
  const scaled = (v: number | null, of: number, area: number) => Math.max(2, ((v ?? 0) / of) * area);
  return (
    <svg class="task-chart" data-testid="task-chart" width={width} height={base + ROW_AREA + 6} role="img" aria-label="recent tasks: time taken and rows written">
      <text x={AXIS - 6} y={12} class="axis" text-anchor="end">
        {duration(longest)}
      </text>
      {inOrder.some((t) => t.rows !== null) && (
        <text x={AXIS - 6} y={base + ROW_AREA} class="axis" text-anchor="end">
          {rowCount(most)}
        </text>
      )}
      <line x1={AXIS} x2={width} y1={base} y2={base} class="baseline" />
      {inOrder.map((t, i) => {
        const x = AXIS + i * step + GAP / 2;
        const h = scaled(t.duration_ms, longest, BAR_AREA);
        const tip = `${t.task_id} · ${t.status} · ${duration(t.duration_ms)} · ${rowCount(t.rows)} · ${t.ended_at ?? 'not ended'} · run ${t.run_id}`;
        return (
          <g data-task-bar={t.task_id} data-status={t.status} data-run={t.run_id} onClick={() => open(t)}>
            <title>{tip}</title>
            <rect class={`bar status-${t.status}`} x={x} y={base - h} width={step - GAP} height={h} />
            <rect class="rows" x={x} y={base + 2} width={step - GAP} height={t.rows === null ? 0 : scaled(t.rows, most, ROW_AREA)} />
          </g>
        );
      })}
    </svg>
  );
}
