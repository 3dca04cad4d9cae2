import { existsSync } from 'node:fs';
import type { Analysis, PipeNode } from '../analyze/analyze.js';
import { partitionColumn, perInterval } from '../plan/materializations.js';
import { DiagnosticError, error, type Diagnostic } from '../diagnostics/diagnostics.js';
import { didYouMean } from '../diagnostics/suggest.js';
import type { Interval } from '../dates/dates.js';
import { Engine, type EngineHandle } from '../execute/engine.js';
import { readCatalog, stateHas } from '../warehouse/run-state.js';
import { readLatestBuilds, type FailureRecord } from '../warehouse/build-records.js';
import { firstLine } from '../util/first-line.js';
import { catalogName } from '../warehouse/warehouse-file.js';
import { WarehouseError, type QueryTable, type WarehouseSession } from '../warehouse/warehouse.js';
import { quoteLiteral } from '../sql/sql-text.js';
import { analyzeAndSelect, emitAnalysisNotes, lentNotice, resolveInterval, type ProjectOptions } from './context.js';
import { compile } from './inspect.js';
import { withInlineModel, looksLikeQuery } from './inline-model.js';
import { openProject, templateCacheOf, type Project } from './open-project.js';
import { pipeCommandFor } from './lifecycle.js';
import type { EventSink } from '../events/events.js';
import { withArticle } from '../util/english.js';
import { parseTree } from '../state/query-reads.js';

/**
 * `pipe show MODEL`: the first rows of a model's published table or view (a seed's table, a
 * source's relation), or with `inline` the rows of its query as a run for the date would
 * compute them. Only reads: the warehouse is opened read-only, and the text sent to it must
 * parse as one query, so neither a model's SQL nor `--where` can change anything.
 */

/** Rows shown when no --limit is given: a screenful, more than dbt's 5, fewer than a scroll. */
export const DEFAULT_SHOW_LIMIT = 20;

export interface ShowOptions extends ProjectOptions {
  readonly model: string;
  readonly limit?: number;
  /** A SQL expression over the rows' columns. */
  readonly where?: string;
  /** `YYYY-MM-DD`: an incremental model's partition; with `inline`, the date its query is rendered for (default yesterday). */
  readonly date?: string;
  readonly inline?: boolean;
  readonly vars?: Readonly<Record<string, unknown>>;
  readonly emit?: EventSink;
}

export interface Shown {
  readonly node: string;
  /** What was read: the relation, `inline` for the model's query, or `query` for a query given inline (see inline-model.ts). */
  readonly from: string;
  readonly table: QueryTable;
  readonly limit: number;
  /** More rows match than were shown. */
  readonly more: boolean;
}

export async function show(asked: ShowOptions): Promise<Shown> {
  // --inline analyzes the project again to compile the query: what both analyses warn of is said once.
  const options = { ...asked, emit: onceEach(asked.emit) };
  const limit = options.limit ?? DEFAULT_SHOW_LIMIT;
  const opened = openProject(options);
  const { interval } = resolveInterval(options.date, options.clock);
  // dbt's `show --inline "select ..."`: a query, not a node's name, made a model for this command.
  const given = options.inline && looksLikeQuery(options.model) && !namesFile(opened, options.model);
  const { project, name: model } = given ? withInlineModel(opened, options.model) : { project: opened, name: options.model };
  const analyzed = analyzeAndSelect(project.files, { interval, vars: options.vars, validated: project, templateCache: templateCacheOf(project), buildsNothing: true });
  emitAnalysisNotes(analyzed, options.emit);
  // A node a refusal leaves out (a Python model, what reads one) is refused as a run refuses it.
  const refused = analyzed.leftOut.get(model);
  if (refused && !analyzed.analysis.nodes.has(model)) throw new DiagnosticError([refused]);
  const node = nodeNamed(analyzed.analysis, model);
  // An ephemeral model has no table, nor a query a run executes alone: its rows are those of a
  // query reading it (inlined), as dbt show gives them.
  if (!given && node.kind === 'model' && node.config.kind === 'ephemeral') {
    const shown = await show({ ...options, model: `select * from {{ ref('${node.name}') }}`, inline: true });
    return { ...shown, node: node.name, from: 'inline' };
  }
  const runCommand = pipeCommandFor(options);
  const readFrom = options.inline ? undefined : relationToRead(node, options.date === undefined ? undefined : interval);
  const built = existsSync(project.warehousePath);
  // A query runs before anything is built (`select 1`, a model reading sources only) on an empty
  // database in memory, as a dry run does; what it reads that is not built is said by compile.
  if (!built && !options.inline) {
    throw new DiagnosticError([notBuilt(node, `the warehouse ${project.warehousePath} does not exist yet`, runCommand)]);
  }
  const warehouse = built ? await Engine.open(project.warehousePath, { readOnly: true, setup: project.warehouseSetup, onLent: lentNotice(options.emit) }) : await Engine.inMemory(project.warehouseSetup, project.warehouseSetup?.lake ? undefined : catalogName(project.warehousePath));
  try {
    const query = readFrom ? await publishedQuery(warehouse, node, readFrom, runCommand, analyzed.analysis, options.emit) : await inlineQuery({ ...options, model }, node, runCommand, given ? project : undefined);
    return await warehouse.engine.withSession(async (session) => {
      const sql = await composed(session, query, options.where, limit);
      const table = await read(session, sql, options);
      return { node: node.name, from: readFrom?.relation ?? (given ? 'query' : 'inline'), table: { ...table, rows: table.rows.slice(0, limit) }, limit, more: table.rows.length > limit };
    });
  } finally {
    warehouse.close();
  }
}

/** Whether a model or seed file of the project has the name: a name with a space is still a name. */
function namesFile(project: Project, name: string): boolean {
  return project.files.models.some((m) => m.name === name) || project.files.seeds.some((s) => s.name === name);
}

function nodeNamed(analysis: Analysis, name: string): PipeNode {
  const node = analysis.nodes.get(name);
  if (node) return node;
  const off = analysis.disabled.get(name);
  if (off) throw new DiagnosticError([error('disabled-model', `${name} is disabled (enabled: false): pipe builds no table of it, and has none to show`, off, { hint: `enable it again to build and show it` })]);
  const names = [...analysis.nodes.keys()];
  throw new DiagnosticError([
    error('unknown-model', `no model, seed or source named '${name}'`, undefined, { hint: didYouMean(name, names) ?? 'pipe ls lists them' }),
  ]);
}


interface ReadFrom {
  readonly relation: string;
  /** The partition of `--date`: a column and the interval its rows fall in. */
  readonly partition?: { readonly column: string; readonly interval: Interval };
}

/** What `pipe show` reads of a node without `inline`; refuses what has nothing to read. */
function relationToRead(node: PipeNode, date: Interval | undefined): ReadFrom {
  const where = node.kind === 'source' ? node.location : { file: node.file };
  if (date === undefined) return { relation: node.relation };
  const column = node.kind === 'model' ? partitionColumn(node.config) : undefined;
  if (column === undefined) {
    const what = node.kind === 'model' ? `${node.config.materialized}${node.config.kind === 'merge' || node.config.kind === 'delete+insert' ? ` (${node.config.kind} by unique_key)` : node.config.kind === 'append' ? ' (append)' : ''}` : node.kind;
    throw new DiagnosticError([
      error('show-date', `--date shows a partition of an incremental model partitioned by date, and ${node.name} is ${withArticle(what)}`, where, {
        hint: node.kind === 'model' ? `--where filters its rows; --inline --date D runs its query for that date` : '--where filters its rows',
      }),
    ]);
  }
  return { relation: node.relation, partition: { column, interval: date } };
}

function notBuilt(node: PipeNode, why: string, runCommand: (args: string) => string): Diagnostic {
  if (node.kind === 'source') {
    return error('not-built', `source ${node.name} reads ${node.relation}, which is not there: ${why}`, node.location, { hint: 'pipe reads sources and never builds them: load it first' });
  }
  // What it reads may not be built either (skipped after an upstream failure): built first.
  const reads = node.upstream.some((u) => !u.includes('.'));
  return error('not-built', `${node.name} is not built yet: ${why}`, { file: node.file }, {
    hint: reads ? `${runCommand(`run --select +${node.name}`)} builds it and what it reads` : `${runCommand(`run --select ${node.name}`)} builds it`,
  });
}

/** The latest failure on record of a node, if nothing of it was published since, with the run of its latest publication before; none without run state. */
async function latestFailure(session: WarehouseSession, node: string): Promise<(FailureRecord & { readonly publishedBy?: string }) | undefined> {
  if (!(await stateHas(session, 'builds'))) return undefined;
  const latest = await readLatestBuilds(session, [node]);
  const failure = latest.failure(node, '');
  if (failure === undefined) return undefined;
  const builds = latest.buildsOf(node);
  if (builds.some((b) => b.builtAt > failure.at)) return undefined;
  const before = builds.reduce<(typeof builds)[number] | undefined>((a, b) => (a === undefined || b.builtAt > a.builtAt ? b : a), undefined);
  return before === undefined ? failure : { ...failure, publishedBy: before.runId };
}

/** A model whose build failed (its checks, or its query) and was never published: running it again as it is fails again. */
function failedUnpublished(node: PipeNode, failed: FailureRecord, runCommand: (args: string) => string): Diagnostic {
  const why = failed.error === undefined ? '' : `: ${firstLine(failed.error)}`;
  return error('not-built', `${node.name} is not built: its build in run ${failed.runId} failed and published nothing${why}`, { file: node.file }, {
    hint: `${runCommand(`show ${node.name} --inline`)} runs its query without publishing it; once it is fixed, ${runCommand(`run --select ${node.name}`)} builds it`,
  });
}

/** The published relation, checked to be there, as a query (a partition of it for `--date`). */
async function publishedQuery(warehouse: EngineHandle, node: PipeNode, from: ReadFrom, runCommand: (args: string) => string, analysis: Analysis, emit: EventSink | undefined): Promise<string> {
  // A source may read a file or a table function: DuckDB says whether it is there.
  const inCatalog = node.kind !== 'source' || (node.reads.kind === 'relation' && node.reads.database === undefined);
  if (inCatalog) {
    const catalog = await warehouse.engine.withSession(readCatalog);
    const failed = node.kind === 'source' ? undefined : await warehouse.engine.withSession((s) => latestFailure(s, node.name));
    if (!catalog.has(from.relation)) throw new DiagnosticError([failed ? failedUnpublished(node, failed, runCommand) : notBuilt(node, `the warehouse has no ${from.relation}`, runCommand)]);
    // Its checks keep a failed build out: what is shown is the build before, which is said. Not of
    // a model kept by date, whose failed date is one of its dates (its others stand), nor of a run
    // that published some of it.
    const keptByDate = node.kind === 'model' && perInterval(node.config) !== undefined;
    if (failed?.publishedBy !== undefined && failed.publishedBy !== failed.runId && !keptByDate) {
      const why = failed.error === undefined ? '' : ` (${firstLine(failed.error)})`;
      // A view's rows are its query's now: what stands is the view, not rows.
      const shown = catalog.get(from.relation) === 'view' ? `this is the view run ${failed.publishedBy} published, read now (its rows are its inputs' as they are now)` : `these are the rows run ${failed.publishedBy} published`;
      emit?.({ type: 'notice', message: `${node.name}'s latest build, in run ${failed.runId}, failed and published nothing${why}: ${shown}` });
    }
    // A view reads its inputs as it is read: one whose input's table was dropped since cannot be.
    if (node.kind === 'model' && catalog.get(from.relation) === 'view') {
      const gone = node.upstream.filter((u) => {
        const up = analysis.nodes.get(u);
        return up !== undefined && up.kind !== 'source' && !(up.kind === 'model' && up.config.kind === 'ephemeral') && !catalog.has(up.relation);
      });
      if (gone.length > 0) {
        throw new DiagnosticError([
          error('not-built', `${node.name} is a view of ${gone.join(', ')}, which the warehouse does not hold (dropped since it was built, or never built)`, { file: node.file }, {
            hint: `${runCommand(`run --select ${gone.join(' ')}`)} builds ${gone.length === 1 ? 'it' : 'them'}`,
          }),
        ]);
      }
    }
  }
  const partition = from.partition && ` WHERE ${warehouse.dialect.inInterval(from.partition.column, from.partition.interval.start, from.partition.interval.end)}`;
  return `SELECT * FROM ${from.relation}${partition ?? ''}`;
}

/** The model's query as a run for the date would execute it (see `pipe compile`). */
async function inlineQuery(options: ShowOptions, node: PipeNode, runCommand: (args: string) => string, withQuery?: Project): Promise<string> {
  if (node.kind !== 'model') {
    throw new DiagnosticError([
      error('nothing-to-show', `--inline runs a model's query, and ${node.name} is a ${node.kind}`, node.kind === 'source' ? node.location : { file: node.file }, { hint: `pipe show ${node.name} reads its table` }),
    ]);
  }
  const { models, warnings } = await compile({ ...options, model: node.name, select: undefined, inline: undefined }, withQuery && { project: withQuery });
  const upstream = warnings.find((d) => d.code === 'upstream-not-built');
  if (upstream) {
    const what = withQuery ? 'the query' : node.name;
    // The query given is a model of a name of pipe's own: said as the query.
    const said = upstream.message.replace(/: pipe run would refuse this selection$/, '');
    throw new DiagnosticError([
      error('not-built', `${what} reads what is not built yet: ${withQuery && said.startsWith(`${node.name} reads `) ? `it${said.slice(node.name.length)}` : said}`, { file: node.file }, {
        hint: withQuery ? `${runCommand(`run --select +${node.upstream.join(' +')}`)} builds what it reads` : `${runCommand(`run --select +${node.name}`)} builds it and what it reads`,
      }),
    ]);
  }
  for (const d of warnings) options.emit?.({ type: 'diagnostic', diagnostic: d });
  return models[0].sql;
}

/**
 * The query sent: what to read, filtered by `where`, one row more than `limit` (to tell
 * whether there are more). It must parse as one statement, which then is this SELECT: a
 * model's SQL or a `--where` that closes the parenthesis to add a statement is refused.
 */
async function composed(session: WarehouseSession, query: string, where: string | undefined, limit: number): Promise<string> {
  const inner = `SELECT * FROM (\n${query}\n) AS pipe_show`;
  if (!(await oneStatement(session, inner))) {
    // A query that does not parse is said in the parser's words; one that does is not a query.
    const unparsed = await parseError(session, query);
    if (unparsed !== undefined) throw new DiagnosticError([error('syntax-error', `the SQL to show does not parse: ${unparsed}`)]);
    throw new DiagnosticError([error('not-a-query', 'the SQL to show is not one query: pipe show runs only queries')]);
  }
  if (where === undefined) return `${inner}\nLIMIT ${limit + 1}`;
  const filtered = `${inner}\nWHERE (\n${where}\n)`;
  if (!(await oneStatement(session, filtered)) || !(await onlyFilters(session, where))) {
    throw new DiagnosticError([error('bad-where', `--where ${JSON.stringify(where)} is not one SQL expression over the rows' columns`)]);
  }
  return `${filtered}\nLIMIT ${limit + 1}`;
}

/**
 * Whether `where` only filters the rows: the query it makes parses as the query with a WHERE
 * and nothing else, not one it closes a parenthesis of to add a UNION (rows of its own), a
 * GROUP BY, a QUALIFY or an ORDER BY (parsing only: nothing runs).
 */
async function onlyFilters(session: WarehouseSession, where: string): Promise<boolean> {
  const shape = async (condition: string): Promise<string | undefined> => {
    const [row] = await session.query(`SELECT json_serialize_sql(${quoteLiteral(`SELECT * FROM pipe_show WHERE (\n${condition}\n)`)})::VARCHAR AS tree`);
    const tree = parseTree(String(row?.tree ?? '{}')) as { error?: boolean; statements?: { node: Record<string, unknown> }[] };
    if (tree.error || tree.statements?.length !== 1) return undefined;
    const { where_clause: _where, ...rest } = tree.statements[0].node;
    return JSON.stringify(rest);
  };
  const given = await shape(where);
  return given !== undefined && given === (await shape('true'));
}

/** What DuckDB's parser says of the text, when it cannot read it (parsing only: nothing runs). */
async function parseError(session: WarehouseSession, sql: string): Promise<string | undefined> {
  try {
    await session.statementCount(`${sql};`);
    return undefined;
  } catch (e) {
    if (!(e instanceof WarehouseError)) throw e;
    const line = session.dialect.errorLine(e.message)?.line;
    return `${session.dialect.headline(e.message)}${line === undefined ? '' : ` (its line ${line})`}`;
  }
}

/** Whether DuckDB's parser reads the text as one statement (parsing only: nothing runs). */
async function oneStatement(session: WarehouseSession, sql: string): Promise<boolean> {
  try {
    // The semicolon makes the parser read the text even where it has none of its own.
    return (await session.statementCount(`${sql};`)) === 1;
  } catch (e) {
    if (e instanceof WarehouseError) return false;
    throw e;
  }
}

async function read(session: WarehouseSession, sql: string, options: ShowOptions): Promise<QueryTable> {
  try {
    return await session.table(sql);
  } catch (e) {
    if (!(e instanceof WarehouseError)) throw e;
    const cause = session.dialect.headline(e.message);
    const query = options.inline && looksLikeQuery(options.model);
    const by = options.where !== undefined ? ` with --where ${JSON.stringify(options.where)}` : options.inline && !query ? ' running its query' : '';
    const hint = options.where !== undefined ? columnHint(e.message) : undefined;
    throw new DiagnosticError([error('show-failed', `cannot show ${query ? 'the inline query' : options.model}${by}: ${cause}`, undefined, hint === undefined ? undefined : { hint })]);
  }
}

/** A did-you-mean for a column --where names that is not there, from the columns DuckDB offers in its place. */
function columnHint(message: string): string | undefined {
  const missing = /Referenced column "((?:[^"]|"")+)" not found/.exec(message)?.[1];
  const offered = /Candidate bindings: ([^\n]*)/.exec(message)?.[1];
  if (missing === undefined || offered === undefined) return undefined;
  const candidates = [...offered.matchAll(/"((?:[^"]|"")+)"/g)].map((m) => m[1].split('.').pop()!.replaceAll('""', '"'));
  return didYouMean(missing.replaceAll('""', '"'), candidates) ?? `the nearest columns: ${candidates.join(', ')}`;
}

/** An event sink that passes each diagnostic once (the same message at the same place), every other event as it comes. */
function onceEach(emit: EventSink | undefined): EventSink | undefined {
  if (!emit) return undefined;
  const said = new Set<string>();
  return (e) => {
    if (e.type === 'diagnostic') {
      const key = JSON.stringify([e.diagnostic.severity, e.diagnostic.message, e.diagnostic.location]);
      if (said.has(key)) return;
      said.add(key);
    }
    emit(e);
  };
}
