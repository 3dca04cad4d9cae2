import { hostname } from 'node:os';
import type { WorkerUtils } from 'graphile-worker';
import type pg from 'pg';
import type { EventSink, PipeEvent, TaskError } from '../events/events.js';
import type { RetryPolicy } from '../plan/retry-policy.js';
import type { Task } from '../plan/task.js';
import type { PlacedOutcome, TaskPlace } from '../execute/task-place.js';
import { taskRef } from '../execute/task-ref.js';
import { coordinatorBeat, coordinatorDone, endGoneRuns } from './coordinators.js';
import { Heartbeat, liveWorkers, takeStaleWorkers } from './heartbeats.js';
import { Listener } from './listener.js';
import { untilSent, type PgConfig } from './postgres.js';

/** A signal that never aborts: a run without one is stopped by other means. */
const NEVER = new AbortController().signal;
import { PIPE_VERSION } from '../version.js';
import { enqueue, giveBack, jobKey, orphanedLocks, removeQueued, type GivenBack, type JobPayload } from './queue.js';
import { cancelRun, earlierRun, forgetRun, MESSAGES_CHANNEL, readMessages, runUpTo, type JobRun, type StoredMessage } from './tables.js';

/**
 * The coordinator's side of a distributed backfill: a TaskPlace that queues each task it is
 * given and settles it with the outcome its worker tells back. The executor keeps deciding
 * what starts (dependencies, dates in flight, slow start, the failure budget); only where a
 * task executes changes. While tasks are out it sweeps the workers' heartbeats: a worker not
 * seen for its lease is dead, and its jobs go back to the queue for another. When the run's
 * signal aborts, the run is cancelled everywhere: queued jobs are removed, running ones are
 * interrupted by their workers, which tell the outcome back.
 */

export interface QueuedPlaceOptions {
  readonly pool: pg.Pool;
  readonly utils: WorkerUtils;
  readonly runId: string;
  readonly fingerprint: string;
  readonly emit: EventSink;
  readonly signal?: AbortSignal;
  readonly retryOverride?: RetryPolicy;
  /** How long a worker may go unseen before it counts as dead. */
  readonly leaseMs: number;
  /** Records a task refused by a worker in the run state (the worker wrote nothing). */
  readonly recordRefusal: (task: Task, message: string, slot: number, runner: string) => Promise<void>;
  /** Records a task taken out of the queue by the run's cancellation (no worker wrote anything of it). */
  readonly recordCancelled: (task: Task, slot: number, detail?: string) => Promise<void>;
  /** Records how a task ended where its worker could not (see Message's `unrecorded`), with the error it told. */
  readonly recordUnrecorded: (task: Task, outcome: 'failed' | 'skipped' | 'cancelled', error: TaskError | undefined, slot: number, runner: string) => Promise<void>;
  /** Where the pool connects: the coordinator's heartbeat opens a connection of its own there. */
  readonly config: PgConfig;
  /** Records runs whose coordinator is gone as ended in the run state (see coordinators.ts). */
  readonly endDeadRuns: (runIds: readonly string[]) => Promise<void>;
}

interface Waiting {
  readonly task: Task;
  readonly resolve: (outcome: PlacedOutcome) => void;
  readonly slot: number;
  started: boolean;
  /** The error of the task's failure, as its worker told it. */
  failure?: TaskError;
  /** Why the task went back to the queue after it started, for the start that follows. */
  givenBack?: string;
  /**
   * Workers this coordinator took the task from (taken for dead, e.g. through an outage longer
   * than the lease) that have not started it again: what they tell of their run of it, other
   * than a success, is not the task's outcome, which the run the task was given back for tells.
   */
  readonly takenFrom: Set<string>;
  /**
   * The last run of the task's job this coordinator gave back to the queue (see takenFrom).
   * That run, or an earlier one, may tell its start only now, or tell it again (its first
   * send reached Postgres, the answer was lost in the outage, so it was sent once more): that
   * start is not the task starting again, and what such a run tells, other than a success, is
   * not the task's outcome. Going by the worker alone (takenFrom), such a run could not be told
   * from that worker's later run of the job.
   */
  takenBack?: JobRun;
  /**
   * Its worker told it superseded (a newer interval of its table was published there first):
   * the success it tells next published nothing, and is told back as such.
   */
  superseded?: boolean;
  /**
   * The run of the task's job that started last. A job given back is handed out again, maybe
   * to the same worker, whose earlier run may tell its end only after the new run started (both
   * waited for Postgres): that end is not the task's outcome either.
   */
  latest?: JobRun;
}

export class QueuedPlace implements TaskPlace {
  private readonly waiting = new Map<string, Waiting>();
  private lastMessage = 0;
  private reading: Promise<void> = Promise.resolve();
  private readonly timer: ReturnType<typeof setInterval>;
  private toldNoWorker = false;
  private readonly coordinator = `${hostname()}:${process.pid}`;
  private heart: Heartbeat | undefined;
  /**
   * Who took this coordinator's run for gone (it was unreachable for its lease), once it finds
   * that: nothing more is queued, and the run stays as recorded there.
   */
  private lost: string | undefined;
  /** Where what happens here is told: the run's sink once the run has one (see relay). */
  private emit: EventSink;
  /** A cancel that cannot reach Postgres ends what waits here: nobody could tell its outcome. */
  private readonly onAbort = () =>
    void this.cancel().catch(() => {
      for (const key of [...this.waiting.keys()]) this.settle(key, 'cancelled');
    });

  private listener: Listener | undefined;

  private constructor(private readonly o: QueuedPlaceOptions) {
    this.emit = o.emit;
    // Outcomes arrive by NOTIFY; the look every lease/3 catches one missed and sweeps the heartbeats.
    this.timer = setInterval(() => void this.look(), Math.max(100, Math.floor(o.leaseMs / 3)));
    o.signal?.addEventListener('abort', this.onAbort);
  }

  static async open(o: QueuedPlaceOptions): Promise<QueuedPlace> {
    const place = new QueuedPlace(o);
    try {
      // Heard without a run (listening again after a lost connection): what was told meanwhile is read.
      place.listener = await Listener.open(o.pool, MESSAGES_CHANNEL, (runId) => {
        if (runId === undefined || runId === o.runId) void place.read();
      });
      // Its row is written before any task is queued: a worker finds it for every job.
      place.heart = await Heartbeat.start(o.config, o.leaseMs, async (db) => {
        const taken = await coordinatorBeat(db, o.runId, { host: hostname(), pid: process.pid, leaseMs: o.leaseMs });
        if (taken) place.loseRun(taken.takenBy);
      });
      // Runs of coordinators gone before this one started, which nobody has noticed yet.
      await place.endGoneRuns();
    } catch (e) {
      await place.close();
      throw e;
    }
    return place;
  }

  relay(emit: EventSink): void {
    this.emit = emit;
  }

  takenBy(): string | undefined {
    return this.lost;
  }

  async run(task: Task, slot: number): Promise<PlacedOutcome> {
    if (this.lost !== undefined) return 'cancelled';
    const key = jobKey(this.o.runId, task.id);
    const settled = new Promise<PlacedOutcome>((resolve) => this.waiting.set(key, { task, resolve, slot, started: false, takenFrom: new Set() }));
    const payload: JobPayload = {
      runId: this.o.runId,
      taskId: task.id,
      fingerprint: this.o.fingerprint,
      pipeVersion: PIPE_VERSION,
      task,
      slot,
      retryOverride: this.o.retryOverride,
      coordinator: this.coordinator,
    };
    try {
      // Queued once Postgres takes it: a moment without Postgres (a restart) only delays the task.
      await untilSent(async () => void (await enqueue(this.o.utils, payload)), this.o.signal ?? NEVER);
    } catch (e) {
      if (!this.waiting.has(key)) return settled;
      this.waiting.delete(key);
      if (this.o.signal?.aborted) {
        await this.o.recordCancelled(task, slot).catch(() => undefined);
        this.emit({ type: 'task-cancelled', runId: this.o.runId, task: taskRef(task), started: false });
        return 'cancelled';
      }
      const message = `the task could not be queued in the catalog's Postgres: ${e instanceof Error ? e.message : String(e)}`;
      await this.o.recordRefusal(task, message, slot, this.coordinator).catch(() => undefined);
      this.emit({ type: 'task-failed', runId: this.o.runId, task: taskRef(task), error: { message, kind: 'Postgres', errorClass: 'transient' }, attempts: 1, ms: 0 });
      return 'failed';
    }
    await this.tellIfNoWorker();
    return settled;
  }

  /** Says once that no worker is alive to take the waiting tasks (again after one was seen since). */
  private async tellIfNoWorker(): Promise<void> {
    if (this.toldNoWorker || (await liveWorkers(this.o.pool).catch(() => 1)) > 0) return;
    this.toldNoWorker = true;
    this.emit({ type: 'notice', message: 'no pipe worker is running: tasks wait in the queue until one starts (pipe worker, on any machine with this project and the lake)' });
  }

  /** Stops listening; the run's messages are removed. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.o.signal?.removeEventListener('abort', this.onAbort);
    await this.reading;
    await this.heart?.stop(false);
    // The run has ended as recorded here (or was taken for gone): its row goes either way.
    await coordinatorDone(this.o.pool, this.o.runId).catch(() => undefined);
    await this.listener?.close();
    await forgetRun(this.o.pool, this.o.runId).catch(() => undefined);
  }

  /** Reads what workers told since the last read, in order. */
  private read(): Promise<void> {
    this.reading = this.reading
      .then(async () => {
        for (const m of await readMessages(this.o.pool, this.o.runId, this.lastMessage)) {
          this.lastMessage = m.id;
          await this.receive(m);
        }
      })
      .catch(() => undefined);
    return this.reading;
  }

  /**
   * This coordinator was taken for gone by another process (unreachable for its lease): its run
   * is recorded interrupted and its tasks dropped there. It queues nothing more, and stops
   * waiting for outcomes that nobody will tell.
   */
  private loseRun(by: string): void {
    if (this.lost !== undefined) return;
    this.lost = by;
    this.emit({
      type: 'notice',
      message: `this coordinator went unseen for longer than its lease (${(this.o.leaseMs / 1000).toFixed(1)} s without reaching Postgres), and run ${this.o.runId} was taken for gone by ${by}: it is recorded interrupted and its tasks are stopped; pipe retry ${this.o.runId} runs what it left`,
    });
    for (const key of [...this.waiting.keys()]) this.settle(key, 'cancelled');
  }

  /** Ends the runs of other coordinators that are gone, saying so. */
  private async endGoneRuns(): Promise<void> {
    const ended = await endGoneRuns(this.o.pool, `the coordinator of run ${this.o.runId} (${this.coordinator})`, this.o.endDeadRuns, undefined, this.o.runId).catch(() => []);
    for (const r of ended) {
      this.emit({ type: 'notice', message: `run ${r.runId} lost its coordinator ${r.coordinator} (not seen for ${(r.silentMs / 1000).toFixed(1)} s): it is recorded interrupted, and its queued tasks are dropped; pipe retry ${r.runId} runs what it left` });
    }
  }

  private async look(): Promise<void> {
    await this.read();
    await this.endGoneRuns();
    if (this.waiting.size === 0) return;
    const stale = await takeStaleWorkers(this.o.pool).catch(() => []);
    for (const w of stale) {
      const given = await giveBack(this.o.utils, this.o.pool, w.locks, w.currentTasks).catch((): GivenBack[] => []);
      const mine = w.currentTasks.filter((k) => this.waiting.has(k));
      for (const k of mine) this.waiting.get(k)?.takenFrom.add(w.workerId);
      this.tookBack(given);
      this.handedBack([...mine, ...given.map((g) => g.key)], `this coordinator gave it back to the queue when ${w.workerId} went unseen`);
      if (given.length > 0 || mine.length > 0) {
        this.emit({
          type: 'notice',
          message: `worker ${w.workerId} not seen for ${(w.silentMs / 1000).toFixed(1)} s: ${mine.length > 0 ? mine.map((k) => k.slice(this.o.runId.length + 1)).join(', ') : 'its tasks'} go back to the queue`,
        });
      }
      // A dead worker's task of a cancelled run ends here: nobody will tell its outcome.
      if (this.o.signal?.aborted) for (const k of mine) this.settle(k, 'cancelled');
    }
    // The workers gone, none left: the tasks given back wait, said (as when the run found none).
    if (stale.length > 0) {
      this.toldNoWorker = false;
      await this.tellIfNoWorker();
    }
    // A worker that died before a heartbeat named the lock of a job it had taken.
    const orphaned = await orphanedLocks(this.o.pool, this.o.runId, this.o.leaseMs).catch(() => []);
    if (orphaned.length > 0) {
      const given = await giveBack(this.o.utils, this.o.pool, orphaned, []).catch((): GivenBack[] => []);
      this.tookBack(given);
      this.handedBack(given.map((g) => g.key), 'this coordinator gave it back to the queue when the worker holding it was found gone');
      if (given.length > 0) this.emit({ type: 'notice', message: `${given.length} task(s) held by a worker that is gone go back to the queue` });
    }
  }

  private async receive({ taskId, workerId, message, from }: StoredMessage): Promise<void> {
    const key = jobKey(this.o.runId, taskId);
    const w = this.waiting.get(key);
    /** Told by a run of the task this coordinator took it from (or an earlier one), or by an earlier run of its job than the one that started last. */
    const fromEarlierRun = w !== undefined && (w.takenFrom.has(workerId) || earlierRun(from, w.latest) || runUpTo(from, w.takenBack));
    switch (message.kind) {
      case 'event': {
        const e = message.body as PipeEvent;
        if (fromEarlierRun && (e.type === 'task-failed' || e.type === 'task-cancelled' || e.type === 'task-retrying')) {
          const what = e.type === 'task-failed' ? 'failed' : e.type === 'task-cancelled' ? 'cancelled' : 'failed an attempt';
          this.emit({
            type: 'notice',
            message: `${taskId} ${what} on ${workerId} in a run of it this coordinator had given back to the queue (its worker taken for dead): the run of it now queued decides its outcome`,
          });
          return;
        }
        if (e.type === 'task-started') {
          // A start heard already (told again), an earlier run's told late (the later run has
          // started already), or a start of a run given back since: none is the task starting now.
          if (w && (runUpTo(from, w.latest) || runUpTo(from, w.takenBack))) return;
          w?.takenFrom.delete(workerId);
          if (w && from !== undefined) w.latest = from;
          if (w?.givenBack !== undefined) {
            // Expected: the task went back to the queue, and another start is how it ends.
            this.emit({ type: 'notice', message: `${taskId} starts again, on ${workerId}: ${w.givenBack}` });
            w.givenBack = undefined;
          } else if (!w || w.started) {
            // A task that starts again without having been given back is said so: the queue ran its job twice.
            this.emit({ type: 'notice', message: `${taskId} started again, on ${workerId}, ${w ? 'while its first start has told no outcome' : 'after its outcome was told'}` });
          }
          if (w) w.started = true;
          this.emit({ ...e, runner: workerId });
          return;
        }
        if (w && e.type === 'task-skipped' && e.reason === 'superseded') w.superseded = true;
        if (w && e.type === 'task-failed') w.failure = e.error;
        this.emit(e);
        return;
      }
      case 'outcome':
        if (fromEarlierRun && message.body.outcome !== 'succeeded') return;
        // The worker lost its record of the task (its catalog's Postgres restarting): written here, as it told it.
        if (w && message.body.unrecorded !== undefined && message.body.outcome !== 'succeeded') {
          await this.o.recordUnrecorded(w.task, message.body.outcome, w.failure, w.slot, workerId).catch(() => undefined);
        }
        this.settle(key, message.body.outcome === 'succeeded' && w?.superseded ? 'superseded' : message.body.outcome);
        return;
      case 'refused': {
        if (!w) return;
        // Dropped unrun, its run ended (taken for gone while this coordinator was unreachable): not
        // the task's failure; recorded as the output tells it, cancelled, and pipe retry runs it.
        if (message.body.dropped) {
          await this.o.recordCancelled(w.task, w.slot, message.body.message).catch(() => undefined);
          if (this.waiting.get(key) !== w) return;
          this.emit({ type: 'task-cancelled', runId: this.o.runId, task: taskRef(w.task), started: false });
          this.settle(key, 'cancelled');
          return;
        }
        await this.o.recordRefusal(w.task, message.body.message, w.slot, workerId).catch(() => undefined);
        // Settled meanwhile (the run was taken for gone, or cancelled): its end was told already, and the run's may have been.
        if (this.waiting.get(key) !== w) return;
        this.emit({
          type: 'task-failed',
          runId: this.o.runId,
          task: taskRef(w.task),
          error: { message: message.body.message, kind: 'Worker', errorClass: 'permanent' },
          attempts: 1,
          ms: 0,
        });
        this.settle(key, 'failed');
        return;
      }
      case 'returned':
        this.emit({ type: 'notice', message: message.body.message });
        if (w) w.givenBack = `${workerId} stopped while running it and gave it back to the queue`;
        return;
      default: {
        const never: never = message;
        throw new Error(`internal error: message ${JSON.stringify(never)}`);
      }
    }
  }

  /** Remembers, per task waiting here, the run of its job given back (see Waiting.takenBack). */
  private tookBack(given: readonly GivenBack[]): void {
    for (const g of given) {
      const w = this.waiting.get(g.key);
      if (w && !runUpTo(g.run, w.takenBack)) w.takenBack = g.run;
    }
  }

  /** Tasks (by job key) this coordinator put back in the queue: their next start is expected. */
  private handedBack(keys: readonly string[], why: string): void {
    for (const key of keys) {
      const w = this.waiting.get(key);
      if (w?.started) w.givenBack = why;
    }
  }

  private settle(key: string, outcome: PlacedOutcome): void {
    const w = this.waiting.get(key);
    if (!w) return;
    this.waiting.delete(key);
    w.resolve(outcome);
  }

  /** Ctrl-C: the run is cancelled for its workers, and its tasks no worker took are taken out of the queue. */
  private async cancel(): Promise<void> {
    await cancelRun(this.o.pool, this.o.runId);
    await this.withdraw();
    await this.read();
  }

  /**
   * The run starts no new task (its --max-failures is spent): its tasks no worker took yet are
   * taken out of the queue, and end not started, as on one machine; those running finish.
   */
  async stopStarting(why: string): Promise<void> {
    await this.withdraw(`not started: ${why}`).catch(() => undefined);
  }

  /** Takes the run's tasks no worker took out of the queue, each recorded and told cancelled (`detail`: why, in the history). */
  private async withdraw(detail?: string): Promise<void> {
    const removed = await removeQueued(this.o.utils, this.o.pool, this.o.runId);
    for (const key of removed) {
      const w = this.waiting.get(key);
      if (!w) continue;
      // Recorded as the output says it: cancelled (history, and the counts pipe retry starts from).
      await this.o.recordCancelled(w.task, w.slot, detail).catch(() => undefined);
      this.emit({ type: 'task-cancelled', runId: this.o.runId, task: taskRef(w.task), started: false });
      this.settle(key, 'cancelled');
    }
  }
}

/**
 * Why a task cannot be sent to a worker, or undefined when it can: a job carries the task as
 * plain data, and a task rendered again as it runs (a template that queries the warehouse
 * while rendering, dbt's `execute` mode) carries its template instead.
 */
export function unplaceable(task: Task): string | undefined {
  const walk = (v: unknown, path: string): string | undefined => {
    if (typeof v === 'function') return path;
    if (v === null || typeof v !== 'object') return undefined;
    for (const [k, x] of Object.entries(v)) {
      const found = walk(x, `${path}.${k}`);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  const found = walk(task, 'task');
  return found === undefined ? undefined : `${task.node} renders with the warehouse as it runs (it queries it while rendering), which a worker cannot be sent`;
}
