import type { Logger, WorkerUtils } from 'graphile-worker';
import type pg from 'pg';
import type { RetryPolicy } from '../plan/retry-policy.js';
import { jobQueue } from './drivers.js';
import { SCHEMA, type JobRun } from './tables.js';

/**
 * The job queue of a distributed backfill: graphile-worker's tables in the catalog's Postgres.
 * The coordinator adds one job per task that runs (its key the run id and task id, so a task
 * is queued once, and one attempt: pipe's executor retries, never the queue); a worker
 * takes it, runs it and tells the outcome back through pipe's own tables (tables.ts).
 */

/** The name of pipe's task among graphile-worker's. */
export const PIPE_TASK = 'pipe_task';

/** What a job carries: the task as the coordinator planned it, and what the worker checks first. */
export interface JobPayload {
  readonly runId: string;
  readonly taskId: string;
  /** The coordinator's project fingerprint: a worker whose own differs refuses the task. */
  readonly fingerprint: string;
  /** The coordinator's pipe version: a worker of another refuses the task (absent: queued by a pipe before this field). */
  readonly pipeVersion?: string;
  /** The task, its steps' SQL as planned (plain data: see placeable in queued-place.ts). */
  readonly task: unknown;
  /** The run's thread (lane) the task takes in the run's history. */
  readonly slot: number;
  readonly retryOverride?: RetryPolicy;
  /** Who queued it, for messages: host and pid of the coordinator. */
  readonly coordinator: string;
}

export const jobKey = (runId: string, taskId: string) => `${runId}:${taskId}`;

let quiet: Logger | undefined;

/** graphile-worker tells nothing on the terminal: pipe's loggers say what matters. */
export async function quietLogger(): Promise<Logger> {
  const { Logger } = await jobQueue();
  quiet ??= new Logger(() => () => undefined);
  return quiet;
}

/** The queue's utilities on `pool`, its tables created or brought up to date. */
export async function openQueue(pool: pg.Pool): Promise<WorkerUtils> {
  const { makeWorkerUtils } = await jobQueue();
  const utils = await makeWorkerUtils({ pgPool: pool, logger: await quietLogger() });
  try {
    await utils.migrate();
  } catch (e) {
    await utils.release();
    throw e;
  }
  return utils;
}

/** Queues a task; its id in the queue. */
export async function enqueue(utils: WorkerUtils, payload: JobPayload): Promise<string> {
  const job = await utils.addJob(PIPE_TASK, payload, { jobKey: jobKey(payload.runId, payload.taskId), maxAttempts: 1, jobKeyMode: 'replace' });
  return job.id;
}

/** A job given back to the queue: its key (its id when it has none), and the run of it taken back. */
export interface GivenBack {
  readonly key: string;
  readonly run: JobRun;
}

/**
 * Makes the jobs of a worker that died available again: unlocked, and their one attempt given
 * back (a job of one attempt whose attempt is spent would never be taken). Its jobs are found
 * by the lock ids its heartbeat recorded and by the keys of the tasks it said it ran. The jobs
 * given back, each with the run of it that was taken back (what that run tells later, or any
 * earlier one, is no longer the task's).
 */
export async function giveBack(utils: WorkerUtils, pool: pg.Pool, locks: readonly string[], keys: readonly string[]): Promise<GivenBack[]> {
  const { rows } = await pool.query<{ id: string; key: string | null; locked_by: string | null; attempts: number }>(
    'SELECT id::text AS id, key, locked_by, attempts FROM graphile_worker.jobs WHERE locked_by = ANY($1::text[]) OR (key = ANY($2::text[]) AND locked_by IS NOT NULL)',
    [[...locks], [...keys]],
  );
  const held = [...new Set(rows.flatMap((r) => (r.locked_by ? [r.locked_by] : [])))];
  if (held.length > 0) await utils.forceUnlockWorkers(held);
  // One more attempt than it has spent (rescheduleJobs cannot set attempts back to 0).
  for (const r of rows) await utils.rescheduleJobs([r.id], { maxAttempts: r.attempts + 1 });
  return rows.map((r) => ({ key: r.key ?? r.id, run: { jobId: r.id, attempt: r.attempts } }));
}

/**
 * The queue's lock ids that hold jobs of `runId` for longer than `leaseMs` while no worker
 * that has not stopped says it holds them (by the lock, or by the job's key): a worker that
 * died between taking a job and its next heartbeat, which therefore never named it.
 */
export async function orphanedLocks(pool: pg.Pool, runId: string, leaseMs: number): Promise<string[]> {
  const { rows } = await pool.query<{ locked_by: string }>(
    `SELECT DISTINCT j.locked_by FROM graphile_worker.jobs j
     WHERE starts_with(j.key, $1) AND j.locked_by IS NOT NULL AND j.locked_at < now() - $2 * interval '1 millisecond'
       AND NOT EXISTS (SELECT 1 FROM ${SCHEMA}.workers w WHERE w.stopped_at IS NULL AND (j.locked_by = ANY(w.locks) OR j.key = ANY(w.current_tasks)))`,
    [`${runId}:`, leaseMs],
  );
  return rows.map((r) => r.locked_by);
}

/** Removes the jobs of a run that no worker has taken; the keys removed. */
export async function removeQueued(utils: WorkerUtils, pool: pg.Pool, runId: string): Promise<Set<string>> {
  const { rows } = await pool.query<{ id: string }>(`SELECT id::text AS id FROM graphile_worker.jobs WHERE starts_with(key, $1) AND locked_at IS NULL`, [`${runId}:`]);
  if (rows.length === 0) return new Set();
  // Completing a job that is not locked deletes it; one a worker took meanwhile is left to it.
  const removed = await utils.completeJobs(rows.map((r) => r.id));
  return new Set(removed.flatMap((j) => (j.key ? [j.key] : [])));
}
