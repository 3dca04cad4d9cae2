import { sqlHashOf, type Analysis, type ModelNode, type PipeNode } from '../analyze/analyze.js';
import type { SourceNode } from '../analyze/sources.js';
import { intervalLabel, type Interval } from '../dates/dates.js';
import { fullRefreshOf, materializationOf, perInterval } from './materializations.js';
import { configHash, shapingStartHooks } from './config-hash.js';
import { volatileWhy, volatileWhyOf } from '../state/volatile.js';
import { hashOf } from '../state/data-version.js';
import { withoutLayout } from '../sql/sql-text.js';
import { SELF_KEY, type InputRef, type Tracking } from '../state/tracking.js';
import { PairMemo } from '../util/pair-memo.js';

/**
 * A model task's tracking (see tracking.ts), decided with the plan: cheap and pure (no
 * warehouse), each node's inputs walked once per interval.
 */

export interface TrackingContext {
  readonly analysis: Analysis;
  /** What a node's query reads, looking through the ephemeral models it inlines. */
  readonly readsOf: (node: PipeNode) => { readonly tasks: readonly string[]; readonly sources: readonly SourceNode[] };
  readonly catalog: ReadonlyMap<string, string>;
  readonly fullRefresh: boolean;
}

export interface TrackedTask {
  readonly interval: Interval;
  readonly sql: string;
  readonly sqlHash: string;
  /** A date of a full refresh, built into this staging table (swapped in by another task). */
  readonly stagedIn?: string;
  /** What ref() resolves to instead of the published relations (staging tables of a full refresh). */
  readonly relations?: ReadonlyMap<string, string>;
  readonly rendersAtRun: boolean;
  /** The checks its build runs, as they will run (a dbt test rendered as it runs is left out). */
  readonly checks?: readonly { readonly name: string; readonly sql: string }[];
}

export function trackingOf(node: ModelNode, task: TrackedTask, ctx: TrackingContext): Tracking {
  const dated = perInterval(node.config) !== undefined;
  const spec = materializationOf(node.config);
  const incremental = node.config.kind !== 'table' && node.config.kind !== 'view';
  const interval = dated ? task.interval : undefined;
  const inputs = inputsOf(node, interval, ctx);
  if (!dated && incremental && node.config.kind !== 'snapshot' && node.config.kind !== 'external') {
    inputs.push({ kind: 'self', key: SELF_KEY, name: node.name });
  }
  const tableExists = ctx.catalog.get(node.relation) === 'table';
  return {
    key: dated ? intervalLabel(task.interval) : '',
    sqlHash: publishedSqlHash(task, ctx),
    configHash: trackedConfigHash(node, task.interval, ctx.analysis),
    inputs,
    untracked: untrackedWhy(node, task, incremental),
    reads: task.relations === undefined ? publishedReads(node, ctx) : relationsRead(node, task.relations, ctx),
    relationExists: ctx.catalog.has(node.relation),
    records: task.stagedIn === undefined,
    resets: dated && !spec.isIncremental({ tableExists, fullRefresh: fullRefreshOf(node.config, ctx.fullRefresh) }),
  };
}

/** The relations a task of `node` reads: its own, those of what its query reads (`relations` instead where given), the sources'. */
function relationsRead(node: ModelNode, relations: ReadonlyMap<string, string> | undefined, ctx: TrackingContext): string[] {
  const reads = new Set<string>([node.relation, ...(relations?.values() ?? [])]);
  for (const name of ctx.readsOf(node).tasks) reads.add(ctx.analysis.nodes.get(name)!.relation);
  for (const s of ctx.readsOf(node).sources) reads.add(s.relation);
  return [...reads];
}

/** By tracking context and node: the same for each date of a backfill. */
const publishedReadsOf = new PairMemo<TrackingContext, ModelNode, readonly string[]>();

/** relationsRead of the published relations: made once a node. */
function publishedReads(node: ModelNode, ctx: TrackingContext): readonly string[] {
  return publishedReadsOf.of(ctx, node, () => relationsRead(node, undefined, ctx));
}

/**
 * The config hash with what the model's `query:` checks render to for the interval: their
 * template text is in the config hash, but a var, a macro or the date they read changes what
 * they check as it changes a model's SQL, and a check that changed runs the model again, so
 * that it is checked. Rendered over the published relation; one that does not render is its
 * text, and fails when the task runs.
 */
/** The config hash a build of `node` for `interval` records: its config, the query settings, the on-run-start statements that may change queries, and what its query checks render to. */
export function trackedConfigHash(node: ModelNode, interval: Interval, analysis: Analysis): string {
  return withQueryChecks(undatedConfigHash(node, analysis), node, interval, analysis);
}

/** By analysis and node: a hash made once, not once for each of a backfill's dates. */
const undatedConfigHashes = new PairMemo<Analysis, ModelNode, string>();

/** The config hash of trackedConfigHash but for what its query checks render to. */
function undatedConfigHash(node: ModelNode, analysis: Analysis): string {
  return undatedConfigHashes.of(analysis, node, () => {
    const hooks = shapingStartHooks(analysis.runHooks.start);
    const own = configHash(node, analysis.settings.querySettings);
    return hooks === '' ? own : hashOf(own, hooks);
  });
}

function withQueryChecks(hash: string, node: ModelNode, interval: Interval, analysis: Analysis): string {
  const templated = node.checks.filter((c) => c.template !== undefined);
  if (templated.length === 0) return hash;
  const rendered = templated.map((c) => {
    const sql = analysis.renderer.checkSql(node.name, c, interval, node.relation);
    return typeof sql === 'string' ? sql : '';
  });
  return hashOf(hash, ...rendered);
}

function viewInputsOf(view: ModelNode, ctx: TrackingContext): readonly InputRef[] {
  return viewInputs.of(ctx.analysis, view, () => inputsOf(view, undefined, ctx));
}

/**
 * The hash a build records of the task's SQL (see Tracking.sqlHash): with the published
 * relations in place of the staging tables it reads, and its comments and layout left out
 * (see withoutLayout): a comment edited, a line wrapped, line ends made CRLF or a template's
 * comment line leaving a blank one compute what they computed, and run nothing again (a view
 * keeps the text it was created with until its query changes).
 */
function publishedSqlHash(task: TrackedTask, ctx: TrackingContext): string {
  let sql = task.sql;
  for (const [name, staging] of task.relations ?? []) sql = sql.replaceAll(staging, ctx.analysis.nodes.get(name)?.relation ?? staging);
  return sqlHashOf(withoutLayout(sql));
}

/** Why pipe cannot tell the task's data from its inputs, if it cannot (the query's tables are looked at when it runs). */
function untrackedWhy(node: ModelNode, task: TrackedTask, incremental: boolean): string | undefined {
  const c = node.config;
  if (c.kind === 'snapshot') return 'a snapshot records how its rows change over time';
  if (c.kind === 'external') return 'it writes a file outside the warehouse';
  if (incremental && node.readsItself) return 'its query reads its own table';
  if (c.pre_hook.length + c.post_hook.length > 0 || c.sql_header !== undefined) return 'it runs hooks, whose effects pipe cannot see';
  if (task.rendersAtRun) return 'its SQL is rendered as it runs, with what it asks the warehouse';
  return volatileWhy(task.sqlHash, task.sql) ?? volatileCheck(task);
}

/**
 * A check whose verdict its data does not give (dbt_utils' recency: `where loaded_at < now() -
 * interval 1 day`): run again only with its build, so the build runs every time.
 */
function volatileCheck(task: TrackedTask): string | undefined {
  for (const c of task.checks ?? []) {
    const why = volatileWhyOf(c.sql);
    if (why !== undefined) return `its check ${c.name} ${why.replace(/^its query /, '')}, and finds another answer as time goes on`;
  }
  return undefined;
}

/** What a view reads, per view and analysis (what it reads through ephemeral models changes with them): a view read by many models (and views by views) is walked once. */
const viewInputs = new PairMemo<Analysis, PipeNode, readonly InputRef[]>();

/** The inputs of a node's query read for `interval` (absent: read whole). */
function inputsOf(node: PipeNode, interval: Interval | undefined, ctx: TrackingContext): InputRef[] {
  const { tasks, sources } = ctx.readsOf(node);
  const out: InputRef[] = [];
  for (const name of tasks) {
    const up = ctx.analysis.nodes.get(name)!;
    if (up.kind === 'seed') out.push({ kind: 'seed', key: `seed:${name}`, name });
    else if (up.kind !== 'model') continue;
    else if (up.config.kind === 'view') out.push({ kind: 'view', key: `ref:${name}`, name, inputs: viewInputsOf(up, ctx) });
    else if (perInterval(up.config) === undefined) out.push({ kind: 'model', key: `ref:${name}`, name });
    else if (interval !== undefined) out.push({ kind: 'partitions', key: `ref:${name}[${intervalLabel(interval)}]`, name, interval });
    else out.push({ kind: 'all-partitions', key: `ref:${name}[*]`, name });
  }
  for (const source of sources) out.push({ kind: 'source', key: `source:${source.name}`, source });
  return out;
}
