import { DiagnosticError, error } from '../diagnostics/diagnostics.js';
import { dayInterval, defaultRunDate } from '../dates/dates.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';
import { assessCoverage, MAX_JUDGED_TASKS, type Coverage } from './assess-coverage.js';
import { backfillIntervals } from './backfill.js';
import type { ProjectOptions, SelectionOptions, WaitOptions } from './context.js';
import { plannedSelection, prepare } from './lifecycle.js';
import { pipelineInterval } from '../analyze/project-settings.js';

/** `pipe status`: how current each selected seed and model is, read from the warehouse, which it never writes. */

export interface StatusOptions extends ProjectOptions, SelectionOptions, WaitOptions {
  /** Inclusive range, `YYYY-MM-DD`, both or neither; default each dated model from its begin or first build to yesterday. */
  readonly start?: string;
  readonly end?: string;
  /** The most dates the default range judges (see AssessInput). */
  readonly judgedAtMost?: number;
  /** The most tasks the default range judges; MAX_JUDGED_TASKS unless a test says fewer (see AssessInput). */
  readonly judgedTasksAtMost?: number;
}

export interface Status extends Coverage {
  /** The warehouse file read. */
  readonly warehouse: string;
}

export async function status(options: StatusOptions): Promise<Status> {
  if ((options.start === undefined) !== (options.end === undefined)) {
    throw new DiagnosticError([
      error('bad-option', `--${options.start === undefined ? 'end' : 'start'} needs --${options.start === undefined ? 'start' : 'end'}: give the range as both, or neither for each model's whole history`),
    ]);
  }
  const days = options.start !== undefined && options.end !== undefined ? backfillIntervals(options.start, options.end, 'daily', 'pipe status') : undefined;
  const range = days ? { start: days[0].start, end: days[days.length - 1].start } : undefined;
  const prepared = await prepare({ ...options, interval: dayInterval(range?.end ?? defaultRunDate(options.clock)), access: 'read', buildsNothing: true });
  try {
    // An hourly pipeline's range is judged hour by hour: counted so against the most one command plans, as its backfill counts it.
    if (options.start !== undefined && options.end !== undefined && pipelineInterval(prepared.pipeline) === 'hourly') backfillIntervals(options.start, options.end, 'hourly', 'pipe status');
    const judge = (session: WarehouseSession | undefined) =>
      assessCoverage({ ...prepared, selected: plannedSelection(prepared), session, range, clock: options.clock, judgedAtMost: options.judgedAtMost, judgedTasksAtMost: options.judgedTasksAtMost ?? MAX_JUDGED_TASKS });
    const coverage = prepared.warehouse ? await prepared.warehouse.engine.withSession(judge) : await judge(undefined);
    return { ...coverage, warehouse: prepared.dbPath };
  } finally {
    prepared.warehouse?.close();
  }
}
