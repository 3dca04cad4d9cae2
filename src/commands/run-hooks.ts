import type { Analysis } from '../analyze/analyze.js';
import { resourceType, testUniqueId, uniqueId } from '../analyze/jinja/graph-context.js';
import type { RunHook } from '../analyze/dbt/dbt-project.js';
import type { Interval } from '../dates/dates.js';
import type { Diagnostic, Location } from '../diagnostics/diagnostics.js';
import type { EventSink, PipeEvent, TaskError, TaskRef } from '../events/events.js';
import type { Engine } from '../execute/engine.js';
import { HookError, RenderError, toTaskError } from '../execute/task-errors.js';
import { writtenSchemas, type RenderAtRun, type Task, type TemplateMessage } from '../plan/task.js';
import type { Answer } from '../warehouse/introspection.js';
import { hookSqlAtRun } from '../execute/render-at-run.js';
import { tellSaid } from '../execute/template-messages.js';
import { hookAtRun } from '../plan/hook-at-run.js';
import { WarehouseError } from '../warehouse/warehouse.js';
import type { PlannedTaskRecord } from '../warehouse/run-state.js';

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
 * ids of the nodes the run builds or tests, and of their dbt tests); the end hooks also see `results`, one per model or seed task: `status` (success, error, skipped), `message`,
 * `execution_time` (seconds), `adapter_response` (as dbt-duckdb's, see adapterResponse), and `node` (`name`,
 * `unique_id`, `resource_type` (a snapshot's is `snapshot`), `schema`, `alias`,
 * `relation_name`); and one per dbt test or unit test (with its `attached_node`) (`pass`, `warn`, `fail` with its `failures`, or `error`). Anything else of dbt's
 * context is undefined: an error at the hook's line.
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
function selectedResources(analysis: Analysis, tasks: readonly Task[]): string[] {
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
    if ('severity' in first) return { ...planned, sql: first };
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

/** Collects how each task of a run ended, as dbt's `results` describe it, from the run's events. */
export class RunResults {
  private readonly results = new Map<string, Record<string, unknown>>();

  constructor(
    private readonly analysis: Analysis,
    private readonly tasks: readonly Task[],
  ) {}

  observe(e: PipeEvent): void {
    switch (e.type) {
      case 'check-passed':
        return this.addTest(e.task, e.check, 'pass', null, 0);
      case 'check-failed': {
        const { check, severity, failingRows, condition } = e.failure;
        const says = severity === 'warn' ? 'warn' : 'fail';
        const message = `Got ${failingRows} result${failingRows === 1 ? '' : 's'}, configured to ${says} if ${condition ?? '!= 0'}`;
        return this.addTest(e.task, check, says, message, failingRows);
      }
      case 'task-succeeded':
        return this.add(e.task, 'success', 'OK', e.ms, e.rows);
      case 'task-failed':
        // A task failed by its checks has their results; one whose checks could not run, an error.
        if ((e.task.kind === 'test' || e.task.kind === 'unit-test') && e.error.checks?.length) return;
        return this.add(e.task, 'error', e.error.message, e.ms, undefined);
      case 'task-skipped':
        return this.add(e.task, e.reason === 'up-to-date' || e.reason === 'current' || e.reason === 'superseded' ? 'success' : 'skipped', e.detail, 0, undefined);
      case 'task-cancelled':
        return this.add(e.task, 'skipped', 'cancelled', 0, undefined);
      default:
        return;
    }
  }

  private add(ref: TaskRef, status: string, message: string, ms: number, rows: number | undefined): void {
    if (ref.kind === 'run-hook') return;
    // `pipe test`'s task of a model stands for its checks, and a unit test's for its one check: each a result of its own.
    if (ref.kind === 'test' || ref.kind === 'unit-test') {
      if (status === 'error') this.addTest(ref, ref.model, status, message, null);
      return;
    }
    const task = this.tasks.find((t) => t.id === ref.id);
    const node = this.analysis.nodes.get(ref.model);
    const resource = node ? resourceType(node) : ref.kind === 'seed' ? 'seed' : 'model';
    const name = node?.kind === 'model' ? (node.config.alias ?? node.name) : node?.kind === 'seed' ? (node.alias ?? node.name) : ref.model;
    this.results.set(ref.id, {
      status,
      message,
      execution_time: ms / 1000,
      adapter_response: adapterResponse(resource, status, rows),
      failures: null,
      node: {
        name: ref.model,
        unique_id: node ? uniqueId(node, this.analysis.projectName) : `${resource}.${this.analysis.projectName}.${ref.model}`,
        resource_type: resource,
        schema: task?.schema,
        alias: name,
        relation_name: task?.relation,
      },
    });
  }

  /** A dbt test's result (a check's, as dbt names it): `pass`, `warn`, `fail` with its failures, or `error` when it could not run. */
  private addTest(ref: TaskRef, name: string, status: string, message: string | null, failures: number | null): void {
    const resource = ref.kind === 'unit-test' ? 'unit_test' : 'test';
    this.results.set(`${ref.id}\0${name}`, {
      status,
      message,
      execution_time: 0,
      adapter_response: {},
      failures,
      node: {
        name,
        unique_id: resource === 'test' ? testUniqueId(this.analysis.projectName, name, this.testNode(ref.model, name)) : `${resource}.${this.analysis.projectName}.${name}`,
        resource_type: resource,
        attached_node: this.attachedNode(ref.model),
      },
    });
  }

  /** The dbt test `name` run with the node `model` (a model, a seed or a source's table), as the graph lists it. */
  private testNode(model: string, name: string) {
    const node = this.analysis.nodes.get(model);
    const checks = node?.kind === 'source' ? this.analysis.sourceChecks.get(model) : node?.checks;
    return checks?.find((c) => c.name === name)?.dbt;
  }

  /** The unique id of the node a test is attached to: a model's, a seed's or a snapshot's; none for a source's table, as in dbt. */
  private attachedNode(name: string): string | null {
    const node = this.analysis.nodes.get(name);
    if (node?.kind === 'source') return null;
    return node ? uniqueId(node, this.analysis.projectName) : `model.${this.analysis.projectName}.${name}`;
  }

  /** The on-run-end statements, rendered with the results so far; their schemas are those of the tasks that succeeded, as dbt's. */
  endHooks(run: HookedRun) {
    const succeeded = this.tasks.filter((t) => this.results.get(t.id)?.status === 'success');
    return render(this.analysis, 'on-run-end', this.analysis.runHooks.end, run, { ...runContext(this.analysis, succeeded, this.tasks), results: [...this.results.values()] });
  }
}

/** Runs hooks in order, each recorded and reported as a task; stops at the first failure. Returns whether all succeeded. */
export async function runHooks(engine: Engine, runId: string, hooks: readonly PlannedRunHook[], emit: EventSink): Promise<boolean> {
  return engine.withSession(async (session) => {
    for (const h of hooks) {
      const task: TaskRef = { id: h.id, model: h.kind, kind: 'run-hook', file: h.location.file };
      const startedAt = Date.now();
      emit({ type: 'task-started', runId, task });
      try {
        if (typeof h.sql !== 'string') throw h.sql;
        const sql = await hookSqlAtRun({ sql: h.sql, label: h.id, renderAtRun: h.renderAtRun, said: h.said }, session, (said) => tellSaid(emit, runId, task, said));
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

/**
 * What dbt-duckdb's adapter says of a node's statement: a seed's load `INSERT n` with its rows,
 * a model's or snapshot's `OK` and no row count (a hook's `adapter_response.get('rows_affected',
 * -1)` reads -1, as under dbt), nothing for one that failed or did not run.
 */
function adapterResponse(resource: string, status: string, rows: number | undefined): Record<string, unknown> {
  if (status !== 'success') return {};
  if (resource === 'seed' && rows !== undefined) return { _message: `INSERT ${rows}`, code: 'INSERT', rows_affected: rows };
  return { _message: 'OK' };
}
