import type { Analysis, ModelNode, PipeNode } from '../analyze/analyze.js';
import type { Pipeline, ScheduleInterval } from '../analyze/project-settings.js';
import { pipelineInterval } from '../analyze/project-settings.js';
import { DiagnosticError } from '../diagnostics/diagnostics.js';
import { batchStart, DAY_MS, MAX_INTERVALS, defaultRunDate, formatDate, rangeIntervals, type Clock } from '../dates/dates.js';
import { topologicalOrder } from '../graph/graph.js';
import type { NodeState } from '../graph/selector-methods.js';
import { isBuilt, perInterval } from '../plan/materializations.js';
import { planBackfill } from '../plan/plan.js';
import { coverageOf, readRecorded, type Recorded, type TaskCoverage } from './task-coverage.js';
import type { Catalog } from '../warehouse/run-state.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';
import { pushTo } from '../util/multi-map.js';

/**
 * The coverage of a selection: each selected seed and model, with the standing of each of its
 * intervals (a model kept in intervals) or of its one build, judged as a backfill of the range
 * would judge its tasks (state/coverage.ts). `pipe status` prints it; `state:` selectors read
 * it for the whole project.
 */

export interface NodeCoverage {
  readonly node: string;
  /** `seed`, or the model's materialization. */
  readonly kind: string;
  /** Kept in intervals (one standing per interval), or built whole (one standing). */
  readonly dated: boolean;
  /** Oldest first; empty for a model kept in intervals that has no date to start from. */
  readonly units: readonly TaskCoverage[];
  /** Whether anything of it is on record (a build, a loaded seed). */
  readonly everBuilt: boolean;
}

export interface Coverage {
  readonly nodes: readonly NodeCoverage[];
  /** The dates judged (inclusive); each dated model from its own start within them. */
  readonly range: { readonly start: string; readonly end: string };
  /** Whether the range is the default one (each dated model from its begin or its first build, to yesterday). */
  readonly defaultRange: boolean;
  /** Nothing of the project is on record: the warehouse is absent or pipe never built into it. */
  readonly nothingBuilt: boolean;
  readonly granularity: ScheduleInterval;
  /**
   * The default range cut short: a model's history on record reaches back to `history`, past
   * the MAX_INTERVALS dates a command judges at once, and the dates before `from` are not judged.
   */
  readonly cut?: {
    readonly from: string;
    readonly history: string;
    readonly most: number;
    /** Set when the many models kept by date cut it (see MAX_JUDGED_TASKS): how many, and the tasks judged at most. */
    readonly models?: { readonly count: number; readonly tasks: number };
  };
}

/**
 * The most tasks (a model kept by date, for one date) the default range of `pipe status` (and
 * of the UI's coverage, which is its) judges: each is planned and judged as a backfill's (some
 * 0.15 ms and 12 KB each), so that a project of 2,000 models, 400 of them by date, built first
 * three years ago, would take minutes and more memory than Node has. With more models kept by
 * date, fewer of the latest dates are judged by default, and status says so; --start and --end
 * judge any range.
 */
export const MAX_JUDGED_TASKS = 100_000;

export interface AssessInput {
  readonly analysis: Analysis;
  readonly selected: ReadonlySet<string>;
  readonly catalog: Catalog;
  readonly seedHashes: ReadonlyMap<string, string>;
  readonly pipeline?: Pipeline;
  /** Absent: there is no warehouse, nothing is built. */
  readonly session?: WarehouseSession;
  /** Inclusive dates; absent: the default range. */
  readonly range?: { readonly start: number; readonly end: number };
  readonly clock?: Clock;
  /** The most intervals the default range judges; MAX_INTERVALS unless a test says fewer. */
  readonly judgedAtMost?: number;
  /**
   * The most tasks the default range judges (see MAX_JUDGED_TASKS); unbounded when not given:
   * a `state:` selection judges every date on record, which a cut would leave unsaid.
   */
  readonly judgedTasksAtMost?: number;
}

export async function assessCoverage(input: AssessInput): Promise<Coverage> {
  const { analysis, selected } = input;
  const recorded = await readRecorded(input.session, input.seedHashes);
  const granularity = pipelineInterval(input.pipeline);
  const yesterday = defaultRunDate(input.clock);
  const nodes = topologicalOrder(analysis.graph)
    .filter((n) => selected.has(n))
    .map((n) => analysis.nodes.get(n)!)
    .filter(builds);
  // Each dated model from its own start; the plan covers them all at once.
  const starts = new Map(nodes.flatMap((n) => (n.kind === 'model' && perInterval(n.config) ? [[n.name, startOf(n, recorded)] as const] : [])));
  const known = [...starts.values()].filter((s): s is number => s !== undefined);
  // The default range, from the earliest start on record; no further back than the intervals one command plans (a build for a date mistyped centuries back).
  const earliest = known.reduce((a, s) => Math.min(a, batchStart(s, 'day')), yesterday);
  const intervalsAtMost = input.judgedAtMost ?? MAX_INTERVALS;
  // Each dated model is planned for every interval of the range: their number bounds it too.
  const tasksAtMost = input.judgedTasksAtMost ?? Infinity;
  const byTasks = Math.max(1, Math.floor(tasksAtMost / Math.max(1, starts.size)));
  const most = Math.min(intervalsAtMost, byTasks);
  const floor = yesterday - (Math.ceil(most / (granularity === 'hourly' ? 24 : 1)) - 1) * DAY_MS;
  const range = input.range ?? { start: Math.max(earliest, floor), end: yesterday };
  const cut =
    input.range === undefined && earliest < floor
      ? { from: formatDate(floor), history: formatDate(earliest), most, ...(byTasks < intervalsAtMost ? { models: { count: starts.size, tasks: tasksAtMost } } : {}) }
      : undefined;
  const intervals = rangeIntervals(range.start, range.end, granularity);
  // Dates a model's render chose other refs for, built by runs of their own dates, are judged as built: nothing runs here.
  const plan = analysis.renderer.judgingBuilds(() =>
    planBackfill({ analysis, selected, catalog: input.catalog, seedHashes: input.seedHashes, fullRefresh: false, runId: 'status', pipeline: input.pipeline }, intervals, 'oldest'),
  );
  // A selected model whose upstream is not built is judged all the same (never built); other plan errors are the project's.
  const errors = plan.diagnostics.filter((d) => d.severity === 'error' && d.code !== 'upstream-not-built');
  if (errors.length > 0) throw new DiagnosticError(errors);
  const coverage = await coverageOf(plan.tasks, recorded, input.session);
  const byNode = new Map<string, TaskCoverage[]>();
  for (const c of coverage.values()) pushTo(byNode, c.task.node, c);
  const out: NodeCoverage[] = nodes.map((n) => {
    const dated = n.kind === 'model' && perInterval(n.config) !== undefined;
    const from = input.range ? undefined : starts.get(n.name);
    const units = (byNode.get(n.name) ?? [])
      .filter((c) => !dated || input.range !== undefined || (from !== undefined && c.task.interval!.end > from))
      .sort((a, b) => (a.task.interval?.start ?? 0) - (b.task.interval?.start ?? 0));
    const everBuilt = n.kind === 'seed' ? recorded.seedHashes.has(n.name) : recorded.builds.buildsOf(n.name).length > 0;
    return { node: n.name, kind: n.kind === 'model' ? n.config.kind : n.kind, dated, units, everBuilt };
  });
  return { nodes: out, range: { start: formatDate(range.start), end: formatDate(range.end) }, defaultRange: input.range === undefined, nothingBuilt: !recorded.anyBuilt, granularity, ...(cut ? { cut } : {}) };
}

/** Seeds and the models that are built (an ephemeral model is inlined into its readers). */
function builds(n: PipeNode): boolean {
  return n.kind === 'seed' || (n.kind === 'model' && isBuilt(n.config.kind));
}

/** Where a dated model's history starts: its `begin`, else its first build on record. */
function startOf(node: ModelNode, recorded: Recorded): number | undefined {
  if (node.config.kind === 'microbatch') return node.config.begin;
  const starts = recorded.builds.buildsOf(node.name).flatMap((b) => (b.key !== '' && b.interval ? [b.interval.start] : []));
  return starts.length > 0 ? Math.min(...starts) : undefined;
}

/** What `state:` selects a node by: never built (`new`), built from other SQL or config (`modified`), from other inputs (`stale`). */
export function nodeStates(coverage: Coverage): Map<string, Set<NodeState>> {
  const out = new Map<string, Set<NodeState>>();
  for (const n of coverage.nodes) {
    const states = new Set<NodeState>();
    if (!n.everBuilt) states.add('new');
    for (const u of n.units) {
      if (u.standing.kind === 'modified') states.add('modified');
      if (u.standing.kind === 'stale') states.add('stale');
    }
    // With nothing on record, every node is new and, as far as pipe can tell, modified.
    if (coverage.nothingBuilt) states.add('modified');
    out.set(n.node, states);
  }
  return out;
}
