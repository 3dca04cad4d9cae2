import { relative, resolve, sep } from 'node:path';
import chokidar from 'chokidar';
import { AnalysisCache, type Analysis } from '../analyze/analyze.js';
import { DiagnosticError } from '../analyze/diagnostics.js';
import { analyzeAndSelect, resolveInterval, type ProjectOptions, type SelectionOptions } from '../commands/context.js';
import { launch, newRunId, openFor, planContext, retryCommandFor } from '../commands/lifecycle.js';
import { openProject } from '../commands/open-project.js';
import { resolveThreads } from '../commands/threads.js';
import { dateVariables, type Interval } from '../dates/dates.js';
import type { EventSink } from '../events/events.js';
import { downstreamClosure } from '../graph/graph.js';
import { isBuilt, NO_TABLE } from '../plan/materializations.js';
import { planRun } from '../plan/plan.js';
import { PROJECT_FILE } from '../project/load-project.js';
import { CachedFs } from '../project/project-fs.js';
import { Catalog, readCatalog } from '../warehouse/run-state.js';
import { Engine, type EngineHandle } from '../execute/engine.js';

/**
 * `pipe watch`: build the selection, then on every save rebuild what changed and everything
 * downstream of it, with the same atomic writes as `pipe run`.
 *
 * States: building → idle → (change, debounced) → building … Changes that arrive while
 * building are queued and trigger one more build with the latest files, so no save is lost.
 * The warehouse is open only while building.
 */

export interface WatchOptions extends ProjectOptions, SelectionOptions {
  readonly date?: string;
  readonly threads?: number;
  readonly emit: EventSink;
  /** Ends the watch; a build in flight is interrupted and rolled back. */
  readonly signal: AbortSignal;
  /** Quiet period after the last change before rebuilding. */
  readonly debounceMs?: number;
}

export const WATCHED = ['models', 'macros', 'seeds', 'pipelines', PROJECT_FILE] as const;

/** Files under models/ name a model (`x.sql` or its `x.yaml`); seeds name a seed; anything else affects everything. */
function nodeOfFile(file: string): string | undefined {
  const m = /^(models\/.*\/|models\/|seeds\/)([^/]+)\.(sql|ya?ml|csv)$/.exec(file);
  return m ? m[2] : undefined;
}

export async function watch(options: WatchOptions): Promise<void> {
  const { emit, signal } = options;
  const fs = new CachedFs();
  const cache = new AnalysisCache();
  const { interval } = resolveInterval(options.date, options.clock);
  const root = resolve(options.project ?? '.');
  const rel = (p: string) => relative(root, p).split(sep).join('/');

  let previous: Analysis | undefined;
  let pending = new Map<string, 'add' | 'change' | 'unlink'>();
  let building = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;

  // Watch first, build second: a save made during the first build is not missed.
  const watcher = chokidar.watch(
    WATCHED.map((w) => resolve(root, w)),
    { ignoreInitial: true, ignored: (p: string) => /(^|[/\\])\.[^/\\]/.test(relative(root, p)) },
  );
  const onEvent = (kind: 'add' | 'change' | 'unlink') => (path: string) => {
    fs.invalidate(path, kind !== 'change');
    pending.set(path, kind);
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => wake?.(), options.debounceMs ?? 150);
  };
  watcher.on('add', onEvent('add')).on('change', onEvent('change')).on('unlink', onEvent('unlink'));
  watcher.on('unlinkDir', (path: string) => onEvent('unlink')(path));
  await new Promise<void>((res) => watcher.once('ready', () => res()));

  emit({ type: 'watch-started', project: root, ds: dateVariables(interval).ds, watching: [...WATCHED] });
  await cycle(undefined);
  if (pending.size > 0) timer = setTimeout(() => wake?.(), 0);

  while (!signal.aborted) {
    await new Promise<void>((res) => {
      wake = res;
      signal.addEventListener('abort', () => res(), { once: true });
    });
    wake = undefined;
    if (signal.aborted) break;
    if (pending.size === 0 || building) continue;
    const changes = pending;
    pending = new Map();
    await cycle(changes);
    // Saves made during the build are in `pending` now: build again with the latest files.
    if (pending.size > 0 && !signal.aborted) timer = setTimeout(() => wake?.(), 0);
  }
  if (timer) clearTimeout(timer);
  await watcher.close();

  async function cycle(changes: Map<string, 'add' | 'change' | 'unlink'> | undefined): Promise<void> {
    building = true;
    try {
      const project = openProject(options, fs);
      const dbPath = project.warehousePath;
      const { warehouse, catalog } = await openWhenFree(dbPath);
      if (!warehouse) return;
      let handedOver = false;
      try {
        const tables = catalog.only('table');
        const { analysis, selected } = analyzeAndSelect(project.files, { ...options, interval, existingRelations: tables, validated: project }, cache);
        const { rebuild, removed, changedFiles } = whatToRebuild(analysis, selected, changes);
        if (changes) emit({ type: 'watch-change', files: changedFiles, rebuild: [...rebuild], removed });
        for (const r of removed) {
          emit({ type: 'notice', message: `${r} left the project: it is no longer built, and its table is not dropped (drop it yourself if you no longer want it)` });
        }
        previous = analysis;
        if (rebuild.size === 0) return;
        handedOver = true;
        await build(analysis, rebuild, dbPath, warehouse, interval);
      } finally {
        if (!handedOver) warehouse.close();
      }
    } catch (e) {
      if (e instanceof DiagnosticError) {
        if (changes) emit({ type: 'watch-change', files: [...changes.keys()].map(rel).sort(), rebuild: [], removed: [], blocked: true });
        for (const d of e.diagnostics) emit({ type: 'diagnostic', diagnostic: d });
        emit({ type: 'notice', message: 'fix the problem and save: watching goes on' });
      } else {
        throw e;
      }
    } finally {
      building = false;
      if (!signal.aborted) emit({ type: 'watch-waiting' });
    }
  }

  function whatToRebuild(analysis: Analysis, selected: Set<string>, changes: Map<string, string> | undefined) {
    const removed = previous ? [...previous.nodes.keys()].filter((n) => !analysis.nodes.has(n)) : [];
    if (!changes) return { rebuild: selected, removed, changedFiles: [] as string[] };
    const changedFiles = [...changes.keys()].map(rel).sort();
    const touched = new Set<string>();
    let everything = false;
    for (const f of changedFiles) {
      const node = nodeOfFile(f);
      if (node === undefined) everything = true;
      else if (analysis.nodes.has(node)) touched.add(node);
    }
    // Macros, pipelines or pipe.yaml may change any model: rebuild those whose SQL changed.
    if (everything) {
      for (const name of selected) {
        const now = analysis.nodes.get(name);
        const before = previous?.nodes.get(name);
        if (!now || now.kind !== 'model' || !isBuilt(now.config.materialized)) continue;
        const a = analysis.renderer.sql(name, interval, NO_TABLE);
        const b = before && previous ? previous.renderer.sql(name, interval, NO_TABLE) : undefined;
        if (!b || !('hash' in a) || !('hash' in b) || a.hash !== b.hash) touched.add(name);
      }
    }
    const rebuild = new Set([...downstreamClosure(analysis.graph, touched)].filter((n) => selected.has(n)));
    return { rebuild, removed, changedFiles };
  }

  /** Waits for the warehouse as long as it takes, saying once per build who holds it. */
  async function openWhenFree(dbPath: string): Promise<{ warehouse?: EngineHandle; catalog: Catalog }> {
    let warehouse: EngineHandle;
    try {
      warehouse = await Engine.openWhenFree(dbPath, {}, {
        ms: Infinity,
        pollMs: 1000,
        signal,
        onHeld: (held) => emit({ type: 'notice', message: `${held.inUse}; waiting for it` }),
      });
    } catch (e) {
      if (signal.aborted && e === signal.reason) return { catalog: new Catalog() };
      throw e;
    }
    const session = await warehouse.session();
    try {
      return { warehouse, catalog: await readCatalog(session) };
    } finally {
      session.close();
    }
  }

  async function build(analysis: Analysis, nodes: Set<string>, dbPath: string, warehouse: EngineHandle, at: Interval): Promise<void> {
    const prepared = await openFor(analysis, nodes, options.pipeline, dbPath, { warehouse });
    const runId = newRunId();
    const plan = planRun(
      planContext(prepared, runId),
      at,
    );
    const threads = resolveThreads({ flag: options.threads, pipeline: prepared.pipeline, settings: analysis.settings });
    const ds = dateVariables(at).ds;
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
      },
      plan,
      threads,
      emit,
      signal,
      header: { ds, dateIsDefault: options.date === undefined },
      retryCommand: retryCommandFor(options),
    });
  }
}
