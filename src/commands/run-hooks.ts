import type { Analysis } from '../analyze/analyze.js';
import { GUARDED_SETTING } from '../warehouse/duckdb/optimizer-guard.js';
import { testUniqueId, uniqueId } from '../analyze/jinja/graph-context.js';
import type { RunHook } from '../analyze/dbt/dbt-project.js';
import type { Interval } from '../dates/dates.js';
import type { Diagnostic, Location } from '../diagnostics/diagnostics.js';
import type { EventSink, TaskError, TaskRef } from '../events/events.js';
import type { Engine } from '../execute/engine.js';
import { HookError, RenderError, toTaskError } from '../execute/task-errors.js';
import { writtenSchemas, type RenderAtRun, type Task, type TemplateMessage } from '../plan/task.js';
import type { Answer } from '../warehouse/introspection.js';
import { hookSqlAtRun } from '../execute/render-at-run.js';
import { tellSaid } from '../execute/template-messages.js';
import { hookAtRun } from '../plan/hook-at-run.js';
import { WarehouseError } from '../warehouse/warehouse.js';
import type { PlannedTaskRecord } from '../warehouse/run-state.js';
import type { RunResults } from './run-results.js';

/**
 * dbt_project.yml's `on-run-start` and `on-run-end`, run once by every run, retry, backfill and test:
 * the start hooks before any task (a failing one stops the run before any model is written;
 * its tasks stay pending, for `pipe retry`), the end hooks after every task, whatever their
 * outcome (a failed start hook's included, as in dbt), unless the run was cancelled. A failed
 * hook stops the hooks after it. Each statement runs on its own, outside any model's
 * transaction, as dbt runs them; each is a task of the run's history (kind `run-hook`).
 *
 * Their templates see dbt's `schemas` and `database_schemas` (the schemas the run builds in;
 * for the end hooks, those of the tasks that succeeded) and `selected_resources` (the unique
 * ids of the nodes the run builds or tests, and of their dbt tests); the end hooks also see
 * `results` (see run-results.ts). Anything else of dbt's context is undefined: an error at the hook's line.
 */

export type RunHookKind = 'on-run-start' | 'on-run-end';

/** A run hook rendered for a run, or the template error that it failed to render with. */
export interface PlannedRunHook {
  readonly id: string;
  readonly kind: RunHookKind;
  readonly sql: string | Diagnostic;
  readonly location: Location;
  /** A hook that queries the warehouse while it renders (run_query) is rendered as it runs, its queries run then (`sql` is empty). */
  readonly renderAtRun?: RenderAtRun<string>;
  /** What a hook rendered once, asking nothing, said with log(msg, info=True), print(msg) and exceptions.warn(msg): told as it runs. */
  readonly said?: readonly TemplateMessage[];
}

const hookId = (kind: RunHookKind, i: number) => `${kind}.${i + 1}`;

/** The run hooks as planned tasks of the run state, for its history. */
export function runHookRecords(analysis: Analysis): PlannedTaskRecord[] {
  const records = (kind: RunHookKind, hooks: readonly RunHook[]) => hooks.map((_, i) => ({ id: hookId(kind, i), node: kind, kind: 'run-hook', upstream: [] }));
  return [...records('on-run-start', analysis.runHooks.start), ...records('on-run-end', analysis.runHooks.end)];
}

/** What a run hook's template sees of the run: the schemas of `tasks`, and what `selected` builds and tests. */
function runContext(analysis: Analysis, tasks: readonly Task[], selected: readonly Task[] = tasks): Record<string, unknown> {
  // As dbt's: a test that keeps its failing rows writes to a schema too.
  const schemas = [...new Set(tasks.filter((t) => t.kind !== 'run-hook').flatMap(writtenSchemas))];
  return { schemas, database_schemas: schemas.map((s) => [analysis.database, s]), selected_resources: selectedResources(analysis, selected) };
}

/** dbt's `selected_resources`: the unique ids of the nodes the run builds or tests, and of their dbt tests, each once. */
export function selectedResources(analysis: Analysis, tasks: readonly Task[]): string[] {
  const ids = new Set<string>();
  for (const t of tasks) {
    const node = t.kind === 'run-hook' ? undefined : analysis.nodes.get(t.node);
    if (!node) continue;
    if (node.kind !== 'source') ids.add(uniqueId(node, analysis.projectName));
    const checks = node.kind === 'source' ? analysis.sourceChecks.get(node.name) : node.checks;
    for (const c of checks ?? []) if (c.dbt) ids.add(testUniqueId(analysis.projectName, c.name, c.dbt));
  }
  return [...ids];
}

/** Which run the hooks are of: its interval (the last, in a backfill), and whether it is a full refresh (flags.FULL_REFRESH). */
export interface HookedRun {
  readonly interval: Interval;
  readonly fullRefresh: boolean;
}

function render(analysis: Analysis, kind: RunHookKind, hooks: readonly RunHook[], run: HookedRun, context: Record<string, unknown>): PlannedRunHook[] {
  return hooks.map((h, i) => {
    const planned = { id: hookId(kind, i), kind, location: h.location };
    const once = (answers?: ReadonlyMap<string, Answer>, report?: (m: TemplateMessage) => void) => analysis.renderer.runHook(h, run.interval, context, run.fullRefresh, answers, report);
    const said: TemplateMessage[] = [];
    const first = once(undefined, (m) => said.push(m));
    if (typeof first === 'string') return { ...planned, sql: first, ...(said.length > 0 ? { said } : {}) };
    // What it said before its error is told too, before the error (dbt prints it as it renders).
    if ('severity' in first) return { ...planned, sql: first, ...(said.length > 0 ? { said } : {}) };
    // Rendered again as it runs: what that render says is told then.
    return { ...planned, sql: '', renderAtRun: hookAtRun(once, h.location) };
  });
}

/** The template errors among rendered hooks. */
export function hookDiagnostics(hooks: readonly PlannedRunHook[]): Diagnostic[] {
  return hooks.flatMap((h) => (typeof h.sql === 'string' ? [] : [h.sql]));
}

/** The on-run-start statements of a run of `tasks`: rendered before anything runs, so a template error stops it at once. */
export function startHooks(analysis: Analysis, tasks: readonly Task[], run: HookedRun) {
  return render(analysis, 'on-run-start', analysis.runHooks.start, run, runContext(analysis, tasks));
}

/** The on-run-end statements, rendered with the run's results so far; their schemas are those of the tasks whose node succeeded, as dbt's. */
export function endHooks(analysis: Analysis, tasks: readonly Task[], results: RunResults, run: HookedRun) {
  const succeeded = results.succeeded();
  return render(analysis, 'on-run-end', analysis.runHooks.end, run, { ...runContext(analysis, tasks.filter((t) => succeeded.has(t.node)), tasks), results: results.list() });
}

/** Runs hooks in order, each recorded and reported as a task; stops at the first failure. Returns whether all succeeded. */
export async function runHooks(engine: Engine, runId: string, hooks: readonly PlannedRunHook[], emit: EventSink): Promise<boolean> {
  return engine.withSession(async (session) => {
    for (const h of hooks) {
      const task: TaskRef = { id: h.id, model: h.kind, kind: 'run-hook', file: h.location.file };
      const startedAt = Date.now();
      emit({ type: 'task-started', runId, task });
      try {
        if (typeof h.sql !== 'string') {
          if (h.said) tellSaid(emit, runId, task, h.said);
          throw h.sql;
        }
        const sql = await hookSqlAtRun({ sql: h.sql, label: h.id, renderAtRun: h.renderAtRun, said: h.said }, session, (said) => tellSaid(emit, runId, task, said));
        // A setting of the whole warehouse pipe keeps for results DuckDB gets wrong (see optimizer-guard.ts).
        if (session.dialect.pinnedSessionChange?.(sql) === 'disabled_optimizers') {
          throw new RenderError(`${h.kind} sets ${GUARDED_SETTING}`, h.location);
        }
        if (sql.trim() !== '') await session.exec(sql);
      } catch (e) {
        const error = failure(e, h);
        await engine.recordTask(session, { runId, taskId: h.id, attempt: 1, status: 'failed', startedAt, endedAt: Date.now(), error: error.message, errorClass: error.errorClass });
        emit({ type: 'task-failed', runId, task, error, attempts: 1, ms: Date.now() - startedAt });
        return false;
      }
      await engine.recordTask(session, { runId, taskId: h.id, attempt: 1, status: 'succeeded', startedAt, endedAt: Date.now() });
      emit({ type: 'task-succeeded', runId, task, attempts: 1, ms: Date.now() - startedAt });
    }
    return true;
  });
}

/** Why a hook failed: the database's error, or its template's (found only now, as `results` is). */
function failure(e: unknown, h: PlannedRunHook): TaskError {
  if (e instanceof WarehouseError) return toTaskError(new HookError(e, h.kind, h.location, false));
  // A query the hook ran as it rendered failed (run_query), said at the hook.
  if (e instanceof RenderError) return toTaskError(e);
  if (typeof h.sql !== 'string' && e === h.sql) return { message: `${h.kind}: ${h.sql.message}`, kind: 'Template', errorClass: 'permanent', location: h.sql.location ?? h.location };
  throw e;
}
