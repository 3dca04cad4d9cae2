import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { fqnOf } from '../project/layout.js';
import { seedHash, type ProjectFiles, type ModelSource, type SeedSource } from '../project/load-project.js';
import { dateVariables, intervalLabel, type Interval } from '../dates/dates.js';
import { makeGraph, type Graph } from '../graph/graph.js';
import { findCycles } from '../graph/cycles.js';
import { error, type Diagnostic, type Location } from '../diagnostics/diagnostics.js';
import { CallSites } from './call-sites.js';
import { didYouMean } from '../diagnostics/suggest.js';
import { validateModelConfig, DEFAULT_SCHEMA, IDENTIFIER_RE, type ModelConfig } from './model-config.js';
import { secretVarNames, validateSettings, type Pipeline, type ProjectSettings, type ValidatedSettings } from './project-settings.js';
import { secrets } from '../secrets/secrets.js';
import { quoteIdent, relationName, statementStart, stripTrailingSemicolon, withCtes } from '../sql/sql-text.js';
import { RenderFailure, TemplateEngine, type CompiledTemplate } from './template-engine.js';
import { checkKeys, asStringList } from './validate-keys.js';
import { CHECK_TARGET, checkSql, parseChecks, type Check } from './checks.js';
import { isBuilt, isMaterialization, modelKind, NO_TABLE, type TableState } from './model-kinds.js';

/**
 * Analysis turns loaded files into a validated graph: it renders every model once (at the
 * run's first interval), collects its config() and ref() calls, checks them and builds the
 * graph. Every problem found is returned at once as a Diagnostic.
 */

export interface RefSite {
  readonly name: string;
  readonly location: Location;
}

export interface ModelNode {
  readonly kind: 'model';
  readonly name: string;
  readonly file: string;
  readonly config: ModelConfig;
  readonly tags: readonly string[];
  readonly relation: string;
  readonly refs: readonly RefSite[];
  readonly upstream: readonly string[];
  /** dbt's qualified name: project, folders under the model folder, name (see layout.ts). */
  readonly fqn: readonly string[];
  /** Data checks from the YAML beside the model, run before each publication. */
  readonly checks: readonly Check[];
}

export interface SeedNode {
  readonly kind: 'seed';
  readonly name: string;
  readonly file: string;
  readonly absPath: string;
  /** The file's hash with what in its YAML changes the table: the seed is reloaded when it changes. */
  readonly hash: string;
  readonly schema: string;
  readonly relation: string;
  readonly tags: readonly string[];
  /** Column name -> DuckDB type, overriding inference. */
  readonly columnTypes: Readonly<Record<string, string>>;
  /** Where each of `columnTypes` is declared in the seed's YAML. */
  readonly columnTypeLocations: Readonly<Record<string, Location>>;
  /** Fields of the CSV's header line, and whether rows follow it (0 and false when it has none). */
  readonly header: { readonly columns: number; readonly rows: boolean };
  readonly upstream: readonly string[];
  /** dbt's qualified name: project, folders under the seed folder, name. */
  readonly fqn: readonly string[];
}

export type PipeNode = ModelNode | SeedNode;

export interface AnalyzeOptions {
  /** The interval templates are first rendered at (the run's date, or its first date). */
  readonly interval: Interval;
  /** Pipeline whose vars apply; validated separately by the caller. */
  readonly pipeline?: string;
  /** `--var` values; they win over pipeline and project vars. */
  readonly vars?: Readonly<Record<string, unknown>>;
  /** Relations that exist in the warehouse (`"schema"."name"`), for is_incremental(). */
  readonly existingRelations?: { has(relation: string): boolean };
  /** Rebuild incremental models from nothing: is_incremental() is false. */
  readonly fullRefresh?: boolean;
  /** pipe.yaml and the pipelines as the caller validated them; validated here when absent. */
  readonly validated?: ValidatedSettings;
}

export interface Analysis {
  readonly root: string;
  readonly settings: ProjectSettings;
  readonly pipelines: ReadonlyMap<string, Pipeline>;
  readonly nodes: ReadonlyMap<string, PipeNode>;
  readonly graph: Graph;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly renderer: ModelRenderer;
  /** Models switched off with `enabled: false`, and where: they are not in the graph. */
  readonly disabled: ReadonlyMap<string, Location>;
  readonly diagnostics: readonly Diagnostic[];
}

export const SEED_KEYS = ['column_types', 'description', 'tags', 'schema'] as const;
const EPHEMERAL_PREFIX = '__pipe_ephemeral__';
const REF_TOKEN_RE = /\u0000([^\u0000]*)\u0000/g;
const refToken = (name: string) => `\u0000${name}\u0000`;

function refLocation(model: ModelSource, sites: CallSites, name: string): Location {
  return { file: model.file, ...sites.ref(name) };
}

/** One key given two different values by two config() calls of a model. */
interface ConfigConflict {
  readonly key: string;
  readonly first: unknown;
  readonly second: unknown;
  /** Which setting of the key (0-based) gave the second value; the one before it gave the first. */
  readonly setting: number;
}

function sameConfigValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

const configValue = (v: unknown) => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v) ?? String(v));

function configConflict(file: string, sites: CallSites, c: ConfigConflict): Diagnostic {
  const first = configValue(c.first);
  const second = configValue(c.second);
  return error('config-conflict', `config() sets '${c.key}' twice, to ${first} and then to ${second}; set it once`, { file, ...sites.configSetting(c.key, c.setting) }, {
    related: [{ message: `${c.key}=${first} set here`, location: { file, ...sites.configSetting(c.key, c.setting - 1) } }],
  });
}

export interface RenderedSql {
  readonly sql: string;
  readonly hash: string;
  readonly refs: readonly string[];
  /** The model's template text, to map database errors back to its lines. */
  readonly source: string;
  /** Lines added by inlining ephemeral models. */
  readonly inserted?: { readonly atLine: number; readonly by: number };
}

/** Model name → the `"schema"."name"` its ref() (and its own `this`) resolves to instead of its published relation. */
export type RelationOverrides = ReadonlyMap<string, string>;

interface RawRender {
  readonly sql: string;
  readonly refs: readonly string[];
  readonly configCalls: Readonly<Record<string, unknown>>;
}

/**
 * Renders models for any interval, caching by (model, interval, what exists). The plan
 * phase asks it for each task's final SQL; ephemeral models are injected as CTEs here.
 */
export class ModelRenderer {
  private nodes: ReadonlyMap<string, PipeNode> = new Map();

  constructor(
    private readonly engine: TemplateEngine,
    private readonly models: ReadonlyMap<string, { source: ModelSource; compiled: CompiledTemplate; relation: string; renders: Map<string, RawRender | Diagnostic>; sites: CallSites; entry: CachedModel }>,
    private readonly vars: Readonly<Record<string, unknown>>,
  ) {}

  setNodes(nodes: ReadonlyMap<string, PipeNode>): void {
    this.nodes = nodes;
  }

  /** One render of a model's template; its materialization answers is_incremental() from `state`. */
  renderRaw(name: string, interval: Interval, state: TableState): RawRender | Diagnostic {
    const key = `${interval.start}|${interval.end}|${state.tableExists ? 1 : 0}${state.fullRefresh ? 1 : 0}`;
    const cache = this.models.get(name)?.renders;
    const hit = cache?.get(key);
    if (hit) return hit;
    const result = this.renderUncached(name, interval, state);
    cache?.set(key, result);
    return result;
  }

  private renderUncached(name: string, interval: Interval, state: TableState): RawRender | Diagnostic {
    const model = this.models.get(name);
    if (!model) throw new Error(`internal error: no model ${name}`);
    const yamlMaterialized = model.source.yaml?.data.materialized;
    // Asked while the template renders: the materialization may not be validated yet (a bad one is reported later).
    const incrementalAs = (mat: unknown) => isMaterialization(mat) && modelKind(mat).isIncremental(state);
    const attempt = (forced: boolean | undefined) => {
      const refs: string[] = [];
      const configCalls: Record<string, unknown> = {};
      /** How many config() calls have set each key, to find those calls in the text. */
      const settings = new Map<string, number>();
      let conflict: ConfigConflict | undefined;
      let answered: boolean | undefined;
      const sql = this.engine.render(model.compiled, {
        // `this` resolves after rendering, like ref(), so config(schema=...) anywhere in the file counts.
        variables: { ...dateVariables(interval), this: refToken(name) },
        ref: (n) => {
          if (!refs.includes(n)) refs.push(n);
          return refToken(n);
        },
        config: (o) => {
          for (const [key, value] of Object.entries(o)) {
            const n = settings.get(key) ?? 0;
            settings.set(key, n + 1);
            // The same value twice is harmless; a different one would make the last call win unseen.
            if (n > 0 && !conflict && !sameConfigValue(configCalls[key], value)) {
              conflict = { key, first: configCalls[key], second: value, setting: n };
            }
            configCalls[key] = value;
          }
        },
        var: (n, fallback, hasFallback) => {
          if (Object.hasOwn(this.vars, n)) return this.vars[n];
          if (hasFallback) return fallback;
          throw new Error(`var '${n}' is not set and has no default; pass --var ${n}=VALUE or set it under vars: in pipe.yaml or the pipeline`);
        },
        isIncremental: () => {
          const mat = configCalls.materialized ?? yamlMaterialized;
          answered = forced ?? incrementalAs(mat);
          return answered;
        },
      });
      return { sql, refs, configCalls, answered, conflict };
    };
    try {
      let r = attempt(undefined);
      const finalMat = r.configCalls.materialized ?? yamlMaterialized;
      const right = incrementalAs(finalMat);
      // config() may come after is_incremental() in the template; render again with the right answer.
      if (r.answered !== undefined && r.answered !== right) r = attempt(right);
      if (r.conflict) return configConflict(model.source.file, model.sites, r.conflict);
      const twice = model.sites.configKeywordTwice();
      if (twice && Object.hasOwn(r.configCalls, twice.key)) {
        const { key, first, second, ...at } = twice;
        return error('config-conflict', `config() sets '${key}' twice in one call, to ${first} and then to ${second}; set it once`, { file: model.source.file, ...at });
      }
      const body = stripTrailingSemicolon(r.sql);
      const enabled = r.configCalls.enabled ?? model.source.yaml?.data.enabled;
      if (enabled !== false && statementStart(body) >= body.length) {
        return error('empty-model', `${name} renders to no SQL (only whitespace or comments) for ${intervalLabel(interval)}`, { file: model.source.file }, {
          hint: 'a model is one query: select ... (or with ... select ...)',
        });
      }
      return { sql: r.sql, refs: r.refs, configCalls: r.configCalls };
    } catch (e) {
      if (e instanceof RenderFailure) return e.diagnostic;
      throw e;
    }
  }

  /**
   * The final SQL of a model: refs resolved, ephemeral models inlined as CTEs. `relations`
   * resolves some models (and `this`) to another relation than their published one: in a
   * backfill's full refresh, the dates read the staging table their upstream is rebuilt in.
   */
  sql(name: string, interval: Interval, state: TableState, relations?: RelationOverrides): RenderedSql | Diagnostic {
    const raw = this.renderRaw(name, interval, state);
    if ('severity' in raw) return raw;
    const ctes = this.ephemeralCtes(raw.refs, interval, [name], relations);
    if (!Array.isArray(ctes)) return ctes;
    // Only the end is trimmed: line N of the rendered SQL stays line N of the file, which lets
    // database errors be mapped back to the model's source.
    const body = this.resolveRefs(stripTrailingSemicolon(raw.sql), relations).trimEnd();
    const sql = withCtes(body, ctes);
    const by = sql.split('\n').length - body.split('\n').length;
    const atLine = body.slice(0, statementStart(body)).split('\n').length;
    return {
      sql,
      hash: createHash('sha256').update(sql).digest('hex').slice(0, 16),
      refs: raw.refs,
      source: this.models.get(name)!.source.sql,
      inserted: by > 0 ? { atLine, by } : undefined,
    };
  }

  /**
   * The ephemeral models that `refs` reach (directly or through each other), rendered for the
   * interval as common table expressions, dependencies first.
   */
  private ephemeralCtes(
    refs: readonly string[],
    interval: Interval,
    trail: readonly string[],
    relations?: RelationOverrides,
  ): { name: string; sql: string }[] | Diagnostic {
    const ctes: { name: string; sql: string }[] = [];
    const added = new Set<string>();
    const add = (refs: readonly string[], trail: readonly string[]): Diagnostic | undefined => {
      for (const r of refs) {
        const node = this.nodes.get(r);
        if (node?.kind !== 'model' || isBuilt(node.config.materialized) || added.has(r)) continue;
        if (trail.includes(r)) return error('cycle', `ephemeral models ref each other: ${[...trail, r].join(' → ')}`, { file: node.file });
        const eph = this.renderRaw(r, interval, NO_TABLE);
        if ('severity' in eph) return eph;
        const problem = add(eph.refs, [...trail, r]);
        if (problem) return problem;
        added.add(r);
        ctes.push({ name: EPHEMERAL_PREFIX + r, sql: this.resolveRefs(stripTrailingSemicolon(eph.sql), relations) });
      }
      return undefined;
    };
    return add(refs, trail) ?? ctes;
  }

  /**
   * The failing-rows query of a check for one interval, `target` standing for the data
   * checked. Query checks are templates like models (`{{ this }}` is the target).
   */
  checkSql(model: string, check: Check, interval: Interval, target: string, relations?: RelationOverrides): string | Diagnostic {
    // A check may read an ephemeral model: it is inlined, as in a model's query.
    const inlined = (sql: string, refs: readonly string[]): string | Diagnostic => {
      const ctes = this.ephemeralCtes(refs, interval, [model], relations);
      return Array.isArray(ctes) ? withCtes(sql, ctes) : { ...ctes, location: ctes.location ?? check.location };
    };
    if (check.template === undefined) {
      return inlined(
        checkSql(check, target, (m) => this.resolveRefs(refToken(m), relations)),
        check.refs.map((r) => r.model),
      );
    }
    const key = `${model}\u0000${check.name}`;
    let compiled = this.checkTemplates.get(key);
    if (!compiled) {
      compiled = this.engine.compile(check.location.file, check.template);
      this.checkTemplates.set(key, compiled);
    }
    if ('severity' in compiled) return { ...compiled, message: `check ${check.name}: ${compiled.message}`, location: check.location };
    try {
      const refs: string[] = [];
      const sql = this.engine.render(compiled, {
        variables: { ...dateVariables(interval), this: CHECK_TARGET },
        ref: (n) => {
          refs.push(n);
          return refToken(n);
        },
        config: () => {
          throw new Error('config() belongs in the model, not in a check');
        },
        var: (n, fallback, hasFallback) => {
          if (Object.hasOwn(this.vars, n)) return this.vars[n];
          if (hasFallback) return fallback;
          throw new Error(`var '${n}' is not set and has no default`);
        },
        isIncremental: () => false,
      });
      return inlined(this.resolveRefs(stripTrailingSemicolon(sql).replaceAll(CHECK_TARGET, target), relations), refs);
    } catch (e) {
      if (e instanceof RenderFailure) return { ...e.diagnostic, message: `check ${check.name}: ${e.diagnostic.message}`, location: check.location };
      throw e;
    }
  }

  private readonly checkTemplates = new Map<string, CompiledTemplate | Diagnostic>();

  private resolveRefs(sql: string, relations?: RelationOverrides): string {
    return sql.replace(REF_TOKEN_RE, (_, n: string) => {
      const node = this.nodes.get(n);
      if (!node) return quoteIdent(n);
      const override = relations?.get(n);
      if (override !== undefined) return override;
      if (node.kind === 'model' && !isBuilt(node.config.materialized)) return quoteIdent(EPHEMERAL_PREFIX + n);
      return node.relation;
    });
  }
}

/**
 * What analysis keeps between calls in watch mode: compiled templates and renders of every
 * model, valid while the model's text, its YAML, the macros and the vars stay the same. A
 * save of one model then renders one model.
 */
export class AnalysisCache {
  key?: string;
  engine?: TemplateEngine;
  /** The project's model and seed names, and a number that changes when they do. */
  names?: { readonly key: string; readonly version: number };
  readonly models = new Map<string, CachedModel>();
  /** The last graph, its cycles, and each node's upstream list it was made from. */
  graph?: { readonly graph: Graph; readonly cycles: string[][]; readonly upstream: Map<string, readonly string[]> };
  /** The disabled models the cached nodes were built with. */
  disabled = '';
}

/** What analysis knows of one model's text: its template, renders, call sites and last node. */
interface CachedModel {
  readonly sql: string;
  /** The file the text came from: diagnostics name it, so a moved model compiles again. */
  readonly file: string;
  readonly yaml: unknown;
  readonly compiled: CompiledTemplate | Diagnostic;
  readonly renders: Map<string, RawRender | Diagnostic>;
  readonly sites: CallSites;
  analyzed?: AnalyzedModel;
}

/**
 * The node built from one render, and the diagnostics found on the way. It stands as long
 * as the render (same text, interval and is_incremental()), the YAML beside the model, its
 * path and the project's names are the same: in watch mode, every model but the saved one.
 */
interface AnalyzedModel {
  readonly raw: RawRender;
  readonly yaml: unknown;
  readonly file: string;
  /** The version of the project's names it was built with. */
  readonly names: number;
  readonly config: ModelConfig;
  /** Where `enabled` is set, for the error of a ref to a disabled model. */
  readonly configLocation: Location;
  readonly checks: Check[];
  readonly configDiagnostics: readonly Diagnostic[];
  node?: ModelNode;
  refDiagnostics?: readonly Diagnostic[];
}

export function analyze(files: ProjectFiles, options: AnalyzeOptions, cache?: AnalysisCache): Analysis {
  const diagnostics: Diagnostic[] = [...files.diagnostics];
  const { settings, pipelines, settingsDiagnostics } = options.validated ?? validateSettings(files);
  diagnostics.push(...settingsDiagnostics);
  const pipeline = options.pipeline ? pipelines.get(options.pipeline) : undefined;
  const vars = { ...settings.vars, ...(pipeline?.vars ?? {}), ...(options.vars ?? {}) };
  for (const name of secretVarNames(settings, pipeline)) secrets.record(vars[name]);

  const engineKey = JSON.stringify([files.macros, vars]);
  if (cache && cache.key !== engineKey) {
    cache.key = engineKey;
    cache.engine = undefined;
    cache.models.clear();
  }
  const engine = cache?.engine ?? new TemplateEngine(files.macros, Object.keys(dateVariables(options.interval)));
  if (cache) cache.engine = engine;
  diagnostics.push(...engine.diagnostics);

  const models = new Map<string, { source: ModelSource; compiled: CompiledTemplate; relation: string; renders: Map<string, RawRender | Diagnostic>; sites: CallSites; entry: CachedModel }>();
  const live = new Set<string>();
  for (const source of files.models) {
    live.add(source.name);
    const yamlMaterialized = source.yaml?.data.materialized;
    let entry = cache?.models.get(source.name);
    if (!entry || entry.sql !== source.sql || entry.file !== source.file || entry.yaml !== yamlMaterialized) {
      entry = { sql: source.sql, file: source.file, yaml: yamlMaterialized, compiled: engine.compile(source.file, source.sql), renders: new Map(), sites: new CallSites(source.sql) };
      cache?.models.set(source.name, entry);
    }
    const compiled = entry.compiled;
    if ('severity' in compiled) {
      diagnostics.push(compiled);
      continue;
    }
    const schema = typeof source.yaml?.data.schema === 'string' ? source.yaml.data.schema : DEFAULT_SCHEMA;
    models.set(source.name, { source, compiled, relation: relationName(schema, source.name), renders: entry.renders, sites: entry.sites, entry });
  }
  if (cache) for (const name of [...cache.models.keys()]) if (!live.has(name)) cache.models.delete(name);
  const renderer = new ModelRenderer(engine, models, vars);

  const nodes = new Map<string, PipeNode>();
  const projectName = projectNameOf(files, settings);
  for (const seed of files.seeds) nodes.set(seed.name, seedNode(seed, fqnOf(projectName, seed.file, files.layout.seeds, seed.name), diagnostics));

  const pending: { source: ModelSource; sites: CallSites; config: ModelConfig; refs: string[]; checks: Check[]; analyzed: AnalyzedModel }[] = [];
  const disabled = new Map<string, Location>();
  // A relationships check naming a file left out is not an unknown model as well.
  const nameSet = new Set([...files.models.map((m) => m.name), ...files.seeds.map((s) => s.name), ...(files.leftOut ?? [])]);
  const allNames = [...files.models.map((m) => m.name), ...files.seeds.map((s) => s.name)];
  // What a node reads of the rest of the project: which names exist, which models compiled.
  let names = 0;
  if (cache) {
    const key = `${projectName}\u0001${allNames.join('\u0000')}\u0001${[...models.keys()].join('\u0000')}`;
    if (cache.names?.key !== key) cache.names = { key, version: (cache.names?.version ?? 0) + 1 };
    names = cache.names.version;
  }
  for (const [name, m] of models) {
    const existing = options.existingRelations?.has(m.relation) ?? false;
    const raw = renderer.renderRaw(name, options.interval, { tableExists: existing, fullRefresh: options.fullRefresh ?? false });
    if ('severity' in raw) {
      diagnostics.push(raw);
      continue;
    }
    const y = m.source.yaml;
    let analyzed = m.entry.analyzed;
    if (!analyzed || analyzed.raw !== raw || analyzed.yaml !== y || analyzed.file !== m.source.file || analyzed.names !== names) {
      const found: Diagnostic[] = [];
      const config = mergedConfig(m.source, m.sites, raw.configCalls, found);
      const configLocation = configKeyLocation(m.source, m.sites, raw.configCalls, 'enabled');
      const checks =
        y && y.data.checks !== undefined
          ? parseChecks(y.data.checks, (path) => ({ file: y.file, line: y.pathLine(path) ?? y.keyLine('checks') }), nameSet, found)
          : [];
      analyzed = { raw, yaml: y, file: m.source.file, names, config, configLocation, checks, configDiagnostics: found };
      m.entry.analyzed = analyzed;
    }
    diagnostics.push(...analyzed.configDiagnostics);
    if (!analyzed.config.enabled) {
      disabled.set(name, analyzed.configLocation);
      continue;
    }
    pending.push({ source: m.source, sites: m.sites, config: analyzed.config, refs: [...raw.refs], checks: analyzed.checks, analyzed });
  }
  // A model's refs read the disabled models and where each is disabled (a ref to one points
  // there): when either changes, no cached node stands.
  const disabledKey = JSON.stringify([...disabled].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  if (cache && cache.disabled !== disabledKey) {
    cache.disabled = disabledKey;
    for (const p of pending) p.analyzed.node = undefined;
  }

  // A file left out (a duplicate, a refused name) is already an error; a ref() to its name is not another.
  const known = new Set([...allNames, ...(files.leftOut ?? [])]);
  for (const { source, sites: calls, config, refs, checks, analyzed } of pending) {
    if (analyzed.node && analyzed.refDiagnostics) {
      nodes.set(source.name, analyzed.node);
      diagnostics.push(...analyzed.refDiagnostics);
      continue;
    }
    const refDiagnostics: Diagnostic[] = [];
    const sites: RefSite[] = refs.map((r) => ({ name: r, location: refLocation(source, calls, r) }));
    // A relationships check reads its parent model: the parent is built first.
    for (const c of checks) {
      for (const r of c.refs) if (!sites.some((s) => s.name === r.model)) sites.push({ name: r.model, location: c.location });
    }
    const upstream: string[] = [];
    for (const site of sites) {
      if (disabled.has(site.name)) {
        refDiagnostics.push(
          error('disabled-ref', `ref('${site.name}'): ${site.name} is disabled (enabled: false)`, site.location, {
            related: [{ message: 'disabled here', location: disabled.get(site.name)! }],
            hint: `enable ${site.name} again, or disable ${source.name} too`,
          }),
        );
      } else if (models.has(site.name) || nodes.has(site.name)) {
        upstream.push(site.name);
      } else if (!known.has(site.name)) {
        refDiagnostics.push(
          error('unknown-ref', `ref('${site.name}'): no model or seed is named '${site.name}'`, site.location, {
            hint: didYouMean(site.name, allNames),
          }),
        );
      }
    }
    const node: ModelNode = {
      kind: 'model',
      name: source.name,
      file: source.file,
      config,
      tags: config.tags,
      relation: relationName(config.schema, source.name),
      refs: sites,
      upstream,
      fqn: fqnOf(projectName, source.file, files.layout.models, source.name),
      checks,
    };
    nodes.set(source.name, node);
    diagnostics.push(...refDiagnostics);
    analyzed.node = node;
    analyzed.refDiagnostics = refDiagnostics;
  }
  renderer.setNodes(nodes);

  const { graph, cycles } = graphOf(nodes, cache);
  for (const cycle of cycles) {
    const related = cycle.slice(0, -1).map((from, i) => {
      const to = cycle[i + 1];
      const node = nodes.get(from);
      const site = node?.kind === 'model' ? node.refs.find((r) => r.name === to) : undefined;
      return { message: `${from} refs ${to}`, location: site?.location ?? { file: node?.file ?? from } };
    });
    diagnostics.push(
      error('cycle', `dependency cycle: ${cycle.join(' → ')}`, related[0]?.location, {
        related,
        hint: 'a model cannot depend on itself, directly or through others; remove one of these ref() calls',
      }),
    );
  }

  return { root: files.root, settings, pipelines, nodes, graph, vars, renderer, disabled, diagnostics };
}

/**
 * The graph of the nodes and its cycles. In watch mode a save rarely changes an edge: when the
 * nodes are the same names with the same upstream lists, the previous graph and cycles stand,
 * and a project of thousands of models is not walked again for cycles.
 */
function graphOf(nodes: ReadonlyMap<string, PipeNode>, cache: AnalysisCache | undefined): { graph: Graph; cycles: string[][] } {
  const previous = cache?.graph;
  if (previous && previous.upstream.size === nodes.size) {
    let same = true;
    const rebuilt: PipeNode[] = [];
    for (const n of nodes.values()) {
      const before = previous.upstream.get(n.name);
      if (before === n.upstream) continue;
      if (!before || before.length !== n.upstream.length || before.some((u, i) => u !== n.upstream[i])) {
        same = false;
        break;
      }
      rebuilt.push(n);
    }
    if (same) {
      for (const n of rebuilt) previous.upstream.set(n.name, n.upstream);
      return previous;
    }
  }
  const graph = makeGraph(new Map([...nodes.values()].map((n) => [n.name, n.upstream.filter((u) => nodes.has(u))])));
  const result = { graph, cycles: findCycles(graph), upstream: new Map([...nodes.values()].map((n) => [n.name, n.upstream])) };
  if (cache) cache.graph = result;
  return result;
}

function mergedConfig(source: ModelSource, sites: CallSites, calls: Readonly<Record<string, unknown>>, diagnostics: Diagnostic[]): ModelConfig {
  const yaml = source.yaml;
  const configCall = sites.config();
  // checks: is read by parseChecks; every other key of the YAML is model config.
  const { checks: _checks, ...yamlData } = yaml?.data ?? {};
  for (const key of Object.keys(calls)) {
    if (Object.hasOwn(yamlData, key)) {
      diagnostics.push(
        error('config-conflict', `'${key}' is set both in config() and in ${yaml!.file}; set it in one place`, {
          file: source.file,
          ...configCall,
        }, { related: [{ message: `also set here`, location: { file: yaml!.file, line: yaml!.keyLine(key) } }] }),
      );
    }
  }
  return validateModelConfig({ ...yamlData, ...calls }, (key) => configKeyLocation(source, sites, calls, key), diagnostics);
}

/** Where a config key of a model is set: its config() call, or its line in the YAML beside the model. */
function configKeyLocation(source: ModelSource, sites: CallSites, calls: Readonly<Record<string, unknown>>, key: string): Location {
  const yaml = source.yaml;
  if (Object.hasOwn(calls, key) || !yaml || key === 'checks' || !Object.hasOwn(yaml.data, key)) return { file: source.file, ...sites.config() };
  return { file: yaml.file, line: yaml.keyLine(key) };
}

/** The project's name, the first part of every qualified name: dbt_project.yml's, pipe.yaml's, else the folder's. */
function projectNameOf(files: ProjectFiles, settings: ProjectSettings): string {
  const dbtName = files.dbtProject?.data.name;
  return typeof dbtName === 'string' && dbtName !== '' ? dbtName : (settings.name ?? basename(files.root));
}

function seedNode(seed: SeedSource, fqn: readonly string[], diagnostics: Diagnostic[]): SeedNode {
  const y = seed.yaml;
  const data = y?.data ?? {};
  const at = (key: string): Location => ({ file: y!.file, line: y!.keyLine(key) });
  if (y) checkKeys(data, SEED_KEYS, 'seed', at, diagnostics);
  const columnTypes: Record<string, string> = {};
  const columnTypeLocations: Record<string, Location> = {};
  if (data.column_types !== undefined) {
    const ct = data.column_types;
    if (ct && typeof ct === 'object' && !Array.isArray(ct) && Object.values(ct).every((v) => typeof v === 'string')) {
      const seen = new Map<string, string>();
      for (const [column, type] of Object.entries(ct as Record<string, string>)) {
        const location = { file: y!.file, line: y!.pathLine(['column_types', column]) ?? y!.keyLine('column_types') };
        const other = seen.get(column.toLowerCase());
        if (other !== undefined) {
          diagnostics.push(error('bad-config', `column_types declares '${other}' and '${column}': DuckDB does not tell column names apart by case`, location));
          continue;
        }
        seen.set(column.toLowerCase(), column);
        columnTypes[column] = type;
        columnTypeLocations[column] = location;
      }
    } else {
      diagnostics.push(error('bad-config', 'column_types must map column names to DuckDB types, e.g. {amount: DECIMAL(10,2)}', at('column_types')));
    }
  }
  let schema = DEFAULT_SCHEMA;
  if (data.schema !== undefined) {
    if (typeof data.schema === 'string' && IDENTIFIER_RE.test(data.schema)) schema = data.schema;
    else diagnostics.push(error('bad-config', 'schema must be a plain identifier (letters, digits, underscores)', at('schema')));
  }
  const csvProblem = csvShapeProblem(seed);
  if (csvProblem) diagnostics.push(csvProblem);
  return {
    kind: 'seed',
    name: seed.name,
    file: seed.file,
    absPath: seed.absPath,
    hash: seedHash(seed.hash, { columnTypes, schema: schema === DEFAULT_SCHEMA ? undefined : schema }),
    schema,
    relation: relationName(schema, seed.name),
    tags: asStringList(data.tags) ?? [],
    columnTypes,
    columnTypeLocations,
    header: seed.shape.kind === 'header' ? { columns: seed.shape.columns, rows: seed.shape.rows } : { columns: 0, rows: false },
    upstream: [],
    fqn,
  };
}

/** A seed file DuckDB would misread, found from its first lines before anything runs. */
function csvShapeProblem(seed: SeedSource): Diagnostic | undefined {
  const shape = seed.shape;
  const firstLine = { file: seed.file, line: 1 };
  switch (shape.kind) {
    case 'blank':
      return error('bad-csv', `seed ${seed.name} has no header line: the file is empty`, { file: seed.file }, {
        hint: 'the first line of a seed names its columns, e.g. id,name; a file with only that line loads an empty table',
      });
    case 'blank-first-line':
      return error('bad-csv', `seed ${seed.name} has a blank first line: its header must be the first line`, firstLine);
    case 'unterminated-header':
      return error('bad-csv', `the header of seed ${seed.name} opens a quote that is never closed`, firstLine);
    case 'header':
      if (shape.separator === undefined) return undefined;
      return error('bad-csv', `the header of seed ${seed.name} is one column with a ${shape.separator === 'tab' ? 'tab' : `'${shape.separator}'`} in it: seeds are comma-separated`, firstLine, {
        hint: 'separate the fields with commas (a field that contains a comma goes in double quotes), or quote the header if it is one column',
      });
    default: {
      const never: never = shape;
      throw new Error(`internal error: CSV shape ${JSON.stringify(never)}`);
    }
  }
}
