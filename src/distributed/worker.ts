import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { JobHelpers, Runner, WorkerEvents } from 'graphile-worker';
import type pg from 'pg';
import type { EventSink, PipeEvent } from '../events/events.js';
import type { Engine } from '../execute/engine.js';
import { TaskRunner } from '../execute/task-runner.js';
import type { Task } from '../plan/task.js';
import { getRun } from '../warehouse/run-state.js';
import { PIPE_VERSION } from '../version.js';
import { endGoneRuns, goneRuns } from './coordinators.js';
import { beatPeriod, Heartbeat, type WorkerRow } from './heartbeats.js';
import { jobQueue } from './drivers.js';
import { Listener } from './listener.js';
import { isConnectionLoss, isPostgresError, untilSent, type PgConfig } from './postgres.js';
import { jobKey, PIPE_TASK, quietLogger, type JobPayload } from './queue.js';
import { CANCEL_CHANNEL, cancelledRuns, postMessage, type Message } from './tables.js';

/**
 * A worker of distributed backfills: takes pipe's jobs from the queue (at most `concurrency`
 * at once) and runs each task through the executor's TaskRunner on its own DuckDB instance
 * attached to the lake, so a task runs here as it would in the coordinator's process: staged,
 * checked, published atomically, recorded in the run state, its errors classified. Its events
 * go to its own logger and back to the coordinator; its heartbeat is written every lease/3, on
 * a connection of its own (see heartbeats.ts).
 *
 * A task of a project that differs from this worker's (another fingerprint) is refused, and
 * the coordinator told why; so is a task of a run that has ended (a job left in the queue by a
 * coordinator that died). A cancelled run's tasks are interrupted and roll back. When the
 * worker is stopped (its signal), it takes no more jobs, interrupts the tasks it runs, and
 * puts them back in the queue for another worker.
 */

export interface WorkerOptions {
  readonly engine: Engine;
  readonly pool: pg.Pool;
  /** Where the pool connects: the heartbeat opens a connection of its own there. */
  readonly config: PgConfig;
  readonly row: WorkerRow;
  readonly concurrency: number;
  readonly emit: EventSink;
  /** Aborted to stop the worker. */
  readonly signal: AbortSignal;
  /** The project's fingerprint as its files are now: read again when a task's differs (the files were updated since the worker started). */
  readonly fingerprintNow?: () => string;
}

interface Running {
  readonly runId: string;
  readonly controller: AbortController;
}

export async function runWorker(o: WorkerOptions): Promise<void> {
  const { pool, row, engine } = o;
  const running = new Map<string, Running>();
  /** The fingerprint of the project as this worker last read it. */
  let fingerprint = row.fingerprint;
  /** Who this worker is to the coordinator of a run it takes for gone. */
  const taker = `worker ${row.workerId}${row.workerId === `${row.host}:${row.pid}` ? '' : ` (${row.host}:${row.pid})`}`;
  /**
   * What the queue holds this worker's jobs by: its pool's id, one per process, named in every
   * beat from the moment the pool exists, so that a job it has just taken is never taken for
   * the job of a worker that died before naming its lock (see orphanedLocks).
   */
  let lock: string | undefined;
  const events: WorkerEvents = new EventEmitter();
  events.on('pool:create', ({ workerPool }) => {
    lock = workerPool.id;
    void heart.beat().catch(() => undefined);
  });
  /** Stops the tasks of the runs cancelled since the last look. */
  const stopCancelled = async () => {
    const runIds = [...new Set([...running.values()].map((r) => r.runId))];
    // A run whose coordinator is gone is ended (and so cancelled) first: its tasks stop too.
    if (runIds.length > 0) await endGoneRuns(pool, taker, (ids) => engine.endDeadRuns(ids), runIds).catch(() => undefined);
    const cancelled = await cancelledRuns(pool, runIds);
    const stopping = [...running].filter(([, r]) => cancelled.has(r.runId) && !r.controller.signal.aborted);
    // A run ended for its coordinator gone (killed, its machine lost) is said as that, not as a plain cancel.
    const gone = stopping.length > 0 ? await goneRuns(pool, [...new Set(stopping.map(([, r]) => r.runId))]).catch(() => new Map<string, string>()) : new Map<string, string>();
    for (const [key, r] of stopping) {
      const lostTo = gone.get(r.runId);
      if (lostTo !== undefined) {
        o.emit({
          type: 'notice',
          message: `worker ${row.workerId} stops task ${key.slice(r.runId.length + 1)}: its run ${r.runId} lost its coordinator (${lostTo}, not seen for its lease) and is recorded interrupted; pipe retry ${r.runId} runs what that run left`,
        });
      }
      r.controller.abort(new Error('run cancelled'));
    }
  };
  const heart = await Heartbeat.ofWorker(o.config, row, () => ({
    currentTasks: [...running.keys()],
    locks: lock ? [lock] : [],
  }));
  const heartbeat = () => heart.beat();
  const listener = await Listener.open(pool, CANCEL_CHANNEL, () => void stopCancelled().catch(() => undefined)).catch(async (e: unknown) => {
    await heart.stop();
    throw e;
  });
  // A cancel whose notification was missed is found at the next look (on the pool: a late look only delays a cancel).
  let looking: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    looking = looking.then(stopCancelled).catch(() => undefined);
  }, beatPeriod(row.leaseMs));

  const handle = async (payload: unknown, helpers: JobHelpers): Promise<void> => {
    const job = payload as JobPayload;
    const key = jobKey(job.runId, job.taskId);
    /**
     * Messages of one job go out in order: its events, then its outcome. Each is sent until
     * Postgres takes it (or the worker stops): an outcome lost to a moment without Postgres
     * would leave the coordinator waiting for it for ever, the job being done here.
     */
    let told: Promise<void> = Promise.resolve();
    // This run of the job: one given back to the queue is handed out again with a higher attempt.
    const from = { jobId: String(helpers.job.id), attempt: helpers.job.attempts };
    const tell = (m: Message) => {
      // One id however often it is sent: a send whose answer an outage lost may have been stored.
      const sentId = randomUUID();
      told = told.then(() => untilSent(() => postMessage(pool, job.runId, job.taskId, row.workerId, from, m, sentId), o.signal)).catch(() => undefined);
    };
    /**
     * Leaves the task unrun, saying why here and to the coordinator. `why` names no task (the
     * coordinator's failure does): the tasks one worker refuses for one cause read as one error.
     */
    const refuse = async (verb: 'refused' | 'dropped', why: string) => {
      o.emit({ type: 'notice', message: `worker ${row.workerId} ${verb} task ${job.taskId}: ${why}` });
      tell({ kind: 'refused', body: { message: `worker ${row.workerId} ${verb} the task: ${why}`, ...(verb === 'dropped' ? { dropped: true as const } : {}) } });
      await told;
    };
    // A task is planned as its coordinator's pipe plans it (its steps' SQL, their order): another version could run it otherwise.
    if (job.pipeVersion !== PIPE_VERSION) {
      return refuse(
        'refused',
        `it was queued by ${job.pipeVersion === undefined ? 'an older pipe' : `pipe ${job.pipeVersion}`} at ${job.coordinator}, and this worker is pipe ${PIPE_VERSION}; run the same pipe version on every machine`,
      );
    }
    if (job.fingerprint !== fingerprint) {
      // The project's files may have changed since the worker read them (a deploy): read again.
      const now = o.fingerprintNow?.() ?? fingerprint;
      if (now !== fingerprint) {
        o.emit({ type: 'notice', message: `worker ${row.workerId}: the project's files changed since it read them (fingerprint ${fingerprint}, now ${now})` });
        fingerprint = now;
      }
    }
    if (job.fingerprint !== fingerprint) {
      return refuse(
        'refused',
        `its project differs from the coordinator's (fingerprint ${fingerprint} here, read again now, ${job.fingerprint} at ${job.coordinator}); give every machine the same project files`,
      );
    }
    // A job of a run whose coordinator is gone (on any machine): the run is ended here if nobody has yet.
    await endGoneRuns(pool, taker, (ids) => engine.endDeadRuns(ids), [job.runId]).catch(() => undefined);
    const lostTo = (await goneRuns(pool, [job.runId]).catch(() => new Map<string, string>())).get(job.runId);
    if (lostTo !== undefined) {
      return refuse(
        'dropped',
        `its run ${job.runId} lost its coordinator (${lostTo}, not seen for its lease) and is recorded interrupted; what the task would write may be older than what runs since have published; pipe retry ${job.runId} runs what that run left`,
      );
    }
    // A job of a run that has ended (its coordinator killed, the run since marked interrupted
    // by another, or finished) is stale: run now, it would write over what later runs published.
    const ended = await engine.withSession((s) => getRun(s, job.runId)).catch(() => undefined);
    if (ended !== undefined && ended.status !== 'running') {
      return refuse(
        'dropped',
        `its run ${job.runId} ended (${ended.status}) before a worker took it, and what it would write may be older than what runs since have published; pipe retry ${job.runId} runs what that run left`,
      );
    }
    const controller = new AbortController();
    const stop = () => controller.abort(new Error('worker stopping'));
    o.signal.addEventListener('abort', stop);
    lock ??= helpers.job.locked_by ?? undefined;
    running.set(key, { runId: job.runId, controller });
    await heartbeat().catch(() => undefined);
    const task = job.task as Task;
    const emit: EventSink = (e: PipeEvent) => {
      o.emit(e);
      tell({ kind: 'event', body: e });
    };
    try {
      if (o.signal.aborted || (await cancelledRuns(pool, [job.runId])).has(job.runId)) controller.abort();
      const session = await engine.acquire();
      let outcome: Extract<Message, { kind: 'outcome' }>['body']['outcome'];
      try {
        // Judged by the coordinator, which sent what its publication records: here it only runs.
        const runner = new TaskRunner({ engine, runId: job.runId, emit, signal: controller.signal, retryOverride: job.retryOverride, runner: row.workerId });
        try {
          outcome = controller.signal.aborted ? 'cancelled' : await runner.run(task, session, job.slot);
        } finally {
          runner.dispose();
        }
      } finally {
        engine.release(session);
      }
      if (outcome === 'cancelled' && o.signal.aborted && !(await cancelledRuns(pool, [job.runId])).has(job.runId)) {
        // Stopped with the worker, not with the run: the task goes back to the queue for another worker.
        await helpers.addJob(PIPE_TASK, job, { jobKey: key, maxAttempts: 1, jobKeyMode: 'replace' });
        tell({ kind: 'returned', body: { message: `worker ${row.workerId} stopped while running ${job.taskId}: it goes back to the queue` } });
      } else {
        const unrecorded = engine.lostRecordOf(job.runId, task.id);
        tell({ kind: 'outcome', body: { outcome, ...(unrecorded === undefined ? {} : { unrecorded }) } });
      }
      await told;
      // Taken from this worker meanwhile (a coordinator found it silent for its lease, through an
      // outage): the queue's copy is the task's run now. Marking the job done would delete it
      // (by id, whoever holds it), so a run that did not succeed leaves it: failing the job
      // touches only a job this worker still holds. A success needs no other run: it is done.
      if (outcome !== 'succeeded' && (await takenFromHere(pool, helpers.job.id, helpers.job.locked_by))) throw new TakenBack();
    } finally {
      o.signal.removeEventListener('abort', stop);
      running.delete(key);
      await heartbeat().catch(() => undefined);
    }
  };

  let runner: Runner | undefined;
  /**
   * The queue marks a job done without waiting (graphile-worker does not await it), so a
   * Postgres lost at that moment rejects a promise nobody handles, which would end the
   * process with a stack trace; and the queue's workers give up on a Postgres gone longer than
   * their retries. Either way the queue is stopped and taken up again once Postgres answers
   * (a job whose end was lost is given back by the coordinator: no worker names its lock).
   */
  let queueLost = new AbortController();
  const onUnhandled = (e: unknown) => {
    if (!isPostgresError(e) && !isConnectionLoss(e)) throw e;
    queueLost.abort(e);
  };
  process.on('unhandledRejection', onUnhandled);
  // graphile-worker prints the error of a queue worker that gave up with console.trace, past
  // its logger: this process tells it in its own words.
  const trace = console.trace;
  console.trace = () => undefined;
  try {
    const { run } = await jobQueue();
    const stopping = o.signal;
    const stop = new Promise<void>((res) => (stopping.aborted ? res() : stopping.addEventListener('abort', () => res(), { once: true })));
    for (;;) {
      queueLost = new AbortController();
      const lostNow = queueLost.signal;
      const started = await run({
        pgPool: pool,
        concurrency: o.concurrency,
        noHandleSignals: true,
        pollInterval: 2000,
        logger: await quietLogger(),
        events,
        taskList: { [PIPE_TASK]: handle },
      });
      runner = started;
      const lostQueue = new Promise<unknown>((res) => (lostNow.aborted ? res(lostNow.reason) : lostNow.addEventListener('abort', () => res(lostNow.reason), { once: true })));
      const ended = await Promise.race([stop.then(() => STOP), lostQueue, started.promise.then(() => 'the queue stopped', (e: unknown) => e)]);
      if (ended === STOP || stopping.aborted) break;
      if (typeof ended !== 'string' && !isPostgresError(ended) && !isConnectionLoss(ended)) throw ended;
      await started.stop().catch(() => undefined);
      runner = undefined;
      o.emit({ type: 'notice', message: `worker ${row.workerId} lost the queue's Postgres (${ended instanceof Error ? ended.message : String(ended)}): it takes tasks again once Postgres answers` });
      try {
        await untilSent(async () => void (await pool.query('SELECT 1')), stopping);
      } catch (e) {
        if (stopping.aborted) break;
        // Not an outage (a password changed, the database dropped): said as what it is, not taken for Postgres back.
        throw e;
      }
      o.emit({ type: 'notice', message: `worker ${row.workerId}: Postgres answers again; taking tasks` });
    }
  } finally {
    // Running tasks were interrupted by the signal; stop waits for them to put themselves back.
    await runner?.stop().catch(() => undefined);
    clearInterval(timer);
    await looking;
    await listener.close();
    await heart.stop();
    process.off('unhandledRejection', onUnhandled);
    console.trace = trace;
  }
}

const STOP = Symbol('stop');

/** Ends a job that another worker now runs, leaving it to that one (see handle). */
class TakenBack extends Error {
  constructor() {
    super('the task was given back to the queue while this worker ran it');
  }
}

/** Whether the job is no longer held by the lock this worker took it under (given back meanwhile); unknown is no. */
async function takenFromHere(pool: pg.Pool, jobId: string, lockedBy: string | null): Promise<boolean> {
  if (lockedBy === null) return false;
  const { rows } = await pool
    .query<{ held: boolean }>('SELECT locked_by IS NOT DISTINCT FROM $2 AS held FROM graphile_worker.jobs WHERE id = $1::bigint', [jobId, lockedBy])
    .catch(() => ({ rows: [{ held: true }] }));
  return rows.length > 0 && !rows[0].held;
}
