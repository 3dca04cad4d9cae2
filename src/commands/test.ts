import { dateVariables, intervalLabel } from '../dates/dates.js';
import type { EventSink } from '../events/events.js';
import { planTest } from '../plan/plan.js';
import type { ProjectOptions, SelectionOptions } from './context.js';
import { openProject, selectorsOf } from './open-project.js';
import { runInterval } from './run.js';
import { DiagnosticError, error, hasErrors, type Diagnostic } from '../diagnostics/diagnostics.js';
import { partitionColumn } from '../plan/materializations.js';
import type { Task } from '../plan/task.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';
import { launch, letGoUnused, buildCommandFor, newRunId, pipeCommandFor, planContext, prepare, retryCommandFor, type Prepared, type RunOutcome } from './lifecycle.js';
import { commonParams, flagParam } from './stored-params.js';
import { resolveThreads } from './threads.js';
import { testFilter } from './test-selection.js';
import { failedNeverPublished, unpublishedFailures } from './unpublished-failures.js';

export interface TestOptions extends ProjectOptions, SelectionOptions {
  /** The interval whose partition incremental models' checks read; default yesterday (an hourly pipeline's previous hour). */
  readonly date?: string;
  /** An hour of `date`: the checks read that hour's rows of the models kept in intervals. */
  readonly hour?: number;
  readonly threads?: number;
  /** dbt's `--store-failures`: every dbt test whose config does not say otherwise keeps its failing rows. */
  readonly storeFailures?: boolean;
  readonly signal?: AbortSignal;
  readonly emit: EventSink;
}

/** `pipe test`: runs the selected models' checks against their published data; nothing, and no run recorded, when none has any. */
export async function test(options: TestOptions): Promise<RunOutcome | { readonly nothingToDo: string }> {
  const project = openProject(options);
  const { interval, hour, isDefault, hourIsDefault } = runInterval(options, options.pipeline === undefined ? undefined : project.pipelines.get(options.pipeline));
  const runId = newRunId();
  // Tests read the published tables: a model whose own query cannot be made now (a var nobody sets) has its tests run, as dbt test runs them.
  const prepared = await prepare({ ...options, tests: true, buildsNothing: true, interval, invocation: { id: runId, startedAt: Date.now(), command: 'test', ...(options.storeFailures ? { storeFailures: true } : {}) } }, project);
  const ds = dateVariables(interval).ds;
  // The hint for a node not built yet runs it as this command sees the project: its flags and --vars.
  const command = buildCommandFor(options);
  const plan = planTest({ ...planContext(prepared, runId), selected: prepared.selected }, interval, testFilter(options.select, prepared.analysis, { exclude: options.exclude, excluded: prepared.excluded }), { runCommand: command, leftOut: prepared.leftOut });
  if (plan.tasks.length === 0 && !hasErrors(plan.diagnostics)) {
    // What was left out is said all the same (a unit test of a model an error keeps out).
    for (const diagnostic of plan.diagnostics) options.emit({ type: 'diagnostic', diagnostic });
    letGoUnused(prepared);
    return { nothingToDo: 'nothing to test: no selected model, seed or source has checks, dbt tests or unit tests' };
  }
  if (hour !== undefined && prepared.warehouse) {
    const refused = await prepared.warehouse.engine.withSession((s) => hoursHeldByDays(s, prepared, plan.tasks));
    if (refused.length > 0) {
      letGoUnused(prepared);
      throw new DiagnosticError(refused);
    }
  }
  const found = prepared.warehouse ? await prepared.warehouse.engine.withSession((s) => unpublishedFailures(s, prepared.analysis, plan.tasks)) : undefined;
  if (found?.said) options.emit({ type: 'notice', message: found.said });
  // A node whose builds all failed is told so, not as one never built (which a run would build).
  const neverPublished = found?.neverPublished ?? new Map();
  const tasks = plan.tasks.map((t) => (t.kind === 'test' && t.steps[0]?.kind === 'refuse' && neverPublished.has(t.node) ? failedNeverPublished(t, neverPublished.get(t.node)!) : t));
  return launch(prepared, {
    runId,
    pipeline: options.pipeline,
    params: { kind: 'test', ds, hour, ...commonParams(options, prepared.analysis.vars, prepared.pipeline, prepared.analysis.settings.targetName, selectorsOf(project), prepared.analysis.packageVars), ...flagParam('store_failures', options.storeFailures) },
    plan: { ...plan, tasks },
    threads: resolveThreads({ flag: options.threads, pipeline: prepared.pipeline, settings: prepared.analysis.settings }),
    emit: options.emit,
    signal: options.signal,
    header: { ds: intervalLabel(interval), dateIsDefault: isDefault, ...(hourIsDefault ? { hourIsDefault } : {}) },
    retryCommand: retryCommandFor(options),
    pipeCommand: pipeCommandFor(options),
    // As dbt test: the project's on-run-start and on-run-end run around the checks, the end hooks with their results.
    runHooks: { interval, fullRefresh: false },
  });
}

/**
 * The models an hour's test cannot check by the hour: their table places rows by day (a DATE or
 * text partition column holds the day's rows at its midnight), as pipe run --hour refuses to
 * build them: the hour's checks would read the whole day's rows at hour 00, none at the others.
 */
async function hoursHeldByDays(session: WarehouseSession, prepared: Prepared, tasks: readonly Task[]): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  for (const task of tasks) {
    const node = prepared.analysis.nodes.get(task.node);
    const column = node?.kind === 'model' ? partitionColumn(node.config) : undefined;
    if (node?.kind !== 'model' || column === undefined) continue;
    const found = (await session.dialect.describeRelation(session, node.relation)).find((c) => c.name.toLowerCase() === column.toLowerCase());
    if (found === undefined || /^TIMESTAMP/i.test(found.type)) continue;
    const held = found.type === 'VARCHAR' ? 'text, which pipe places by day' : `${found.type}: it holds days, not hours`;
    out.push(error('bad-partition', `${node.config.kind === 'microbatch' ? 'event_time' : 'partition_by'} column ${found.name} of ${node.name} is ${held}, so one hour of it cannot be tested: test the whole day (without --hour)`, node.partitionByAt ?? { file: node.file }));
  }
  return out;
}
