import { isHourLabel } from '../dates/dates.js';
import type { EventSink, RunCounts } from '../events/events.js';
import type { QueryReadsCache } from '../state/query-reads-cache.js';
import type { RetryPolicy } from '../plan/retry-policy.js';
import type { Task } from '../plan/task.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';
import type { Engine } from './engine.js';
import { TaskQueue, type GroupProgress } from './task-queue.js';
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
  /** What earlier runs judged of their queries' reads (see state/query-reads-cache.ts). */
  readonly readsCache?: QueryReadsCache;
  /**
   * Where the tasks that run execute: here, on the engine's connections (the default), or
   * elsewhere (the workers of a distributed backfill). Tasks are judged here either way, and
   * those that do not run (blocked, current, nothing to do) settled here.
   */
  readonly place?: TaskPlace;
}

/** What a run's tasks came to (see RunCounts). */
export type ExecuteResult = RunCounts;

export async function execute(input: ExecuteInput): Promise<ExecuteResult> {
  const { engine, tasks, runId, emit, signal } = input;
  const queue = new TaskQueue(tasks, input);
  const startedAt = Date.now();
  const unit = tasks.some((t) => t.group !== undefined && isHourLabel(t.group)) ? 'hour' : 'date';
  const currency = await engine.withSession((session) => RunCurrency.open(session, runId, tasks, input.readsCache));
  const runner = new TaskRunner({ engine, runId, emit, signal, retryOverride: input.retryOverride, force: input.force, currency });
  const workers = new WorkerSlots();

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

  /** Runs a task the queue handed out and gives its outcome back; the connection is kept until what follows from it is recorded. */
  const runOne = async (task: Task): Promise<void> => {
    const session = await engine.acquire();
    const worker = workers.take();
    try {
      const outcome = await runner.run(task, session, worker, input.place);
      const settled = queue.settle(task, outcome);
      if (settled.stopped) {
        const { failed, maxFailures } = settled.stopped;
        emit({ type: 'notice', message: `${failed} task${failed === 1 ? '' : 's'} failed (--max-failures ${maxFailures}): starting no new tasks; running ones finish` });
      }
      for (const { task: skipped, cause } of settled.skipped) {
        const what = cause.kind === 'unit-test' ? `unit test ${cause.id.replace(/@[^@]*$/, '')}` : `upstream ${cause.node}${cause.ds ? ` (${cause.ds})` : ''}`;
        const detail = `${what} ${outcome === 'skipped' ? 'skipped' : 'failed'}`;
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
    runner.dispose();
    await engine.withSession((s) => runner.flush(s));
  }
  const counts = queue.counts;
  const pending = queue.pending;
  // A task skipped (after a failure, or for depends_on_past) leaves the run unfinished: pipe retry completes it.
  const status = signal?.aborted ? 'cancelled' : counts.failed > 0 || counts.skipped > 0 || pending > 0 ? 'failed' : 'succeeded';
  return { status, ...counts, pending, upToDate: runner.upToDate };
}
