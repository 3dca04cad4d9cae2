import { sequentialOrder } from '../plan/sequential-order.js';
import { intervalLabel, isHourLabel } from '../dates/dates.js';
import { foresee, type Foreseen } from '../execute/run-currency.js';
import type { Task } from '../plan/task.js';
import { UNKNOWN } from '../state/tracking.js';
import { LatestBuilds, readLatestBuilds } from '../warehouse/build-records.js';
import { STATE_SCHEMA, stateHas, WRITTEN_BY } from '../warehouse/run-state.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';

/**
 * How current each planned task's output is, as a run of the same tasks would find it before
 * it starts: the run's own judgement, read-only (`foresee`), so that a task waiting for one
 * that would run is not current either. `pipe status` shows it, and `pipe backfill --missing`
 * runs the tasks it finds not current. Seeds are judged as the plan judges them: current when
 * loaded from the same file.
 */

export type Standing =
  /** Built from the same SQL, config and inputs (a seed: loaded from the same file). */
  | { readonly kind: 'current' }
  | { readonly kind: 'never-built' }
  /** Its latest attempt failed after its latest build. */
  | { readonly kind: 'failed'; readonly runId: string; readonly error?: string; /** The task of that run that failed (a table's is of the run's date, not the one judged). */ readonly taskId?: string }
  /**
   * Its SQL or config (a seed: its file) differs from its latest build's. `builtFor`: the
   * interval that build was for, when it is not the one judged (a table whose query names its
   * date renders other SQL for another date, though its file did not change).
   */
  | {
      readonly kind: 'modified';
      readonly changed: readonly ('sql' | 'config' | 'file')[];
      readonly builtFor?: string;
      readonly judgedFor?: string;
      readonly writtenBy?: string;
      /** Its latest build wrote another relation than the one it names now (see Currency). */
      readonly builtElsewhere?: true;
      /** A day never built whole, of which this many hours were built on their own. */
      readonly hours?: number;
    }
  /** Built from other versions of these inputs, or of inputs a run rebuilds first (node names; `unknown`: no version on record). */
  | {
      readonly kind: 'stale';
      readonly inputs: readonly string[];
      readonly unknown: readonly string[];
      /** Current by what it read, but its input (the one of `inputs`) always runs, and a run rebuilds it after that input: nothing changed yet. */
      readonly afterAlwaysRuns?: true;
    }
  /** On record, but its relation is gone. */
  | { readonly kind: 'dropped' }
  /** pipe cannot tell its data from its inputs: it always runs. */
  | { readonly kind: 'untracked'; readonly why: string };

export type StandingKind = Standing['kind'];

/** One task's standing, with its latest build on record. */
export interface TaskCoverage {
  readonly task: Task;
  readonly standing: Standing;
  readonly built?: { readonly runId: string; readonly at: number; /** The task of that run that built it. */ readonly taskId?: string };
}

/** What the warehouse records of builds, read once. */
export interface Recorded {
  readonly builds: LatestBuilds;
  readonly seedHashes: ReadonlyMap<string, string>;
  /** Whether anything is on record (a project never run has nothing). */
  readonly anyBuilt: boolean;
}

/** The builds on record; none when the warehouse holds no run state (never written to, or by a pipe that kept no builds). */
export async function readRecorded(session: WarehouseSession | undefined, seedHashes: ReadonlyMap<string, string>): Promise<Recorded> {
  const empty = { builds: new LatestBuilds(), seedHashes, anyBuilt: seedHashes.size > 0 };
  if (!session || !(await stateHas(session, 'builds'))) return empty;
  const builds = await readLatestBuilds(session);
  const [row] = await session.query(`SELECT count(*)::INTEGER AS n FROM ${STATE_SCHEMA}.builds WHERE kind = 'build'`);
  return { builds, seedHashes, anyBuilt: seedHashes.size > 0 || Number(row.n) > 0 };
}

/** The standing of each task that builds a node (seeds and models; not a source's tests), by task id. Without a session nothing is built. */
export async function coverageOf(tasks: readonly Task[], recorded: Recorded, session: WarehouseSession | undefined): Promise<Map<string, TaskCoverage>> {
  const foreseen = session ? await foresee(session, tasks) : new Map<string, Foreseen>();
  const nodeOf = new Map(tasks.map((t) => [t.id, t.node]));
  const out = new Map<string, TaskCoverage>();
  const judged = (id: string) => out.get(id)?.standing;
  const judge = (task: Task): void => {
    if (task.kind === 'seed') {
      out.set(task.id, { task, standing: seedStanding(task, recorded) });
      return;
    }
    if (!task.tracking) return;
    const f = foreseen.get(task.id);
    const own = recorded.builds.build(task.node, task.tracking.key);
    // An hour never built on its own was written by a build of its whole day, if one is on record.
    const day = !own && isHourLabel(task.tracking.key) ? recorded.builds.build(task.node, task.tracking.key.slice(0, 10)) : undefined;
    const b = own ?? day;
    const built = b ? { built: { runId: b.runId, at: b.builtAt, taskId: b.taskId } } : {};
    // A day never built whole whose hours were built on their own (an hourly pipeline's): built, by the hour.
    const hours = !b && !isHourLabel(task.tracking.key) ? recorded.builds.overlapping(task.node, task.tracking.key).length : 0;
    // A model that always runs and was never built is, first of all, never built.
    const judgedAs: Standing =
      day && (!f || f.currency.kind === 'never-built')
        ? { kind: 'modified', changed: ['sql'], builtFor: task.tracking.key.slice(0, 10), judgedFor: task.tracking.key }
        : hours > 0 && (!f || f.currency.kind === 'never-built')
          ? { kind: 'modified', changed: ['sql'], judgedFor: task.tracking.key, hours }
          : !f || (f.currency.kind === 'untracked' && !b)
            ? { kind: 'never-built' }
            : standingOf(f, nodeOf, task, judged);
    // An interval built before whose table is gone is dropped, though a run would build it into a table made anew (its
    // earlier intervals first, which reset the table's builds), or render its SQL only as it runs, the table being gone.
    const standing: Standing = judgedAs.kind === 'never-built' && own && !task.tracking.relationExists ? { kind: 'dropped' } : judgedAs;
    out.set(task.id, { task, standing, ...built });
  };
  // What a task reads is judged first, whatever the tasks' order (a plan puts views before the tables they read).
  for (const task of sequentialOrder(tasks)) judge(task);
  return new Map(tasks.flatMap((t) => (out.has(t.id) ? [[t.id, out.get(t.id)!] as const] : [])));
}

function seedStanding(task: Task, recorded: Recorded): Standing {
  if (task.noop?.reason === 'up-to-date') return { kind: 'current' };
  if (task.alwaysLoads !== undefined && recorded.seedHashes.has(task.node)) return { kind: 'untracked', why: task.alwaysLoads };
  const loaded = recorded.seedHashes.get(task.node);
  if (loaded === undefined) return { kind: 'never-built' };
  if (loaded.startsWith(WRITTEN_BY)) return { kind: 'modified', changed: ['file'], writtenBy: loaded.slice(WRITTEN_BY.length) };
  return loaded === task.sqlHash ? { kind: 'dropped' } : { kind: 'modified', changed: ['file'] };
}

function standingOf(f: Foreseen, nodeOf: ReadonlyMap<string, string>, task: Task, judged: (taskId: string) => Standing | undefined): Standing {
  const c = f.currency;
  switch (c.kind) {
    case 'current':
    case 'never-built':
    case 'dropped':
      return { kind: c.kind };
    case 'failed':
      return { kind: 'failed', runId: c.failure.runId, taskId: c.failure.taskId, ...(c.failure.error !== undefined ? { error: c.failure.error } : {}) };
    case 'modified': {
      const was = c.build.interval;
      const other = was !== undefined && task.interval !== undefined && (was.start !== task.interval.start || was.end !== task.interval.end);
      if (c.writtenBy !== undefined) return { kind: 'modified', changed: c.changed, writtenBy: c.writtenBy.seed ? `the seed ${c.writtenBy.node}` : c.writtenBy.node };
      if (c.builtElsewhere) return { kind: 'modified', changed: c.changed, builtElsewhere: true };
      return { kind: 'modified', changed: c.changed, ...(other ? { builtFor: intervalLabel(was), judgedFor: intervalLabel(task.interval!) } : {}) };
    }
    case 'stale': {
      // Current by what it read, but what it reads runs first: that upstream is what changes.
      if (f.after !== undefined) {
        // After one that always runs, or one that runs again after such a one: that one is said.
        const first = judged(f.after);
        if (first?.kind === 'untracked') return { kind: 'stale', inputs: [nodeOf.get(f.after) ?? f.after], unknown: [], afterAlwaysRuns: true };
        if (first?.kind === 'stale' && first.afterAlwaysRuns) return first;
        return { kind: 'stale', inputs: [nodeOf.get(f.after) ?? f.after], unknown: [] };
      }
      const unknown = c.changed.filter((k) => f.inputs[k] === undefined || f.inputs[k] === UNKNOWN);
      return { kind: 'stale', inputs: names(c.changed), unknown: names(unknown) };
    }
    case 'untracked':
      return { kind: 'untracked', why: c.why };
    default: {
      const never: never = c;
      throw new Error(`internal error: currency ${JSON.stringify(never)}`);
    }
  }
}

/** The nodes input keys name: `ref:fct_orders[2024-01-03]` → `fct_orders`, `seed:customers` → `customers`. */
function names(keys: readonly string[]): string[] {
  return [...new Set(keys.map((k) => k.replace(/^(ref|seed|source):/, '').replace(/\[[^\]]*\]$/, '')))];
}

/** The tasks a run needs to build: those not current, with the tasks without a standing that these wait for (a source's tests). */
export function notCurrent(tasks: readonly Task[], coverage: ReadonlyMap<string, TaskCoverage>): Task[] {
  const judged = (t: Task) => coverage.get(t.id)?.standing.kind;
  const keep = new Set(tasks.filter((t) => judged(t) !== undefined && judged(t) !== 'current').map((t) => t.id));
  for (const t of tasks) if (keep.has(t.id)) for (const u of t.upstream) if (!coverage.has(u)) keep.add(u);
  return tasks
    .filter((t) => keep.has(t.id))
    .map((t) => ({ ...t, upstream: t.upstream.filter((u) => keep.has(u)), ...(t.after ? { after: t.after.filter((u) => keep.has(u)) } : {}) }));
}
