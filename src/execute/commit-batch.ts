import type { EventSink, PipeEvent } from '../events/events.js';
import type { Step, Task } from '../plan/task.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';
import { insertBuildsSql, type BuildOutcome, type BuildRecord } from '../warehouse/build-records.js';
import { taskResultsSql, type TaskResultRecord } from '../warehouse/run-state.js';
import type { Engine } from './engine.js';

/**
 * Several tasks published in one transaction, on one connection, one after another.
 *
 * DuckDB spends about as long opening and committing a transaction, and appending a task's
 * one record row, as a small model takes to build (a millisecond or more each). A connection
 * that finishes a task therefore takes the next ready one into the same transaction, and the
 * tasks commit together: each task's statements, checks and records are the same as alone, so
 * each task is still all or nothing, and its record still commits with its data.
 *
 * - The first task of a batch runs exactly as alone (its staging outside the transaction, its
 *   failures, retries and errors its own), except that its publishing transaction is left
 *   open. The tasks that join it run every statement inside it.
 * - A task's downstream is not released before the commit: another connection would not see
 *   its table yet. The tasks of a batch are therefore independent of each other. Its
 *   transaction reads the warehouse as it was when it began: a task joins only if every task it
 *   waits for had settled by then, not one released by a commit on another connection since.
 * - A task that fails after joining rolls the whole batch back: the others run again alone, in
 *   order, and so does it, where it fails with its usual error and retries. What a task tells
 *   (its events) and what the run remembers of it wait for the commit, so that a task rolled
 *   back and run again is told once.
 * - Only small tasks join: a batch takes no more after a few dozen tasks or milliseconds, and
 *   a task that joined and is still running after as many milliseconds is stopped and runs
 *   alone (its model then starts batches and joins none for the rest of the run). So a task
 *   that fails or runs long costs at most that much work done twice.
 * - A batch holds the publish lock of each of its tables until it ends, and takes a lock only
 *   when it is free: it never waits while holding others. It ends at the first task whose lock
 *   another holds, as soon as someone waits for one of its locks, and when its connection finds
 *   no ready task.
 * - Tasks that run statements DuckDB may refuse inside a transaction (hooks), write files, or
 *   render against the warehouse run alone.
 */

/** Most tasks in one batch, and longest time from its first task's start to its last's. */
export const BATCH_MAX_TASKS = 64;
export const BATCH_MAX_MS = 40;

/** What the publish of a task in a batch asks of it (see Engine.publish). */
export interface PublishBatch {
  /** Holds the lock of a task's publish (see Engine.publishLock) until the batch ends. */
  lock(task: Task, partition: string | undefined): Promise<void>;
  /** Runs `fn` once the batch committed. */
  onCommit(fn: () => void): void;
  /** A task's success, written with the batch's commit, with the others' in one statement. */
  record(success: Success): void;
}

/** A task's success as its record: in the row of the build it published, or in a row of its own. */
export type Success = { readonly build: BuildRecord; readonly outcome: BuildOutcome } | { readonly result: TaskResultRecord };

/** What a task tells and changes in memory: at once, or (in a batch) once its batch commits. */
export interface Effects {
  readonly emit: EventSink;
  later(fn: () => void): void;
}

export function immediateEffects(emit: EventSink): Effects {
  return { emit, later: (fn) => fn() };
}

/** A task's effects held until its batch commits, and dropped if the batch rolls back. */
export class HeldEffects implements Effects {
  private readonly held: (() => void)[] = [];

  constructor(private readonly emitNow: EventSink) {}

  emit: EventSink = (e: PipeEvent) => {
    this.held.push(() => this.emitNow(e));
  };

  later = (fn: () => void): void => {
    this.held.push(fn);
  };

  release(): void {
    for (const fn of this.held.splice(0)) fn();
  }

  /** Releases what is held, and holds nothing from now on: the task goes on alone. */
  passThrough(): void {
    this.release();
    this.emit = this.emitNow;
    this.later = (fn) => fn();
  }
}

/** A publish lock a batch holds: a relation's alone, or one partition's (the relation shared). */
interface Hold {
  readonly key: string;
  readonly partition?: string;
  readonly release: () => void;
}

export class CommitBatch implements PublishBatch {
  /** The connection as the batch's tasks use it: their transactions join the batch's. */
  readonly session: WarehouseSession;
  /** Tasks taken into the batch (whether or not they ran to their end yet). */
  size = 0;
  private readonly holds: Hold[] = [];
  private readonly committed: (() => void)[] = [];
  private readonly successes: Success[] = [];
  private readonly startedAt = Date.now();
  private began = false;
  /**
   * How many tasks of the run had settled when its transaction began: its tasks read the
   * warehouse as it was then (DuckDB's snapshot of a transaction), so a task may join only if
   * what it reads was committed by those (see reads).
   */
  private snapshot = 0;

  private constructor(
    private readonly engine: Engine,
    private readonly inner: WarehouseSession,
    /** How many tasks of the run have settled so far (see Executor's settle). */
    private readonly settled: () => number,
  ) {
    this.session = {
      dialect: inner.dialect,
      exec: (sql) => inner.exec(sql),
      query: (sql) => inner.query(sql),
      table: (sql) => inner.table(sql),
      transaction: async (statements, options) => {
        if (this.began) return inner.transaction(statements, { ...options, within: true });
        // Read before the transaction begins: a commit settled after this may not be in its snapshot.
        this.snapshot = this.settled();
        const count = await inner.transaction(statements, { ...options, leaveOpen: true });
        this.began = true;
        return count;
      },
      statementCount: (sql) => inner.statementCount(sql),
      rollback: () => Promise.reject(new Error('internal error: a task of a batch ends its transaction')),
      interrupt: () => inner.interrupt(),
      close: () => undefined,
      sessionOfConnection: inner.sessionOfConnection ?? inner,
    };
  }

  /**
   * A batch on `session`, for `first` to run in: its transaction begins with the first task's
   * publishing transaction, which is then left open; the first task runs as it would alone,
   * and its publish waits for its lock as it would.
   */
  static start(engine: Engine, session: WarehouseSession, settled: () => number): CommitBatch {
    const batch = new CommitBatch(engine, session, settled);
    batch.size = 1;
    return batch;
  }

  /** Whether its transaction began (a task published in it). */
  get begun(): boolean {
    return this.began;
  }

  /** Whether the batch should take another task: it has room, and no one waits for a lock it holds. */
  get open(): boolean {
    if (!this.began) return false;
    return this.size < BATCH_MAX_TASKS && Date.now() - this.startedAt < BATCH_MAX_MS && !this.holds.some((h) => this.engine.publishWanted(h.key, h.partition));
  }

  /**
   * Whether the batch's snapshot holds what `task` reads from the run: every task it waits for
   * (`settledAs`, the count of settled tasks when each settled; none for a task not of the run)
   * settled before the batch's transaction began. A task released by a commit made on another
   * connection since would read the upstream as it was before it (an empty partition), and
   * record it as current.
   */
  reads(task: Task, settledAs: (taskId: string) => number | undefined): boolean {
    for (const id of task.upstream) if ((settledAs(id) ?? 0) > this.snapshot) return false;
    for (const id of task.after ?? []) if ((settledAs(id) ?? 0) > this.snapshot) return false;
    return true;
  }

  /**
   * Takes `task` into the open batch with the publish lock it will ask for (see
   * expectedPartition); false (and nothing taken) when another holds or waits for it.
   */
  take(task: Task, seen: (table: string) => boolean): boolean {
    const partition = expectedPartition(task, this.inner, seen);
    if (!this.holding(task.lockKey, partition)) {
      const release = this.engine.tryPublishLock(task.lockKey, partition);
      if (!release) return false;
      this.holds.push({ key: task.lockKey, partition, release });
    }
    this.size++;
    return true;
  }

  /**
   * The lock of a task's publish: the first task's is taken now, waiting as alone (the batch
   * holds nothing else yet); a task that joined took its own (see take), and one that asks for
   * another (the whole table where its partition was expected) fails, to run again alone.
   */
  async lock(task: Task, partition: string | undefined): Promise<void> {
    if (this.holding(task.lockKey, partition)) return;
    if (this.began) throw new Error(`${task.id} publishes the whole table in a batch that holds one partition of it: run again alone`);
    this.holds.push({ key: task.lockKey, partition, release: await this.engine.publishLock(task.lockKey, partition) });
  }

  onCommit(fn: () => void): void {
    this.committed.push(fn);
  }

  record(success: Success): void {
    this.successes.push(success);
  }

  /** Commits the batch with its tasks' records; a refused commit rolls it back and throws. The locks are let go either way. */
  async commit(): Promise<void> {
    if (!this.began) return this.letGo();
    const builds = this.successes.flatMap((s) => ('build' in s ? [s] : []));
    const results = this.successes.flatMap((s) => ('result' in s ? [s.result] : []));
    const records = [insertBuildsSql(builds), results.length > 0 ? taskResultsSql(results) : undefined].filter((sql) => sql !== undefined);
    try {
      await this.inner.exec([...records, 'COMMIT'].join('\n;\n'));
    } catch (e) {
      await this.inner.rollback();
      this.letGo();
      throw e;
    }
    for (const fn of this.committed.splice(0)) fn();
    this.letGo();
  }

  async rollback(): Promise<void> {
    if (this.began) await this.inner.rollback();
    this.began = false;
    this.letGo();
  }

  /** Whether a lock it holds covers a publish to `key` (or to its `partition`). */
  private holding(key: string, partition: string | undefined): boolean {
    return this.holds.some((h) => h.key === key && (h.partition === undefined || h.partition === partition));
  }

  /** Ends the batch, committed or not: its locks are let go, its records and what waited for its commit dropped. */
  private letGo(): void {
    for (const h of this.holds.splice(0)) h.release();
    this.successes.length = 0;
    this.committed.length = 0;
  }
}

/**
 * The partition a task's publish will lock (see Engine.publish and step-runner's sharesTable):
 * one partition written on an engine that lets transactions share the table, with nothing in
 * the transaction that writes or reads the rest of it, of a table the run has `seen` with the
 * columns the partition's rows have. Otherwise (the table may not exist yet, or change its
 * columns) the whole table. Should the publish ask for the whole table after all (a column
 * changed), the task runs again alone.
 */
function expectedPartition(task: Task, session: WarehouseSession, seen: (table: string) => boolean): string | undefined {
  const publish = task.steps.find((s) => s.kind === 'publish');
  if (publish?.kind !== 'publish' || !publish.partition || session.dialect.concurrentPartitions !== true) return undefined;
  if ((publish.inside ?? []).length > 0 || (publish.after ?? []).length > 0 || (publish.checks ?? []).some((c) => c.wholeTable === true)) return undefined;
  const schema = task.steps.find((s) => s.kind === 'schema-change');
  return schema?.kind === 'schema-change' && seen(schema.target) ? publish.partition.inside : undefined;
}

/**
 * Whether a task may run in a batch: every statement it runs may run inside a transaction, and
 * it neither writes files nor renders against the warehouse (which records outside it), nor
 * keeps a test's failing rows (written once its own transaction has ended).
 */
export function batchable(task: Task): boolean {
  return task.renderAtRun === undefined && task.steps.every(stepBatchable);
}

function stepBatchable(step: Step): boolean {
  switch (step.kind) {
    case 'statement':
    case 'assert-empty':
    case 'cleanup':
    case 'schema-change':
    case 'columns':
    case 'type-changes':
    case 'contract':
    case 'snapshot-merge':
    case 'unit-test':
      return true;
    case 'check':
      return step.storeFailures === undefined;
    case 'publish':
      return (step.after ?? []).length === 0 && (step.inside ?? []).every(stepBatchable) && (step.checks ?? []).every(stepBatchable);
    case 'hook':
    case 'write-file':
    case 'remove-file':
    case 'persist-docs':
    case 'refuse':
      return false;
    default: {
      const never: never = step;
      throw new Error(`internal error: step ${JSON.stringify(never)}`);
    }
  }
}
