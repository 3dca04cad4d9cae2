import type pg from 'pg';
import { pgDriver } from './drivers.js';
import type { PgConfig } from './postgres.js';
import { SCHEMA } from './tables.js';

/**
 * Workers' liveness, which the queue does not keep: each worker writes its row every lease/3
 * (heartbeat), and a coordinator takes a worker for dead (staleWorkers) when it has not been
 * seen for its lease and the connection it beats on is gone, or when it has not been seen for
 * SILENT_LEASES leases whatever its connection says: its jobs go back to the queue for another
 * worker. A task a dead worker had published already runs again, which a partition replace or
 * a table swap makes harmless: nothing is lost or written twice.
 *
 * The beat has a connection and a timer of its own (Heartbeat). Not the worker's pool: DuckDB's
 * calls run on libuv's thread pool (4 threads unless UV_THREADPOOL_SIZE says otherwise), and a
 * worker running that many long statements leaves none for what else needs one, such as the
 * host name lookup of a new connection. A beat that had to open a connection (the pool's idle
 * ones close after 10 s, the default lease's beat period) waited for a statement to end, and a
 * busy worker was taken for dead. The heartbeat's connection is opened once, and a beat on it
 * is only a socket write and read, which the event loop does itself.
 */

/** Silent this many leases, a worker is dead even though its connection seems open (a machine gone without closing it). */
export const SILENT_LEASES = 3;

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

/**
 * Writes the worker's row, naming the Postgres backend of the connection it is written on
 * (its pid and start, which together are never reused): while that backend lives, the worker
 * is slow rather than dead.
 */
export async function beat(db: pg.Pool | pg.ClientBase, w: WorkerRow, now: Beat): Promise<void> {
  await db.query(
    `INSERT INTO ${SCHEMA}.workers (worker_id, host, pid, started_at, last_seen, lease_ms, current_tasks, locks, fingerprint, backend_pid, backend_start)
     SELECT $1, $2, $3, to_timestamp($4 / 1000.0), now(), $5, $6::text[], $7::text[], $8, pg_backend_pid(),
       (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid())
     ON CONFLICT (worker_id) DO UPDATE SET last_seen = now(), current_tasks = EXCLUDED.current_tasks, locks = EXCLUDED.locks, stopped_at = NULL,
       host = EXCLUDED.host, pid = EXCLUDED.pid, started_at = EXCLUDED.started_at, lease_ms = EXCLUDED.lease_ms, fingerprint = EXCLUDED.fingerprint,
       backend_pid = EXCLUDED.backend_pid, backend_start = EXCLUDED.backend_start`,
    [w.workerId, w.host, w.pid, w.startedAt, w.leaseMs, [...now.currentTasks], [...now.locks], w.fingerprint],
  );
}

/**
 * A heartbeat on a connection of its own (a worker's, or a coordinator's: coordinators.ts):
 * `write` every lease/3 (and when asked, as a task starts or ends). A connection that breaks
 * is opened again at the next beat. Beats never overlap: each waits for the one before.
 */
export class Heartbeat {
  private client: pg.Client | undefined;
  private beating: Promise<void> = Promise.resolve();
  private readonly timer: ReturnType<typeof setInterval>;

  private constructor(
    private readonly config: PgConfig,
    leaseMs: number,
    private readonly write: (db: pg.Client) => Promise<void>,
    private readonly signingOff?: (db: pg.Client) => Promise<void>,
  ) {
    this.timer = setInterval(() => void this.beat().catch(() => undefined), beatPeriod(leaseMs));
  }

  /** The first beat is written before this resolves; its error (Postgres unreachable) is thrown. */
  static async start(config: PgConfig, leaseMs: number, write: (db: pg.Client) => Promise<void>, signingOff?: (db: pg.Client) => Promise<void>): Promise<Heartbeat> {
    const h = new Heartbeat(config, leaseMs, write, signingOff);
    try {
      await h.beat();
    } catch (e) {
      await h.stop(false);
      throw e;
    }
    return h;
  }

  /** A worker's heartbeat: its row, with what `now` says it runs. */
  static ofWorker(config: PgConfig, row: WorkerRow, now: () => Beat): Promise<Heartbeat> {
    return Heartbeat.start(config, row.leaseMs, (db) => beat(db, row, now()), (db) => signOff(db, row.workerId));
  }

  /** A beat now, after the one in progress. */
  beat(): Promise<void> {
    const next = this.beating.then(async () => this.write(await this.connection()));
    this.beating = next.catch(() => undefined);
    return next;
  }

  /** No more beats; with `signingOff`, the end is recorded as of the process's own accord. */
  async stop(signingOff = true): Promise<void> {
    clearInterval(this.timer);
    await this.beating;
    if (signingOff && this.client && this.signingOff) await this.signingOff(this.client).catch(() => undefined);
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const { Client } = await pgDriver();
    const client = new Client({ connectionTimeoutMillis: 10_000, ...this.config, keepAlive: true });
    const drop = () => {
      if (this.client === client) this.client = undefined;
    };
    client.on('error', drop);
    client.on('end', drop);
    try {
      await client.connect();
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
    this.client = client;
    return client;
  }
}

/** How often a worker beats: a third of its lease, so that a late beat or two is no death. */
export const beatPeriod = (leaseMs: number) => Math.max(100, Math.floor(leaseMs / 3));

/** A worker stopping of its own accord: not counted as alive, nor as dead. */
export async function signOff(db: pg.Pool | pg.ClientBase, workerId: string): Promise<void> {
  await db.query(`UPDATE ${SCHEMA}.workers SET stopped_at = now(), current_tasks = '{}', locks = '{}' WHERE worker_id = $1`, [workerId]);
}

export interface StaleWorker {
  readonly workerId: string;
  readonly locks: readonly string[];
  readonly currentTasks: readonly string[];
  readonly silentMs: number;
}

/**
 * Workers taken for dead, marked stopped in the same statement so that one coordinator gives
 * their jobs back once: not seen for their lease while the backend of their heartbeat's
 * connection is gone (the process died, or its machine closed the connection), or not seen
 * for SILENT_LEASES leases whatever that backend says. A worker whose connection is open and
 * whose beats are late is slow: its tasks stay with it for those extra leases. (A coordinator
 * connecting as another Postgres role sees the backend's pid but not its start, and goes by
 * the pid.)
 */
export async function takeStaleWorkers(pool: pg.Pool): Promise<StaleWorker[]> {
  const { rows } = await pool.query<{ worker_id: string; locks: string[]; current_tasks: string[]; silent_ms: number }>(
    `UPDATE ${SCHEMA}.workers w SET stopped_at = now()
     FROM (SELECT worker_id, extract(epoch FROM now() - last_seen) * 1000 AS silent_ms FROM ${SCHEMA}.workers x
           WHERE stopped_at IS NULL AND last_seen < now() - lease_ms * interval '1 millisecond'
             AND (last_seen < now() - ${SILENT_LEASES} * lease_ms * interval '1 millisecond'
                  OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = x.backend_pid AND (a.backend_start IS NULL OR a.backend_start = x.backend_start)))
           FOR UPDATE SKIP LOCKED) s
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
