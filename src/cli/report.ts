import type { StopPoint } from './stop-notice.js';
import type { OperationOutcome } from '../commands/run-operation.js';
import { DiagnosticError, error } from '../diagnostics/diagnostics.js';
import type { PipeEvent, RunCounts } from '../events/events.js';
import type { Logger } from '../logging/logger.js';
import { WarehouseError, WarehouseLockedError, WarehouseOpenError } from '../warehouse/warehouse.js';
import { damagedFileError, stoppedDatabase } from '../warehouse/duckdb/duckdb-warehouse.js';
import { EXIT, type ExitStatus } from './exit-status.js';
import { diskFull } from '../util/disk-full.js';
import { missingStateTable, STATE_SCHEMA } from '../warehouse/run-state.js';

/** How a command's end becomes an exit status, the same for the CLI and for the library's callers. */

/** The exit status of a run that ended. */
export function statusCode(status: RunCounts['status']): ExitStatus {
  return status === 'succeeded' ? EXIT.ok : status === 'cancelled' ? EXIT.interrupted : EXIT.taskFailed;
}

/** The exit status of a run, once its notifications are delivered or given up (a command exits after them). */
export async function finished(outcome: { readonly status: RunCounts['status']; readonly notified: Promise<void> }): Promise<ExitStatus> {
  await outcome.notified;
  return statusCode(outcome.status);
}

/** As finished, for a command that may find nothing to run: that is said, and it succeeds. */
export async function finishedOrNothing(
  outcome: Parameters<typeof finished>[0] | { readonly nothingToDo: string },
  logger: Logger,
): Promise<ExitStatus> {
  if (!('nothingToDo' in outcome)) return finished(outcome);
  logger.handle({ type: 'notice', message: outcome.nothingToDo });
  return EXIT.ok;
}

/**
 * What `pipe run-operation` prints as it runs: what the macro prints (print(), log(info=True))
 * as it is, alone on stdout, as dbt prints it, for macros whose output is the product (YAML or
 * SQL to copy, as dbt-codegen's); its warnings and the rest as every command says them. With
 * --json, the events as they are.
 */
export function operationOutput(logger: Pick<Logger, 'handle' | 'result'>, json: boolean): (e: PipeEvent) => void {
  return (e) => {
    if (!json && e.type === 'template-message' && e.kind !== 'warn') logger.result(`${e.message}\n`, true);
    else logger.handle(e);
  };
}

/** The exit status of `pipe run-operation`: a macro that failed as it ran is said with its place. */
export function operationStatus(outcome: OperationOutcome, logger: Pick<Logger, 'handle'>): ExitStatus {
  if (outcome.ok) return EXIT.ok;
  logger.handle({ type: 'diagnostic', diagnostic: error('operation-failed', outcome.error.message, outcome.error.location) });
  // A call refused before any of its queries ran is bad input; one that failed after some ran, a failure.
  return outcome.ranNothing ? EXIT.badInput : EXIT.taskFailed;
}

/** Turns what a command threw into printed diagnostics and an exit status. */
/** `point`: how far the command had gone (see stop-notice.ts): a run that had not started has nothing for pipe retry to finish. */
export function report(e: unknown, logger: Logger, point: StopPoint = 'unknown'): ExitStatus {
  if (e instanceof DiagnosticError) {
    for (const d of e.diagnostics) logger.handle({ type: 'diagnostic', diagnostic: d });
    return EXIT.badInput;
  }
  if (e instanceof WarehouseLockedError) {
    const hint = e.waitedMs > 0 ? '--wait sets how long pipe waits for it' : undefined;
    logger.handle({ type: 'diagnostic', diagnostic: error('warehouse-locked', e.message, undefined, { hint }) });
    return EXIT.badInput;
  }
  if (e instanceof WarehouseOpenError) {
    logger.handle({ type: 'diagnostic', diagnostic: error('bad-warehouse', e.message, undefined, { hint: e.hint }) });
    return EXIT.badInput;
  }
  const message = e instanceof Error ? (process.env.PIPE_DEBUG ? (e.stack ?? e.message) : e.message) : String(e);
  const damaged = damagedFileError(message);
  if (damaged) {
    logger.handle({ type: 'diagnostic', diagnostic: error('bad-warehouse', damaged.message, undefined, { hint: damaged.hint }) });
    return EXIT.badInput;
  }
  // The run state with a table of its own gone (dropped by hand): no bug of pipe's, and a run that writes makes it again.
  const missing = missingStateTable(message);
  if (missing) {
    logger.handle({
      type: 'diagnostic',
      diagnostic: error('bad-run-state', `pipe's run state in ${STATE_SCHEMA} has no table ${missing} (dropped by hand, or by another tool): the runs it would tell of cannot be read`, undefined, {
        hint: 'a pipe run, or pipe retry, makes the tables of the run state it lacks; what was in the one gone is lost',
      }),
    });
    return EXIT.badInput;
  }
  // DuckDB out of memory outside any task (reading the run state, a tiny memory_limit): no bug of pipe's.
  const oom = /^Out of Memory Error: ([^\n]*)/.exec(message);
  if (oom) {
    // Before its run started (opening the warehouse, reading its state), nothing ran: the setting is what is wrong.
    const before = point === 'preparing' || point === 'waiting';
    logger.handle({
      type: 'diagnostic',
      diagnostic: error('out-of-memory', `DuckDB ran out of memory: ${oom[1]}`, undefined, {
        hint: `raise memory_limit under settings: (pipe.yaml, or the profile in a dbt project), or lower threads${before ? ': nothing was run' : ''}`,
      }),
    });
    return before ? EXIT.badInput : EXIT.taskFailed;
  }
  // Outside any task (recording the run's end): no bug of pipe's.
  const full = diskFull(message);
  if (full) {
    // Before its run started nothing ran, and no run is recorded for pipe retry to finish.
    if (point === 'preparing' || point === 'waiting') {
      logger.handle({ type: 'diagnostic', diagnostic: error('disk-full', full, undefined, { hint: 'free space on that disk, then give the command again: nothing was run' }) });
      return EXIT.badInput;
    }
    if (point === 'unknown') {
      logger.handle({ type: 'diagnostic', diagnostic: error('disk-full', full, undefined, { hint: 'free space on that disk, then give the command again' }) });
      return EXIT.taskFailed;
    }
    logger.handle({ type: 'diagnostic', diagnostic: error('disk-full', full, undefined, { hint: 'free space on that disk, then pipe retry finishes the run (what was not committed was rolled back)' }) });
    return EXIT.taskFailed;
  }
  // A lake's catalog lost outside any task (recording the run's end through a Postgres outage): no bug of pipe's.
  if (e instanceof WarehouseError && e.errorClass === 'transient') {
    const hint =
      point === 'preparing' || point === 'waiting'
        ? 'give the command again once it answers: nothing was run'
        : 'once it answers, pipe history shows the run (the next command records it interrupted if its end could not be) and pipe retry finishes it';
    logger.handle({ type: 'diagnostic', diagnostic: error('warehouse-lost', message, undefined, { hint }) });
    return point === 'preparing' || point === 'waiting' ? EXIT.badInput : EXIT.taskFailed;
  }
  const stopped = stoppedDatabase(message);
  if (stopped) {
    logger.handle({ type: 'diagnostic', diagnostic: error('warehouse-stopped', stopped, undefined, { hint: "mend what the error names (a folder pipe may not write, a full disk), then pipe retry finishes the run" }) });
    return EXIT.taskFailed;
  }
  logger.handle({ type: 'diagnostic', diagnostic: error('internal', `internal error: ${message}`) });
  return EXIT.taskFailed;
}
