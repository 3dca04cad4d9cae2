import { mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { CALENDAR_KEPT, type PinnedSetting } from '../warehouse/duckdb/session-changes.js';
import { GUARDED_SETTING } from '../warehouse/duckdb/optimizer-guard.js';
import { basename, dirname, join } from 'node:path';
import { didYouMean } from '../diagnostics/suggest.js';
import { warning, type Location } from '../diagnostics/diagnostics.js';
import type { CheckFailure, EventSink } from '../events/events.js';
import { missingColumn, ownQuery } from '../plan/column-uses.js';
import { schemaChange, type Column } from '../plan/strategies/schema-change.js';
import { DAY_MS, formatDate, isHourLabel } from '../dates/dates.js';
import { queryRows, quoteIdent, quoteLiteral } from '../sql/sql-text.js';
import { snapshotMerge } from '../plan/strategies/snapshot.js';
import { unitTestQuery } from '../plan/strategies/unit-test.js';
import type { CheckStep, NewRowsOnly, Step, Task, TemplateMessage } from '../plan/task.js';
import { WarehouseError, type QueryTable, type WarehouseSession } from '../warehouse/warehouse.js';
import { PARTITION_OFFSET_ERROR, type CountedStatements, type Dialect } from '../warehouse/dialect.js';
import { taskResultSql, type CheckResultRecord } from '../warehouse/run-state.js';
import { insertBuildSql } from '../warehouse/build-records.js';
import type { Engine, Publication, PublishResult } from './engine.js';
import type { PublishBatch, Success } from './commit-batch.js';
import type { Interrupter } from './interrupter.js';
import { ChecksFailedError, HookError, ProjectRuleError, StatementError, TaskDataError } from './task-errors.js';
import { contractMismatch } from './contract.js';
import { taskRef } from './task-ref.js';
import { tellSaid } from './template-messages.js';
import { thresholdSql, type Threshold } from '../sql/test-threshold.js';
import { rowsOutcome, thresholdOutcome, truthy, type CheckOutcome } from './check-outcome.js';
import { checkSqlAtRun, hookSqlAtRun } from './render-at-run.js';
import { dropKept, keepFailures, writeFailures, type KeptFailures } from './failures-store.js';

/**
 * Runs the steps of one task on one connection, as the plan decided them: staging
 * statements, assertions on the staged rows, checks, column and schema-change checks, and
 * the publishing transaction, which the engine serializes per relation. It throws what
 * failed (see task-errors.ts); retrying, recording and reporting the outcome is the
 * executor's.
 */

export interface StepContext {
  readonly engine: Engine;
  readonly runId: string;
  readonly emit: EventSink;
  readonly signal?: AbortSignal;
  readonly interrupter: Interrupter;
  /** How pipe commands are written for this project (default `pipe ARGS`), for the hints of errors. */
  readonly pipeCommand?: (args: string) => string;
  /**
   * Each node's dates in the run, from its first interval's start to its last's end: a hint's
   * rebuild range covers them, so every date of a run refused for one reason says the same.
   */
  readonly spans?: ReadonlyMap<string, { readonly start: number; readonly end: number }>;
}

/** Set by an attempt when its publishing transaction committed, whatever happens after it. */
export interface Published {
  published: boolean;
  rows?: number;
}

export type AttemptResult =
  | { readonly kind: 'done'; readonly rows?: number }
  /** Not published: a run for a newer interval published the relation already. */
  | { readonly kind: 'superseded'; readonly by: Publication };

interface CheckResult {
  readonly record: CheckResultRecord;
  readonly failure?: CheckFailure;
  /** Where the check is declared. */
  readonly location: Location;
  /** A dbt test that keeps its failing rows (store_failures): the relation they are written to. */
  readonly storedIn?: string;
}

/** What the steps of one attempt hand to the steps after them. */
interface AttemptState {
  readonly attemptNo: number;
  readonly startedAt: number;
  /**
   * The engine's moment it began to read what it is built from: as its first statement (or its
   * publishing transaction) starts, so that what committed before then counts as read (see
   * Engine.publish); its attempt's start until then.
   */
  readsFrom?: number;
  readStarted?: boolean;
  /** The run's thread it runs on (see worker-slots.ts). */
  readonly worker: number;
  /** The `pipe worker` process it runs in, in a distributed backfill. */
  readonly runner?: string;
  /** The batch it publishes in, when it commits with other tasks (see commit-batch.ts). */
  readonly batch?: PublishBatch;
  /** Where its checks' events go. */
  readonly emit: EventSink;
  rows?: number;
  /**
   * Statements a step adds in front of the publishing transaction's own: a schema change's
   * ALTER TABLE, an external model's view over the file just written.
   */
  alter: readonly string[];
  /** A snapshot's merge, decided from the columns while the task runs: it opens the publishing transaction, and counts its rows. */
  merge?: CountedStatements;
  /** An external model's file, written under its temporary name: renamed into place, and its view pointed at it, as the publishing transaction ends. */
  fileInPlace?: () => Promise<void>;
  /**
   * An append's refusal of staged rows the table holds, written from the staged columns once
   * the schema-change step found them: run inside the publishing transaction after the ALTERs,
   * before the insert.
   */
  guard?: Extract<Step, { kind: 'assert-empty' }>;
  /** The table exists, as the schema-change step found it. */
  tableExists?: boolean;
  /** The table's columns as the schema-change step found them, when it alters none of them. */
  tableColumns?: readonly Column[];
  /** Blocking checks that failed so far: the task fails after every check has run. */
  readonly blocking: CheckFailure[];
  /**
   * In a batch, the results of its checks, recorded as the attempt ends: inside the batch's
   * transaction once it began (rolled back with it, and recorded again when the task runs
   * again alone), or outside it when the first task fails before it began.
   */
  readonly held: CheckResultRecord[];
  /** The failing rows its dbt tests kept (store_failures): written as the attempt ends (see failures-store.ts). */
  readonly kept: KeptFailures[];
}

/** Which attempt of a task runs, where, and (in a batch) what it publishes in and tells through. */
export interface AttemptOf {
  readonly attemptNo: number;
  readonly startedAt: number;
  /** The engine's moment it began (Engine.moment): what it reads was published before it. */
  readonly readsFrom?: number;
  readonly worker: number;
  readonly runner?: string;
  readonly batch?: PublishBatch;
  readonly emit?: EventSink;
}

export class StepRunner {
  /** Columns of incremental tables as last seen matching their staged data (see schema-change). */
  private readonly tableColumns = new Map<string, readonly Column[]>();

  constructor(private readonly ctx: StepContext) {}

  /**
   * Runs a task's steps once; throws what failed. An abort is checked before every step: an
   * interrupt that reached the connection between two statements is lost to DuckDB, and the
   * data must never be published once the run is cancelled.
   */
  async attempt(task: Task, session: WarehouseSession, at: AttemptOf, done: Published): Promise<AttemptResult> {
    const state: AttemptState = { ...at, emit: at.emit ?? this.ctx.emit, alter: [], blocking: [], held: [], kept: [] };
    let result: AttemptResult;
    try {
      result = await this.steps(task, session, state, done);
    } catch (e) {
      // Kept rows outlive the transaction a failing test rolled back. With the task failing,
      // one that cannot be written (a view over a model a failing test kept out) is let go.
      await this.writeKept(session, state.kept.splice(0), state.emit);
      await this.ctx.engine.recordChecks(session, state.held.splice(0)).catch(() => undefined);
      throw e;
    }
    // Written once the task's own transaction has ended: a view of its failures reads the model as published.
    await this.writeKept(session, state.kept.splice(0));
    // A batch's commit never goes without them: unwritten (an overrunning task's interrupt), the task runs again alone.
    await this.ctx.engine.recordChecks(session, state.held.splice(0));
    return result;
  }

  private async steps(task: Task, session: WarehouseSession, state: AttemptState, done: Published): Promise<AttemptResult> {
    // Checks that could not run (a table they read is missing): the others run all the same, as
    // dbt runs a model's every test; the task fails with them once all have run.
    const unrun: ProjectRuleError[] = [];
    const ended = () => {
      if (unrun.length > 0) throw unrun.length === 1 ? unrun[0] : new ProjectRuleError('Check', unrun.map((e) => e.message).join('\n'), unrun[0].location);
      if (state.blocking.length > 0) throw new ChecksFailedError(state.blocking);
    };
    for (const step of task.steps) {
      if (this.ctx.signal?.aborted) throw new Error('interrupted');
      if ((step.kind === 'statement' || step.kind === 'publish') && !state.readStarted) {
        state.readStarted = true;
        state.readsFrom = this.ctx.engine.moment();
      }
      if (step.kind === 'publish') {
        ended();
        // The publishing transaction is short and atomic: it is not interrupted (its checks are).
        const result = await this.publish(task, step, session, state);
        if (result.kind === 'superseded') return result;
        done.published = true;
        if (step.countsRowsAt !== undefined || state.merge) state.rows = result.value ?? state.rows;
        done.rows = state.rows;
        continue;
      }
      try {
        await this.ctx.interrupter.during(session, () => this.step(task, step, session, state));
      } catch (e) {
        // Outside any transaction, a check that could not run leaves the next ones free to.
        if (step.kind === 'check' && e instanceof ProjectRuleError && e.kind === 'Check') unrun.push(e);
        else throw e;
      }
    }
    ended();
    return { kind: 'done', rows: state.rows };
  }

  /** Whether a run's task has seen `table` with the columns its rows have (see the schema-change step). */
  seen(table: string): boolean {
    return this.tableColumns.has(table);
  }

  /** Forgets the tables' columns seen so far: a batch rolled back may have changed what they were seen as. */
  forget(): void {
    this.tableColumns.clear();
  }

  /** Best-effort cleanup after a failure, or after a task that did not publish (dropping its staging table). */
  async cleanup(task: Task, session: WarehouseSession): Promise<void> {
    for (const step of task.steps) {
      if (step.kind === 'cleanup') await session.exec(step.sql).catch(() => undefined);
      else if (step.kind === 'remove-file') rmSync(step.path, { force: true, recursive: true });
    }
  }

  /**
   * A table that holds rows but not the column its dates are replaced by (partition_by, or a
   * microbatch model's event_time, changed since it was built): adding the column would leave
   * its rows NULL in it, outside every date, so no run would replace them and each re-run would
   * add its rows beside them. Refused, with the backfill that rebuilds it.
   */
  private async partitionColumnInTable(task: Task, target: string, column: string, table: readonly Column[], session: WarehouseSession, at: Location | undefined): Promise<void> {
    if (table.some((c) => c.name.toLowerCase() === column.toLowerCase())) return;
    if ((await session.query(`SELECT 1 AS held FROM ${target} LIMIT 1`)).length === 0) return;
    const rebuild = await fullRefreshCommand(session, task, this.ctx.spans?.get(task.node) ?? task.interval, target, column, this.ctx.pipeCommand ?? ((args) => `pipe ${args}`));
    throw new ProjectRuleError(
      'Schema',
      `the table ${target} has no column ${column}, by which ${task.node} replaces the rows of a date: its rows would hold no ${column}, no run would replace them, and every run would add its rows beside them (its columns: ${table.map((c) => c.name).join(', ')}); rebuild the table over its dates with ${rebuild}`,
      at ?? { file: task.file },
    );
  }

  private async step(task: Task, step: Exclude<Step, { kind: 'publish' }>, session: WarehouseSession, state: AttemptState): Promise<void> {
    switch (step.kind) {
      case 'statement': {
        const n = await session.exec(step.sql).catch((e: unknown) => {
          throw e instanceof WarehouseError ? new StatementError(e, [step.sql], session.dialect) : e;
        });
        if (step.countsRows) state.rows = n ?? (step.rowsOf ? Number((await session.query(`SELECT count(*) AS n FROM ${step.rowsOf}`))[0].n) : undefined);
        return;
      }
      case 'assert-empty': {
        const sample = await session.table(step.sql).then(sampleRows, async (e: unknown) => {
          throw (!this.ctx.signal?.aborted && step.dates && e instanceof WarehouseError && (await undatedPartition(session, task, step.dates.column, step.dates.rows, step.location, e))) || e;
        });
        if (sample.length > 0) {
          const [{ n }] = await session.query(step.countSql);
          throw new TaskDataError(`${String(n)} ${Number(n) === 1 && step.one !== undefined ? step.one : step.message}`, sample, step.location);
        }
        return;
      }
      case 'cleanup':
      case 'remove-file':
        return;
      case 'hook': {
        const sql = await hookSqlAtRun(step, session, (said) => tellSaid(state.emit, this.ctx.runId, taskRef(task), said), true);
        if (sql.trim() === '') return;
        const pinned = session.dialect.pinnedSessionChange?.(sql);
        if (pinned !== undefined) throw new ProjectRuleError('Hook', PINNED[pinned](step.label), step.location);
        await session.exec(sql).catch((e: unknown) => {
          throw e instanceof WarehouseError ? new HookError(e, step.label, step.location, step.published === true) : e;
        });
        return;
      }
      case 'contract': {
        const mismatch = await contractMismatch(session, step);
        if (mismatch !== undefined) throw new ProjectRuleError('Contract', mismatch.message, mismatch.location);
        return;
      }
      case 'refuse':
        throw new ProjectRuleError('Check', step.message, step.location);
      case 'persist-docs': {
        const { dialect } = session;
        if (step.description !== undefined) await session.exec(dialect.commentOn(step.relationKind, step.relation, step.description));
        if (step.columns.length === 0) return;
        // As dbt-duckdb: a described column the relation does not have is passed over, with a warning.
        const have = new Set((await columnsOf(session, step.relation)).map((c) => c.name));
        for (const c of step.columns) if (have.has(c.name)) await session.exec(dialect.commentOnColumn(step.relation, c.name, c.description));
        const absent = step.columns.filter((c) => !have.has(c.name));
        if (absent.length > 0) {
          state.emit({
            type: 'diagnostic',
            diagnostic: warning('undocumented-column', `${task.node}: persist_docs documents ${absent.length === 1 ? 'a column' : 'columns'} its relation does not have, passed over: ${absent.map((c) => c.name).join(', ')}`, absent[0].location ?? { file: task.file }, {
              hint: didYouMean(absent[0].name, [...have]) ?? "rename the column's entry in the properties file, or remove it",
            }),
          });
        }
        return;
      }
      case 'write-file': {
        const { dialect } = session;
        const columns = await columnsOf(session, step.staging);
        // As dbt-duckdb: no rows are written as one row of NULLs, so the file keeps its columns, and the view leaves it out.
        const empty = Number((await session.query(`SELECT count(*) AS n FROM ${step.staging}`))[0].n) === 0;
        if (empty) await session.exec(dialect.insertNullRow(step.staging, columns.length));
        const refused = (e: unknown) => {
          const reason = e instanceof WarehouseError ? dialect.headline(e.message) : e instanceof Error ? e.message : String(e);
          return new ProjectRuleError('File', `the file of ${task.node} cannot be written to ${step.path}: ${reason}`, { file: task.file });
        };
        try {
          mkdirSync(dirname(step.path), { recursive: true });
          // A run killed while it wrote (kill -9) left its temporary file: no other process writes this warehouse's files, so none is another's.
          if (this.ctx.engine.ownsWarehouse) removeLeftTemps(step.path, step.temp);
          await session.exec(dialect.copyToFile(step.staging, step.temp, step.format, step.delimiter));
        } catch (e) {
          throw refused(e);
        }
        const nullRow = empty ? columns.map((c) => c.name) : undefined;
        // The view reads the file under its temporary name while the tests of the published model
        // run: the file is renamed into place once they passed, before the post-hooks and the commit.
        state.alter = [...dialect.dropRelation(step.view, step.existing === 'table' ? 'table' : undefined), dialect.fileView(step.view, step.temp, step.format, nullRow)];
        state.fileInPlace = async () => {
          try {
            renameSync(step.temp, step.path);
          } catch (e) {
            throw refused(e);
          }
          // DuckDB reads the file as the view is made: after the rename.
          await session.exec(dialect.fileView(step.view, step.path, step.format, nullRow));
        };
        return;
      }
      case 'schema-change': {
        // The dates of a backfill stage the same columns: once they matched the table, the
        // table is not described again (only pipe alters it during the run).
        const known = this.tableColumns.get(step.target);
        const found = known ?? (await columnsOf(session, step.target));
        const describeStaged = () => ('query' in step.staged ? describeModel(session, queryRows(step.staged.query)) : columnsOf(session, step.staged.relation));
        state.guard = undefined;
        if (found.length === 0) {
          // No table yet: it is created from the query's shape, and nothing is compared.
          if (step.partitionBy !== undefined) partitionColumnCheck(task, step.partitionBy, await describeStaged(), step.partitionByAt);
          state.alter = [];
          state.tableExists = false;
          return;
        }
        const staged = await describeStaged();
        if (step.partitionBy !== undefined) partitionColumnCheck(task, step.partitionBy, staged, step.partitionByAt);
        const table = known && !sameColumns(known, staged) ? await columnsOf(session, step.target) : found;
        if (step.partitionBy !== undefined) await this.partitionColumnInTable(task, step.target, step.partitionBy, table, session, step.partitionByAt ?? step.location);
        if (step.keys !== undefined) await keyColumnsInTable(task, step.target, step.keys.columns, table, session, step.keys.location ?? step.location);
        const pipe = this.ctx.pipeCommand ?? ((args: string) => `pipe ${args}`);
        // A table of dates is rebuilt over its dates; one kept by key (merge, delete+insert, append) by one run of its query.
        const rebuild = async () =>
          step.partitionBy !== undefined
            ? await fullRefreshCommand(session, task, this.ctx.spans?.get(task.node) ?? task.interval, step.target, step.partitionBy, pipe)
            : pipe(`run --full-refresh --select ${task.node}${task.ds === undefined ? '' : ` --date ${task.ds.slice(0, 10)}${isHourLabel(task.ds) ? ` --hour ${Number(task.ds.slice(11, 13))}` : ''}`}`);
        let change = schemaChange(step.target, table, staged, step.policy, session.dialect);
        if ('error' in change) change = schemaChange(step.target, table, staged, step.policy, session.dialect, await rebuild());
        if ('error' in change) throw new ProjectRuleError('Schema', `${change.error}; ${change.hint}`, step.location ?? { file: task.file });
        // A retype the rows the table holds do not take would fail the publish in the engine's words about a value the query never gave.
        const unconvertible = change.statements.length > 0 ? await unconvertedValue(session, step.target, table, staged) : undefined;
        if (unconvertible) {
          const { column, from, to, value } = unconvertible;
          throw new ProjectRuleError('Schema', `on_schema_change sync_all_columns cannot retype column ${column} of ${step.target} from ${from} to ${to}: a value the table holds does not convert, or not to the same value (${value}); rebuild the table with ${await rebuild()}`, step.location ?? { file: task.file });
        }
        state.alter = change.statements;
        if (step.newRowsOnly !== undefined && 'relation' in step.staged) state.guard = newRowsGuard(step.newRowsOnly, step.staged.relation, step.target, staged, session.dialect);
        state.tableExists = table.length > 0;
        state.tableColumns = state.alter.length === 0 ? table : undefined;
        if (state.alter.length === 0 && table.length > 0) this.tableColumns.set(step.target, table);
        else this.tableColumns.delete(step.target);
        return;
      }
      case 'snapshot-merge': {
        const merge = await snapshotMerge(step, { relation: (r) => columnsOf(session, r), query: (sql) => session.dialect.describeQuery(session, sql) }, session.dialect);
        if ('error' in merge) throw new ProjectRuleError('Snapshot', `${merge.error}; ${merge.hint}`, { file: task.file });
        state.merge = merge;
        return;
      }
      case 'columns': {
        // Often the first step to bind the model's query: its error is located in the model's file.
        const have = (await describeModel(session, `SELECT * FROM ${step.relation}`)).map((c) => c.name);
        const lower = new Set(have.map((c) => c.toLowerCase()));
        const missing = step.expected.find((u) => !lower.has(u.column.toLowerCase()));
        if (missing) throw new ProjectRuleError('Check', missingColumn(missing, step.of ?? task.node, have, step.of === undefined).inOneLine, missing.location);
        return;
      }
      case 'type-changes': {
        const changes = typeChanges(await columnsOf(session, step.target), await columnsOf(session, step.staged));
        const declared = new Set((step.declared ?? []).map((c) => c.toLowerCase()));
        const byConfig = changes.filter((c) => declared.has(c.column.toLowerCase())).map((c) => c.said);
        const fromFile = changes.filter((c) => !declared.has(c.column.toLowerCase()));
        const byFile = fromFile.map((c) => c.said);
        // What keeps a type is said where a type changed (not of a column that came or went).
        const keeps = fromFile.some((c) => c.retyped) ? " (column_types: in its config keeps a column's type)" : '';
        const told = [
          ...(byConfig.length > 0 ? [`${byConfig.join('; ')}, as column_types: in its config declares`] : []),
          ...(byFile.length > 0 ? [`${byFile.join('; ')}, as its file reads now${keeps}`] : []),
        ];
        if (told.length > 0) state.emit({ type: 'notice', message: `${task.node}: ${told.join('; ')}` });
        return;
      }
      case 'check':
        await this.reportCheck(task, session, await this.runCheck(task, step, session, state), state);
        return;
      case 'unit-test': {
        const refused = (e: unknown) =>
          e instanceof WarehouseError && e.errorClass === 'permanent' ? new ProjectRuleError('UnitTest', `unit test ${step.name} could not run: ${session.dialect.headline(e.message)}`, step.location) : e;
        const query = await unitTestQuery(step, { relation: (r) => columnsOf(session, r), query: (sql) => session.dialect.describeQuery(session, sql) }).catch((e: unknown) => {
          throw refused(e);
        });
        if ('error' in query) throw new ProjectRuleError('UnitTest', query.error, query.location);
        const check: CheckStep = { kind: 'check', name: step.name, severity: 'error', sql: query.sql, location: step.location, differences: true };
        await this.reportCheck(task, session, await this.runCheck(task, check, session, state), state);
        return;
      }
      default: {
        const never: never = step;
        throw new Error(`internal error: step ${JSON.stringify(never)}`);
      }
    }
  }

  /**
   * The publishing transaction, with the task's success record in it; its checks run inside
   * it, before the commit, and a blocking failure rolls it all back.
   */
  private async publish(
    task: Task,
    step: Extract<Step, { kind: 'publish' }>,
    session: WarehouseSession,
    state: AttemptState,
  ): Promise<PublishResult<number | undefined>> {
    const { engine, runId, signal, interrupter } = this.ctx;
    const inside = step.inside ?? [];
    const after = step.after ?? [];
    const results: CheckResult[] = [];
    /** Set while the step's own statements run: a database error then is located in them. */
    let inStatements = inside.length === 0;
    let failedChecks = false;
    /** Statements decided while the task ran (a schema change's, a snapshot's merge), before the step's own. */
    const before = () => [...state.alter, ...(state.merge?.statements ?? [])];
    // Where a refused commit can keep the temporary tables' changes, the staging table is dropped after the commit (see Dialect.tempCommitsApart).
    const dropAfter = session.dialect.tempCommitsApart ? step.statements.filter(isTempDrop) : [];
    const ownAsPlanned = dropAfter.length > 0 ? step.statements.filter((sql) => !isTempDrop(sql)) : step.statements;
    const inColumnType = partitionInColumnType(step, state, session.dialect);
    // A partition planned before its table existed opens with the table's creation, which binds
    // the whole query once more (a backfill's every date on a new table): once the task has seen
    // the table (its schema-change step), that statement is left out.
    const created = step.partition?.creates === true && state.tableExists === true ? 1 : 0;
    const own = ownAsPlanned.slice(created).map(inColumnType);
    const checks = (step.checks ?? []).map((c) => ({ ...c, sql: inColumnType(c.sql) }));
    /** The task's success: in its build's row when it publishes one, else a row of its own. */
    const success = (): Success => {
      const outcome = { attempt: state.attemptNo, startedAt: state.startedAt, endedAt: Date.now(), rows: state.rows, worker: state.worker, runner: state.runner };
      return task.build ? { build: task.build, outcome } : { result: { runId, taskId: task.id, status: 'succeeded', ...outcome } };
    };
    const record = () => {
      const s = success();
      return 'build' in s ? insertBuildSql(s.build, s.outcome) : taskResultSql(s.result);
    };
    // A relation written from the query has no staged count: the record takes the write's, so it is written last.
    const written = step.partition;
    const countedLast = written !== undefined || step.rowsOf !== undefined;
    /** The statements that record the task's success, written with the COMMIT (in a batch, the success goes with the batch's). */
    const records = () => {
      if (!state.batch) return [...(task.stateStatements ?? []), record()];
      state.batch.record(success());
      return [...(task.stateStatements ?? [])];
    };
    const statements = () => [...before(), ...own, ...(countedLast ? [] : records())];
    const countAt = () =>
      state.merge ? state.alter.length + state.merge.countAt : step.countsRowsAt === undefined ? undefined : before().length + step.countsRowsAt - created;
    // The model's own SQL (a view's) runs alone, so a database error keeps its position.
    const model = task.origin?.sql;
    const alone = () => own.flatMap((sql, i) => (model !== undefined && sql.includes(model) ? [before().length + i] : []));
    const failIfBlocking = () => {
      failedChecks = results.some((r) => r.failure?.severity === 'error');
      if (failedChecks) throw new Error('blocking checks failed: rolled back');
    };
    /** What runs after the statements, before the commit: post-hooks and comments, then checks. */
    const beforeCommit = async () => {
      inStatements = false;
      const hooks = async () => {
        for (const s of after) await this.step(task, s as Exclude<Step, { kind: 'publish' }>, session, state);
      };
      const placed = state.fileInPlace;
      await interrupter.during(session, async () => {
        // An external model's file is put in place once its checks passed, before its post-hooks,
        // which read it where it is written (as dbt-duckdb's do); they cannot change its rows.
        if (!placed) await hooks();
        for (const c of checks) {
          if (signal?.aborted) throw new Error('interrupted');
          results.push(await this.runCheck(task, c, session, state));
        }
      });
      failIfBlocking();
      if (placed) {
        state.fileInPlace = undefined;
        await placed();
        await interrupter.during(session, hooks);
      }
    };
    /** The rows a statement wrote when the engine does not say (a PIVOT): counted in what it wrote. */
    const counted = async (count: number | undefined): Promise<number | undefined> => {
      if (count !== undefined) return count;
      const rowsOf = written ? `${task.relation} WHERE ${inColumnType(written.inside)}` : step.rowsOf;
      return rowsOf === undefined ? undefined : Number((await session.query(`SELECT count(*) AS n FROM ${rowsOf}`))[0].n);
    };
    /**
     * What runs once the statements ran: the rows a write from the query inserted, the hooks
     * and checks; returns the statements sent with the COMMIT.
     */
    const finish = async (count: number | undefined): Promise<string[]> => {
      if (countedLast) state.rows = await counted(count);
      if (checks.length > 0 || after.length > 0) await beforeCommit();
      await state.fileInPlace?.();
      return countedLast ? records() : [];
    };
    /**
     * The model built inside the transaction: its steps, then the statements one by one, which
     * an abort interrupts (where they build the relation from the query, they may take long);
     * returns the statements sent with the COMMIT, which is not interrupted.
     */
    const builtInside = async (): Promise<string[]> => {
      let count: number | undefined;
      await interrupter.during(session, async () => {
        for (const s of inside) {
          if (signal?.aborted) throw new Error('interrupted');
          if (s.kind === 'publish') throw new Error('internal error: a publishing step inside another');
          // Checks of the staged rows are recorded after the transaction, which would take their records with it.
          if (s.kind === 'check') results.push(await this.runCheck(task, s, session, state));
          else await this.step(task, s, session, state);
        }
        failIfBlocking();
        const list = statements();
        // An append's staged rows are compared with the table as the ALTERs leave it, before they go in.
        const guardAt = state.guard ? before().length : -1;
        inStatements = true;
        for (let i = 0; i < list.length; i++) {
          if (signal?.aborted) throw new Error('interrupted');
          if (i === guardAt) {
            inStatements = false;
            await this.step(task, state.guard!, session, state);
            inStatements = true;
          }
          const n = await session.exec(list[i]);
          if (i === countAt()) count = n;
        }
      });
      if (!countedLast) state.rows = count ?? state.rows;
      const last = await finish(count);
      if (signal?.aborted) throw new Error('interrupted');
      return last;
    };
    /**
     * A transaction that builds the relation from the model's query may take as long as the
     * query: an abort interrupts it until the commit, which it never does (nothing is then written).
     */
    const interruptible = (run: (beforeCommit: (count: number | undefined) => Promise<string[]>) => Promise<number | undefined>) =>
      interrupter.during(session, () =>
        run(async (count) => {
          const last = await finish(count);
          interrupter.release(session);
          if (signal?.aborted) throw new Error('interrupted');
          return last;
        }),
      );
    let result: PublishResult<number | undefined> | undefined;
    try {
      result = await engine.publish(
        runId,
        task,
        () =>
          inside.length > 0 || state.guard
            ? session.transaction([], { beforeCommit: builtInside }).then(() => state.rows)
            : // A snapshot's merge compares every row of its query with the snapshot: as long as the query, interruptible.
              countedLast || state.merge
              ? interruptible((beforeCommit) => session.transaction(statements(), { alone: alone(), countAt: countAt(), beforeCommit }))
              : session.transaction(statements(), {
                  alone: alone(),
                  countAt: countAt(),
                  beforeCommit: checks.length === 0 && after.length === 0 && state.fileInPlace === undefined ? undefined : finish,
                }),
        sharesTable(step, session, state) ? step.partition?.inside : undefined,
        state.batch,
        state.readsFrom,
      );
    } catch (e) {
      // Stopped (Ctrl-C): rolled back, and nothing is read again to explain it (the query may take as long again).
      if (this.ctx.signal?.aborted) throw e;
      if (e instanceof WarehouseError && step.partition && e.message.includes(step.partition.outside.error)) {
        // Rolled back: the rows outside are read again from the query, to say which they are.
        await this.step(task, { kind: 'assert-empty', ...step.partition.outside, dates: { column: step.partition.by.column, rows: step.partition.rows } }, session, state);
      }
      // Text the partition's condition cannot read as a date fails it in the engine's words, about pipe's SQL.
      const undated = e instanceof WarehouseError && step.partition && (await undatedPartition(session, task, step.partition.by.column, step.partition.rows, step.partition.outside.location, e));
      if (undated) throw undated;
      if (!failedChecks) throw e instanceof WarehouseError && inStatements ? new StatementError(e, [...before(), ...own], session.dialect) : e;
    } finally {
      for (const sql of dropAfter) await session.exec(sql).catch(() => undefined);
      // Recorded after the transaction: a rolled-back one would take its records with it.
      for (const r of results) await this.reportCheck(task, session, r, state);
    }
    if (failedChecks || !result) throw new ChecksFailedError(state.blocking);
    return result;
  }

  /**
   * Runs one check: its verdict, a sample of its failing rows, and the record of its result. A
   * dbt test that keeps its failing rows keeps them first and is judged from them, as dbt
   * judges it from its relation.
   */
  private async runCheck(task: Task, planned: CheckStep, session: WarehouseSession, state: AttemptState): Promise<CheckResult> {
    const { attemptNo } = state;
    // A dbt test that reads the warehouse while rendering is rendered here, as it runs: what it
    // asks of the relation checked is answered as the query below reads it. What it says then
    // goes with the task's events (in a batch, told at the commit).
    const tell = (said: readonly TemplateMessage[]) => tellSaid(state.emit, this.ctx.runId, taskRef(task), said);
    const rendered = planned.renderAtRun ? { ...planned, sql: await checkSqlAtRun(planned, session, tell) } : planned;
    const store = rendered.storeFailures;
    const kept = store ? await keepFailures(session, { ...rendered, storeFailures: store }).catch((e: unknown) =>
      modelsOwnError(e instanceof WarehouseError && e.errorClass === 'permanent' ? couldNotRun(`test ${rendered.name}`, e, rendered.location) : e, task, rendered, session),
    ) : undefined;
    const step = kept ? { ...rendered, sql: kept.sql } : rendered;
    const checked: CheckedModel = {
      name: task.node,
      columns: async () => (await session.dialect.describeQuery(session, ownQuery(task))).map((c) => c.name),
    };
    let judged: Judged;
    try {
      judged = step.threshold ? await judgeByThreshold(step, step.threshold, session) : await judgeByRows(step, session, checked);
    } catch (e) {
      if (kept) dropKept(kept.kept);
      return await modelsOwnError(e, task, step, session);
    }
    if (kept) state.kept.push(kept.kept);
    const { outcome, failingRows, sample, condition } = judged;
    const severity = outcome === 'warned' ? 'warn' : step.severity;
    const storedIn = store ? { storedIn: store.relation } : {};
    return {
      record: { runId: this.ctx.runId, taskId: task.id, attempt: attemptNo, check: step.name, severity, status: outcome, failingRows, sample, at: Date.now() },
      location: step.location,
      failure:
        outcome === 'passed'
          ? undefined
          : { check: step.name, severity, failingRows, sample, location: step.location, ...(condition ? { condition } : {}), ...(step.differences ? { differences: true as const } : {}), ...(step.counted && sample.length === 1 ? { rowCount: Number(sample[0].row_count) } : {}), ...storedIn },
      ...storedIn,
    };
  }

  /**
   * Writes the failing rows tests kept into their relations, each under the publish lock of its
   * relation (the dates of a backfill run the same test). A failure to write one is the test's
   * error; when the task failed already (`failing`: where to say it), only said, as the task's
   * own error stands.
   */
  private async writeKept(session: WarehouseSession, kept: readonly KeptFailures[], failing?: EventSink): Promise<void> {
    let failed: unknown;
    for (const k of kept) {
      if (failed !== undefined) {
        dropKept(k);
        continue;
      }
      const release = await this.ctx.engine.publishLock(k.write.relation, undefined);
      try {
        await writeFailures(session, k);
      } catch (e) {
        const why = e instanceof WarehouseError ? session.dialect.headline(e.message) : undefined;
        const message = `test ${k.test}: its failing rows could not be kept in ${k.write.relation}${why === undefined ? '' : `: ${why}`}`;
        // A view over a model its failing test kept out of its first build has nothing to read.
        if (failing) failing({ type: 'notice', message });
        else failed = why !== undefined ? new ProjectRuleError('Check', message, k.location) : e;
      } finally {
        release();
      }
    }
    if (failed !== undefined) throw failed;
  }

  /** Stores a check's result and reports it; blocking failures are collected to fail the task. */
  private async reportCheck(task: Task, session: WarehouseSession, result: CheckResult, state: AttemptState): Promise<void> {
    // The first task of a batch runs its checks before the batch's transaction begins: were
    // their results recorded at once, a batch rolled back by a later task would leave them,
    // and the task run again alone would record them twice.
    if (state.batch) state.held.push(result.record);
    else await this.ctx.engine.recordCheck(session, result.record);
    const { runId } = this.ctx;
    const { emit, blocking } = state;
    if (!result.failure) {
      const storedIn = result.storedIn === undefined ? {} : { storedIn: result.storedIn };
      emit({ type: 'check-passed', runId, task: taskRef(task), check: result.record.check, location: result.location, ...storedIn });
      return;
    }
    emit({ type: 'check-failed', runId, task: taskRef(task), failure: result.failure });
    if (result.failure.severity === 'error') blocking.push(result.failure);
  }
}

interface Judged {
  readonly outcome: CheckOutcome;
  readonly failingRows: number;
  /** Up to five failing rows, when the check did not pass. */
  readonly sample: readonly Record<string, unknown>[];
  readonly condition?: string;
}

/** pipe's own checks: any failing row fails (or warns), and their number is counted only then. */
/**
 * One query of a check. A query the database refuses (a column the check names that the model
 * lacks) is a mistake in the check: reported at its declaration, not at the model's file.
 */
async function checkQuery(step: CheckStep, what: 'check' | 'test', session: WarehouseSession, sql: string, checked?: CheckedModel): Promise<Record<string, unknown>[]> {
  return checkRead(step, what, session, () => session.query(sql), checked);
}

/** A check's failing rows as its sample, read as checkQuery reads (see sampleRows). */
async function checkSample(step: CheckStep, what: 'check' | 'test', session: WarehouseSession, sql: string, checked?: CheckedModel): Promise<Record<string, unknown>[]> {
  return checkRead(step, what, session, async () => sampleRows(await session.table(sql)), checked);
}

async function checkRead(step: CheckStep, what: 'check' | 'test', session: WarehouseSession, read: () => Promise<Record<string, unknown>[]>, checked?: CheckedModel): Promise<Record<string, unknown>[]> {
  try {
    return await read();
  } catch (e) {
    if (!(e instanceof WarehouseError && e.errorClass === 'permanent')) throw e;
    // An expression reads the checked rows alone: a column the engine cannot find is one the model lacks.
    const column = step.expression !== undefined && checked ? session.dialect.unknownColumn(e.message) : undefined;
    const have = column === undefined ? undefined : await checked!.columns().catch(() => undefined);
    if (column !== undefined && have && !have.some((c) => c.toLowerCase() === column.toLowerCase())) {
      throw new ProjectRuleError('Check', missingColumn({ column, namedBy: `check ${step.name}`, location: step.location }, checked!.name, have, true).inOneLine, step.location);
    }
    throw couldNotRun(`${what} ${step.name}`, e, step.location);
  }
}

/** A check the database refused to run, said at the check's declaration, with the database's error kept (see modelsOwnError). DuckDB's first line: the rest quotes the query pipe wrapped the check in, not what the user wrote. */
function couldNotRun(what: string, e: WarehouseError, location: CheckStep['location']): ProjectRuleError {
  return Object.assign(new ProjectRuleError('Check', `${what} could not run: ${e.message.split('\n')[0]}`, location), { refusedBy: e });
}

/** DuckDB's errors of a value (a cast that fails on a row), not of a query's text: a check meets those of what it reads. */
const DATA_ERROR_KINDS: ReadonlySet<string> = new Set(['Conversion', 'Invalid Input', 'Out of Range']);

/**
 * A check the database refused that reads the model's own query inline (a view's, checked
 * before it is created): where the query itself is at fault (a column it names that its input
 * lacks, a cast that fails on a row), its error is the task's, located in the model's file, as
 * a table's is when its query runs first. So the query is asked alone: bound (DESCRIBE) for an
 * error of the text, run for an error of a value. The check's error stands where the query
 * alone is fine.
 */
async function modelsOwnError(e: unknown, task: Task, step: CheckStep, session: WarehouseSession): Promise<never> {
  const own = task.kind !== 'test' && task.sql !== undefined && task.origin !== undefined && step.sql.includes(task.sql) ? task.sql : undefined;
  const refusedBy = e instanceof ProjectRuleError && 'refusedBy' in e && e.refusedBy instanceof WarehouseError ? e.refusedBy : undefined;
  if (refusedBy === undefined || own === undefined) throw e;
  // For a value's error every column of every row is read (count of the row), so that a cast no check column needs fails too.
  const statement = DATA_ERROR_KINDS.has(refusedBy.kind) ? `SELECT count("__pipe_rows") AS n FROM (\n${own}\n) AS "__pipe_rows"` : `DESCRIBE SELECT * FROM (\n${own}\n) AS "__pipe_rows"`;
  await session.query(statement).catch((failed: unknown) => {
    throw failed instanceof WarehouseError ? new StatementError(failed, [statement], session.dialect) : failed;
  });
  throw e;
}

/** The model a check reads, named, and its columns when asked. */
interface CheckedModel {
  readonly name: string;
  columns(): Promise<string[]>;
}

async function judgeByRows(step: CheckStep, session: WarehouseSession, checked?: CheckedModel): Promise<Judged> {
  const sample = await checkSample(step, 'check', session, sampleSql(step.sql, step.differences ? 50 : 5), checked);
  let failingRows = 0;
  if (sample.length > 0) {
    const [{ n }] = await checkQuery(step, 'check', session, `SELECT count(*) AS n FROM (\n${step.sql}\n) AS failing`, checked);
    failingRows = Number(n);
  }
  return { outcome: rowsOutcome(step.severity, failingRows), failingRows, sample };
}

/**
 * A dbt test, judged as dbt judges it (see check-outcome.ts). A query the database refuses
 * (a column the test names that the model lacks, a fail_calc that is not SQL) is the test's
 * problem, reported at its line.
 */
async function judgeByThreshold(step: CheckStep, threshold: Threshold, session: WarehouseSession): Promise<Judged> {
  const problem = (message: string) => new ProjectRuleError('Check', `test ${step.name} could not run: ${message}`, step.location);
  const rows = await checkQuery(step, 'test', session, thresholdSql(step.sql, threshold));
  const [row] = rows;
  const failures = row?.failures === null || row?.failures === undefined ? NaN : Number(row.failures);
  if (rows.length !== 1 || !Number.isFinite(failures)) {
    throw problem(`its fail_calc (${threshold.failCalc}) gave ${rows.length === 1 ? String(row.failures) : `${rows.length} rows`}, not a number of failures`);
  }
  const outcome = thresholdOutcome(step.severity, truthy(row.should_warn), truthy(row.should_error));
  if (outcome === 'passed') return { outcome, failingRows: failures, sample: [] };
  return {
    outcome,
    failingRows: failures,
    sample: sampleRows(await session.table(sampleSql(step.sql))),
    condition: outcome === 'failed' ? threshold.errorIf : threshold.warnIf,
  };
}

/**
 * A partition's condition is planned typeless: the table may not exist yet, and its column may
 * hold dates, timestamps or text. Once the task has seen the column's type (the schema-change
 * step, which alters nothing), the condition in the statements and checks of its publishing
 * transaction becomes the same condition in that type's terms, which the write evaluates on
 * every row. The typeless text is pipe's own and appears nowhere else in them.
 */
function partitionInColumnType(step: Extract<Step, { kind: 'publish' }>, state: AttemptState, dialect: Dialect): (sql: string) => string {
  const by = step.partition?.by;
  const type = by && state.tableColumns?.find((c) => c.name.toLowerCase() === by.column.toLowerCase())?.type;
  if (!by || type === undefined) return (sql) => sql;
  const typed = dialect.inInterval(by.column, by.start, by.end, type);
  const planned = step.partition!.inside;
  return typed === planned ? (sql) => sql : (sql) => sql.replaceAll(planned, typed);
}

/**
 * Whether a partition's publishing transaction may run beside those of the table's other
 * partitions: it writes rows of its partition only (no ALTER, no CREATE, no hook that may
 * write anything) and reads no other (no check of the whole table, which must see every
 * commit before its own), on an engine whose transactions conflict only on the same rows.
 */
function sharesTable(step: Extract<Step, { kind: 'publish' }>, session: WarehouseSession, state: AttemptState): boolean {
  return (
    step.partition !== undefined &&
    session.dialect.concurrentPartitions === true &&
    state.tableExists === true &&
    state.alter.length === 0 &&
    (step.inside ?? []).length === 0 &&
    (step.after ?? []).length === 0 &&
    !(step.checks ?? []).some((c) => c.wholeTable === true)
  );
}

/** Why a hook may not change what pipe keeps of a session (see Dialect.pinnedSessionChange). */
const PINNED: Record<PinnedSetting, (label: string) => string> = {
  disabled_optimizers: (label) => `${label} sets ${GUARDED_SETTING}`,
  TimeZone: (label) =>
    `${label} sets the session's TimeZone, which pipe keeps at UTC so that a timestamp lands in the same date on every machine and in every task; convert to a zone in the model instead, e.g. ts AT TIME ZONE 'Europe/Amsterdam'`,
  Calendar: (label) => `${label} sets the session's Calendar: ${CALENDAR_KEPT}`,
  USE: (label) =>
    `${label} changes the session's default database (USE), under which pipe's names of the warehouse's tables ("schema"."name") would name another database's; name the other database's tables in full (db.schema.name) instead`,
};

/** A value of the table that a retyped column of the staged rows' type would not take (see schemaChange's sync_all_columns); undefined when every value converts. */
async function unconvertedValue(session: WarehouseSession, target: string, table: readonly Column[], staged: readonly Column[]): Promise<{ column: string; from: string; to: string; value: string } | undefined> {
  const inTable = new Map(table.map((c) => [c.name.toLowerCase(), c]));
  for (const c of staged) {
    const was = inTable.get(c.name.toLowerCase());
    if (was === undefined || was.type === c.type) continue;
    const col = quoteIdent(was.name);
    // A value that converts but not back as it was (1.5 into an INTEGER is 2, a timestamp into a DATE loses its time) would be
    // changed without a word; text is left to its reading (its form, '01', is not its value).
    const lossy = TEXT_TYPE.test(was.type) ? '' : ` OR CAST(TRY_CAST(${col} AS ${c.type}) AS ${was.type}) IS DISTINCT FROM ${col}`;
    const rows = await session.query(`SELECT CAST(${col} AS VARCHAR) AS v FROM ${target} WHERE ${col} IS NOT NULL AND (TRY_CAST(${col} AS ${c.type}) IS NULL${lossy}) LIMIT 1`);
    if (rows.length > 0) return { column: was.name, from: was.type, to: c.type, value: quoteLiteral(String(rows[0].v)) };
  }
  return undefined;
}

/** Text, whose values a retype reads rather than keeps (see unconvertedValue). */
const TEXT_TYPE = /^(VARCHAR|TEXT|STRING)$/i;

/** A statement dropping a temporary (connection's own) staging table. */
const isTempDrop = (sql: string) => /^DROP TABLE "temp"\./.test(sql);

/**
 * A sample's rows by column name, a whole number of a 64- or 128-bit column as a number where
 * one holds it exactly (`"n_records": 2`, not `"2"`), as text past 2^53 as the JSON form gives it.
 */
function sampleRows(table: QueryTable): Record<string, unknown>[] {
  const whole = table.columns.map((c) => /^U?(?:BIGINT|HUGEINT)$/.test(c.type));
  const valueOf = (v: unknown, i: number) => (whole[i] && typeof v === 'string' && Number.isSafeInteger(Number(v)) ? Number(v) : v);
  return table.rows.map((r) => Object.fromEntries(table.columns.map((c, i) => [c.name, valueOf(r[i], i)])));
}

const sampleSql = (sql: string, limit = 5) => `SELECT * FROM (\n${sql}\n) AS failing LIMIT ${limit}`;

/** The columns of a model's query: the first step that binds it, so its error is located in the model's file. */
function describeModel(session: WarehouseSession, sql: string): Promise<Column[]> {
  return session.dialect.describeQuery(session, sql).catch((e: unknown) => {
    throw e instanceof WarehouseError ? new StatementError(e, [sql], session.dialect) : e;
  });
}

/**
 * The rows about to be written have the partition column, of a type that holds dates: else
 * the partition's delete and insert would fail on it in DuckDB's words, about pipe's SQL.
 */
function partitionColumnCheck(task: Task, column: string, rows: readonly Column[], at: Location | undefined): void {
  const problem = partitionColumnProblem(task, column, rows);
  if (problem !== undefined) throw new ProjectRuleError('Schema', problem, at ?? { file: task.file });
}

/** What is wrong with the partition column of a task's rows (see partitionColumnCheck); undefined when nothing is. Also read before the run (preflight). */
export function partitionColumnProblem(task: Pick<Task, 'node' | 'kind' | 'interval'>, column: string, rows: readonly Column[]): string | undefined {
  // A microbatch model's batches are placed by its event_time.
  const label = task.kind === 'microbatch' ? 'event_time' : 'partition_by';
  const found = rows.find((c) => c.name.toLowerCase() === column.toLowerCase());
  if (!found) {
    const hint = didYouMean(column, rows.map((c) => c.name));
    return `${label} '${column}' is not a column of ${task.node}: its query gives ${rows.map((c) => c.name).join(', ')}${hint ? ` (${hint})` : ''}`;
  }
  if (!/^(DATE|TIMESTAMP.*|VARCHAR)$/i.test(found.type)) {
    return `${label} column ${found.name} of ${task.node} is ${found.type}: it must hold dates (DATE), timestamps (TIMESTAMP) or dates as text ('YYYY-MM-DD'); cast it in the query`;
  }
  // A day's rows are in the partition of its first hour: that hour's build would replace them
  // with what its query gives of one hour (nothing, filtered on the hour), the other hours' none.
  if (task.interval !== undefined && task.interval.end - task.interval.start < DAY_MS && !/^TIMESTAMP/i.test(found.type)) {
    const held = found.type === 'VARCHAR' ? 'text, which pipe places by day' : `${found.type}: it holds days`;
    const instead = task.kind === 'microbatch' ? "give the model batch_size='day', or cast the column to a TIMESTAMP in its query" : 'run the whole day (without --hour), or cast the column to a TIMESTAMP in the query';
    return `${label} column ${found.name} of ${task.node} is ${held}, and this build is of one hour, which would replace its day's rows with the hour's; ${instead}`;
  }
  return undefined;
}

/**
 * The partition column holds a value that is not a date (text such as 02/01/2024), or text
 * with a UTC offset, whose date is ambiguous: the error, naming it and the form pipe reads, at
 * the line that sets the column (else the model); undefined when every value reads as a date,
 * or when the rows cannot be read again (the failure was another). Text with an offset that is
 * not among the rows is in the table (written before such text was refused), or in an input
 * the query reads by batch, whose filter refuses it as the partition's condition does.
 */
async function undatedPartition(session: WarehouseSession, task: Task, column: string, rows: string, at: Location | undefined, failure: WarehouseError): Promise<ProjectRuleError | undefined> {
  const where = at ?? { file: task.file };
  const ambiguous = 'text with a UTC offset: its date is ambiguous (the date written, or its date in UTC)';
  const casts = (c: string) => `CAST(${c} AS TIMESTAMPTZ) places it by its date in UTC, CAST(${c} AS TIMESTAMP) by the date written`;
  const offsetIn = (message: string) => {
    const i = message.indexOf(PARTITION_OFFSET_ERROR);
    return i < 0 ? undefined : message.slice(i + PARTITION_OFFSET_ERROR.length).split('\n')[0];
  };
  let row: Record<string, unknown> | undefined;
  try {
    [row] = await session.query(session.dialect.undatedValue(column, rows));
  } catch (e) {
    const read = e instanceof WarehouseError ? offsetIn(e.message) : undefined;
    if (read === undefined) return undefined;
    return new ProjectRuleError(
      'Schema',
      `${task.node} reads by batch an input whose event_time holds '${read}', ${ambiguous}, so pipe does not pick its rows of a batch by it; convert that column where the input is made (${casts('column')})`,
      where,
    );
  }
  if (row?.value == null) {
    const held = offsetIn(failure.message);
    if (held === undefined) return undefined;
    return new ProjectRuleError(
      'Schema',
      `the table of ${task.node} holds '${held}' in ${column}, the column that dates its rows, ${ambiguous}, so pipe does not replace a partition by it; convert ${column} in the query (${casts(column)}) and rebuild the table with pipe backfill --full-refresh --select ${task.node} over its dates`,
      where,
    );
  }
  if (row.offset === true) {
    return new ProjectRuleError('Schema', `${column}, the column that dates the rows of ${task.node}, holds '${String(row.value)}', ${ambiguous}, so pipe does not place it; convert it in the query: ${casts(column)}`, where);
  }
  return new ProjectRuleError(
    'Schema',
    `partition_by column ${column} of ${task.node} holds '${String(row.value)}', which is not a date: it must hold dates (DATE), timestamps (TIMESTAMP) or dates as text in the form YYYY-MM-DD (or YYYY-MM-DD HH:MM:SS); convert it in the query with strptime(${column}, format)::DATE`,
    where,
  );
}

/**
 * A table that holds rows but not every column of the unique_key its rows are replaced by
 * (changed since it was built): adding one would leave its rows NULL in it, a key that matches
 * no staged row, so no run would replace them and each would add its rows beside them.
 */
async function keyColumnsInTable(task: Task, target: string, keys: readonly string[], table: readonly Column[], session: WarehouseSession, at: Location | undefined): Promise<void> {
  const have = new Set(table.map((c) => c.name.toLowerCase()));
  const lacking = keys.filter((k) => !have.has(k.toLowerCase()));
  if (lacking.length === 0) return;
  if ((await session.query(`SELECT 1 AS held FROM ${target} LIMIT 1`)).length === 0) return;
  const [one] = lacking;
  throw new ProjectRuleError(
    'Schema',
    `the table ${target} has no column ${lacking.join(', ')} of the unique_key (${keys.join(', ')}) ${task.node} replaces its rows by: its rows would hold no ${one}, no run would replace them, and every run would add its rows beside them (its columns: ${table.map((c) => c.name).join(', ')}); rebuild the table from the query with pipe run --full-refresh --select ${task.node}`,
    at ?? { file: task.file },
  );
}

/** The columns of a table, or none when it does not exist. */
/** How a table's columns differ from those of the table it replaces: a type, a column gone or new (names compared as DuckDB compares them). */
function typeChanges(before: readonly Column[], after: readonly Column[]): { readonly column: string; readonly said: string; readonly retyped?: true }[] {
  const was = new Map(before.map((c) => [c.name.toLowerCase(), c]));
  const now = new Set(after.map((c) => c.name.toLowerCase()));
  return [
    ...after.flatMap((c) => {
      const old = was.get(c.name.toLowerCase());
      if (old === undefined) return [{ column: c.name, said: `column ${c.name} is new (${c.type})` }];
      return old.type === c.type ? [] : [{ column: c.name, said: `column ${c.name} is ${c.type} now, ${old.type} before`, retyped: true as const }];
    }),
    ...before.filter((c) => !now.has(c.name.toLowerCase())).map((c) => ({ column: c.name, said: `column ${c.name} is gone` })),
  ];
}

function columnsOf(session: WarehouseSession, relation: string): Promise<Column[]> {
  return session.dialect.describeRelation(session, relation);
}

function sameColumns(a: readonly Column[], b: readonly Column[]): boolean {
  return a.length === b.length && a.every((c, i) => c.name === b[i].name && c.type === b[i].type);
}

/**
 * The backfill that rebuilds a partitioned table over every date it holds and the run's dates
 * of its model (`at`), as a hint names it: one aggregate query, made only when a task is
 * refused. A partition column that holds no dates leaves the range for the user to give.
 */
async function fullRefreshCommand(
  session: WarehouseSession,
  task: Task,
  at: { readonly start: number; readonly end: number } | undefined,
  target: string,
  partitionBy: string,
  pipe: (args: string) => string,
): Promise<string> {
  const command = (start: string, end: string) => pipe(`backfill --full-refresh --start ${start} --end ${end} --select ${task.node}`);
  const p = `TRY_CAST(${quoteIdent(partitionBy)} AS TIMESTAMP)`;
  let first: number | undefined;
  let last: number | undefined;
  try {
    const [row] = await session.query(`SELECT ${session.dialect.epochMs(`min(${p})`)} AS first, ${session.dialect.epochMs(`max(${p})`)} AS last FROM ${target}`);
    first = row.first === null || row.first === undefined ? undefined : Number(row.first);
    last = row.last === null || row.last === undefined ? undefined : Number(row.last);
  } catch (e) {
    if (!(e instanceof WarehouseError)) throw e;
    return command('FIRST', 'LAST') + ' (the first and last date it should hold)';
  }
  const start = Math.min(...[first, at?.start].filter((v): v is number => v !== undefined));
  const end = Math.max(...[last, at === undefined ? undefined : at.end - 1].filter((v): v is number => v !== undefined));
  if (!Number.isFinite(start) || !Number.isFinite(end)) return command('FIRST', 'LAST') + ' (the first and last date it should hold)';
  return command(formatDate(start), formatDate(end));
}

/** An append's refusal of the staged rows the table holds, compared on the staged columns (see AttemptState.guard). */
function newRowsGuard(rule: NewRowsOnly, staging: string, target: string, staged: readonly Column[], dialect: Dialect): Extract<Step, { kind: 'assert-empty' }> {
  const held = dialect.rowsAlreadyIn(staging, target, staged.map((c) => c.name));
  return { kind: 'assert-empty', sql: `SELECT * FROM ${held} AS "__pipe_held" LIMIT 5`, countSql: `SELECT count(*) AS n FROM ${held} AS "__pipe_held"`, message: rule.message, one: rule.one };
}

/** The temporary files of `path` (see externalTempPath) but `keep`, which earlier runs that died left beside it. */
function removeLeftTemps(path: string, keep: string): void {
  const folder = dirname(path);
  const prefix = `.${basename(path)}.`;
  for (const name of readdirSync(folder)) {
    if (!name.startsWith(prefix) || !name.endsWith('.pipe-tmp')) continue;
    const file = join(folder, name);
    if (file !== keep) rmSync(file, { force: true });
  }
}
