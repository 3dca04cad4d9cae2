import type { WorkerUtils } from 'graphile-worker';
import type pg from 'pg';
import { DiagnosticError, error } from '../diagnostics/diagnostics.js';
import { isPostgresError, openPool, pgConfigOf, unreachable, type PgConfig } from '../distributed/postgres.js';
import { openQueue } from '../distributed/queue.js';
import { QueuedPlace, unplaceable } from '../distributed/queued-place.js';
import { ensureTables, oneAtATime } from '../distributed/tables.js';
import { launch, type LaunchOptions, type Prepared, type RunOutcome } from './lifecycle.js';
import type { Project } from './open-project.js';
import { projectFingerprint } from './project-fingerprint.js';

/**
 * `--distributed`: the run's tasks execute on `pipe worker` processes (on any machine) rather
 * than here. This process stays the coordinator: it plans, decides what may start and records
 * the run; the catalog's Postgres queues the tasks (see distributed/).
 */

export interface DistributedOptions {
  /** How long a worker may go unseen before its tasks go to another. */
  readonly leaseMs: number;
}

export const DEFAULT_LEASE = '30s';

/** A lease shorter than this would take a busy worker for a dead one. */
export const MIN_LEASE_MS = 500;

/** The coordinator's connection to the queue, opened before anything is written. */
export class Distributed {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly utils: WorkerUtils,
    private readonly config: PgConfig,
    private readonly fingerprint: string,
    private readonly options: DistributedOptions,
  ) {}

  /** Refuses a warehouse other than a DuckLake on Postgres (exit 2), and a Postgres it cannot reach. */
  static async open(project: Project, options: DistributedOptions, what: string): Promise<Distributed> {
    const config = pgConfigOf(project.warehouseSetup.lake, what);
    const pool = await openPool(config, 6);
    try {
      await ensureTables(pool);
      const utils = await openQueue(pool);
      return new Distributed(pool, utils, config, projectFingerprint(project.files), options);
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw e instanceof DiagnosticError ? e : unreachable(config, e);
    }
  }

  /** Runs `work` (opening the lake) while no worker opens it (see oneAtATime); a Postgres that went away is named. */
  async oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await oneAtATime(this.pool, work);
    } catch (e) {
      throw isPostgresError(e) ? unreachable(this.config, e) : e;
    }
  }

  /** Launches the run with its tasks placed on workers; closes the warehouse as launch does, and the queue. */
  async launch(prepared: Prepared, o: LaunchOptions): Promise<RunOutcome> {
    const engine = prepared.warehouse?.engine;
    try {
      const problems = o.plan.tasks.flatMap((t) => {
        const why = unplaceable(t);
        return why === undefined ? [] : [error('not-distributable', `${why}; --distributed cannot run it`, { file: t.file }, { hint: 'run it without --distributed' })];
      });
      if (problems.length > 0) throw new DiagnosticError(problems.slice(0, 1));
      if (!engine) throw new Error('internal error: a distributed run without a warehouse');
    } catch (e) {
      prepared.warehouse?.close();
      await this.close();
      throw e;
    }
    let place: QueuedPlace | undefined;
    try {
      place = await QueuedPlace.open({
        pool: this.pool,
        utils: this.utils,
        runId: o.runId,
        fingerprint: this.fingerprint,
        emit: o.emit,
        signal: o.signal,
        retryOverride: o.execute?.retryOverride,
        leaseMs: this.options.leaseMs,
        config: this.config,
        endDeadRuns: (runIds) => engine.endDeadRuns(runIds),
        recordRefusal: (task, message, slot, runner) =>
          engine.withSession((s) =>
            engine.recordTask(s, { runId: o.runId, taskId: task.id, attempt: 1, status: 'failed', startedAt: Date.now(), endedAt: Date.now(), error: message, errorClass: 'permanent', worker: slot, runner }),
          ),
        // No worker took it: no thread of a worker's to name (the slot is the coordinator's own).
        recordCancelled: (task, _slot, detail = 'cancelled before a worker took it') =>
          engine.withSession((s) => engine.recordTask(s, { runId: o.runId, taskId: task.id, attempt: 1, status: 'cancelled', endedAt: Date.now(), detail })),
        recordUnrecorded: (task, status, error, slot, runner) =>
          engine.withSession((s) =>
            engine.recordTask(s, {
              runId: o.runId,
              taskId: task.id,
              attempt: 1,
              status,
              endedAt: Date.now(),
              ...(error ? { error: error.message, errorClass: error.errorClass } : { detail: `recorded by the coordinator: its worker could not` }),
              worker: slot,
              runner,
            }),
          ),
      });
      return await launch(prepared, { ...o, execute: { ...o.execute, place } });
    } catch (e) {
      prepared.warehouse?.close();
      throw isPostgresError(e) ? unreachable(this.config, e) : e;
    } finally {
      await place?.close().catch(() => undefined);
      await this.close();
    }
  }

  async close(): Promise<void> {
    await Promise.resolve(this.utils.release()).catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}
