import { batchedReads, eventTimeOf, type Analysis, type ModelNode, type PipeNode, type RelationOverrides, type RenderedSql, type SeedNode, type SourceNode } from '../analyze/analyze.js';
import { error, type Diagnostic } from '../diagnostics/diagnostics.js';
import type { Pipeline } from '../analyze/project-settings.js';
import { refToken, type Check } from '../analyze/checks.js';
import { modelKind } from '../analyze/model-kinds.js';
import { quoteLiteral, siblingRelation } from '../sql/sql-text.js';
import { HOUR_MS, hourInterval, intervalLabel, isHourLabel, previousInterval, type Interval } from '../dates/dates.js';
import { inTopologicalOrder, reachable, topologicalOrder } from '../graph/graph.js';
import { STAGING_PREFIX, seedLoadedSql, type RelationType } from '../warehouse/run-state.js';
import { DEFAULT_MAX_DELAY_MS, type RetryPolicy } from './retry-policy.js';
import { allSteps, loadedSeedHash, type CheckStep, type ColumnUse, type FailuresWrite, type RenderAtRun, type Step, type Task, type TemplateMessage } from './task.js';
import { SQL, type StrategyInput } from './strategies/strategy.js';
import { partitionPoint } from '../util/partition-point.js';
import { seedStrategy } from './strategies/seed.js';
import { fullRefreshResetSteps, fullRefreshStaging, fullRefreshSwapSteps, fullRefreshTaskIds } from './strategies/full-refresh.js';
import { aroundQuery } from './strategies/around-query.js';
import { aroundOf } from './around-of.js';
import { trackingOf, type TrackingContext } from './task-tracking.js';
import { refusedUnitTestTask, unitTestTasks } from './unit-test-tasks.js';
import { builtOf, fullRefreshOf, isBuilt, materializationOf, perInterval, taskMaterialization, NO_TABLE, type CheckTarget, type TableState } from './materializations.js';
import { pushTo } from '../util/multi-map.js';
import { PlanRoom } from './plan-room.js';
import { PairMemo } from '../util/pair-memo.js';

/**
 * Planning: graph × intervals × what the warehouse holds → tasks with their final SQL.
 * Nothing here touches the database; the catalog and seed hashes are passed in.
 */

export interface PlanContext {
  readonly analysis: Analysis;
  readonly selected: ReadonlySet<string>;
  /** Seeds an exclusion names: not loaded for what reads them (see withNeededSeeds). */
  readonly excludedSeeds?: ReadonlySet<string>;
  readonly catalog: ReadonlyMap<string, RelationType>;
  readonly seedHashes: ReadonlyMap<string, string>;
  readonly fullRefresh: boolean;
  /** `--force`: every selected task runs, a seed loads whatever its file's hash. */
  readonly force?: boolean;
  readonly runId: string;
  /** Other processes write the same tables: partitions are staged first (see StrategyInput.stagePartitions). */
  readonly stagePartitions?: boolean;
  /** The pipeline being run, for its retry defaults. */
  readonly pipeline?: Pipeline;
  /**
   * Ids of the previous interval's tasks of `depends_on_past` models that have succeeded
   * (see pastTaskIds); a model whose previous interval is not among them does not run.
   * Absent: not checked (`--ignore-dependencies-on-past`).
   */
  readonly pastSucceeded?: ReadonlySet<string>;
  /**
   * The earliest interval each of those models has ever succeeded for (its label), read with
   * `pastSucceeded`: an interval no earlier one of the model was built before has no past to
   * wait for (the first date ever built, or a rebuild of it). Absent for a model: none succeeded.
   */
  readonly pastFirst?: ReadonlyMap<string, string>;
  /**
   * A backfill with `fullRefresh`: the incremental models whose full refresh was swapped in
   * already (by the run a retry completes). Their dates are not rebuilt; what reads them
   * reads the published table.
   */
  readonly refreshed?: ReadonlySet<string>;
  /** `pipe run --event-time-start/--event-time-end`: the range whose batches a run builds of each microbatch model. */
  readonly eventTime?: Interval;
  /**
   * A retry: the intervals of each model whose tasks it re-runs. A model's batches are those
   * the run it retries planned (a first build's, from its begin), whatever the table holds now.
   */
  readonly retryBatches?: ReadonlyMap<string, readonly Interval[]>;
  /**
   * A scheduler's catch-up: the intervals of the runs it starts after this one. A lookback
   * interval that one of them rebuilds too (with its own lookback) is left to it, so that a
   * catch-up rebuilds each interval it looks back on once, with the latest rows.
   */
  readonly laterRuns?: readonly Interval[];
  /**
   * Plans that are shown and never run (`pipe compile`): model tasks go without their tracking
   * (see task-tracking.ts), which only the executor reads, to skip what is current, and without
   * the statements that build them, but where making those finds a problem (see modelTask).
   */
  readonly shownOnly?: boolean;
  /** Which of dbt's singular tests that name no node the command runs (see freeTestTasks); absent, none. */
  readonly freeTests?: (check: Check) => boolean;
}

export interface Plan {
  readonly tasks: readonly Task[];
  readonly diagnostics: readonly Diagnostic[];
}

export type DateOrder = 'oldest' | 'newest';

export const DEFAULT_RETRY_DELAY_MS = 5_000;

export function taskId(node: PipeNode, ds: string | undefined): string {
  return node.kind === 'seed' || ds === undefined ? node.name : `${node.name}@${ds}`;
}

/** The node a task id names (see taskId): `orders@2024-01-02` is of orders, a seed's id is its name. */
export function nodeOfTaskId(id: string): string {
  const at = id.lastIndexOf('@');
  return at > 0 ? id.slice(0, at) : id;
}

function stagingFor(relation: string, name: string, label: string | undefined) {
  const stagingName = `${STAGING_PREFIX}${name}${label ? `__${label.replaceAll('-', '')}` : ''}`;
  return { stagingName, stagingRelation: siblingRelation(relation, stagingName) };
}

/** Whether a node becomes tasks: seeds and built models do; ephemeral models are inlined where they are read, and sources only read. */
function isTaskNode(n: PipeNode): n is SeedNode | ModelNode {
  switch (n.kind) {
    case 'seed':
      return true;
    case 'model':
      return isBuilt(n.config.kind);
    case 'source':
      return false;
    default: {
      const never: never = n;
      throw new Error(`internal error: node ${JSON.stringify(never)}`);
    }
  }
}

/**
 * What a node's query reads, looking through the ephemeral models it inlines: the nearest
 * upstream nodes that become tasks, and the sources.
 */
const readsMemo = new PairMemo<Analysis, PipeNode, { tasks: string[]; sources: SourceNode[] }>();

function readsOf(node: PipeNode, analysis: Analysis): { tasks: string[]; sources: SourceNode[] } {
  // By analysis too: watch keeps a node whose file did not change, and what it reads through an
  // ephemeral model changes with that model (one made ephemeral, or built again).
  return readsMemo.of(analysis, node, () => readsWalk(node, analysis));
}

function readsWalk(node: PipeNode, analysis: Analysis): { tasks: string[]; sources: SourceNode[] } {
  const tasks = new Set<string>();
  const sources = new Set<SourceNode>();
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const n = analysis.nodes.get(name);
    if (!n) return;
    if (n.kind === 'source') sources.add(n);
    // An ephemeral model: what it reads is read where it is inlined.
    else if (n.kind === 'model' && !isBuilt(n.config.kind)) n.upstream.forEach(visit);
    else tasks.add(name);
  };
  node.upstream.forEach(visit);
  return { tasks: [...tasks], sources: [...sources] };
}

/**
 * The nodes a planned node waits for: its nearest upstream nodes that are planned too,
 * looking through every node that is not (an ephemeral model, or a view outside the
 * selection that reads a seed the run reloads). A task never starts before what it reads,
 * however indirectly, has finished in the same run. `memo` keeps each unplanned node's answer.
 */
function plannedUpstream(node: PipeNode, analysis: Analysis, planned: ReadonlySet<string>, memo: Map<string, readonly string[]>): string[] {
  const out = new Set<string>();
  const through = (name: string): readonly string[] => {
    const known = memo.get(name);
    if (known) return known;
    memo.set(name, []); // a cycle is an analysis error; this only guards the walk
    const found = new Set<string>();
    for (const u of analysis.nodes.get(name)?.upstream ?? []) {
      if (planned.has(u)) found.add(u);
      else for (const v of through(u)) found.add(v);
    }
    const list = [...found];
    memo.set(name, list);
    return list;
  };
  for (const u of node.upstream) {
    if (planned.has(u)) out.add(u);
    else for (const v of through(u)) out.add(v);
  }
  return [...out];
}

/**
 * The selection plus the seeds upstream of it that are missing or changed, so that a
 * selected model never reads a stale or absent seed; but not a seed an exclusion names, which
 * the user keeps out as dbt does.
 */
function withNeededSeeds(ctx: PlanContext): Set<string> {
  const { analysis, selected, catalog, seedHashes } = ctx;
  const out = new Set(selected);
  // What the selection reads as it runs: through views, ephemeral models and sources, not past
  // a table it does not rebuild, which holds what it was built from (a seed loaded behind one
  // would change nothing the selection reads, and leave the table stale).
  const live = (name: string) => {
    const n = analysis.nodes.get(name);
    return selected.has(name) || n?.kind !== 'model' || n.config.kind === 'view' || n.config.kind === 'ephemeral' ? analysis.graph.upstream.get(name) : undefined;
  };
  // --full-refresh rebuilds what is selected; an unselected seed upstream loads only if needed.
  for (const name of reachable(selected, live)) {
    const n = analysis.nodes.get(name);
    if (n?.kind !== 'seed' || out.has(name) || ctx.excludedSeeds?.has(name)) continue;
    if (!catalog.has(n.relation) || seedHashes.get(n.name) !== n.hash) out.add(name);
  }
  return out;
}

/** Nodes to plan, in dependency order: the selected ones that become tasks (see isTaskNode). */
function plannedNodes(ctx: PlanContext): readonly (SeedNode | ModelNode)[] {
  const known = plannedMemo.get(ctx.selected);
  if (known && known.analysis === ctx.analysis && known.catalog === ctx.catalog && known.seedHashes === ctx.seedHashes) return known.nodes;
  const wanted = withNeededSeeds(ctx);
  const nodes = inTopologicalOrder(ctx.analysis.graph, wanted)
    .map((n) => ctx.analysis.nodes.get(n)!)
    .filter(isTaskNode);
  plannedMemo.set(ctx.selected, { analysis: ctx.analysis, catalog: ctx.catalog, seedHashes: ctx.seedHashes, nodes });
  return nodes;
}

/** The last planned nodes of a selection: a run asks for them twice (its past, then its plan), with contexts that differ in nothing they read. */
const plannedMemo = new WeakMap<
  ReadonlySet<string>,
  Pick<PlanContext, 'analysis' | 'catalog' | 'seedHashes'> & { readonly nodes: readonly (SeedNode | ModelNode)[] }
>();

/**
 * The planned nodes with, before the first that reads each, the sources they read that have
 * tests: a source's tests run before anything built from it, and a failing one keeps its
 * readers from being built. A selected source's tests run too, whether anything planned reads
 * it or not (as `dbt build` runs them: a whole project's run tests every source).
 */
function withSourceTests(ctx: PlanContext, nodes: readonly (SeedNode | ModelNode)[]): (SeedNode | ModelNode | SourceNode)[] {
  if (ctx.analysis.sourceChecks.size === 0) return [...nodes];
  const tested = new Set<string>();
  for (const n of nodes) for (const s of readsOf(n, ctx.analysis).sources) if (ctx.analysis.sourceChecks.get(s.name)?.length) tested.add(s.name);
  for (const name of ctx.analysis.sourceChecks.keys()) if (ctx.selected.has(name) && ctx.analysis.nodes.get(name)?.kind === 'source') tested.add(name);
  if (tested.size === 0) return [...nodes];
  const planned = new Set([...nodes.map((n) => n.name), ...tested]);
  return inTopologicalOrder(ctx.analysis.graph, planned).map((n) => ctx.analysis.nodes.get(n) as SeedNode | ModelNode | SourceNode);
}

/** Why a planned model's upstream is not there, and what builds it; a retry says it in its own terms. */
export interface UnbuiltUpstream {
  readonly why: string;
  readonly hint: (model: string, upstream: string) => string;
  /** What the warehouse lacks said otherwise than "not built yet" (a retry's: its run built it, dropped since). */
  readonly gone?: (upstream: string) => string | undefined;
}

const NOT_SELECTED: UnbuiltUpstream = { why: 'not selected', hint: (model) => `select it too, e.g. --select +${model}` };

/**
 * A planned model whose upstream is neither planned nor built would fail at run time with
 * a catalog error; say so before anything runs, at the ref() that needs it.
 */
export function missingUpstream(ctx: Pick<PlanContext, 'analysis' | 'catalog'>, nodes: readonly PipeNode[], said: UnbuiltUpstream = NOT_SELECTED): Diagnostic[] {
  const planned = new Set(nodes.map((n) => n.name));
  const out: Diagnostic[] = [];
  for (const n of nodes) {
    if (n.kind !== 'model') continue;
    for (const u of readsOf(n, ctx.analysis).tasks) {
      const up = ctx.analysis.nodes.get(u)!;
      if (planned.has(u) || ctx.catalog.has(up.relation)) continue;
      const site = n.refs.find((r) => r.name === u);
      out.push(
        error('upstream-not-built', `${n.name} reads ${u}, which ${said.gone?.(u) ?? `is not built yet and ${said.why}`}`, site?.location ?? { file: n.file }, {
          hint: said.hint(n.name, u),
        }),
      );
    }
  }
  return out;
}

/** What the warehouse holds of a model and what the run asks. */
function tableState(node: ModelNode, ctx: Pick<PlanContext, 'catalog' | 'fullRefresh'>): TableState {
  return { tableExists: ctx.catalog.get(node.relation) === 'table', fullRefresh: fullRefreshOf(node.config, ctx.fullRefresh) };
}

/**
 * Whether an interval of a `depends_on_past` model waits for the previous one: it keeps a
 * table of intervals that this build adds to (the first interval ever built, or a full
 * refresh, waits for nothing).
 */
function waitsForPast(node: PipeNode, ctx: Pick<PlanContext, 'catalog' | 'fullRefresh'>): node is ModelNode {
  return (
    node.kind === 'model' &&
    node.config.depends_on_past &&
    perInterval(node.config) !== undefined &&
    materializationOf(node.config).isIncremental(tableState(node, ctx))
  );
}

/**
 * Why a run rebuilds a node's intervals before its own: the `lookback` of model `of` (the
 * node's own, or that of a model it reads), `n` intervals of that model, reaching back to `start`.
 */
export interface Lookback {
  readonly start: number;
  readonly of: string;
  readonly n: number;
}

/**
 * How far back a run of `interval` rebuilds each planned node. A model's own lookback, and
 * the earliest lookback of what it reads: an interval of a model that reads a rebuilt
 * interval would be stale otherwise, so it is rebuilt too, after it. What is not planned
 * passes it on when it reads the rebuilt rows as they are (a view, an ephemeral model) and
 * stops it when it keeps a copy (a table). None under --event-time-start/end, as in dbt.
 */
function lookbacks(ctx: PlanContext, nodes: readonly PipeNode[], interval: Interval): Map<string, Lookback> {
  const out = new Map<string, Lookback>();
  if (ctx.eventTime) return out;
  const planned = new Set(nodes.map((n) => n.name));
  const live = new Map<string, Lookback | undefined>();
  const earliest = (a: Lookback | undefined, b: Lookback | undefined) => (a === undefined || (b !== undefined && b.start < a.start) ? b : a);
  const reachOf = (name: string): Lookback | undefined => {
    if (planned.has(name)) return out.get(name);
    if (live.has(name)) return live.get(name);
    live.set(name, undefined); // a cycle is an analysis error; this only guards the walk
    const n = ctx.analysis.nodes.get(name);
    const passes = n?.kind === 'model' && (n.config.kind === 'view' || n.config.kind === 'ephemeral');
    const found = passes ? n.upstream.map(reachOf).reduce(earliest, undefined) : undefined;
    live.set(name, found);
    return found;
  };
  for (const node of nodes) {
    let reach = node.upstream.map(reachOf).reduce(earliest, undefined);
    const own = node.kind === 'model' ? perInterval(node.config)?.lookback(node.config, interval) : undefined;
    if (own !== undefined) reach = earliest({ ...own, of: node.name }, reach);
    if (reach !== undefined) out.set(node.name, reach);
  }
  return out;
}

/** The reach of each later run of a catch-up (see PlanContext.laterRuns), worked out once per plan. */
function laterReaches(ctx: PlanContext, nodes: readonly PipeNode[]): { readonly end: number; readonly reach: ReadonlyMap<string, Lookback> }[] {
  return (ctx.laterRuns ?? []).map((j) => ({ end: j.end, reach: lookbacks(ctx, nodes, j) }));
}

/** Without the lookback intervals (those before the run's own) that a later run of the catch-up rebuilds. */
function withoutLaterRuns(node: ModelNode, later: ReturnType<typeof laterReaches>, own: Interval, batches: Interval[]): Interval[] {
  const covered = later.flatMap(({ end, reach }) => {
    const r = reach.get(node.name);
    return r ? [{ start: r.start, end }] : [];
  });
  if (covered.length === 0) return batches;
  return batches.filter((b) => b.end > own.start || !covered.some((c) => c.start <= b.start && b.end <= c.end));
}

/**
 * The intervals a model that keeps a table of intervals is built for (see PerInterval.batches),
 * oldest first, with those a retry re-runs; a problem is reported and leaves the model out.
 */
function batchesFor(
  node: ModelNode,
  ctx: PlanContext,
  intervals: readonly Interval[],
  run: boolean,
  diagnostics: Diagnostic[],
  lookback?: Lookback,
): Interval[] | undefined {
  const spec = perInterval(node.config);
  if (!spec) return undefined;
  const fromNothing = !materializationOf(node.config).isIncremental(tableState(node, ctx));
  const batches = spec.batches(node.config, { intervals, run, fromNothing, eventTime: run ? ctx.eventTime : undefined, from: lookback?.start });
  if (!Array.isArray(batches)) {
    diagnostics.push(error('bad-config', `${node.name}: ${batches.problem}`, { file: node.file }, { hint: batches.hint ?? `run a later date, or set ${batches.key} earlier` }));
    return undefined;
  }
  const retried = ctx.retryBatches?.get(node.name) ?? [];
  if (retried.length === 0) return batches;
  const planned = new Set(batches.map((x) => `${x.start}:${x.end}`));
  const extra = retried.filter((b) => !planned.has(`${b.start}:${b.end}`));
  return extra.length === 0 ? batches : [...batches, ...extra].sort((a, b) => a.start - b.start);
}

/**
 * What a microbatch model's own ref()s and source()s read for one batch, as dbt resolves them:
 * each input that declares `event_time` as a subquery of the rows in the batch (ephemeral
 * models, inlined, read their inputs whole, as in dbt).
 */
function batchInputs(node: ModelNode, ctx: PlanContext, interval: Interval, relations: RelationOverrides | undefined): RelationOverrides | undefined {
  if (!materializationOf(node.config).batchedInputs) return undefined;
  const out = new Map<string, string>();
  for (const name of node.upstream) {
    const input = ctx.analysis.nodes.get(name);
    const column = input && eventTimeOf(input);
    if (!input || column === undefined) continue;
    out.set(name, `(SELECT * FROM ${relations?.get(name) ?? input.relation} WHERE ${SQL.inInterval(column, interval.start, interval.end)})`);
  }
  return out.size > 0 ? out : undefined;
}

/** The previous-interval tasks that `depends_on_past` models of a run wait for: the planned models that wait for their past. */
export function pastTaskIds(ctx: Omit<PlanContext, 'pastSucceeded'>, interval: Interval): string[] {
  const nodes = plannedNodes(ctx);
  const waiting = nodes.filter((n) => waitsForPast(n, ctx));
  // Most projects have no depends_on_past model: the lookbacks of every node are not worked out for none.
  if (waiting.length === 0) return [];
  const reach = lookbacks(ctx, nodes, interval);
  const later = laterReaches(ctx, nodes);
  return waiting.map((n) => {
    const batches = batchesFor(n, ctx, [interval], true, [], reach.get(n.name));
    const first = (batches && withoutLaterRuns(n, later, interval, batches)[0]) ?? interval;
    return pastIds(n, previousInterval(first));
  }).flat();
}

/**
 * The planned models kept in intervals whose query reads their own table: what an interval
 * writes, the later ones read, so they run in order (see chained), and a scheduled run of one
 * waits for the runs of earlier intervals still in flight.
 */
export function selfReadingModels(ctx: Omit<PlanContext, 'pastSucceeded'>): string[] {
  return plannedNodes(ctx)
    .filter((n): n is ModelNode => n.kind === 'model' && n.readsItself && perInterval(n.config) !== undefined)
    .map((n) => n.name);
}

/**
 * The tasks whose success lets a depends_on_past model run after `previous` (see pastDone): its
 * own; for an hour, the whole day's build, which wrote it too; for a day, its 24 hours.
 */
function pastIds(n: ModelNode, previous: Interval): string[] {
  const label = intervalLabel(previous);
  if (isHourLabel(label)) return [taskId(n, label), taskId(n, label.slice(0, 10))];
  return [taskId(n, label), ...Array.from({ length: 24 }, (_, h) => taskId(n, intervalLabel(hourInterval(previous.start + h * HOUR_MS))))];
}

/** Whether `previous` of a depends_on_past model succeeded: its own task, or what wrote it all (an hour's day, a day's every hour). */
function pastDone(n: ModelNode, previous: Interval, succeeded: ReadonlySet<string>): boolean {
  const [own, ...others] = pastIds(n, previous);
  return succeeded.has(own) || (isHourLabel(intervalLabel(previous)) ? others.some((id) => succeeded.has(id)) : others.every((id) => succeeded.has(id)));
}

/**
 * The previous-interval tasks that `depends_on_past` models of a backfill wait for: those of
 * the first date of the range (each later date waits for the one before it in the backfill).
 */
export function backfillPastTaskIds(ctx: Omit<PlanContext, 'pastSucceeded'>, intervals: readonly Interval[]): string[] {
  const waiting = plannedNodes(ctx).filter((n) => waitsForPast(n, ctx));
  if (waiting.length === 0) return [];
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  return waiting.map((n) => {
    const first = batchesFor(n, ctx, sorted, false, [])?.[0] ?? sorted[0];
    return pastIds(n, previousInterval(first));
  }).flat();
}

/** Why a `depends_on_past` model may not run for `interval` (its first batch), if it may not. */
function pastBlocks(node: ModelNode, ctx: PlanContext, interval: Interval): string | undefined {
  if (!ctx.pastSucceeded || !waitsForPast(node, ctx)) return undefined;
  const previous = intervalLabel(previousInterval(interval));
  if (pastDone(node, previousInterval(interval), ctx.pastSucceeded)) return undefined;
  // Nothing of the model was ever built before this interval: it is the first, rebuilt.
  const first = ctx.pastFirst?.get(node.name);
  if (first === undefined || previous < first) return undefined;
  // The dates from its first build up to the one before are built oldest first, those not current only: the gap may be longer than a day.
  const build = isHourLabel(previous)
    ? `pipe run --select ${node.name} --date ${previous.slice(0, 10)} --hour ${Number(previous.slice(11))}`
    : `pipe backfill --select ${node.name} --start ${first.slice(0, 10)} --end ${previous} --missing`;
  return `depends_on_past: ${node.name} for ${previous} has not succeeded (it failed or was never built); build it first (${build}), or pass --ignore-dependencies-on-past`;
}

/**
 * `pipe run`: every planned node once, for one interval; a model that keeps a table of
 * intervals once per interval of its lookback too (see lookbacks), a microbatch model once per
 * batch (from its begin for a first build), and under --full-refresh into its staging table,
 * swapped in once every batch is built. What reads a model waits for all its tasks.
 */
export function planRun(ctx: PlanContext, interval: Interval): Plan {
  const built = plannedNodes(ctx);
  const diagnostics: Diagnostic[] = missingUpstream(ctx, built);
  const nodes = withSourceTests(ctx, built);
  const ds = intervalLabel(interval);
  const tasks: Task[] = [];
  const ids = new Map<string, string[]>();
  const planned = new Set(nodes.map((n) => n.name));
  const memo = new Map<string, readonly string[]>();
  const reach = lookbacks(ctx, nodes, interval);
  const later = laterReaches(ctx, nodes);
  for (const node of nodes) {
    const reads = plannedUpstream(node, ctx.analysis, planned, memo).flatMap((u) => ids.get(u) ?? []);
    // A model's unit tests run once per run, after what it reads is built and before it is: a failing one skips it.
    const unitTasks = node.kind === 'model' ? unitTestTasks(node, ctx.analysis, interval, ds, reads, diagnostics, !ctx.catalog.has(node.relation)) : [];
    tasks.push(...unitTasks);
    const upstream = [...reads, ...unitTasks.map((t) => t.id)];
    if (node.kind === 'source') {
      const task = sourceTestTask(node, ctx, interval, ds, diagnostics, upstream);
      if (task) {
        ids.set(node.name, [task.id]);
        tasks.push(task);
      }
      continue;
    }
    const lookback = reach.get(node.name);
    const all = node.kind === 'model' ? batchesFor(node, ctx, [interval], true, diagnostics, lookback) : undefined;
    const batches = all && node.kind === 'model' ? withoutLaterRuns(node, later, interval, all) : undefined;
    if (node.kind === 'model' && batches && (batches.length !== 1 || batches[0].start !== interval.start || batches[0].end !== interval.end)) {
      const own = batchTasks(node, ctx, batches, upstream, diagnostics, lookback && { ...lookback, before: interval.start });
      tasks.push(...own.tasks);
      ids.set(node.name, own.done);
      continue;
    }
    if (node.kind === 'model' && perInterval(node.config) && !batches) continue;
    const task = node.kind === 'seed' ? seedTask(node, ctx, interval, upstream, diagnostics) : modelTask(node, ctx, interval, ds, upstream, diagnostics);
    if (!task) continue;
    ids.set(node.name, [task.id]);
    const blocked = node.kind === 'model' ? pastBlocks(node, ctx, interval) : undefined;
    tasks.push(blocked ? { ...task, blocked } : task);
  }
  tasks.push(...freeTestTasks(ctx, interval, tasks, diagnostics));
  return { tasks, diagnostics };
}

/**
 * The tasks of a run that builds a model for several intervals (its lookback, or a microbatch
 * model's batches and first build), and the ids what reads it waits for. They run side by side
 * unless the model chains them; under --full-refresh they are built into the model's staging
 * table and a swap publishes it whole, as a backfill's full refresh does. A task of the
 * lookback (from its start to `before`, the run's own interval) says so.
 */
function batchTasks(
  node: ModelNode,
  ctx: PlanContext,
  batches: readonly Interval[],
  upstream: readonly string[],
  diagnostics: Diagnostic[],
  lookback?: Lookback & { readonly before: number },
): { tasks: Task[]; done: string[] } {
  const chained = perInterval(node.config)?.chained(node.config, node.readsItself) ?? false;
  const full = fullRefreshOf(node.config, ctx.fullRefresh) && !ctx.refreshed?.has(node.name) ? { ...fullRefreshTaskIds(node.name), ...fullRefreshStaging(node.relation, node.name) } : undefined;
  const tasks: Task[] = [];
  let previous: string | undefined;
  for (const batch of batches) {
    const up = [...(full ? [full.reset] : []), ...upstream, ...(chained && previous !== undefined ? [previous] : [])];
    const afterFirst = !full && previous !== undefined && tasks.length > 0 ? { first: tasks[0].id, previous } : undefined;
    const built = modelTask(node, full ? ctx : { ...ctx, fullRefresh: false }, batch, intervalLabel(batch), up, diagnostics, { stagedIn: full?.stagingRelation, afterFirst });
    if (!built) continue;
    const looksBack = lookback && batch.start >= lookback.start && batch.end <= lookback.before;
    const task = looksBack ? { ...built, lookback: { of: lookback.of, n: lookback.n } } : built;
    const blocked = previous === undefined ? pastBlocks(node, ctx, batch) : undefined;
    tasks.push(blocked ? { ...task, blocked } : task);
    previous = task.id;
  }
  if (!full) return { tasks, done: tasks.map((t) => t.id) };
  const range = { start: batches[0].start, end: batches[batches.length - 1].end };
  const first = intervalLabel(batches[0]);
  const last = intervalLabel(batches[batches.length - 1]);
  const swap = swapTask(
    node,
    ctx,
    batches[batches.length - 1],
    { id: full.swap, stagingRelation: full.stagingRelation, range, label: batches.length === 1 ? first : `${first} … ${last}`, unit: isHourLabel(last) ? 'hour' : 'date' },
    [...tasks.map((t) => t.id), ...upstream],
    diagnostics,
  );
  return { tasks: [resetTask(node, full.reset, full.stagingRelation), ...tasks, swap], done: [swap.id] };
}

/**
 * `pipe backfill`: incremental models once per date (the date is the task's group, so the
 * executor can bound dates in flight); seeds, tables and views once, after every date of
 * their upstream, with the range's last date as `ds`. A `depends_on_past` model's date waits
 * for its previous date; its first date, for the date before the range to have succeeded
 * (see PlanContext.pastSucceeded). Task order is priority: dates in the requested order, and within a
 * date, dependency order.
 *
 * With `fullRefresh`, each incremental model's dates are built into its staging table after a
 * reset, and a swap replaces the published table with it (see strategies/full-refresh.ts).
 * Inside the backfill, its dated readers read that staging table; its swap waits for them and
 * for the swaps of what it reads, and tables and views read it after its swap.
 */
export function planBackfill(ctx: PlanContext, intervals: readonly Interval[], order: DateOrder): Plan {
  const built = plannedNodes(ctx);
  const diagnostics: Diagnostic[] = missingUpstream(ctx, built);
  const nodes = withSourceTests(ctx, built);
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  const dsOf = sorted.map((i) => intervalLabel(i));
  const last = sorted[sorted.length - 1];
  const lastDs = dsOf[dsOf.length - 1];
  /** The date of the range a batch belongs to: the first it overlaps (found by halves: a range may have tens of thousands). */
  const endsSoFar = latestEnds(sorted);
  const dateOf = (batch: Interval) => {
    const lo = firstEndingAfter(endsSoFar, batch.start);
    return lo < sorted.length && overlaps(sorted[lo], batch) ? lo : 0;
  };

  // Ids first, so any task can name its upstream ones.
  const batchesOf = new Map<string, { interval: Interval; id: string }[]>(); // dated node -> its tasks, oldest first
  const single = new Map<string, string>(); // node -> its one task id
  const staged = new Map<string, { reset: string; swap: string; stagingRelation: string }>();
  for (const n of nodes) {
    const batches = n.kind === 'model' ? batchesFor(n, ctx, sorted, false, diagnostics) : undefined;
    if (batches) batchesOf.set(n.name, batches.map((b) => ({ interval: b, id: taskId(n, intervalLabel(b)) })));
    else if (n.kind !== 'model' || !perInterval(n.config)) single.set(n.name, taskId(n, lastDs));
    if (batches && n.kind === 'model' && fullRefreshOf(n.config, ctx.fullRefresh) && !ctx.refreshed?.has(n.name)) {
      staged.set(n.name, { ...fullRefreshTaskIds(n.name), ...fullRefreshStaging(n.relation, n.name) });
    }
  }
  const relations: RelationOverrides = new Map([...staged].map(([name, s]) => [name, s.stagingRelation]));
  const planned = new Set(nodes.map((n) => n.name));
  const memo = new Map<string, readonly string[]>();
  /** Per dated node ordered by start: the latest end among its first tasks (see datesOver). */
  const endsOf = new Map<string, number[] | null>();
  /**
   * The tasks of a dated node among `dates` whose interval overlaps `batch`, in their order:
   * found by halves in tasks ordered by start (every task of a backfill asks, of each dated
   * node it reads, and a scan of them all made planning grow with the square of the dates).
   */
  const datesOver = (node: string, dates: readonly { interval: Interval; id: string }[], batch: Interval): string[] => {
    let ends = endsOf.get(node);
    if (ends === undefined) {
      const ordered = dates.every((d, i) => i === 0 || dates[i - 1].interval.start <= d.interval.start);
      ends = ordered ? latestEnds(dates.map((d) => d.interval)) : null;
      endsOf.set(node, ends);
    }
    if (ends === null) return dates.filter((d) => overlaps(d.interval, batch)).map((d) => d.id);
    const out: string[] = [];
    for (let i = firstEndingAfter(ends, batch.start); i < dates.length && dates[i].interval.start < batch.end; i++) if (overlaps(dates[i].interval, batch)) out.push(dates[i].id);
    return out;
  };
  /** What a task waits for: of a dated upstream, its tasks of the batch's time (all of them, or its swap, for a task run once). */
  const upstreamIds = (n: PipeNode, batch: Interval | undefined): string[] =>
    plannedUpstream(n, ctx.analysis, planned, memo).flatMap((u) => {
      const dates = batchesOf.get(u);
      if (dates) {
        if (batch !== undefined) return datesOver(u, dates, batch);
        return staged.has(u) ? [staged.get(u)!.swap] : dates.map((d) => d.id);
      }
      const one = single.get(u);
      return one ? [one] : [];
    });

  // A dated task that waits for a staged model's swap (it reads a table or view that reads the
  // model) reads the published table, like that table or view; any other dated reader reads
  // the staging table, and the swap, which renames it away, waits for it.
  const swapOf = new Map([...staged].map(([name, s]) => [s.swap, name]));
  /** Per task id: the staged models whose swap it waits for, however indirectly. */
  const afterSwap = new Map<string, ReadonlySet<string>>();
  const swapsAhead = (upstream: readonly string[]): Set<string> => {
    const out = new Set<string>();
    for (const u of upstream) {
      const model = swapOf.get(u);
      if (model !== undefined) out.add(model);
      for (const m of afterSwap.get(u) ?? []) out.add(m);
    }
    return out;
  };
  /** The dated tasks that read a staged model's staging table. */
  const readers = new Map<string, string[]>();

  const singles: Task[] = [];
  const byDate = new Map<number, Task[]>();
  let count = nodes.length - batchesOf.size;
  for (const list of batchesOf.values()) count += list.length;
  const room = new PlanRoom(count, dsOf, batchesOf.size);
  for (const n of nodes) {
    const list = batchesOf.get(n.name);
    if (list && n.kind === 'model') {
      const full = staged.get(n.name);
      const chained = perInterval(n.config)?.chained(n.config, n.readsItself) ?? false;
      // Checks of the whole table read the other dates' rows: the dates publish one after the
      // other, in the order a sequential backfill would, so that --parallel changes no outcome.
      // (A chained model's run in order already, oldest first.) A full refresh checks the whole
      // table once, at its swap.
      const inOrder = !full && !chained && n.checks.some((c) => c.scope === 'table');
      const previous = (d: number) => (order === 'newest' ? d + 1 : d - 1);
      // A model whose full refresh is swapped in already is not rebuilt from nothing again.
      const dateCtx = ctx.fullRefresh && !full ? { ...ctx, fullRefresh: false } : ctx;
      const reads = plannedUpstream(n, ctx.analysis, planned, memo).filter((u) => staged.has(u));
      list.forEach(({ interval, id }, d) => {
        const up = [...(full ? [full.reset] : []), ...upstreamIds(n, interval)];
        if (chained && d > 0) up.push(list[d - 1].id);
        const ahead = swapsAhead(up);
        afterSwap.set(id, ahead);
        for (const u of reads) if (!ahead.has(u)) pushTo(readers, u, id);
        const own = ahead.size === 0 ? relations : new Map([...relations].filter(([m]) => !ahead.has(m)));
        const date = dateOf(interval);
        const afterFirst = !full && d > 0 ? { first: list[0].id, previous: list[d - 1].id } : undefined;
        const task = modelTask(n, dateCtx, interval, intervalLabel(interval), up, diagnostics, { group: dsOf[date], stagedIn: full?.stagingRelation, relations: own, afterFirst });
        const before = list[previous(d)];
        const after = inOrder && before !== undefined ? { after: [before.id] } : {};
        // The first date waits for the date before the range, as a run of it would; the others for their previous date in the backfill.
        const blocked = d === 0 ? pastBlocks(n, ctx, interval) : undefined;
        if (task) pushTo(byDate, date, { ...task, ...after, ...(blocked ? { blocked } : {}) });
        room.add();
      });
    } else if (single.has(n.name)) {
      const up = upstreamIds(n, undefined);
      afterSwap.set(single.get(n.name)!, swapsAhead(up));
      const task =
        n.kind === 'source'
          ? sourceTestTask(n, ctx, last, lastDs, diagnostics, up)
          : n.kind === 'seed'
            ? seedTask(n, ctx, last, up, diagnostics)
            : modelTask(n, ctx, last, lastDs, up, diagnostics);
      if (task) singles.push(task);
    }
  }
  const resets: Task[] = [];
  const swaps: Task[] = [];
  for (const n of nodes) {
    const full = staged.get(n.name);
    const list = batchesOf.get(n.name);
    if (!full || !list || n.kind !== 'model') continue;
    resets.push(resetTask(n, full.reset, full.stagingRelation));
    const up = [...list.map((b) => b.id), ...upstreamIds(n, undefined)];
    const [first, final] = [list[0].interval, list[list.length - 1].interval];
    const label = list.length === 1 ? intervalLabel(first) : `${intervalLabel(first)} … ${intervalLabel(final)}`;
    const unit = isHourLabel(intervalLabel(final)) ? 'hour' : 'date';
    const swap = swapTask(n, ctx, final, { id: full.swap, stagingRelation: full.stagingRelation, range: { start: first.start, end: final.end }, label, unit }, up, diagnostics);
    const after = readers.get(n.name) ?? [];
    swaps.push(after.length > 0 ? { ...swap, after } : swap);
  }
  // Seeds and anything dates wait for come first among ready tasks; the rest after the dates.
  const first = (t: Task) => {
    if (t.kind === 'seed') return true;
    const intervals = taskMaterialization(t.kind)?.intervals;
    return intervals?.per === 'run' && intervals.beforeDates;
  };
  const tasks: Task[] = [...resets, ...singles.filter(first)];
  // The dates in the order asked: by their place among the sorted dates, newest first on request.
  for (let i = 0; i < sorted.length; i++) tasks.push(...(byDate.get(order === 'newest' ? sorted.length - 1 - i : i) ?? []));
  tasks.push(...swaps, ...singles.filter((t) => !first(t)));
  tasks.push(...freeTestTasks(ctx, sorted[sorted.length - 1], tasks, diagnostics));
  return { tasks, diagnostics };
}

/** For intervals ordered by start: the latest end among the first of them, at each place. */
function latestEnds(intervals: readonly Interval[]): number[] {
  const ends: number[] = [];
  for (const i of intervals) ends.push(Math.max(ends[ends.length - 1] ?? -Infinity, i.end));
  return ends;
}

/** The first place whose latest end (see latestEnds) is after `start`, found by halves: every interval before it ends before `start`. */
function firstEndingAfter(ends: readonly number[], start: number): number {
  return partitionPoint(ends.length, (i) => ends[i] <= start);
}

/** Whether two half-open intervals share an instant. */
function overlaps(a: Interval, b: Interval): boolean {
  return a.start < b.end && b.start < a.end;
}

/** The first task of a model's full refresh: no rows of an earlier attempt stay in its staging table. */
function resetTask(node: ModelNode, id: string, stagingRelation: string): Task {
  return {
    id,
    node: node.name,
    kind: builtOf(node.config).kind,
    file: node.file,
    relation: node.relation,
    schema: node.config.schema,
    upstream: [],
    steps: fullRefreshResetSteps(stagingRelation),
    lockKey: stagingRelation,
    phase: 'reset',
  };
}

/**
 * The last task of a model's full refresh: its staging table replaces the published table,
 * the model's checks of the whole table run against it inside that transaction.
 */
function swapTask(
  node: ModelNode,
  ctx: PlanContext,
  lastInterval: Interval,
  full: { id: string; stagingRelation: string; range: Interval; label: string; unit: 'date' | 'hour' },
  upstream: string[],
  diagnostics: Diagnostic[],
): Task {
  const existing = ctx.catalog.get(node.relation);
  const input: StrategyInput = {
    ...strategyBase(node.config.schema, node.config.alias ?? node.name, node.relation, existing, undefined),
    stagingName: fullRefreshStaging(node.relation, node.name).stagingName,
    stagingRelation: full.stagingRelation,
    sql: '',
    fullRefresh: true,
  };
  // Partition checks ran with each date; the table's checks read it as it will be published.
  const checks = planChecks(node, ctx, lastInterval, { table: node.relation, tableInPublish: true }, diagnostics);
  return {
    id: full.id,
    node: node.name,
    kind: builtOf(node.config).kind,
    file: node.file,
    relation: node.relation,
    schema: node.config.schema,
    interval: full.range,
    upstream,
    steps: aroundQuery(
      withChecks(fullRefreshSwapSteps(input), checks),
      aroundOf(node, ctx.analysis.renderer, ctx.analysis.database, lastInterval, tableState(node, ctx), { publishes: true }, diagnostics),
    ),
    lockKey: node.relation,
    retry: retryPolicy(node, ctx.pipeline),
    phase: 'swap',
    replacesTable: existing === 'table' ? replaced(node, full.range, full.label, full.unit) : undefined,
  };
}

/** What a full refresh of `interval` would replace; see Task.replacesTable. */
function replaced(node: ModelNode, interval: Interval, label: string, unit: 'date' | 'hour'): Task['replacesTable'] {
  const intervals = perInterval(node.config);
  if (!intervals) throw new Error(`internal error: ${node.name} keeps no table of intervals to replace`);
  return { partitionBy: intervals.partitionBy(node.config), interval, label, unit };
}

/**
 * Whether a seed's DATE columns are all typed by dbt's inference, which types DATE only text
 * written `%Y-%m-%d`; a column declared DATE is read in the format the sniffer finds, as
 * dbt-duckdb's COPY reads it.
 */
function isoDates(node: SeedNode): boolean {
  const date = (type: string) => type.trim().toUpperCase() === 'DATE';
  return Object.values(node.inferredTypes).some(date) && !Object.values(node.columnTypes).some(date);
}

/** A seed's load: staged, tested (its dbt tests), swapped in; nothing when it is unchanged. */
function seedTask(node: SeedNode, ctx: PlanContext, interval: Interval, upstream: string[], diagnostics: Diagnostic[]): Task {
  const existing = ctx.catalog.get(node.relation);
  // As dbt-duckdb's seed materialization: its hooks and comments around the load. A seed with
  // hooks is loaded on every run, as a model with hooks is built: what a hook does (a post-hook
  // that loads rows from elsewhere, as Tuva's do) is out of sight of the file's hash.
  const around = () => aroundOf(node, ctx.analysis.renderer, ctx.analysis.database, interval, NO_TABLE, { publishes: true }, diagnostics);
  const hooked = seedHooks(node);
  const upToDate = !ctx.fullRefresh && !ctx.force && existing === 'table' && ctx.seedHashes.get(node.name) === node.hash && hooked === undefined;
  // A dbt project's seed is quoted as DuckDB's sniffer finds it, as dbt-duckdb's COPY reads it (preflight checks agate would read it alike).
  const read = { absPath: node.absPath, columnTypes: {}, delimiter: node.delimiter, ...(node.header.renamed ? { names: node.header.names } : {}), ...(node.sniffedByDbt ? { sniffedQuotes: true } : {}) };
  const sql = SQL.seedSelect({ ...read, columnTypes: { ...node.inferredTypes, ...node.columnTypes }, ...(isoDates(node) ? { isoDates: true } : {}) });
  // Staged under the run's name: runs of other dates load a seed too, and two at once (a
  // scheduler's catch-up) would drop each other's staging table.
  const base = strategyBase(node.schema, node.alias ?? node.name, node.relation, existing, ctx.runId);
  let steps: Step[] = [];
  if (!upToDate) {
    steps = seedStrategy({ ...base, sql, fullRefresh: ctx.fullRefresh }, { file: node.file, rows: node.header.rows, declared: Object.keys(node.columnTypes) });
    const hooks = around();
    // Checked as published, after the post-hooks of the publishing transaction (rows one adds
    // are checked, as dbt's tests of the seed see them); else the staged rows, before the swap.
    const checked: CheckTarget = hooks.post.some((h) => h.transaction)
      ? { partition: node.relation, table: node.relation, columns: base.stagingRelation, partitionInPublish: true, tableInPublish: true }
      : { partition: base.stagingRelation, table: base.stagingRelation };
    if (node.checks.length > 0) steps = withChecks(steps, planChecks(node, ctx, interval, checked, diagnostics));
    steps = aroundQuery(steps, hooks);
  }
  const columnTypes = Object.entries(node.columnTypes).map(([column, type]) => ({ column, type, location: node.columnTypeLocations[column] }));
  return {
    id: taskId(node, undefined),
    node: node.name,
    kind: 'seed',
    file: node.file,
    relation: node.relation,
    schema: node.schema,
    upstream,
    sql,
    sqlHash: node.hash,
    csv: { file: node.file, read, names: node.header.names, columnTypes, bareNames: node.quoteColumns ? undefined : node.quoteColumnsAt, sniffedByDbt: node.sniffedByDbt, ...(ctx.fullRefresh && ctx.selected.has(node.name) ? { retyped: true } : {}), ...((node.post_hook?.length ?? 0) > 0 ? { postHooks: true } : {}) },
    steps,
    lockKey: node.relation,
    noop: upToDate ? { reason: 'up-to-date', detail: 'unchanged since it was last loaded' } : undefined,
    ...(hooked !== undefined ? { alwaysLoads: hooked } : {}),
    stateStatements: [seedLoadedSql(node.name, node.relation, loadedSeedHash({ sqlHash: node.hash, alwaysLoads: hooked }, ctx.runId)!, ctx.runId, Date.now())],
  };
}

/** Why a seed is loaded on every run (it has hooks, whose effects pipe cannot see); undefined when its file says what it holds. */
function seedHooks(node: SeedNode): string | undefined {
  return (node.pre_hook?.length ?? 0) + (node.post_hook?.length ?? 0) > 0 ? 'it runs hooks, whose effects pipe cannot see' : undefined;
}

const orUndefined = <T>(list: readonly T[]) => (list.length > 0 ? list : undefined);

/** `name` is the relation's own name: the model's, or its alias. */
function strategyBase(schema: string, name: string, relation: string, existing: RelationType | undefined, ds: string | undefined) {
  return { schema, name, relation, existing, ...stagingFor(relation, name, ds) };
}

function retryPolicy(node: ModelNode, pipeline: Pipeline | undefined): RetryPolicy | undefined {
  const retries = node.config.retries ?? pipeline?.retries;
  if (!retries) return undefined;
  const delayMs = node.config.retry_delay_ms ?? pipeline?.retry_delay_ms ?? DEFAULT_RETRY_DELAY_MS;
  return { retries, delayMs, maxDelayMs: Math.max(delayMs, DEFAULT_MAX_DELAY_MS) };
}

/**
 * The column-existence step and one step per check, against the given targets; checks of the
 * whole table go into the publishing transaction when the target says so (`publish`).
 */
export function planChecks(
  node: ModelNode | SeedNode,
  ctx: PlanContext,
  interval: Interval,
  target: CheckTarget,
  diagnostics: Diagnostic[],
  relations?: RelationOverrides,
): { steps: Step[]; publish: CheckStep[] } {
  const steps: Step[] = [];
  const publish: CheckStep[] = [];
  // A relationships check of the model's own rows (manager_id to id) compares to a column of them too.
  const ownColumns = (c: Check) => [...c.columns, ...c.refs.flatMap((r) => (c.kind === 'relationships' && r.model === node.name && r.column !== undefined ? [r.column] : []))];
  const expected = [...node.checks.flatMap((c) => ownColumns(c).map((column) => ({ column, namedBy: `check ${c.name}`, location: c.location }))), ...eventTimeUse(node, ctx.analysis)];
  const columnsOf = target.columns ?? target.partition;
  if (expected.length > 0 && columnsOf !== undefined) steps.push({ kind: 'columns', relation: columnsOf, expected });
  for (const c of node.checks) {
    const on = c.scope === 'table' ? target.table : target.partition;
    if (on === undefined) continue;
    if (c.kind === 'relationships' || c.compared !== undefined) steps.push(...comparedColumns(ctx, node.name, c, interval, on, relations));
    const step = checkStep(ctx, node.name, c, interval, on, relations);
    if ('code' in step) {
      diagnostics.push(step);
      continue;
    }
    if (c.scope === 'table' ? target.tableInPublish : target.partitionInPublish) publish.push(c.scope === 'table' ? { ...step, wholeTable: true } : step);
    else steps.push(step);
  }
  return { steps, publish };
}

/**
 * The columns a relationships check compares to, in the model it names: one it lacks would
 * otherwise fail the check's query in the engine's words (which blame the query's alias).
 * The model is read as the check reads it (an ephemeral one inlined).
 */
function comparedColumns(ctx: PlanContext, node: string, c: Check, interval: Interval, on: string, relations?: RelationOverrides): Step[] {
  return [...(c.kind === 'relationships' ? c.refs : []), ...(c.compared ?? [])].flatMap((r): Step[] => {
    if (r.column === undefined || r.model === node) return [];
    const read = ctx.analysis.renderer.checkSql(node, { ...c, sql: `SELECT * FROM ${refToken(r.model)}`, template: undefined, atRun: undefined }, interval, on, relations);
    if (typeof read !== 'string') return [];
    return [{ kind: 'columns', relation: `(\n${read}\n)`, of: r.model, expected: [{ column: r.column, namedBy: `check ${c.name}`, location: c.location }] }];
  });
}

/**
 * One check of a node against `on`, the data checked; a dbt test that reads the warehouse
 * while rendering is rendered again as it runs (see CheckStep.renderAtRun).
 */
function checkStep(ctx: PlanContext, node: string, c: Check, interval: Interval, on: string, relations?: RelationOverrides): CheckStep | Diagnostic {
  const { renderer } = ctx.analysis;
  const sql = renderer.checkSql(node, c, interval, on, relations);
  if (typeof sql !== 'string') return sql;
  const stored = c.storeFailures && failuresWrite(ctx, node, c, interval);
  if (stored && 'code' in stored) return stored;
  const step: CheckStep = {
    kind: 'check',
    name: c.name,
    severity: c.severity,
    sql,
    location: c.location,
    threshold: c.threshold,
    ...(c.expression === undefined ? {} : { expression: c.expression }),
    ...(c.kind === 'row_count' ? { counted: true as const } : {}),
    ...(c.kind === 'query' && renderer.readsOnlyChecked(node, c, interval) ? { checked: on } : {}),
    ...(stored ? { storeFailures: stored } : {}),
  };
  if (!c.atRun && !renderer.checkReadsAtRun(c)) return step;
  const renderAtRun: RenderAtRun<string> = {
    render: (answers) => {
      const said: TemplateMessage[] = [];
      const r = renderer.checkSqlAtRun(node, c, interval, on, relations, answers, (m) => said.push(m));
      if (typeof r === 'string') return { kind: 'rendered', value: r, said };
      if ('asked' in r) return { kind: 'asks', question: r.asked, location: r.location, related: r.related, said };
      return { kind: 'failed', diagnostics: [r], said };
    },
  };
  return { ...step, renderAtRun };
}

/**
 * Where a dbt test keeps its failing rows. A view is the test's query over the relations as
 * published (the tested node's, not the rows a run stages), as dbt's view reads them.
 */
function failuresWrite(ctx: PlanContext, node: string, c: Check, interval: Interval): FailuresWrite | Diagnostic {
  const { as, schema, name, relation } = c.storeFailures!;
  if (as === 'table') return { as, schema, name, relation };
  // A test that names no node (see freeTestTasks) reads the relations it names alone.
  const published = ctx.analysis.nodes.get(node)?.relation ?? (ctx.analysis.freeTests.includes(c) ? '' : undefined);
  if (published === undefined) throw new Error(`internal error: a test of ${node}, which is not a node`);
  const sql = ctx.analysis.renderer.checkSql(node, { ...c, atRun: undefined }, interval, published);
  return typeof sql === 'string' ? { as, schema, name, relation, sql } : sql;
}

/** How a model task is built beyond its node and date. */
interface ModelTaskOptions {
  /** The backfill date this task belongs to. */
  readonly group?: string;
  /** A backfill's full refresh: the model's staging table this date is built into. */
  readonly stagedIn?: string;
  /** What ref() resolves to instead of the published relations (see RelationOverrides). */
  readonly relations?: RelationOverrides;
  /** A later interval of a model's first build: see firstBuildState. */
  readonly afterFirst?: AfterFirst;
}

/** Adds a task's render error, but a read outside the graph once for the place it is at, however many dates render it. */
function refuseOnce(diagnostics: Diagnostic[], d: Diagnostic): void {
  const at = d.location;
  const same = (x: Diagnostic) => x.code === d.code && x.location?.file === at?.file && x.location?.line === at?.line && x.location?.column === at?.column;
  if (d.code !== 'ref-by-date' || !diagnostics.some(same)) diagnostics.push(d);
}

/** The tasks of a model's first build before a later one: the first, which creates its table, and the one just before. */
interface AfterFirst {
  readonly first: string;
  readonly previous: string;
}

/**
 * How a later interval of a model's first build renders, and what it waits for. The first
 * interval creates the table; by the time a later one runs it exists, so is_incremental() is
 * true there, as dbt's microbatch renders every batch after the first (rendered as if the
 * table were absent, a model adding to its own rows, a running total, built every interval
 * from nothing). A render that asks is_incremental() and comes out otherwise waits for the
 * first interval, and for the one before when it reads its own table; one that does not ask
 * runs as planned, side by side.
 */
function firstBuildState(
  node: ModelNode,
  render: (state: TableState) => RenderedSql | Diagnostic,
  planned: { readonly state: TableState; readonly rendered: RenderedSql },
  afterFirst: AfterFirst | undefined,
): { state: TableState; rendered: RenderedSql; waitsFor?: string } | Diagnostic {
  if (!afterFirst || planned.state.tableExists || planned.state.fullRefresh) return planned;
  const state: TableState = { tableExists: true, fullRefresh: false };
  const rendered = render(state);
  // Reading what the graph does not have it wait for is refused, not built as the first interval.
  if ('severity' in rendered && rendered.code === 'ref-by-date') return rendered;
  if ('severity' in rendered || rendered.hash === planned.rendered.hash) return planned;
  return { state, rendered, waitsFor: rendered.sql.includes(node.relation) ? afterFirst.previous : afterFirst.first };
}

/**
 * A model's `event_time`, which the microbatch models reading it filter its rows by: a column
 * its rows must have, or each batch would fail on pipe's filter in the engine's words.
 */
/** Whether a model's steps render templates of its own as they are made: its checks, event-time filters, hooks and sql_header. */
function stepsRender(node: ModelNode, analysis: Analysis): boolean {
  const { pre_hook, post_hook, sql_header } = node.config;
  return node.checks.length > 0 || eventTimeUse(node, analysis).length > 0 || pre_hook.length > 0 || post_hook.length > 0 || sql_header !== undefined;
}

function eventTimeUse(node: ModelNode | SeedNode, analysis: Analysis): ColumnUse[] {
  if (node.kind !== 'model' || node.config.event_time === undefined || node.partitionByAt === undefined) return [];
  // Set on a folder (+event_time), it is nothing to a model no microbatch model reads, as in dbt.
  if (!modelKind(node.config.kind).batchedInputs && !batchedReadsOf(analysis).has(node.name)) return [];
  return [{ column: node.config.event_time, namedBy: 'event_time', location: node.partitionByAt }];
}

/** The nodes that microbatch models read by batch, once per analysis. */
const batchedReadsKept = new WeakMap<Analysis, ReadonlySet<string>>();
function batchedReadsOf(analysis: Analysis): ReadonlySet<string> {
  let found = batchedReadsKept.get(analysis);
  if (!found) {
    found = batchedReads(analysis.nodes);
    batchedReadsKept.set(analysis, found);
  }
  return found;
}

/**
 * Puts a task's check steps before what publishes its rows (the publishing step; an external
 * model's file, renamed into place before it), and its checks of the published table into the
 * publishing step.
 */
function withChecks(steps: Step[], checks: { steps: Step[]; publish: CheckStep[] }): Step[] {
  const at = steps.findIndex((s) => s.kind === 'publish');
  const publish = steps[at];
  if (publish?.kind !== 'publish') throw new Error('internal error: a strategy without a publishing step');
  const withPublish = checks.publish.length > 0 ? Object.assign({}, publish, { checks: checks.publish }) : publish;
  const file = steps.findIndex((s) => s.kind === 'write-file');
  const before = file >= 0 && file < at ? file : at;
  return [...steps.slice(0, before), ...checks.steps, ...steps.slice(before, at), withPublish, ...steps.slice(at + 1)];
}

function modelTask(
  node: ModelNode,
  ctx: PlanContext,
  interval: Interval,
  ds: string,
  upstream: string[],
  diagnostics: Diagnostic[],
  options: ModelTaskOptions = {},
): Task | undefined {
  const { analysis, catalog } = ctx;
  const fullRefresh = fullRefreshOf(node.config, ctx.fullRefresh);
  const { group, stagedIn, relations } = options;
  const existing = catalog.get(node.relation);
  const { kind, spec } = builtOf(node.config);
  const inputs = batchInputs(node, ctx, interval, relations);
  const render = (state: TableState) => analysis.renderer.sql(node.name, interval, state, relations, undefined, inputs);
  const planned = tableState(node, ctx);
  const first = render(planned);
  if ('severity' in first) {
    refuseOnce(diagnostics, first);
    return undefined;
  }
  const later = firstBuildState(node, render, { state: planned, rendered: first }, options.afterFirst);
  if ('severity' in later) {
    refuseOnce(diagnostics, later);
    return undefined;
  }
  const { state, rendered, waitsFor } = later;
  if (waitsFor !== undefined && !upstream.includes(waitsFor)) upstream = [...upstream, waitsFor];
  const intervals = perInterval(node.config);
  /** The steps that build the model from its SQL: its checks and what runs around the query among them. */
  const stepsOf = (sql: string, found: Diagnostic[]): Step[] => {
    // Object.assign, not a spread followed by properties: V8 defines each property written after
    // a spread on a slow path, a microsecond or two per property of every object so made.
    const input: StrategyInput = Object.assign(strategyBase(node.config.schema, node.config.alias ?? node.name, node.relation, existing, ds), {
      sql,
      interval,
      fullRefresh,
      root: analysis.root,
      externalRoot: analysis.settings.externalRoot,
      runId: ctx.runId,
      readsItself: node.readsItself,
      uniqueKeyAt: node.uniqueKeyAt,
      partitionByAt: node.partitionByAt,
      snapshotTimeAt: node.snapshotTimeAt,
      schemaChangeAt: node.schemaChangeAt,
      stagePartitions: ctx.stagePartitions,
      contractTable: node.contract !== undefined,
    });
    let steps: Step[];
    let target: CheckTarget;
    if (stagedIn === undefined) {
      steps = spec.strategy(input, node.config);
      target = spec.checks(input, node.config);
    } else if (intervals) {
      steps = intervals.stagedDate(input, node.config, stagedIn);
      target = intervals.stagedDateChecks(input, node.config, stagedIn);
    } else {
      throw new Error(`internal error: ${node.name} keeps no table of intervals to stage`);
    }
    if (node.checks.length > 0 || eventTimeUse(node, ctx.analysis).length > 0) steps = withChecks(steps, planChecks(node, ctx, interval, target, found, relations));
    // A date of a full refresh builds the query into the staging table: the swap publishes the model.
    const staged = kind === 'table' || kind === 'external' ? input.stagingRelation : undefined;
    const parts = { publishes: stagedIn === undefined, query: sql, ...(staged === undefined ? {} : { staging: staged }) };
    return aroundQuery(steps, aroundOf(node, analysis.renderer, analysis.database, interval, state, parts, found, relations));
  };
  const origin = (r: RenderedSql) => ({ file: node.file, source: r.source, sql: r.sql, inserted: r.inserted });
  let task: Task = {
    id: taskId(node, ds),
    node: node.name,
    kind,
    file: node.file,
    relation: node.relation,
    schema: node.config.schema,
    ds,
    interval,
    upstream,
    sql: rendered.sql,
    sqlHash: rendered.hash,
    origin: origin(rendered),
    // A plan only shown leaves out the statements, made for the executor; not where making them
    // renders what can fail (checks and event-time filters, hooks, sql_header), which the plan reports.
    steps: ctx.shownOnly && !stepsRender(node, ctx.analysis) ? [] : stepsOf(rendered.sql, diagnostics),
    sources: orUndefined(readsOf(node, analysis).sources),
    // The dates of a full refresh publish into the staging table, one at a time.
    lockKey: stagedIn ?? node.relation,
    group,
    retry: retryPolicy(node, ctx.pipeline),
    // Built from this interval alone, a table of intervals would lose the others.
    replacesTable:
      intervals && fullRefresh && existing === 'table' && stagedIn === undefined ? replaced(node, interval, ds, isHourLabel(ds) ? 'hour' : 'date') : undefined,
  };
  const rendersAtRun = analysis.renderer.rendersAtRun(node.name);
  if (!ctx.shownOnly) {
    const checks = allSteps(task.steps).flatMap((s) => (s.kind === 'check' ? [s] : s.kind === 'publish' ? (s.checks ?? []) : [])).filter((c) => !c.renderAtRun);
    const tracked = { interval, sql: rendered.sql, sqlHash: rendered.hash, stagedIn, relations, rendersAtRun, checks };
    task = { ...task, tracking: trackingOf(node, tracked, trackingContext(ctx)) };
  }
  if (!rendersAtRun) return task;
  const renderAtRun: RenderAtRun = {
    render: (answers) => {
      const said: TemplateMessage[] = [];
      const r = analysis.renderer.sqlAtRun(node.name, interval, state, relations, answers, inputs, (m) => said.push(m));
      if ('asked' in r) return { kind: 'asks', question: r.asked, location: r.location, related: r.related, said };
      if ('severity' in r) return { kind: 'failed', diagnostics: [r], said };
      const found: Diagnostic[] = [];
      // Its hooks are rendered with it: what they say is told as each runs (see HookStep.said).
      const steps = stepsOf(r.sql, found);
      if (found.length > 0) return { kind: 'failed', diagnostics: found, said };
      return { kind: 'rendered', value: { ...task, sql: r.sql, sqlHash: r.hash, origin: origin(r), steps, renderAtRun: undefined }, said };
    },
  };
  return { ...task, renderAtRun };
}

const trackingContexts = new WeakMap<PlanContext, TrackingContext>();

/** What tracking asks of the plan, once per plan context. */
function trackingContext(ctx: PlanContext): TrackingContext {
  let known = trackingContexts.get(ctx);
  if (!known) {
    known = { analysis: ctx.analysis, readsOf: (n) => readsOf(n, ctx.analysis), catalog: ctx.catalog, fullRefresh: ctx.fullRefresh };
    trackingContexts.set(ctx, known);
  }
  return known;
}

/**
 * The tests declared on a source table, run by `pipe test` on what it reads as they are (a
 * source is never built, so they run nowhere else). Whether the table exists was checked
 * before planning, as for a run.
 */
function sourceTestTask(
  node: SourceNode,
  ctx: PlanContext,
  interval: Interval,
  ds: string,
  diagnostics: Diagnostic[],
  upstream: string[] = [],
  runs: (check: Check) => boolean = () => true,
): Task | undefined {
  const checks = (ctx.analysis.sourceChecks.get(node.name) ?? []).filter(runs);
  if (checks.length === 0) return undefined;
  const steps: Step[] = [];
  for (const c of checks) {
    const step = checkStep(ctx, node.name, c, interval, node.relation);
    if ('code' in step) diagnostics.push(step);
    else steps.push(step);
  }
  return {
    id: taskId(node, ds),
    node: node.name,
    kind: 'test',
    file: node.file,
    relation: node.relation,
    schema: node.reads.kind === 'relation' ? node.reads.schema : 'main',
    ds,
    interval,
    upstream,
    steps: [...steps, { kind: 'publish', statements: [] }],
    lockKey: node.relation,
  };
}

/**
 * dbt's singular tests that name no model, seed or source (`select … from {{ target.schema
 * }}.orders`), as `ctx.freeTests` chooses them: each is a test task of its own, run once the
 * run's other tasks have finished, whatever their outcome, on the tables as they are then (dbt
 * runs such a test on its own too). A failing one fails the run; it keeps nothing from being
 * published, and `pipe retry` runs it again.
 */
function freeTestTasks(ctx: PlanContext, interval: Interval, others: readonly Task[], diagnostics: Diagnostic[]): Task[] {
  const chosen = ctx.freeTests ? ctx.analysis.freeTests.filter(ctx.freeTests) : [];
  if (chosen.length === 0) return [];
  const ds = intervalLabel(interval);
  const after = others.map((t) => t.id);
  return chosen.flatMap((c): Task[] => {
    const step = checkStep(ctx, c.name, c, interval, '');
    if ('code' in step) {
      diagnostics.push(step);
      return [];
    }
    // Named as the test, unless a model or seed has that name (dbt names them apart by kind): its tasks are the node's.
    const node = ctx.analysis.nodes.has(c.name) ? `test.${c.name}` : c.name;
    return [
      {
        id: `${node}@${ds}`,
        node,
        kind: 'test',
        file: c.location.file,
        relation: c.name,
        schema: c.dbt?.schema ?? ctx.analysis.settings.targetSchema ?? 'main',
        ds,
        interval,
        upstream: [],
        ...(after.length > 0 ? { after } : {}),
        steps: [step, { kind: 'publish', statements: [] }],
        lockKey: `test ${c.name}`,
      },
    ];
  });
}

/** Which of the selected nodes' tests `pipe test` runs (see commands/test-selection.ts); absent, all. */
export interface TestFilter {
  /** Whether any data test runs: dbt's tests and pipe's checks. */
  readonly data: boolean;
  /** Which of a node's data tests run. */
  readonly dataTest: (node: string, check: Check) => boolean;
  readonly unit: (model: string, test: string) => boolean;
}

/**
 * For a model kept in intervals, a warning check that the date tested has rows: checks of a
 * date never built (or built empty) read nothing and pass, which would say nothing.
 */
function datedRows(name: string, file: string, ds: string, target: CheckTarget): Step[] {
  if (target.partition === undefined || target.partition === target.table) return [];
  const why = `${name} has no rows of ${ds}: never built for that date, or built empty; its checks read nothing`;
  return [{ kind: 'check', name: `rows of ${ds}`, severity: 'warn', sql: `SELECT ${quoteLiteral(why)} AS why WHERE NOT EXISTS (SELECT 1 FROM ${target.partition})`, location: { file } }];
}

/**
 * `pipe test`: the checks and dbt tests of each selected model and seed against its published
 * data, building nothing. Partition checks of an incremental model read the interval's rows.
 */
export function planTest(
  ctx: PlanContext,
  interval: Interval,
  filter?: TestFilter,
  options: {
    readonly unbuiltToo?: boolean;
    /** How `pipe run` is written for this command's project and vars, for the hint of a node not built yet. */
    readonly runCommand?: (args: string) => string;
    /** Models an error keeps from being built, with it (see Analyzed.leftOut): their unit tests, which render them, fail with it. */
    readonly leftOut?: ReadonlyMap<string, Diagnostic>;
  } = {},
): Plan {
  const runCommand = options.runCommand ?? ((args: string) => `pipe ${args}`);
  const diagnostics: Diagnostic[] = [];
  const ds = intervalLabel(interval);
  const tasks: Task[] = [];
  for (const name of topologicalOrder(ctx.analysis.graph)) {
    let node = ctx.analysis.nodes.get(name)!;
    const selected = ctx.selected.has(name);
    // dbt's eager selection: a test that reads a selected node runs, though it runs with
    // another node (a singular test of two models runs with the later of them).
    const readsSelected = (c: Check) => selected || c.refs.some((r) => ctx.selected.has(r.model));
    if (!selected && (node.kind === 'source' ? ctx.analysis.sourceChecks.get(name) ?? [] : node.checks).every((c) => !readsSelected(c))) continue;
    if (node.kind === 'model' && selected) {
      const unit = filter ? { ...node, unitTests: (node.unitTests ?? []).filter((t) => filter.unit(name, t.name)) } : node;
      const kept = options.leftOut?.get(name);
      if (kept === undefined) tasks.push(...unitTestTasks(unit, ctx.analysis, interval, ds, [], diagnostics));
      else {
        const at = kept.location ? ` (${kept.location.file}${kept.location.line ? `:${kept.location.line}` : ''})` : '';
        for (const t of unit.unitTests ?? []) tasks.push(refusedUnitTestTask(unit, t, interval, ds, `${kept.message.split('\n')[0]}${at}`));
      }
    }
    if (filter && !filter.data) continue;
    const runs = (c: Check) => readsSelected(c) && (filter?.dataTest(name, c) ?? true);
    if (node.kind === 'source') {
      const task = sourceTestTask(node, ctx, interval, ds, diagnostics, [], runs);
      if (task) tasks.push(task);
      continue;
    }
    if (filter || !selected) node = { ...node, checks: node.checks.filter(runs) };
    if (node.checks.length === 0) continue;
    const spec = node.kind === 'model' ? materializationOf(node.config) : undefined;
    if (spec && !spec.built) continue;
    const target = spec && node.kind === 'model' ? spec.publishedChecks(node.relation, interval, node.config) : { partition: node.relation, table: node.relation };
    // A model not built yet fails its test task, as dbt's tests of a missing table fail; the others run.
    // Its checks run before it is published: one failing in that run is why it is still not there.
    const run = `${node.kind === 'seed' ? `${runCommand(`run --select ${name}`)} loads it` : `${runCommand(`run --select +${name}`)} builds it and what it reads`}, publishing it once its checks pass`;
    // unbuiltToo: the checks' queries of a node not built yet too, to show them (pipe compile).
    const checks: Step[] = ctx.catalog.has(node.relation) || options.unbuiltToo
      ? [...datedRows(name, node.file, ds, target), ...planChecks(node, ctx, interval, target, diagnostics).steps]
      : [{ kind: 'refuse', message: `${name} is not built yet, so its ${node.checks.length === 1 ? 'check' : `${node.checks.length} checks`} cannot run: ${run}`, location: { file: node.file } }];
    const steps: Step[] = [...checks, { kind: 'publish', statements: [] }];
    tasks.push({
      id: taskId(node, ds),
      node: name,
      kind: 'test',
      file: node.file,
      relation: node.relation,
      schema: node.kind === 'model' ? node.config.schema : node.schema,
      ds,
      interval,
      upstream: [],
      steps,
      lockKey: node.relation,
    });
  }
  if (!filter || filter.data) tasks.push(...freeTestTasks(ctx, interval, tasks, diagnostics));
  return { tasks, diagnostics };
}
