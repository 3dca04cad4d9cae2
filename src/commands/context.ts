import { basename, extname } from 'node:path';
import { existsSync } from 'node:fs';
import type { Invocation } from '../analyze/jinja/surface.js';
import formatDuration from 'ms';
import { analyze, saidOfBuilt, type Analysis, type AnalysisCache } from '../analyze/analyze.js';
import type { TemplateCodeCache } from '../analyze/template-code-cache.js';
import { error, hasErrors, DiagnosticError, type Diagnostic } from '../diagnostics/diagnostics.js';
import { validateSettings, type Pipeline, type ValidatedSettings } from '../analyze/project-settings.js';
import { didYouMean } from '../diagnostics/suggest.js';
import { dayInterval, defaultRunDate, parseDate, systemClock, type Clock, type Interval } from '../dates/dates.js';
import type { EventSink } from '../events/events.js';
import type { WarehouseLockedError } from '../warehouse/warehouse.js';
import { chooseSelection, mayBuild, pythonModelsBuilt, type Broken, type BuildResults, type Chosen } from './choose-selection.js';
import type { NodeState } from '../graph/selection-spec.js';
import type { ProjectFiles } from '../project/load-project.js';
import { Engine, type EngineHandle, type HeldWait, type OpenOptions } from '../execute/engine.js';
import { LEND_WAIT_MS } from '../warehouse/duckdb/duckdb-warehouse.js';
import { Catalog, readCatalog } from '../warehouse/run-state.js';
import type { PipelineSelection } from './stored-params.js';

/** Options every command shares. */
export interface ProjectOptions {
  /** Project directory; default the current directory. */
  readonly project?: string;
  /** Warehouse file; default `warehouse` in pipe.yaml, else the dbt profile target's `path`, else `warehouse.duckdb` in the project. */
  readonly db?: string;
  /** A dbt project's `--profiles-dir`: the folder of profiles.yml. */
  readonly profilesDir?: string;
  /** A dbt project's `--target`: the target of its profile to run on. */
  readonly target?: string;
  /** The vars of the command line: a dbt profile's var() reads them. */
  readonly vars?: Readonly<Record<string, unknown>>;
  readonly clock?: Clock;
}

export interface SelectionOptions {
  readonly pipeline?: string;
  readonly select?: readonly string[];
  readonly exclude?: readonly string[];
  /** A selector of selectors.yml, by name: what to select instead of `select`. */
  readonly selector?: string;
  readonly vars?: Readonly<Record<string, unknown>>;
  /** The pipeline's selection as a run recorded it, instead of what its file says now (pipe retry). */
  readonly pipelineSelection?: PipelineSelection;
  /** `pipe test`'s selection (see SelectionRequest.tests). */
  readonly tests?: boolean;
  /** A selection to build, `pipe run`'s or `pipe backfill`'s (see SelectionRequest.building). */
  readonly building?: boolean;
}

/** What run, backfill and retry do while another process holds the warehouse. */
export interface WaitOptions {
  /** How long to wait for it, in milliseconds; 0 (the default) fails at once. */
  readonly waitMs?: number;
  /** Stops the waiting. */
  readonly signal?: AbortSignal;
  readonly emit?: EventSink;
}

/** The `--wait` of the command line. */
export const DEFAULT_WAIT = '5s';

/** One command's waiting: who holds the warehouse is told once, however often it opens it. */
export function heldWait(options: WaitOptions): HeldWait {
  let told = false;
  const limit = options.waitMs ?? 0;
  return {
    ms: limit,
    signal: options.signal,
    onHeld: (held) => {
      if (told) return;
      told = true;
      options.emit?.({ type: 'notice', message: `${held.inUse}; waiting up to ${formatDuration(limit, { long: true })} for it`, waitsFor: 'warehouse' });
    },
    onLent: (held) => {
      if (told) return;
      told = true;
      lentNotice(options.emit)(held);
    },
  };
}

/** What a command waiting for a process that lends the warehouse (pipe watch --keep-open, building) says of the wait (see OpenOptions.onLent). */
export function lentNotice(emit: EventSink | undefined): (held: WarehouseLockedError) => void {
  return (held) =>
    emit?.({ type: 'notice', message: `${held.inUse}, which lends it: asked for it, waiting up to ${formatDuration(LEND_WAIT_MS, { long: true })} for it to let go (at the end of its build in progress)`, waitsFor: 'warehouse' });
}

/** `--date`, or yesterday by the clock. */
export function resolveInterval(date: string | undefined, clock: Clock = systemClock): { interval: Interval; isDefault: boolean } {
  if (date === undefined) return { interval: dayInterval(defaultRunDate(clock)), isDefault: true };
  const ms = parseDate(date);
  if (ms === undefined) {
    throw new DiagnosticError([error('bad-date', `invalid --date '${date}': expected a calendar date as YYYY-MM-DD, from 0100-01-01 to 9999-12-30`)]);
  }
  return { interval: dayInterval(ms), isDefault: false };
}

/**
 * Opens the warehouse only if its file exists, to read what is in it; waits for it as `wait`
 * says (by default not at all).
 */
export async function catalogIfExists(
  path: string,
  options: OpenOptions = {},
  wait: HeldWait = { ms: 0 },
): Promise<{ warehouse?: EngineHandle; catalog: Catalog }> {
  if (!existsSync(path)) return { catalog: new Catalog() };
  const warehouse = await Engine.openWhenFree(path, options, wait);
  try {
    const session = await warehouse.session();
    try {
      return { warehouse, catalog: await readCatalog(session) };
    } finally {
      session.close();
    }
  } catch (e) {
    warehouse.close();
    throw e;
  }
}

export interface Analyzed {
  readonly analysis: Analysis;
  readonly selected: ReadonlySet<string>;
  /** See Chosen.excluded. */
  readonly excluded?: ReadonlySet<string>;
  /** See Chosen.excludedSeeds. */
  readonly excludedSeeds?: ReadonlySet<string>;
  /** The selector of selectors.yml with `default: true`, when nothing else said what to select. */
  readonly defaultSelector?: string;
  /** What selection says before the command starts (see Chosen.notes). */
  readonly notes: readonly string[];
  /** The errors that keep a node this command does not build from being built, told as warnings (see unblocked). */
  readonly unbuilt: readonly Diagnostic[];
  /** The nodes those errors keep from being built, each with its first error as it stands: a command that shows a node (compile) leaves them out, and refuses one named. */
  readonly leftOut: ReadonlyMap<string, Diagnostic>;
  /** The selection has a `result:` term (see Chosen.readsResults). */
  readonly readsResults: boolean;
  /**
   * The same analysis, selected with these latest builds: what a command that reads them only
   * for a `result:` term calls once it knows there is one (the history is not read otherwise).
   */
  readonly withBuilds: (builds: BuildResults) => Analyzed;
  /**
   * Set when the selection has `state:` terms, which read the warehouse: the selection made
   * with the nodes' states (see assess-coverage.ts), with the notes it adds. `selected` is
   * then not the answer.
   */
  readonly withStates?: (states: ReadonlyMap<string, ReadonlySet<NodeState>>) => { readonly selected: Set<string>; readonly notes: readonly string[] };
}

/** The last selection made with an analysis cache (see `choose`). */
const lastChosen = new WeakMap<AnalysisCache, { readonly analysis: Analysis; readonly request: string; readonly builds: BuildResults | undefined; readonly chosen: Chosen }>();

/**
 * The selection of `options`. With a cache whose analysis took only the saved models again
 * (no node's config, file or upstream changed), the last selection of the same request is the
 * answer, unless it reads the latest builds and those are others now.
 */
function choose(analysis: Analysis, validated: ValidatedSettings, options: SelectionOptions & { builds?: BuildResults }, pipeline: Pipeline | undefined, broken: Broken, cache: AnalysisCache | undefined): Chosen {
  const request = JSON.stringify([options.pipeline, options.select, options.exclude, options.selector, options.pipelineSelection, [...broken.names], broken.files, options.building === true]);
  const last = cache && lastChosen.get(cache);
  if (last && cache.reusedFrom === last.analysis && last.request === request && (!last.chosen.readsResults || last.builds === options.builds)) {
    lastChosen.set(cache, { ...last, analysis });
    return last.chosen;
  }
  const chosen = chooseSelection(analysis, validated, options, pipeline, broken, options.builds);
  if (cache) lastChosen.set(cache, { analysis, request, builds: options.builds, chosen });
  return chosen;
}

/**
 * An error that keeps one node from being built (Diagnostic.blocks), told as a warning to a
 * command that builds without that node; every other diagnostic as it is.
 */
export function unblocked({ blocks, ...d }: Diagnostic): Diagnostic {
  const names = blocks ?? [];
  const left = names.length === 1 ? `${names[0]} is` : names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more are` : `${names.slice(0, -1).join(', ')} and ${names.at(-1)} are`;
  return { ...d, severity: 'warning', message: `${d.message}; ${left} left out of what this command builds` };
}

/** Analysis plus selection; throws every diagnostic at once if anything is wrong. */
export function analyzeAndSelect(
  files: ProjectFiles,
  options: SelectionOptions & {
    interval: Interval;
    existingRelations?: { has(relation: string): boolean };
    fullRefresh?: boolean;
    validated?: ValidatedSettings;
    invocation?: Invocation;
    /** How the nodes' latest builds ended, for `result:`. */
    builds?: BuildResults;
    /** The command reads the warehouse and can select by `state:` (see Analyzed.withStates); else such a selection is refused. */
    stateSelection?: boolean;
    /** Compiled templates kept between processes (see templateCacheOf). */
    templateCache?: TemplateCodeCache;
    /** The command builds no node (run-operation): an error that keeps one node from being built is only told. */
    buildsNothing?: boolean;
    /** `vars` are a run's whole root vars (a retry's): see AnalyzeOptions.varsAsRun. */
    varsAsRun?: boolean;
    /** With varsAsRun: its packages' nodes' vars (see AnalyzeOptions.packageVarsAsRun). */
    packageVarsAsRun?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  },
  cache?: AnalysisCache,
): Analyzed {
  const diagnostics: Diagnostic[] = [];
  const pipelineNames = files.pipelines.map((p) => p.name);
  if (options.pipeline !== undefined && !pipelineNames.includes(options.pipeline)) {
    // Its file is there but could not be read (not YAML, not a mapping): that is what to say.
    const unread = files.diagnostics.filter((d) => d.severity === 'error' && /^pipelines\/[^/]+\.ya?ml$/.test(d.location?.file ?? '') && basename(d.location!.file, extname(d.location!.file)) === options.pipeline);
    if (unread.length > 0) throw new DiagnosticError(unread);
    const hint = didYouMean(options.pipeline, pipelineNames);
    // `pipe run orders` for a model: the argument names a pipeline, --select the models.
    const node = [...files.models, ...files.seeds].some((n) => n.name === options.pipeline);
    throw new DiagnosticError([
      error('unknown-pipeline', `no pipeline named '${options.pipeline}' in pipelines/`, undefined, {
        hint: node
          ? `${options.pipeline} is a model or seed of the project: pipe run --select ${options.pipeline} builds it (the argument of pipe run names a pipeline)`
          : (hint ?? (pipelineNames.length ? `pipelines: ${pipelineNames.join(', ')}` : 'there are no pipeline files in pipelines/')),
      }),
    ]);
  }
  const validated = options.validated ?? validateSettings(files);
  const analysis = analyze(files, {
    interval: options.interval,
    pipeline: options.pipeline,
    vars: options.vars,
    ...(options.varsAsRun ? { varsAsRun: true, ...(options.packageVarsAsRun ? { packageVarsAsRun: options.packageVarsAsRun } : {}) } : {}),
    existingRelations: options.existingRelations,
    fullRefresh: options.fullRefresh,
    validated,
    // What invocation_args_dict tells of the selection.
    invocation: options.invocation && { ...options.invocation, selection: { select: options.select, exclude: options.exclude, selector: options.selector } },
    templateCache: options.templateCache,
  }, cache);
  diagnostics.push(...analysis.diagnostics);
  // Nothing of a project whose dbt_project.yml could not be read was: a selection matching nothing there says nothing true.
  if (files.unread && hasErrors(diagnostics)) throw new DiagnosticError(diagnostics);
  const filed = options.pipeline ? analysis.pipelines.get(options.pipeline) : undefined;
  const pipeline = filed && options.pipelineSelection ? { ...filed, ...options.pipelineSelection } : filed;
  // A model whose file has errors, or that was left out, is missing from the graph; its errors already say why.
  const missing = hasErrors(analysis.diagnostics) ? [...files.models, ...files.snapshots].filter((m) => !analysis.nodes.has(m.name)) : [];
  const broken: Broken = {
    names: new Set([...missing.map((m) => m.name), ...(files.leftOut ?? [])]),
    files: [...missing.map((m) => m.file), ...(files.pythonModels ?? []).map((m) => m.file)],
  };
  const selectedWith = (builds: BuildResults | undefined): Analyzed => {
    const chosen = choose(analysis, validated, { ...options, builds }, pipeline, broken, cache);
    const found = [...diagnostics, ...chosen.diagnostics];
    const blocked = found.filter((d) => d.blocks !== undefined);
    const built = blocked.length > 0 && !options.buildsNothing ? new Set([...mayBuild(analysis, chosen.selected, chosen.excludedSeeds), ...pythonModelsBuilt(files.pythonModels ?? [], validated, options, pipeline, analysis)]) : new Set<string>();
    // Told as a warning only when the command builds none of the nodes it stops (a folder's config stops all of its models).
    const unbuilt = new Set(blocked.filter((d) => !d.blocks!.some((n) => built.has(n))));
    if (chosen.needsState && !options.stateSelection) {
      found.push(
        error('state-needs-warehouse', 'the state: method selects by what the warehouse records, and this command does not read the warehouse', undefined, {
          hint: 'select by state: with pipe status, run, backfill, compile, test, ls or dag',
        }),
      );
    }
    const told = found.map((d) => (unbuilt.has(d) ? unblocked(d) : d.blocks !== undefined ? saidOfBuilt(d, built) : d));
    if (hasErrors(told)) throw new DiagnosticError(told);
    const withStates = (states: ReadonlyMap<string, ReadonlySet<NodeState>>) => {
      const again = chooseSelection(analysis, validated, options, pipeline, broken, builds, states);
      if (hasErrors(again.diagnostics)) throw new DiagnosticError(again.diagnostics);
      const builtNow = mayBuild(analysis, again.selected, chosen.excludedSeeds);
      const blocking = diagnostics.filter((d) => d.blocks !== undefined && d.blocks.some((n) => builtNow.has(n))).map((d) => saidOfBuilt(d, builtNow));
      if (blocking.length > 0) throw new DiagnosticError(blocking);
      return { selected: again.selected, notes: again.notes.filter((n) => !chosen.notes.includes(n)) };
    };
    return {
      analysis,
      selected: chosen.selected,
      ...(chosen.excluded ? { excluded: chosen.excluded } : {}),
      ...(chosen.excludedSeeds ? { excludedSeeds: chosen.excludedSeeds } : {}),
      defaultSelector: chosen.defaultSelector,
      notes: chosen.notes,
      unbuilt: [...unbuilt].map(unblocked),
      leftOut: new Map([...unbuilt].reverse().flatMap(({ blocks, ...d }) => blocks!.map((n) => [n, d] as const))),
      readsResults: chosen.readsResults,
      withBuilds: selectedWith,
      ...(chosen.needsState ? { withStates } : {}),
    };
  };
  return selectedWith(options.builds);
}

/**
 * What a command that analyzed the project tells before its own output: the analysis's
 * warnings (the notice of what pipe does not use among them) and the default selector it used.
 */
export function emitAnalysisNotes({ analysis, defaultSelector, notes, unbuilt }: Analyzed, emit: EventSink | undefined): void {
  for (const d of analysis.diagnostics) if (d.severity === 'warning') emit?.({ type: 'diagnostic', diagnostic: d });
  for (const d of unbuilt) emit?.({ type: 'diagnostic', diagnostic: d });
  // What the templates said with log(msg, info=True) and print(msg), as dbt prints it.
  for (const message of analysis.messages) emit?.({ type: 'notice', message });
  if (defaultSelector !== undefined) emit?.({ type: 'notice', message: `selecting with the default selector of selectors.yml: ${defaultSelector}` });
  for (const message of notes) emit?.({ type: 'notice', message });
}
