import { isHourLabel } from '../dates/dates.js';
import type { EventSink, RunCounts } from '../events/events.js';
import type { QueryReadsCache } from '../state/query-reads-cache.js';
import type { RetryPolicy } from '../plan/retry-policy.js';
import type { Task } from '../plan/task.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';
import type { Engine } from './engine.js';
import { TaskQueue, type GroupProgress, type TaskOutcome } from './task-queue.js';
import { BATCH_MAX_MS, batchable, CommitBatch, HeldEffects } from './commit-batch.js';
import { taskRef } from './task-ref.js';
import { RunCurrency } from './run-currency.js';
import { WorkerSlots } from './worker-slots.js';
import { TaskRunner } from './task-runner.js';
import type { TaskPlace } from './task-place.js';

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
  /** How pipe commands are written for this project, for the hints of a task's errors. */
  readonly pipeCommand?: (args: string) => string;
  /** What earlier runs judged of their queries' reads (see state/query-reads-cache.ts). */
  readonly readsCache?: QueryReadsCache;
  /**
   * Where the tasks that run execute: here, on the engine's connections (the default), or
   * elsewhere (the workers of a distributed backfill). Tasks are judged here either way, and
   * those that do not run (blocked, current, nothing to do) settled here.
   */
  readonly place?: TaskPlace;
}

/** A task that ran in a batch, waiting for its commit. */
interface Member {
  readonly task: Task;
  readonly outcome: TaskOutcome;
  readonly effects: HeldEffects;
}

/** What a run's tasks came to (see RunCounts). */
export type ExecuteResult = RunCounts;

export async function execute(input: ExecuteInput): Promise<ExecuteResult> {
  const { engine, tasks, runId, emit, signal } = input;
  const queue = new TaskQueue(tasks, input);
  // What happens where its tasks run is told as the run's own.
  input.place?.relay(emit);
  const startedAt = Date.now();
  const unit = tasks.some((t) => t.group !== undefined && isHourLabel(t.group)) ? 'hour' : 'date';
  const currency = await engine.withSession((session) => RunCurrency.open(session, runId, tasks, input.readsCache, engine.builds, (s) => engine.seedHashes(s)));
  for (const { node, runId: wholeRun } of currency?.builtWholeBefore(tasks) ?? []) {
    emit({
      type: 'notice',
      message: `${node} was last built whole (run ${wholeRun}), and is now built by date: the dates this run builds replace their rows, the table's other rows stay as that build made them, and pipe status counts their dates as not built; pipe backfill --full-refresh --select ${node} --start … --end … rebuilds its history date by date`,
    });
  }
  const runner = new TaskRunner({ engine, runId, emit, signal, retryOverride: input.retryOverride, force: input.force, currency, pipeCommand: input.pipeCommand, spans: spansOf(input.tasks) });
  const workers = new WorkerSlots();

  const progress = (p: GroupProgress) => {
    const elapsedMs = Date.now() - startedAt;
    const finished = p.done + p.failed + p.cancelled;
    emit({
      type: 'progress',
      runId,
      datesTotal: p.total,
      datesDone: p.done,
      datesFailed: p.failed,
      datesCancelled: p.cancelled,
      datesInFlight: p.inFlight,
      parallel: p.window,
      maxParallel: input.parallel!,
      elapsedMs,
      etaMs: finished > 0 ? Math.round((elapsedMs / finished) * (p.total - finished)) : undefined,
      unit,
    });
  };

  /** When each task settled, counted in settles: a batch reads what settled before it began (see CommitBatch.reads). */
  const settledAs = new Map<string, number>();
  /** Gives a task's outcome back to the queue, and records and tells what follows from it. */
  const settle = async (task: Task, outcome: TaskOutcome, session: WarehouseSession): Promise<void> => {
    settledAs.set(task.id, settledAs.size + 1);
    const settled = queue.settle(task, outcome);
    if (settled.stopped) {
      const { failed, maxFailures } = settled.stopped;
      emit({ type: 'notice', message: `${failed} task${failed === 1 ? '' : 's'} failed (--max-failures ${maxFailures}): starting no new tasks; running ones finish` });
      // Handed to workers but taken by none yet: those start no more either.
      await input.place?.stopStarting?.(`--max-failures ${maxFailures} reached`);
    }
    for (const { task: skipped, cause } of settled.skipped) {
      const what = cause.kind === 'unit-test' ? `unit test ${cause.id.replace(/@[^@]*$/, '')}` : `upstream ${cause.node}${cause.ds ? ` (${cause.ds})` : ''}`;
      const detail = `${what} ${outcome === 'skipped' ? 'skipped' : 'failed'}`;
      await engine.recordTask(session, { runId, taskId: skipped.id, attempt: 1, status: 'skipped', endedAt: Date.now(), detail });
      emit({ type: 'task-skipped', runId, task: taskRef(skipped), reason: 'upstream-failed', detail });
    }
    // Told as the queue stands now, not as it stood at the settle: other tasks settled and started
    // while the skips were recorded, and an older count told after theirs would go back.
    if (settled.progress) progress(queue.progress());
  };

  /** Runs a task on its own on `session`, and settles it; the run's thread is kept until what follows from it is recorded. */
  const runAlone = async (task: Task, session: WarehouseSession, started = false): Promise<void> => {
    const worker = workers.take();
    try {
      await settle(task, await runner.run(task, session, worker, input.place, { started }), session);
    } finally {
      workers.give(worker);
    }
  };

  /** A task of a batch that was rolled back (parked: no longer counted as running), run again alone. */
  const runAgain = async (task: Task, session: WarehouseSession): Promise<void> => {
    queue.resume(task);
    await runAlone(task, session, true);
  };

  const batching = input.place === undefined && engine.batchesCommits;
  /**
   * Models whose task ran past a batch's time: their tasks start batches, and join none; nor do
   * tasks likely to run long (see TaskRunner.likelyQuick).
   */
  const long = new Set<string>();

  /**
   * Runs tasks on one connection, one after another, from `first` for as long as the queue has
   * a ready one for it; tasks that may share a commit run in batches (see commit-batch.ts).
   */
  const lane = async (first: Task): Promise<void> => {
    let session = await engine.acquire();
    let batch: CommitBatch | undefined;
    let members: Member[] = [];
    /** Ends the batch: commits it and settles its tasks; its tasks run again alone if the commit is refused, and are cancelled if the run is. */
    const close = async (): Promise<void> => {
      const ending = batch!;
      const ended = members;
      batch = undefined;
      members = [];
      if (signal?.aborted) {
        await ending.rollback();
        for (const m of ended) await cancel(m.task, session);
        return;
      }
      try {
        await ending.commit();
      } catch {
        runner.forget();
        for (const m of ended) await runAgain(m.task, session);
        return;
      }
      for (const m of ended) {
        m.effects.release();
        await settle(m.task, m.outcome, session);
      }
    };
    /**
     * Runs `task` in the batch. If it fails there, the batch rolls back and its other tasks run
     * again alone; the task goes on alone too (see TaskRunner.run). A task that joined the batch
     * and runs past its time is stopped, and runs alone.
     */
    const runInBatch = async (task: Task, into: CommitBatch): Promise<void> => {
      const first = !into.begun;
      const effects = new HeldEffects(emit);
      const worker = workers.take();
      let aborted: Member[] | undefined;
      let overran = false;
      let deadline: ReturnType<typeof setTimeout> | undefined;
      const abort = async (): Promise<WarehouseSession> => {
        // Out of the batch, the task may take as long as it takes.
        clearTimeout(deadline);
        aborted = members;
        batch = undefined;
        members = [];
        if (first) effects.passThrough();
        await into.rollback();
        runner.forget();
        return session;
      };
      if (!first) {
        deadline = setTimeout(() => {
          overran = true;
          into.session.interrupt();
        }, BATCH_MAX_MS);
      }
      try {
        const outcome = await runner.run(task, into.session, worker, undefined, { batch: { publish: into, effects, first, abort } });
        if (aborted) await settle(task, outcome, session);
        else {
          members.push({ task, outcome, effects });
          queue.park(task);
        }
      } finally {
        clearTimeout(deadline);
        workers.give(worker);
      }
      if (overran && aborted) long.add(task.node);
      for (const m of aborted ?? []) {
        if (signal?.aborted) await cancel(m.task, session);
        else await runAgain(m.task, session);
      }
    };
    const next = (): Task | undefined => (signal?.aborted ? undefined : take());
    try {
      for (let task: Task | undefined = first; task !== undefined; ) {
        const joins = batchable(task);
        const joinable = joins && !long.has(task.node) && runner.likelyQuick(task, BATCH_MAX_MS / 2);
        if (batch && !(joinable && batch.open && batch.reads(task, (id) => settledAs.get(id)) && batch.take(task, (table) => runner.seen(table)))) await close();
        if (!batch && batching && joins && !signal?.aborted) batch = CommitBatch.start(engine, session, () => settledAs.size);
        if (batch) await runInBatch(task, batch);
        else {
          await runAlone(task, session);
          // Its hooks (or the statements its template ran) may have changed the connection's
          // settings or default database: the next task runs on another, as pipe sets them up.
          if (session.changedState === true) {
            engine.release(session);
            session = await engine.acquire();
          }
        }
        task = next();
        if (task === undefined && batch) {
          await close();
          task = next();
        }
        dispatch();
      }
      if (batch) await close();
    } finally {
      if (batch) await batch.rollback();
      engine.release(session);
    }
  };

  /** A task of a batch that the run's cancellation rolled back. */
  const cancel = async (task: Task, session: WarehouseSession): Promise<void> => {
    await engine.recordTask(session, { runId, taskId: task.id, attempt: 1, status: 'cancelled', endedAt: Date.now(), detail: 'interrupted' });
    emit({ type: 'task-cancelled', runId, task: taskRef(task), started: true });
    await settle(task, 'cancelled', session);
  };

  /** The next task the queue hands out, its progress told. */
  const take = (): Task | undefined => {
    const taken = queue.take();
    if (taken?.progress) progress(taken.progress);
    return taken?.task;
  };

  let active = 0;
  let resolveAll!: () => void;
  let rejectAll!: (e: unknown) => void;
  /** Starts a lane for each task the queue hands out while threads are free. */
  const dispatch = () => {
    while (!signal?.aborted) {
      const task = take();
      if (!task) break;
      active++;
      lane(task).then(() => {
        active--;
        dispatch();
      }, rejectAll);
    }
    if (active === 0) resolveAll();
  };

  try {
    await new Promise<void>((res, rej) => {
      resolveAll = res;
      rejectAll = rej;
      dispatch();
    });
  } finally {
    currency?.close();
    runner.dispose();
    await engine.withSession((s) => runner.flush(s));
  }
  const counts = queue.counts;
  const pending = queue.pending;
  // A task skipped (after a failure, or for depends_on_past), or stopped other than by this run's
  // own stop (a distributed run taken for gone), leaves the run unfinished: pipe retry completes it.
  const interruptedBy = input.place?.takenBy();
  if (interruptedBy !== undefined) return { status: 'interrupted', ...counts, pending, upToDate: runner.upToDate, superseded: runner.superseded, interruptedBy };
  // A stop that came once every task had ended stopped nothing: the run succeeded, as it would be recorded after a kill -9 then.
  const unfinished = counts.failed > 0 || counts.skipped > 0 || counts.cancelled > 0 || pending > 0;
  const status = !unfinished ? 'succeeded' : signal?.aborted ? 'cancelled' : 'failed';
  return { status, ...counts, pending, upToDate: runner.upToDate, superseded: runner.superseded };
}

/** Each node's dates in this run: from the start of its first interval to the end of its last. */
function spansOf(tasks: readonly Task[]): ReadonlyMap<string, { readonly start: number; readonly end: number }> {
  const out = new Map<string, { start: number; end: number }>();
  for (const t of tasks) {
    if (t.interval === undefined) continue;
    const known = out.get(t.node);
    out.set(t.node, known ? { start: Math.min(known.start, t.interval.start), end: Math.max(known.end, t.interval.end) } : { start: t.interval.start, end: t.interval.end });
  }
  return out;
}
