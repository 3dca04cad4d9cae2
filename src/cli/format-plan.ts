import type { Plan } from '../plan/plan.js';
import { isHourLabel } from '../dates/dates.js';
import { sequentialOrder } from '../plan/sequential-order.js';
import { displayWidth, padDisplay } from '../logging/width.js';

/** `pipe backfill --dry-run`: what runs for which dates, and in which order. */
export function formatPlan(
  plan: Plan,
  range: { start: string; end: string; order: string; parallel: number },
  json: boolean,
): string {
  const ordered = sequentialOrder(plan.tasks);
  if (json) {
    return ordered
      .map((t, i) =>
        JSON.stringify({ type: 'planned-task', order: i + 1, id: t.id, model: t.node, kind: t.kind, ds: t.ds, phase: t.phase, upstream: t.upstream, sql_hash: t.sqlHash }),
      )
      .join('\n');
  }
  const byModel = new Map<string, { kind: string; dates: string[]; once: boolean; fullRefresh: boolean }>();
  for (const t of plan.tasks) {
    const m = byModel.get(t.node) ?? { kind: t.kind, dates: [], once: true, fullRefresh: false };
    if (t.ds) m.dates.push(t.group ?? t.ds);
    if (t.group !== undefined) m.once = false;
    if (t.phase !== undefined) m.fullRefresh = true;
    byModel.set(t.node, m);
  }
  const dates = new Set(plan.tasks.flatMap((t) => (t.group ? [t.group] : [])));
  const unit = [...dates].some(isHourLabel) ? 'hour' : 'date';
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const lines = [
    `backfill ${range.start} → ${range.end}: ${count(plan.tasks.length, 'task')}, ${count(dates.size, unit)} of incremental models, order ${range.order}, up to ${count(range.parallel, unit)} in flight`,
    '',
    'per model:',
  ];
  const w = Math.max(...[...byModel.keys()].map(displayWidth), 5);
  for (const [name, m] of byModel) {
    const dated = `${count(m.dates.length, unit)}, ${[...m.dates].sort()[0]} … ${[...m.dates].sort().at(-1)}`;
    const what =
      m.kind === 'seed'
        ? 'once (seed)'
        : m.once
          ? `once, with ds ${m.dates[0]}, after all its upstream dates`
          : m.fullRefresh
            ? `full refresh: reset, then ${dated} into a staging table, swapped in for the table once every date succeeded`
            : dated;
    lines.push(`  ${padDisplay(name, w)}  ${m.kind.padEnd(11)}  ${what}`);
  }
  lines.push('', 'order with one worker (each task starts once everything it waits for has succeeded):');
  ordered.forEach((t, i) => {
    const after = t.after?.length ? `  (and after ${t.after.join(', ')} finish, whatever their outcome)` : '';
    lines.push(`  ${String(i + 1).padStart(4)}. ${t.id}${t.upstream.length ? `  ← ${t.upstream.join(', ')}` : ''}${after}`);
  });
  lines.push('', 'nothing was written (--dry-run)');
  return lines.join('\n');
}
