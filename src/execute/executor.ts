import pLimit from 'p-limit';
import type { EventSink, TaskError, TaskRef } from '../events/events.js';
import type { Task } from '../plan/task.js';
import { taskResultSql, type TaskResultRecord } from '../warehouse/run-state.js';
import { WarehouseError, type Warehouse, type WarehouseSession } from '../warehouse/warehouse.js';
import { KeyedMutex } from './keyed-mutex.js';
import { SessionPool } from './session-pool.js';

/**
 * Runs planned tasks in dependency order, at most `threads` at a time, each on its own
 * connection. A failure skips everything downstream of it while independent branches go on;
 * an abort (Ctrl-C) stops starting tasks and interrupts the running ones, whose
 * transactions roll back.
 */

export interface ExecuteInput {
  readonly warehouse: Warehouse;
  readonly runId: string;
  readonly tasks: readonly Task[];
  readonly threads: number;
  readonly emit: EventSink;
  readonly signal?: AbortSignal;
}

export interface ExecuteResult {
  readonly status: 'succeeded' | 'failed' | 'cancelled';
  readonly succeeded: number;
  readonly failed: number;
  readonly skipped: number;
  readonly cancelled: number;
}

type Outcome = 'succeeded' | 'failed' | 'cancelled' | 'not-started';

/** A task failed on its data, not on the database: e.g. rows outside its interval. */
export class TaskDataError extends Error {
  constructor(
    message: string,
    readonly sample: readonly Record<string, unknown>[],
  ) {
    super(message);
  }
}

export function toTaskError(e: unknown): TaskError {
  if (e instanceof WarehouseError) return { message: e.message, kind: e.kind, errorClass: e.errorClass };
  if (e instanceof TaskDataError) return { message: e.message, kind: 'Data', errorClass: 'permanent', sample: e.sample };
  const message = e instanceof Error ? e.message : String(e);
  return { message: `internal error: ${message}`, kind: 'Internal', errorClass: 'permanent' };
}

export function taskRef(t: Task): TaskRef {
  return { id: t.id, model: t.node, kind: t.kind, file: t.file, ds: t.ds };
}

export async function execute(input: ExecuteInput): Promise<ExecuteResult> {
  const { tasks, runId, emit, signal } = input;
  const threads = Math.max(1, Math.min(input.threads, tasks.length || 1));
  const pool = await SessionPool.create(input.warehouse, threads);
  const limit = pLimit(threads);
  const mutex = new KeyedMutex();

  const byId = new Map(tasks.map((t) => [t.id, t]));
  const waiting = new Map(tasks.map((t) => [t.id, t.upstream.filter((u) => byId.has(u)).length]));
  const downstream = new Map<string, string[]>(tasks.map((t) => [t.id, []]));
  for (const t of tasks) for (const u of t.upstream) downstream.get(u)?.push(t.id);
  const settled = new Set<string>();
  const counts = { succeeded: 0, failed: 0, skipped: 0, cancelled: 0 };

  const record = async (session: WarehouseSession, r: Omit<TaskResultRecord, 'runId' | 'attempt'>) => {
    await session.exec(taskResultSql({ runId, attempt: 1, ...r })).catch(() => undefined);
  };

  const skipDownstream = async (failed: Task, session: WarehouseSession) => {
    const stack = [...(downstream.get(failed.id) ?? [])];
    {
      while (stack.length > 0) {
        const id = stack.pop()!;
        if (settled.has(id)) continue;
        settled.add(id);
        const t = byId.get(id)!;
        const detail = `upstream ${failed.node}${failed.ds ? ` (${failed.ds})` : ''} failed`;
        counts.skipped++;
        await record(session, { taskId: id, status: 'skipped', endedAt: Date.now(), detail });
        emit({ type: 'task-skipped', runId, task: taskRef(t), reason: 'upstream-failed', detail });
        stack.push(...(downstream.get(id) ?? []));
      }
    }
  };

  const runOne = async (task: Task): Promise<Outcome> => {
    if (signal?.aborted) return 'not-started';
    const session = pool.acquire();
    const startedAt = Date.now();
    try {
      if (task.upToDate !== undefined) {
        await record(session, { taskId: task.id, status: 'succeeded', startedAt, endedAt: startedAt, detail: task.upToDate });
        emit({ type: 'task-skipped', runId, task: taskRef(task), reason: 'up-to-date', detail: task.upToDate });
        return 'succeeded';
      }
      emit({ type: 'task-started', runId, task: taskRef(task) });
      let rows: number | undefined;
      try {
        for (const step of task.steps) {
          switch (step.kind) {
            case 'statement': {
              const n = await session.exec(step.sql);
              if (step.countsRows) rows = n;
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
              const endedAt = Date.now();
              const results = await mutex.run(task.lockKey, () =>
                session.transaction([
                  ...step.statements,
                  ...(task.stateStatements ?? []),
                  taskResultSql({ runId, taskId: task.id, attempt: 1, status: 'succeeded', startedAt, endedAt, rows }),
                ]),
              );
              if (step.countsRowsAt !== undefined) rows = results[step.countsRowsAt];
              break;
            }
            case 'cleanup':
              break;
            default: {
              const never: never = step;
              throw new Error(`internal error: step ${JSON.stringify(never)}`);
            }
          }
        }
      } catch (e) {
        for (const step of task.steps) {
          if (step.kind === 'cleanup') await session.exec(step.sql).catch(() => undefined);
        }
        const ms = Date.now() - startedAt;
        if (signal?.aborted) {
          await record(session, { taskId: task.id, status: 'cancelled', startedAt, endedAt: Date.now(), detail: 'interrupted' });
          emit({ type: 'task-cancelled', runId, task: taskRef(task), started: true });
          return 'cancelled';
        }
        const error = toTaskError(e);
        await record(session, {
          taskId: task.id,
          status: 'failed',
          startedAt,
          endedAt: Date.now(),
          error: error.message,
          errorClass: error.errorClass,
        });
        emit({ type: 'task-failed', runId, task: taskRef(task), error, ms });
        settled.add(task.id);
        await skipDownstream(task, session);
        return 'failed';
      }
      emit({ type: 'task-succeeded', runId, task: taskRef(task), rows, ms: Date.now() - startedAt });
      return 'succeeded';
    } finally {
      pool.release(session);
    }
  };

  const onAbort = () => pool.interruptAll();
  signal?.addEventListener('abort', onAbort);

  await new Promise<void>((resolveAll) => {
    let inFlight = 0;
    const finishIfIdle = () => {
      if (inFlight === 0) resolveAll();
    };
    const schedule = (task: Task) => {
      inFlight++;
      void limit(() => runOne(task))
        .then((outcome) => {
          switch (outcome) {
            case 'succeeded':
              settled.add(task.id);
              counts.succeeded++;
              for (const d of downstream.get(task.id) ?? []) {
                const left = waiting.get(d)! - 1;
                waiting.set(d, left);
                if (left === 0 && !settled.has(d)) schedule(byId.get(d)!);
              }
              break;
            case 'failed':
              settled.add(task.id);
              counts.failed++;
              break;
            case 'cancelled':
              settled.add(task.id);
              counts.cancelled++;
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
          inFlight--;
          finishIfIdle();
        });
    };
    for (const t of tasks) if (waiting.get(t.id) === 0) schedule(t);
    finishIfIdle();
  });

  signal?.removeEventListener('abort', onAbort);
  pool.close();
  const status = signal?.aborted ? 'cancelled' : counts.failed > 0 ? 'failed' : 'succeeded';
  return { status, ...counts };
}
