import { pythonModelsBuilt } from './choose-selection.js';
import type { Answer } from '../warehouse/introspection.js';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Invocation } from '../analyze/jinja/dbt-context.js';
import { DiagnosticError, error, warning, type Diagnostic, type Location } from '../diagnostics/diagnostics.js';
import { sqlHashOf, type Analysis, type ModelNode, type PipeNode } from '../analyze/analyze.js';
import { topologicalOrder } from '../graph/graph.js';
import type { DagNode } from '../graph/render-dag.js';
import type { EventSink } from '../events/events.js';
import { Engine, type EngineHandle } from '../execute/engine.js';
import { checkSqlAtRun, renderAtRun } from '../execute/render-at-run.js';
import { RenderError } from '../execute/task-errors.js';
import { taskRef } from '../execute/task-ref.js';
import { tellSaid } from '../execute/template-messages.js';
import type { Task, TemplateMessage } from '../plan/task.js';
import { listRuns, runExists, runTasks, stateExists, type Catalog, type RunSummaryRow, type TaskRow } from '../warehouse/run-state.js';
import { WarehouseLockedError, type WarehouseSession } from '../warehouse/warehouse.js';
import { readRunLogs, type LoggedRun } from '../run-log/run-log-reader.js';
import { processAlive } from '../util/process-alive.js';
import { analyzeAndSelect, catalogIfExists, emitAnalysisNotes, lentNotice, resolveInterval, type ProjectOptions, type SelectionOptions } from './context.js';
import { readBuildResults } from './build-results.js';
import { openFor, planContext, type KeptAnalysis } from './lifecycle.js';
import { selectByState } from './state-selection.js';
import { withInlineModel } from './inline-model.js';
import { openProject, templateCacheOf, type Project } from './open-project.js';
import { readStoredParams, type StoredParams } from './stored-params.js';
import { planRunCommand, type RunPlan, type RunPlanOptions } from './run.js';
import { isBuilt } from '../plan/materializations.js';
import { NO_TABLE } from '../analyze/model-kinds.js';
import { intervalLabel } from '../dates/dates.js';
import { sequentialOrder } from '../plan/sequential-order.js';
import { planTest, type TestFilter } from '../plan/plan.js';
import { testFilter } from './test-selection.js';

/** Commands that read the project or the run state and change nothing. */

export interface CompileOptions extends RunPlanOptions {
  readonly model?: string;
  /** dbt's `--inline`: a query to compile as a model of the project (see inline-model.ts). */
  readonly inline?: string;
}

export interface CompiledModel {
  readonly model: string;
  readonly file: string;
  readonly materialized: string;
  readonly ds: string;
  /** Set for an interval before the run's own, rebuilt for a lookback (see Task.lookback). */
  readonly lookback?: { readonly of: string; readonly n: number };
  readonly refs: readonly string[];
  readonly sql: string;
  /** The hash the run records for the task (`pipe history`), to match the two. */
  readonly sql_hash: string;
  /**
   * Set for a model whose template reads the warehouse while rendering: `warehouse` when its
   * SQL was rendered with the warehouse as it is (execute true), `parse` when there was no
   * warehouse to read (execute false).
   */
  readonly rendered_with?: 'warehouse' | 'parse';
}

/** The invocation a compile renders for: an id of its own, and flags.WHICH `compile`. */
const compiling = (): Invocation => ({ id: randomUUID(), startedAt: Date.now(), command: 'compile' });

/** What `pipe ls` and `pipe dag` call a node: `seed`, `source`, or a model's materialization. */
export function nodeKind(n: PipeNode): string {
  switch (n.kind) {
    case 'seed':
    case 'source':
      return n.kind;
    case 'model':
      // A refused materialization is listed as written: the model is not built as the default kind it stands in as.
      return n.config.refusedMaterialized ?? n.config.kind;
    default: {
      const never: never = n;
      throw new Error(`internal error: node ${JSON.stringify(never)}`);
    }
  }
}

/**
 * `pipe compile`: the query of each model task of the plan `pipe run` would build with the
 * same options (date or hour, selection, vars, full refresh), in run order. Ephemeral models
 * have no task (they are inlined where they are read) and seeds no query.
 */
export async function compile(
  options: CompileOptions,
  /** The project as the caller read it (pipe ui; show's inline query), and what a long-lived caller keeps to analyze it again cheaply. */
  reuse?: { readonly project: Project; readonly kept?: KeptAnalysis },
): Promise<{ models: CompiledModel[]; warnings: Diagnostic[] }> {
  if (options.inline !== undefined) {
    if (options.model !== undefined || options.selector !== undefined || options.select?.length) {
      throw new DiagnosticError([error('selection-conflict', 'pipe compile --inline compiles the query given: leave out the model, --select and --selector')]);
    }
    const { project, name } = withInlineModel(reuse?.project ?? openProject(options), options.inline);
    return compile({ ...options, inline: undefined, model: name }, { ...reuse, project });
  }
  const warnings: Diagnostic[] = [];
  if (options.model !== undefined && (options.selector !== undefined || options.select?.length)) {
    throw new DiagnosticError([
      error('selection-conflict', `pipe compile ${options.model} compiles that model: leave out ${options.selector !== undefined ? '--selector' : '--select'}, or the model`),
    ]);
  }
  const planOptions = { ...options, select: options.model ? [options.model] : options.select };
  let planned: RunPlan;
  /** The warehouse is there but held: what it holds cannot be told. */
  let unread = false;
  try {
    planned = await planRunCommand(planOptions, { runId: 'compile', access: 'read', shownOnly: true, invocation: reuse?.kept?.invocation ?? compiling(), ...reuse });
  } catch (e) {
    if (!(e instanceof WarehouseLockedError)) throw e;
    warnings.push(warning('warehouse-locked', `${e.message}; is_incremental() is rendered as false`));
    planned = await planRunCommand(planOptions, { runId: 'compile', access: 'none', shownOnly: true, invocation: reuse?.kept?.invocation ?? compiling(), ...reuse });
    unread = true;
  }
  const { prepared, plan } = planned;
  const { analysis } = prepared;
  // Tests named (`pipe compile unique_orders_id`, `--select test_name:unique`): their queries, as
  // pipe test runs them; what the run of their nodes would refuse is not theirs to say.
  const tests = testFilter(planOptions.select, analysis);
  if (tests?.data) {
    try {
      return { models: await compiledTests(planned, tests, warnings, options.emit), warnings };
    } finally {
      prepared.warehouse?.close();
    }
  }
  // A selection whose upstream is not built yet still compiles; the run would refuse it.
  const notBuilt = (d: Diagnostic) => d.code === 'upstream-not-built';
  const problems = plan.diagnostics.filter((d) => d.severity === 'error' && !notBuilt(d));
  if (problems.length > 0) throw new DiagnosticError(problems);
  // Unread, every upstream looks unbuilt: the warning above says the warehouse was not read.
  if (!unread) warnings.push(...plan.diagnostics.filter(notBuilt).map((d) => ({ ...d, severity: 'warning' as const, message: `${d.message}: pipe run would refuse this selection` })));
  const models: CompiledModel[] = [];
  // The warehouse is read, not written: what one model's render learns of it answers the next's.
  const answers = new Map<string, Answer>();
  try {
    for (const planned of sequentialOrder(plan.tasks)) {
      const n = analysis.nodes.get(planned.node);
      // Left out, with a warning saying why (a ref() of a Python model): its SQL would not be what a run builds.
      if (prepared.leftOut?.has(planned.node)) continue;
      if (n?.kind !== 'model' || planned.sql === undefined || planned.ds === undefined || planned.sqlHash === undefined) continue;
      if (planned.blocked) warnings.push(warning('depends-on-past', `pipe run would skip ${planned.id}: ${planned.blocked}`, { file: planned.file }));
      const { task, renderedWith } = await executionRender(planned, prepared.warehouse, () => notYetBuilt(analysis, prepared.catalog, n), warnings, options.emit, answers);
      // Object.assign, not properties written after a spread, which V8 defines on a slow path.
      const shown: CompiledModel = Object.assign(
        { model: task.node, file: task.file, materialized: task.kind, ds: planned.ds },
        planned.lookback ? { lookback: planned.lookback } : {},
        { refs: n.upstream, sql: task.sql!, sql_hash: task.sqlHash! },
        renderedWith,
      );
      models.push(shown);
    }
    // Named or selected, as dbt compiles them; a compile of the whole project prints what a run executes.
    if (options.model !== undefined || options.selector !== undefined || options.select?.length) withEphemerals(models, selectedEphemerals(planned), analysis);
  } finally {
    prepared.warehouse?.close();
  }
  if (options.model !== undefined && models.length === 0) throw new DiagnosticError([prepared.leftOut?.get(options.model) ?? noQuery(analysis, options.model)]);
  return { models, warnings };
}

/** Puts each ephemeral model's query in dependency order among `models`: before the first that comes after it in the graph's order. */
function withEphemerals(models: CompiledModel[], ephemerals: readonly CompiledModel[], analysis: Analysis): void {
  if (ephemerals.length === 0) return;
  const place = new Map(topologicalOrder(analysis.graph).map((n, i) => [n, i]));
  for (const e of ephemerals) {
    const at = models.findIndex((m) => (place.get(m.model) ?? -1) > place.get(e.model)!);
    models.splice(at === -1 ? models.length : at, 0, e);
  }
}

/**
 * The selected ephemeral models' own queries, refs resolved and the ephemeral models they read
 * inlined, as dbt compiles one: a run builds none (it inlines each into what reads it), so the
 * plan has no task of theirs.
 */
function selectedEphemerals({ prepared, interval }: RunPlan): CompiledModel[] {
  const { analysis } = prepared;
  const out: CompiledModel[] = [];
  for (const name of prepared.selected) {
    const n = analysis.nodes.get(name);
    if (n?.kind !== 'model' || isBuilt(n.config.kind) || prepared.leftOut?.has(name)) continue;
    const r = analysis.renderer.sql(name, interval, NO_TABLE);
    if ('severity' in r) throw new DiagnosticError([r]);
    out.push({ model: name, file: n.file, materialized: n.config.materialized, ds: intervalLabel(interval), refs: n.upstream, sql: r.sql, sql_hash: r.hash });
  }
  return out;
}

/**
 * The queries of the data tests a selection names, as `pipe test` runs them on the published
 * tables (dbt's compile of a test): each test once, in run order, with the node it runs with.
 * A test that reads the warehouse while rendering is rendered with it, read-only.
 */
async function compiledTests(planned: RunPlan, filter: TestFilter, warnings: Diagnostic[], emit: EventSink | undefined): Promise<CompiledModel[]> {
  const { prepared, interval } = planned;
  const plan = planTest(planContext(prepared, 'compile'), interval, { ...filter, unit: () => false }, { unbuiltToo: true });
  const problems = plan.diagnostics.filter((d) => d.severity === 'error');
  if (problems.length > 0) throw new DiagnosticError(problems);
  const out: CompiledModel[] = [];
  for (const task of sequentialOrder(plan.tasks)) {
    for (const step of task.steps) {
      if (step.kind === 'refuse') warnings.push(warning('not-built', step.message, step.location));
      if (step.kind !== 'check') continue;
      let sql = step.sql;
      const { warehouse } = prepared;
      if (step.renderAtRun && warehouse) {
        sql = await withWarehouse(warehouse, task, emit, step.location ?? { file: task.file }, (s, tell) => checkSqlAtRun(step, s, tell));
      } else if (step.renderAtRun) {
        warnings.push(warning('rendered-without-warehouse', `test ${step.name} reads the warehouse while rendering, and there is no warehouse to read: shown as rendered with execute false`, step.location));
      }
      out.push({ model: step.name, file: step.location?.file ?? task.file, materialized: 'test', ds: task.ds ?? '', refs: [task.node], sql, sql_hash: sqlHashOf(sql) });
    }
  }
  return out;
}

/**
 * A task whose template reads the warehouse while rendering, rendered as its run would (dbt's
 * execution render) with the warehouse as it is now, read-only; without a warehouse, its
 * parse render stands, and a warning says so.
 */
async function executionRender(
  task: Task,
  warehouse: EngineHandle | undefined,
  /** What the model reads that is not built yet (its render would ask about tables that are not there): asked only of a model rendered at run time. */
  notBuilt: () => readonly string[],
  warnings: Diagnostic[],
  /** Where what the template says as it renders goes, as a run tells it (with no run). */
  emit: EventSink | undefined,
  /** What the warehouse answered the renders before. */
  answers: Map<string, Answer>,
): Promise<{ task: Task; renderedWith?: { rendered_with: 'warehouse' | 'parse' } }> {
  if (!task.renderAtRun) return { task };
  const unbuilt = warehouse ? notBuilt() : [];
  if (!warehouse || unbuilt.length > 0) {
    const why = !warehouse ? 'there is no warehouse to read' : `${unbuilt.join(', ')}, which it reads, ${unbuilt.length === 1 ? 'is' : 'are'} not built yet`;
    warnings.push(warning('rendered-without-warehouse', `${task.node} is rendered as it runs (its template reads the warehouse, or tests execute), and ${why}: shown as rendered with execute false`, { file: task.file }));
    return { task, renderedWith: { rendered_with: 'parse' } };
  }
  return { task: await withWarehouse(warehouse, task, emit, { file: task.file }, (s, tell) => renderAtRun(task, s, tell, answers)), renderedWith: { rendered_with: 'warehouse' } };
}

/**
 * A render of `task` (its query, or one of its checks) with the warehouse, read-only: what the
 * template says is told as a run tells it (with no run), and a render that fails is an error at
 * its line (else at `at`).
 */
async function withWarehouse<T>(warehouse: EngineHandle, task: Task, emit: EventSink | undefined, at: Location, render: (s: WarehouseSession, tell: (said: readonly TemplateMessage[]) => void) => Promise<T>): Promise<T> {
  const tell = (said: readonly TemplateMessage[]) => {
    if (emit) tellSaid(emit, undefined, taskRef(task), said);
  };
  try {
    return await warehouse.engine.withSession((s) => render(s, tell));
  } catch (e) {
    if (!(e instanceof RenderError)) throw e;
    throw new DiagnosticError([error('template-render', e.message, e.location ?? at)]);
  }
}

/** The models and seeds `n` reads (through ephemeral models too) whose relation the warehouse does not have yet. */
function notYetBuilt(analysis: Analysis, catalog: Catalog, n: ModelNode): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const u = analysis.nodes.get(name);
    if (u?.kind === 'model' && !isBuilt(u.config.kind)) u.upstream.forEach(visit);
    else if ((u?.kind === 'model' || u?.kind === 'seed') && !catalog.has(u.relation)) out.push(name);
  };
  n.upstream.forEach(visit);
  return out;
}

/** Why `pipe compile MODEL` has nothing to show: a seed or an ephemeral model has no query of its own. */
function noQuery(analysis: Analysis, name: string): Diagnostic {
  const n = analysis.nodes.get(name);
  if (n?.kind === 'seed') return error('no-query', `${name} is a seed: it is loaded from ${n.file}, with no query to compile`, { file: n.file });
  if (n?.kind === 'source') {
    return error('no-query', `${name} is a source: pipe reads ${n.relation} and never builds it, so it has no query to compile`, n.location);
  }
  // Inlined, as a CTE, into every query that reads it (see materializations.ts).
  if (n?.kind === 'model' && !isBuilt(n.config.kind)) {
    const reader = [...analysis.nodes.values()].find((r) => r.upstream.includes(name));
    return error('no-query', `${name} is ${n.config.materialized}: it has no query of its own in a run, it is inlined into the models that read it`, { file: n.file }, {
      hint: reader ? `pipe compile ${reader.name} shows it inlined` : 'no model reads it yet',
    });
  }
  throw new Error(`internal error: ${name} was selected but has no task`);
}

/** dbt's resource types of the nodes `pipe ls` lists: what `--resource-type` keeps. */
export const RESOURCE_TYPES = ['model', 'seed', 'source', 'snapshot'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** A node's resource type, as dbt names it. */
function resourceType(n: PipeNode): ResourceType {
  if (n.kind !== 'model') return n.kind;
  return n.config.kind === 'snapshot' ? 'snapshot' : 'model';
}

export interface GraphOptions extends ProjectOptions, SelectionOptions {
  readonly date?: string;
  /** dbt's `--resource-type`: only nodes of these types. */
  readonly resourceTypes?: readonly ResourceType[];
  /** Where the analysis's warnings go, as every command tells them. */
  readonly emit?: EventSink;
  /** Each node's record as `dbt ls --output json` prints it too (ListedNode.dbt). */
  readonly dbtRecords?: boolean;
}

/** A node as `pipe ls` lists it; `dbt`: as `dbt ls --output json` prints it, when asked. */
export interface ListedNode extends DagNode {
  readonly dbt?: Readonly<Record<string, unknown>>;
}

/** The keys `dbt ls --output json` prints of a node, in its order (a source's have its source_name and no alias or depends_on). */
const DBT_LS_KEYS = ['name', 'resource_type', 'package_name', 'original_file_path', 'unique_id', 'alias', 'config', 'tags', 'depends_on'];
const DBT_LS_SOURCE_KEYS = ['name', 'resource_type', 'package_name', 'original_file_path', 'unique_id', 'source_name', 'tags', 'config'];

function dbtRecord(entry: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const keys = entry.resource_type === 'source' ? DBT_LS_SOURCE_KEYS : DBT_LS_KEYS;
  return Object.fromEntries(keys.filter((k) => Object.hasOwn(entry, k)).map((k) => [k, entry[k]]));
}

/**
 * The selected nodes in dependency order, for `pipe dag` and `pipe ls`. The warehouse's tables
 * are read where it can be opened, as a run reads them: a model whose ref() sits in
 * `{% if is_incremental() %}` reads that model once its table exists, and `ls --select +m`
 * lists what `run --select +m` builds. The warehouse is read further for a selection with
 * `result:`, which asks how the latest builds ended, or `state:`, which asks what is current.
 */
export async function listNodes(options: GraphOptions): Promise<ListedNode[]> {
  const project = openProject(options);
  const { interval } = resolveInterval(options.date, options.clock);
  const templateCache = templateCacheOf(project);
  let opened: { warehouse?: EngineHandle; catalog: Catalog } | undefined;
  try {
    opened = await catalogIfExists(project.warehousePath, { readOnly: true, setup: project.warehouseSetup, onLent: lentNotice(options.emit) });
  } catch {
    // Held by a run, or not a warehouse to read (damaged, another file): listed as a first
    // build would render, as before any run; a selection by state: or result: says why.
  }
  let analyzed: ReturnType<typeof analyzeAndSelect>;
  try {
    // Listing builds nothing: an error that keeps a node from being built is told, and the node listed.
    analyzed = analyzeAndSelect(project.files, { ...options, interval, validated: project, stateSelection: true, templateCache, buildsNothing: true, ...(opened ? { existingRelations: opened.catalog } : {}) });
  } catch (e) {
    opened?.warehouse?.close();
    throw e;
  }
  let selected = analyzed.selected;
  if (!(analyzed.readsResults || analyzed.withStates)) opened?.warehouse?.close();
  if (analyzed.readsResults || analyzed.withStates) {
    const { warehouse, catalog } = opened ?? (await catalogIfExists(project.warehousePath, { readOnly: true, setup: project.warehouseSetup }));
    try {
      if (analyzed.readsResults) analyzed = analyzed.withBuilds(await readBuildResults(warehouse));
      emitAnalysisNotes(analyzed, options.emit);
      selected = analyzed.selected;
      if (analyzed.withStates) {
        const prepared = await openFor(analyzed.analysis, selected, options.pipeline, project.warehousePath, { warehouse, catalog, access: 'read', setup: project.warehouseSetup });
        selected = await selectByState(prepared, analyzed.withStates, options);
      }
    } finally {
      warehouse?.close();
    }
  } else emitAnalysisNotes(analyzed, options.emit);
  const { analysis } = analyzed;
  const types = options.resourceTypes && new Set<string>(options.resourceTypes);
  const listed: ListedNode[] = topologicalOrder(analysis.graph)
    .filter((n) => selected.has(n) && (!types || types.has(resourceType(analysis.nodes.get(n)!))))
    .map((name) => {
      const n = analysis.nodes.get(name)!;
      const entry = options.dbtRecords ? analysis.renderer.graphEntry(name) : undefined;
      return { name, kind: nodeKind(n), file: n.file, tags: n.tags, upstream: n.upstream, ...(entry ? { dbt: dbtRecord(entry) } : {}) };
    });
  // The Python models (which pipe does not build) a selection may take, as dbt ls lists them, after what they read.
  if (types && !types.has('model')) return listed;
  const python = pythonModelsBuilt(project.files.pythonModels ?? [], project, options, options.pipeline === undefined ? undefined : analysis.pipelines.get(options.pipeline), analysis);
  for (const m of project.files.pythonModels ?? []) {
    if (!python.has(m.name)) continue;
    const reads = analysis.pythonReads?.get(m.name);
    listed.push({ name: m.name, kind: 'python', file: m.file, tags: analysis.pythonTags?.get(m.name) ?? [], upstream: reads ? [...reads.refs, ...reads.sources] : [] });
  }
  return listed;
}

export interface HistoryOptions extends ProjectOptions {
  readonly runId?: string;
  readonly limit?: number;
}

/** A run as history lists it: its row, and its parameters when they can be read. */
export interface ListedRun {
  readonly run: RunSummaryRow;
  readonly params?: StoredParams;
}

export type History =
  | {
      kind: 'runs';
      runs: ListedRun[];
      /** Runs whose recorded parameters cannot be read: listed all the same, and named here. */
      problems: Diagnostic[];
    }
  | { kind: 'tasks'; runId: string; tasks: TaskRow[] }
  /** Another process holds the warehouse: the runs as their logs beside it tell them (see run-log/). */
  | { kind: 'live-runs'; held: HeldBy; runs: LoggedRun[] }
  | { kind: 'live-tasks'; held: HeldBy; run: LoggedRun };

/** Who holds the warehouse, as far as pipe can tell. */
export interface HeldBy {
  readonly pid?: number;
  /** What it does, e.g. `pipe backfill (run 20240102T030405-ab12)`, or the program's name. */
  readonly what?: string;
}

export async function history(options: HistoryOptions): Promise<History> {
  const { warehousePath: dbPath, warehouseSetup: setup } = openProject(options);
  const none: History = { kind: 'runs', runs: [], problems: [] };
  if (!existsSync(dbPath)) {
    if (options.runId) throw new DiagnosticError([error('unknown-run', `no run '${options.runId}': the warehouse ${dbPath} does not exist yet`)]);
    return none;
  }
  let warehouse: EngineHandle;
  try {
    // A process that lends the file (pipe watch --keep-open) is not asked for it: its run logs are read, as while any holds it.
    warehouse = await Engine.open(dbPath, { readOnly: true, setup, ask: false });
  } catch (e) {
    if (!(e instanceof WarehouseLockedError)) throw e;
    return fromRunLogs(dbPath, e, options);
  }
  const session = await warehouse.session();
  try {
    if (!(await stateExists(session))) {
      if (options.runId) throw new DiagnosticError([error('unknown-run', `no run '${options.runId}': nothing has run on ${dbPath} yet`)]);
      return none;
    }
    if (options.runId === undefined) {
      const runs: ListedRun[] = [];
      const problems: Diagnostic[] = [];
      for (const row of await listRuns(session, options.limit ?? 20)) {
        const read = readStoredParams(row);
        if ('problem' in read) problems.push({ ...read.problem, severity: 'warning' });
        // Having opened a DuckDB file proves no pipe process is writing to it: a run still
        // marked running died without finishing (the next write run records it as
        // interrupted). A lake is read while other processes write: its runs may be running.
        const died = (status: string | null) => status === 'running' && !warehouse.sharedWriters;
        const run = Object.assign({}, row, died(row.status) ? { status: 'interrupted' as const } : {}, died(row.retry_status) ? { retry_status: 'interrupted' } : {});
        runs.push({ run, params: 'params' in read ? read.params : undefined });
      }
      return { kind: 'runs', runs, problems };
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

/**
 * History while another process holds the warehouse (a run writing to it): read from the run
 * logs beside it. A log without an end is live while its process is the holder.
 */
function fromRunLogs(dbPath: string, locked: WarehouseLockedError, options: HistoryOptions): History {
  const held: HeldBy = { pid: locked.holderPid, what: locked.holder?.what ?? locked.program };
  const alive = (pid: number, since?: number) => (locked.holderPid !== undefined ? pid === locked.holderPid : processAlive(pid, since));
  if (options.runId === undefined) return { kind: 'live-runs', held, runs: readRunLogs(dbPath, { alive, limit: options.limit ?? 20 }) };
  const [run] = readRunLogs(dbPath, { alive, runId: options.runId });
  if (!run) {
    throw new DiagnosticError([
      error('unknown-run', `no log of run '${options.runId}' beside ${dbPath}, and ${locked.inUse}`, undefined, {
        hint: 'pipe history lists the runs that have logs; every run is in pipe history once the warehouse is free',
      }),
    ]);
  }
  return { kind: 'live-tasks', held, run };
}
