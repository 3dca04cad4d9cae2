import type { Interval } from '../dates/dates.js';
import type { Diagnostic, Location } from '../diagnostics/diagnostics.js';
import type { Answer, Question } from '../warehouse/introspection.js';
import type { SqlOrigin } from './sql-error-location.js';
import type { CsvOrigin } from './csv-error-location.js';
import type { RetryPolicy } from './retry-policy.js';
import type { SchemaChangePolicy } from '../analyze/model-config.js';
import type { SourceNode } from '../analyze/sources.js';
import type { BuiltMaterialization } from './materializations.js';
import type { Threshold } from '../sql/test-threshold.js';
import type { ExternalFormat } from '../analyze/model-config.js';
import type { ContractColumn } from '../analyze/dbt/contract.js';
import type { RelationKind } from '../warehouse/dialect.js';
import type { SnapshotMergeStep } from './strategies/snapshot.js';
import type { Tracking } from '../state/tracking.js';
import type { BuildRecord } from '../warehouse/build-records.js';
import type { UnitTestStep } from './strategies/unit-test.js';
import type { TemplateMessage } from '../analyze/jinja/surface.js';

export type { TemplateMessage };

/**
 * A task is one node built for one interval, with every statement it will run already
 * decided: the executor runs steps and never renders or plans.
 */
/**
 * What a task does: build a seed or a model by its materialization, or (`pipe test`) check
 * published data; `unit-test` runs a dbt unit test of a model (before the model in a build); `run-hook` names an on-run-start or on-run-end statement in events and the
 * run's history (the command runs those, not the executor).
 */
export type TaskKind = 'seed' | BuiltMaterialization | 'test' | 'unit-test' | 'run-hook';

export type Step =
  /**
   * A statement outside the publishing transaction (building the staging table). With
   * `countsRows`, the rows it wrote are the task's rows: as the engine reports them, or,
   * when it cannot (a PIVOT), counted in `rowsOf`.
   */
  | { readonly kind: 'statement'; readonly sql: string; readonly countsRows?: boolean; readonly rowsOf?: string }
  /** A query that must return no rows; any row it returns fails the task with their count and `message` (`one` when it is 1). */
  | {
      readonly kind: 'assert-empty';
      readonly sql: string;
      readonly countSql: string;
      readonly message: string;
      readonly one?: string;
      /** Where the rule the rows break is set (a unique_key), when that is not the query. */
      readonly location?: Location;
      /** The rows' partition column, read as dates by `sql`: a value it cannot read fails the step in the engine's words, and is told by name instead. */
      readonly dates?: { readonly column: string; readonly rows: string };
    }
  /**
   * The publishing transaction. The executor appends the task's success record to it and
   * runs it while holding the lock of `lockKey`, so commits to one table never race.
   * `checks` read the table as the transaction left it, before it commits: checks of the
   * whole table (`scope: table`) of a model that other tasks publish to as well (the dates of
   * an incremental model) cannot be raced by them, and a blocking failure rolls it all back.
   */
  | {
      readonly kind: 'publish';
      readonly statements: readonly string[];
      readonly countsRowsAt?: number;
      readonly checks?: readonly CheckStep[];
      /**
       * Steps run inside the transaction before its statements: a model with pre-hooks of
       * `transaction: true` is built in its publishing transaction, after them, as dbt builds it.
       */
      readonly inside?: readonly Step[];
      /** Steps run inside the transaction after its statements, before its checks: post-hooks, then comments. */
      readonly after?: readonly Step[];
      /** Set when the transaction writes one partition of the table straight from the model's query. */
      readonly partition?: PartitionWrite;
      /**
       * Set when the transaction builds the whole relation from the model's query (a table
       * written once): its statements may be interrupted until the commit, the rows of
       * statement `countsRowsAt` are counted in `rowsOf` when the engine does not say (a
       * PIVOT), and the task's success record, which holds them, is written last.
       */
      readonly rowsOf?: string;
    }
  /** Best-effort cleanup after a failure (dropping the staging table). */
  | { readonly kind: 'cleanup'; readonly sql: string }
  /** Best-effort cleanup after a failure: a file written but not renamed into place. */
  | { readonly kind: 'remove-file'; readonly path: string }
  /** What cannot run, said when the task runs (a test of a model not built yet): the task fails there, the others run. */
  | { readonly kind: 'refuse'; readonly message: string; readonly location: Location }
  /**
   * A statement of the project's own beside the model's query (a pre- or post-hook, a
   * sql_header): a database error in it is reported at its place. `published` marks a
   * post-hook run after the commit, whose failure fails a task that is already published.
   */
  | HookStep
  /**
   * An enforced contract: the columns `sql` returns must be `columns`, the same names with the
   * same types (each declared type as the engine spells it), in any order.
   */
  | { readonly kind: 'contract'; readonly sql: string; readonly columns: readonly ContractColumn[]; readonly location: Location }
  /**
   * The properties file's descriptions as comments on the relation just published (inside the
   * transaction): the relation's own, and each described column it has.
   */
  | {
      readonly kind: 'persist-docs';
      readonly relation: string;
      readonly relationKind: RelationKind;
      readonly description?: string;
      readonly columns: readonly { readonly name: string; readonly description: string; readonly location?: Location }[];
    }
  /**
   * An external model's file: the staged rows written to `temp` beside `path`, a view over it
   * opening the publishing transaction, renamed over `path` (a reader of the file sees the old
   * one or the new one, never part of one) once the checks in that transaction passed, and the
   * view then made over `path`, before the post-hooks and the commit.
   */
  | {
      readonly kind: 'write-file';
      readonly staging: string;
      readonly temp: string;
      readonly path: string;
      readonly format: ExternalFormat;
      readonly delimiter?: string;
      /** The view's relation, and what stands under its name now. */
      readonly view: string;
      readonly existing?: RelationKind;
    }
  /**
   * The staged table's columns against the published table's (when there is one): a
   * difference fails the task or, by `policy`, adds `ALTER TABLE` statements to the
   * publishing transaction.
   */
  | {
      readonly kind: 'schema-change';
      /** `"schema"."name"` of the published table. */
      readonly target: string;
      /** The rows about to be published: a staged table, or the query a partition is written from. */
      readonly staged: { readonly relation: string } | { readonly query: string };
      readonly policy: SchemaChangePolicy;
      /** The column that places each row in its date, which the rows must have, of a type that holds dates. */
      readonly partitionBy?: string;
      /** Where that column is set (partition_by, or a microbatch model's event_time): a refusal about it is reported there. */
      readonly partitionByAt?: Location;
      /** The unique_key columns rows are replaced by, which a table holding rows must have, and where they are set. */
      readonly keys?: { readonly columns: readonly string[]; readonly location?: Location };
      /**
       * The staged rows are added to the table (an append): a staged row the table holds,
       * compared on the staged columns once the step has found them, fails the publishing
       * transaction before its own statements, saying which rows they are.
       */
      readonly newRowsOnly?: NewRowsOnly;
      /** Where on_schema_change is set (else the model's config()): a refusal is reported there. */
      readonly location?: Location;
    }
  /**
   * A snapshot's merge: from the columns of its staged rows and of its table, the statements
   * that create the table or stage and apply the changes, put at the start of the publishing
   * transaction (see strategies/snapshot.ts).
   */
  | ({ readonly kind: 'snapshot-merge' } & SnapshotMergeStep)
  /**
   * A dbt unit test: the model's query over given rows against the expected rows, written when
   * it runs from the columns of the inputs (see strategies/unit-test.ts); a difference fails it
   * as a failing check.
   */
  | ({ readonly kind: 'unit-test' } & UnitTestStep)
  /**
   * The columns named by checks or config must exist in `relation` (a query's result or a
   * table): the task's own rows, or with `of` another model's (what a relationships check
   * compares to), so that a missing one is told at the line that names it, not in the engine's
   * words about pipe's SQL.
   */
  | { readonly kind: 'columns'; readonly relation: string; readonly expected: readonly ColumnUse[]; readonly of?: string }
  /**
   * A seed reloaded over its table: the staged table's columns against the published one's,
   * each column whose type the file's values now read as another (or that came or went) told
   * in a notice. Nothing is refused: the table is the file's, as a full refresh makes it.
   */
  | {
      readonly kind: 'type-changes';
      readonly staged: string;
      readonly target: string;
      /** The columns column_types declares: their types come from the config, not the file's values. */
      readonly declared?: readonly string[];
    }
  | CheckStep;

/** An append's refusal of staged rows its table holds: what the task says of them (see strategies/append.ts). */
export interface NewRowsOnly {
  readonly message: string;
  readonly one: string;
}

/**
 * An incremental task's partition written in its publishing transaction (see
 * strategies/incremental.ts): the old rows deleted and the query's rows inserted, the checks
 * reading the table's rows of the partition before the commit.
 */
export interface PartitionWrite {
  /** The partition's condition; its lock: transactions writing other partitions of the table may run beside this one. */
  readonly inside: string;
  /** What `inside` says: the partition column's values in [start, end) (epoch ms), for the condition in the column's type once known (Dialect.inInterval). */
  readonly by: { readonly column: string; readonly start: number; readonly end: number };
  /**
   * The first statement creates the table when it does not exist yet (it did not as the task
   * was planned); the executor leaves it out once the task has found the table.
   */
  readonly creates: boolean;
  /** The rows written (the model's query, as a relation): where a partition value that is not a date is looked for when the write fails. */
  readonly rows: string;
  /** The error the insert raises at a row outside the partition, and the queries that then report those rows. */
  readonly outside: { readonly error: string; readonly sql: string; readonly countSql: string; readonly message: string; readonly one: string; readonly location?: Location };
}

/**
 * A data check: `sql` returns the failing rows. Blocking failures fail the task after every
 * check has run (so all of them are reported); `warn` failures are reported only. A dbt
 * test's `threshold` decides as dbt does: its failures are `failCalc` over the rows, an error
 * when severity is error and `errorIf` holds, else a warning when `warnIf` holds.
 */
/** A model's (or seed's) hook, or its sql_header, in its place among the steps. */
export interface HookStep {
  readonly kind: 'hook';
  readonly sql: string;
  readonly label: string;
  readonly location: Location;
  readonly published?: boolean;
  /** A hook that reads the warehouse while it renders is rendered as it runs, its questions answered then (`sql` is empty). */
  readonly renderAtRun?: RenderAtRun<string>;
  /**
   * What a hook rendered when planned (`execute` true, nothing asked of the warehouse) said
   * with log(msg, info=True), print(msg) and exceptions.warn(msg): told as it runs, as dbt
   * prints it then.
   */
  readonly said?: readonly TemplateMessage[];
}

export interface CheckStep {
  readonly kind: 'check';
  /** A check of the whole table (`scope: table`), rather than of the rows the task writes. */
  readonly wholeTable?: boolean;
  readonly name: string;
  readonly severity: 'error' | 'warn';
  readonly sql: string;
  readonly location: Location;
  readonly threshold?: Threshold;
  /**
   * An `expression` check's condition as written, over the checked rows' columns alone: bound
   * against the model's query before anything runs, and a column the engine does not find in
   * it is told as a column the model does not produce, at the check's line.
   */
  readonly expression?: string;
  /**
   * A `query` check's that reads nothing but the data it checks (no ref, no source): the text
   * standing for that data in `sql`. Before anything runs, `sql` is bound with the model's
   * query in its place, and a column it names that the rows will not have is told at the
   * check's line, as an `expression` check's is.
   */
  readonly checked?: string;
  /** A unit test's: its rows are the differences between the model's rows and the expected ones, shown in full (up to 50). */
  readonly differences?: true;
  /** A `row_count` check's: its one failing row is the count it found (`row_count`), not a row of the data. */
  readonly counted?: true;
  /**
   * Set for a dbt test whose template reads the warehouse while rendering: `sql` is the parse
   * render's, and the executor renders it again as the check runs, on the check's own
   * connection at that moment (inside the publishing transaction for the checks there), so
   * that what the template asks of the relation checked describes what the check reads.
   */
  readonly renderAtRun?: RenderAtRun<string>;
  /** A dbt test's failing rows kept in the warehouse as it runs (store_failures). */
  readonly storeFailures?: FailuresWrite;
}

/**
 * Where a dbt test keeps its failing rows, replacing what stood there: a table of the rows its
 * query returns, or a view of the query over the relations as published (`sql`).
 */
export type FailuresWrite = { readonly schema: string; readonly name: string; readonly relation: string } & (
  | { readonly as: 'table' }
  | { readonly as: 'view'; readonly sql: string }
);

/** A column a check (or a model's config) names, and where it is declared. */
export interface ColumnUse {
  readonly column: string;
  /** What names it, as told: `check not_null(id)`, `unique_key`. */
  readonly namedBy: string;
  readonly location: Location;
}

/**
 * What is rendered again when it runs, with the warehouse (dbt's execution render): a model
 * task whose template reads the warehouse while rendering, or a unit test of such a model (`T`
 * the task as it runs), or a dbt test's query (`T` its SQL). Planned with the parse render (`execute` false), which dry runs
 * show; the executor renders it again when it runs, answering the render's questions until it
 * asks none.
 */
export interface RenderAtRun<T = Task> {
  /** One render, given the answers so far by questionKey (warehouse/introspection.ts). */
  render(answers: ReadonlyMap<string, Answer>): RenderOutcome<T>;
}

export type RenderOutcome<T = Task> = (
  /** What runs: the task with the SQL, hash, origin and steps of the execution render, or a test's query. */
  | { readonly kind: 'rendered'; readonly value: T }
  /** The render needs the warehouse's answer to `question`, asked at `location`. */
  | { readonly kind: 'asks'; readonly question: Question; readonly location: Location; readonly related?: Diagnostic['related'] }
  | { readonly kind: 'failed'; readonly diagnostics: readonly Diagnostic[] }
) & {
  /**
   * What the render said with log(msg, info=True), print(msg) and exceptions.warn(msg), in
   * order, up to where it ended: the last render's is told once, as the one that stands.
   */
  readonly said?: readonly TemplateMessage[];
};

export interface Task {
  /** `model@2024-01-02`, or the seed's name. */
  readonly id: string;
  readonly node: string;
  readonly kind: TaskKind;
  readonly file: string;
  readonly relation: string;
  /** Schema of the relation; created before any task runs, never concurrently. */
  readonly schema: string;
  readonly ds?: string;
  readonly interval?: Interval;
  /** Ids of the tasks that must succeed first. */
  readonly upstream: readonly string[];
  /**
   * Ids of tasks that must have finished first, whatever their outcome: the order in which
   * the dates of a model whose checks read its whole table publish, so that a parallel
   * backfill checks each date against the same rows a sequential one would.
   */
  readonly after?: readonly string[];
  readonly sql?: string;
  readonly sqlHash?: string;
  /** Set when `sql` is rendered again as the task runs; `sql` is then the parse render's. */
  readonly renderAtRun?: RenderAtRun;
  /** Where `sql` came from, to point database errors at the model file's line. */
  readonly origin?: SqlOrigin;
  /** The sources its query reads (its own and its ephemeral upstream's): each must exist before a run starts. */
  readonly sources?: readonly SourceNode[];
  /** A seed's CSV file and declared column types, to point errors loading it at their lines. */
  readonly csv?: CsvOrigin;
  readonly steps: readonly Step[];
  /** Serializes publishing per relation. */
  readonly lockKey: string;
  /**
   * Set when the task has nothing to do: an unchanged seed (`up-to-date`), or, in a retry, a
   * table that a later run has published since (`superseded`: rebuilding it for the original
   * run's date would put older data over newer). Reported as skipped with the detail. A dry
   * run marks so (`current`) the model tasks a run would find current.
   */
  readonly noop?: { readonly reason: 'up-to-date' | 'superseded' | 'current'; readonly detail: string };
  /** A seed's: why it is loaded on every run, whatever its file (it has hooks); see loadedSeedHash. */
  readonly alwaysLoads?: string;
  /**
   * Set when the task may not run: its model `depends_on_past` and its previous interval has
   * not succeeded. It is recorded as skipped with this reason, and so is what reads it.
   */
  readonly blocked?: string;
  /**
   * Set on a task of a run that rebuilds an interval before the run's own: the `lookback` of
   * model `of` (its own, or of a model it reads), `n` intervals.
   */
  readonly lookback?: { readonly of: string; readonly n: number };
  /** The backfill date this task belongs to; the executor admits a limited number of dates at once. */
  readonly group?: string;
  /** Automatic retries for transient errors; none when absent. */
  readonly retry?: RetryPolicy;
  /**
   * What its data is made of (a model's task): its publication is recorded with its data
   * version, and a run skips it while it is current (see state/currency.ts). Absent: always run.
   */
  readonly tracking?: Tracking;
  /** Extra statements for the publishing transaction that record task-specific state. */
  readonly stateStatements?: readonly string[];
  /**
   * Its publication's record, set as it runs: written in the publishing transaction in one
   * row with the task's success (see warehouse/build-records.ts OUTCOME_COLUMNS).
   */
  readonly build?: BuildRecord;
  /**
   * A task of a backfill's full refresh that is not one of its dates: emptying the model's
   * staging table first (`reset`), or swapping it in for the published table (`swap`).
   */
  readonly phase?: 'reset' | 'swap';
  /**
   * Set when publishing replaces the model's whole published table with what the run builds
   * for `interval` (a full refresh). Rows of the table outside it would be deleted, so the run
   * is refused before it starts when there are any (see preflight-history.ts).
   */
  readonly replacesTable?: {
    readonly partitionBy: string;
    readonly interval: Interval;
    /** What the run covers, as the user named it: a date, an hour, or a range. */
    readonly label: string;
    /** What the table's rows are counted in. */
    readonly unit: 'date' | 'hour';
  };
}

/** The schemas a task writes to: its relation's, and those its dbt tests keep their failing rows in. */
export function writtenSchemas(task: Task): string[] {
  const checks = allSteps(task.steps).flatMap((s) => (s.kind === 'check' ? [s] : s.kind === 'publish' ? (s.checks ?? []) : []));
  return [...new Set([task.schema, ...checks.flatMap((c) => (c.storeFailures ? [c.storeFailures.schema] : []))])];
}

/** Every step of a task, those a publishing step runs inside its transaction included, in the order they run. */
export function allSteps(steps: readonly Step[]): Step[] {
  return steps.flatMap((s) => (s.kind === 'publish' ? [...allSteps(s.inside ?? []), s, ...allSteps(s.after ?? [])] : [s]));
}

/**
 * What a seed's load records as its version (its readers' input): its file's hash; for one that
 * always loads (hooks), that of this load, since what its hooks did is out of sight.
 */
export function loadedSeedHash(task: Pick<Task, 'sqlHash' | 'alwaysLoads'>, runId: string): string | undefined {
  if (task.sqlHash === undefined) return undefined;
  return task.alwaysLoads === undefined ? task.sqlHash : `${task.sqlHash}:${runId}`;
}
