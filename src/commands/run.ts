import { pipelineInterval, type Pipeline } from '../analyze/project-settings.js';
import type { Invocation } from '../analyze/jinja/surface.js';
import { dateVariables, HOUR_MS, hourInterval, intervalLabel, systemClock, type Clock, type Interval } from '../dates/dates.js';
import type { EventSink } from '../events/events.js';
import { planRun, type Plan } from '../plan/plan.js';
import { resolveInterval, type ProjectOptions, type SelectionOptions, type WaitOptions } from './context.js';
import {
  freshnessAt,
  launch,
  newRunId,
  pipeCommandFor,
  planContext,
  prepare,
  refuseAsRunWould,
  retryCommandFor,
  withPast,
  type Prepared,
  type RunOutcome,
  type WarehouseAccess,
} from './lifecycle.js';
import { openProject } from './open-project.js';
import { commonParams, type RunParams } from './stored-params.js';
import { resolveThreads } from './threads.js';

/** What decides what `pipe run` builds, and how. */
export interface RunPlanOptions extends ProjectOptions, SelectionOptions, WaitOptions {
  /** `YYYY-MM-DD`; default yesterday. */
  readonly date?: string;
  /** An hour of `date` (0-23): the run covers that hour instead of the day. */
  readonly hour?: number;
  readonly threads?: number;
  /** Rebuild incremental models from nothing and reload seeds. */
  readonly fullRefresh?: boolean;
  /** Run `depends_on_past` models even when their previous interval has not succeeded. */
  readonly ignoreDependenciesOnPast?: boolean;
  /** Check the freshness of the sources the run reads first: an error-level stale one stops the run. */
  readonly checkFreshness?: boolean;
}

export interface RunOptions extends RunPlanOptions {
  readonly signal?: AbortSignal;
  readonly emit: EventSink;
  /** Set by the scheduler: the run's id, and the fire time that triggered it. */
  readonly runId?: string;
  readonly scheduledAt?: number;
  /** Set by the scheduler when the run takes over an interval whose run never finished: that run's id. */
  readonly resumes?: string;
}

export type { RunOutcome };

/**
 * The interval a run covers: `--date` (default yesterday), or its hour `--hour`. With neither,
 * a run of an hourly pipeline covers the previous full hour (UTC), as its schedule would.
 */
export function runInterval(
  options: { readonly date?: string; readonly hour?: number; readonly clock?: Clock },
  pipeline: Pipeline | undefined,
): { interval: Interval; hour?: number; isDefault: boolean } {
  const day = resolveInterval(options.date, options.clock);
  if (options.hour !== undefined) return { interval: hourInterval(day.interval.start + options.hour * HOUR_MS), hour: options.hour, isDefault: day.isDefault };
  if (day.isDefault && pipelineInterval(pipeline) === 'hourly') {
    const now = (options.clock ?? systemClock).now();
    const interval = hourInterval(now - (now % HOUR_MS) - HOUR_MS);
    return { interval, hour: new Date(interval.start).getUTCHours(), isDefault: true };
  }
  return { ...day, hour: undefined };
}

/** What `pipe run` would do: one plan, whether it is run, shown (--dry-run) or compiled. */
export interface RunPlan {
  readonly prepared: Prepared;
  readonly plan: Plan;
  readonly interval: Interval;
  readonly hour?: number;
  readonly isDefault: boolean;
  readonly threads: number;
}

/**
 * Plans `pipe run` with `options`: the interval, the selection and every task with its SQL.
 * `pipe run`, `pipe run --dry-run` and `pipe compile` all take their answer from here, so
 * what is shown is what runs. The caller closes `prepared.warehouse`.
 */
export async function planRunCommand(options: RunPlanOptions, how: { runId: string; access: WarehouseAccess; invocation?: Invocation }): Promise<RunPlan> {
  const project = openProject(options);
  const { interval, hour, isDefault } = runInterval(options, options.pipeline === undefined ? undefined : project.pipelines.get(options.pipeline));
  const prepared = await prepare({ ...options, interval, access: how.access, invocation: how.invocation }, project);
  try {
    const ctx = planContext(prepared, how.runId, options.fullRefresh);
    const plan = planRun(options.ignoreDependenciesOnPast ? ctx : await withPast(ctx, prepared, interval), interval);
    const threads = resolveThreads({ flag: options.threads, pipeline: prepared.pipeline, settings: prepared.analysis.settings });
    return { prepared, plan, interval, hour, isDefault, threads };
  } catch (e) {
    prepared.warehouse?.close();
    throw e;
  }
}

/**
 * `pipe run`: every selected model once, for one date. With no --date and no --hour, a daily
 * run builds yesterday and a run of an hourly pipeline the previous full hour (UTC), as their
 * schedules would.
 */
export async function run(options: RunOptions): Promise<RunOutcome> {
  const runId = options.runId ?? newRunId();
  const invocation = { id: runId, startedAt: (options.clock ?? systemClock).now() };
  const { prepared, plan, interval, hour, isDefault, threads } = await planRunCommand(options, { runId, access: 'write', invocation });
  const params: RunParams = {
    kind: 'run',
    ds: dateVariables(interval).ds,
    hour,
    scheduled_at: options.scheduledAt !== undefined ? new Date(options.scheduledAt).toISOString() : undefined,
    ...commonParams(options, prepared.analysis.vars),
    full_refresh: options.fullRefresh ?? false,
    ignore_dependencies_on_past: options.ignoreDependenciesOnPast ?? false,
    resume_of: options.resumes,
  };
  return launch(prepared, {
    runId,
    pipeline: options.pipeline,
    params,
    parentRunId: options.resumes,
    plan,
    threads,
    emit: options.emit,
    signal: options.signal,
    header: { ds: intervalLabel(interval), dateIsDefault: isDefault },
    retryCommand: retryCommandFor(options),
    pipeCommand: pipeCommandFor(options),
    checkFreshness: options.checkFreshness,
    clock: options.clock,
    runHooks: { interval },
  });
}

/**
 * `pipe run --dry-run`: the plan `pipe run` would execute with the same options, refused for
 * what the run would refuse; the warehouse is only read, and not created when it is missing.
 */
export async function runDryRun(options: RunPlanOptions): Promise<RunPlan> {
  const planned = await planRunCommand(options, { runId: 'dry-run', access: 'read' });
  await refuseAsRunWould(
    planned.prepared,
    planned.plan,
    { pipeCommand: pipeCommandFor(options), pipeline: options.pipeline, freshnessAt: freshnessAt(planned.prepared, options) },
    options.emit,
  );
  return planned;
}
