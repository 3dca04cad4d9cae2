import type { Diagnostic, Location } from '../diagnostics/diagnostics.js';
import type { TaskKind } from '../plan/task.js';

/**
 * The one stream everything that happens during a command is told through. The core emits
 * these; loggers (terminal, plain, JSON) are the only code that prints them.
 */

export interface TaskRef {
  readonly id: string;
  readonly model: string;
  readonly kind: TaskKind;
  readonly file: string;
  readonly ds?: string;
  /** A backfill's full refresh: the task that resets, or swaps in, the model's staging table. */
  readonly phase?: 'reset' | 'swap';
  /** An interval before the run's own, rebuilt for the `lookback` of model `of` (see Task.lookback). */
  readonly lookback?: { readonly of: string; readonly n: number };
}

export interface TaskError {
  readonly message: string;
  /** The database's error kind ("Binder", "Conversion", ...) or pipe's own ("Interval"). */
  readonly kind: string;
  readonly errorClass: 'transient' | 'permanent';
  /** Sample rows for data errors, as JSON objects. */
  readonly sample?: readonly Record<string, unknown>[];
  /** The blocking checks that failed, when checks failed the task. */
  readonly checks?: readonly CheckFailure[];
  /** Where the problem is, when pipe knows: the model file's line of a SQL error, or a check's YAML line. */
  readonly location?: Location;
  /** The rendered SQL around a SQL error, numbered, when its line in the file is not known. */
  readonly sqlContext?: readonly string[];
  /** The file's lines the failing SQL line may come from, when its text is on several that an if's branches tell apart. */
  readonly sqlFromLines?: readonly number[];
}

/** A check that found failing rows, or a dbt test whose failures make it warn or fail. */
export interface CheckFailure {
  /** The check's name; a dbt test's as dbt names it (`unique_orders_order_id`). */
  readonly check: string;
  readonly severity: 'error' | 'warn';
  /** The failing rows; a dbt test's failures as its `fail_calc` counts them. */
  readonly failingRows: number;
  /** A dbt test's condition that the failures met (its `error_if` or `warn_if`, e.g. `!= 0`). */
  readonly condition?: string;
  /** Up to five failing rows; a unit test's differences, up to 50. */
  readonly sample: readonly Record<string, unknown>[];
  /**
   * A unit test's: the model's rows differ from the expected ones, and `sample` holds the
   * differences, each with `@@` first: `+++` a row the model gives and no expected row matches,
   * `---` an expected row it does not give.
   */
  readonly differences?: true;
  /** A `row_count` check's: the count of rows it found, which its one failing row holds. */
  readonly rowCount?: number;
  readonly location: Location;
  /** A dbt test that keeps its failing rows (store_failures): the relation that holds them now. */
  readonly storedIn?: string;
}

/**
 * What a check found, in words (`check unique(id) failed: 3 failing rows`), `verb` saying how it
 * ended: as the task's error and as its line of output say it. A row_count check's one failing
 * row is the count it found, said as that.
 */
export function failureWords(f: CheckFailure, verb: string): string {
  const n = f.failingRows.toLocaleString('en-US');
  const s = f.failingRows === 1 ? '' : 's';
  if (f.differences) return `unit test ${f.check} ${verb}: actual differs from expected (${n} row${s})`;
  if (f.rowCount !== undefined) return `check ${f.check} ${verb}: ${f.rowCount.toLocaleString('en-US')} row${f.rowCount === 1 ? '' : 's'}`;
  if (f.condition === undefined) return `check ${f.check} ${verb}: ${n} failing row${s}`;
  return `test ${f.check} ${verb}: got ${n} result${s}, configured to ${f.severity === 'warn' ? 'warn' : 'fail'} if ${f.condition}`;
}

/** `current`: a model task whose output is current (built from the same SQL, config and inputs) is not run again. */
export type SkipReason = 'upstream-failed' | 'up-to-date' | 'superseded' | 'depends-on-past' | 'current';

/**
 * The skips of tasks that had nothing to do (current, up to date, superseded): the run state
 * records them as succeeded, with the skip's detail, so that history and retry count them done.
 */
export const DONE_SKIPS: ReadonlySet<SkipReason> = new Set<SkipReason>(['up-to-date', 'current', 'superseded']);

/** How a run ended, and how many of its tasks ended how. */
export interface RunCounts {
  /** `interrupted`: another process ended the run meanwhile (see interruptedBy). */
  readonly status: 'succeeded' | 'failed' | 'cancelled' | 'interrupted';
  readonly succeeded: number;
  readonly failed: number;
  readonly skipped: number;
  readonly cancelled: number;
  /** Tasks never started (after an abort or --max-failures). */
  readonly pending: number;
  /** Of the succeeded, the tasks not run because their output was current. */
  readonly upToDate?: number;
  /**
   * Of the succeeded, the tasks that left their table or view as it was because a newer build
   * stood there (see SUPERSEDED): done, as nothing is left to retry, but not built.
   */
  readonly superseded?: number;
  /**
   * Who recorded the run interrupted while it ran: a distributed run whose coordinator went
   * unseen for its lease, taken for gone by a worker or another coordinator. Its end as
   * recorded there stands.
   */
  readonly interruptedBy?: string;
}

export type PipeEvent =
  | {
      readonly type: 'run-started';
      readonly runId: string;
      readonly command: string;
      readonly pipeline?: string;
      /** The run's date; for a backfill, its last date. */
      readonly ds: string;
      readonly dateIsDefault: boolean;
      /** The hour chosen by default too: an hourly pipeline's previous full hour (with `--hour` alone, the date alone is). */
      readonly hourIsDefault?: true;
      /** A backfill's inclusive range. */
      readonly start?: string;
      readonly end?: string;
      /** A retry's original run. */
      readonly retryOf?: string;
      readonly warehouse: string;
      readonly threads: number;
      readonly tasks: number;
    }
  /** `worker`: which of the run's threads (1..threads) runs it. */
  /** `runner`: the worker process that runs it, in a distributed backfill (its --name, else host:pid). */
  | { readonly type: 'task-started'; readonly runId: string; readonly task: TaskRef; readonly worker?: number; readonly runner?: string }
  | {
      readonly type: 'task-succeeded';
      readonly runId: string;
      readonly task: TaskRef;
      readonly rows?: number;
      readonly attempts: number;
      readonly ms: number;
    }
  | {
      readonly type: 'task-failed';
      readonly runId: string;
      readonly task: TaskRef;
      readonly error: TaskError;
      readonly attempts: number;
      readonly ms: number;
    }
  /** A check found failing rows (blocking or warning); the task's outcome follows separately. */
  | { readonly type: 'check-failed'; readonly runId: string; readonly task: TaskRef; readonly failure: CheckFailure }
  /** A check found nothing to report. */
  | { readonly type: 'check-passed'; readonly runId: string; readonly task: TaskRef; readonly check: string; readonly location: Location; readonly storedIn?: string }
  /**
   * What a template said as its task ran (dbt's execution render: a model, a hook, a dbt test
   * that reads the warehouse while rendering, `execute` true): `log(msg, info=True)`,
   * `print(msg)` or `exceptions.warn(msg)`, each call once, at its place in the template when
   * known. `pipe compile`, which renders as a run would without running, tells it with no run.
   * What a template says at analysis is a notice, or a warning for exceptions.warn().
   */
  | {
      readonly type: 'template-message';
      readonly runId?: string;
      readonly task: TaskRef;
      readonly kind: 'log' | 'print' | 'warn';
      readonly message: string;
      readonly location?: Location;
    }
  /** A transient error; the task is tried again after a delay. */
  | { readonly type: 'task-retrying'; readonly runId: string; readonly task: TaskRef; readonly attempt: number; readonly error: TaskError }
  /** Backfill progress, whenever a date starts or finishes. */
  | {
      readonly type: 'progress';
      readonly runId: string;
      readonly datesTotal: number;
      readonly datesDone: number;
      readonly datesFailed: number;
      /** Ended by a stop (Ctrl-C, SIGTERM) with nothing failed. */
      readonly datesCancelled?: number;
      readonly datesInFlight: number;
      /** Dates allowed in flight now (slow start). */
      readonly parallel: number;
      readonly maxParallel: number;
      readonly elapsedMs: number;
      readonly etaMs?: number;
      /** What the "dates" are: days, or the hours of an hourly pipeline. */
      readonly unit: 'date' | 'hour';
    }
  | { readonly type: 'task-skipped'; readonly runId: string; readonly task: TaskRef; readonly reason: SkipReason; readonly detail: string }
  | { readonly type: 'task-cancelled'; readonly runId: string; readonly task: TaskRef; readonly started: boolean }
  | (RunCounts & {
      readonly type: 'run-finished';
      readonly runId: string;
      readonly ms: number;
      /** The command that re-runs what did not succeed. */
      readonly retryCommand?: string;
      /** The command that shows the run's details, with the flags that find its warehouse. */
      readonly historyCommand?: string;
      /** The run's record went with its warehouse file (see Warehouse.gone): it has no details to show. */
      readonly unrecorded?: true;
    })
  | { readonly type: 'watch-started'; readonly project: string; readonly ds: string; readonly watching: readonly string[] }
  /** Files changed; what will be rebuilt (changed models and their downstream) and what left the graph. */
  | {
      readonly type: 'watch-change';
      readonly files: readonly string[];
      readonly rebuild: readonly string[];
      readonly removed: readonly string[];
      /** The project has errors (reported as diagnostics next): nothing is rebuilt until a save fixes them. */
      readonly blocked?: boolean;
    }
  /**
   * Idle until the next change: the warehouse is closed, so other programs can read it, or
   * (`keeps`, with --keep-open) kept open, lent only to a pipe command that asks for it.
   */
  | { readonly type: 'watch-waiting'; readonly keeps?: true }
  | { readonly type: 'diagnostic'; readonly diagnostic: Diagnostic }
  /** `waitsFor`: the notice that the command waits for the warehouse another process holds. */
  | { readonly type: 'notice'; readonly message: string; readonly waitsFor?: 'warehouse' };

export type EventSink = (event: PipeEvent) => void;
