import type pg from 'pg';
import { SCHEMA } from './tables.js';

/**
 * Workers' liveness, which the queue does not keep: each worker writes its row every lease/3
 * (heartbeat), and a coordinator takes a worker not seen for its lease as dead (staleWorkers):
 * its jobs go back to the queue for another worker. A task a dead worker had published already
 * runs again, which a partition replace or a table swap makes harmless: nothing is lost or
 * written twice.
 */

export interface WorkerRow {
  readonly workerId: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: number;
  readonly leaseMs: number;
  readonly fingerprint: string;
}

export interface Beat {
  /** Job keys of the tasks it runs now. */
  readonly currentTasks: readonly string[];
  /** The queue's lock ids its jobs are held by. */
  readonly locks: readonly string[];
}

export async function beat(pool: pg.Pool, w: WorkerRow, now: Beat): Promise<void> {
  await pool.query(
    `INSERT INTO ${SCHEMA}.workers (worker_id, host, pid, started_at, last_seen, lease_ms, current_tasks, locks, fingerprint)
     VALUES ($1, $2, $3, to_timestamp($4 / 1000.0), now(), $5, $6::text[], $7::text[], $8)
     ON CONFLICT (worker_id) DO UPDATE SET last_seen = now(), current_tasks = EXCLUDED.current_tasks, locks = EXCLUDED.locks, stopped_at = NULL,
       host = EXCLUDED.host, pid = EXCLUDED.pid, started_at = EXCLUDED.started_at, lease_ms = EXCLUDED.lease_ms, fingerprint = EXCLUDED.fingerprint`,
    [w.workerId, w.host, w.pid, w.startedAt, w.leaseMs, [...now.currentTasks], [...now.locks], w.fingerprint],
  );
}

/** A worker stopping of its own accord: not counted as alive, nor as dead. */
export async function signOff(pool: pg.Pool, workerId: string): Promise<void> {
  await pool.query(`UPDATE ${SCHEMA}.workers SET stopped_at = now(), current_tasks = '{}', locks = '{}' WHERE worker_id = $1`, [workerId]);
}

export interface StaleWorker {
  readonly workerId: string;
  readonly locks: readonly string[];
  readonly currentTasks: readonly string[];
  readonly silentMs: number;
}

/**
 * Workers not seen for their lease, marked stopped in the same statement so that one
 * coordinator gives their jobs back once.
 */
export async function takeStaleWorkers(pool: pg.Pool): Promise<StaleWorker[]> {
  const { rows } = await pool.query<{ worker_id: string; locks: string[]; current_tasks: string[]; silent_ms: number }>(
    `UPDATE ${SCHEMA}.workers w SET stopped_at = now()
     FROM (SELECT worker_id, extract(epoch FROM now() - last_seen) * 1000 AS silent_ms FROM ${SCHEMA}.workers
           WHERE stopped_at IS NULL AND last_seen < now() - lease_ms * interval '1 millisecond' FOR UPDATE SKIP LOCKED) s
     WHERE w.worker_id = s.worker_id
     RETURNING w.worker_id, w.locks, w.current_tasks, s.silent_ms::float8 AS silent_ms`,
  );
  return rows.map((r) => ({ workerId: r.worker_id, locks: r.locks, currentTasks: r.current_tasks, silentMs: Number(r.silent_ms) }));
}

/** How many workers are alive now (seen within their lease). */
export async function liveWorkers(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${SCHEMA}.workers WHERE stopped_at IS NULL AND last_seen >= now() - lease_ms * interval '1 millisecond'`,
  );
  return rows[0].n;
}
