import { dateVariables, HOUR_MS, hourInterval, intervalLabel, systemClock } from '../dates/dates.js';
import { pipelineInterval, readPipeline, type Pipeline } from '../analyze/project-settings.js';
import type { ProjectFiles } from '../project/load-project.js';
import type { EventSink } from '../events/events.js';
import { planRun } from '../plan/plan.js';
import { loadFiles, resolveInterval, type ProjectOptions, type SelectionOptions, type WaitOptions } from './context.js';
import { launch, newRunId, pipeCommandFor, planContext, prepare, retryCommandFor, withPast, type RunOutcome } from './lifecycle.js';

export interface RunOptions extends ProjectOptions, SelectionOptions, WaitOptions {
  /** `YYYY-MM-DD`; default yesterday. */
  readonly date?: string;
  readonly threads?: number;
  /** Rebuild incremental models from nothing and reload seeds. */
  readonly fullRefresh?: boolean;
  readonly signal?: AbortSignal;
  readonly emit: EventSink;
  /** An hour of `date` (0-23): the run covers that hour instead of the day. */
  readonly hour?: number;
  /** Run `depends_on_past` models even when their previous interval has not succeeded. */
  readonly ignoreDependenciesOnPast?: boolean;
  /** Set by the scheduler: the run's id, and the fire time that triggered it. */
  readonly runId?: string;
  readonly scheduledAt?: number;
  /** Set by the scheduler when the run takes over an interval whose run never finished: that run's id. */
  readonly resumes?: string;
}

export type { RunOutcome };

export const DEFAULT_THREADS = 4;

/** A pipeline's settings read ahead of analysis (which reports any problem in them). */
export function pipelineOf(files: ProjectFiles, name: string | undefined): Pipeline | undefined {
  const source = name === undefined ? undefined : files.pipelines.find((p) => p.name === name);
  return source && readPipeline(source, []);
}

/**
 * `pipe run`: every selected model once, for one date. With no --date and no --hour, a daily
 * run builds yesterday and a run of an hourly pipeline the previous full hour (UTC), as their
 * schedules would.
 */
export async function run(options: RunOptions): Promise<RunOutcome> {
  const day = resolveInterval(options.date, options.clock);
  const isDefault = day.isDefault;
  let interval = options.hour === undefined ? day.interval : hourInterval(day.interval.start + options.hour * HOUR_MS);
  let hour = options.hour;
  const files = loadFiles(options);
  if (isDefault && hour === undefined && pipelineInterval(pipelineOf(files, options.pipeline)) === 'hourly') {
    const now = (options.clock ?? systemClock).now();
    interval = hourInterval(now - (now % HOUR_MS) - HOUR_MS);
    hour = new Date(interval.start).getUTCHours();
  }
  const prepared = await prepare({ ...options, interval }, files);
  const runId = options.runId ?? newRunId();
  const threads = options.threads ?? prepared.pipeline?.threads ?? prepared.analysis.settings.threads ?? DEFAULT_THREADS;
  const ds = dateVariables(interval).ds;
  const ctx = planContext(prepared, runId, options.fullRefresh);
  const plan = planRun(options.ignoreDependenciesOnPast ? ctx : await withPast(ctx, prepared, interval), interval);
  return launch(prepared, {
    runId,
    command: 'run',
    pipeline: options.pipeline,
    params: {
      ds,
      ...(hour !== undefined ? { hour } : {}),
      ...(options.scheduledAt !== undefined ? { scheduled_at: new Date(options.scheduledAt).toISOString() } : {}),
      vars: options.vars ?? {},
      resolved_vars: prepared.analysis.vars,
      select: options.select ?? [],
      exclude: options.exclude ?? [],
      threads: options.threads ?? null,
      full_refresh: options.fullRefresh ?? false,
      ...(options.ignoreDependenciesOnPast ? { ignore_dependencies_on_past: true } : {}),
      ...(options.resumes ? { resume_of: options.resumes } : {}),
    },
    parentRunId: options.resumes,
    plan,
    threads,
    emit: options.emit,
    signal: options.signal,
    header: { ds: intervalLabel(interval), dateIsDefault: isDefault },
    retryCommand: retryCommandFor(options),
    pipeCommand: pipeCommandFor(options),
  });
}
