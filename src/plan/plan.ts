import type { Analysis, ModelNode, PipeNode, SeedNode } from '../analyze/analyze.js';
import type { Diagnostic } from '../analyze/diagnostics.js';
import { relationName } from '../analyze/sql-text.js';
import { dateVariables, type Interval } from '../dates/dates.js';
import { topologicalOrder, upstreamClosure } from '../graph/graph.js';
import { STAGING_PREFIX, seedLoadedSql, type RelationType } from '../warehouse/run-state.js';
import type { Step, Task, TaskKind } from './task.js';
import type { StrategyInput } from './strategies/strategy.js';
import { tableStrategy } from './strategies/table.js';
import { viewStrategy } from './strategies/view.js';
import { incrementalStrategy } from './strategies/incremental.js';
import { seedSelectSql, seedStrategy } from './strategies/seed.js';

/**
 * Planning: graph × interval × what the warehouse holds → tasks with their final SQL.
 * Nothing here touches the database; the catalog and seed hashes are passed in.
 */

export interface PlanInput {
  readonly analysis: Analysis;
  readonly selected: ReadonlySet<string>;
  readonly interval: Interval;
  readonly catalog: ReadonlyMap<string, RelationType>;
  readonly seedHashes: ReadonlyMap<string, string>;
  readonly fullRefresh: boolean;
  readonly runId: string;
}

export interface Plan {
  readonly tasks: readonly Task[];
  readonly diagnostics: readonly Diagnostic[];
}

export function taskId(node: PipeNode, ds: string | undefined): string {
  return node.kind === 'seed' || ds === undefined ? node.name : `${node.name}@${ds}`;
}

function stagingFor(schema: string, name: string, ds: string | undefined) {
  const stagingName = `${STAGING_PREFIX}${name}${ds ? `__${ds.replaceAll('-', '')}` : ''}`;
  return { stagingName, stagingRelation: relationName(schema, stagingName) };
}

/** The nearest upstream nodes that become tasks, looking through ephemeral models. */
function taskUpstream(node: PipeNode, analysis: Analysis): string[] {
  const out = new Set<string>();
  const visit = (name: string, seen: Set<string>) => {
    if (seen.has(name)) return;
    seen.add(name);
    const n = analysis.nodes.get(name);
    if (!n) return;
    if (n.kind === 'model' && n.config.materialized === 'ephemeral') {
      for (const u of n.upstream) visit(u, seen);
    } else {
      out.add(name);
    }
  };
  const seen = new Set<string>();
  for (const u of node.upstream) visit(u, seen);
  return [...out];
}

/**
 * Seeds upstream of the selection are added when missing or changed, so that a selected
 * model never reads a stale or absent seed.
 */
export function withNeededSeeds(input: Omit<PlanInput, 'interval' | 'runId'>): Set<string> {
  const { analysis, selected, catalog, seedHashes, fullRefresh } = input;
  const out = new Set(selected);
  for (const name of upstreamClosure(analysis.graph, selected)) {
    const n = analysis.nodes.get(name);
    if (n?.kind !== 'seed' || out.has(name)) continue;
    if (fullRefresh || !catalog.has(n.relation) || seedHashes.get(n.name) !== n.hash) out.add(name);
  }
  return out;
}

export function planRun(input: PlanInput): Plan {
  const { analysis, interval } = input;
  const diagnostics: Diagnostic[] = [];
  const nodes = withNeededSeeds(input);
  const ds = dateVariables(interval).ds;
  const tasks: Task[] = [];
  const ids = new Map<string, string>();

  for (const name of topologicalOrder(analysis.graph)) {
    if (!nodes.has(name)) continue;
    const node = analysis.nodes.get(name)!;
    if (node.kind === 'model' && node.config.materialized === 'ephemeral') continue;
    const upstream = taskUpstream(node, analysis)
      .map((u) => ids.get(u))
      .filter((u): u is string => u !== undefined);
    const task =
      node.kind === 'seed'
        ? seedTask(node, input, upstream)
        : modelTask(node, input, ds, upstream, diagnostics);
    if (!task) continue;
    ids.set(name, task.id);
    tasks.push(task);
  }
  return { tasks, diagnostics };
}

function seedTask(node: SeedNode, input: PlanInput, upstream: string[]): Task {
  const existing = input.catalog.get(node.relation);
  const upToDate =
    !input.fullRefresh && existing === 'table' && input.seedHashes.get(node.name) === node.hash
      ? 'unchanged since it was last loaded'
      : undefined;
  const sql = seedSelectSql(node.absPath, node.columnTypes);
  const steps = upToDate
    ? []
    : seedStrategy({ ...strategyBase(node.schema, node.name, node.relation, existing, undefined), sql, fullRefresh: input.fullRefresh });
  return {
    id: taskId(node, undefined),
    node: node.name,
    kind: 'seed',
    file: node.file,
    relation: node.relation,
    upstream,
    sql,
    sqlHash: node.hash,
    steps,
    lockKey: node.relation,
    upToDate,
    stateStatements: [seedLoadedSql(node.name, node.relation, node.hash, input.runId, Date.now())],
  };
}

function strategyBase(schema: string, name: string, relation: string, existing: RelationType | undefined, ds: string | undefined) {
  return { schema, name, relation, existing, ...stagingFor(schema, name, ds) };
}

function modelTask(node: ModelNode, input: PlanInput, ds: string, upstream: string[], diagnostics: Diagnostic[]): Task | undefined {
  const { analysis, interval, catalog, fullRefresh } = input;
  const existing = catalog.get(node.relation);
  const kind = node.config.materialized as TaskKind;
  const incremental = kind === 'incremental' && existing === 'table' && !fullRefresh;
  const rendered = analysis.renderer.sql(node.name, interval, incremental);
  if ('severity' in rendered) {
    diagnostics.push(rendered);
    return undefined;
  }
  const strategyInput: StrategyInput = {
    ...strategyBase(node.config.schema, node.name, node.relation, existing, ds),
    sql: rendered.sql,
    interval,
    partitionBy: node.config.partition_by,
    fullRefresh,
  };
  let steps: Step[];
  switch (kind) {
    case 'table':
      steps = tableStrategy(strategyInput);
      break;
    case 'view':
      steps = viewStrategy(strategyInput);
      break;
    case 'incremental':
      steps = incrementalStrategy(strategyInput);
      break;
    case 'seed':
      throw new Error('internal error: a model planned as a seed');
    default: {
      const never: never = kind;
      throw new Error(`internal error: materialization ${String(never)}`);
    }
  }
  return {
    id: taskId(node, ds),
    node: node.name,
    kind,
    file: node.file,
    relation: node.relation,
    ds,
    interval,
    upstream,
    sql: rendered.sql,
    sqlHash: rendered.hash,
    steps,
    lockKey: node.relation,
  };
}
