import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { dateVariables, type Interval } from '../../dates/dates.js';
import { statStamp } from '../../util/stat-stamp.js';
import { analyze, AnalysisCache, type Analysis, type PipeNode } from '../../analyze/analyze.js';
import { resolveInterval, type ProjectOptions } from '../../commands/context.js';
import { compile, nodeKind } from '../../commands/inspect.js';
import type { KeptAnalysis } from '../../commands/lifecycle.js';
import { openProject, projectName, templateCacheOf, warehouseAhead, type Project } from '../../commands/open-project.js';
import type { TemplateCodeCache } from '../../analyze/template-code-cache.js';
import { show } from '../../commands/show.js';
import { DiagnosticError, type Diagnostic } from '../../diagnostics/diagnostics.js';
import { StampedFs, type FsReading } from '../../project/project-fs.js';
import { WarehouseError, WarehouseOpenError } from '../../warehouse/warehouse.js';
import { PREVIEW_ROWS, type UiColumn, type UiModel, type UiNode, type UiPreview, type UiProject, type UiTaskStatus } from '../api.js';
import { readNodeStatuses, readNodeTasks, type StateLocation, type Sourced } from './run-data.js';

/**
 * The project as the UI shows it: its graph (as `pipe dag` and `pipe ls` read it) and one
 * node in full. Every request checks the project's files, so the page shows them as they are
 * now; the analysis (and each model's compiled query) is made again only when one of them
 * changed. A problem in them is answered as a UiProblem, never thrown at the user raw.
 */

/** A user's mistake or a state the page tells in words (a project with errors, a warehouse in use). */
export class UiProblem extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export function diagnosticText(d: Diagnostic): string {
  const at = d.location ? `${d.location.file}${d.location.line === undefined ? '' : `:${d.location.line}`}: ` : '';
  return `${at}${d.message}${d.hint ? ` (${d.hint})` : ''}`;
}

/** What a user should read of an error pipe knows; rethrows anything else (an internal error). */
export function asProblem(e: unknown): UiProblem {
  if (e instanceof UiProblem) return e;
  if (e instanceof DiagnosticError) return new UiProblem(e.diagnostics.map(diagnosticText).join('\n'), 422);
  if (e instanceof WarehouseOpenError) return new UiProblem(`${e.message}${e.hint ? ` (${e.hint})` : ''}`, 503);
  if (e instanceof WarehouseError) return new UiProblem(e.message, 500);
  throw e;
}

export interface Opened {
  readonly project: Project;
  /** What could be analyzed: a model whose file has errors is missing from its graph. */
  readonly analysis: Analysis;
  readonly at: StateLocation;
  readonly info: UiProject;
  /** The project's errors: a page shows them beside what the rest of the project is. */
  readonly problems: readonly Diagnostic[];
}

/** What the server keeps between requests to analyze the project again cheaply. */
export function analysisKeep(): AnalysisKeep {
  return { analyses: new AnalysisCache(), files: new StampedFs(), compiles: { analyses: new AnalysisCache(), invocation: { id: randomUUID(), startedAt: Date.now(), command: 'compile' } } };
}

export interface AnalysisKeep {
  readonly analyses: AnalysisCache;
  /** The project's files, read again only when they change. */
  readonly files: StampedFs;
  /** The compiled templates kept beside the warehouse (as `pipe compile` keeps them), read once. */
  templates?: TemplateCodeCache;
  /**
   * What compiling a model's query keeps: its analysis knows which tables the warehouse has
   * (is_incremental()), which the graph's does not, so each keeps its own.
   */
  readonly compiles: KeptAnalysis;
  /** The last analysis, and what its load read of the files: it stands while they read the same. */
  last?: { readonly key: string; readonly reading: FsReading; readonly opened: Opened };
  /** Each model's compiled query, for the analysis and the warehouse they were compiled from. */
  compiled?: { readonly opened: Opened; readonly warehouse: string; readonly byModel: Map<string, CompiledSql> };
}

type CompiledSql = { sql: string } | { problem: string };

/**
 * The project analyzed for the default date, every node selected. With what the server keeps
 * (as watch mode does), only the files that changed are read again, only the models whose
 * text, YAML, macros or vars changed since are rendered again, and a template compiled by any
 * earlier pipe command is not compiled again.
 */
export function openAnalyzed(options: ProjectOptions, keep?: AnalysisKeep): Opened {
  const { interval } = resolveInterval(undefined, options.clock);
  if (!keep) return analyzeNow(options, interval);
  // The analysis of the last request stands while every file its load read reads the same
  // (each folder's files, each file's content) and the default date and profiles are the same.
  const key = JSON.stringify([interval.start, interval.end, profilesTexts(options)]);
  if (keep.last?.key === key && keep.files.unchanged(keep.last.reading)) return keep.last.opened;
  keep.last = undefined;
  keep.files.startReading();
  let opened: Opened;
  try {
    opened = analyzeNow(options, interval, keep);
  } catch (e) {
    keep.files.takeReading();
    throw e;
  }
  keep.last = { key, reading: keep.files.takeReading(), opened };
  return opened;
}

function analyzeNow(options: ProjectOptions, interval: Interval, keep?: AnalysisKeep): Opened {
  const project = openProject(options, keep?.files);
  const templateCache = keep ? (keep.templates ??= templateCacheOf(project)) : templateCacheOf(project);
  // Not refused for one broken model, as a run is: a tool for looking at the project shows the rest of it.
  const analysis = analyze(project.files, { interval, validated: project, templateCache }, keep?.analyses);
  return {
    project,
    analysis,
    at: { warehouse: project.warehousePath, setup: project.warehouseSetup },
    info: { name: analysis.projectName, root: project.root, warehouse: project.warehousePath },
    problems: analysis.diagnostics.filter((d) => d.severity === 'error'),
  };
}

/** The profiles files a project may read (read outside its folder's files, see findProfiles), as they are now. */
function profilesTexts(options: ProjectOptions): string[] {
  const dirs = [options.profilesDir, process.env.DBT_PROFILES_DIR, resolve(options.project ?? '.'), process.cwd(), join(homedir(), '.dbt')];
  return dirs.filter((d): d is string => d !== undefined && d !== '').map((d) => {
    try {
      return readFileSync(join(d, 'profiles.yml'), 'utf8');
    } catch {
      return '';
    }
  });
}

/** A problem as a line of text: where, then what. */
export function problemText(d: Diagnostic): string {
  const at = d.location ? `${d.location.file}${d.location.line === undefined ? '' : `:${d.location.line}`}: ` : '';
  return `${at}${d.message}`;
}

/**
 * The warehouse, the project's name and each file's node, without analyzing the models: all
 * the runs pages need, and cheap on a large project (they are read again at each live update).
 */
export function openState(options: ProjectOptions): { at: StateLocation; info: UiProject; fileOf: (node: string) => string | undefined } {
  const project = openProject(options);
  const name = projectName(project);
  const { models, seeds, snapshots } = project.files;
  const files = new Map<string, string>([...models, ...seeds, ...snapshots].map((f) => [f.name, f.file]));
  return { at: { warehouse: project.warehousePath, setup: project.warehouseSetup }, info: { name, root: project.root, warehouse: project.warehousePath }, fileOf: (node) => files.get(node) };
}

/**
 * The warehouse file of the project, found from its settings files alone (pipe.yaml,
 * dbt_project.yml, profiles.yml) where they name one: what every page asks each second
 * (whether runs changed) needs no model file read. A lake, or settings with a problem, take
 * the whole project's open, which says what is wrong.
 */
export function warehouseOfProject(options: ProjectOptions): string {
  return warehouseAhead(options)?.path ?? openState(options).at.warehouse;
}

export function uiNode(n: PipeNode, status: UiTaskStatus | undefined): UiNode {
  return { name: n.name, type: n.kind, kind: nodeKind(n), file: n.file, upstream: n.upstream, tags: n.tags, last_status: status ?? null };
}

export async function readGraph(opened: Opened): Promise<Sourced<UiNode[]>> {
  const statuses = await readNodeStatuses(opened.at);
  return { source: statuses.source, value: [...opened.analysis.nodes.values()].map((n) => uiNode(n, statuses.value.get(n.name))) };
}

function nodeOf(opened: Opened, name: string): PipeNode {
  const n = opened.analysis.nodes.get(name);
  if (n) return n;
  // A model whose file has errors is not in the graph: its errors say why.
  // Several files may have its name, one of which the configs enable.
  const files = new Set([...opened.project.files.models, ...opened.project.files.snapshots].filter((m) => m.name === name).map((m) => m.file));
  const why = opened.problems.filter((d) => d.location?.file !== undefined && files.has(d.location.file));
  if (why.length > 0) throw new UiProblem(`${name} cannot be shown: ${why.map(problemText).join('; ')}`, 422);
  throw new UiProblem(`no model, seed or source named '${name}'`, 404);
}

/** Config as JSON: plain values only. */
function plain(value: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value ?? {}, (_k, v: unknown) => (typeof v === 'function' ? undefined : v))) as Record<string, unknown>;
}

export function configOf(n: PipeNode): Record<string, unknown> {
  switch (n.kind) {
    case 'model':
      return plain(n.config);
    case 'seed':
      return plain({ schema: n.schema, column_types: n.columnTypes, delimiter: n.delimiter, quote_columns: n.quoteColumns });
    case 'source':
      return plain({ source: n.source, table: n.table, relation: n.relation, loaded_at_field: n.loadedAtField });
    default: {
      const never: never = n;
      throw new Error(`internal error: node ${JSON.stringify(never)}`);
    }
  }
}

/** The columns the project declares for a node (a source declares none pipe reads). */
export function declaredColumns(n: PipeNode): UiColumn[] {
  return n.kind === 'source' ? [] : n.columns.map((c) => ({ name: c.name, type: c.dataType ?? '', description: c.description }));
}

/**
 * A node's columns as built (names and types from the warehouse), each with the description
 * the project declares for it (names matched as DuckDB matches them, case aside), then the
 * declared columns the table does not have, so marked; as declared when it is not built.
 */
export function columnsOf(n: PipeNode, built: readonly UiColumn[] | undefined): UiColumn[] {
  const declared = declaredColumns(n);
  if (built === undefined) return declared;
  const byName = new Map(declared.map((c) => [c.name.toLowerCase(), c]));
  const merged = built.map((c): UiColumn => {
    const description = byName.get(c.name.toLowerCase())?.description;
    return description === undefined ? c : { ...c, description };
  });
  const inTable = new Set(built.map((c) => c.name.toLowerCase()));
  return [...merged, ...declared.filter((c) => !inTable.has(c.name.toLowerCase())).map((c) => ({ ...c, in_table: false }))];
}

/** What the project says a node is (its `description:`), if it says. */
export function descriptionOf(n: PipeNode): string | null {
  const d = n.kind === 'model' ? n.config.description : n.kind === 'seed' ? n.description : undefined;
  return typeof d === 'string' && d.trim() !== '' ? d : null;
}

export function checksOf(analysis: Analysis, n: PipeNode): UiModel['checks'] {
  return (n.kind === 'source' ? (analysis.sourceChecks.get(n.name) ?? []) : n.checks).map((c) => ({
    name: c.name,
    severity: c.severity,
    at: `${c.location.file}${c.location.line === undefined ? '' : `:${c.location.line}`}`,
  }));
}

export async function readModel(options: ProjectOptions, opened: Opened, name: string, keep?: AnalysisKeep): Promise<Sourced<UiModel>> {
  const { analysis, project, at } = opened;
  const n = nodeOf(opened, name);
  // Its columns as built, read in the same opening of the warehouse (each costs one).
  const tasks = await readNodeTasks(at, name, async (session) => {
    try {
      return (await session.table(`SELECT * FROM ${n.relation} LIMIT 0`)).columns.map((c) => ({ name: c.name, type: c.type }));
    } catch (e) {
      if (e instanceof WarehouseError) return undefined; // not built yet
      throw e;
    }
  });
  const statuses = tasks.value[0]?.status;
  const columns = tasks.also;
  return {
    source: tasks.source,
    value: {
      project: opened.info,
      source: tasks.source,
      node: uiNode(n, statuses),
      relation: n.relation,
      downstream: [...analysis.nodes.values()].filter((d) => d.upstream.includes(n.name)).map((d) => d.name),
      source_sql: n.kind === 'model' ? readFileSync(resolve(project.root, n.file), 'utf8') : null,
      compiled: n.kind === 'model' ? await compiledOf(options, opened, n.name, keep) : { problem: `a ${n.kind} has no query of its own` },
      compiled_for: dateVariables(resolveInterval(undefined, options.clock).interval).ds,
      config: configOf(n),
      checks: checksOf(analysis, n),
      description: descriptionOf(n),
      columns: columnsOf(n, columns),
      columns_from: columns ? 'warehouse' : 'project',
      tasks: tasks.value,
    },
  };
}

/**
 * A model's compiled query, kept for as long as the analysis and the warehouse it was
 * compiled from are those of this request (a run changes what is_incremental() answers).
 */
async function compiledOf(options: ProjectOptions, opened: Opened, model: string, keep: AnalysisKeep | undefined): Promise<CompiledSql> {
  if (!keep) return compiledSql(options, model, undefined);
  const warehouse = fileStamps(opened.at.warehouse);
  if (keep.compiled?.opened !== opened || keep.compiled.warehouse !== warehouse) keep.compiled = { opened, warehouse, byModel: new Map() };
  // Taken before the compile: a request meanwhile may keep another analysis's.
  const { byModel } = keep.compiled;
  const kept = byModel.get(model);
  if (kept) return kept;
  const { held, ...compiled } = await compiledSql(options, model, { project: opened.project, kept: keep.compiles });
  // Compiled while the warehouse was held, it is told as such, and compiled again next time.
  if (!held) byModel.set(model, compiled);
  return compiled;
}

/** The warehouse file and its write-ahead log as they are now: a write changes one of them. */
function fileStamps(path: string): string {
  return [path, `${path}.wal`].map((p) => {
    try {
      return statStamp(p);
    } catch {
      return 'none';
    }
  }).join(' ');
}

/** The query `pipe compile MODEL` prints, or why there is none; `held` when the warehouse could not be read for it. */
async function compiledSql(options: ProjectOptions, model: string, reuse: Parameters<typeof compile>[1]): Promise<CompiledSql & { held?: true }> {
  try {
    const { models, warnings } = await compile({ ...options, model }, reuse);
    const locked = warnings.find((w) => w.code === 'warehouse-locked');
    const sql = models[0]?.sql ?? '';
    return locked ? { sql: `-- ${locked.message.replace(/\n/g, ' ')}\n${sql}`, held: true } : { sql };
  } catch (e) {
    return { problem: asProblem(e).message };
  }
}

/** The first rows of a node's table, read as `pipe show` reads them. */
export async function readPreview(options: ProjectOptions, name: string): Promise<UiPreview> {
  const shown = await show({ ...options, model: name, limit: PREVIEW_ROWS });
  return { columns: shown.table.columns, rows: shown.table.rows, more: shown.more };
}
