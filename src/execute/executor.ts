import { resolve } from 'node:path';
import { isHourLabel } from '../dates/dates.js';
import pRetry from 'p-retry';
import type { CheckFailure, EventSink, TaskError, TaskRef } from '../events/events.js';
import { secrets } from '../events/secrets.js';
import type { Location } from '../analyze/diagnostics.js';
import { didYouMean } from '../analyze/suggest.js';
import type { CheckStep, Task } from '../plan/task.js';
import { checkResultSql, taskResultSql, type TaskResultRecord } from '../warehouse/run-state.js';
import { WarehouseError, type Row, type Warehouse, type WarehouseSession } from '../warehouse/warehouse.js';
import { KeyedMutex } from './keyed-mutex.js';
import { NO_RETRIES, type RetryPolicy } from '../plan/retry-policy.js';
import { SessionPool } from './session-pool.js';
import { SlowStart } from './slow-start.js';
import { locateSqlError } from '../plan/sql-error-location.js';
import { csvLoadError } from '../plan/csv-error-location.js';
import { schemaChange, type Column } from '../plan/strategies/schema-change.js';

/**
 * Runs planned tasks in dependency order, at most `threads` at a time, each on its own
 * connection. A failure skips everything downstream of it while independent branches go on;
 * an abort (Ctrl-C) stops starting tasks and interrupts the running ones, whose
 * transactions roll back. Tasks that carry a `group` (a backfill's date) are admitted a
 * group at a time: at most `parallel` groups in flight, grown by slow start.
 *
 * The order of `tasks` is their priority: among ready tasks the earliest starts first.
 */

export interface ExecuteInput {
  readonly warehouse: Warehouse;
  readonly runId: string;
  readonly tasks: readonly Task[];
  readonly threads: number;
  readonly emit: EventSink;
  readonly signal?: AbortSignal;
  /** Most groups (dates) in flight at once; default unlimited. */
  readonly parallel?: number;
  /** Start with one group in flight and double as groups succeed (default true when `parallel` is set). */
  readonly slowStart?: boolean;
  /** Stop starting tasks after this many failed tasks; in-flight tasks finish. */
  readonly maxFailures?: number;
  /** Overrides every task's own retry policy (backfills turn retries off unless asked). */
  readonly retryOverride?: RetryPolicy;
}

export interface ExecuteResult {
  readonly status: 'succeeded' | 'failed' | 'cancelled';
  readonly succeeded: number;
  readonly failed: number;
  readonly skipped: number;
  readonly cancelled: number;
  /** Tasks never started (after an abort or --max-failures). */
  readonly pending: number;
}

/** How a task ended, as its dispatcher sees it; `failed` and `skipped` were settled by the task itself. */
type Outcome = 'succeeded' | 'failed' | 'skipped' | 'cancelled' | 'not-started';

/** A task failed on its data, not on the database: e.g. rows outside its interval. */
export class TaskDataError extends Error {
  constructor(
    message: string,
    readonly sample: readonly Record<string, unknown>[],
  ) {
    super(message);
  }
}

/** Blocking checks found failing rows: the staged data is not published. */
export class ChecksFailedError extends Error {
  constructor(readonly failures: readonly CheckFailure[]) {
    super(
      failures
        .map((f) => `check ${f.check} failed: ${f.failingRows} failing row${f.failingRows === 1 ? '' : 's'} (${f.location.file}${f.location.line ? `:${f.location.line}` : ''})`)
        .join('\n'),
    );
  }
}

/**
 * A task stopped by what the project says, at a place in it: a check naming a column the
 * model does not produce ('Check'), or a column change its on_schema_change refuses ('Schema').
 */
export class ProjectRuleError extends Error {
  constructor(
    readonly kind: 'Check' | 'Schema',
    message: string,
    readonly location: Location,
  ) {
    super(message);
  }
}

/** A database error, with the failing statement when pipe knows it, to locate the error in the model file. */
export class StatementError extends Error {
  constructor(
    readonly error: WarehouseError,
    readonly statements: readonly string[],
  ) {
    super(error.message);
  }
}

/** DuckDB's `LINE 14:` counts lines of the executed statement; say the file's line instead, caret kept aligned. */
function relabel(message: string, location: Location | undefined): string {
  if (!location?.line) return message;
  const m = /LINE \d+: /.exec(message);
  if (!m) return message;
  const label = `${location.file}:${location.line}: `;
  const after = message.slice(m.index + m[0].length);
  const nl = after.indexOf('\n');
  if (nl < 0) return message.slice(0, m.index) + label + after;
  const caretLine = after.slice(nl + 1).split('\n')[0];
  const pad = ' '.repeat(Math.max(0, label.length - m[0].length));
  const rest = after.slice(nl + 1 + caretLine.length);
  return `${message.slice(0, m.index)}${label}${after.slice(0, nl)}\n${pad}${caretLine}${rest}`;
}

export function toTaskError(e: unknown, task?: Task): TaskError {
  if (e instanceof StatementError) {
    const base = toTaskError(e.error);
    const csv = task?.csv && csvLoadError(e.error.message, task.csv);
    if (csv) return { ...base, ...csv };
    const statement = task?.origin ? e.statements.find((s) => s.endsWith(task.origin!.sql)) : undefined;
    const place = statement && task?.origin ? locateSqlError(e.error.message, statement, task.origin) : undefined;
    return { ...base, message: relabel(base.message, place?.location), location: place?.location, sqlContext: place?.context };
  }
  if (e instanceof WarehouseError) return { message: e.message, kind: e.kind, errorClass: e.errorClass };
  if (e instanceof ChecksFailedError) {
    return { message: e.message, kind: 'Check', errorClass: 'permanent', checks: e.failures, sample: e.failures[0]?.sample };
  }
  if (e instanceof ProjectRuleError) return { message: e.message, kind: e.kind, errorClass: 'permanent', location: e.location };
  if (e instanceof TaskDataError) return { message: e.message, kind: 'Data', errorClass: 'permanent', sample: e.sample };
  const message = e instanceof Error ? e.message : String(e);
  return { message: `internal error: ${message}`, kind: 'Internal', errorClass: 'permanent' };
}

/**
 * The columns of a table, or none when it does not exist. DESCRIBE binds one relation; the
 * catalog-wide duckdb_columns() would make every task cost as much as the whole warehouse.
 */
async function columnsOf(session: WarehouseSession, relation: string): Promise<Column[]> {
  let rows: Row[];
  try {
    rows = await session.query(`DESCRIBE ${relation}`);
  } catch (e) {
    if (e instanceof WarehouseError && e.kind === 'Catalog') return [];
    throw e;
  }
  return rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
}

function sameColumns(a: readonly Column[], b: readonly Column[]): boolean {
  return a.length === b.length && a.every((c, i) => c.name === b[i].name && c.type === b[i].type);
}

/**
 * Publishing to one table is serialized across every run of the process (the scheduler and
 * watch run several), not only within one run: a check that reads the whole table inside the
 * publishing transaction then sees every commit before its own.
 */
const publishLocks = new KeyedMutex();

export function taskRef(t: Task): TaskRef {
  return { id: t.id, model: t.node, kind: t.kind, file: t.file, ds: t.ds, ...(t.phase ? { phase: t.phase } : {}) };
}

interface CheckResult {
  /** The statement that records the result in the run state. */
  readonly record: string;
  readonly failure?: CheckFailure;
}

interface GroupState {
  total: number;
  settled: number;
  failed: boolean;
  started: boolean;
}

export async function execute(input: ExecuteInput): Promise<ExecuteResult> {
  const { tasks, runId, emit, signal } = input;
  const threads = Math.max(1, Math.min(input.threads, tasks.length || 1));
  const pool = await SessionPool.create(input.warehouse, threads);
  const warehouseKey = resolve(input.warehouse.location);
  const startedAt = Date.now();

  const index = new Map(tasks.map((t, i) => [t.id, i]));
  const waiting = tasks.map((t) => t.upstream.filter((u) => index.has(u)).length + (t.after ?? []).filter((u) => index.has(u)).length);
  const downstream: number[][] = tasks.map(() => []);
  /** Tasks that wait for a task to finish, whatever its outcome (see Task.after). */
  const followers: number[][] = tasks.map(() => []);
  tasks.forEach((t, i) => {
    for (const u of t.upstream) {
      const j = index.get(u);
      if (j !== undefined) downstream[j].push(i);
    }
    for (const u of t.after ?? []) {
      const j = index.get(u);
      if (j !== undefined) followers[j].push(i);
    }
  });
  const settled = new Array<boolean>(tasks.length).fill(false);
  const counts = { succeeded: 0, failed: 0, skipped: 0, cancelled: 0 };

  const groups = new Map<string, GroupState>();
  for (const t of tasks) {
    if (t.group === undefined) continue;
    const g = groups.get(t.group) ?? { total: 0, settled: 0, failed: false, started: false };
    g.total++;
    groups.set(t.group, g);
  }
  const gated = input.parallel !== undefined && groups.size > 0;
  const unit = [...groups.keys()].some(isHourLabel) ? 'hour' : 'date';
  const window = new SlowStart(input.parallel ?? Number.MAX_SAFE_INTEGER, input.slowStart === false ? (input.parallel ?? 1) : 1);
  let groupsInFlight = 0;
  let groupsDone = 0;
  let groupsFailed = 0;
  let stopped = false;

  const progress = () => {
    if (!gated) return;
    const elapsedMs = Date.now() - startedAt;
    const finished = groupsDone + groupsFailed;
    emit({
      type: 'progress',
      runId,
      datesTotal: groups.size,
      datesDone: groupsDone,
      datesFailed: groupsFailed,
      datesInFlight: groupsInFlight,
      parallel: window.current,
      maxParallel: input.parallel!,
      elapsedMs,
      etaMs: finished > 0 ? Math.round((elapsedMs / finished) * (groups.size - finished)) : undefined,
      unit,
    });
  };

  const settle = (i: number, outcome: 'succeeded' | 'failed' | 'skipped' | 'cancelled') => {
    settled[i] = true;
    for (const f of followers[i]) {
      waiting[f]--;
      if (waiting[f] === 0 && !settled[f]) makeReady(f);
    }
    const group = tasks[i].group;
    const g = group === undefined ? undefined : groups.get(group);
    if (outcome === 'failed') {
      window.taskFailed();
      if (input.maxFailures !== undefined && counts.failed >= input.maxFailures && !stopped) {
        stopped = true;
        emit({
          type: 'notice',
          message: `${counts.failed} task${counts.failed === 1 ? '' : 's'} failed (--max-failures ${input.maxFailures}): starting no new tasks; running ones finish`,
        });
      }
    }
    if (!g) return;
    g.settled++;
    if (outcome === 'failed' || outcome === 'cancelled') g.failed = true;
    if (g.settled === g.total) {
      if (g.started) groupsInFlight--;
      if (g.failed) groupsFailed++;
      else {
        groupsDone++;
        window.dateSucceeded();
      }
      progress();
    }
  };

  // Error text can quote a secret (a value DuckDB could not convert): stored masked.
  const record = async (session: WarehouseSession, r: Omit<TaskResultRecord, 'runId'>) => {
    const text = { error: r.error && secrets.mask(r.error), detail: r.detail && secrets.mask(r.detail) };
    await session.exec(taskResultSql({ runId, ...r, ...text })).catch(() => undefined);
  };

  /** Skips everything downstream of a task that failed (or was itself skipped, `blocked`). */
  const skipDownstream = async (failed: number, session: WarehouseSession, how: 'failed' | 'skipped' = 'failed') => {
    const f = tasks[failed];
    const detail = `upstream ${f.node}${f.ds ? ` (${f.ds})` : ''} ${how}`;
    const stack = [...downstream[failed]];
    while (stack.length > 0) {
      const i = stack.pop()!;
      if (settled[i]) continue;
      counts.skipped++;
      settle(i, 'skipped');
      await record(session, { taskId: tasks[i].id, attempt: 1, status: 'skipped', endedAt: Date.now(), detail });
      emit({ type: 'task-skipped', runId, task: taskRef(tasks[i]), reason: 'upstream-failed', detail });
      stack.push(...downstream[i]);
    }
  };

  /** Columns of incremental tables as last seen matching their staged data (see schema-change). */
  const tableColumns = new Map<string, readonly Column[]>();

  /** Sessions running a query that an abort may interrupt. */
  const working = new Set<WarehouseSession>();

  /** Runs one check: its failing rows (a sample and their count) and the record of its result. */
  const runCheck = async (task: Task, step: CheckStep, session: WarehouseSession, attemptNo: number): Promise<CheckResult> => {
    const sample = await session.query(`SELECT * FROM (\n${step.sql}\n) AS failing LIMIT 5`);
    let failingRows = 0;
    if (sample.length > 0) {
      const [{ n }] = await session.query(`SELECT count(*) AS n FROM (\n${step.sql}\n) AS failing`);
      failingRows = Number(n);
    }
    return {
      record: checkResultSql({ runId, taskId: task.id, attempt: attemptNo, check: step.name, severity: step.severity, failingRows, sample: secrets.maskDeep(sample), at: Date.now() }),
      failure: failingRows > 0 ? { check: step.name, severity: step.severity, failingRows, sample, location: step.location } : undefined,
    };
  };

  /** Stores a check's result and reports a failure; blocking ones are collected to fail the task. */
  const reportCheck = async (task: Task, session: WarehouseSession, result: CheckResult, blocking: CheckFailure[]) => {
    await session.exec(result.record).catch(() => undefined);
    if (!result.failure) return;
    emit({ type: 'check-failed', runId, task: taskRef(task), failure: result.failure });
    if (result.failure.severity === 'error') blocking.push(result.failure);
  };

  /**
   * Runs a task's steps once; throws what failed. An abort is checked before every step: an
   * interrupt that reached the connection between two statements is lost to DuckDB, and the
   * data must never be published once the run is cancelled. `done.published` tells the
   * caller that the publishing transaction committed, whatever happens after it.
   */
  const attempt = async (task: Task, session: WarehouseSession, attemptNo: number, startedAtMs: number, done: { published: boolean; rows?: number }): Promise<number | undefined> => {
    let rows: number | undefined;
    const blocking: CheckFailure[] = [];
    /** ALTER TABLE statements a schema change adds in front of the publishing transaction. */
    let alter: readonly string[] = [];
    for (const step of task.steps) {
      if (signal?.aborted) throw new Error('interrupted');
      if (step.kind === 'publish' && blocking.length > 0) throw new ChecksFailedError(blocking);
      // Queries may be interrupted on abort; the publishing transaction is short and atomic.
      if (step.kind !== 'publish') working.add(session);
      try {
        switch (step.kind) {
          case 'statement': {
            const n = await session.exec(step.sql).catch((e: unknown) => {
              throw e instanceof WarehouseError ? new StatementError(e, [step.sql]) : e;
            });
            if (step.countsRows) rows = n ?? (step.rowsOf ? Number((await session.query(`SELECT count(*) AS n FROM ${step.rowsOf}`))[0].n) : undefined);
            break;
          }
          case 'assert-empty': {
            const sample = await session.query(step.sql);
            if (sample.length > 0) {
              const [{ n }] = await session.query(step.countSql);
              throw new TaskDataError(`${String(n)} ${step.message}`, sample);
            }
            break;
          }
          case 'publish': {
            // The model's own SQL (a view's) runs alone, so a database error keeps its position.
            const own = task.origin?.sql;
            const alone = step.statements.flatMap((sql, i) => (own !== undefined && sql.endsWith(own) ? [alter.length + i] : []));
            const checks = step.checks ?? [];
            const results: CheckResult[] = [];
            let checking = false;
            let failedChecks = false;
            let counted: number | undefined;
            try {
              counted = await publishLocks.run(`${warehouseKey}\u0000${task.lockKey}`, () =>
                session.transaction(
                  [
                    ...alter,
                    ...step.statements,
                    ...(task.stateStatements ?? []),
                    taskResultSql({ runId, taskId: task.id, attempt: attemptNo, status: 'succeeded', startedAt: startedAtMs, endedAt: Date.now(), rows }),
                  ],
                  {
                    alone,
                    countAt: step.countsRowsAt === undefined ? undefined : alter.length + step.countsRowsAt,
                    beforeCommit:
                      checks.length === 0
                        ? undefined
                        : async () => {
                            checking = true;
                            working.add(session);
                            try {
                              for (const c of checks) {
                                if (signal?.aborted) throw new Error('interrupted');
                                results.push(await runCheck(task, c, session, attemptNo));
                              }
                            } finally {
                              working.delete(session);
                            }
                            failedChecks = results.some((r) => r.failure?.severity === 'error');
                            if (failedChecks) throw new Error('blocking checks failed: rolled back');
                          },
                  },
                ),
              );
            } catch (e) {
              if (!failedChecks) throw e instanceof WarehouseError && !checking ? new StatementError(e, step.statements) : e;
            } finally {
              // Recorded after the transaction: a rolled-back one would take its records with it.
              for (const r of results) await reportCheck(task, session, r, blocking);
            }
            if (failedChecks) throw new ChecksFailedError(blocking);
            done.published = true;
            if (step.countsRowsAt !== undefined) rows = counted;
            done.rows = rows;
            break;
          }
          case 'cleanup':
            break;
          case 'schema-change': {
            const staged = await columnsOf(session, step.staging);
            // The dates of a backfill stage the same columns: once they matched the table, the
            // table is not described again (only pipe alters it during the run).
            const known = tableColumns.get(step.target);
            const table = known && sameColumns(known, staged) ? known : await columnsOf(session, step.target);
            const change = schemaChange(step.target, table, staged, step.policy);
            if ('error' in change) throw new ProjectRuleError('Schema', `${change.error}; ${change.hint}`, { file: task.file });
            alter = change.statements;
            if (alter.length === 0 && table.length > 0) tableColumns.set(step.target, table);
            else tableColumns.delete(step.target);
            break;
          }
          case 'columns': {
            const described = await session.query(`DESCRIBE SELECT * FROM ${step.relation}`);
            const have = described.map((r) => String(r.column_name));
            const lower = new Set(have.map((c) => c.toLowerCase()));
            const missing = step.expected.find((u) => !lower.has(u.column.toLowerCase()));
            if (missing) {
              const hint = didYouMean(missing.column, have);
              throw new ProjectRuleError(
                'Check',
                `check ${missing.check} names column '${missing.column}', which ${task.node} does not produce${hint ? `; ${hint}` : ''} (columns: ${have.join(', ')})`,
                missing.location,
              );
            }
            break;
          }
          case 'check':
            await reportCheck(task, session, await runCheck(task, step, session, attemptNo), blocking);
            break;
          default: {
            const never: never = step;
            throw new Error(`internal error: step ${JSON.stringify(never)}`);
          }
        }
      } finally {
        working.delete(session);
      }
    }
    if (blocking.length > 0) throw new ChecksFailedError(blocking);
    return rows;
  };

  const cleanup = async (task: Task, session: WarehouseSession) => {
    for (const step of task.steps) {
      if (step.kind === 'cleanup') await session.exec(step.sql).catch(() => undefined);
    }
  };

  const runOne = async (i: number): Promise<Outcome> => {
    const task = tasks[i];
    if (signal?.aborted || stopped) return 'not-started';
    const session = pool.acquire();
    const taskStart = Date.now();
    try {
      if (task.blocked !== undefined) {
        counts.skipped++;
        settle(i, 'skipped');
        await record(session, { taskId: task.id, attempt: 1, status: 'skipped', endedAt: taskStart, detail: task.blocked });
        emit({ type: 'task-skipped', runId, task: taskRef(task), reason: 'depends-on-past', detail: task.blocked });
        await skipDownstream(i, session, 'skipped');
        return 'skipped';
      }
      if (task.noop !== undefined) {
        await record(session, { taskId: task.id, attempt: 1, status: 'succeeded', startedAt: taskStart, endedAt: taskStart, detail: task.noop.detail });
        emit({ type: 'task-skipped', runId, task: taskRef(task), reason: task.noop.reason, detail: task.noop.detail });
        return 'succeeded';
      }
      emit({ type: 'task-started', runId, task: taskRef(task) });
      const policy = input.retryOverride ?? task.retry ?? NO_RETRIES;
      let attemptNo = 0;
      let attemptStart = taskStart;
      let rows: number | undefined;
      const done: { published: boolean; rows?: number } = { published: false };
      try {
        rows = await pRetry(
          async () => {
            attemptNo++;
            attemptStart = Date.now();
            return attempt(task, session, attemptNo, attemptStart, done);
          },
          {
            retries: policy.retries,
            minTimeout: policy.delayMs,
            maxTimeout: Math.max(policy.delayMs, policy.maxDelayMs),
            factor: 2,
            randomize: true,
            signal,
            shouldRetry: ({ error }) => !signal?.aborted && toTaskError(error).errorClass === 'transient',
            onFailedAttempt: async ({ error, retriesLeft }) => {
              await cleanup(task, session);
              const e = toTaskError(error);
              if (retriesLeft > 0 && e.errorClass === 'transient' && !signal?.aborted) {
                await record(session, {
                  taskId: task.id,
                  attempt: attemptNo,
                  status: 'failed',
                  startedAt: attemptStart,
                  endedAt: Date.now(),
                  error: e.message,
                  errorClass: e.errorClass,
                  detail: 'will retry',
                });
                emit({ type: 'task-retrying', runId, task: taskRef(task), attempt: attemptNo, error: e });
              }
            },
          },
        );
      } catch (e) {
        await cleanup(task, session);
        if (done.published) {
          // Published and recorded as succeeded in one transaction before the abort was seen.
          emit({ type: 'task-succeeded', runId, task: taskRef(task), rows: done.rows, attempts: attemptNo, ms: Date.now() - taskStart });
          return 'succeeded';
        }
        if (signal?.aborted) {
          await record(session, { taskId: task.id, attempt: Math.max(1, attemptNo), status: 'cancelled', startedAt: attemptStart, endedAt: Date.now(), detail: 'interrupted' });
          emit({ type: 'task-cancelled', runId, task: taskRef(task), started: true });
          return 'cancelled';
        }
        const error = toTaskError(e, task);
        counts.failed++;
        await record(session, {
          taskId: task.id,
          attempt: Math.max(1, attemptNo),
          status: 'failed',
          startedAt: attemptStart,
          endedAt: Date.now(),
          error: error.message,
          errorClass: error.errorClass,
        });
        emit({ type: 'task-failed', runId, task: taskRef(task), error, attempts: Math.max(1, attemptNo), ms: Date.now() - taskStart });
        settle(i, 'failed');
        await skipDownstream(i, session);
        return 'failed';
      }
      emit({ type: 'task-succeeded', runId, task: taskRef(task), rows, attempts: attemptNo, ms: Date.now() - taskStart });
      return 'succeeded';
    } finally {
      pool.release(session);
    }
  };

  // An interrupt that reaches a connection before its query has started is lost to DuckDB,
  // so it is repeated until every running query has stopped.
  let reinterrupt: ReturnType<typeof setInterval> | undefined;
  const onAbort = () => {
    const tick = () => {
      for (const s of working) s.interrupt();
    };
    tick();
    reinterrupt = setInterval(tick, 100);
    reinterrupt.unref();
  };
  signal?.addEventListener('abort', onAbort);

  // Ready tasks, kept sorted by index (= priority).
  const ready: number[] = [];
  const makeReady = (i: number) => {
    let lo = 0;
    let hi = ready.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ready[mid] < i) lo = mid + 1;
      else hi = mid;
    }
    ready.splice(lo, 0, i);
  };

  await new Promise<void>((resolveAll) => {
    let running = 0;
    const dispatch = () => {
      while (running < threads && !stopped && !signal?.aborted) {
        let pick = -1;
        for (let k = 0; k < ready.length; k++) {
          const group = tasks[ready[k]].group;
          const g = group === undefined ? undefined : groups.get(group);
          if (!gated || !g || g.started || groupsInFlight < window.current) {
            pick = k;
            break;
          }
        }
        if (pick < 0) break;
        const [i] = ready.splice(pick, 1);
        const group = tasks[i].group;
        const g = group === undefined ? undefined : groups.get(group);
        if (g && !g.started) {
          g.started = true;
          groupsInFlight++;
          progress();
        }
        running++;
        void runOne(i)
          .then((outcome) => {
            switch (outcome) {
              case 'succeeded':
                counts.succeeded++;
                settle(i, 'succeeded');
                for (const d of downstream[i]) {
                  waiting[d]--;
                  if (waiting[d] === 0 && !settled[d]) makeReady(d);
                }
                break;
              case 'failed':
              case 'skipped':
                break;
              case 'cancelled':
                counts.cancelled++;
                settle(i, 'cancelled');
                break;
              case 'not-started':
                break;
              default: {
                const never: never = outcome;
                throw new Error(`internal error: outcome ${String(never)}`);
              }
            }
          })
          .finally(() => {
            running--;
            dispatch();
            if (running === 0) resolveAll();
          });
      }
      if (running === 0) resolveAll();
    };
    tasks.forEach((_, i) => {
      if (waiting[i] === 0) makeReady(i);
    });
    dispatch();
  });

  signal?.removeEventListener('abort', onAbort);
  clearInterval(reinterrupt);
  pool.close();
  const pending = settled.filter((s) => !s).length;
  // A task skipped (after a failure, or for depends_on_past) leaves the run unfinished: pipe retry completes it.
  const status = signal?.aborted ? 'cancelled' : counts.failed > 0 || counts.skipped > 0 || pending > 0 ? 'failed' : 'succeeded';
  return { status, ...counts, pending };
}
