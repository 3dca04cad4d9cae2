import type { Location } from '../diagnostics/diagnostics.js';
import { failureWords, type CheckFailure, type TaskError } from '../events/events.js';
import { csvLoadError } from '../plan/csv-error-location.js';
import { locateSqlError } from '../plan/sql-error-location.js';
import type { Task } from '../plan/task.js';
import type { Dialect, ErrorLine } from '../warehouse/dialect.js';
import { WarehouseError } from '../warehouse/warehouse.js';
import { labelWithFileLine, labelWithRenderedLine } from './sql-error-label.js';
import { diskFull } from '../util/disk-full.js';
import { stoppedDatabase } from '../warehouse/duckdb/duckdb-warehouse.js';

/**
 * Why a task failed, as errors the step runner throws, and as the TaskError that events and
 * the run state carry: each kind of failure says where it is (the model file's line, a
 * check's YAML line, a CSV line) and whether a retry may cure it.
 */

/** A task failed on its data, not on the database: e.g. rows outside its interval. */
export class TaskDataError extends Error {
  constructor(
    message: string,
    readonly sample: readonly Record<string, unknown>[],
    /** Where the rule the rows break is set, when that is not the model's query. */
    readonly location?: Location,
  ) {
    super(message);
  }
}

/** Blocking checks found failing rows: the staged data is not published. */
export class ChecksFailedError extends Error {
  constructor(readonly failures: readonly CheckFailure[]) {
    super(
      failures
        .map((f) => {
          const at = `(${f.location.file}${f.location.line ? `:${f.location.line}` : ''})`;
          const stored = f.storedIn === undefined ? '' : `; see its failures: select * from ${f.storedIn}`;
          return `${failureWords(f, 'failed')} ${at}${stored}`;
        })
        .join('\n'),
    );
  }
}

/**
 * A task stopped by what the project says, at a place in it: a check naming a column the
 * model does not produce ('Check'), a column change its on_schema_change refuses ('Schema'),
 * a query that breaks its contract ('Contract'), an external file that cannot be written ('File'),
 * a snapshot whose table or check_cols do not fit its query ('Snapshot'), or a table a newer
 * interval's build stands in for that misses what this run wrote ('Superseded').
 */
export class ProjectRuleError extends Error {
  constructor(
    readonly kind: 'Check' | 'Schema' | 'Contract' | 'File' | 'Snapshot' | 'UnitTest' | 'Hook' | 'Superseded',
    message: string,
    readonly location: Location,
  ) {
    super(message);
  }
}

/**
 * A statement of the project's own beside a model's query (a hook, a sql_header) failed; after
 * the commit (`published`), the model is published already and the task fails all the same.
 */
export class HookError extends Error {
  constructor(
    readonly error: WarehouseError,
    readonly label: string,
    readonly location: Location,
    readonly published: boolean,
  ) {
    super(`${label} failed: ${error.message}`);
  }
}

/**
 * A task's template failed as it was rendered for the run (dbt's execution render): an error
 * in the template, or a query it runs that the warehouse refused, at the template's line.
 */
export class RenderError extends Error {
  constructor(
    message: string,
    readonly location: Location | undefined,
    readonly errorClass: 'transient' | 'permanent' = 'permanent',
  ) {
    super(message);
  }
}

/**
 * A database error, with the failing statement when pipe knows it, to locate the error in the
 * model file, and the dialect that reads the lines and CSV records it names.
 */
export class StatementError extends Error {
  constructor(
    readonly error: WarehouseError,
    readonly statements: readonly string[],
    readonly dialect: Dialect,
  ) {
    super(error.message);
  }
}

/**
 * An error whose line the engine named wrongly (see ErrorLine.notOfLine): said without that
 * line, and where it may come from, never pointing at a line of the model that has no part in it.
 */
function withoutLine(message: string, named: ErrorLine): string {
  const at = message.indexOf(named.marker);
  const cut = at < 0 ? message : message.slice(0, at).trimEnd();
  return `${cut}\n(DuckDB named a line of the query, but that line ${named.notOfLine}: the error is of a view the query reads, directly or not)`;
}

/** The error a task failed with, as events and the run state report it; anything unforeseen is an internal error. */
export function toTaskError(e: unknown, task?: Task): TaskError {
  if (e instanceof StatementError) {
    const base = toTaskError(e.error);
    const csv = task?.csv && csvLoadError(e.dialect.csvFault(e.error.message), task.csv);
    if (csv) return { ...base, ...csv };
    const statement = task?.origin ? e.statements.find((s) => s.includes(task.origin!.sql)) : undefined;
    // The parser at the end of the statement: the query stops short, at its last line (see locateSqlError).
    const named = e.dialect.errorLine(e.error.message, statement) ?? (statement !== undefined && /syntax error at end of input/.test(e.error.message) ? { line: statement.split('\n').length, marker: '' } : undefined);
    if (named?.notOfLine !== undefined) return { ...base, message: withoutLine(base.message, named) };
    const place = statement && task?.origin ? locateSqlError(named?.line, statement, task.origin, /^Parser Error: syntax error/.test(e.error.message)) : undefined;
    const message = place?.location ? labelWithFileLine(base.message, named, place.location) : labelWithRenderedLine(base.message, named, place?.context ? place.contextLine : undefined);
    return { ...base, message, location: place?.location, sqlContext: place?.context, ...(place?.lines ? { sqlFromLines: place.lines } : {}) };
  }
  if (e instanceof WarehouseError) {
    // Not the query's fault, and no line of it to point at: said as the disk's.
    const full = diskFull(e.message);
    if (full) return { message: `${full}; nothing of this task was published`, kind: e.kind, errorClass: e.errorClass };
    return { message: stoppedDatabase(e.message) ?? e.message, kind: e.kind, errorClass: e.errorClass };
  }
  if (e instanceof HookError) {
    const where = `${e.location.file}${e.location.line === undefined ? '' : `:${e.location.line}`}`;
    const after = e.published ? ' (after the commit: the model is published)' : '';
    return { message: `${e.label} (${where}) failed${after}: ${e.error.message}`, kind: e.error.kind, errorClass: e.error.errorClass, location: e.location };
  }
  if (e instanceof ChecksFailedError) {
    return { message: e.message, kind: 'Check', errorClass: 'permanent', checks: e.failures, sample: e.failures[0]?.sample };
  }
  if (e instanceof RenderError) return { message: e.message, kind: 'Template', errorClass: e.errorClass, location: e.location };
  if (e instanceof ProjectRuleError) return { message: e.message, kind: e.kind, errorClass: 'permanent', location: e.location };
  if (e instanceof TaskDataError) return { message: e.message, kind: 'Data', errorClass: 'permanent', sample: e.sample, ...(e.location === undefined ? {} : { location: e.location }) };
  const message = e instanceof Error ? e.message : String(e);
  return { message: `internal error: ${message}`, kind: 'Internal', errorClass: 'permanent' };
}
