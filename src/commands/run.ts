import { dateVariables } from '../dates/dates.js';
import type { EventSink } from '../events/events.js';
import { planRun } from '../plan/plan.js';
import { resolveInterval, type ProjectOptions, type SelectionOptions } from './context.js';
import { launch, newRunId, prepare, retryCommandFor, type RunOutcome } from './lifecycle.js';

export interface RunOptions extends ProjectOptions, SelectionOptions {
  /** `YYYY-MM-DD`; default yesterday. */
  readonly date?: string;
  readonly threads?: number;
  /** Rebuild incremental models from nothing and reload seeds. */
  readonly fullRefresh?: boolean;
  readonly signal?: AbortSignal;
  readonly emit: EventSink;
}

export type { RunOutcome };

export const DEFAULT_THREADS = 4;

/** `pipe run`: every selected model once, for one date. */
export async function run(options: RunOptions): Promise<RunOutcome> {
  const { interval, isDefault } = resolveInterval(options.date, options.clock);
  const prepared = await prepare({ ...options, interval });
  const runId = newRunId();
  const threads = options.threads ?? prepared.pipeline?.threads ?? prepared.analysis.settings.threads ?? DEFAULT_THREADS;
  const ds = dateVariables(interval).ds;
  const plan = planRun(
    {
      analysis: prepared.analysis,
      selected: prepared.selected,
      catalog: prepared.catalog,
      seedHashes: prepared.seedHashes,
      fullRefresh: options.fullRefresh ?? false,
      runId,
      pipeline: prepared.pipeline,
    },
    interval,
  );
  return launch(prepared, {
    runId,
    command: 'run',
    pipeline: options.pipeline,
    params: {
      ds,
      vars: options.vars ?? {},
      resolved_vars: prepared.analysis.vars,
      select: options.select ?? [],
      exclude: options.exclude ?? [],
      threads: options.threads ?? null,
      full_refresh: options.fullRefresh ?? false,
    },
    plan,
    threads,
    emit: options.emit,
    signal: options.signal,
    header: { ds, dateIsDefault: isDefault },
    retryCommand: retryCommandFor(options),
  });
}
