import { nodeOfTaskId, type Plan } from '../plan/plan.js';
import type { Task } from '../plan/task.js';
import { isHourLabel } from '../dates/dates.js';
import { renderSteps } from '../plan/render-steps.js';
import { sequentialOrder } from '../plan/sequential-order.js';
import { displayWidth, padDisplay } from '../logging/width.js';
import { lookbackReason } from '../logging/lookback-reason.js';

/** Whether a planned task would not run because what it writes is current: a model built from the same inputs, a seed unchanged since it was loaded. */
const upToDate = (t: Task) => t.noop?.reason === 'current' || t.noop?.reason === 'up-to-date';

/** Why a planned task would not run, if it would not. */
function skipped(t: Task): string | undefined {
  return t.noop?.detail ?? t.blocked;
}

/**
 * One planned task as a JSON line; with `steps`, also why it would be skipped and what it
 * would execute (the steps as data).
 */
function plannedTaskJson(t: Task, order: number, steps: boolean): string {
  const base = {
    type: 'planned-task',
    order,
    id: t.id,
    model: t.node,
    kind: t.kind,
    ds: t.ds,
    phase: t.phase,
    ...(t.lookback ? { lookback: t.lookback } : {}),
    upstream: t.upstream,
    sql_hash: t.sqlHash,
    ...(t.renderAtRun ? { rendered_at_run: true } : {}),
    ...(upToDate(t) ? { up_to_date: true } : {}),
  };
  return JSON.stringify(steps ? { ...base, after: t.after, skipped: skipped(t), steps: skipped(t) === undefined ? t.steps : [] } : base, renderedAtRun);
}

/** A check rendered again when it runs says so (`renderAtRun: true`): its render is no data. */
const renderedAtRun = (key: string, value: unknown) => (key === 'renderAtRun' ? true : value);

/** What a task waits for, after its id. */
function waitsFor(t: Task): string {
  const up = t.upstream.length ? `  ← ${tasksNamed(t.upstream)}` : '';
  return `${up}${t.after?.length ? `  (and after ${tasksNamed(t.after)} finish, whatever their outcome)` : ''}`;
}

/** A task id's date or hour (`2024-01-02`, `2024-01-02T13`), not another label (`full-refresh:swap`). */
const DATE_LABEL = /^\d{4}-\d\d-\d\d(T\d\d)?$/;

/**
 * Task ids as a line says them: more than two dates of one model (a table built once waits for
 * every date of the models it reads, a line of thousands in a long backfill) as its first and
 * last and how many, where its first id stood. `--json` lists each.
 */
export function tasksNamed(ids: readonly string[]): string {
  const labels = new Map<string, string[]>();
  const said: (string | { readonly node: string })[] = [];
  for (const id of ids) {
    const node = nodeOfTaskId(id);
    const label = id.slice(node.length + 1);
    if (node === id || !DATE_LABEL.test(label)) {
      said.push(id);
      continue;
    }
    let dates = labels.get(node);
    if (!dates) {
      labels.set(node, (dates = []));
      said.push({ node });
    }
    dates.push(label);
  }
  return said
    .map((s) => {
      if (typeof s === 'string') return s;
      const dates = labels.get(s.node)!;
      if (dates.length < 3) return dates.map((d) => `${s.node}@${d}`).join(', ');
      const sorted = [...dates].sort();
      return `${s.node}@${sorted[0]} … ${sorted[sorted.length - 1]} (${dates.length} ${sorted.every(isHourLabel) ? 'hours' : 'dates'})`;
    })
    .join(', ');
}

const RENDERED_AT_RUN = '-- its SQL reads the warehouse while rendering: rendered again when it runs (execute true); shown as rendered with execute false';

/** The tasks in the order one worker starts them, each under a comment, with the SQL it would run. */
function stepsInOrder(ordered: readonly Task[]): string[] {
  return ordered.map((t, i) => {
    const head = `-- ${i + 1}. ${t.id} (${t.kind}${t.phase ? `, ${t.phase}` : ''}${t.lookback ? `, ${lookbackReason(t.lookback)}` : ''})${waitsFor(t)}`;
    const why = skipped(t);
    if (why !== undefined) return `${head}\n-- skipped: ${why}\n`;
    return `${head}\n${t.renderAtRun ? `${RENDERED_AT_RUN}\n` : ''}${renderSteps(t.steps)}`;
  });
}

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/** `pipe run --dry-run`: what would execute, task by task, in the order one worker runs them. */
export function formatRunPlan(
  plan: Plan,
  run: { ds: string; dateIsDefault: boolean; threads: number },
  json: boolean,
): string {
  const ordered = sequentialOrder(plan.tasks);
  if (json) {
    const head = JSON.stringify({ type: 'planned-run', ds: run.ds, date_is_default: run.dateIsDefault, threads: run.threads, tasks: ordered.length });
    return [head, ...ordered.map((t, i) => plannedTaskJson(t, i + 1, true))].join('\n');
  }
  return [
    `-- run ${run.ds}${run.dateIsDefault ? ' (the default)' : ''}: ${count(ordered.length, 'task')}, up to ${run.threads} at once`,
    '-- in the order one worker starts them (each once everything it waits for has succeeded):',
    '',
    ...stepsInOrder(ordered),
    '-- nothing was written (--dry-run)',
  ].join('\n');
}

/** `pipe backfill --dry-run`: what runs for which dates, and in which order; with `steps`, what each task executes. */
export function formatPlan(
  plan: Plan,
  range: { start: string; end: string; order: string; parallel: number },
  json: boolean,
  steps = false,
): string {
  const ordered = sequentialOrder(plan.tasks);
  if (json) return ordered.map((t, i) => plannedTaskJson(t, i + 1, steps)).join('\n');
  const byModel = new Map<string, { kind: string; dates: string[]; once: boolean; fullRefresh: boolean }>();
  for (const t of plan.tasks) {
    const m = byModel.get(t.node) ?? { kind: t.kind, dates: [], once: true, fullRefresh: false };
    if (t.ds) m.dates.push(t.ds);
    if (t.group !== undefined) m.once = false;
    if (t.phase !== undefined) m.fullRefresh = true;
    byModel.set(t.node, m);
  }
  const dates = new Set(plan.tasks.flatMap((t) => (t.group ? [t.group] : [])));
  const unit = [...dates].some(isHourLabel) ? 'hour' : 'date';
  const lines = [
    `backfill ${range.start} → ${range.end}: ${count(plan.tasks.length, 'task')}, ${count(dates.size, unit)} of incremental models, order ${range.order}, up to ${count(range.parallel, unit)} in flight`,
    '',
    'per model:',
  ];
  const w = Math.max(...[...byModel.keys()].map(displayWidth), 5);
  for (const [name, m] of byModel) {
    // A model's own intervals: an hourly microbatch model of a daily backfill counts hours.
    const own = m.dates.some(isHourLabel) ? 'hour' : 'date';
    const dated = `${count(m.dates.length, own)}, ${[...m.dates].sort()[0]} … ${[...m.dates].sort().at(-1)}`;
    const what =
      m.kind === 'seed'
        ? 'once (seed)'
        : m.once
          ? `once, with ds ${m.dates[0]}, after all its upstream dates`
          : m.fullRefresh
            ? `full refresh: reset, then ${dated} into a staging table, swapped in for the table once every date succeeded`
            : dated;
    lines.push(`  ${padDisplay(name, w)}  ${m.kind.padEnd(13)}  ${what}`);
  }
  lines.push('', 'order with one worker (each task starts once everything it waits for has succeeded):');
  if (steps) {
    lines.push('', ...stepsInOrder(ordered));
  } else {
    ordered.forEach((t, i) => lines.push(`  ${String(i + 1).padStart(4)}. ${t.id}${waitsFor(t)}${upToDate(t) ? '  = up to date' : ''}`));
    lines.push('');
  }
  lines.push('nothing was written (--dry-run)');
  return lines.join('\n');
}
