import { existsSync } from 'node:fs';
import { DiagnosticError, error, hasErrors } from '../analyze/diagnostics.js';
import type { PipeNode } from '../analyze/analyze.js';
import { topologicalOrder } from '../graph/graph.js';
import type { DagNode } from '../graph/render-dag.js';
import { Engine } from '../execute/engine.js';
import { Catalog, listRuns, runExists, runTasks, stateExists, type RunSummaryRow, type TaskRow } from '../warehouse/run-state.js';
import { WarehouseLockedError } from '../warehouse/warehouse.js';
import {
  analyzeAndSelect,
  catalogIfExists,
  loadFiles,
  resolveInterval,
  warehousePath,
  type ProjectOptions,
  type SelectionOptions,
} from './context.js';

/** Commands that read the project or the run state and change nothing. */

export interface CompileOptions extends ProjectOptions, SelectionOptions {
  readonly date?: string;
  readonly model?: string;
}

export interface CompiledModel {
  readonly model: string;
  readonly file: string;
  readonly materialized: string;
  readonly ds: string;
  readonly refs: readonly string[];
  readonly sql: string;
}

export function nodeKind(n: PipeNode): string {
  return n.kind === 'seed' ? 'seed' : n.config.materialized;
}

export async function compile(options: CompileOptions): Promise<{ models: CompiledModel[]; notes: string[] }> {
  const files = loadFiles(options);
  const { interval } = resolveInterval(options.date, options.clock);
  const notes: string[] = [];
  let existing = new Catalog();
  const dbPath = warehousePath(options, files);
  try {
    const { warehouse, catalog } = await catalogIfExists(dbPath);
    warehouse?.close();
    existing = catalog.only('table');
  } catch (e) {
    if (!(e instanceof WarehouseLockedError)) throw e;
    notes.push(`${e.message}; is_incremental() is rendered as false`);
  }
  const select = options.model ? [options.model] : options.select;
  const { analysis, selected } = analyzeAndSelect(files, { ...options, select, interval, existingRelations: existing });
  const ds = new Date(interval.start).toISOString().slice(0, 10);
  const models: CompiledModel[] = [];
  const problems = [];
  for (const name of topologicalOrder(analysis.graph)) {
    const n = analysis.nodes.get(name)!;
    if (!selected.has(name) || n.kind !== 'model') continue;
    const r = analysis.renderer.sql(name, interval, { tableExists: existing.has(n.relation), fullRefresh: false });
    if ('severity' in r) {
      problems.push(r);
      continue;
    }
    models.push({ model: name, file: n.file, materialized: n.config.materialized, ds, refs: n.upstream, sql: r.sql });
  }
  if (problems.length > 0) throw new DiagnosticError(problems);
  return { models, notes };
}

export interface GraphOptions extends ProjectOptions, SelectionOptions {
  readonly date?: string;
}

/** The selected nodes in dependency order, for `pipe dag` and `pipe ls`. */
export function listNodes(options: GraphOptions): DagNode[] {
  const files = loadFiles(options);
  const { interval } = resolveInterval(options.date, options.clock);
  const { analysis, selected } = analyzeAndSelect(files, { ...options, interval });
  return topologicalOrder(analysis.graph)
    .filter((n) => selected.has(n))
    .map((name) => {
      const n = analysis.nodes.get(name)!;
      return { name, kind: nodeKind(n), file: n.file, tags: n.tags, upstream: n.upstream };
    });
}

export interface HistoryOptions extends ProjectOptions {
  readonly runId?: string;
  readonly limit?: number;
}

export type History = { kind: 'runs'; runs: RunSummaryRow[] } | { kind: 'tasks'; runId: string; tasks: TaskRow[] };

export async function history(options: HistoryOptions): Promise<History> {
  const files = loadFiles(options);
  const dbPath = warehousePath(options, files);
  if (!existsSync(dbPath)) {
    if (options.runId) throw new DiagnosticError([error('unknown-run', `no run '${options.runId}': the warehouse ${dbPath} does not exist yet`)]);
    return { kind: 'runs', runs: [] };
  }
  const warehouse = await Engine.open(dbPath, { readOnly: true });
  const session = await warehouse.session();
  try {
    if (!(await stateExists(session))) return { kind: 'runs', runs: [] };
    if (options.runId === undefined) {
      // Having opened the file proves no pipe process is writing to it: a run still marked
      // running died without finishing (the next write run records it as interrupted).
      const runs = (await listRuns(session, options.limit ?? 20)).map((r) =>
        r.status === 'running' ? { ...r, status: 'interrupted' as const } : r,
      );
      return { kind: 'runs', runs };
    }
    if (!(await runExists(session, options.runId))) {
      throw new DiagnosticError([error('unknown-run', `no run '${options.runId}' in ${dbPath}`, undefined, { hint: 'pipe history lists recent runs' })]);
    }
    return { kind: 'tasks', runId: options.runId, tasks: await runTasks(session, options.runId) };
  } finally {
    session.close();
    warehouse.close();
  }
}
