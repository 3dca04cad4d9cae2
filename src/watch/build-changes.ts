import { relative, sep } from 'node:path';
import { AnalysisCache, type Analysis } from '../analyze/analyze.js';
import { DiagnosticError } from '../diagnostics/diagnostics.js';
import { analyzeAndSelect, type ProjectOptions, type SelectionOptions } from '../commands/context.js';
import { openProject, templateCacheOf } from '../commands/open-project.js';
import { readBuildResults } from '../commands/build-results.js';
import { resolveThreads } from '../commands/threads.js';
import { launch, newRunId, openFor, planContext, retryCommandFor } from '../commands/lifecycle.js';
import { Engine, type EngineHandle } from '../execute/engine.js';
import type { WarehouseSetup } from '../warehouse/warehouse-setup.js';
import { dateVariables, type Interval } from '../dates/dates.js';
import type { EventSink } from '../events/events.js';
import { downstreamClosure } from '../graph/graph.js';
import { isBuilt, NO_TABLE } from '../plan/materializations.js';
import { planRun } from '../plan/plan.js';
import type { CachedFs } from '../project/project-fs.js';
import { Catalog, readCatalog } from '../warehouse/run-state.js';
import type { Changes } from './watch-machine.js';

/**
 * One build of `pipe watch`: read the project again, work out what the saved files change,
 * and build that and everything downstream of it with the same atomic writes as `pipe run`.
 * The last analysis that got through is kept, to compare the next one with.
 */

export interface BuildOptions extends ProjectOptions, SelectionOptions {
  readonly date?: string;
  readonly threads?: number;
  readonly emit: EventSink;
  /** Ends the build: a run in flight is interrupted and rolled back, a wait for the warehouse given up. */
  readonly signal: AbortSignal;
}

/** Files under models/ name a model (`x.sql` or its `x.yaml`); seeds name a seed; anything else affects everything. */
function nodeOfFile(file: string): string | undefined {
  const m = /^(models\/.*\/|models\/|seeds\/)([^/]+)\.(sql|ya?ml|csv)$/.exec(file);
  return m ? m[2] : undefined;
}

export class ChangeBuilder {
  private readonly cache = new AnalysisCache();
  private previous: Analysis | undefined;

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
    try {
      const project = openProject(this.options, this.fs);
      const dbPath = project.warehousePath;
      const { warehouse, catalog } = await this.openWhenFree(dbPath, project.warehouseSetup);
      if (!warehouse) return 'built';
      let handedOver = false;
      try {
        const tables = catalog.only('table');
        const builds = await readBuildResults(warehouse);
        const { analysis, selected } = analyzeAndSelect(project.files, { ...this.options, interval: this.interval, existingRelations: tables, validated: project, builds, templateCache: templateCacheOf(project) }, this.cache);
        const { rebuild, removed } = this.whatToRebuild(analysis, selected, changes, changedFiles);
        if (changedFiles.length > 0) emit({ type: 'watch-change', files: changedFiles, rebuild: [...rebuild], removed });
        for (const r of removed) {
          emit({ type: 'notice', message: `${r} left the project: it is no longer built, and its table is not dropped (drop it yourself if you no longer want it)` });
        }
        this.previous = analysis;
        if (rebuild.size === 0) return 'built';
        handedOver = true;
        await this.run(analysis, rebuild, dbPath, warehouse);
        return 'built';
      } finally {
        if (!handedOver) warehouse.close();
      }
    } catch (e) {
      if (!(e instanceof DiagnosticError)) throw e;
      if (changedFiles.length > 0) emit({ type: 'watch-change', files: changedFiles, rebuild: [], removed: [], blocked: true });
      for (const d of e.diagnostics) emit({ type: 'diagnostic', diagnostic: d });
      emit({ type: 'notice', message: 'fix the problem and save: watching goes on' });
      return 'blocked';
    }
  }

  private whatToRebuild(analysis: Analysis, selected: Set<string>, changes: Changes, changedFiles: readonly string[]) {
    const previous = this.previous;
    // A source leaving names no table of pipe's.
    const removed = previous ? [...previous.nodes.values()].filter((n) => n.kind !== 'source' && !analysis.nodes.has(n.name)).map((n) => n.name) : [];
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
    // Macros, pipelines or pipe.yaml may change any model: rebuild those whose SQL changed.
    if (everything) {
      for (const name of selected) {
        const now = analysis.nodes.get(name);
        const before = previous?.nodes.get(name);
        if (!now || now.kind !== 'model' || !isBuilt(now.config.kind)) continue;
        const a = analysis.renderer.sql(name, this.interval, NO_TABLE);
        const b = before && previous ? previous.renderer.sql(name, this.interval, NO_TABLE) : undefined;
        if (!b || !('hash' in a) || !('hash' in b) || a.hash !== b.hash) touched.add(name);
      }
    }
    const rebuild = new Set([...downstreamClosure(analysis.graph, touched)].filter((n) => selected.has(n)));
    return { rebuild, removed };
  }

  /** Waits for the warehouse as long as it takes, saying once per build who holds it. */
  private async openWhenFree(dbPath: string, setup: WarehouseSetup): Promise<{ warehouse?: EngineHandle; catalog: Catalog }> {
    const { emit, signal } = this.options;
    let warehouse: EngineHandle;
    try {
      warehouse = await Engine.openWhenFree(dbPath, { setup }, {
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

  private async run(analysis: Analysis, nodes: Set<string>, dbPath: string, warehouse: EngineHandle): Promise<void> {
    const { options, interval } = this;
    const prepared = await openFor(analysis, nodes, options.pipeline, dbPath, { warehouse });
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
      },
      plan,
      threads,
      emit: options.emit,
      signal: options.signal,
      header: { ds, dateIsDefault: options.date === undefined },
      retryCommand: retryCommandFor(options),
    });
  }
}
