import { existsSync, rmSync } from 'node:fs';
import type { Analysis, AnalysisCache } from '../analyze/analyze.js';
import type { TemplateCodeCache } from '../analyze/template-code-cache.js';
import { DiagnosticError, error, hasErrors, type Diagnostic, type Location } from '../diagnostics/diagnostics.js';
import { secretVarNames, type Pipeline } from '../analyze/project-settings.js';
import { systemClock, type Clock, type Interval } from '../dates/dates.js';
import type { EventSink, PipeEvent } from '../events/events.js';
import { execute, type ExecuteInput, type ExecuteResult } from '../execute/executor.js';
import { backfillPastTaskIds, nodeOfTaskId, pastTaskIds, type Plan, type PlanContext } from '../plan/plan.js';
import { writtenSchemas, type Task } from '../plan/task.js';
import { foresee } from '../execute/run-currency.js';
import { upToDateDetail } from '../state/currency.js';
import { queryReadsCacheOf, type QueryReadsCache } from '../state/query-reads-cache.js';
import { askFunctionsAgain, askFunctionsAhead } from '../state/query-reads.js';
import { catalogName } from '../warehouse/warehouse-file.js';
import { Engine, throwIfStopped, type EngineHandle, type HeldWait } from '../execute/engine.js';
import {
  readCatalog,
  readRelationsOfRecordedNodes,
  readSeedHashes,
  stateExists,
  firstSucceeded,
  succeededTaskIds,
  Catalog,
} from '../warehouse/run-state.js';
import { getRun } from '../warehouse/run-state.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';
import type { WarehouseSetup } from '../warehouse/warehouse-setup.js';
import { PIPE_VERSION } from '../version.js';
import { preflightCheckColumns, preflightContractTypes, preflightSeeds, preflightUnitTests } from './preflight.js';
import { preflightShadowedFunctions } from './preflight-functions.js';
import { preflightStatements } from './preflight-statements.js';
import { preflightFreshness, preflightSources } from './preflight-sources.js';
import { RunNotifier } from '../notify/run-notifier.js';
import { preflightFullRefresh, type PipeCommand } from './preflight-history.js';
import { noLongerBuilt, noLongerBuiltNotice, type NoLongerBuilt } from './no-longer-built.js';
import { paramsToStore } from './secret-vars.js';
import type { Invocation } from '../analyze/jinja/surface.js';
import { analyzeAndSelect, catalogIfExists, emitAnalysisNotes, heldWait, type ProjectOptions, type SelectionOptions, type WaitOptions } from './context.js';
import { openProject, templateCacheOf, type Project } from './open-project.js';
import { freeTestChooser, type FreeTestRequest } from './test-selection.js';
import { readBuildResults } from './build-results.js';
import type { BuildResults } from './choose-selection.js';
import { selectByState } from './state-selection.js';
import { storedJson, type StoredParams } from './stored-params.js';
import { DEFAULT_RUN_LOGS_KEPT } from '../run-log/run-log-files.js';
import { RunLogWriter } from '../run-log/run-log-writer.js';
import { endHooks, hookDiagnostics, selectedResources, runHookRecords, runHooks, startHooks } from './run-hooks.js';
import { RunResults } from './run-results.js';
import { seedVerdictsOf } from '../project/seed-verdicts.js';

/**
 * What `run`, `backfill` and `retry` share: prepare (load, analyze, open the warehouse,
 * recover from a crash), then launch (record the run and its planned tasks, execute, record
 * the outcome). Bad input is found before the warehouse is written to.
 */

export interface RunOutcome extends ExecuteResult {
  readonly runId: string;
  /** Settles when the run's notifications are delivered or given up; a command waits for it before it exits. */
  readonly notified: Promise<void>;
}

export { newRunId } from '../util/run-id.js';

/**
 * How a command uses the warehouse: `write` (a run: opened for writing, recovered after a
 * crash), `read` (a dry run: opened read-only, when it exists), `none` (not opened: planned
 * as if it were empty).
 */
export type WarehouseAccess = 'write' | 'read' | 'none';

export interface Prepared {
  readonly analysis: Analysis;
  readonly selected: ReadonlySet<string>;
  /** The seeds an exclusion names (see Chosen.excludedSeeds). */
  readonly excludedSeeds?: ReadonlySet<string>;
  /** The nodes an exclusion names (see Chosen.excluded). */
  readonly excluded?: ReadonlySet<string>;
  readonly pipeline?: Pipeline;
  readonly access: WarehouseAccess;
  /** Open for writing, or read-only for `read` when the file exists; the caller closes it. */
  readonly warehouse?: EngineHandle;
  readonly dbPath: string;
  /** What the warehouse runs as it opens; a dry run's database in memory runs it too. */
  readonly setup?: WarehouseSetup;
  readonly catalog: Catalog;
  readonly seedHashes: Map<string, string>;
  /** Opened for writing, the DuckDB file did not exist before: this command made it (see launch). */
  readonly madeWarehouse?: boolean;
  /** What the command's --select and --exclude say, and whether it names no selection at all (see freeTestChooser). */
  readonly request?: FreeTestRequest;
  /** See Analyzed.leftOut. */
  readonly leftOut?: ReadonlyMap<string, Diagnostic>;
}

/** An analysis cache and the compiled templates, kept between analyses of one project by a process that lives long. */
export interface KeptAnalysis {
  readonly analyses: AnalysisCache;
  templates?: TemplateCodeCache;
  /** The invocation its analyses render with: one for all, so that an unchanged project is not analyzed again. */
  readonly invocation?: Invocation;
}

/**
 * Every open of the warehouse waits for it as `wait` says (default: as `waitMs` says, stopped
 * by `signal`); a stop before anything is written ends prepare with the signal's reason.
 */
export async function prepare(
  options: ProjectOptions &
    SelectionOptions &
    WaitOptions & {
      interval: Interval;
      fullRefresh?: boolean;
      access?: WarehouseAccess;
      wait?: HeldWait;
      invocation?: Invocation;
      /** A retry: `result:` selects as it did when the run it retries (see readBuildResults) started. */
      resultsBefore?: string;
      /** A retry: the run's remaining tasks say what runs, and `state:` terms select every node. */
      selectedByRun?: boolean;
      /** The command builds no node (run-operation; see analyzeAndSelect). */
      buildsNothing?: boolean;
      /** A retry: `vars` are its run's whole root vars (see AnalyzeOptions.varsAsRun). */
      varsAsRun?: boolean;
      /** A retry: its run's packages' nodes' vars (see AnalyzeOptions.packageVarsAsRun). */
      packageVarsAsRun?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
      /** What a long-lived caller (pipe ui) keeps to analyze the project again cheaply. */
      kept?: KeptAnalysis;
    },
  project: Project = openProject(options),
): Promise<Prepared> {
  const access = options.access ?? 'write';
  const dbPath = project.warehousePath;
  const wait = options.wait ?? heldWait(options);
  const setup = project.warehouseSetup;
  const { warehouse, catalog } =
    access === 'none' ? { warehouse: undefined, catalog: new Catalog() } : await catalogIfExists(dbPath, { readOnly: access === 'read', setup }, wait);
  try {
    const tables = catalog.only('table');
    const unread: BuildResults = { kind: 'unknown', why: 'the warehouse was not read' };
    const templateCache = options.kept ? (options.kept.templates ??= templateCacheOf(project)) : templateCacheOf(project);
    let analyzed = analyzeAndSelect(project.files, { ...options, existingRelations: tables, validated: project, builds: unread, stateSelection: true, templateCache }, options.kept?.analyses);
    // The latest builds are read from the whole history, and only `result:` selects by them.
    if (analyzed.readsResults && access !== 'none') analyzed = analyzed.withBuilds(await readBuildResults(warehouse, options.resultsBefore));
    emitAnalysisNotes(analyzed, options.emit);
    const { analysis, selected, withStates, excludedSeeds, excluded, leftOut } = analyzed;
    const opened = await openFor(analysis, selected, options.pipeline, dbPath, { warehouse, catalog, access, wait, setup, emit: options.emit });
    const request = { select: options.select, exclude: options.exclude, selectsAll: selectsAll(options, analysis, analyzed.defaultSelector) };
    const prepared = { ...opened, ...(excludedSeeds ? { excludedSeeds } : {}), ...(excluded ? { excluded } : {}), ...(leftOut.size > 0 ? { leftOut } : {}), request };
    if (!withStates) return prepared;
    // A retry re-runs the tasks of its run: which nodes are modified now does not narrow them.
    if (options.selectedByRun) return { ...prepared, selected: new Set(analysis.nodes.keys()) };
    try {
      return { ...prepared, selected: await selectByState(prepared, withStates, options) };
    } catch (e) {
      if (prepared.warehouse !== warehouse) prepared.warehouse?.close();
      throw e;
    }
  } catch (e) {
    warehouse?.close();
    throw e;
  }
}

/**
 * The second half of prepare, for callers that analyzed already (watch mode): open the
 * warehouse for writing (or read it, read-only), recover from a crash, read the catalog.
 * Nothing is written once `wait.signal` is aborted.
 */
export async function openFor(
  analysis: Analysis,
  selected: ReadonlySet<string>,
  pipelineName: string | undefined,
  dbPath: string,
  opened: {
    warehouse?: EngineHandle;
    catalog?: Catalog;
    access?: WarehouseAccess;
    wait?: HeldWait;
    setup?: WarehouseSetup;
    /** For writing: the catalog and seed hashes as the caller read them under the lock it holds, with nothing written since (watch keeps them between builds). */
    known?: { readonly catalog: Catalog; readonly seedHashes: Map<string, string> };
    /** Told of what makes preparing the warehouse take a moment. */
    emit?: EventSink;
  } = {},
): Promise<Prepared> {
  const pipeline = pipelineName ? analysis.pipelines.get(pipelineName) : undefined;
  const access = opened.access ?? 'write';
  const { setup } = opened;
  let warehouse = opened.warehouse;
  if (access !== 'write') {
    const seedHashes = warehouse
      ? await warehouse.engine.withSession(async (s) => ((await stateExists(s)) ? readSeedHashes(s) : new Map<string, string>()))
      : new Map<string, string>();
    return { analysis, selected, pipeline, access, warehouse, dbPath, setup, catalog: opened.catalog ?? new Catalog(), seedHashes };
  }
  const wait = opened.wait ?? { ms: 0 };
  // The catalog the caller read through the handle it passes (what analysis saw) stands while the handle is open, on a
  // file no other process writes: preparing writes only pipe's own state and drops staging tables, no model's relation.
  const read = opened.warehouse !== undefined && opened.catalog !== undefined && opened.warehouse.engine.ownsWarehouse ? opened.catalog : undefined;
  const madeWarehouse = warehouse === undefined && !setup?.lake && !existsSync(dbPath);
  warehouse ??= await Engine.openWhenFree(dbPath, { setup }, wait);
  try {
    await throwIfStopped(wait.signal);
    const { engine } = warehouse;
    // The functions every run's judgement of its queries needs, asked meanwhile on another
    // connection (not of a lake: its connections each read the lake's catalog as they start).
    const ahead = setup?.lake ? undefined : askFunctionsAhead((work) => engine.withSession(work));
    try {
      await engine.prepareForWriting(read?.listed, opened.emit);
      const { catalog, seedHashes } = opened.known ?? (await engine.withSession(async (s) => ({ catalog: read ?? (await readCatalog(s)), seedHashes: await engine.seedHashes(s) })));
      return { analysis, selected, pipeline, access, warehouse, dbPath, setup, catalog, seedHashes, madeWarehouse };
    } finally {
      await ahead;
    }
  } catch (e) {
    // Stopped (Ctrl-C) or failed before anything was recorded: a warehouse this open made is not left behind.
    letGoUnused({ warehouse, dbPath, madeWarehouse });
    throw e;
  }
}

/** What the planners need from a prepared run. */
/** What a command plans of its selection: not what it leaves out (see Analyzed.leftOut), a model whose query cannot be made (a var nobody sets) among them. */
export function plannedSelection({ selected, leftOut }: Pick<Prepared, 'selected' | 'leftOut'>): ReadonlySet<string> {
  return leftOut === undefined || leftOut.size === 0 ? selected : new Set([...selected].filter((n) => !leftOut.has(n)));
}

export function planContext(prepared: Prepared, runId: string, fullRefresh = false, force = false): PlanContext {
  return {
    analysis: prepared.analysis,
    selected: plannedSelection(prepared),
    ...(prepared.excludedSeeds ? { excludedSeeds: prepared.excludedSeeds } : {}),
    catalog: prepared.catalog,
    seedHashes: prepared.seedHashes,
    fullRefresh,
    ...(force ? { force } : {}),
    runId,
    pipeline: prepared.pipeline,
    stagePartitions: prepared.setup?.lake?.catalog.kind === 'postgres',
    ...(prepared.request ? { freeTests: freeTestChooser(prepared.request, prepared.selected) } : {}),
  };
}

/**
 * Whether a command selects the whole project, less what its --exclude names: no --select or
 * --selector, nor its pipeline's selection or selectors.yml's default selector. Then it runs
 * dbt's tests that name no node too (see freeTestChooser), as `dbt build` and `dbt test` do.
 */
function selectsAll(options: SelectionOptions, analysis: Analysis, defaultSelector: string | undefined): boolean {
  const some = (list: readonly string[] | undefined) => list !== undefined && list.length > 0;
  const pipeline = options.pipelineSelection ?? (options.pipeline === undefined ? undefined : analysis.pipelines.get(options.pipeline));
  if (some(options.select) || options.selector !== undefined || defaultSelector !== undefined) return false;
  return pipeline === undefined || (!some(pipeline.select) && !some(pipeline.exclude) && pipeline.selector === undefined);
}

/**
 * The plan context with what `depends_on_past` models of a run wait for: which of their
 * previous intervals have succeeded, read from the run state. A one-interval run waits for
 * the interval before it; a backfill (a range of intervals) for the one before its first.
 */
export async function withPast(ctx: PlanContext, prepared: Prepared, of: Interval | readonly Interval[]): Promise<PlanContext> {
  const ids = isRange(of) ? backfillPastTaskIds(ctx, of) : pastTaskIds(ctx, of);
  if (ids.length === 0 || !prepared.warehouse) return { ...ctx, pastSucceeded: new Set() };
  const read = prepared.access !== 'write';
  const nodes = [...new Set(ids.map(nodeOfTaskId))];
  const { pastSucceeded, pastFirst } = await prepared.warehouse.engine.withSession(async (s) =>
    // Read-only, the run state may not exist: a warehouse that pipe has never written to.
    read && !(await stateExists(s)) ? { pastSucceeded: new Set<string>(), pastFirst: new Map<string, string>() } : { pastSucceeded: await succeededTaskIds(s, ids), pastFirst: await firstSucceeded(s, nodes) },
  );
  return { ...ctx, pastSucceeded, pastFirst };
}

const isRange = (of: Interval | readonly Interval[]): of is readonly Interval[] => Array.isArray(of);

export interface LaunchOptions {
  readonly runId: string;
  readonly pipeline?: string;
  /** What the run records of how it was started; its kind is the command. */
  readonly params: StoredParams;
  readonly parentRunId?: string;
  readonly plan: Plan;
  readonly threads: number;
  readonly emit: EventSink;
  readonly signal?: AbortSignal;
  /** The run-started event, less what launch fills in. */
  readonly header: Omit<Extract<PipeEvent, { type: 'run-started' }>, 'type' | 'runId' | 'command' | 'pipeline' | 'warehouse' | 'threads' | 'tasks'>;
  readonly execute?: Pick<ExecuteInput, 'parallel' | 'slowStart' | 'maxFailures' | 'retryOverride' | 'force' | 'place'>;
  /** How to repeat what did not succeed, for the summary. */
  readonly retryCommand: (runId: string) => string;
  /** How other pipe commands are written for this project, for hints; default without flags. */
  readonly pipeCommand?: PipeCommand;
  /** `--check-freshness`: stop before anything is written when a source the run reads is stale (as the pipeline's `check_freshness: true`). */
  readonly checkFreshness?: boolean;
  /** What "now" is for the freshness of sources. */
  readonly clock?: Clock;
  /** Set: the run runs dbt_project.yml's on-run-start and on-run-end, their templates rendered for this interval. */
  readonly runHooks?: { readonly interval: Interval; readonly fullRefresh: boolean };
}

/** What the checks before a run need besides the plan. */
export interface PreflightOptions {
  readonly pipeCommand?: PipeCommand;
  readonly pipeline?: string;
  /** The project folder. */
  readonly root: string;
  /** Set: the freshness of the sources the run reads is checked, as of this time (epoch ms). */
  readonly freshnessAt?: number;
  /** What earlier runs judged of their queries (see state/query-reads-cache.ts); a dry run writes none. */
  readonly readsCache?: QueryReadsCache;
}

/** When a run checks the freshness of its sources first (`--check-freshness` or the pipeline's `check_freshness: true`): as of now. */
export function freshnessAt(prepared: Prepared, o: { readonly checkFreshness?: boolean; readonly clock?: Clock }): number | undefined {
  return o.checkFreshness || prepared.pipeline?.check_freshness ? (o.clock ?? systemClock).now() : undefined;
}

/**
 * What a run refuses before it writes anything: the plan's errors, then what the warehouse
 * says of its tasks (sources that are not there, seeds that would not load, text of several
 * statements, checks of columns a model does not produce, a full refresh that would delete
 * other dates, macros named like DuckDB's functions, and, when asked, stale sources). Warnings come with the errors; the run goes
 * on when there are only warnings.
 */
export async function preflight(session: WarehouseSession, plan: Plan, o: PreflightOptions): Promise<Diagnostic[]> {
  if (hasErrors(plan.diagnostics)) return [...plan.diagnostics];
  const missing = await preflightSources(session, plan.tasks, o.root);
  const statements = await preflightStatements(session, plan.tasks, o.readsCache);
  // A check whose text does not parse is said once, as the syntax error it is.
  const unparsed = new Set(statements.map((d) => placeOf(d.location)));
  return [
    // The plan's own warnings (a unit test left out of a model's first build), told with the rest.
    ...plan.diagnostics.filter((d) => d.severity === 'warning'),
    ...missing,
    ...(await preflightSeeds(session, plan.tasks, seedVerdictsOf(o.root))),
    ...statements,
    ...(await preflightCheckColumns(session, plan.tasks)).filter((d) => !unparsed.has(placeOf(d.location))),
    ...(await preflightUnitTests(session, plan.tasks)),
    ...(await preflightContractTypes(session, plan.tasks)),
    ...(await preflightShadowedFunctions(session)),
    ...(await preflightFullRefresh(session, plan.tasks, o.pipeCommand ?? ((args) => `pipe ${args}`), o.pipeline)),
    // A source that is not there has no freshness to tell.
    ...(o.freshnessAt !== undefined && missing.length === 0 ? await preflightFreshness(session, plan.tasks, o.freshnessAt) : []),
  ];
}

const placeOf = (at: Location | undefined) => (at === undefined ? '' : `${at.file}:${at.line ?? ''}`);

/** Throws the errors of a preflight; its warnings go to `emit`. */
function refuseOn(problems: readonly Diagnostic[], emit: EventSink | undefined): void {
  if (hasErrors(problems)) throw new DiagnosticError(problems);
  for (const d of problems) emit?.({ type: 'diagnostic', diagnostic: d });
}

/**
 * A dry run refuses what the run would, asking the warehouse read-only: the one `prepared`
 * opened, or, when there is none yet, an empty database in memory. Closes the warehouse.
 */
export async function refuseAsRunWould(prepared: Prepared, plan: Plan, o: Omit<PreflightOptions, 'root'>, emit?: EventSink): Promise<void> {
  const hooked = prepared.analysis.runHooks.start.length > 0;
  if (prepared.access === 'write') throw new Error('internal error: a dry run prepared for writing');
  const warehouse = prepared.warehouse ?? (await Engine.inMemory(prepared.setup, prepared.setup?.lake ? undefined : catalogName(prepared.dbPath)));
  try {
    const problems = await warehouse.engine.withSession((session) => preflight(session, plan, { ...o, root: prepared.analysis.root }));
    // The run would check again once its on-run-start statements ran, which a dry run does not run.
    const mendable = hooked && startHooksMayMend(problems, plan);
    refuseOn(mendable ? problems.map(untilStartHooks) : problems, emit);
  } finally {
    warehouse.close();
  }
}

/**
 * Whether what the checks before a run found may be mended by its on-run-start statements,
 * which run first and may create what the run reads: errors of the warehouse, none of the plan.
 */
function startHooksMayMend(problems: readonly Diagnostic[], plan: Plan): boolean {
  return hasErrors(problems) && !hasErrors(plan.diagnostics);
}

/** An error a dry run found that the run's on-run-start statements may mend: told as a warning. */
function untilStartHooks(d: Diagnostic): Diagnostic {
  if (d.severity !== 'error') return d;
  return { ...d, severity: 'warning', message: `${d.message} (in the warehouse as it is now: the run checks again once its on-run-start statements ran)` };
}

/**
 * A dry run's plan with the tasks a run would skip as current marked so (see foresee), read
 * from the warehouse when there is one; as it is when the run would run everything.
 */
export async function withForeseen(prepared: Prepared, plan: Plan, force: boolean | undefined): Promise<Plan> {
  if (force || !prepared.warehouse) return plan;
  // A dry run writes nothing, kept judgements of queries included.
  const foreseen = await prepared.warehouse.engine.withSession((session) => foresee(session, plan.tasks));
  const tasks = plan.tasks.map((t): Task => {
    const c = foreseen.get(t.id)?.currency;
    return c?.kind === 'current' ? { ...t, noop: { reason: 'current', detail: upToDateDetail(c) } } : t;
  });
  return { ...plan, tasks };
}

/** Records the run, executes it and records the outcome. Closes the warehouse. */
export async function launch(prepared: Prepared, o: LaunchOptions): Promise<RunOutcome> {
  const { warehouse } = prepared;
  if (!warehouse || prepared.access !== 'write') throw new Error('internal error: launching a run prepared read-only');
  const command = o.params.kind;
  let log: RunLogWriter | undefined;
  /** Set once the run is recorded: a refusal before leaves no warehouse this command made. */
  let recorded = false;
  try {
    const { engine } = warehouse;
    const { analysis } = prepared;
    // What the run selects, for the models rendered again as their tasks run (dbt's selected_resources).
    analysis.renderer.setSelectedResources(() => selectedResources(analysis, o.plan.tasks));
    const hooked = o.runHooks !== undefined && analysis.runHooks.start.length + analysis.runHooks.end.length > 0;
    // Rendered before anything is written: a template error stops the run at once.
    const start = hooked ? startHooks(analysis, o.plan.tasks, o.runHooks!) : [];
    if (hasErrors(hookDiagnostics(start))) throw new DiagnosticError(hookDiagnostics(start));
    const secretNames = secretVarNames(prepared.analysis.settings, prepared.pipeline);
    const params = paramsToStore(storedJson(o.params), secretNames);
    // A secret var given with --var is not stored: a retry is given it again.
    const givenSecrets = secretNames.filter((name) => Object.hasOwn(o.params.kind === 'retry' ? o.params.of.vars : o.params.vars, name));
    const retryCommand = (runId: string) => [o.retryCommand(runId), ...givenSecrets.map((name) => `--var ${name}=VALUE`)].join(' ');
    const startedAt = Date.now();
    const preflightOptions: PreflightOptions = {
      pipeCommand: o.pipeCommand,
      pipeline: o.pipeline,
      root: prepared.analysis.root,
      freshnessAt: freshnessAt(prepared, o),
      readsCache: queryReadsCacheOf(prepared.dbPath),
    };
    /**
     * Set when the checks found problems that the on-run-start statements may mend (they run
     * first, as in dbt, and may create the schemas, sources or attachments the run reads): the
     * checks are made again once those ran, and what is still wrong then stops the run.
     */
    let checkAfterStart = false;
    // Watch says so itself when a model leaves (not at every save); test builds nothing.
    const stale = await engine.withSession(async (session): Promise<NoLongerBuilt[]> => {
      const problems = await preflight(session, o.plan, preflightOptions);
      if (start.length > 0 && startHooksMayMend(problems, o.plan)) checkAfterStart = true;
      else refuseOn(problems, o.emit);
      // The relations as prepared listed them stand on a file this process alone writes: no task has run yet.
      const listed = engine.ownsWarehouse ? prepared.catalog.listed : undefined;
      const gone = command !== 'watch' && command !== 'test' ? noLongerBuilt(await readRelationsOfRecordedNodes(session, listed), prepared.analysis) : [];
      await engine.startRun(
        session,
        {
          runId: o.runId,
          command,
          pipeline: o.pipeline,
          params,
          startedAt,
          parentRunId: o.parentRunId,
          version: PIPE_VERSION,
        },
        [
          ...o.plan.tasks.map((t) => ({
            id: t.id,
            node: t.node,
            kind: t.kind,
            ds: t.ds,
            intervalStart: t.interval?.start,
            intervalEnd: t.interval?.end,
            upstream: t.upstream,
            sqlHash: t.sqlHash,
          })),
          ...(hooked ? runHookRecords(analysis) : []),
        ],
        o.plan.tasks.flatMap(writtenSchemas),
      );
      return gone;
    });
    recorded = true;
    warehouse.announce(`pipe ${command}${o.pipeline ? ` ${o.pipeline}` : ''} (run ${o.runId})`);
    // Started once the warehouse holds the run: the log never tells of a run the warehouse does not know.
    log = RunLogWriter.start(
      prepared.dbPath,
      {
        runId: o.runId,
        command,
        pipeline: o.pipeline,
        params,
        parentRunId: o.parentRunId,
        pid: process.pid,
        startedAt: new Date(startedAt).toISOString(),
        tasks: o.plan.tasks.map((t) => ({ id: t.id, node: t.node, kind: t.kind, ds: t.ds })),
      },
      analysis.settings.keep_run_logs ?? DEFAULT_RUN_LOGS_KEPT,
    );
    const runLog = log;
    let toldLogProblem = false;
    const logged: EventSink = (e) => {
      runLog.event(e);
      o.emit(e);
      if (runLog.problem && !toldLogProblem) {
        toldLogProblem = true;
        o.emit({ type: 'notice', message: `${runLog.problem}; the run goes on without it (pipe history shows it once the warehouse is free)` });
      }
    };
    logged({
      type: 'run-started',
      runId: o.runId,
      command,
      pipeline: o.pipeline,
      warehouse: prepared.dbPath,
      threads: o.threads,
      tasks: o.plan.tasks.length,
      ...o.header,
    });
    if (stale.length > 0) logged({ type: 'notice', message: noLongerBuiltNotice(stale) });
    const notifier = new RunNotifier(
      // A build of pipe watch is a developer's save: the pipeline's notifications are for its real runs.
      command === 'watch' ? undefined : prepared.pipeline?.notify,
      { runId: o.runId, pipeline: o.pipeline, command, ds: o.header.ds, start: o.header.start, end: o.header.end, warehouse: prepared.dbPath, cwd: prepared.analysis.root, retryCommand: o.retryCommand },
      o.emit,
    );
    const results = hooked ? new RunResults(analysis) : undefined;
    const emit: EventSink = (e) => {
      notifier.observe(e);
      results?.observe(e);
      logged(e);
    };
    // A failing on-run-start stops the run before any task: they stay pending, for pipe retry;
    // so do the checks still failing once it ran (each said at its file and line).
    const notStarted = (failed: number): ExecuteResult => ({ status: 'failed', succeeded: 0, failed, skipped: 0, cancelled: 0, pending: o.plan.tasks.length });
    let result: ExecuteResult =
      start.length > 0 && !(await runHooks(engine, o.runId, start, emit))
        ? notStarted(1)
        : start.length > 0 && !(await checkedAfterStart(engine, o.plan, preflightOptions, emit, checkAfterStart))
          ? notStarted(0)
          : await execute({
            engine,
            runId: o.runId,
            tasks: o.plan.tasks,
            threads: o.threads,
            emit,
            signal: o.signal,
            readsCache: queryReadsCacheOf(prepared.dbPath),
            pipeCommand: o.pipeCommand,
            ...o.execute,
          });
    // As dbt: the end hooks run whatever came before them, a failed on-run-start included.
    // When they alone failed, no task is left for pipe retry, which would say so: none is offered.
    let retryable = result.status !== 'succeeded';
    // Not for a run another process ended (interrupted): what it left is pipe retry's.
    if (results && analysis.runHooks.end.length > 0 && !o.signal?.aborted && result.status !== 'interrupted') {
      if (!(await runHooks(engine, o.runId, endHooks(analysis, o.plan.tasks, results, o.runHooks!), emit))) result = { ...result, status: 'failed', failed: result.failed + 1 };
    }
    // A stop after every task ended still kept the end hooks from running: the run is not whole.
    if (results && analysis.runHooks.end.length > 0 && o.signal?.aborted && result.status === 'succeeded') result = { ...result, status: 'cancelled' };
    // Outcomes it could not record (a full disk): its history would say less than it did, and
    // recorded interrupted, its tasks without an outcome are pipe retry's, as after kill -9.
    const lost = engine.lostRecordOf(o.runId);
    if (lost !== undefined && result.status !== 'interrupted' && result.status !== 'succeeded') {
      emit({ type: 'notice', message: `some task outcomes could not be recorded (${lost}): the run ends interrupted, and pipe retry runs what has no outcome` });
      result = { ...result, status: 'interrupted' };
    }
    // A warehouse file deleted or replaced while the run wrote it: what the run wrote, and its
    // record, went into the file DuckDB opened, which is gone. The run failed, and there is
    // nothing for pipe retry to read.
    const gone = warehouse.gone?.();
    if (gone !== undefined) {
      emit({ type: 'diagnostic', diagnostic: error('warehouse-gone', `${gone}: what the run wrote went into that file and is lost`, { file: prepared.dbPath }, { hint: 'run the command again: it builds into the file the path names now' }) });
      result = { ...result, status: 'failed' };
      retryable = false;
    }
    // One span, recorded and told alike: from the run's start as recorded to its end as recorded.
    const endedAt = Date.now();
    if (result.status === 'interrupted') {
      // Recorded where it was taken: its end stands (recorded here only if that record was lost), as recorded.
      await engine.endDeadRuns([o.runId]);
      const recorded = await engine.withSession((s) => getRun(s, o.runId));
      if (recorded?.status === 'succeeded') result = { ...result, status: 'succeeded' };
    } else await engine.finishRun(o.runId, result.status, endedAt);
    logged({
      type: 'run-finished',
      runId: o.runId,
      ...result,
      ms: endedAt - startedAt,
      ...(result.status === 'succeeded'
        ? {}
        : {
          ...(retryable ? { retryCommand: retryCommand(o.runId) } : {}),
          // The record of a run whose file is gone is gone with it.
          ...(gone === undefined ? { historyCommand: (o.pipeCommand ?? ((args: string) => `pipe ${args}`))(`history ${o.runId}`) } : { unrecorded: true as const }),
        }),
    });
    await engine.withSession((s) => runLog.reconcile(s, o.runId)).catch(() => undefined);
    log.close();
    // The messages go out after the outcome is recorded, and nothing waits for them here.
    notifier.finish(result, retryable);
    warehouse.close();
    return { runId: o.runId, ...result, notified: notifier.delivered };
  } catch (e) {
    // Refused before anything was recorded ("nothing is written"): a warehouse this command
    // made holds only pipe's empty run state, and is not left behind.
    // So is one stopped (Ctrl-C) before the run was recorded.
    if (!recorded && (e instanceof DiagnosticError || o.signal?.aborted === true)) letGoUnused(prepared);
    throw e;
  } finally {
    log?.close();
    warehouse.close();
  }
}

/**
 * Lets go of a prepared warehouse nothing was recorded in: closed, and, when this command made
 * it, removed (it holds only pipe's empty run state: "nothing is written").
 */
export function letGoUnused(prepared: Pick<Prepared, 'warehouse' | 'dbPath' | 'madeWarehouse'>): void {
  prepared.warehouse?.close();
  if (prepared.madeWarehouse) for (const file of [prepared.dbPath, `${prepared.dbPath}.wal`]) rmSync(file, { force: true });
}

/** What a run or backfill whose selection leaves nothing to build returns instead of starting a run (as dbt's "Nothing to do"). */
export interface NothingToDo {
  readonly nothingToDo: string;
}

/**
 * A plan with no task that nothing refuses: no run is started or recorded, the warehouse is let
 * go (see letGoUnused), and the command says so. A refused plan is left to launch, to report.
 */
export async function nothingToBuild(prepared: Prepared, p: Pick<Plan, 'tasks' | 'diagnostics'>, distributed?: { close(): Promise<void> }): Promise<NothingToDo | undefined> {
  if (p.tasks.length > 0 || p.diagnostics.some((d) => d.severity === 'error')) return undefined;
  letGoUnused(prepared);
  await distributed?.close();
  return { nothingToDo: 'nothing to do: the selection leaves no model, seed or snapshot to build; no run is recorded' };
}

/** A pipe command with the same --project/--db (and dbt profile flags) the user gave. */
export function pipeCommandFor(options: ProjectOptions): PipeCommand {
  const flags = [
    ...(options.project && options.project !== '.' ? [`--project ${shellQuote(options.project)}`] : []),
    ...(options.db ? [`--db ${shellQuote(options.db)}`] : []),
    ...(options.profilesDir !== undefined ? [`--profiles-dir ${shellQuote(options.profilesDir)}`] : []),
    ...(options.target !== undefined ? [`--target ${shellQuote(options.target)}`] : []),
  ];
  return (args) => ['pipe', args, ...flags].join(' ');
}

/**
 * pipeCommandFor with the command's `--vars` on the commands that build (`pipe run`, `pipe
 * backfill`): what a hint to build (a full refresh, a model and what it reads) says, to build as
 * this command did, not with the project's defaults. Other commands (`pipe history`) take none.
 */
export function buildCommandFor(options: ProjectOptions & { readonly vars?: Readonly<Record<string, unknown>> }): PipeCommand {
  const command = pipeCommandFor(options);
  const vars = options.vars && Object.keys(options.vars).length > 0 ? ` --vars ${shellQuote(JSON.stringify(options.vars))}` : '';
  return (args) => (/^(run|backfill)\b/.test(args) ? `${command(args)}${vars}` : command(args));
}

/** `pipe retry RUN_ID` with the same flags the user gave. */
export function retryCommandFor(options: ProjectOptions): (runId: string) => string {
  const command = pipeCommandFor(options);
  return (runId) => command(`retry ${runId}`);
}

export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/**
 * The checks before a run, made again once its on-run-start statements ran: whether the run
 * may go on. Their findings are told as the run's own (errors and warnings at their lines).
 * All of them when the first found what the statements may mend (`all`); else the one a
 * statement could break: a macro named like one of DuckDB's functions, which would answer the
 * run's checks (`create macro count_star() as 0` passes every failing test), asked afresh.
 */
async function checkedAfterStart(engine: Engine, plan: Plan, o: PreflightOptions, emit: EventSink, all: boolean): Promise<boolean> {
  const problems = await engine.withSession(async (session) => {
    await askFunctionsAgain(session);
    return all ? preflight(session, plan, o) : preflightShadowedFunctions(session);
  });
  for (const d of problems) emit({ type: 'diagnostic', diagnostic: d });
  return !hasErrors(problems);
}
