import type { PipeEvent } from '../events/events.js';
import type { RunSummaryRow, TaskRow } from '../warehouse/run-state.js';

/**
 * What a run log holds, one JSON object a line: a header (what the run is and which tasks it
 * planned), then the run's events as they happen, then, once the warehouse has recorded how
 * the run ended (at its end, or when the next write after a crash recovers it), the run and
 * its tasks as the warehouse holds them.
 *
 * The warehouse is the truth, the log a view of progress: an event is written after what it
 * tells has been committed (a task's success event follows its commit), so the log may lag
 * behind the warehouse (a crash between the two loses the line) but never runs ahead of it.
 * `task-started` tells of work under way, not of anything committed. The `reconciled` line
 * settles every lag: read after it, a log says what the warehouse says.
 */

export const RUN_LOG_VERSION = 1;

export interface PlannedTaskLine {
  readonly id: string;
  readonly node: string;
  readonly kind: string;
  readonly ds?: string;
}

export interface RunLogHeader {
  readonly type: 'run-log';
  readonly version: number;
  readonly runId: string;
  readonly command: string;
  readonly pipeline?: string;
  /** The run's parameters as the run state stores them (secret vars as fingerprints). */
  readonly params: Readonly<Record<string, unknown>>;
  readonly parentRunId?: string;
  /** The process running it: a log without an end whose process is gone was interrupted. */
  readonly pid: number;
  readonly startedAt: string;
  readonly tasks: readonly PlannedTaskLine[];
}

/** The run and its tasks as the warehouse recorded them. */
export interface ReconciledLine {
  readonly type: 'reconciled';
  readonly time: string;
  readonly run: RunSummaryRow;
  readonly tasks: readonly TaskRow[];
}

export type EventLine = PipeEvent & { readonly time: string };

export type RunLogLine = RunLogHeader | EventLine | ReconciledLine;
