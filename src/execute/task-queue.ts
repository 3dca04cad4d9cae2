import TinyQueue from 'tinyqueue';
import { SlowStart } from './slow-start.js';

/**
 * Which task may start next, and what follows from how each one ended: the half of the
 * executor that decides, with no I/O and no promises (the loop in executor.ts runs what it
 * hands out and gives the outcomes back).
 *
 * - A task starts once every task of its `upstream` has succeeded and every task of its
 *   `after` has ended, whatever the outcome; ids outside the queue are ignored.
 * - Among ready tasks the one given first starts first: the order of the tasks is their priority.
 * - At most `threads` tasks are out at once.
 * - Tasks that carry a `group` (a backfill's date) are admitted a group at a time when
 *   `parallel` is set: at most that many groups in flight, fewer while slow start grows the
 *   window (see slow-start.ts). A group in flight may wait for a task of a group not admitted
 *   yet (a date's model reads a table built once per backfill, after every date of what it
 *   reads; a `depends_on_past` model backfilled newest first): when nothing is out or parked
 *   that could end and free the window, the next group is admitted past it, so that the run
 *   never stalls with tasks that could run.
 * - A failed or skipped task skips everything downstream of it, however indirectly.
 * - After `maxFailures` failed tasks nothing more starts; what is out may still end.
 * - Each task is handed out once, and settled once; a task parked in between (it ran, its
 *   outcome waits for its batch's commit) no longer counts as out.
 */

export interface QueuedTask {
  readonly id: string;
  /** Tasks that must succeed first. */
  readonly upstream: readonly string[];
  /** Tasks that must have ended first, whatever their outcome. */
  readonly after?: readonly string[];
  readonly group?: string;
}

export interface QueueOptions {
  readonly threads: number;
  /** Most groups in flight at once; unlimited (and no group is gated) when absent. */
  readonly parallel?: number;
  /** Start with one group in flight and double as groups succeed (default true when `parallel` is set). */
  readonly slowStart?: boolean;
  /** Start nothing more once this many tasks have failed. */
  readonly maxFailures?: number;
}

export type TaskOutcome = 'succeeded' | 'failed' | 'skipped' | 'cancelled';

/** The groups' counters, when groups are gated. */
export interface GroupProgress {
  readonly total: number;
  readonly done: number;
  readonly failed: number;
  /** Ended by a stop, with nothing failed. */
  readonly cancelled: number;
  readonly inFlight: number;
  /** Groups allowed in flight now, and at most. */
  readonly window: number;
  readonly limit: number;
}

export interface Taken<T> {
  readonly task: T;
  /** Set when the task is the first of its group to start: the counters after it. */
  readonly progress?: GroupProgress;
}

export interface Settlement<T> {
  /** Tasks that will not run because `cause` (the settled task) did not succeed, in the order they were reached. */
  readonly skipped: readonly { readonly task: T; readonly cause: T }[];
  /** Set when this outcome used up the failure budget: nothing more starts. */
  readonly stopped?: { readonly failed: number; readonly maxFailures: number };
  /** Set when a group ended with this outcome: the counters after it. */
  readonly progress?: GroupProgress;
}

export interface QueueCounts {
  readonly succeeded: number;
  readonly failed: number;
  readonly skipped: number;
  readonly cancelled: number;
}

interface Group {
  total: number;
  settled: number;
  failed: boolean;
  /** A task of it was cancelled (a stop), none failed. */
  cancelled: boolean;
  started: boolean;
}

type State = 'waiting' | 'ready' | 'out' | 'parked' | 'settled';

export class TaskQueue<T extends QueuedTask> {
  private readonly index = new Map<string, number>();
  /** Per task: how many of its upstream and after tasks have not released it yet. */
  private readonly waiting: number[];
  private readonly downstream: number[][];
  /** Tasks that wait for a task to end, whatever its outcome. */
  private readonly followers: number[][];
  private readonly state: State[];
  /**
   * Ready tasks by index (= priority), the lowest first, in two heaps so that taking one costs log n however
   * many are ready (a wide graph has thousands at once): `free`, those that may start whatever
   * the window (no group, a group admitted, or no gating); `held`, those of groups not admitted.
   * A group admitted moves its held tasks to `free`; their entries left in `held` are passed
   * over as they come up (see heldTop).
   */
  private readonly free = new TinyQueue<number>([], byIndex);
  private readonly held = new TinyQueue<number>([], byIndex);
  /** Per group not admitted, its tasks in `held`. */
  private readonly heldOf = new Map<Group, number[]>();
  /** Whether a task is in `held` still (not taken, not moved to `free`). */
  private readonly isHeld: boolean[];
  private readonly groups = new Map<string, Group>();
  private readonly window: SlowStart;
  private readonly threads: number;
  private readonly gated: boolean;
  private groupsInFlight = 0;
  private groupsDone = 0;
  private groupsFailed = 0;
  private groupsCancelled = 0;
  private out = 0;
  private parked = 0;
  private halted = false;
  private readonly count = { succeeded: 0, failed: 0, skipped: 0, cancelled: 0 };

  constructor(
    private readonly tasks: readonly T[],
    private readonly options: QueueOptions,
  ) {
    tasks.forEach((t, i) => {
      if (this.index.has(t.id)) throw new Error(`internal error: task ${t.id} queued twice`);
      this.index.set(t.id, i);
    });
    this.downstream = tasks.map(() => []);
    this.followers = tasks.map(() => []);
    this.waiting = tasks.map((t, i) => {
      let n = 0;
      for (const u of t.upstream) {
        const j = this.index.get(u);
        if (j === undefined) continue;
        this.downstream[j].push(i);
        n++;
      }
      for (const u of t.after ?? []) {
        const j = this.index.get(u);
        if (j === undefined) continue;
        this.followers[j].push(i);
        n++;
      }
      return n;
    });
    this.state = tasks.map(() => 'waiting');
    this.isHeld = tasks.map(() => false);
    for (const t of tasks) {
      if (t.group === undefined) continue;
      const g = this.groups.get(t.group) ?? { total: 0, settled: 0, failed: false, cancelled: false, started: false };
      g.total++;
      this.groups.set(t.group, g);
    }
    this.threads = Math.max(1, Math.min(options.threads, tasks.length || 1));
    this.gated = options.parallel !== undefined && this.groups.size > 0;
    const limit = options.parallel ?? Number.MAX_SAFE_INTEGER;
    this.window = new SlowStart(limit, options.slowStart === false ? (options.parallel ?? 1) : 1);
    tasks.forEach((_, i) => {
      if (this.waiting[i] === 0) this.makeReady(i);
    });
  }

  /** The next task that may start now, if any; it counts as out until it is settled. */
  take(): Taken<T> | undefined {
    if (this.halted || this.out >= this.threads) return undefined;
    const free = this.free.peek();
    const held = this.heldTop();
    // A held task may start while the window has room; else only a free one.
    let i = held !== undefined && this.groupsInFlight < this.window.current && (free === undefined || held < free) ? held : free;
    // Every ready task is of a group not admitted, and nothing that could end is out: the
    // groups in flight wait for one of them. The first is admitted past the window.
    if (i === undefined && held !== undefined && this.out === 0 && this.parked === 0) i = held;
    if (i === undefined) return undefined;
    if (i === free) this.free.pop();
    else {
      this.held.pop();
      this.isHeld[i] = false;
    }
    this.state[i] = 'out';
    this.out++;
    const g = this.groupOf(i);
    if (g && !g.started) {
      g.started = true;
      this.groupsInFlight++;
      this.admit(g);
      return { task: this.tasks[i], progress: this.progressIfGated() };
    }
    return { task: this.tasks[i] };
  }

  /**
   * A task handed out that ran, and whose outcome waits for something else (the commit of its
   * batch): it no longer counts as out, and what follows it waits until it is settled.
   */
  park(task: T): void {
    const i = this.index.get(task.id);
    if (i === undefined || this.state[i] !== 'out') throw new Error(`internal error: ${task.id} parked without being taken`);
    this.state[i] = 'parked';
    this.out--;
    this.parked++;
  }

  /**
   * A parked task that runs again, alone (its batch was rolled back): it counts as out again
   * until it is settled, so that the run never has more tasks running than its threads.
   */
  resume(task: T): void {
    const i = this.index.get(task.id);
    if (i === undefined || this.state[i] !== 'parked') throw new Error(`internal error: ${task.id} resumed without being parked`);
    this.state[i] = 'out';
    this.out++;
    this.parked--;
  }

  /** Takes back a task that was handed out (or parked), with how it ended. */
  settle(task: T, outcome: TaskOutcome): Settlement<T> {
    const i = this.index.get(task.id);
    if (i === undefined || (this.state[i] !== 'out' && this.state[i] !== 'parked')) throw new Error(`internal error: ${task.id} settled without being taken`);
    if (this.state[i] === 'out') this.out--;
    else this.parked--;
    this.count[outcome]++;
    let groupEnded = this.end(i, outcome);
    let stopped: Settlement<T>['stopped'];
    if (outcome === 'failed') {
      const max = this.options.maxFailures;
      if (max !== undefined && this.count.failed >= max && !this.halted) {
        this.halted = true;
        stopped = { failed: this.count.failed, maxFailures: max };
      }
    }
    const skipped: { task: T; cause: T }[] = [];
    if (outcome === 'succeeded') {
      for (const d of this.downstream[i]) this.release(d);
    } else if (outcome === 'failed' || outcome === 'skipped') {
      const stack = [...this.downstream[i]];
      while (stack.length > 0) {
        const j = stack.pop()!;
        if (this.state[j] === 'settled') continue;
        // Downstream of a task that did not succeed, so never ready nor out.
        this.count.skipped++;
        groupEnded = this.end(j, 'skipped') || groupEnded;
        skipped.push({ task: this.tasks[j], cause: task });
        stack.push(...this.downstream[j]);
      }
    }
    return { skipped, ...(stopped ? { stopped } : {}), ...(groupEnded && this.gated ? { progress: this.progress() } : {}) };
  }

  /** Tasks out now (handed out, not settled). */
  get running(): number {
    return this.out;
  }

  /** Whether the failure budget stopped the queue. */
  get stopped(): boolean {
    return this.halted;
  }

  get counts(): QueueCounts {
    return { ...this.count };
  }

  /** Tasks never settled: not started, or not ended yet. */
  get pending(): number {
    return this.state.filter((s) => s !== 'settled').length;
  }

  progress(): GroupProgress {
    return {
      total: this.groups.size,
      done: this.groupsDone,
      failed: this.groupsFailed,
      cancelled: this.groupsCancelled,
      inFlight: this.groupsInFlight,
      window: this.window.current,
      limit: this.window.limit,
    };
  }

  private progressIfGated(): GroupProgress | undefined {
    return this.gated ? this.progress() : undefined;
  }

  private groupOf(i: number): Group | undefined {
    const group = this.tasks[i].group;
    return group === undefined ? undefined : this.groups.get(group);
  }

  /** Marks a task settled, releases what waits for it to end; true when its group ended with it. */
  private end(i: number, outcome: TaskOutcome): boolean {
    this.state[i] = 'settled';
    for (const f of this.followers[i]) this.release(f);
    if (outcome === 'failed') this.window.taskFailed();
    const g = this.groupOf(i);
    if (!g) return false;
    g.settled++;
    if (outcome === 'failed') g.failed = true;
    if (outcome === 'cancelled') g.cancelled = true;
    if (g.settled < g.total) return false;
    if (g.started) this.groupsInFlight--;
    if (g.failed) this.groupsFailed++;
    else if (g.cancelled) this.groupsCancelled++;
    else {
      this.groupsDone++;
      this.window.dateSucceeded();
    }
    return true;
  }

  private release(i: number): void {
    this.waiting[i]--;
    if (this.waiting[i] === 0 && this.state[i] === 'waiting') this.makeReady(i);
  }

  private makeReady(i: number): void {
    this.state[i] = 'ready';
    const g = this.gated ? this.groupOf(i) : undefined;
    if (g && !g.started) {
      this.held.push(i);
      this.isHeld[i] = true;
      const of = this.heldOf.get(g);
      if (of) of.push(i);
      else this.heldOf.set(g, [i]);
    } else this.free.push(i);
  }

  /** A group admitted: its ready tasks may start whatever the window. */
  private admit(g: Group): void {
    for (const i of this.heldOf.get(g) ?? []) {
      if (!this.isHeld[i]) continue;
      this.isHeld[i] = false;
      this.free.push(i);
    }
    this.heldOf.delete(g);
  }

  /** The lowest held task, passing over (and dropping) entries moved to `free` since. */
  private heldTop(): number | undefined {
    for (let i = this.held.peek(); i !== undefined; i = this.held.peek()) {
      if (this.isHeld[i]) return i;
      this.held.pop();
    }
    return undefined;
  }
}

const byIndex = (a: number, b: number): number => a - b;
