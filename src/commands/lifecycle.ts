import { randomBytes } from 'node:crypto';
import type { Analysis } from '../analyze/analyze.js';
import { DiagnosticError, hasErrors } from '../analyze/diagnostics.js';
import { secretVarNames, type Pipeline } from '../analyze/project-settings.js';
import type { Interval } from '../dates/dates.js';
import type { ProjectFiles } from '../project/load-project.js';
import type { EventSink, PipeEvent } from '../events/events.js';
import { execute, type ExecuteInput, type ExecuteResult } from '../execute/executor.js';
import { pastTaskIds, type Plan, type PlanContext } from '../plan/plan.js';
import { Engine, throwIfStopped, type EngineHandle, type HeldWait } from '../execute/engine.js';
import {
  readCatalog,
  readRelationsOfRecordedNodes,
  readSeedHashes,
  stateExists,
  succeededTaskIds,
  Catalog,
} from '../warehouse/run-state.js';
import { PIPE_VERSION } from '../version.js';
import { preflightCheckColumns, preflightSeeds } from './preflight.js';
import { preflightSingleStatements } from './preflight-statements.js';
import { RunNotifier } from '../notify/run-notifier.js';
import { preflightFullRefresh, type PipeCommand } from './preflight-history.js';
import { noLongerBuilt, noLongerBuiltNotice, type NoLongerBuilt } from './no-longer-built.js';
import { paramsToStore } from './secret-vars.js';
import {
  analyzeAndSelect,
  catalogIfExists,
  heldWait,
  loadFiles,
  warehousePath,
  type ProjectOptions,
  type SelectionOptions,
  type WaitOptions,
} from './context.js';

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

export function newRunId(now = Date.now()): string {
  const t = new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '');
  return `${t}-${randomBytes(2).toString('hex')}`;
}

export interface Prepared {
  readonly analysis: Analysis;
  readonly selected: Set<string>;
  readonly pipeline?: Pipeline;
  /** Open for writing; absent when prepared read-only (a dry run). */
  readonly warehouse?: EngineHandle;
  readonly dbPath: string;
  readonly catalog: Catalog;
  readonly seedHashes: Map<string, string>;
}

/**
 * Every open of the warehouse waits for it as `wait` says (default: as `waitMs` says, stopped
 * by `signal`); a stop before anything is written ends prepare with the signal's reason.
 */
export async function prepare(
  options: ProjectOptions & SelectionOptions & WaitOptions & { interval: Interval; fullRefresh?: boolean; readOnly?: boolean; wait?: HeldWait },
  files: ProjectFiles = loadFiles(options),
): Promise<Prepared> {
  const dbPath = warehousePath(options, files);
  const wait = options.wait ?? heldWait(options);
  const { warehouse, catalog } = await catalogIfExists(dbPath, options.readOnly, wait);
  try {
    const tables = catalog.only('table');
    const { analysis, selected } = analyzeAndSelect(files, { ...options, existingRelations: tables });
    return await openFor(analysis, selected, options.pipeline, dbPath, { warehouse, catalog, readOnly: options.readOnly, wait });
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
  selected: Set<string>,
  pipelineName: string | undefined,
  dbPath: string,
  opened: { warehouse?: EngineHandle; catalog?: Catalog; readOnly?: boolean; wait?: HeldWait } = {},
): Promise<Prepared> {
  const pipeline = pipelineName ? analysis.pipelines.get(pipelineName) : undefined;
  let warehouse = opened.warehouse;
  if (opened.readOnly) {
    let seedHashes = new Map<string, string>();
    if (warehouse) {
      const s = await warehouse.session();
      try {
        if (await stateExists(s)) seedHashes = await readSeedHashes(s);
      } finally {
        s.close();
      }
      warehouse.close();
    }
    return { analysis, selected, pipeline, dbPath, catalog: opened.catalog ?? new Catalog(), seedHashes };
  }
  const wait = opened.wait ?? { ms: 0 };
  warehouse ??= await Engine.openWhenFree(dbPath, {}, wait);
  try {
    await throwIfStopped(wait.signal);
    const { engine } = warehouse;
    await engine.prepareForWriting();
    const { catalog, seedHashes } = await engine.withSession(async (s) => ({ catalog: await readCatalog(s), seedHashes: await readSeedHashes(s) }));
    return { analysis, selected, pipeline, warehouse, dbPath, catalog, seedHashes };
  } catch (e) {
    warehouse.close();
    throw e;
  }
}

/** What the planners need from a prepared run. */
export function planContext(prepared: Prepared, runId: string, fullRefresh = false): PlanContext {
  return {
    analysis: prepared.analysis,
    selected: prepared.selected,
    catalog: prepared.catalog,
    seedHashes: prepared.seedHashes,
    fullRefresh,
    runId,
    pipeline: prepared.pipeline,
  };
}

/**
 * The plan context with what `depends_on_past` models of a one-interval run wait for: which
 * of their previous intervals have succeeded, read from the run state.
 */
export async function withPast(ctx: PlanContext, prepared: Prepared, interval: Interval): Promise<PlanContext> {
  const ids = pastTaskIds(ctx, interval);
  if (ids.length === 0 || !prepared.warehouse) return { ...ctx, pastSucceeded: new Set() };
  return { ...ctx, pastSucceeded: await prepared.warehouse.engine.withSession((s) => succeededTaskIds(s, ids)) };
}

export interface LaunchOptions {
  readonly runId: string;
  readonly command: 'run' | 'backfill' | 'retry' | 'test' | 'watch';
  readonly pipeline?: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly parentRunId?: string;
  readonly plan: Plan;
  readonly threads: number;
  readonly emit: EventSink;
  readonly signal?: AbortSignal;
  /** The run-started event, less what launch fills in. */
  readonly header: Omit<Extract<PipeEvent, { type: 'run-started' }>, 'type' | 'runId' | 'command' | 'pipeline' | 'warehouse' | 'threads' | 'tasks'>;
  readonly execute?: Pick<ExecuteInput, 'parallel' | 'slowStart' | 'maxFailures' | 'retryOverride'>;
  /** How to repeat what did not succeed, for the summary. */
  readonly retryCommand: (runId: string) => string;
  /** How other pipe commands are written for this project, for hints; default without flags. */
  readonly pipeCommand?: PipeCommand;
}

/** Records the run, executes it and records the outcome. Closes the warehouse. */
export async function launch(prepared: Prepared, o: LaunchOptions): Promise<RunOutcome> {
  const { warehouse } = prepared;
  if (!warehouse) throw new Error('internal error: launching a run prepared read-only');
  try {
    if (hasErrors(o.plan.diagnostics)) throw new DiagnosticError(o.plan.diagnostics);
    const { engine } = warehouse;
    // Watch says so itself when a model leaves (not at every save); test builds nothing.
    const stale = await engine.withSession(async (session): Promise<NoLongerBuilt[]> => {
      const problems = [
        ...(await preflightSeeds(session, o.plan.tasks)),
        ...(await preflightSingleStatements(session, o.plan.tasks)),
        ...(await preflightCheckColumns(session, o.plan.tasks)),
        ...(await preflightFullRefresh(session, o.plan.tasks, o.pipeCommand ?? ((args) => `pipe ${args}`), o.pipeline)),
      ];
      if (problems.length > 0) throw new DiagnosticError(problems);
      const gone = o.command !== 'watch' && o.command !== 'test' ? noLongerBuilt(await readRelationsOfRecordedNodes(session), prepared.analysis) : [];
      await engine.startRun(
        session,
        {
          runId: o.runId,
          command: o.command,
          pipeline: o.pipeline,
          params: paramsToStore(o.params, secretVarNames(prepared.analysis.settings, prepared.pipeline)),
          startedAt: Date.now(),
          parentRunId: o.parentRunId,
          version: PIPE_VERSION,
        },
        o.plan.tasks.map((t) => ({
          id: t.id,
          node: t.node,
          kind: t.kind,
          ds: t.ds,
          intervalStart: t.interval?.start,
          intervalEnd: t.interval?.end,
          upstream: t.upstream,
          sqlHash: t.sqlHash,
        })),
        o.plan.tasks.map((t) => t.schema),
      );
      return gone;
    });
    warehouse.announce(`pipe ${o.command}${o.pipeline ? ` ${o.pipeline}` : ''} (run ${o.runId})`);
    o.emit({
      type: 'run-started',
      runId: o.runId,
      command: o.command,
      pipeline: o.pipeline,
      warehouse: prepared.dbPath,
      threads: o.threads,
      tasks: o.plan.tasks.length,
      ...o.header,
    });
    if (stale.length > 0) o.emit({ type: 'notice', message: noLongerBuiltNotice(stale) });
    const started = Date.now();
    const notifier = new RunNotifier(
      prepared.pipeline?.notify,
      { runId: o.runId, pipeline: o.pipeline, command: o.command, ds: o.header.ds, start: o.header.start, end: o.header.end, warehouse: prepared.dbPath, cwd: prepared.analysis.root, retryCommand: o.retryCommand },
      o.emit,
    );
    const emit: EventSink = (e) => {
      notifier.observe(e);
      o.emit(e);
    };
    const result = await execute({
      engine,
      runId: o.runId,
      tasks: o.plan.tasks,
      threads: o.threads,
      emit,
      signal: o.signal,
      ...o.execute,
    });
    await engine.finishRun(o.runId, result.status);
    o.emit({
      type: 'run-finished',
      runId: o.runId,
      ...result,
      ms: Date.now() - started,
      retryCommand: result.status === 'succeeded' ? undefined : o.retryCommand(o.runId),
    });
    // The messages go out after the outcome is recorded, and nothing waits for them here.
    notifier.finish(result);
    warehouse.close();
    return { runId: o.runId, ...result, notified: notifier.delivered };
  } finally {
    warehouse.close();
  }
}

/** A pipe command with the same --project/--db the user gave. */
export function pipeCommandFor(options: ProjectOptions): PipeCommand {
  const flags = [
    ...(options.project && options.project !== '.' ? [`--project ${shellQuote(options.project)}`] : []),
    ...(options.db ? [`--db ${shellQuote(options.db)}`] : []),
  ];
  return (args) => ['pipe', args, ...flags].join(' ');
}

/** `pipe retry RUN_ID` with the same --project/--db the user gave. */
export function retryCommandFor(options: ProjectOptions): (runId: string) => string {
  const command = pipeCommandFor(options);
  return (runId) => command(`retry ${runId}`);
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}
