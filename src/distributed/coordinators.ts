import type pg from 'pg';
import { SILENT_LEASES } from './heartbeats.js';
import { cancelRun, SCHEMA } from './tables.js';

/**
 * Coordinators' liveness, as heartbeats.ts keeps workers': a distributed run's coordinator
 * writes its row (`pipe_workers.coordinators`, keyed by the run) before it queues a task, and
 * every lease/3 after, on a connection of its own; its row goes when the run has ended. A
 * coordinator not seen for its lease whose connection is gone (its process died, its machine
 * closed it), or not seen for SILENT_LEASES leases whatever that connection says, is gone:
 * whoever notices first (a worker taking or running a task of the run, or another coordinator)
 * takes its run (takeGoneRuns), records it interrupted in the run state, and its tasks are
 * dropped, so that the dead run's plan never writes over what later runs published. A
 * coordinator that finds its run taken (it was unreachable that long) stops it.
 */

/**
 * Writes the coordinator's row of `runId`; when the run was taken for gone meanwhile (the row
 * says so), which the coordinator must not run on, who took it instead.
 */
export async function coordinatorBeat(db: pg.ClientBase, runId: string, who: { host: string; pid: number; leaseMs: number }): Promise<{ readonly takenBy: string } | undefined> {
  const { rowCount } = await db.query(
    `INSERT INTO ${SCHEMA}.coordinators (run_id, host, pid, last_seen, lease_ms, backend_pid, backend_start)
     SELECT $1, $2, $3, now(), $4, pg_backend_pid(), (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid())
     ON CONFLICT (run_id) DO UPDATE SET last_seen = now(), backend_pid = EXCLUDED.backend_pid, backend_start = EXCLUDED.backend_start
       WHERE ${SCHEMA}.coordinators.gone_at IS NULL`,
    [runId, who.host, who.pid, who.leaseMs],
  );
  if (rowCount === 1) return undefined;
  const { rows } = await db.query<{ taken_by: string | null }>(`SELECT taken_by FROM ${SCHEMA}.coordinators WHERE run_id = $1`, [runId]);
  return { takenBy: rows[0]?.taken_by ?? 'another pipe process' };
}

/** The run has ended as its coordinator recorded it: its row goes. */
export async function coordinatorDone(db: pg.Pool | pg.ClientBase, runId: string): Promise<void> {
  await db.query(`DELETE FROM ${SCHEMA}.coordinators WHERE run_id = $1`, [runId]);
}

export interface GoneRun {
  readonly runId: string;
  /** host:pid of its coordinator. */
  readonly coordinator: string;
  readonly silentMs: number;
}

/**
 * Runs whose coordinator is gone, taken by `by` (marked gone in the same statement, so that one
 * process records each): all of them, or those of `runIds`. The caller records them
 * interrupted, and gives a run back (giveBackRun) when it cannot.
 */
export async function takeGoneRuns(pool: pg.Pool, by: string, runIds?: readonly string[], except?: string): Promise<GoneRun[]> {
  const { rows } = await pool.query<{ run_id: string; host: string; pid: number; silent_ms: number }>(
    `UPDATE ${SCHEMA}.coordinators c SET gone_at = now(), taken_by = $3
     FROM (SELECT run_id, extract(epoch FROM now() - last_seen) * 1000 AS silent_ms FROM ${SCHEMA}.coordinators x
           WHERE gone_at IS NULL AND ($1::text[] IS NULL OR run_id = ANY($1::text[])) AND run_id IS DISTINCT FROM $2
             AND last_seen < now() - lease_ms * interval '1 millisecond'
             AND (last_seen < now() - ${SILENT_LEASES} * lease_ms * interval '1 millisecond'
                  OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = x.backend_pid AND (a.backend_start IS NULL OR a.backend_start = x.backend_start)))
           FOR UPDATE SKIP LOCKED) s
     WHERE c.run_id = s.run_id
     RETURNING c.run_id, c.host, c.pid, s.silent_ms::float8 AS silent_ms`,
    [runIds ? [...runIds] : null, except ?? null, by],
  );
  return rows.map((r) => ({ runId: r.run_id, coordinator: `${r.host}:${r.pid}`, silentMs: Number(r.silent_ms) }));
}

/** A run taken by takeGoneRuns whose end could not be recorded: the next to notice tries again. */
export async function giveBackRun(pool: pg.Pool, runId: string): Promise<void> {
  await pool.query(`UPDATE ${SCHEMA}.coordinators SET gone_at = NULL, taken_by = NULL WHERE run_id = $1`, [runId]);
}

/** Which of `runIds` were taken for gone, with their coordinator (host:pid). */
export async function goneRuns(pool: pg.Pool, runIds: readonly string[]): Promise<Map<string, string>> {
  if (runIds.length === 0) return new Map();
  const { rows } = await pool.query<{ run_id: string; host: string; pid: number }>(
    `SELECT run_id, host, pid FROM ${SCHEMA}.coordinators WHERE gone_at IS NOT NULL AND run_id = ANY($1::text[])`,
    [[...runIds]],
  );
  return new Map(rows.map((r) => [r.run_id, `${r.host}:${r.pid}`]));
}

/**
 * Takes the runs whose coordinator is gone (see takeGoneRuns; not `except`, the caller's own),
 * as `by` (who the caller is, for the coordinator, should it come back, to say), and ends them: `endRuns` records them in the run state, and the run is cancelled for the
 * workers, which stop its running tasks and drop its queued ones. A run whose end could not
 * be recorded is given back for the next to notice. The runs ended.
 */
export async function endGoneRuns(pool: pg.Pool, by: string, endRuns: (runIds: readonly string[]) => Promise<void>, runIds?: readonly string[], except?: string): Promise<GoneRun[]> {
  const ended: GoneRun[] = [];
  for (const r of await takeGoneRuns(pool, by, runIds, except)) {
    try {
      await endRuns([r.runId]);
      await cancelRun(pool, r.runId);
      ended.push(r);
    } catch {
      await giveBackRun(pool, r.runId).catch(() => undefined);
    }
  }
  return ended;
}
