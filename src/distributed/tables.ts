import type pg from 'pg';

/**
 * pipe's own tables in the catalog's Postgres, in a schema of their own (pipe_workers):
 *
 * - `workers`: one row per worker process, its heartbeat (heartbeats.ts): id, host, pid, when
 *   it started and was last seen, the tasks it runs now and the queue's lock it holds them by,
 *   and the Postgres backend it beats on.
 * - `messages`: what workers tell the coordinator of a run: each task's events as they
 *   happen, then its outcome (or its refusal). NOTIFY `pipe_workers` with the run id wakes the
 *   coordinator; it reads the rows after the last it read.
 * - `cancels`: the runs cancelled, which their workers' tasks stop for (NOTIFY `pipe_workers_cancel`).
 * - `coordinators`: one row per distributed run in progress, its coordinator's heartbeat (coordinators.ts).
 */

export const SCHEMA = 'pipe_workers';
export const MESSAGES_CHANNEL = 'pipe_workers';
export const CANCEL_CHANNEL = 'pipe_workers_cancel';

const DDL = [
  `CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`,
  `CREATE TABLE IF NOT EXISTS ${SCHEMA}.workers (
     worker_id text PRIMARY KEY, host text NOT NULL, pid integer NOT NULL, started_at timestamptz NOT NULL,
     last_seen timestamptz NOT NULL, lease_ms integer NOT NULL, current_tasks text[] NOT NULL DEFAULT '{}',
     locks text[] NOT NULL DEFAULT '{}', fingerprint text, stopped_at timestamptz)`,
  // The Postgres backend of the heartbeat's connection: alive, it tells a slow worker from a dead one.
  `ALTER TABLE ${SCHEMA}.workers ADD COLUMN IF NOT EXISTS backend_pid integer`,
  `ALTER TABLE ${SCHEMA}.workers ADD COLUMN IF NOT EXISTS backend_start timestamptz`,
  `CREATE TABLE IF NOT EXISTS ${SCHEMA}.messages (
     id bigserial PRIMARY KEY, run_id text NOT NULL, task_id text NOT NULL, worker_id text NOT NULL,
     kind text NOT NULL, body jsonb NOT NULL, at timestamptz NOT NULL DEFAULT now())`,
  `CREATE INDEX IF NOT EXISTS messages_run ON ${SCHEMA}.messages (run_id, id)`,
  // Which run of its queued job a message comes from (see JobRun).
  `ALTER TABLE ${SCHEMA}.messages ADD COLUMN IF NOT EXISTS job_id text`,
  `ALTER TABLE ${SCHEMA}.messages ADD COLUMN IF NOT EXISTS job_attempt integer`,
  // Each message's own id, given by its worker: one sent again (its answer lost) is stored once.
  `ALTER TABLE ${SCHEMA}.messages ADD COLUMN IF NOT EXISTS sent_id text`,
  `CREATE UNIQUE INDEX IF NOT EXISTS messages_sent ON ${SCHEMA}.messages (sent_id)`,
  `CREATE TABLE IF NOT EXISTS ${SCHEMA}.cancels (run_id text PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())`,
  // One row per distributed run in progress: its coordinator's heartbeat (coordinators.ts).
  `CREATE TABLE IF NOT EXISTS ${SCHEMA}.coordinators (
     run_id text PRIMARY KEY, host text NOT NULL, pid integer NOT NULL, last_seen timestamptz NOT NULL, lease_ms integer NOT NULL,
     backend_pid integer, backend_start timestamptz, gone_at timestamptz)`,
  // Who took the run for gone (a worker, another run's coordinator), for its coordinator to say.
  `ALTER TABLE ${SCHEMA}.coordinators ADD COLUMN IF NOT EXISTS taken_by text`,
];

/** Creates the tables if needed; several processes may at once, so one at a time under a lock. */
export async function ensureTables(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('${SCHEMA}'))`);
    for (const sql of DDL) await client.query(sql);
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

/** What a worker tells of a task: an event as it happens, how the task ended, or why the worker will not run it. */
export type Message =
  | { readonly kind: 'event'; readonly body: unknown }
  /** `unrecorded`: why the worker could not record the task's outcome in the run state (the coordinator records it). */
  | { readonly kind: 'outcome'; readonly body: { readonly outcome: 'succeeded' | 'failed' | 'skipped' | 'cancelled'; readonly unrecorded?: string } }
  /** `dropped`: left unrun because its run has ended (its coordinator gone): no failure of the task's. */
  | { readonly kind: 'refused'; readonly body: { readonly message: string; readonly dropped?: true } }
  /** The worker stopped before the task ended: the task is back in the queue for another. */
  | { readonly kind: 'returned'; readonly body: { readonly message: string } };

/**
 * One run of a queued job: the queue's id of the job and how many times the queue has handed it
 * out. A job given back to the queue (its worker taken for dead) is the same job handed out once
 * more: what its earlier run tells late (through an outage) is told from a lower attempt.
 */
export interface JobRun {
  readonly jobId: string;
  readonly attempt: number;
}

export interface StoredMessage {
  readonly id: number;
  readonly taskId: string;
  readonly workerId: string;
  readonly message: Message;
  /** Absent from a message of an earlier pipe. */
  readonly from?: JobRun;
}

/** Whether `from` is an earlier run of the same job than `latest`: what it tells is not the task's outcome. */
export function earlierRun(from: JobRun | undefined, latest: JobRun | undefined): boolean {
  return from !== undefined && latest !== undefined && from.jobId === latest.jobId && from.attempt < latest.attempt;
}

/** Whether `from` is the run `run` of a job or an earlier run of it. */
export function runUpTo(from: JobRun | undefined, run: JobRun | undefined): boolean {
  return from !== undefined && run !== undefined && from.jobId === run.jobId && from.attempt <= run.attempt;
}

/** BigInt values (DuckDB's counts) as numbers, for JSON. */
const replacer = (_: string, v: unknown) => (typeof v === 'bigint' ? Number(v) : v);

/**
 * Stores what a worker tells and wakes the coordinator. `sentId` is the message's own: sent
 * again with it (Postgres took the first send, and its answer was lost in an outage), it is
 * stored and heard once.
 *
 * The coordinator reads the rows after the last it read (readMessages), so a run's messages
 * must commit in the order of their ids: two workers' inserts took their ids, then committed
 * the other way round, and a read between the commits went past the first, never to read it
 * (a task's start, its failure, or its outcome, which the run then waited for). The run's
 * messages are written one at a time, under a lock held until each commits.
 */
export async function postMessage(pool: pg.Pool, runId: string, taskId: string, workerId: string, from: JobRun, m: Message, sentId: string): Promise<void> {
  const client = await pool.connect();
  let broken: unknown;
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('${SCHEMA}.messages:' || $1))`, [runId]);
    await client.query(
      `WITH m AS (INSERT INTO ${SCHEMA}.messages (run_id, task_id, worker_id, kind, body, job_id, job_attempt, sent_id) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8)
         ON CONFLICT (sent_id) DO NOTHING RETURNING run_id)
       SELECT pg_notify('${MESSAGES_CHANNEL}', run_id) FROM m`,
      [runId, taskId, workerId, m.kind, JSON.stringify(m.body, replacer), from.jobId, from.attempt, sentId],
    );
    await client.query('COMMIT');
  } catch (e) {
    broken = e;
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    // A connection that failed mid-transaction is not given back to the pool.
    client.release(broken instanceof Error ? broken : undefined);
  }
}

export async function readMessages(pool: pg.Pool, runId: string, after: number): Promise<StoredMessage[]> {
  const { rows } = await pool.query<{ id: string; task_id: string; worker_id: string; kind: Message['kind']; body: unknown; job_id: string | null; job_attempt: number | null }>(
    `SELECT id::text AS id, task_id, worker_id, kind, body, job_id, job_attempt FROM ${SCHEMA}.messages WHERE run_id = $1 AND id > $2 ORDER BY id`,
    [runId, after],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    taskId: r.task_id,
    workerId: r.worker_id,
    message: { kind: r.kind, body: r.body } as Message,
    ...(r.job_id === null || r.job_attempt === null ? {} : { from: { jobId: r.job_id, attempt: r.job_attempt } }),
  }));
}

/** Marks a run cancelled and wakes its workers. */
export async function cancelRun(pool: pg.Pool, runId: string): Promise<void> {
  await pool.query(
    `WITH c AS (INSERT INTO ${SCHEMA}.cancels (run_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING run_id) SELECT pg_notify('${CANCEL_CHANNEL}', $1)`,
    [runId],
  );
}

/** Which of `runIds` are cancelled. */
export async function cancelledRuns(pool: pg.Pool, runIds: readonly string[]): Promise<Set<string>> {
  if (runIds.length === 0) return new Set();
  const { rows } = await pool.query<{ run_id: string }>(`SELECT run_id FROM ${SCHEMA}.cancels WHERE run_id = ANY($1::text[])`, [runIds]);
  return new Set(rows.map((r) => r.run_id));
}

/** Leaves the messages of a finished run behind: nobody reads them again. */
export async function forgetRun(pool: pg.Pool, runId: string): Promise<void> {
  await pool.query(`DELETE FROM ${SCHEMA}.messages WHERE run_id = $1`, [runId]);
}

/**
 * Runs `work` while no other pipe process of this Postgres does the same: attaching a lake the
 * first time creates its catalog tables, which two processes doing it at once would both try.
 */
export async function oneAtATime<T>(pool: pg.Pool, work: () => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(`SELECT pg_advisory_lock(hashtext('${SCHEMA}.attach'))`);
    try {
      return await work();
    } finally {
      await client.query(`SELECT pg_advisory_unlock(hashtext('${SCHEMA}.attach'))`).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}
