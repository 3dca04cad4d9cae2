import { error, DiagnosticError } from '../diagnostics/diagnostics.js';
import { MAX_RETRIES } from '../analyze/model-config.js';
import { daysBetween, formatDate, HOUR_MS, hourInterval, parseDate, type Interval } from '../dates/dates.js';
import { pipelineInterval, type ScheduleInterval } from '../analyze/project-settings.js';
import type { EventSink } from '../events/events.js';
import { DEFAULT_MAX_DELAY_MS, NO_RETRIES } from '../plan/retry-policy.js';
import { DEFAULT_RETRY_DELAY_MS, planBackfill, type DateOrder, type Plan } from '../plan/plan.js';
import type { ProjectOptions, SelectionOptions, WaitOptions } from './context.js';
import { freshnessAt, launch, newRunId, pipeCommandFor, planContext, prepare, refuseAsRunWould, retryCommandFor, withForeseen, type Prepared, type RunOutcome } from './lifecycle.js';
import { commonParams, type BackfillParams } from './stored-params.js';
import { resolveThreads } from './threads.js';

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
  /** Check the freshness of the sources the backfill reads first: an error-level stale one stops it. */
  readonly checkFreshness?: boolean;
  readonly signal?: AbortSignal;
  readonly emit: EventSink;
}

/** The intervals of an inclusive date range: its days, or the 24 hours of each. */
export function backfillIntervals(start: string, end: string, granularity: ScheduleInterval = 'daily'): Interval[] {
  const s = parseDate(start);
  const e = parseDate(end);
  const problems = [];
  if (s === undefined) problems.push(error('bad-date', `invalid --start '${start}': expected a calendar date as YYYY-MM-DD`));
  if (e === undefined) problems.push(error('bad-date', `invalid --end '${end}': expected a calendar date as YYYY-MM-DD`));
  if (s !== undefined && e !== undefined && s > e) {
    problems.push(error('bad-date', `--start ${start} is after --end ${end}: the range is inclusive, oldest date first`));
  }
  if (problems.length > 0) throw new DiagnosticError(problems);
  const days = daysBetween(s!, e!);
  if (granularity === 'daily') return days;
  return days.flatMap((d) => Array.from({ length: 24 }, (_, h) => hourInterval(d.start + h * HOUR_MS)));
}

/** An hourly pipeline is backfilled hour by hour, as its schedule runs it. */
const granularityOf = (prepared: Prepared) => pipelineInterval(prepared.pipeline);

function backfillParams(options: BackfillOptions, prepared: Prepared): BackfillParams {
  return {
    kind: 'backfill',
    start: options.start,
    end: options.end,
    interval: granularityOf(prepared),
    parallel: options.parallel ?? 1,
    order: options.order ?? 'oldest',
    max_failures: options.maxFailures ?? null,
    retries: options.retries ?? 0,
    ...commonParams(options, prepared.analysis.vars),
    full_refresh: options.fullRefresh ?? false,
  };
}

function plan(options: BackfillOptions, prepared: Prepared, runId: string, intervals: Interval[]): Plan {
  return planBackfill(planContext(prepared, runId, options.fullRefresh), intervals, options.order ?? 'oldest');
}

/**
 * `pipe backfill --dry-run`: the plan, refused for what the backfill would refuse; the
 * warehouse is only read.
 */
export async function backfillDryRun(options: BackfillOptions): Promise<Plan> {
  const days = backfillIntervals(options.start, options.end);
  const prepared = await prepare({ ...options, interval: days[0], access: 'read' });
  let p: Plan;
  try {
    const intervals = backfillIntervals(options.start, options.end, granularityOf(prepared));
    p = await withForeseen(prepared, plan(options, prepared, 'dry-run', intervals), options.force || options.fullRefresh);
  } catch (e) {
    prepared.warehouse?.close();
    throw e;
  }
  await refuseAsRunWould(prepared, p, { pipeCommand: pipeCommandFor(options), pipeline: options.pipeline, freshnessAt: freshnessAt(prepared, options) }, options.emit);
  return p;
}

/**
 * `pipe backfill`: incremental models once per date, at most `parallel` dates in flight
 * (slow start from one), tables and views once at the end. Retries are off unless asked for:
 * in a large backfill every error is reported, then `pipe retry` re-runs what failed.
 */
export async function backfill(options: BackfillOptions): Promise<RunOutcome> {
  const days = backfillIntervals(options.start, options.end);
  if (options.retries !== undefined && (options.retries < 0 || options.retries > MAX_RETRIES)) {
    throw new DiagnosticError([error('bad-option', `--retries must be from 0 to ${MAX_RETRIES}`)]);
  }
  const runId = newRunId();
  const prepared = await prepare({ ...options, interval: days[0], invocation: { id: runId, startedAt: Date.now() } });
  const intervals = backfillIntervals(options.start, options.end, granularityOf(prepared));
  const threads = resolveThreads({ flag: options.threads, pipeline: prepared.pipeline, settings: prepared.analysis.settings, parallel: options.parallel });
  const p = plan(options, prepared, runId, intervals);
  return launch(prepared, {
    runId,
    pipeline: options.pipeline,
    params: backfillParams(options, prepared),
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
    pipeCommand: pipeCommandFor(options),
    checkFreshness: options.checkFreshness,
    clock: options.clock,
    runHooks: { interval: intervals[intervals.length - 1] },
  });
}
