import { existsSync } from 'node:fs';
import { DiagnosticError, error, type Diagnostic } from '../diagnostics/diagnostics.js';
import { dayInterval, formatDate, HOUR_MS, hourInterval, intervalLabel, parseDate, parseIntervalLabel, parseTimestamp, type Interval } from '../dates/dates.js';
import type { EventSink } from '../events/events.js';
import { DEFAULT_MAX_DELAY_MS, NO_RETRIES } from '../plan/retry-policy.js';
import { DEFAULT_RETRY_DELAY_MS, missingUpstream, nodeOfTaskId, planBackfill, planRun, planTest } from '../plan/plan.js';
import { testFilter } from './test-selection.js';
import type { Task } from '../plan/task.js';
import { intervalKinds, perInterval, supersededKinds, taskMaterialization } from '../plan/materializations.js';
import type { Analysis } from '../analyze/analyze.js';
import { isBuilt } from '../analyze/model-kinds.js';
import { fullRefreshTaskIds } from '../plan/strategies/full-refresh.js';
import { Engine, type HeldWait } from '../execute/engine.js';
import type { WarehouseSetup } from '../warehouse/warehouse-setup.js';
import { getRun, lastPublished, readSeedHashes, laterKey, laterPublications, latestUnfinishedRun, nodesBuiltBy, stateExists, supersededDetail, unfinishedTasks, type LaterPublication, type RunRow } from '../warehouse/run-state.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';
import { backfillIntervals } from './backfill.js';
import { heldWait, type ProjectOptions, type WaitOptions } from './context.js';
import { launch, letGoUnused, newRunId, type LaunchOptions, type Prepared, pipeCommandFor, planContext, prepare, retryCommandFor, shellQuote, withPast, type RunOutcome } from './lifecycle.js';
import { jsonDumps } from '../analyze/jinja/json-yaml.js';
import { isFingerprint } from '../secrets/secrets.js';
import { openProject, type Project } from './open-project.js';
import { yamlSource } from '../project/yaml-file.js';
import { readSelectorDefinitions } from '../analyze/selector-definitions.js';
import { Distributed, type DistributedOptions } from './distributed.js';
import { retryPackageVars, retryVars } from './secret-vars.js';
import { parseStoredParams, type OriginalParams, type RunParams, type StoredParams } from './stored-params.js';
import { resolveThreads } from './threads.js';
import { pushTo } from '../util/multi-map.js';
import { coverageOf, readRecorded } from './task-coverage.js';
import { standingReason } from './standing-text.js';

export interface RetryOptions extends ProjectOptions, WaitOptions {
  /** Default: the latest run that did not fully succeed. */
  readonly runId?: string;
  readonly threads?: number;
  /** Secret vars' values, which run state does not store; no other var may be given. */
  readonly vars?: Readonly<Record<string, unknown>>;
  /** Run the tasks on `pipe worker` processes (a DuckLake warehouse on Postgres only). */
  readonly distributed?: DistributedOptions;
  readonly signal?: AbortSignal;
  readonly emit: EventSink;
}

export type RetryOutcome = RunOutcome | { readonly nothingToDo: string };

type Later = Awaited<ReturnType<typeof laterPublications>>;

interface Target {
  readonly run?: RunRow;
  readonly remaining: Set<string>;
  readonly plannedHashes?: ReadonlyMap<string, string>;
  readonly later?: Later;
  /** When each node was last published to, by any run (see lastPublished). */
  readonly written?: ReadonlyMap<string, number>;
}

/** What is left of a run, and what later runs published, as the run state says now. */
async function targetOf(session: WarehouseSession, run: RunRow): Promise<Required<Target>> {
  const remaining = await unfinishedTasks(session, run.run_id);
  const plannedHashes = new Map(remaining.flatMap((t) => (t.sqlHash === undefined ? [] : [[t.taskId, t.sqlHash] as const])));
  return {
    run,
    remaining: new Set(remaining.map((t) => t.taskId)),
    plannedHashes,
    later: await laterPublications(session, run.run_id, supersededKinds(), intervalKinds()),
    written: await lastPublished(session),
  };
}

async function findTarget(dbPath: string, setup: WarehouseSetup, runId: string | undefined, wait: HeldWait): Promise<Target> {
  if (!existsSync(dbPath)) {
    if (runId) throw new DiagnosticError([error('unknown-run', `no run '${runId}': the warehouse ${dbPath} does not exist yet`)]);
    return { remaining: new Set() };
  }
  const warehouse = await Engine.openWhenFree(dbPath, { readOnly: true, setup }, wait);
  const session = await warehouse.session();
  try {
    if (!(await stateExists(session))) return { remaining: new Set() };
    const run = runId ? await getRun(session, runId) : await latestUnfinishedRun(session);
    if (runId && !run) {
      throw new DiagnosticError([error('unknown-run', `no run '${runId}' in ${dbPath}`, undefined, { hint: 'pipe history lists recent runs' })]);
    }
    if (!run) return { remaining: new Set() };
    return await targetOf(session, run);
  } finally {
    session.close();
    warehouse.close();
  }
}

/** Keeps the tasks still to do; upstream tasks that already succeeded count as done. */
function onlyRemaining(tasks: readonly Task[], remaining: ReadonlySet<string>): Task[] {
  return tasks
    .filter((t) => remaining.has(t.id))
    .map((t) => ({ ...t, upstream: t.upstream.filter((u) => remaining.has(u)), after: t.after?.filter((u) => remaining.has(u)) }));
}

/**
 * The models of undone tasks the plan has no longer, but other tasks of: each with the ids of
 * its tasks now (a model made a table since a backfill's failed date is built once now).
 */
function rebuiltAnotherWay(tasks: readonly Task[], undone: ReadonlySet<string>): Map<string, string[]> {
  const ids = new Set(tasks.map((t) => t.id));
  const gone = new Set([...undone].filter((id) => !ids.has(id)).map(nodeOfTaskId));
  const out = new Map<string, string[]>();
  for (const t of tasks) if (gone.has(t.node)) pushTo(out, t.node, t.id);
  return out;
}

/**
 * A table or view that a later run has published since (or a table it merged or appended
 * rows into), or an interval of a model (a partition, a batch) that a later run replaced, is
 * left as it is: rebuilding it for the original run would put older data over newer. Its task
 * counts as done, with why, and what reads it in the retry reads the newer data.
 *
 * Unless that later build misses what it reads: a task it reads runs in this retry, or was
 * published since the later build began (by the run retried: a slow date). Then it is built
 * again, when that builds what the later run would build now (the same query), or an interval
 * as new as the later one; otherwise the task fails saying which build to make, never leaving
 * a table that misses rows as done.
 */
function withSuperseded(tasks: readonly Task[], later: Later | undefined, written: ReadonlyMap<string, number> | undefined, analysis: Analysis, commands: RebuildCommands): Task[] {
  // The nodes whose tasks write in this retry, so far in its order (what a task reads comes first).
  const writing = new Set<string>();
  return tasks.map((task) => {
    const out = superseded(task, later, (node) => writing.has(node) || ((written?.get(node) ?? -Infinity) > (laterOf(task, later)?.startedAt ?? Infinity)), builtInputs(analysis, task.node), commands);
    if (!out.noop) writing.add(task.node);
    return out;
  });
}

/** How many upstream nodes a retry names as changed since they were built; the rest are counted. */
const SHOWN_CHANGED = 5;

/**
 * What the retried tasks read, directly or not, that the retry does not build and that is not
 * current now: its file (a seed's CSV, a model's SQL) or config changed since it was built, or
 * its own inputs did. A retry re-runs only what its run left undone, so what it builds reads
 * those tables as they were built; said, so that a fix made upstream (a seed corrected) is not
 * taken as part of the retry.
 */
async function changedAbove(session: WarehouseSession, retried: readonly Task[], planned: readonly Task[], todo: ReadonlySet<string>): Promise<{ node: string; why: string }[]> {
  const byId = new Map(planned.map((t) => [t.id, t]));
  const above = new Map<string, Task>();
  const walk = (ids: readonly string[]) => {
    for (const id of ids) {
      const up = byId.get(id);
      if (!up || todo.has(id) || above.has(id)) continue;
      above.set(id, up);
      walk(up.upstream);
    }
  };
  for (const t of retried) if (!t.noop) walk(byId.get(t.id)?.upstream ?? t.upstream);
  if (above.size === 0) return [];
  // Judged as pipe status judges them, and said in its words.
  const coverage = await coverageOf([...above.values()], await readRecorded(session, await readSeedHashes(session)), session);
  const out = new Map<string, string>();
  for (const task of planned) {
    const standing = coverage.get(task.id)?.standing;
    // One that runs again only after an input that always runs is as its run read it: nothing changed.
    const changed = standing?.kind === 'modified' || (standing?.kind === 'stale' && !standing.afterAlwaysRuns);
    if (changed && !out.has(task.node)) out.set(task.node, standingReason(standing)!);
  }
  return [...out].map(([node, why]) => ({ node, why }));
}

/** The later publication that would leave `task` as it is (see superseded). */
function laterOf(task: Task, later: Later | undefined): LaterPublication | undefined {
  const spec = taskMaterialization(task.kind);
  const of = spec?.laterRunSupersedes ? later?.byNode : spec?.intervals.per === 'interval' ? later?.byTask : undefined;
  const key = spec?.laterRunSupersedes ? task.node : task.id;
  // Only what was written where this task writes: a later run may have built the node elsewhere (another schema).
  const same = of?.get(laterKey(key, task.relation)) ?? of?.get(key);
  if (same || spec?.intervals.per !== 'interval' || !later || task.interval === undefined) return same;
  // Of an hourly model, a later run of the whole day replaced this hour too (and a later hour's run, part of this day: see partlyReplaced).
  const { start, end } = task.interval;
  return laterIntervalsOf(task, later).find((p) => p.intervalStart! <= start && p.intervalEnd! >= end);
}

/** A later publication of part of `task`'s interval alone (an hour of the day it rebuilds): rebuilt whole, the interval would put older rows over it. */
function partlyReplaced(task: Task, later: Later | undefined): LaterPublication | undefined {
  if (!later || task.interval === undefined || taskMaterialization(task.kind)?.intervals.per !== 'interval') return undefined;
  const { start, end } = task.interval;
  return laterIntervalsOf(task, later).find((p) => p.intervalStart! < end && p.intervalEnd! > start && !(p.intervalStart! <= start && p.intervalEnd! >= end));
}

/** The later publications of `task`'s model's intervals, of whatever length, where it writes; each with its interval. */
const intervalsKept = new WeakMap<Later, Map<string, LaterPublication[]>>();
function laterIntervalsOf(task: Task, later: Later): LaterPublication[] {
  let byNode = intervalsKept.get(later);
  if (!byNode) {
    byNode = new Map();
    for (const [key, p] of later.byTask) {
      if (p.intervalStart === undefined || p.intervalEnd === undefined) continue;
      const [id, relation] = key.split('\u0000');
      pushTo(byNode, laterKey(nodeOfTaskId(id), relation), p);
    }
    intervalsKept.set(later, byNode);
  }
  return byNode.get(laterKey(task.node, task.relation)) ?? byNode.get(task.node) ?? [];
}

/** The built nodes `node` reads: its upstream, through ephemeral models (which publish nothing). */
function builtInputs(analysis: Analysis, node: string): string[] {
  const out = new Set<string>();
  const walk = (name: string, seen: Set<string>) => {
    for (const u of analysis.nodes.get(name)?.upstream ?? []) {
      if (seen.has(u)) continue;
      seen.add(u);
      const n = analysis.nodes.get(u);
      if (n?.kind === 'model' && !isBuilt(n.config.kind)) walk(u, seen);
      else if (n && n.kind !== 'source') out.add(u);
    }
  };
  walk(node, new Set());
  return [...out];
}

/**
 * The built nodes `node` reads as it runs, each with the view it reads it through (undefined:
 * directly): a view reads its inputs when it is read, so what it reads is read too.
 */
function readThrough(analysis: Analysis, node: string): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  const walk = (name: string, via: string | undefined) => {
    for (const input of builtInputs(analysis, name)) {
      if (out.has(input) || input === node) continue;
      out.set(input, via);
      const n = analysis.nodes.get(input);
      if (n?.kind === 'model' && n.config.kind === 'view') walk(input, via ?? input);
    }
  };
  walk(node, undefined);
  return out;
}

function superseded(task: Task, later: Later | undefined, writtenSince: (node: string) => boolean, inputs: readonly string[], commands: RebuildCommands): Task {
  const by = laterOf(task, later);
  const part = by ? undefined : partlyReplaced(task, later);
  if (part) return { ...task, steps: [{ kind: 'refuse', message: partlyNewer(task, part, commands), location: { file: task.file } }] };
  if (!by) return task;
  // Its own earlier steps (a full refresh's reset, the date before) are no input of another node's.
  const missed = inputs.find((node) => node !== task.node && writtenSince(node));
  if (missed === undefined) return { ...task, noop: { reason: 'superseded', detail: supersededDetail(task, by, 'later') } };
  const asNew = task.interval !== undefined && by.intervalEnd !== undefined && task.interval.end >= by.intervalEnd;
  if (asNew || (task.sqlHash !== undefined && task.sqlHash === by.sqlHash)) return task;
  return { ...task, steps: [{ kind: 'refuse', message: missesRows(task, by, missed, commands), location: { file: task.file } }] };
}

function partlyNewer(task: Task, by: LaterPublication, commands: RebuildCommands): string {
  return `run ${by.runId} has rebuilt ${by.ds ?? 'part of this interval'} of ${task.node} since: retried, ${task.ds} would be built whole and put this run's older rows over it; ${commands.onDay(task.node, (task.ds ?? '').slice(0, 10))} rebuilds the whole interval as the project is now`;
}

function missesRows(task: Task, by: LaterPublication, missed: string, commands: RebuildCommands): string {
  const date = by.ds ?? undefined;
  return `${task.node} was published by run ${by.runId}${date ? ` for ${date}` : ''} before ${missed} was written, so that build misses it; rebuilding it for ${task.ds ?? 'this run'} would replace it with an older interval's query${date ? `: ${commands.onDay(task.node, date.slice(0, 10))} rebuilds it` : ''}`;
}

/** The commands a retry's messages give to build something by hand: with the run's pipeline and its --vars (a secret one left for the user to give again). */
type RebuildCommands = {
  /** Builds `nodes` for the run's own dates (or hour). */
  readonly asRun: (nodes: string) => string;
  /** Builds `node` for a whole day. */
  readonly onDay: (node: string, date: string) => string;
  /** Rebuilds `node` whole for the run's dates. */
  readonly refresh: (node: string) => string;
};

function rebuildCommands(params: OriginalParams, pipeline: string | undefined, intervals: readonly Interval[]): RebuildCommands {
  const shownVars = Object.fromEntries(Object.entries(params.vars).filter(([, v]) => !isFingerprint(v)));
  // A secret one's value is not stored: its place is shown for the user to fill in.
  const secrets = Object.keys(params.vars).filter((name) => isFingerprint(params.vars[name]));
  const withVars = (Object.keys(shownVars).length > 0 ? ` --vars ${shellQuote(jsonDumps(shownVars, { sortKeys: false }))}` : '') + secrets.map((name) => ` --var ${shellQuote(name)}=VALUE`).join('');
  const named = pipeline === undefined ? '' : ` ${shellQuote(pipeline)}`;
  const first = formatDate(intervals[0].start);
  const last = formatDate(intervals[intervals.length - 1].end - 1);
  const run = (rest: string) => `pipe run${named} ${rest}${withVars}`;
  const backfill = (rest: string) => `pipe backfill${named} ${rest}${withVars}`;
  return {
    asRun: (nodes) =>
      params.kind === 'backfill'
        ? backfill(`--select ${nodes} --start ${params.start} --end ${params.end}`)
        : run(`--select ${nodes} --date ${first}${params.hour !== undefined ? ` --hour ${params.hour}` : ''}`),
    onDay: (node, date) => run(`--select ${node} --date ${date}`),
    refresh: (node) => (params.kind === 'backfill' ? backfill(`--full-refresh --start ${first} --end ${last} --select ${node}`) : run(`--full-refresh --date ${last} --select ${node}`)),
  };
}

/**
 * A task the retry runs that reads a table or view (each build replaces it whole) which a later
 * run rebuilt since from another query than this run's (one that reads the date or a var, or
 * was edited): it would read that run's build, not what its own run read or would build, and
 * write a mix of the two runs. It fails saying which builds to make. One that reads a build of
 * the same query (newer rows) runs, as a run now would.
 */
function readsOtherBuild(
  tasks: readonly Task[],
  planned: readonly Task[],
  later: Later | undefined,
  analysis: Analysis,
  runId: string,
  build: (nodes: string) => string,
): Task[] {
  if (!later) return [...tasks];
  const writing = new Set(tasks.filter((t) => !t.noop).map((t) => t.node));
  const taskOf = new Map(planned.map((t) => [t.node, t]));
  return tasks.map((task) => {
    if (task.noop || task.steps.some((s) => s.kind === 'refuse')) return task;
    for (const [input, via] of readThrough(analysis, task.node)) {
      const its = taskOf.get(input);
      if (input === task.node || writing.has(input) || !its || !taskMaterialization(its.kind)?.replacesWhole) continue;
      const by = laterOf(its, later);
      if (by?.sqlHash === undefined || its.sqlHash === undefined || by.sqlHash === its.sqlHash) continue;
      const message =
        `${task.node} reads ${input}${via ? ` through ${via}` : ''}, which run ${by.runId} has rebuilt since${by.ds ? ` for ${by.ds}` : ''} from another query than run ${runId}'s${its.ds ? ` for ${its.ds}` : ''} ` +
        `(its query reads the date or a var, or was edited): retried, ${task.node} would read that build. ${build(`${input} ${task.node}`)} builds both as this run would`;
      return { ...task, steps: [{ kind: 'refuse', message, location: { file: task.file } }] };
    }
    return task;
  });
}

/**
 * The intervals of a full refresh's models, not swapped in yet, that a later run replaced
 * since: the retry stages the model's intervals and swaps them in whole, and one left as the
 * later run published it would be missing from the swapped-in table (or, rebuilt, hold this
 * run's version over the later one's).
 */
function refreshLosesLater(tasks: readonly Task[], swapped: ReadonlySet<string>, later: Later | undefined): { task: Task; by: LaterPublication }[] {
  return tasks.flatMap((task) => {
    const by = laterOf(task, later);
    return by && task.noop?.reason === 'superseded' && taskMaterialization(task.kind)?.intervals.per === 'interval' && !swapped.has(task.node) ? [{ task, by }] : [];
  });
}

function refreshLosesLaterError({ task, by }: { task: Task; by: LaterPublication }, runId: string, commands: RebuildCommands): Diagnostic {
  const rebuild = commands.refresh(task.node);
  const unit = task.ds?.includes('T') ? 'hour' : 'date';
  return error(
    'retry-refresh-superseded',
    `${task.node}: run ${by.runId} replaced its ${unit} ${task.ds} after run ${runId} began a full refresh of it, which is not swapped in yet: retrying the refresh would swap in a table without that ${unit}, or with run ${runId}'s version of it over the newer one`,
    { file: task.file },
    { hint: `rebuild the whole range as the project is now: ${rebuild}` },
  );
}

/**
 * The project as the run saw it: on the dbt profile's target it built on (a `--target` other
 * than that is refused: a retry builds where its run built), its profile rendered with the
 * run's --var values (a schema may read one). Opened again only when those differ from the
 * command's; a target whose warehouse is not the one the run is recorded in is refused.
 */
function projectOfRun(project: Project, options: RetryOptions, runId: string, params: OriginalParams, vars: Readonly<Record<string, unknown>>): Project {
  const target = params.target;
  if (target !== undefined && options.target !== undefined && options.target !== target) {
    throw new DiagnosticError([
      error('bad-option', `--target ${options.target}: run ${runId} built on target ${target}, and pipe retry builds where its run built`, undefined, { hint: `pipe retry ${runId}, without --target` }),
    ]);
  }
  // The --var values as the run was given them (a secret one's value given again), which its profile was rendered with.
  const given = Object.fromEntries(Object.keys(params.vars).map((name) => [name, vars[name]]));
  const sameTarget = target === undefined || target === project.settings.targetName;
  if (sameTarget && JSON.stringify(given) === JSON.stringify(options.vars ?? {})) return project;
  const reopened = openProject({ ...options, target: target ?? options.target, vars: given });
  if (reopened.warehousePath !== project.warehousePath) {
    throw new DiagnosticError([
      error('bad-option', `run ${runId} is recorded in ${project.warehousePath}, but its target${target === undefined ? '' : ` ${target}`} builds in ${reopened.warehousePath} now`, undefined, {
        hint: 'its profile changed since: give --target (or --db) so that pipe retry opens the warehouse the run built in',
      }),
    ]);
  }
  return reopened;
}

/**
 * The project with the selectors of selectors.yml as its run read the file (none where it had
 * none): `--selector`, a pipeline's `selector:` and the default selector select as they did,
 * whatever the file says now. A run of an earlier version, which did not record them, reads the file.
 */
function withRunSelectors(project: Project, params: OriginalParams): Project {
  if (params.selectors_yml === undefined) return project;
  const yaml = params.selectors_yml === null ? undefined : yamlSource('selectors.yml', params.selectors_yml, new Map());
  return { ...project, selectors: readSelectorDefinitions(yaml, []) };
}

/**
 * A full-refresh backfill is retried model by model: a model whose swap committed is done
 * (what reads it reads its published table); one whose swap has not committed runs again
 * whole, reset, every date and swap, even the dates that succeeded. Its staging table may be
 * gone (crash recovery drops pipe's staging tables) or hold an attempt's partial rows, and a
 * swap must never publish a partial history.
 */
function fullRefreshState(analysis: Analysis, remaining: ReadonlySet<string>) {
  const unswapped = (name: string) => remaining.has(fullRefreshTaskIds(name).swap);
  const swapped = new Set(
    [...analysis.nodes.values()].flatMap((n) => (n.kind === 'model' && perInterval(n.config) && !unswapped(n.name) ? [n.name] : [])),
  );
  return {
    swapped,
    /** What the retry runs: the remaining tasks, and every task of a model not swapped in. */
    rebuildWhole: (tasks: readonly Task[]): Set<string> =>
      new Set([...remaining, ...tasks.flatMap((t) => (taskMaterialization(t.kind)?.intervals.per === 'interval' && unswapped(t.node) ? [t.id] : []))]),
  };
}

/**
 * `pipe retry`: re-runs the failed, skipped, cancelled and never-started tasks of a run, with
 * its dates, vars and selection, as a new run linked to it. Succeeded tasks are not re-run.
 */
export async function retry(options: RetryOptions): Promise<RetryOutcome> {
  const project = openProject(options);
  const wait = heldWait(options);
  const found = await findTarget(project.warehousePath, project.warehouseSetup, options.runId, wait);
  const { run } = found;
  if (!run) return { nothingToDo: 'nothing to retry: no run is unfinished (a pipe test is retried only when named: pipe retry RUN_ID)' };
  if (found.remaining.size === 0) return { nothingToDo: allDone(run) };

  const stored = parseStoredParams(run);
  const params = firstRunOf(stored);
  const pipeline = run.pipeline ?? undefined;
  const inFiles = { ...project.settings.vars, ...((pipeline && project.pipelines.get(pipeline)?.vars) ?? {}) };
  const vars = retryVars(run.run_id, params.resolved_vars ?? params.vars, options.vars ?? {}, inFiles);
  const ofRun = withRunSelectors(projectOfRun(project, options, run.run_id, params, vars), params);

  const intervals =
    params.kind === 'backfill'
      ? backfillIntervals(params.start, params.end, params.interval)
      : [params.hour !== undefined ? hourInterval(parseDate(params.ds)! + params.hour * HOUR_MS) : dayInterval(parseDate(params.ds)!)];

  const runId = newRunId();
  const distributed = options.distributed ? await Distributed.open(ofRun, options.distributed, 'pipe retry --distributed') : undefined;
  let prepared: Prepared;
  try {
    prepared = await prepare(
      {
        project: options.project,
        db: options.db,
        pipeline,
        vars,
        // The run's vars as they resolved then, whole: one it had none of (its default read) stays so, whatever the files say now.
        varsAsRun: params.resolved_vars !== undefined,
        packageVarsAsRun: retryPackageVars(params.resolved_package_vars, vars),
        select: params.select,
        exclude: params.exclude,
        selector: params.selector,
        pipelineSelection: params.pipeline_selection,
        interval: intervals[0],
        wait,
        // Its tests keep their failing rows as the run's did (--store-failures).
        invocation: { id: runId, startedAt: Date.now(), ...(params.kind !== 'backfill' && params.store_failures ? { storeFailures: true } : {}) },
        resultsBefore: run.run_id,
        selectedByRun: true,
      },
      ofRun,
    );
  } catch (e) {
    await distributed?.close();
    throw storedSelectionGone(e, run.run_id, params);
  }
  // Another retry of the run may have ended while this one waited for the warehouse: what is
  // left is read again now that this process holds it, so that no task is run twice (an
  // append's rows refused as held, the run's retry told as failed).
  const { remaining, plannedHashes, later, written } = prepared.warehouse ? await prepared.warehouse.engine.withSession((s) => targetOf(s, run)) : found;
  if (remaining.size === 0) {
    letGoUnused(prepared);
    await distributed?.close();
    return { nothingToDo: `${allDone(run)}, while this one waited for the warehouse` };
  }
  const fullRefresh = params.kind !== 'test' && params.full_refresh;
  // A run's --full-refresh stages a model's batches and swaps them in, as a backfill's does.
  const refresh = fullRefresh ? fullRefreshState(prepared.analysis, remaining) : undefined;
  const ctx = {
    ...planContext(prepared, runId, fullRefresh, params.kind !== 'test' && params.force === true),
    refreshed: refresh?.swapped,
    retryBatches: remainingBatches(remaining),
    ...(params.kind === 'run' || params.kind === 'watch' ? { eventTime: storedEventTime(params) } : {}),
  };
  const full =
    params.kind === 'backfill'
      ? planBackfill(params.ignore_dependencies_on_past ? ctx : await withPast(ctx, prepared, intervals), intervals, params.order)
      : params.kind === 'test'
        ? planTest(ctx, intervals[0], testFilter(params.select, ctx.analysis))
        : planRun(params.ignore_dependencies_on_past ? ctx : await withPast(ctx, prepared, intervals[0]), intervals[0]);
  const planned = refresh ? refresh.rebuildWhole(full.tasks) : remaining;
  // A model built another way since (per date before, once per backfill now, or the other way
  // round) has other tasks: its tasks as it is now stand for those the run left undone.
  const rebuilt = rebuiltAnotherWay(full.tasks, planned);
  const todo = rebuilt.size === 0 ? planned : new Set([...planned, ...[...rebuilt.values()].flat()]);
  const commands = rebuildCommands(params, pipeline, intervals);
  const build = commands.asRun;
  const tasks = readsOtherBuild(withSuperseded(onlyRemaining(full.tasks, todo), later, written, prepared.analysis, commands), full.tasks, later, prepared.analysis, run.run_id, build);
  const lost = refresh ? refreshLosesLater(tasks, refresh.swapped, later) : [];
  if (lost.length > 0) {
    letGoUnused(prepared);
    await distributed?.close();
    throw new DiagnosticError(lost.map((t) => refreshLosesLaterError(t, run.run_id, commands)));
  }
  if (rebuilt.size > 0) {
    options.emit({
      type: 'notice',
      message: `built another way since run ${run.run_id} planned them, and retried as they are now: ${[...rebuilt].map(([node, ids]) => `${node} (${ids.join(', ')})`).join('; ')}`,
    });
  }
  // The retry builds the project as it is now: a model edited since the run planned its task
  // is said, so that a retry of one date of a backfill is not taken for the run's own SQL.
  const changed = [...new Set(tasks.filter((t) => !t.noop && !t.renderAtRun && t.sqlHash !== undefined && plannedHashes?.has(t.id) && plannedHashes.get(t.id) !== t.sqlHash).map((t) => t.node))];
  if (changed.length > 0) {
    options.emit({
      type: 'notice',
      // A full refresh's retry builds every date of a model not swapped in yet: none keeps the run's version.
      message: `changed since run ${run.run_id} planned them, and retried as they are now: ${changed.join(', ')}${params.kind === 'backfill' && !params.full_refresh ? "; the dates that run built keep that run's version (pipe status shows them)" : ''}`,
    });
  }
  const retrying = new Set(tasks.map((t) => t.id));
  const missing = [...remaining].filter((id) => !retrying.has(id) && !rebuilt.has(nodeOfTaskId(id)));
  if (tasks.length === 0) {
    // Nothing of the run is left to build: no run is recorded, and the run stays as it ended (not retried).
    letGoUnused(prepared);
    await distributed?.close();
    return { nothingToDo: `nothing to retry: what run ${run.run_id} left undone is no longer in the project or its selection (${missing.join(', ')}); pipe run or pipe backfill builds what is there now` };
  }
  if (missing.length > 0) {
    options.emit({
      type: 'notice',
      message: `not retried, no longer in the project or its selection: ${missing.join(', ')}`,
    });
  }
  const notRebuilt = params.kind === 'test' || !prepared.warehouse ? [] : await prepared.warehouse.engine.withSession((s) => changedAbove(s, tasks, full.tasks, todo));
  if (notRebuilt.length > 0) {
    const shown = notRebuilt.slice(0, SHOWN_CHANGED);
    const more = notRebuilt.length - shown.length;
    options.emit({
      type: 'notice',
      message:
        `not current, and not rebuilt by this retry (it builds only what run ${run.run_id} left undone): ${shown.map((c) => `${c.node} (${c.why})`).join('; ')}${more > 0 ? `; and ${more} more` : ''}. ` +
        `What the retry builds reads them as they are; ${build(notRebuilt.map((c) => `${c.node}+`).join(' '))} rebuilds them and what reads them instead`,
    });
  }
  // A model edited since to read one the run did not build: its task would fail on a table that is not there.
  // (A test reads only its own model, which a test of a model not built fails on its own.)
  const retried = params.kind === 'test' ? [] : [...new Set(tasks.filter((t) => !t.noop).map((t) => t.node))].flatMap((name) => prepared.analysis.nodes.get(name) ?? []);
  const unbuiltAs = (builtByRun: ReadonlySet<string>) =>
    missingUpstream(ctx, retried, {
      why: `not part of run ${run.run_id}`,
      gone: (upstream) => (builtByRun.has(upstream) ? `run ${run.run_id} built, but the warehouse no longer holds (dropped since)` : undefined),
      hint: (_model, upstream) => `build it first (${build(upstream)}), then pipe retry ${run.run_id}`,
    });
  let unbuilt = unbuiltAs(new Set());
  // Something is missing: what the run built, and the warehouse lost since (a table dropped by hand), is said so.
  if (unbuilt.length > 0 && prepared.warehouse) unbuilt = unbuiltAs(await prepared.warehouse.engine.withSession((s) => nodesBuiltBy(s, run.run_id)));
  const threads = resolveThreads({
    flag: options.threads ?? params.threads,
    pipeline: prepared.pipeline,
    settings: prepared.analysis.settings,
    parallel: params.kind === 'backfill' ? params.parallel : undefined,
  });
  const last = intervals[intervals.length - 1];
  const launchOptions: LaunchOptions = {
    runId,
    pipeline,
    params: { kind: 'retry', of: params, retry_of: run.run_id },
    parentRunId: run.run_id,
    // The plan's own refusal of those refs says to select them, which a retry cannot: said once, in a retry's terms.
    plan: { tasks, diagnostics: [...full.diagnostics.filter((d) => d.code !== 'upstream-not-built' || !unbuilt.some((u) => sameSite(u, d))), ...unbuilt] },
    // A retry is a run of its own: dbt_project.yml's run hooks run again, as for any dbt invocation.
    ...(params.kind === 'run' || params.kind === 'backfill' ? { runHooks: { interval: last, fullRefresh: fullRefresh === true } } : {}),
    threads,
    emit: options.emit,
    signal: options.signal,
    header: {
      // A run of one hour (an hourly pipeline's, --hour) is said by its hour, as its tasks are.
      ds: params.kind === 'backfill' ? new Date(last.start).toISOString().slice(0, 10) : intervalLabel(last),
      dateIsDefault: false,
      start: params.kind === 'backfill' ? params.start : undefined,
      end: params.kind === 'backfill' ? params.end : undefined,
      retryOf: run.run_id,
    },
    execute:
      params.kind === 'backfill'
        ? {
            parallel: params.parallel,
            maxFailures: params.max_failures ?? undefined,
            retryOverride: params.retries
              ? { retries: params.retries, delayMs: DEFAULT_RETRY_DELAY_MS, maxDelayMs: DEFAULT_MAX_DELAY_MS }
              : NO_RETRIES,
            force: fullRefresh || params.force === true,
          }
        : { force: fullRefresh || (params.kind !== 'test' && params.force === true) },
    retryCommand: retryCommandFor(options),
    pipeCommand: pipeCommandFor(options),
  };
  return distributed ? distributed.launch(prepared, launchOptions) : launch(prepared, launchOptions);
}

/**
 * The intervals of each model's remaining tasks (`name@2024-01-02`, `name@2024-01-02T13`): a
 * retry re-runs a microbatch model's batches as its run planned them (a first build's, from
 * its begin), though its table exists now.
 */
function remainingBatches(remaining: ReadonlySet<string>): Map<string, Interval[]> {
  const out = new Map<string, Interval[]>();
  for (const id of remaining) {
    const node = nodeOfTaskId(id);
    const interval = node !== id ? parseIntervalLabel(id.slice(node.length + 1)) : undefined;
    if (interval) pushTo(out, node, interval);
  }
  return out;
}

/** The event-time range a run recorded (see eventTimeParams). */
function storedEventTime(params: RunParams): Interval | undefined {
  const [start, end] = [params.event_time_start, params.event_time_end].map((t) => (t === undefined ? undefined : parseTimestamp(t)));
  return start !== undefined && end !== undefined ? { start, end } : undefined;
}

/** Why a run has nothing to retry: its tasks all succeeded, in it or in its retries. */
function allDone(run: RunRow): string {
  // Superseded tasks count as done: a later run published what they would have.
  return `nothing to retry: every task of run ${run.run_id} is done (succeeded, or superseded by a later run)${run.status === 'succeeded' ? '' : ', those it left undone in a retry of it'}`;
}

/** What a run repeats: its own parameters, or, for a retry, those of the first run of its family. */
function firstRunOf(p: StoredParams): OriginalParams {
  switch (p.kind) {
    case 'retry':
      return p.of;
    case 'run':
    case 'watch':
    case 'test':
    case 'backfill':
      return p;
    default: {
      const never: never = p;
      throw new Error(`internal error: stored params ${JSON.stringify(never)}`);
    }
  }
}

/**
 * A retry selects what its run selected: when that selection names what the project no longer
 * has (a model deleted since), its error says it is the run's stored selection, and what to do.
 */
function storedSelectionGone(e: unknown, runId: string, params: { readonly select?: readonly string[]; readonly exclude?: readonly string[]; readonly selector?: string }): unknown {
  if (!(e instanceof DiagnosticError) || !e.diagnostics.some((d) => d.code === 'unknown-selector')) return e;
  const given = [
    ...(params.select?.length ? [`--select ${params.select.join(' ')}`] : []),
    ...(params.exclude?.length ? [`--exclude ${params.exclude.join(' ')}`] : []),
    ...(params.selector !== undefined ? [`--selector ${params.selector}`] : []),
  ].join(' ');
  return new DiagnosticError(
    e.diagnostics.map((d) =>
      d.code === 'unknown-selector'
        ? { ...d, message: `run ${runId} was selected with ${given || 'its pipeline'}, which pipe retry selects again: ${d.message}`, hint: 'the project no longer has it: run pipe run or pipe backfill with a selection of what is there (pipe history shows the run\'s dates)' }
        : d,
    ),
  );
}

/** Two diagnostics at the same place of the same file. */
function sameSite(a: Diagnostic, b: Diagnostic): boolean {
  return a.location !== undefined && b.location !== undefined && a.location.file === b.location.file && a.location.line === b.location.line && a.location.column === b.location.column;
}
