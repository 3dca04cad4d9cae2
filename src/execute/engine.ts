import { runStartOf } from '../util/run-id.js';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { formatDate, type Interval } from '../dates/dates.js';
import { secrets } from '../secrets/secrets.js';
import { quoteIdent } from '../sql/sql-text.js';
import type { Task } from '../plan/task.js';
import { taskMaterialization } from '../plan/materializations.js';
import { nodeOfTaskId } from '../plan/plan.js';
import { ProjectRuleError } from './task-errors.js';
import { BuildNews } from './build-news.js';
import { sleep } from '../util/sleep.js';
import { DuckDBWarehouse, stoppedDatabase, type OpenOptions } from '../warehouse/duckdb/duckdb-warehouse.js';
import { diskFull } from '../util/disk-full.js';
import { DUCKDB } from '../warehouse/duckdb/dialect.js';
import { askedBy, askFor, requestFile, withdraw } from '../warehouse/duckdb/hand-over.js';
import { DuckLakeWarehouse } from '../warehouse/ducklake/ducklake-warehouse.js';
import { isCommitConflict } from '../warehouse/ducklake/dialect.js';
import {
  checkResultSql,
  endDeadRuns,
  ensureState,
  readSeedHashes,
  finishRunSql,
  insertRunSql,
  insertTasksSql,
  recoverAfterCrash,
  taskIdsWithResults,
  taskResultsSql,
  taskSqlHashSql,
  type CheckResultRecord,
  type FoundRelation,
  type PlannedTaskRecord,
  type RunRecord,
  type RunEndStatus,
  type TaskResultRecord,
} from '../warehouse/run-state.js';
import { WarehouseError, WarehouseLockedError, type Warehouse, type WarehouseSession } from '../warehouse/warehouse.js';
import { ARCHIVE_FROM_ROWS, archiveSupersededBuilds, moveNotice } from '../warehouse/builds-archive.js';
import type { EventSink } from '../events/events.js';
import type { WarehouseSetup } from '../warehouse/warehouse-setup.js';

export type { OpenOptions };
import { KeyedMutex } from './keyed-mutex.js';
import type { PublishBatch } from './commit-batch.js';
import { reconcileRunLogs } from '../run-log/run-log-writer.js';
import { readRunLogs } from '../run-log/run-log-reader.js';
import { SessionPool } from './session-pool.js';
import { processAlive } from '../util/process-alive.js';

/**
 * The one owner of a warehouse file in this process. DuckDB lets one process hold a file, and
 * inside the process everything must go through one instance of it: the run of a command,
 * every scheduled run, every watch build, and the readers in between. The engine of a file
 * holds that instance, the connections runs borrow, the locks that serialize publishing to
 * each relation, and the run state's writes; and it remembers what its runs published, so
 * that a run for an older interval never replaces a table or view that a run for a newer
 * interval published while the engine held the file. Its memory ends with it: once the file
 * is let go, another process may change it.
 *
 * A DuckLake with a Postgres catalog (warehouse.sharedWriters) has no owner: other processes
 * write to it while this engine does. What this engine's locks order, they still order inside
 * the process; across processes the lake's catalog orders commits, and a commit refused for
 * conflicting with another's is run again on the new snapshot (see againOnConflict). Its
 * memory of newer publications covers this process's runs only.
 *
 * Callers open a handle (`Engine.open`) and close it; the file closes with the last handle.
 */

/** How to wait for a warehouse that another process holds. */
export interface HeldWait {
  /** Longest wait in milliseconds: 0 fails at once, Infinity waits until the signal. */
  readonly ms: number;
  /** Told once, the first time the file is found held, when pipe is going to wait. */
  readonly onHeld?: (held: WarehouseLockedError) => void;
  /** Told when the file is held by a process that lends it, asked for it: pipe waits for it to let go, whatever `ms` (see DuckDBWarehouse.open). */
  readonly onLent?: (held: WarehouseLockedError) => void;
  readonly signal?: AbortSignal;
  /** Longest pause between tries; each pause is between half of it and all of it. */
  readonly pollMs?: number;
}

const DEFAULT_POLL_MS = 100;

/** How often a transaction that conflicts with another process's commit is tried, and the pause that grows between tries. */
const CONFLICT_TRIES = 8;
const CONFLICT_PAUSE_MS = 40;

/** A table or view as a run of this process published it, for an interval. */
export interface Publication {
  readonly runId: string;
  readonly ds?: string;
  readonly interval: Interval;
  /** When it was published (ms since the epoch). */
  readonly at?: number;
  /** The hash of the query it was built from (Task.sqlHash). */
  readonly sqlHash?: string;
  /** The engine's moment (see Engine.moment) its task began to read what it is built from (its first statement). */
  readonly builtFrom?: number;
}

export type PublishResult<T> =
  | { readonly kind: 'published'; readonly value: T }
  /** A run for a newer interval published the relation already: nothing was written. */
  | { readonly kind: 'superseded'; readonly by: Publication };

/** What a caller holds of an engine; closing it lets the engine go, once. */
export interface EngineHandle extends Warehouse {
  readonly engine: Engine;
}

/**
 * Orders the publishes of one table across processes, where other processes write the same
 * tables (workers on a DuckLake: see distributed/publish-gate.ts). Without it their commits to
 * one table race, and each refused one runs again: with several workers publishing dates of one
 * table, a transaction could lose every try.
 */
export interface PublishGate {
  run<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

/**
 * Whether `newer` was published since the run that publishes now was asked for (`started`):
 * overlapping runs (a scheduler's catch-up) leave the newer interval's table. One published
 * before (by a worker, or a scheduler, that lives on) was there when the run was asked for an
 * older interval: the run builds it, as a run in a process of its own would.
 */
function overlapped(newer: Publication, started: number | undefined): boolean {
  return started === undefined || newer.at === undefined || newer.at >= started;
}

/**
 * Why a newer interval's build of `task`'s relation cannot stand for this run's: it read a
 * node this run (or another of the engine's) wrote after it (a scheduler's catch-up whose
 * older date was slow), so it misses those rows; and rebuilding it here would not build what
 * the newer run would now, since this run's query is another (it reads the date, or the
 * warehouse as it runs). The task fails, saying which build to make; with the same query, the
 * task is built (see Engine.publish).
 */
function staleNewer(task: Task, newer: Publication, missed: string): ProjectRuleError {
  const newerDate = newer.ds ?? formatDate(newer.interval.start);
  return new ProjectRuleError(
    'Superseded',
    // Runs of later intervals may build it again after this one (a catch-up's): the date to build it for is the newest then, not this one's.
    `${task.node} was published by run ${newer.runId} for a newer interval (${newerDate}) before ${missed} was written here, so that build misses it; rebuilding it for ${task.ds ?? 'this interval'} would replace it with an older interval's query: once the runs of later intervals have ended, if pipe status -s ${task.node} does not find it current, pipe run --select ${task.node} --date D rebuilds it, D the newest interval it was built for (${newerDate.slice(0, 10)} now)`,
    { file: task.file },
  );
}

export class Engine {
  /** Runs whose task outcomes were not all recorded, with the first reason, and those tasks (see recordTasks). */
  private readonly lostRecords = new Map<string, string>();
  private readonly lostTasks = new Set<string>();

  /** The engines of this process by resolved path, while they open and while they are open. */
  private static readonly byPath = new Map<string, Promise<Engine>>();
  /** Warehouse files this process reads only while no pipe command waits to write them (see readsBetweenWriters): by path, what it is. */
  private static readonly yielding = new Map<string, string>();

  /**
   * From now until the returned function is called, this process reads the DuckDB file at
   * `path` only while no pipe command waits to write it (see warehouse/duckdb/hand-over.ts):
   * a read-only open then fails as held by that command, and one that opens names the
   * process as `what` to others (pipe ui, whose pages open the file again and again).
   */
  static readsBetweenWriters(path: string, what: string): () => void {
    const key = resolve(path);
    Engine.yielding.set(key, what);
    return () => {
      if (Engine.yielding.get(key) === what) Engine.yielding.delete(key);
    };
  }

  private users = 0;
  private closed = false;
  private readonly whenClosed: Promise<void>;
  private markClosed!: () => void;
  private readonly publishLocks = new KeyedMutex();
  /** Set by a process that shares the warehouse's tables with others (a worker). */
  private publishGate: PublishGate | undefined;
  /** Per partition of a table, while transactions of its partitions share the table's lock. */
  private readonly partitionLocks = new KeyedMutex();
  /** Run-state writes that would conflict if two runs made them at once: creating schemas. */
  private readonly stateWrites = new KeyedMutex();
  private prepared = false;
  private readonly pool: SessionPool;
  /** What each run of this engine publishes, told to the others (see BuildNews). */
  readonly builds = new BuildNews();
  /** Per relation, the newest interval a run of this engine published to it. */
  private readonly newest = new Map<string, Publication>();
  /**
   * Per node, the moment a run of this engine last published to it (a date, a batch, a table):
   * another run's table built before it from it misses it. Not seeds: runs side by side load
   * the same file.
   */
  private readonly lastWrite = new Map<string, number>();
  private moments = 0;
  /** Publications begun through this engine, counted again as each ends, and how many are under way (see seedHashes). */
  private publications = 0;
  private publishing = 0;
  /** The seeds' hashes as last read, with the count of publications then (see seedHashes). */
  private seedsRead: { readonly at: number; readonly hashes: ReadonlyMap<string, string> } | undefined;

  private constructor(
    /** Its entry in `byPath`; none for a database in memory, which no other open can share. */
    private readonly key: string | undefined,
    private readonly warehouse: Warehouse,
    readonly readOnly: boolean,
  ) {
    this.whenClosed = new Promise((res) => (this.markClosed = res));
    this.pool = new SessionPool(() => warehouse.session());
  }

  /**
   * The engine of the file, opening the file if no engine has it: a WarehouseOpenError when
   * the path cannot be a warehouse, a WarehouseLockedError when another process holds it.
   * A reader shares any engine of the file; a writer waits for a reader of this process to
   * let go (readers are short), since a second instance on one file would not see the
   * other's writes. The setup of `options` runs when the file opens: every open in a process
   * comes from one project, so an engine already open has run the same setup.
   */
  static async open(path: string, options: OpenOptions = {}): Promise<EngineHandle> {
    const key = resolve(path);
    const readOnly = Boolean(options.readOnly);
    const reader = readOnly ? Engine.yielding.get(key) : undefined;
    if (reader !== undefined) {
      // Before sharing an engine open already: reads that overlap would keep the file open without a gap.
      const waiting = askedBy(path);
      if (waiting !== undefined) throw new WarehouseLockedError(path, waiting, undefined, { what: 'a pipe command waiting to write it', since: new Date().toISOString() });
      options = { ...options, holder: options.holder ?? reader };
    }
    for (;;) {
      const existing = Engine.byPath.get(key);
      if (!existing) break;
      const engine = await existing.catch(() => undefined);
      if (!engine) {
        if (Engine.byPath.get(key) === existing) Engine.byPath.delete(key);
        continue;
      }
      if (engine.closed) continue;
      if (engine.readOnly && !readOnly) {
        await engine.whenClosed;
        continue;
      }
      return engine.handle();
    }
    const lake = options.setup?.lake;
    const opening = (lake ? DuckLakeWarehouse.open(path, lake, options) : DuckDBWarehouse.open(path, options)).then((w: Warehouse) => new Engine(key, w, readOnly));
    Engine.byPath.set(key, opening);
    try {
      return (await opening).handle();
    } catch (e) {
      if (Engine.byPath.get(key) === opening) Engine.byPath.delete(key);
      throw e;
    }
  }

  /**
   * An engine of its own over an empty database in memory: what a dry run reads when the
   * warehouse file does not exist yet. It has no path, so it never enters `byPath`: no open
   * of a file can be handed it, and closing it lets go of no file's engine. It runs the
   * warehouse's setup, so that a model reads what it would read in the file.
   */
  static async inMemory(setup?: WarehouseSetup, name?: string): Promise<EngineHandle> {
    return new Engine(undefined, await DuckDBWarehouse.inMemory(setup, name), true).handle();
  }

  /**
   * Opens the file, waiting while another process holds it: tries again every 50 to 100 ms
   * (at random, so that a reader opening and closing it in a loop cannot keep pipe out for
   * long) until `wait.ms` have passed, then throws the holder's WarehouseLockedError. Stops
   * with the signal's reason when the signal is aborted, before opening anything.
   */
  static async openWhenFree(path: string, options: OpenOptions, wait: HeldWait): Promise<EngineHandle> {
    const started = Date.now();
    let told = false;
    // A writer waiting asks for the file (see hand-over.ts): readers that let go between reads open it no more.
    let asked = false;
    try {
      for (;;) {
        await throwIfStopped(wait.signal);
        try {
          return await Engine.open(path, wait.onLent === undefined ? options : { ...options, onLent: wait.onLent });
        } catch (e) {
          if (!(e instanceof WarehouseLockedError)) throw e;
          const waited = Date.now() - started;
          if (waited >= wait.ms) throw wait.ms > 0 ? e.waited(waited) : e;
          if (!options.readOnly && !options.setup?.lake && !existsSync(requestFile(path))) {
            askFor(path);
            asked = true;
          }
          // Told once asked: whoever hears of the wait finds the request there.
          if (!told) wait.onHeld?.(e);
          told = true;
          const poll = wait.pollMs ?? DEFAULT_POLL_MS;
          await sleep(Math.min(poll / 2 + (Math.random() * poll) / 2, wait.ms - waited), wait.signal);
        }
      }
    } finally {
      if (asked) withdraw(path);
    }
  }

  /** What users see: the path of the warehouse file. */
  get location(): string {
    return this.warehouse.location;
  }

  /** A connection of its own, which the caller closes. */
  session(): Promise<WarehouseSession> {
    return this.warehouse.session();
  }

  /** A pooled connection, for a task's whole life; give it back with `release`. */
  acquire(): Promise<WarehouseSession> {
    return this.pool.acquire();
  }

  release(session: WarehouseSession): void {
    this.pool.release(session);
  }

  /** Runs `work` on a pooled connection. */
  async withSession<T>(work: (session: WarehouseSession) => Promise<T>): Promise<T> {
    const session = await this.acquire();
    try {
      return await work(session);
    } finally {
      this.release(session);
    }
  }

  /**
   * Runs `commit`, the publishing transaction of `task`, while no other run of the process
   * publishes to the same relation: a check that reads the whole table inside it sees every
   * commit before its own. A table or view is replaced whole (and a merge replaces rows a newer
   * run may have replaced), so it is not published for an interval older than one a run of
   * this process already published it for: `commit` does not run, and what supersedes it is
   * returned.
   *
   * `partition`: the transaction replaces that partition of the table alone, and reads no other
   * row of it: it shares the table with other such transactions (DuckDB lets transactions of
   * one instance delete and append different rows of one table side by side), and excludes only
   * those of the same partition and whatever takes the table whole.
   */
  async publish<T>(runId: string, task: Task, commit: () => Promise<T>, partition?: string, batch?: PublishBatch, builtFrom = this.moment()): Promise<PublishResult<T>> {
    this.publications++;
    this.publishing++;
    try {
      return await this.publishHeld(runId, task, commit, partition, batch, builtFrom);
    } finally {
      this.publishing--;
      this.publications++;
    }
  }

  /**
   * Each seed's latest loaded hash, as readSeedHashes reads it. A command reads them as it
   * prepares the warehouse and again as its run starts: where this process alone writes the
   * warehouse, the second read is the first's when no publication (whose transaction is the
   * only writer of seeds' loads and builds, see publish) began or ended since, nor was under
   * way then. A copy: the caller's changes are its own.
   */
  async seedHashes(session: WarehouseSession): Promise<Map<string, string>> {
    const read = this.seedsRead;
    if (this.ownsWarehouse && read !== undefined && read.at === this.publications && this.publishing === 0) return new Map(read.hashes);
    const at = this.publications;
    const quiet = this.publishing === 0;
    const hashes = await readSeedHashes(session);
    if (this.ownsWarehouse && quiet && at === this.publications) this.seedsRead = { at, hashes: new Map(hashes) };
    return hashes;
  }

  private async publishHeld<T>(runId: string, task: Task, commit: () => Promise<T>, partition: string | undefined, batch: PublishBatch | undefined, builtFrom: number): Promise<PublishResult<T>> {
    // In a batch (see commit-batch.ts), the lock is the batch's, let go when it ends.
    const release = batch ? (await batch.lock(task, partition), undefined) : await this.publishLock(task.lockKey, partition);
    try {
      const spec = taskMaterialization(task.kind);
      const replaces = spec?.laterRunSupersedes ? task.interval : undefined;
      // What a newer build of a table reading it may have missed: a date written into a table, or
      // a table built again (one a newer build stood for, rebuilt here). Not a seed: runs side by
      // side load the same file.
      const writes = task.kind !== 'seed';
      const newer = replaces && this.newest.get(task.relation);
      // What this publish stands for: its own interval, or a newer one it builds again (below).
      let publishes = replaces && { ds: task.ds, interval: replaces };
      if (newer && replaces && newer.runId !== runId && newer.interval.end > replaces.end && overlapped(newer, runStartOf(runId))) {
        const missed = this.writtenSince(task, newer.builtFrom);
        if (missed === undefined) return { kind: 'superseded', by: newer };
        // The newer build misses what this run wrote since: built again here from the same
        // query, it is what the newer run would build now, and stands for that interval.
        if (task.sqlHash === undefined || task.sqlHash !== newer.sqlHash) throw staleNewer(task, newer, missed);
        publishes = { ds: newer.ds, interval: newer.interval };
      }
      const published = () => {
        if (writes) this.lastWrite.set(task.node, this.moment());
        if (publishes) this.newest.set(task.relation, { runId, ...publishes, at: Date.now(), sqlHash: task.sqlHash, builtFrom });
      };
      if (batch) {
        const value = await commit();
        // Committed with the batch, after this returns: counted then too (see seedHashes).
        batch.onCommit(() => {
          this.publications++;
          published();
        });
        return { kind: 'published', value };
      }
      const value = this.publishGate ? await this.publishGate.run(task.relation, () => this.againOnConflict(commit)) : await this.againOnConflict(commit);
      published();
      return { kind: 'published', value };
    } finally {
      release?.();
    }
  }

  /**
   * A moment of this engine: a number that grows with each one asked, so that what happened
   * before what is known whatever the clock says (two commits fall in one millisecond).
   */
  moment(): number {
    return ++this.moments;
  }

  /** A node `task` reads (an upstream task's) that a run of this engine published to after moment `at`; undefined when none. */
  private writtenSince(task: Task, at: number | undefined): string | undefined {
    for (const id of task.upstream) {
      const node = nodeOfTaskId(id);
      if (node === task.node) continue;
      const written = this.lastWrite.get(node);
      if (written !== undefined && (at === undefined || written > at)) return node;
    }
    return undefined;
  }

  /**
   * The lock a publish to the relation of `key` holds (see publish), once it may: the relation
   * alone, or, for one `partition`, the relation shared with its other partitions' and the
   * partition alone.
   */
  async publishLock(key: string, partition: string | undefined): Promise<() => void> {
    if (partition === undefined) return this.publishLocks.acquire(key, true);
    const table = await this.publishLocks.acquire(key, false);
    return both(await this.partitionLocks.acquire(`${key}\0${partition}`, true), table);
  }

  /** The lock `publishLock` takes, when it needs no wait; undefined (and nothing held) otherwise. */
  tryPublishLock(key: string, partition: string | undefined): (() => void) | undefined {
    if (partition === undefined) return this.publishLocks.tryAcquire(key, true);
    const table = this.publishLocks.tryAcquire(key, false);
    const own = table && this.partitionLocks.tryAcquire(`${key}\0${partition}`, true);
    if (!own) table?.();
    return own && both(own, table!);
  }

  /** Whether a publish waits for the lock of `key` (or of its `partition`). */
  publishWanted(key: string, partition?: string): boolean {
    return this.publishLocks.wanted(key) || (partition !== undefined && this.partitionLocks.wanted(`${key}\0${partition}`));
  }

  /** Whether no other process writes the warehouse while this engine holds it (a DuckDB file; not a lake others share). */
  get ownsWarehouse(): boolean {
    return !this.warehouse.sharedWriters;
  }

  /**
   * Whether a run may commit several tasks in one transaction (see commit-batch.ts): a DuckDB
   * file this process alone writes. A lake's commits are ordered with other processes', and
   * each of its transactions is a snapshot others read.
   */
  get batchesCommits(): boolean {
    return !this.readOnly && this.ownsWarehouse && this.warehouse.dialect === DUCKDB;
  }

  /** Publishes of one table wait for those of other processes through `gate` from now on. */
  gatePublishes(gate: PublishGate): void {
    this.publishGate = gate;
  }

  /**
   * Runs `work`, a transaction, again while its commit conflicts with another process's
   * (a lake several processes write to: see DuckLakeWarehouse). The conflicting transaction
   * rolled back whole, so running it again on the newer snapshot does what it would have done
   * had it come second: a swap replaces the other's table, a partition replace deletes and
   * inserts its date again, the checks read the new state. Inside a process, the publish lock
   * already orders publishes to one relation; this orders them across processes.
   */
  private async againOnConflict<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (e) {
        if (!this.warehouse.sharedWriters || !isCommitConflict(e) || attempt >= CONFLICT_TRIES) throw e;
        await sleep(CONFLICT_PAUSE_MS * attempt * (0.5 + Math.random() / 2));
      }
    }
  }

  /**
   * The file is as an engine of this process left it once prepared, with nothing written by
   * another since (watch knows by the file's stamp): preparing again would find nothing to
   * create or recover, so it is not done.
   */
  preparedAlready(): void {
    this.prepared = true;
  }

  /**
   * Makes the warehouse ready for the runs of this engine, before the first one starts:
   * creates pipe's state schema if needed and recovers from a process that died holding the
   * file (see recoverAfterCrash), telling the logs of the runs it recovers how they ended.
   * Nothing of this process runs yet then: on a DuckDB file every run still marked running is
   * dead, and every staging table left over; on a lake other processes write to, only the
   * runs of processes of this machine that are gone.
   */
  prepareForWriting(
    /** The warehouse's relations as the caller listed them through this engine, nothing written since (see Catalog.listed). */
    listed?: readonly FoundRelation[],
    /** Told of what makes the preparing take a moment (a long history's builds moved aside). */
    emit?: EventSink,
  ): Promise<void> {
    return this.stateWrites.run('state', async () => {
      if (this.prepared) return;
      await this.withSession(async (s) => {
        await this.againOnConflict(() => ensureState(s, this.ownsWarehouse ? listed : undefined));
        const { interruptedRuns } = await this.againOnConflict(() =>
          recoverAfterCrash(s, this.warehouse.sharedWriters ? { alive: isAliveHere } : undefined, this.ownsWarehouse ? listed : undefined),
        );
        if (this.key !== undefined) {
          await this.recordDiedTasks(s, this.key, interruptedRuns);
          await reconcileRunLogs(this.key, s, interruptedRuns);
        }
        // Nothing of this process runs yet, and no other process writes the file. A move that
        // fails is rolled back whole and leaves the record as it was: the command goes on.
        if (this.batchesCommits) {
          const moving = (rows: number) => {
            const message = moveNotice(rows);
            if (message !== undefined) emit?.({ type: 'notice', message });
          };
          await archiveSupersededBuilds(s, ARCHIVE_FROM_ROWS, moving).catch(() => undefined);
        }
      });
      this.prepared = true;
    });
  }

  /**
   * The tasks each run found dead was running, as its log tells them (started, never ended):
   * recorded cancelled, with when they started, so that history and the UI show which tasks
   * were in flight and for how long (a task never recorded shows as not started). Until the
   * log's last word of the process: it died after that. Never fails the opening: the logs are a view.
   */
  private async recordDiedTasks(session: WarehouseSession, warehousePath: string, runIds: readonly string[]): Promise<void> {
    for (const runId of runIds) {
      try {
        const [run] = readRunLogs(warehousePath, { runId, alive: () => false });
        if (!run || run.reconciled) continue;
        const at = (t: string | null) => {
          const ms = t === null ? NaN : Date.parse(`${t.replace(' ', 'T')}Z`);
          return Number.isFinite(ms) ? ms : undefined;
        };
        // Folded, not spread: a backfill's log has a task for each model and date.
        const lastSign = run.task_rows.reduce((last, t) => Math.max(last, at(t.started_at) ?? -Infinity, at(t.ended_at) ?? -Infinity), -Infinity);
        // Read as a dead run's log is: a task started and never ended is pending there, with its start;
        // one the warehouse has an outcome of (its line of the log cut short by the kill) is that outcome.
        const recorded = await taskIdsWithResults(session, runId);
        const died = run.task_rows.filter((t) => t.status === 'pending' && !recorded.has(t.task_id) && at(t.started_at) !== undefined);
        await this.recordTasks(
          session,
          died.map((t) => {
            // To the millisecond where the log tells it: to the second, it would be drawn before tasks that started before it.
            const startedAt = t.started_ms ?? at(t.started_at)!;
            return { runId, taskId: t.task_id, attempt: t.attempts ?? 1, status: 'cancelled' as const, startedAt, endedAt: Math.max(startedAt, lastSign), detail: 'its process died while it ran', ...(t.worker === null ? {} : { worker: t.worker }) };
          }),
        );
      } catch {
        // a view only: the run is recovered as interrupted all the same
      }
    }
  }

  /**
   * Records the run and its planned tasks, and creates the schemas its tasks write to, in
   * one transaction. Two runs creating one schema at once would fail on a write-write
   * conflict, so the runs of the process start one at a time.
   */
  startRun(session: WarehouseSession, run: RunRecord, tasks: readonly PlannedTaskRecord[], schemas: Iterable<string>): Promise<void> {
    return this.stateWrites.run('state', () =>
      this.againOnConflict(() =>
        session.transaction([
          ...[...new Set(schemas)].map((schema) => `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`),
          insertRunSql(run),
          ...insertTasksSql(run.runId, tasks),
        ]).then(() => undefined),
      ),
    );
  }

  /** Records runs whose coordinator (on any machine) is gone as ended: see endDeadRuns. */
  async endDeadRuns(runIds: readonly string[]): Promise<void> {
    if (runIds.length === 0) return;
    await this.withSession((s) => this.againOnConflict(() => endDeadRuns(s, runIds)));
  }

  async finishRun(runId: string, status: RunEndStatus, endedAt: number): Promise<void> {
    await this.withSession((s) => s.exec(finishRunSql(runId, status, endedAt)));
  }

  /**
   * Records an attempt of a task, outside its publishing transaction (a success is recorded
   * inside it). Error text can quote a secret (a value DuckDB could not convert): stored
   * masked. A record that cannot be written does not fail the task.
   */
  async recordTask(session: WarehouseSession, record: TaskResultRecord): Promise<void> {
    await this.recordTasks(session, [record]);
  }

  /** Records several attempts in one statement (see recordTask). */
  async recordTasks(session: WarehouseSession, records: readonly TaskResultRecord[]): Promise<void> {
    if (records.length === 0) return;
    const masked = records.map((r) => ({ ...r, error: r.error && secrets.mask(r.error), detail: r.detail && secrets.mask(r.detail) }));
    await record(session, taskResultsSql(masked)).catch((e: unknown) => {
      const message = e instanceof Error ? e.message : String(e);
      const why = interrupted(e) ? 'the statement recording them was interrupted' : (diskFull(message) ?? stoppedDatabase(message) ?? message.split('\n')[0]);
      for (const r of records) {
        if (!this.lostRecords.has(r.runId)) this.lostRecords.set(r.runId, why);
        this.lostTasks.add(`${r.runId}\u0000${r.taskId}`);
      }
    });
  }

  /** Why some outcome of the run's tasks (of its task `taskId`) could not be recorded (a full disk, a lost catalog), if one could not: its history is not whole. */
  lostRecordOf(runId: string, taskId?: string): string | undefined {
    if (taskId !== undefined && !this.lostTasks.has(`${runId}\u0000${taskId}`)) return undefined;
    return this.lostRecords.get(runId);
  }

  /** Records the hash of the SQL a task runs, when it was rendered again as it ran. */
  async recordTaskHash(session: WarehouseSession, runId: string, taskId: string, sqlHash: string): Promise<void> {
    await record(session, taskSqlHashSql(runId, taskId, sqlHash)).catch(() => undefined);
  }

  /** Records a check's result, its failing rows masked. */
  async recordCheck(session: WarehouseSession, record: CheckResultRecord): Promise<void> {
    await this.recordChecks(session, [record]).catch(() => undefined);
  }

  /** Records checks' results in one call, their failing rows masked; throws when they cannot be written. */
  async recordChecks(session: WarehouseSession, records: readonly CheckResultRecord[]): Promise<void> {
    if (records.length === 0) return;
    const sql = records.map((r) => checkResultSql({ ...r, sample: secrets.maskDeep(r.sample) })).join('\n;\n');
    // Several statements are not sent again: those before the one interrupted have written.
    await (records.length === 1 ? record(session, sql) : session.exec(sql));
  }

  /** Tells other processes that find the warehouse busy what holds it (e.g. which run). */
  announce(what: string): void {
    this.warehouse.announce(what);
  }

  private handle(): EngineHandle {
    this.users++;
    let released = false;
    const engine = this;
    return {
      engine,
      location: engine.location,
      dialect: engine.warehouse.dialect,
      sharedWriters: engine.warehouse.sharedWriters,
      session: () => engine.session(),
      announce: (what) => engine.announce(what),
      gone: () => engine.warehouse.gone?.(),
      close: () => {
        if (released) return;
        released = true;
        engine.letGo();
      },
    };
  }

  /** One handle fewer; the last one closes the file. */
  private letGo(): void {
    this.users--;
    if (this.users > 0 || this.closed) return;
    this.closed = true;
    if (this.key !== undefined) Engine.byPath.delete(this.key);
    this.pool.close();
    this.warehouse.close();
    this.markClosed();
  }
}

/** Lets go of a partition's lock, then of its table's. */
function both(partition: () => void, table: () => void): () => void {
  return () => {
    partition();
    table();
  };
}

/**
 * Whether the process of a run may still be running. One of another machine may, as far as
 * this one can tell; one of this machine is alive when it exists and is not this process
 * (whose runs of an earlier engine are over: its runs start after this engine prepares).
 */
function isAliveHere(pid: number, host: string | null, startedMs: number | undefined): boolean {
  if (host !== hostname()) return true;
  if (pid === process.pid) return false;
  return processAlive(pid, startedMs);
}

/**
 * Throws the signal's reason if it was aborted, after letting signals that already arrived
 * reach their handlers: Node runs a signal handler only when its event loop polls, and the
 * code before this point may not have let it (two turns of the loop hold one poll).
 */
export async function throwIfStopped(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return;
  for (let turn = 0; turn < 2; turn++) await new Promise<void>((res) => setImmediate(res));
  signal.throwIfAborted();
}

/**
 * Writes a record of the run state, one statement. An interrupt sent to the session for a query
 * of a task (a commit batch's deadline) may reach it instead, and it is undone whole: it is
 * sent once more.
 */
async function record(session: WarehouseSession, sql: string): Promise<void> {
  await session.exec(sql).catch((e: unknown) => (interrupted(e) ? session.exec(sql) : Promise.reject(e)));
}

/** An error of a statement that an interrupt stopped (see Interrupter and the commit batch's deadline). */
function interrupted(e: unknown): boolean {
  return e instanceof WarehouseError ? /^interrupt/i.test(e.kind) : /^INTERRUPT Error/.test(e instanceof Error ? e.message : String(e));
}
