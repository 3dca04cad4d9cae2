import pRetry from 'p-retry';
import type { EventSink } from '../events/events.js';
import { NO_RETRIES, type RetryPolicy } from '../plan/retry-policy.js';
import type { Task } from '../plan/task.js';
import { supersededDetail, type TaskResultRecord } from '../warehouse/run-state.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';
import type { BuildRecord } from '../warehouse/build-records.js';
import { upToDateDetail } from '../state/currency.js';
import type { Engine } from './engine.js';
import { Interrupter } from './interrupter.js';
import { renderAtRun } from './render-at-run.js';
import type { RunCurrency, Judged } from './run-currency.js';
import { StepRunner, type AttemptResult, type Published } from './step-runner.js';
import { explainConflict } from './conflict-message.js';
import { explainViewCast } from './view-cast.js';
import { HookError, toTaskError } from './task-errors.js';
import type { TaskOutcome } from './task-queue.js';
import type { TaskPlace } from './task-place.js';
import { taskRef } from './task-ref.js';
import { tellSaid } from './template-messages.js';
import { immediateEffects, type Effects, type PublishBatch } from './commit-batch.js';

/**
 * Runs one task to its end on a connection of the engine: its attempts with their retries, its
 * records in the run state and its events. The executor's loop runs its tasks through one of
 * these; a worker of a distributed backfill (distributed/worker.ts) runs the tasks the queue
 * hands it through one of its own, so a task runs the same way wherever it runs.
 */

export interface TaskRunnerOptions {
  readonly engine: Engine;
  readonly runId: string;
  readonly emit: EventSink;
  readonly signal?: AbortSignal;
  /** Overrides every task's own retry policy (backfills turn retries off unless asked). */
  readonly retryOverride?: RetryPolicy;
  /** Runs every task, those whose output is current too. */
  readonly force?: boolean;
  /** The run's currency (see run-currency.ts); none when no task is tracked. */
  readonly currency?: RunCurrency;
  /** The `pipe worker` process running the tasks, recorded with each attempt; none in the run's own process. */
  readonly runner?: string;
  /** How pipe commands are written for this project, for the hints of a task's errors. */
  readonly pipeCommand?: (args: string) => string;
  /** Each node's dates in the run (see StepContext.spans). */
  readonly spans?: ReadonlyMap<string, { readonly start: number; readonly end: number }>;
}

/** Rows read from which a task without a build on record is taken as likely to take long (see TaskRunner.likelyQuick). */
const QUICK_ROWS = 50_000;

/** How a task runs, when not alone as usual. */
export interface RunHow {
  /** In a batch, committed with other tasks (see commit-batch.ts); its effects wait for the commit. */
  readonly batch?: {
    readonly publish: PublishBatch;
    readonly effects: Effects;
    /** Whether it is the batch's first task: nothing else is in its transaction. */
    readonly first: boolean;
    /** Rolls the batch back when the task fails in it; the task then goes on alone, on the connection returned. */
    readonly abort: () => Promise<WarehouseSession>;
  };
  /** Its start was told already (it ran in a batch that rolled back). */
  readonly started?: boolean;
}

export class TaskRunner {
  /** Tasks found current (or up to date) and not run again. */
  upToDate = 0;
  /** Tasks that left their output to a newer build (see RunCounts.superseded). */
  superseded = 0;
  private readonly now: Effects;
  /** By task of the run that published: the rows it wrote, or for a view the rows it reads (see likelyQuick). */
  private readonly volume = new Map<string, number>();
  private readonly interrupter: Interrupter;
  private readonly steps: StepRunner;
  /**
   * The records of tasks found current, written in batches: a run of thousands of current
   * tasks would otherwise spend most of its time in one INSERT each. A record lost to a
   * crash leaves its task pending, and a retry finds it current again.
   */
  private readonly current: TaskResultRecord[] = [];

  constructor(private readonly o: TaskRunnerOptions) {
    this.now = immediateEffects(o.emit);
    this.interrupter = new Interrupter(o.signal);
    this.steps = new StepRunner({ engine: o.engine, runId: o.runId, emit: o.emit, signal: o.signal, interrupter: this.interrupter, pipeCommand: o.pipeCommand, spans: o.spans });
  }

  /** Writes the records of current tasks not written yet. */
  flush(session: WarehouseSession): Promise<void> {
    return this.o.engine.recordTasks(session, this.current.splice(0));
  }

  dispose(): void {
    this.interrupter.dispose();
  }

  /** A task that does not run (blocked by depends_on_past, or nothing to do): recorded and told, or undefined when it runs. */
  private async settleWithoutRunning(task: Task, session: WarehouseSession, worker: number, fx: Effects): Promise<TaskOutcome | undefined> {
    const { engine, runId } = this.o;
    const at = Date.now();
    if (task.blocked !== undefined) {
      await engine.recordTask(session, { runId, taskId: task.id, attempt: 1, status: 'skipped', endedAt: at, detail: task.blocked, worker });
      fx.emit({ type: 'task-skipped', runId, task: taskRef(task), reason: 'depends-on-past', detail: task.blocked });
      return 'skipped';
    }
    if (task.noop !== undefined) {
      await engine.recordTask(session, { runId, taskId: task.id, attempt: 1, status: 'succeeded', startedAt: at, endedAt: at, detail: task.noop.detail, worker });
      fx.emit({ type: 'task-skipped', runId, task: taskRef(task), reason: task.noop.reason, detail: task.noop.detail });
      // A seed loaded from the same file is up to date as a current model is.
      if (task.noop.reason === 'up-to-date' || task.noop.reason === 'current') fx.later(() => this.upToDate++);
      else fx.later(() => this.superseded++);
      return 'succeeded';
    }
    return undefined;
  }

  /**
   * Whether `task` is likely to take less than `ms`, as far as the run can tell: its last build
   * on record took less, or, with none, the tasks of this run it reads published fewer than
   * QUICK_ROWS rows (through the views between).
   */
  likelyQuick(task: Task, ms: number): boolean {
    const took = this.o.currency?.tookMs(task);
    return took !== undefined ? took < ms : this.volumeRead(task) < QUICK_ROWS;
  }

  /** The rows that the tasks `task` reads published in this run, a view counting what it reads. */
  private volumeRead(task: Task): number {
    let n = 0;
    for (const id of task.upstream) n += this.volume.get(id) ?? 0;
    return n;
  }

  /** Whether a task of the run has seen `table` with the columns its rows have (see StepRunner.seen). */
  seen(table: string): boolean {
    return this.steps.seen(table);
  }

  /**
   * Forgets what the run read while a batch was open (the batch rolled back): the columns of
   * tables and the versions of views, which the batch's writes may have changed.
   */
  forget(): void {
    this.steps.forget();
    this.o.currency?.forget();
  }

  /**
   * Runs a task to its end: its attempts, its records and its events; or, given a place, has it
   * run there (see task-place.ts). Either way it is judged here first (found current, it is not
   * run), and what its publication records of what it was built from is decided here, with the
   * run's memory of what its other tasks published.
   */
  async run(planned: Task, session: WarehouseSession, worker: number, place?: TaskPlace, how: RunHow = {}): Promise<TaskOutcome> {
    const fx = how.batch?.effects ?? this.now;
    const { engine, runId, emit, signal, currency } = this.o;
    let judged: Judged | undefined;
    try {
      const settled = await this.settleWithoutRunning(planned, session, worker, fx);
      if (settled !== undefined) return settled;
      // Judged now that its upstream is done: the versions they published (or kept) are known.
      judged = await currency?.judge(planned, session);
    } catch (e) {
      // In a batch, what it reads to be judged may be stopped by the batch's time running out
      // (or fail): the batch rolls back, and the task runs alone, judged again there.
      if (how.batch) return this.run(planned, await how.batch.abort(), worker, place);
      // Alone, the warehouse failed it (its catalog's Postgres gone a moment): the task fails
      // with the error classified, as a failed attempt does, and the run goes on.
      if (signal?.aborted) {
        await engine.recordTask(session, { runId, taskId: planned.id, attempt: 1, status: 'cancelled', endedAt: Date.now(), detail: 'interrupted', worker, runner: this.o.runner });
        emit({ type: 'task-cancelled', runId, task: taskRef(planned), started: false });
        return 'cancelled';
      }
      const error = toTaskError(e, planned);
      await engine.recordTask(session, { runId, taskId: planned.id, attempt: 1, status: 'failed', endedAt: Date.now(), error: error.message, errorClass: error.errorClass, worker, runner: this.o.runner });
      emit({ type: 'task-failed', runId, task: taskRef(planned), error, attempts: 1, ms: 0 });
      return 'failed';
    }
    const { steps, interrupter } = this;
    /** The task as it runs: once rendered again with the warehouse (see render-at-run.ts), with the SQL it runs. */
    let task = planned;
    const taskStart = Date.now();
    if (judged?.currency.kind === 'current' && !this.o.force) {
      const detail = upToDateDetail(judged.currency);
      const record: TaskResultRecord = { runId, taskId: task.id, attempt: 1, status: 'succeeded', startedAt: taskStart, endedAt: Date.now(), detail, worker };
      fx.later(() => {
        this.current.push(record);
        this.upToDate++;
      });
      // Not inside a batch's transaction, which may roll back after the records left the list.
      if (!how.batch && this.current.length >= 500) await this.flush(session);
      fx.emit({ type: 'task-skipped', runId, task: taskRef(task), reason: 'current', detail });
      return 'succeeded';
    }
    if (place) return this.placed(place, task, judged, worker);
    // A task of a batch rolled back runs again alone, started already.
    if (!how.started) emit({ type: 'task-started', runId, task: taskRef(task), worker });
    let build: BuildRecord | undefined;
    const policy = this.o.retryOverride ?? task.retry ?? NO_RETRIES;
    let attemptNo = 0;
    let attemptStart = taskStart;
    const done: Published = { published: false };
    let result: AttemptResult;
    /** The batch it runs in, until it fails there. */
    let batched = how.batch;
    const attempt = async () => {
      attemptNo++;
      attemptStart = Date.now();
      const readsFrom = engine.moment();
      if (task.renderAtRun) {
        const rendering = task;
        task = await interrupter.during(session, () => renderAtRun(rendering, session, (said) => tellSaid(emit, runId, taskRef(rendering), said)));
        if (task.sqlHash !== undefined) await engine.recordTaskHash(session, runId, task.id, task.sqlHash);
      }
      // Its publication is recorded with what it was built from, in the same transaction.
      const recording = currency?.recording(task, judged, Date.now());
      build = recording?.build;
      const at = { attemptNo, startedAt: attemptStart, readsFrom, worker, runner: this.o.runner, ...(batched ? { batch: batched.publish, emit: fx.emit } : {}) };
      return steps.attempt(recording?.task ?? task, session, at, done);
    };
    /** The error of the first task of a batch, whose attempt in the batch is its first: it ran as it runs alone. */
    let carried: { readonly error: unknown } | undefined;
    if (how.batch) {
      try {
        return this.ended(task, await attempt(), build, attemptNo, attemptStart, taskStart, session, worker, fx);
      } catch (e) {
        // The batch rolls back, and its other tasks run again alone (see commit-batch.ts); so does a task that joined it.
        session = await how.batch.abort();
        batched = undefined;
        done.published = false;
        if (!how.batch.first) return this.run(planned, session, worker, undefined, { started: true });
        carried = { error: e };
      }
    }
    try {
      result = await pRetry(
        async () => {
          if (!carried) return attempt();
          const { error } = carried;
          carried = undefined;
          throw error;
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
            // With the task: a database error's LINE n is its file and line, as the final failure says it.
            const e = toTaskError(error, task);
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
                runner: this.o.runner,
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
        await engine.recordTask(session, { runId, taskId: task.id, attempt, status: 'cancelled', startedAt: attemptStart, endedAt: Date.now(), detail: 'interrupted', worker, runner: this.o.runner });
        emit({ type: 'task-cancelled', runId, task: taskRef(task), started: true });
        return 'cancelled';
      }
      const error = await explainViewCast(await explainConflict(toTaskError(e, task), task, runId, session, !engine.ownsWarehouse), task, session);
      await engine.recordTask(session, { runId, taskId: task.id, attempt, status: 'failed', startedAt: attemptStart, endedAt: Date.now(), error: error.message, errorClass: error.errorClass, worker, runner: this.o.runner });
      emit({ type: 'task-failed', runId, task: taskRef(task), error, attempts: attempt, ms: Date.now() - taskStart });
      return 'failed';
    }
    return this.ended(task, result, build, attemptNo, attemptStart, taskStart, session, worker, this.now);
  }

  /** What follows an attempt that did not fail: the task published, or found a newer publication in place. */
  private async ended(
    task: Task,
    result: AttemptResult,
    build: BuildRecord | undefined,
    attemptNo: number,
    attemptStart: number,
    taskStart: number,
    session: WarehouseSession,
    worker: number,
    fx: Effects,
  ): Promise<TaskOutcome> {
    const { engine, runId, currency } = this.o;
    switch (result.kind) {
      case 'done': {
        const ms = Date.now() - taskStart;
        fx.later(() => {
          currency?.published(task, build);
          this.volume.set(task.id, result.rows ?? this.volumeRead(task));
        });
        fx.emit({ type: 'task-succeeded', runId, task: taskRef(task), rows: result.rows, attempts: attemptNo, ms });
        return 'succeeded';
      }
      case 'superseded': {
        // Done, as in a retry: what reads it reads the newer table.
        await this.steps.cleanup(task, session);
        const detail = supersededDetail(task, result.by, 'for a newer interval');
        await engine.recordTask(session, { runId, taskId: task.id, attempt: attemptNo, status: 'succeeded', startedAt: attemptStart, endedAt: Date.now(), detail, worker, runner: this.o.runner });
        fx.later(() => this.superseded++);
        fx.emit({ type: 'task-skipped', runId, task: taskRef(task), reason: 'superseded', detail });
        return 'succeeded';
      }
      default: {
        const never: never = result;
        throw new Error(`internal error: attempt result ${JSON.stringify(never)}`);
      }
    }
  }

  /** A task run at `place`, its publication recorded with what it was built from as judged here. */
  private async placed(place: TaskPlace, task: Task, judged: Judged | undefined, worker: number): Promise<TaskOutcome> {
    const { currency } = this.o;
    const recording = currency?.recording(task, judged, Date.now());
    const outcome = await place.run(recording?.task ?? task, worker);
    // Superseded, it published nothing: what reads it is judged with the newer build on record, as when it runs here.
    if (outcome === 'superseded') {
      this.superseded++;
      return 'succeeded';
    }
    if (outcome === 'succeeded') currency?.published(task, recording?.build);
    return outcome;
  }
}

