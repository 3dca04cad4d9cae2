import { relative, sep } from 'node:path';
import { AnalysisCache, type Analysis, type ModelNode, type SeedNode } from '../analyze/analyze.js';
import { DiagnosticError } from '../diagnostics/diagnostics.js';
import { analyzeAndSelect, emitAnalysisNotes, type ProjectOptions, type SelectionOptions } from '../commands/context.js';
import { openProject, templateCacheOf, type Project } from '../commands/open-project.js';
import { readBuildResults } from '../commands/build-results.js';
import { resolveThreads } from '../commands/threads.js';
import { launch, newRunId, openFor, pipeCommandFor, planContext, retryCommandFor } from '../commands/lifecycle.js';
import { Engine, type EngineHandle, type OpenOptions } from '../execute/engine.js';
import { onRequest, type Requests } from '../warehouse/duckdb/hand-over.js';
import { WarehouseLockedError } from '../warehouse/warehouse.js';
import type { WarehouseSetup } from '../warehouse/warehouse-setup.js';
import { dateVariables, type Interval } from '../dates/dates.js';
import type { EventSink } from '../events/events.js';
import { downstreamClosure } from '../graph/graph.js';
import { isBuilt, NO_TABLE } from '../plan/materializations.js';
import { planRun } from '../plan/plan.js';
import { trackedConfigHash } from '../plan/task-tracking.js';
import type { CachedFs } from '../project/project-fs.js';
import { readCatalog, Catalog, type RelationType } from '../warehouse/run-state.js';
import { readRelationsOf } from '../warehouse/relations-of.js';
import { fileStamp } from '../warehouse/file-stamp.js';
import type { BuildResults } from '../commands/choose-selection.js';
import type { Changes } from './watch-machine.js';


/** Problems of watch's command line (a selection by state:, which watch cannot read), not of the project's files. */
const COMMAND_LINE_PROBLEMS: ReadonlySet<string> = new Set(['state-needs-warehouse', 'bad-option', 'selection-conflict']);
/**
 * One build of `pipe watch`: read the project again, work out what the saved files change,
 * and build that and everything downstream of it with the same atomic writes as `pipe run`.
 * The last analysis that got through is kept, to compare the next one with.
 *
 * What a build needs of the warehouse (its tables, the seeds loaded, how the latest builds
 * ended) is kept too, with the file's stamp (see file-stamp.ts) as watch let go of it: a save
 * whose stamp is unchanged is analyzed without opening the file, and the file is opened only
 * to build. A stamp that differs, before opening or once the file is held, means another
 * process wrote to it: what is known is read again under the lock and the save analyzed
 * again, so a build never plans from what the warehouse held before another process changed it.
 */

export interface BuildOptions extends ProjectOptions, SelectionOptions {
  readonly date?: string;
  readonly threads?: number;
  readonly emit: EventSink;
  /** Ends the build: a run in flight is interrupted and rolled back, a wait for the warehouse given up. */
  readonly signal: AbortSignal;
  /**
   * Keep the warehouse file open between builds, lending it to any pipe command that asks
   * (see hand-over.ts): a save does not wait for the file to open (about half a second at
   * 10,000 tables), and tools other than pipe cannot open the file while watch runs.
   */
  readonly keepOpen?: boolean;
}

/** Files under models/ name a model (`x.sql` or its `x.yaml`); seeds name a seed; anything else affects everything. */
function nodeOfFile(file: string): string | undefined {
  const m = /^(models\/.*\/|models\/|seeds\/)([^/]+)\.(sql|ya?ml|csv)$/.exec(file);
  return m ? m[2] : undefined;
}

/** What a build reads of the warehouse, as read under its lock. */
interface Known {
  readonly dbPath: string;
  readonly setup: WarehouseSetup;
  /** The file's stamp with nothing written since the read; none for a lake, which other processes write while watch does. */
  readonly stamp: string | undefined;
  readonly catalog: Catalog;
  readonly tables: Catalog;
  readonly seedHashes: Map<string, string>;
  /** Read only when the selection may select by `result:` (see mayReadResults); else unknown. */
  readonly builds: BuildResults;
  readonly buildsRead: boolean;
}

/** What a save changes: the analysis, and what to build and to say has left the project. */
interface Decision {
  readonly analysis: Analysis;
  readonly rebuild: ReadonlySet<string>;
  readonly removed: string[];
}

export class ChangeBuilder {
  private readonly cache = new AnalysisCache();
  private previous: Analysis | undefined;
  /** What the warehouse held when watch last let go of it; undefined once that cannot be vouched for. */
  private known: Known | undefined;
  /** The file, opening since a save (see `opening`) for the build that follows. */
  private opening: Promise<EarlyOpen> | undefined;
  /** With keepOpen: the file, kept open since the last build, until the next or a request. */
  private kept: EngineHandle | undefined;
  /** With keepOpen: listening for requests for the file while watch holds it, kept or building. */
  private requests: Requests | undefined;
  /** A request came while a build had the file: it lets go of it at its end. */
  private asked = false;
  /** The analysis's warnings and notes last said (see decide). */
  private told: string | undefined;
  /** The nodes whose latest build in watch failed or was skipped: not built again at every save for lacking a table (see decide). */
  private readonly failing = new Set<string>();

  constructor(
    private readonly options: BuildOptions,
    private readonly fs: CachedFs,
    private readonly root: string,
    private readonly interval: Interval,
  ) {}

  private rel(path: string): string {
    return relative(this.root, path).split(sep).join('/');
  }

  /** Builds `changes`; 'blocked' when the project has errors (reported here), and nothing was built. */
  async build(changes: Changes): Promise<'built' | 'blocked'> {
    const { emit } = this.options;
    const changedFiles = [...changes.files.keys()].map((p) => this.rel(p)).sort();
    // Taken now and given back at the end only while still true: after a write, or a failure, nothing is trusted.
    const kept = this.known;
    this.known = undefined;
    let warehouse: EngineHandle | undefined;
    /** The file opened while the save is analyzed; nothing when another process held it. */
    let early: Promise<EarlyOpen> | undefined;
    /** What the warehouse holds, as long as nothing may have written to it since it was read. */
    let holds: Known | undefined;
    /** The models the change was said to rebuild, once it was. */
    let reported: string[] | undefined;
    try {
      const project = openProject(this.options, this.fs);
      const dbPath = project.warehousePath;
      const { warehouseSetup: setup } = project;
      // A lake's catalog is written by other processes while watch holds it: no stamp tells of that.
      const stampOf = setup.lake ? undefined : () => fileStamp(dbPath);
      // Opening since the first save of this build (see prepare), or kept open since the last, unless the warehouse is another now.
      early = this.opening ?? (this.kept && Promise.resolve({ handle: this.kept }));
      this.opening = undefined;
      this.kept = undefined;
      if (early && (kept?.dbPath !== dbPath || !sameSetup(kept.setup, setup))) {
        (await early).handle?.close();
        early = undefined;
      }
      const readResults = mayReadResults(this.options, project);
      if (kept?.dbPath === dbPath && kept.stamp !== undefined && kept.stamp === stampOf?.() && (kept.buildsRead || !readResults)) {
        holds = kept;
        early ??= openEarly(dbPath, this.openOptions(setup));
      } else {
        const opened = await early;
        early = undefined;
        if (opened?.error !== undefined) throw opened.error;
        warehouse = opened?.handle ?? (await this.openWhenFree(dbPath, setup));
        if (!warehouse) return 'built';
        holds = await readKnown(warehouse, dbPath, setup, stampOf, readResults, this.keeps(), this.options.emit);
      }
      let decision = this.decide(project, holds, changes, changedFiles);
      this.report(decision, changedFiles);
      if (changedFiles.length > 0) reported = [...decision.rebuild];
      if (early) {
        const opened = await early;
        early = undefined;
        if (opened.error !== undefined) throw opened.error;
        warehouse = opened.handle;
      }
      if (decision.rebuild.size > 0 && warehouse === undefined) {
        warehouse = await this.openWhenFree(dbPath, setup);
        if (!warehouse) return 'built';
      }
      if (warehouse && holds === kept) {
        if (stampOf?.() === holds.stamp) warehouse.engine.preparedAlready();
        else {
          // Another process wrote between the look and the open: decide again from what it left.
          holds = await readKnown(warehouse, dbPath, setup, stampOf, readResults, this.keeps(), this.options.emit);
          const again = this.decide(project, holds, changes, changedFiles);
          if (!sameMembers(again.rebuild, decision.rebuild)) {
            this.report({ ...again, removed: [] }, changedFiles);
            if (changedFiles.length > 0) reported = [...again.rebuild];
          }
          decision = again;
        }
      }
      this.previous = decision.analysis;
      if (decision.rebuild.size === 0) return 'built';
      // The run closes the handle it is given; this one reads what the run left, before the file is let go.
      const running = warehouse!;
      warehouse = await Engine.open(dbPath, this.openOptions(setup));
      const before = holds;
      holds = undefined;
      const written = await this.run(decision.analysis, decision.rebuild, dbPath, running, before);
      holds = await readKnown(warehouse, dbPath, setup, stampOf, readResults, this.keeps(), this.options.emit, written && { before, written });
      return 'built';
    } catch (e) {
      if (!(e instanceof DiagnosticError)) throw e;
      // The command line itself is refused: no save can fix it, so watching ends (exit 2). So is
      // a pipeline name that names none as watching starts: a typo, far more often than a file to come.
      if (e.diagnostics.some((d) => COMMAND_LINE_PROBLEMS.has(d.code) || (this.previous === undefined && d.code === 'unknown-pipeline'))) throw e;
      // Found while planning, after the change was said with what it rebuilds: only that those are not rebuilt.
      if (reported !== undefined) emit({ type: 'notice', message: `not rebuilt: ${reported.join(', ')} (the project has errors)` });
      else if (changedFiles.length > 0) emit({ type: 'watch-change', files: changedFiles, rebuild: [], removed: [], blocked: true });
      for (const d of e.diagnostics) emit({ type: 'diagnostic', diagnostic: d });
      emit({ type: 'notice', message: 'fix the problem and save: watching goes on' });
      return 'blocked';
    } finally {
      // An early open the build did not get to is let go of too.
      if (early) (await early).handle?.close();
      if (holds?.stamp !== undefined) this.known = holds;
      // Kept only while what is known of it holds: a file watch may not vouch for is let go of.
      if (warehouse && holds?.stamp !== undefined && this.keeps()) this.keep(warehouse, holds.dbPath);
      else {
        warehouse?.close();
        this.stopListening();
      }
    }
  }

  /** Whether watch holds the file between builds now (--keep-open, not asked for it). */
  keepsFile(): boolean {
    return this.kept !== undefined;
  }

  /** Whether the file stays open after this build (--keep-open, and no pipe command asked for it, and watching goes on). */
  private keeps(): boolean {
    return this.options.keepOpen === true && !this.asked && !this.options.signal.aborted;
  }

  /** How watch opens the file: other processes read who holds it, and whether it lends it. */
  private openOptions(setup: WarehouseSetup): OpenOptions {
    return { setup, holder: 'pipe watch', lends: this.options.keepOpen };
  }

  /** Keeps `warehouse` open for the next build, until a pipe command asks for it. */
  private keep(warehouse: EngineHandle, dbPath: string): void {
    this.kept = warehouse;
    warehouse.announce('pipe watch, between builds: it lets go of the file when a pipe command asks');
    if (this.requests !== undefined) return;
    // A request already there is answered within onRequest: its listener, closed then, is not kept
    // (kept, it would stand for one listening, and no later request would be heard).
    let answered = false;
    const requests = onRequest(dbPath, () => {
      answered = true;
      this.requests = undefined;
      const kept = this.kept;
      this.kept = undefined;
      if (!kept) {
        this.asked = true;
        this.options.emit({ type: 'notice', message: 'another pipe command asked for the warehouse: watch lets go of it when this build ends, and opens it again at the next save' });
        return;
      }
      kept.close();
      this.options.emit({ type: 'notice', message: 'another pipe command asked for the warehouse: watch let go of it, and opens it again at the next save' });
    });
    if (!answered) this.requests = requests;
  }

  private stopListening(): void {
    this.requests?.close();
    this.requests = undefined;
    this.asked = false;
  }

  /**
   * A save came and a build will follow once the files are quiet: most saves build, and opening
   * the file is the longest wait of a build (about half a second at 10,000 tables), so it opens
   * now, during the quiet period and the analysis. Only with what is known of the warehouse from
   * the last build (whose file and setup it opens); the build checks the stamp as it would
   * after any open. Held by another process, it is left to the build to wait for.
   */
  prepare(): void {
    const known = this.known;
    if (this.opening || this.kept || !known || known.stamp === undefined) return;
    this.opening = openEarly(known.dbPath, this.openOptions(known.setup));
  }

  /** Lets go of a file opened or kept for a build that will not come (watching stops). */
  async release(): Promise<void> {
    const opening = this.opening;
    this.opening = undefined;
    this.kept?.close();
    this.kept = undefined;
    this.stopListening();
    if (opening) (await opening).handle?.close();
  }

  /** Analyzes the project as the warehouse is known to hold it, and works out what the save rebuilds. */
  private decide(project: Project, known: Known, changes: Changes, changedFiles: readonly string[]): Decision {
    const analyzed = analyzeAndSelect(
      project.files,
      { ...this.options, interval: this.interval, existingRelations: known.tables, validated: project, builds: known.builds, templateCache: templateCacheOf(project) },
      this.cache,
    );
    const { analysis, selected } = analyzed;
    // The warnings and notes pipe run prints, said once until they change (not at every save).
    const notes = JSON.stringify([analysis.diagnostics.filter((d) => d.severity === 'warning'), analyzed.unbuilt, analysis.messages, analyzed.notes, analyzed.defaultSelector ?? null]);
    if (notes !== this.told) emitAnalysisNotes(analyzed, this.options.emit);
    this.told = notes;
    const decided = this.whatToRebuild(analysis, selected, changes, changedFiles);
    // What the selection builds and the warehouse lacks is built too, as pipe run builds it:
    // written by something else since watch last held it (its file deleted, a table dropped), or
    // named anew by the project (a schema: of the profile changed, a folder's +schema).
    // One that failed in watch is built again when it or what it reads changes, not at every save.
    const missing = [...selected].filter((name) => {
      if (this.failing.has(name)) return false;
      const n = analysis.nodes.get(name);
      return (n?.kind === 'seed' || (n?.kind === 'model' && isBuilt(n.config.kind))) && !known.catalog.has(n.relation);
    });
    if (missing.length === 0) return { analysis, ...decided };
    return { analysis, ...decided, rebuild: new Set([...decided.rebuild, ...downstreamClosure(analysis.graph, new Set(missing))].filter((n) => selected.has(n))) };
  }

  private report(decision: Decision, changedFiles: readonly string[]): void {
    const { emit } = this.options;
    if (changedFiles.length > 0) emit({ type: 'watch-change', files: [...changedFiles], rebuild: [...decision.rebuild], removed: decision.removed });
    for (const r of decision.removed) {
      emit({ type: 'notice', message: `${r} left the project: it is no longer built, and its table is not dropped (drop it yourself if you no longer want it)` });
    }
  }

  private whatToRebuild(analysis: Analysis, selected: ReadonlySet<string>, changes: Changes, changedFiles: readonly string[]) {
    const previous = this.previous;
    // A source leaving names no table of pipe's.
    // An analysis made from the previous one by the saved models alone has the same nodes.
    const same = previous !== undefined && this.cache.reusedFrom === previous;
    // Those that had a table or view (an ephemeral model had none to leave behind).
    const removed =
      previous && !same
        ? [...previous.nodes.values()].filter((n) => n.kind !== 'source' && !(n.kind === 'model' && !isBuilt(n.config.kind)) && !analysis.nodes.has(n.name)).map((n) => n.name)
        : [];
    if (changes.everything) return { rebuild: selected, removed };
    const touched = new Set<string>();
    let everything = false;
    for (const f of changedFiles) {
      const node = nodeOfFile(f);
      if (node === undefined) everything = true;
      else if (analysis.nodes.has(node)) touched.add(node);
      // A properties file (sources, descriptions, config of several nodes) may change any model.
      else if (/\.ya?ml$/.test(f)) everything = true;
    }
    // Macros, pipelines, pipe.yaml or a package may change any model: rebuild those whose SQL
    // or what a build records of its config changed (query settings, what its query checks
    // render to), and reload the seeds whose file or config changed (a package's seeds have no file under seeds/).
    if (everything) {
      for (const name of selected) {
        const now = analysis.nodes.get(name);
        const before = previous?.nodes.get(name);
        if (now?.kind === 'seed' && (before?.kind !== 'seed' || before.hash !== now.hash)) touched.add(name);
        if (!now || now.kind !== 'model' || !isBuilt(now.config.kind)) continue;
        const a = analysis.renderer.sql(name, this.interval, NO_TABLE);
        const b = before && previous ? previous.renderer.sql(name, this.interval, NO_TABLE) : undefined;
        if (!b || !('hash' in a) || !('hash' in b) || a.hash !== b.hash) touched.add(name);
        else if (before?.kind === 'model' && previous && trackedConfigHash(now, this.interval, analysis) !== trackedConfigHash(before, this.interval, previous)) touched.add(name);
      }
    }
    const rebuild = new Set([...downstreamClosure(analysis.graph, touched)].filter((n) => selected.has(n)));
    return { rebuild, removed };
  }

  /** Waits for the warehouse as long as it takes, saying once per build who holds it; undefined when watching stops meanwhile. */
  private async openWhenFree(dbPath: string, setup: WarehouseSetup): Promise<EngineHandle | undefined> {
    const { emit, signal } = this.options;
    try {
      return await Engine.openWhenFree(dbPath, this.openOptions(setup), {
        ms: Infinity,
        pollMs: 1000,
        signal,
        onHeld: (held) => emit({ type: 'notice', message: `${held.inUse}; waiting for it` }),
      });
    } catch (e) {
      if (signal.aborted && e === signal.reason) return undefined;
      throw e;
    }
  }

  /**
   * Runs `nodes`; the relations its tasks write, or undefined when a task may write others
   * too (a model's hooks and sql_header run any SQL).
   */
  private async run(analysis: Analysis, nodes: ReadonlySet<string>, dbPath: string, warehouse: EngineHandle, known: Known): Promise<string[] | undefined> {
    const { options, interval } = this;
    const prepared = await openFor(analysis, nodes, options.pipeline, dbPath, { warehouse, known, emit: options.emit });
    const runId = newRunId();
    const plan = planRun(planContext(prepared, runId), interval);
    const threads = resolveThreads({ flag: options.threads, pipeline: prepared.pipeline, settings: analysis.settings });
    const ds = dateVariables(interval).ds;
    await launch(prepared, {
      runId,
      pipeline: options.pipeline,
      params: {
        kind: 'watch',
        ds,
        vars: options.vars ?? {},
        resolved_vars: analysis.vars,
        select: [...nodes],
        exclude: [],
        threads: options.threads ?? null,
        full_refresh: false,
        ignore_dependencies_on_past: false,
        ...(analysis.settings.targetName === undefined ? {} : { target: analysis.settings.targetName }),
      },
      plan,
      threads,
      emit: (e) => {
        if (e.type === 'task-failed' || e.type === 'task-skipped') this.failing.add(e.task.model);
        else if (e.type === 'task-succeeded') this.failing.delete(e.task.model);
        options.emit(e);
      },
      signal: options.signal,
      header: { ds, dateIsDefault: options.date === undefined },
      retryCommand: retryCommandFor(options),
      pipeCommand: pipeCommandFor(options),
    });
    const hooked = plan.tasks.some((t) => {
      const node = analysis.nodes.get(t.node);
      return node?.kind !== 'source' && node !== undefined && hasHooks(node);
    });
    return hooked ? undefined : plan.tasks.map((t) => t.relation);
  }
}

/** A model's or seed's SQL run around its query: it may write any relation. */
function hasHooks(node: ModelNode | SeedNode): boolean {
  const config = node.kind === 'model' ? node.config : node;
  return config.pre_hook.length > 0 || config.post_hook.length > 0 || (node.kind === 'model' && node.config.sql_header !== undefined);
}

/**
 * Whether the selection may select by how the latest builds ended (`result:`): a --select or
 * --exclude that says so, or a selection watch cannot see from here (a --selector, a pipeline's,
 * a default selector of selectors.yml). Only then are the builds read after each build.
 */
function mayReadResults(options: BuildOptions, project: Project): boolean {
  const terms = [...(options.select ?? []), ...(options.exclude ?? [])];
  return options.pipeline !== undefined || options.selector !== undefined || project.files.selectorsFile !== undefined || terms.some((t) => t.includes('result:'));
}

/**
 * What a build needs of the warehouse, read from `warehouse` (held, and prepared for writing
 * first: recovering from another process's crash writes to it). Stamped while still held,
 * once a checkpoint has moved everything into the file, so that letting go of it (which
 * checkpoints) leaves the stamp as it is; no stamp when `stampOf` gives none, or the
 * checkpoint fails: then what was read is not kept past this build. A file watch keeps open
 * (`kept`) is stamped as it is, without the checkpoint (which at 10,000 tables writes their
 * metadata again, 0.15-0.2 s a save): no other process writes it while watch holds it, so the
 * stamp stands until watch lets go of it, and letting go (whose checkpoint changes the file)
 * sends the next build to read the warehouse again.
 */
async function readKnown(
  warehouse: EngineHandle,
  dbPath: string,
  setup: WarehouseSetup,
  stampOf: (() => string) | undefined,
  readResults: boolean,
  kept: boolean,
  emit: EventSink,
  /** A run since `before` that wrote `written` alone: the rest of the catalog is as it was. */
  after?: { readonly before: Known; readonly written: readonly string[] },
): Promise<Known> {
  const { engine } = warehouse;
  await engine.prepareForWriting(undefined, emit);
  const { catalog, seedHashes } = await engine.withSession(async (s) => ({
    catalog: after ? updated(after.before.catalog, after.written, await readRelationsOf(s, after.written)) : await readCatalog(s),
    // Through the engine, which keeps them: the next build's run, on a file kept open, reads them there.
    seedHashes: await engine.seedHashes(s),
  }));
  const builds: BuildResults = readResults ? await readBuildResults(warehouse) : { kind: 'unknown', why: 'watch reads the builds only for a selection by result:' };
  const stamp = stampOf && (kept ? stampOf() : await engine.withSession((s) => s.exec('CHECKPOINT')).then(stampOf, () => undefined));
  const tables = after ? updated(after.before.tables, after.written, readOnly(catalog, after.written, 'table')) : catalog.only('table');
  return { dbPath, setup, stamp, catalog, tables, seedHashes, builds, buildsRead: readResults };
}

/** `catalog` with the entries of `written` replaced by those of `now` (absent there: gone). A new catalog: analysis tells one from another by identity. */
function updated(catalog: Catalog, written: readonly string[], now: Catalog): Catalog {
  const out = new Catalog(catalog);
  for (const r of written) out.delete(r.toLowerCase());
  for (const [r, type] of now) out.set(r, type);
  return out;
}

/** The entries of `relations` in `catalog` of one type. */
function readOnly(catalog: Catalog, relations: readonly string[], type: RelationType): Catalog {
  const out = new Catalog();
  for (const r of relations) if (catalog.get(r) === type) out.set(r, type);
  return out;
}

/** An open that does not wait: no handle when another process holds the file. */
type EarlyOpen = { readonly handle?: EngineHandle; readonly error?: unknown };

function openEarly(dbPath: string, options: OpenOptions): Promise<EarlyOpen> {
  return Engine.open(dbPath, options).then(
    (handle) => ({ handle }),
    (error: unknown) => (error instanceof WarehouseLockedError ? {} : { error }),
  );
}

/** The setup runs as the file opens: a file opened with another is opened again. */
const sameSetup = (a: WarehouseSetup, b: WarehouseSetup) => JSON.stringify(a) === JSON.stringify(b);

function sameMembers<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}
