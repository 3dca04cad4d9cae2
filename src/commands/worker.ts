import { hostname } from 'node:os';
import { DiagnosticError } from '../diagnostics/diagnostics.js';
import type { EventSink } from '../events/events.js';
import { Engine } from '../execute/engine.js';
import { isConnectionLoss, isPostgresError, openPool, pgConfigOf, unreachable } from '../distributed/postgres.js';
import { openQueue } from '../distributed/queue.js';
import { ensureTables, oneAtATime } from '../distributed/tables.js';
import { PgPublishGate } from '../distributed/publish-gate.js';
import { runWorker } from '../distributed/worker.js';
import type { ProjectOptions } from './context.js';
import { openProject } from './open-project.js';
import { projectFingerprint } from './project-fingerprint.js';

/**
 * `pipe worker`: runs the tasks of distributed runs (`pipe backfill`, `pipe run`, `pipe retry`
 * and `pipe schedule` with `--distributed`) that the queue in the lake's catalog hands it,
 * until it is stopped. Any number of workers, on any machines that have the project and reach
 * the lake, share a run.
 */

export interface WorkerCommandOptions extends ProjectOptions {
  /** Tasks run at once. */
  readonly concurrency: number;
  /** How long this worker may go unseen before a coordinator gives its tasks to another; it beats every third of it. */
  readonly leaseMs: number;
  /** Its id in heartbeats and the run history; default host:pid. */
  readonly name?: string;
  readonly emit: EventSink;
  /** Aborted to stop: no more tasks are taken, running ones are interrupted and go back to the queue. */
  readonly signal: AbortSignal;
}

export async function worker(options: WorkerCommandOptions): Promise<void> {
  const project = openProject(options);
  const config = pgConfigOf(project.warehouseSetup.lake, 'pipe worker');
  // The queue's listener and each running task take a connection; the heartbeat has its own.
  const pool = await openPool(config, options.concurrency + 4);
  try {
    try {
      await ensureTables(pool);
      await Promise.resolve((await openQueue(pool)).release());
    } catch (e) {
      throw e instanceof DiagnosticError ? e : unreachable(config, e);
    }
    const handle = await oneAtATime(pool, () => Engine.open(project.warehousePath, { setup: project.warehouseSetup }));
    try {
      await oneAtATime(pool, () => handle.engine.prepareForWriting());
      handle.engine.gatePublishes(new PgPublishGate(pool));
      const row = {
        workerId: options.name ?? `${hostname()}:${process.pid}`,
        host: hostname(),
        pid: process.pid,
        startedAt: Date.now(),
        leaseMs: options.leaseMs,
        fingerprint: projectFingerprint(project.files),
      };
      options.emit({ type: 'notice', message: `worker ${row.workerId} ready: ${options.concurrency} task${options.concurrency === 1 ? '' : 's'} at once, on ${handle.location} (project ${row.fingerprint})` });
      // A project that does not load now (a save half made) is the one read before.
      const fingerprintNow = () => {
        try {
          return projectFingerprint(openProject(options).files);
        } catch {
          return row.fingerprint;
        }
      };
      await runWorker({ engine: handle.engine, pool, config, row, concurrency: options.concurrency, emit: options.emit, signal: options.signal, fingerprintNow }).catch((e: unknown) => {
        throw isPostgresError(e) || isConnectionLoss(e) ? unreachable(config, e) : e;
      });
      options.emit({ type: 'notice', message: `worker ${row.workerId} stopped` });
    } finally {
      handle.close();
    }
  } finally {
    await pool.end().catch(() => undefined);
  }
}
