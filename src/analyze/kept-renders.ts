import type { Interval } from '../dates/dates.js';
import { sha256 } from '../project/pack-store.js';
import type { BaseConfig } from './dbt/node-config.js';
import type { RelationParts } from './jinja/relation.js';
import { keyJson } from './jinja/values.js';
import type { TableState } from './model-kinds.js';
import type { KeptRender, RenderCache } from './render-cache.js';
import type { SourceCall } from './sources.js';

/**
 * Which renders of models are kept between processes, under which key, and when one read back
 * still stands (the store is render-cache.ts).
 *
 * A render is kept when every name it looked up beyond its own variables (see
 * jinja/name-reads.ts) is one whose value the key holds: the date variables (the interval),
 * ref(), source() and `this` (where they live is checked when the render is read back),
 * config() and config.get() (the model's config from YAML and dbt_project.yml), var() (the
 * vars), is_incremental() (the table's state), `target` and `project_name` (the context every
 * key holds: see analyze.ts), the project's own macros (their text), and the functions of Jinja
 * and dbt that give the same output for the same arguments. Anything else (env_var, graph,
 * model, run_query, adapter, modules, invocation_id, a package's macros, dbt's namespace) makes
 * the render one that is made again every time.
 */

/** Names whose values are decided by what the key holds, or that are functions of their arguments alone. */
const KEYED_NAMES: ReadonlySet<string> = new Set([
  'ref',
  'source',
  'this',
  'config',
  'var',
  'is_incremental',
  // The analysis's target and project name, part of every key's context: each render has its
  // own copy of `target`, so what one render changes in it reaches no other.
  'target',
  'project_name',
  'range',
  'dict',
  'namespace',
  'zip',
  'zip_strict',
  'set',
  'set_strict',
  'return',
  'local_md5',
  'log',
  'print',
  // Jinja's constants, which Nunjucks' Jinja layer gives as names.
  'True',
  'False',
  'None',
]);

/** A model as its render's key needs it. */
export interface KeyedModel {
  readonly name: string;
  readonly file: string;
  readonly sql: string;
  readonly base: BaseConfig;
}

/** JSON of plain data, Maps and Sets as their entries: a text that changes when the value does. */
function stableJson(value: unknown): string {
  return keyJson(value, (v) => (v instanceof Map ? [...v] : v instanceof Set ? [...v] : typeof v === 'bigint' ? `${v}n` : v));
}

export class KeptRenders {
  private constructor(
    private readonly cache: RenderCache,
    private readonly context: string,
    /** The date the analysis renders for: a render for another (a backfill's dates) is not kept. */
    private readonly interval: Interval,
    /** Renders are read, not written: a process that keeps its own between analyses (watch, the UI). */
    private readonly readOnly: boolean,
    private readonly isMacro: (name: string) => boolean,
    private readonly sourcePlace: (source: string, table: string) => RelationParts | undefined,
  ) {}

  /** Keeping renders for a project, or undefined when pipe's build cannot be identified or the context is not plain data. */
  static of(
    cache: RenderCache,
    interval: Interval,
    readOnly: boolean,
    /** What decides every render of the project besides the model's own (its macros, packages, vars, target, versions): plain data, Maps and Sets. */
    context: unknown,
    isMacro: (name: string) => boolean,
    sourcePlace: (source: string, table: string) => RelationParts | undefined,
  ): KeptRenders | undefined {
    const build = cache.build();
    if (build === undefined) return undefined;
    try {
      return new KeptRenders(cache, sha256(stableJson([build, context])), interval, readOnly, isMacro, sourcePlace);
    } catch {
      // A cycle in vars (never from YAML): nothing kept.
      return undefined;
    }
  }

  /** Each model's key for the interval last asked, made once (a model is looked up several times per analysis). */
  private readonly modelKeys = new Map<string, { readonly model: KeyedModel; readonly start: number; readonly end: number; readonly key: string }>();

  /** The keys of one render of a model: its text, file, config and the date and table state it is rendered for; undefined for another date than the analysis's. */
  key(model: KeyedModel, interval: Interval, state: TableState): RenderKey | undefined {
    if (interval.start !== this.interval.start || interval.end !== this.interval.end) return undefined;
    let known = this.modelKeys.get(model.name);
    const same = known && known.start === interval.start && known.end === interval.end && known.model.sql === model.sql && known.model.file === model.file && known.model.base === model.base;
    if (!known || !same) {
      // Each part after its length, so that no two sets of parts give one text; YAML gives
      // plain data, whose JSON changes when it does.
      const own = model.base.own ? JSON.stringify(model.base.own.data) : '';
      const { name, file, sql } = model;
      const base = model.base.key;
      const key = sha256(`${this.context}\n${name.length}:${name}${file.length}:${file}${sql.length}:${sql}${base.length}:${base}${own.length}:${own}${interval.start}:${interval.end}`);
      known = { model, start: interval.start, end: interval.end, key };
      this.modelKeys.set(model.name, known);
    }
    return { any: `${known.key}-`, state: `${known.key}${state.tableExists ? 1 : 0}${state.fullRefresh ? 1 : 0}` };
  }

  /** Whether any render is kept: none on a first compile, when looking each one up is work for nothing. */
  hasAny(): boolean {
    return this.cache.hasAny();
  }

  /** Whether a render is kept under `key`, without reading it. */
  has(key: RenderKey | undefined): boolean {
    return key !== undefined && (this.cache.has(key.any) || this.cache.has(key.state));
  }

  /**
   * The render kept under `key`, when `this` and its sources still live where they did (`self`
   * says where `this` lives given its config() calls); undefined otherwise.
   */
  load(key: RenderKey, self: (configCalls: Readonly<Record<string, unknown>>) => RelationParts): KeptRender | undefined {
    for (const k of [key.any, key.state]) {
      const entry = this.cache.load(k);
      if (!entry) continue;
      if (samePlace(self(entry.render.configCalls), entry.self) && entry.render.sources.every((s, i) => samePlace(this.sourcePlace(s.source, s.table) ?? null, entry.places[i]))) return entry.render;
      // Moved since (a schema from the environment): made again, and kept anew.
      this.cache.reject(k);
    }
    return undefined;
  }

  /**
   * Keeps a render whose output its key decides: one that looked up `names` alone (see
   * KEYED_NAMES). One that did not ask is_incremental() is the same whatever the table's
   * state: kept for both (a run that built the table renders it as the compile before did).
   */
  keep(key: RenderKey, render: KeptRender, names: ReadonlySet<string>, dateNames: ReadonlySet<string>, self: RelationParts): boolean {
    if (this.readOnly) return false;
    for (const n of names) if (!KEYED_NAMES.has(n) && !dateNames.has(n) && !this.isMacro(n)) return false;
    this.cache.keep(render.readsState ? key.state : key.any, { render, self, places: render.sources.map((s: SourceCall) => this.sourcePlace(s.source, s.table) ?? null) });
    return true;
  }
}

/** Where a render is kept: `any` for one whose output does not depend on the table's state, `state` for one that asked is_incremental(). */
export interface RenderKey {
  readonly any: string;
  readonly state: string;
}

function samePlace(a: RelationParts | null, b: RelationParts | null): boolean {
  if (a === null || b === null) return a === b;
  return a.database === b.database && a.schema === b.schema && a.identifier === b.identifier;
}
