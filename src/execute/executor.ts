import pRetry from 'p-retry';
import { isHourLabel } from '../dates/dates.js';
import type { EventSink, RunCounts } from '../events/events.js';
import { NO_RETRIES, type RetryPolicy } from '../plan/retry-policy.js';
import type { Task } from '../plan/task.js';
import { supersededDetail, type TaskResultRecord } from '../warehouse/run-state.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';
import type { Engine } from './engine.js';
import { Interrupter } from './interrupter.js';
import { StepRunner, type AttemptResult, type Published } from './step-runner.js';
import { HookError, toTaskError } from './task-errors.js';
import { TaskQueue, type GroupProgress, type TaskOutcome } from './task-queue.js';
import { taskRef } from './task-ref.js';
import { renderAtRun } from './render-at-run.js';
import { RunCurrency, type Judged } from './run-currency.js';
import { upToDateDetail } from '../state/currency.js';
import { WorkerSlots } from './worker-slots.js';
import type { BuildRecord } from '../warehouse/build-records.js';

/**
 * Runs planned tasks: takes from the queue (task-queue.ts decides what may start: dependency
 * order, priority, dates in flight, the failure budget), runs each on a pooled connection of
 * the engine with its retries, records and reports how it ended, and gives the outcome back.
 * A failure skips everything downstream of it while independent branches go on; an abort
 * (Ctrl-C) stops starting tasks and interrupts the running ones, whose transactions roll back.
 *
 * The order of `tasks` is their priority: among ready tasks the earliest starts first.
 */

export interface ExecuteInput {
  readonly engine: Engine;
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
  /** Runs every task, those whose output is current too (`--force`, `--full-refresh`). */
  readonly force?: boolean;
}

/** What a run's tasks came to (see RunCounts). */
export type ExecuteResult = RunCounts;

export async function execute(input: ExecuteInput): Promise<ExecuteResult> {
  const { engine, tasks, runId, emit, signal } = input;
  const queue = new TaskQueue(tasks, input);
  const interrupter = new Interrupter(signal);
  const steps = new StepRunner({ engine, runId, emit, signal, interrupter });
  const startedAt = Date.now();
  const unit = tasks.some((t) => t.group !== undefined && isHourLabel(t.group)) ? 'hour' : 'date';
  const currency = await engine.withSession((session) => RunCurrency.open(session, runId, tasks));
  let upToDate = 0;
  /**
   * The records of tasks found current, written in batches: a run of thousands of current
   * tasks would otherwise spend most of its time in one INSERT each. A record lost to a
   * crash leaves its task pending, and a retry finds it current again.
   */
  const current: TaskResultRecord[] = [];
  const workers = new WorkerSlots();
  const flushCurrent = (session: WarehouseSession) => engine.recordTasks(session, current.splice(0));

  const progress = (p: GroupProgress) => {
    const elapsedMs = Date.now() - startedAt;
    const finished = p.done + p.failed;
    emit({
      type: 'progress',
      runId,
      datesTotal: p.total,
      datesDone: p.done,
      datesFailed: p.failed,
      datesInFlight: p.inFlight,
      parallel: p.window,
      maxParallel: input.parallel!,
      elapsedMs,
      etaMs: finished > 0 ? Math.round((elapsedMs / finished) * (p.total - finished)) : undefined,
      unit,
    });
  };

  /** Runs a task to its end: its attempts, its records and its events. */
  const runTask = async (planned: Task, session: WarehouseSession, worker: number): Promise<TaskOutcome> => {
    /** The task as it runs: once rendered again with the warehouse (see render-at-run.ts), with the SQL it runs. */
    let task = planned;
    const taskStart = Date.now();
    if (task.blocked !== undefined) {
      await engine.recordTask(session, { runId, taskId: task.id, attempt: 1, status: 'skipped', endedAt: taskStart, detail: task.blocked, worker });
      emit({ type: 'task-skipped', runId, task: taskRef(task), reason: 'depends-on-past', detail: task.blocked });
      return 'skipped';
    }
    if (task.noop !== undefined) {
      await engine.recordTask(session, { runId, taskId: task.id, attempt: 1, status: 'succeeded', startedAt: taskStart, endedAt: taskStart, detail: task.noop.detail, worker });
      emit({ type: 'task-skipped', runId, task: taskRef(task), reason: task.noop.reason, detail: task.noop.detail });
      // A seed loaded from the same file is up to date as a current model is.
      if (task.noop.reason === 'up-to-date' || task.noop.reason === 'current') upToDate++;
      return 'succeeded';
    }
    // Judged now that its upstream is done: the versions they published (or kept) are known.
    const judged: Judged | undefined = await currency?.judge(task, session);
    if (judged?.currency.kind === 'current' && !input.force) {
      const detail = upToDateDetail(judged.currency);
      current.push({ runId, taskId: task.id, attempt: 1, status: 'succeeded', startedAt: taskStart, endedAt: Date.now(), detail, worker });
      if (current.length >= 500) await flushCurrent(session);
      emit({ type: 'task-skipped', runId, task: taskRef(task), reason: 'current', detail });
      upToDate++;
      return 'succeeded';
    }
    emit({ type: 'task-started', runId, task: taskRef(task), worker });
    let build: BuildRecord | undefined;
    const policy = input.retryOverride ?? task.retry ?? NO_RETRIES;
    let attemptNo = 0;
    let attemptStart = taskStart;
    const done: Published = { published: false };
    let result: AttemptResult;
    try {
      result = await pRetry(
        async () => {
          attemptNo++;
          attemptStart = Date.now();
          if (task.renderAtRun) {
            task = await interrupter.during(session, () => renderAtRun(task, session));
            if (task.sqlHash !== undefined) await engine.recordTaskHash(session, runId, task.id, task.sqlHash);
          }
          // Its publication is recorded with what it was built from, in the same transaction.
          const recording = currency?.recording(task, judged, Date.now());
          build = recording?.build;
          const recorded = recording?.statements.length ? { ...task, stateStatements: [...(task.stateStatements ?? []), ...recording.statements] } : task;
          return steps.attempt(recorded, session, { attemptNo, startedAt: attemptStart, worker }, done);
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
            await steps.cleanup(task, session);
            const e = toTaskError(error);
            if (retriesLeft > 0 && e.errorClass === 'transient' && !signal?.aborted) {
              await engine.recordTask(session, {
                runId,
                taskId: task.id,
                attempt: attemptNo,
                status: 'failed',
                startedAt: attemptStart,
                endedAt: Date.now(),
                error: e.message,
                errorClass: e.errorClass,
                detail: 'will retry',
                worker,
              });
              emit({ type: 'task-retrying', runId, task: taskRef(task), attempt: attemptNo, error: e });
            }
          },
        },
      );
    } catch (e) {
      await steps.cleanup(task, session);
      // A post-hook that runs after the commit failed: published, and failed all the same (as in dbt).
      if (done.published) currency?.published(task, build);
      if (done.published && !(e instanceof HookError && e.published)) {
        // Published and recorded as succeeded in one transaction before the abort was seen.
        emit({ type: 'task-succeeded', runId, task: taskRef(task), rows: done.rows, attempts: attemptNo, ms: Date.now() - taskStart });
        return 'succeeded';
      }
      const attempt = Math.max(1, attemptNo);
      if (signal?.aborted) {
        await engine.recordTask(session, { runId, taskId: task.id, attempt, status: 'cancelled', startedAt: attemptStart, endedAt: Date.now(), detail: 'interrupted', worker });
        emit({ type: 'task-cancelled', runId, task: taskRef(task), started: true });
        return 'cancelled';
      }
      const error = toTaskError(e, task);
      await engine.recordTask(session, { runId, taskId: task.id, attempt, status: 'failed', startedAt: attemptStart, endedAt: Date.now(), error: error.message, errorClass: error.errorClass, worker });
      emit({ type: 'task-failed', runId, task: taskRef(task), error, attempts: attempt, ms: Date.now() - taskStart });
      return 'failed';
    }
    switch (result.kind) {
      case 'done':
        currency?.published(task, build);
        emit({ type: 'task-succeeded', runId, task: taskRef(task), rows: result.rows, attempts: attemptNo, ms: Date.now() - taskStart });
        return 'succeeded';
      case 'superseded': {
        // Done, as in a retry: what reads it reads the newer table.
        await steps.cleanup(task, session);
        const detail = supersededDetail(task, result.by, 'for a newer interval');
        await engine.recordTask(session, { runId, taskId: task.id, attempt: attemptNo, status: 'succeeded', startedAt: attemptStart, endedAt: Date.now(), detail, worker });
        emit({ type: 'task-skipped', runId, task: taskRef(task), reason: 'superseded', detail });
        return 'succeeded';
      }
      default: {
        const never: never = result;
        throw new Error(`internal error: attempt result ${JSON.stringify(never)}`);
      }
    }
  };

  /** Runs a task the queue handed out and gives its outcome back; the connection is kept until what follows from it is recorded. */
  const runOne = async (task: Task): Promise<void> => {
    const session = await engine.acquire();
    const worker = workers.take();
    try {
      const outcome = await runTask(task, session, worker);
      const settled = queue.settle(task, outcome);
      if (settled.stopped) {
        const { failed, maxFailures } = settled.stopped;
        emit({ type: 'notice', message: `${failed} task${failed === 1 ? '' : 's'} failed (--max-failures ${maxFailures}): starting no new tasks; running ones finish` });
      }
      for (const { task: skipped, cause } of settled.skipped) {
        const detail = `upstream ${cause.node}${cause.ds ? ` (${cause.ds})` : ''} ${outcome === 'skipped' ? 'skipped' : 'failed'}`;
        await engine.recordTask(session, { runId, taskId: skipped.id, attempt: 1, status: 'skipped', endedAt: Date.now(), detail });
        emit({ type: 'task-skipped', runId, task: taskRef(skipped), reason: 'upstream-failed', detail });
      }
      if (settled.progress) progress(settled.progress);
    } finally {
      workers.give(worker);
      engine.release(session);
    }
  };

  try {
    await new Promise<void>((resolveAll, rejectAll) => {
      let active = 0;
      const dispatch = () => {
        while (!signal?.aborted) {
          const taken = queue.take();
          if (!taken) break;
          if (taken.progress) progress(taken.progress);
          active++;
          runOne(taken.task).then(() => {
            active--;
            dispatch();
          }, rejectAll);
        }
        if (active === 0) resolveAll();
      };
      dispatch();
    });
  } finally {
    interrupter.dispose();
    await engine.withSession(flushCurrent);
  }
  const counts = queue.counts;
  const pending = queue.pending;
  // A task skipped (after a failure, or for depends_on_past) leaves the run unfinished: pipe retry completes it.
  const status = signal?.aborted ? 'cancelled' : counts.failed > 0 || counts.skipped > 0 || pending > 0 ? 'failed' : 'succeeded';
  return { status, ...counts, pending, upToDate };
}
