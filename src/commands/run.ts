import { pipelineInterval, type Pipeline } from '../analyze/project-settings.js';
import type { Invocation } from '../analyze/jinja/surface.js';
import { batchStart, dateVariables, HOUR_MS, hourInterval, intervalLabel, parseTimestamp, systemClock, type Clock, type Interval } from '../dates/dates.js';
import { DiagnosticError, error } from '../diagnostics/diagnostics.js';
import type { EventSink } from '../events/events.js';
import { nodeOfTaskId, pastTaskIds, planRun, selfReadingModels, type Plan, type PlanContext } from '../plan/plan.js';
import { resolveInterval, type ProjectOptions, type SelectionOptions, type WaitOptions } from './context.js';
import {
  freshnessAt,
  launch,
  newRunId,
  type LaunchOptions,
  buildCommandFor,
  planContext,
  prepare,
  refuseAsRunWould,
  retryCommandFor,
  withForeseen,
  withPast,
  type KeptAnalysis,
  type Prepared,
  type RunOutcome,
  type WarehouseAccess,
  nothingToBuild,
  type NothingToDo,
} from './lifecycle.js';
import { Distributed, type DistributedOptions } from './distributed.js';
import { openProjectAhead } from './open-ahead.js';
import { openProject, selectorsOf, type Project } from './open-project.js';
import { commonParams, flagParam, type RunParams } from './stored-params.js';
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
  /** Run every selected task, those whose output is current too. */
  readonly force?: boolean;
  /** dbt's `--store-failures`: every dbt test whose config does not say otherwise keeps its failing rows. */
  readonly storeFailures?: boolean;
  /** Run `depends_on_past` models even when their previous interval has not succeeded. */
  readonly ignoreDependenciesOnPast?: boolean;
  /** Check the freshness of the sources the run reads first: an error-level stale one stops the run. */
  readonly checkFreshness?: boolean;
  /**
   * dbt's `--event-time-start` and `--event-time-end` (a date, or a date and time, UTC; both or
   * neither): microbatch models build the batches of `[start, end)` instead of the run's date.
   */
  readonly eventTimeStart?: string;
  readonly eventTimeEnd?: string;
  /** Set by the scheduler for a catch-up's run: the intervals of the runs due after it (see PlanContext.laterRuns). */
  readonly laterRuns?: readonly Interval[];
  /** Set by the scheduler: the runs of the same pipeline it started before this one, still in flight (see afterEarlierRuns). */
  readonly earlierRuns?: { readonly runs: () => readonly EarlierRun[]; readonly waiting: (message: string) => void };
}

/** A run of the pipeline in flight in this process, for an earlier interval. */
export interface EarlierRun {
  readonly runId: string;
  readonly interval: Interval;
  /** Settles when the run has ended, whatever its outcome. */
  readonly ended: Promise<unknown>;
}

export interface RunOptions extends RunPlanOptions {
  readonly signal?: AbortSignal;
  readonly emit: EventSink;
  /** Set by the scheduler: the run's id, and the fire time that triggered it. */
  readonly runId?: string;
  readonly scheduledAt?: number;
  /** Set by the scheduler when the run takes over an interval whose run never finished: that run's id. */
  readonly resumes?: string;
  /** Run the tasks on `pipe worker` processes (a DuckLake warehouse on Postgres only). */
  readonly distributed?: DistributedOptions;
}

export type { RunOutcome };

/**
 * The interval a run covers: `--date` (default yesterday), or its hour `--hour`. With neither,
 * a run of an hourly pipeline covers the previous full hour (UTC), as its schedule would.
 */
export function runInterval(
  options: { readonly date?: string; readonly hour?: number; readonly clock?: Clock },
  pipeline: Pipeline | undefined,
): { interval: Interval; hour?: number; isDefault: boolean; hourIsDefault?: true } {
  const day = resolveInterval(options.date, options.clock);
  if (options.hour !== undefined) return { interval: hourInterval(day.interval.start + options.hour * HOUR_MS), hour: options.hour, isDefault: day.isDefault };
  if (day.isDefault && pipelineInterval(pipeline) === 'hourly') {
    const now = (options.clock ?? systemClock).now();
    const interval = hourInterval(batchStart(now, 'hour') - HOUR_MS);
    return { interval, hour: new Date(interval.start).getUTCHours(), isDefault: true, hourIsDefault: true };
  }
  return { ...day, hour: undefined };
}

/**
 * The range of `--event-time-start` and `--event-time-end`, as dbt takes them: both or neither,
 * the start before the end; a bad one is refused before anything runs.
 */
export function eventTimeRange(options: { readonly eventTimeStart?: string; readonly eventTimeEnd?: string }): Interval | undefined {
  const { eventTimeStart: startText, eventTimeEnd: endText } = options;
  if (startText === undefined && endText === undefined) return undefined;
  const bad = (message: string, hint: string) => new DiagnosticError([error('bad-option', message, undefined, { hint })]);
  if (startText === undefined || endText === undefined) {
    throw bad(`--event-time-${startText === undefined ? 'end' : 'start'} needs --event-time-${startText === undefined ? 'start' : 'end'} too`, 'give both: the batches of [start, end) are built');
  }
  const [start, end] = [parseTimestamp(startText), parseTimestamp(endText)];
  for (const [flag, text, at] of [['--event-time-start', startText, start], ['--event-time-end', endText, end]] as const) {
    if (at === undefined) throw bad(`${flag} '${text}' is not a date or a date and time`, "e.g. 2024-01-02 or '2024-01-02 13:00' (UTC)");
  }
  if (start! >= end!) throw bad(`--event-time-start ${startText} is not before --event-time-end ${endText}`, 'the range is [start, end): the end is not included');
  return { start: start!, end: end! };
}

/** How a run records its event-time range. */
export function eventTimeParams(range: Interval | undefined): { event_time_start?: string; event_time_end?: string } {
  return range ? { event_time_start: new Date(range.start).toISOString(), event_time_end: new Date(range.end).toISOString() } : {};
}

/** What `pipe run` would do: one plan, whether it is run, shown (--dry-run) or compiled. */
export interface RunPlan {
  readonly prepared: Prepared;
  readonly plan: Plan;
  readonly interval: Interval;
  readonly hour?: number;
  readonly isDefault: boolean;
  /** The hour chosen by default too (an hourly pipeline's previous hour). */
  readonly hourIsDefault?: true;
  readonly threads: number;
  /** `--event-time-start/--event-time-end`, when given. */
  readonly eventTime?: Interval;
}

/**
 * Plans `pipe run` with `options`: the interval, the selection and every task with its SQL.
 * `pipe run`, `pipe run --dry-run` and `pipe compile` all take their answer from here, so
 * what is shown is what runs. The caller closes `prepared.warehouse`.
 */
export async function planRunCommand(
  options: RunPlanOptions,
  how: {
    runId: string;
    access: WarehouseAccess;
    invocation?: Invocation;
    project?: Project;
    distributed?: Distributed;
    /** A plan that is only shown (see PlanContext.shownOnly). */
    shownOnly?: boolean;
    /** What a long-lived caller keeps between analyses (see prepare). */
    kept?: KeptAnalysis;
  },
): Promise<RunPlan> {
  const project = how.project ?? openProject(options);
  const { interval, hour, isDefault, hourIsDefault } = runInterval(options, options.pipeline === undefined ? undefined : project.pipelines.get(options.pipeline));
  const invocation = options.storeFailures ? { ...(how.invocation ?? { id: how.runId, startedAt: Date.now() }), storeFailures: true } : how.invocation;
  const preparing = () => prepare({ ...options, interval, access: how.access, invocation, kept: how.kept, buildsNothing: how.shownOnly, building: how.shownOnly !== true }, project);
  const prepared = await (how.distributed ? how.distributed.oneAtATime(preparing) : preparing());
  try {
    const eventTime = eventTimeRange(options);
    const ctx = { ...planContext(prepared, how.runId, options.fullRefresh, options.force), eventTime, laterRuns: options.laterRuns, shownOnly: how.shownOnly };
    if (!options.ignoreDependenciesOnPast) await afterEarlierRuns(ctx, interval, options.earlierRuns);
    const plan = planRun(options.ignoreDependenciesOnPast ? ctx : await withPast(ctx, prepared, interval), interval);
    const threads = resolveThreads({ flag: options.threads, pipeline: prepared.pipeline, settings: prepared.analysis.settings });
    return { prepared, plan, interval, hour, isDefault, hourIsDefault, threads, eventTime };
  } catch (e) {
    prepared.warehouse?.close();
    throw e;
  }
}

/**
 * A run whose `depends_on_past` models wait for an earlier interval, while the scheduler's runs
 * of earlier intervals are in flight (a catch-up with max_active_runs above 1), waits for those
 * runs to end before it reads whether the intervals it depends on succeeded: as Airflow's
 * depends_on_past waits for the run before. Otherwise it would find them not built yet, and skip.
 * So does a run of a model kept in intervals whose query reads its own table (a running total):
 * it reads what those runs write, and would read the table without their dates.
 */
async function afterEarlierRuns(ctx: Omit<PlanContext, 'pastSucceeded'>, interval: Interval, earlier: RunPlanOptions['earlierRuns']): Promise<void> {
  // Read as the run plans: the runs its round started after it are in flight by then too.
  const before = (earlier?.runs() ?? []).filter((r) => r.interval.start < interval.start);
  if (before.length === 0) return;
  const past = [...new Set(pastTaskIds(ctx, interval).map(nodeOfTaskId))];
  const reading = selfReadingModels(ctx).filter((n) => !past.includes(n));
  if (past.length + reading.length === 0) return;
  const runs = before.map((r) => `${r.runId} (${intervalLabel(r.interval)})`).join(', ');
  const why = [
    ...(past.length > 0 ? [`${past.join(', ')} depend${past.length === 1 ? 's' : ''} on ${past.length === 1 ? 'its' : 'their'} past (depends_on_past)`] : []),
    ...(reading.length > 0 ? [`${reading.join(', ')} read${reading.length === 1 ? 's' : ''} ${reading.length === 1 ? 'its' : 'their'} own table`] : []),
  ];
  earlier!.waiting(`waits for run${before.length === 1 ? '' : 's'} ${runs} to end: ${why.join('; ')}`);
  await Promise.all(before.map((r) => r.ended.catch(() => undefined)));
}

/**
 * `pipe run`: every selected model once, for one date. With no --date and no --hour, a daily
 * run builds yesterday and a run of an hourly pipeline the previous full hour (UTC), as their
 * schedules would.
 */
export async function run(options: RunOptions): Promise<RunOutcome | NothingToDo> {
  const runId = options.runId ?? newRunId();
  const invocation = { id: runId, startedAt: (options.clock ?? systemClock).now() };
  // A distributed run opens the warehouse only in its turn (Distributed.oneAtATime): not ahead.
  const { project, release } = options.distributed ? { project: openProject(options), release: () => undefined } : await openProjectAhead(options);
  let planned: RunPlan;
  let distributed: Distributed | undefined;
  try {
    // Refused, or its Postgres found unreachable, before the warehouse is opened.
    distributed = options.distributed ? await Distributed.open(project, options.distributed, `pipe ${options.scheduledAt !== undefined ? 'schedule' : 'run'} --distributed`) : undefined;
    planned = await planRunCommand(options, { runId, access: 'write', invocation, project, distributed });
  } catch (e) {
    await distributed?.close();
    throw e;
  } finally {
    // The plan holds the warehouse now (or it was refused): the handle opened ahead is not needed.
    release();
  }
  const { prepared, plan, interval, hour, isDefault, hourIsDefault, threads, eventTime } = planned;
  // A scheduled interval is recorded as run all the same: the schedule counts it as handled by its run.
  const nothing = options.scheduledAt === undefined ? await nothingToBuild(prepared, plan, distributed) : undefined;
  if (nothing) return nothing;
  const params: RunParams = {
    kind: 'run',
    ds: dateVariables(interval).ds,
    hour,
    scheduled_at: options.scheduledAt !== undefined ? new Date(options.scheduledAt).toISOString() : undefined,
    ...commonParams(options, prepared.analysis.vars, prepared.pipeline, prepared.analysis.settings.targetName, selectorsOf(project), prepared.analysis.packageVars),
    full_refresh: options.fullRefresh ?? false,
    ...flagParam('force', options.force),
    ignore_dependencies_on_past: options.ignoreDependenciesOnPast ?? false,
    ...eventTimeParams(eventTime),
    resume_of: options.resumes,
    ...flagParam('store_failures', options.storeFailures),
  };
  const launchOptions: LaunchOptions = {
    runId,
    pipeline: options.pipeline,
    params,
    parentRunId: options.resumes,
    plan,
    threads,
    emit: options.emit,
    signal: options.signal,
    header: { ds: intervalLabel(interval), dateIsDefault: isDefault, ...(hourIsDefault ? { hourIsDefault } : {}) },
    retryCommand: retryCommandFor(options),
    pipeCommand: buildCommandFor(options),
    checkFreshness: options.checkFreshness,
    clock: options.clock,
    runHooks: { interval, fullRefresh: options.fullRefresh === true },
    execute: { force: options.force || options.fullRefresh },
  };
  return distributed ? distributed.launch(prepared, launchOptions) : launch(prepared, launchOptions);
}

/**
 * `pipe run --dry-run`: the plan `pipe run` would execute with the same options, refused for
 * what the run would refuse; the warehouse is only read, and not created when it is missing.
 */
export async function runDryRun(options: RunPlanOptions): Promise<RunPlan> {
  const found = await planRunCommand(options, { runId: 'dry-run', access: 'read' });
  const planned = { ...found, plan: await withForeseen(found.prepared, found.plan, options.force || options.fullRefresh) };
  await refuseAsRunWould(
    planned.prepared,
    planned.plan,
    { pipeCommand: buildCommandFor(options), pipeline: options.pipeline, freshnessAt: freshnessAt(planned.prepared, options) },
    options.emit,
  );
  return planned;
}
