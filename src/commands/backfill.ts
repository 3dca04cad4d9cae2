import { error, DiagnosticError } from '../diagnostics/diagnostics.js';
import { MAX_RETRIES } from '../analyze/model-config.js';
import { DAY_MS, formatDate, MAX_INTERVALS, parseDate, rangeIntervals, type Interval } from '../dates/dates.js';
import { pipelineInterval, type ScheduleInterval } from '../analyze/project-settings.js';
import type { EventSink } from '../events/events.js';
import { DEFAULT_MAX_DELAY_MS, NO_RETRIES } from '../plan/retry-policy.js';
import { DEFAULT_RETRY_DELAY_MS, planBackfill, type DateOrder, type Plan } from '../plan/plan.js';
import type { ProjectOptions, SelectionOptions, WaitOptions } from './context.js';
import { freshnessAt, launch, newRunId, type LaunchOptions, buildCommandFor, planContext, prepare, refuseAsRunWould, retryCommandFor, withForeseen, withPast, type Prepared, type RunOutcome, nothingToBuild, type NothingToDo } from './lifecycle.js';
import { commonParams, flagParam, type BackfillParams } from './stored-params.js';
import { Distributed, type DistributedOptions } from './distributed.js';
import { openProjectAhead } from './open-ahead.js';
import { openProject, selectorsOf } from './open-project.js';
import { resolveThreads } from './threads.js';
import { coverageOf, notCurrent, readRecorded } from './task-coverage.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';

export interface BackfillOptions extends ProjectOptions, SelectionOptions, WaitOptions {
  /** Inclusive range, `YYYY-MM-DD`. */
  readonly start: string;
  readonly end: string;
  /** Most dates in flight (default 1). */
  readonly parallel?: number;
  readonly threads?: number;
  readonly order?: DateOrder;
  /** Stop starting tasks after this many failures. */
  readonly maxFailures?: number;
  /** Automatic retries of transient errors; off unless given. */
  readonly retries?: number;
  /**
   * Rebuild each selected incremental model's table from the range alone: its dates are
   * built into a staging table that replaces the published one in one transaction at the end.
   */
  readonly fullRefresh?: boolean;
  /** Run every selected task, those whose output is current too. */
  readonly force?: boolean;
  /** Run the first date of `depends_on_past` models even when the date before the range has not succeeded. */
  readonly ignoreDependenciesOnPast?: boolean;
  /** Plan only the tasks whose output is not current (`pipe status` shows them): never built, failed, modified, stale. */
  readonly missing?: boolean;
  /** Check the freshness of the sources the backfill reads first: an error-level stale one stops it. */
  readonly checkFreshness?: boolean;
  /** Run the tasks on `pipe worker` processes (a DuckLake warehouse on Postgres only). */
  readonly distributed?: DistributedOptions;
  readonly signal?: AbortSignal;
  readonly emit: EventSink;
}

/** The intervals of an inclusive date range: its days, or the 24 hours of each. */
export function backfillIntervals(start: string, end: string, granularity: ScheduleInterval = 'daily', command = 'a backfill'): Interval[] {
  const s = parseDate(start);
  const e = parseDate(end);
  const problems = [];
  if (s === undefined) problems.push(error('bad-date', `invalid --start '${start}': expected a calendar date as YYYY-MM-DD, from 0100-01-01 to 9999-12-30`));
  if (e === undefined) problems.push(error('bad-date', `invalid --end '${end}': expected a calendar date as YYYY-MM-DD, from 0100-01-01 to 9999-12-30`));
  if (s !== undefined && e !== undefined && s > e) {
    problems.push(error('bad-date', `--start ${start} is after --end ${end}: the range is inclusive, oldest date first`));
  }
  if (problems.length > 0) throw new DiagnosticError(problems);
  // Planned before anything runs, one task per model and date: a range of centuries (a typo
  // in a year) would take minutes and gigabytes to plan before failing.
  const count = Math.round((e! - s!) / DAY_MS + 1) * (granularity === 'hourly' ? 24 : 1);
  if (count > MAX_INTERVALS) {
    const unit = granularity === 'hourly' ? 'hours' : 'dates';
    throw new DiagnosticError([
      error('bad-date', `--start ${start} --end ${end} is ${count.toLocaleString('en-US')} ${unit}: ${command} covers at most ${MAX_INTERVALS.toLocaleString('en-US')} ${unit}`, undefined, {
        hint: 'check the years; a longer history is backfilled in several ranges, one after another',
      }),
    ]);
  }
  return rangeIntervals(s!, e!, granularity);
}


/** An hourly pipeline is backfilled hour by hour, as its schedule runs it. */
const granularityOf = (prepared: Prepared) => pipelineInterval(prepared.pipeline);

function backfillParams(options: BackfillOptions, prepared: Prepared, selectors: Readonly<Record<string, unknown>> | null): BackfillParams {
  return {
    kind: 'backfill',
    start: options.start,
    end: options.end,
    interval: granularityOf(prepared),
    parallel: options.parallel ?? 1,
    order: options.order ?? 'oldest',
    max_failures: options.maxFailures ?? null,
    retries: options.retries ?? 0,
    ...commonParams(options, prepared.analysis.vars, prepared.pipeline, prepared.analysis.settings.targetName, selectors, prepared.analysis.packageVars),
    full_refresh: options.fullRefresh ?? false,
    ...flagParam('force', options.force),
    ignore_dependencies_on_past: options.ignoreDependenciesOnPast ?? false,
  };
}

async function plan(options: BackfillOptions, prepared: Prepared, runId: string, intervals: Interval[]): Promise<Plan> {
  const ctx = planContext(prepared, runId, options.fullRefresh, options.force);
  const whole = planBackfill(options.ignoreDependenciesOnPast ? ctx : await withPast(ctx, prepared, intervals), intervals, options.order ?? 'oldest');
  return options.missing ? onlyMissing(whole, prepared) : whole;
}

/** `--missing`: the plan's tasks that are not current, judged as `pipe status` judges them, waiting for each other as before. */
async function onlyMissing(whole: Plan, prepared: Prepared): Promise<Plan> {
  const judge = async (session: WarehouseSession | undefined) => coverageOf(whole.tasks, await readRecorded(session, prepared.seedHashes), session);
  const coverage = prepared.warehouse ? await prepared.warehouse.engine.withSession(judge) : await judge(undefined);
  return { tasks: notCurrent(whole.tasks, coverage), diagnostics: whole.diagnostics };
}

/** What --missing cannot be combined with: both say to build what is current too. */
function refuseMissingWith(options: BackfillOptions): void {
  if (!options.missing) return;
  const other = options.fullRefresh ? '--full-refresh' : options.force ? '--force' : undefined;
  if (other === undefined) return;
  throw new DiagnosticError([
    error('bad-option', `--missing builds only what is not current, and ${other} builds everything selected: pass one`, undefined, {
      hint: 'pipe status shows what is not current',
    }),
  ]);
}

/**
 * `pipe backfill --dry-run`: the plan, refused for what the backfill would refuse; the
 * warehouse is only read.
 */
export async function backfillDryRun(options: BackfillOptions): Promise<Plan> {
  const days = backfillIntervals(options.start, options.end);
  refuseMissingWith(options);
  const prepared = await prepare({ ...options, interval: days[0], access: 'read', building: true });
  let p: Plan;
  try {
    const intervals = backfillIntervals(options.start, options.end, granularityOf(prepared));
    p = await withForeseen(prepared, await plan(options, prepared, 'dry-run', intervals), options.force || options.fullRefresh);
  } catch (e) {
    prepared.warehouse?.close();
    throw e;
  }
  await refuseAsRunWould(prepared, p, { pipeCommand: buildCommandFor(options), pipeline: options.pipeline, freshnessAt: freshnessAt(prepared, options) }, options.emit);
  return p;
}

/**
 * `pipe backfill`: incremental models once per date, at most `parallel` dates in flight
 * (slow start from one), tables and views once at the end. Retries are off unless asked for:
 * in a large backfill every error is reported, then `pipe retry` re-runs what failed.
 */
export function backfill(options: BackfillOptions): Promise<RunOutcome | NothingToDo> {
  return startBackfill({ ...options, missing: false });
}

/**
 * `pipe backfill --missing`: the backfill of the tasks that are not current, in its normal order
 * and parallelism; nothing to do when every selected task is current.
 */
export function backfillMissing(options: BackfillOptions): Promise<RunOutcome | NothingToDo> {
  return startBackfill({ ...options, missing: true });
}

async function startBackfill(options: BackfillOptions): Promise<RunOutcome | NothingToDo> {
  const days = backfillIntervals(options.start, options.end);
  if (options.retries !== undefined && (options.retries < 0 || options.retries > MAX_RETRIES)) {
    throw new DiagnosticError([error('bad-option', `--retries must be from 0 to ${MAX_RETRIES}`)]);
  }
  refuseMissingWith(options);
  const runId = newRunId();
  // A distributed backfill opens the warehouse only in its turn (Distributed.oneAtATime): not ahead.
  const { project, release } = options.distributed ? { project: openProject(options), release: () => undefined } : await openProjectAhead(options);
  let distributed: Distributed | undefined;
  let prepared: Prepared;
  let p: Plan;
  try {
    // Refused, or its Postgres found unreachable, before the warehouse is opened.
    distributed = options.distributed ? await Distributed.open(project, options.distributed, 'pipe backfill --distributed') : undefined;
    const preparing = () => prepare({ ...options, interval: days[0], invocation: { id: runId, startedAt: Date.now() }, building: true }, project);
    prepared = await (distributed ? distributed.oneAtATime(preparing) : preparing());
    try {
      p = await plan(options, prepared, runId, backfillIntervals(options.start, options.end, granularityOf(prepared)));
    } catch (e) {
      prepared.warehouse?.close();
      throw e;
    }
  } catch (e) {
    await distributed?.close();
    throw e;
  } finally {
    // The plan holds the warehouse now (or it was refused): the handle opened ahead is not needed.
    release();
  }
  if (options.missing && p.tasks.length === 0 && !p.diagnostics.some((d) => d.severity === 'error') && prepared.selected.size > 0) {
    prepared.warehouse?.close();
    await distributed?.close();
    return { nothingToDo: `nothing to build: every selected task from ${options.start} to ${options.end} is current` };
  }
  const nothing = await nothingToBuild(prepared, p, distributed);
  if (nothing) return nothing;
  const intervals = backfillIntervals(options.start, options.end, granularityOf(prepared));
  const threads = resolveThreads({ flag: options.threads, pipeline: prepared.pipeline, settings: prepared.analysis.settings, parallel: options.parallel });
  const launchOptions: LaunchOptions = {
    runId,
    pipeline: options.pipeline,
    params: backfillParams(options, prepared, selectorsOf(project)),
    plan: p,
    threads,
    emit: options.emit,
    signal: options.signal,
    header: { ds: formatDate(intervals[intervals.length - 1].start), dateIsDefault: false, start: options.start, end: options.end },
    execute: {
      parallel: options.parallel ?? 1,
      maxFailures: options.maxFailures,
      retryOverride: options.retries
        ? { retries: options.retries, delayMs: DEFAULT_RETRY_DELAY_MS, maxDelayMs: DEFAULT_MAX_DELAY_MS }
        : NO_RETRIES,
      force: options.force || options.fullRefresh,
    },
    retryCommand: retryCommandFor(options),
    pipeCommand: buildCommandFor(options),
    checkFreshness: options.checkFreshness,
    clock: options.clock,
    runHooks: { interval: intervals[intervals.length - 1], fullRefresh: options.fullRefresh === true },
  };
  return distributed ? distributed.launch(prepared, launchOptions) : launch(prepared, launchOptions);
}
