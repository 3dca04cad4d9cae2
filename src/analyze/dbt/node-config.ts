import type { Diagnostic, Location } from '../../diagnostics/diagnostics.js';
import type { YamlSource } from '../../project/yaml-file.js';
import { levelsFor, mergeSettings, settingsOf, type ConfigSetting } from './config-tree.js';
import { sortDbtConfig } from './dbt-config.js';
import type { DbtProject } from './dbt-project.js';
import type { NodeProperties } from './properties.js';
import { SNAPSHOT_CONFIG_KEYS } from '../snapshot-config.js';

const isTemplate = (v: unknown): v is string => typeof v === 'string' && /\{\{|\{%/.test(v);
const isTypeMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keys whose templates are rendered when the model is planned, with `this`: not with the config. */
const RENDERED_LATER: ReadonlySet<string> = new Set(['sql_header', 'pre_hook', 'post_hook']);

/** Whether `value` holds a template, in lists and mappings too: asked of every setting of every node, so nothing is made to answer. */
function holdsTemplate(value: unknown): boolean {
  if (isTemplate(value)) return true;
  if (Array.isArray(value)) return value.some(holdsTemplate);
  return isTypeMap(value) && Object.values(value).some(holdsTemplate);
}

/** `value` with every text in it rendered, in lists and mappings too (`+tags: ["{{ target.name }}"]`), as dbt renders its YAML. */
function renderedDeep(value: unknown, render: (text: string) => unknown): unknown {
  if (isTemplate(value)) return render(value);
  if (Array.isArray(value)) return value.map((v) => renderedDeep(v, render));
  if (isTypeMap(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderedDeep(v, render)]));
  return value;
}

/**
 * A node's config from everything but its own config() call, in dbt's order of precedence:
 * the folder configs of dbt_project.yml (a dbt project only), then its entry in a properties
 * file, then pipe's YAML beside it. The config() call is applied over it by the caller, which
 * renders the template.
 */
export interface BaseConfig {
  /** What a dbt source set (folders, properties): dbt's way of combining applies when config() adds to it. */
  readonly dbt: ReadonlyMap<string, ConfigSetting>;
  /** pipe's YAML beside the node, whose keys are pipe's own. */
  readonly own?: YamlSource;
  /**
   * For a node of an installed package, the folder configs the project's own dbt_project.yml
   * gives it: dbt applies them last, over the node's config() too (how a project disables a
   * package's model or gives it a schema).
   */
  readonly over?: ReadonlyMap<string, ConfigSetting>;
  /** A text that changes when any of it does: cached analyses compare it. */
  readonly key: string;
}

/** dbt renders the Jinja in a config value (`+enabled: "{{ var('load', false) }}"`); this renders one. */
export type RenderSetting = (text: string, location: Location) => unknown;

export function baseConfig(
  section: 'models' | 'seeds' | 'snapshots',
  fqn: readonly string[],
  dbt: DbtProject | undefined,
  properties: NodeProperties | undefined,
  own: YamlSource | undefined,
  render: RenderSetting,
  /** The dbt_project.yml of the installed package the node is of, whose folder configs come first. */
  packageProject?: YamlSource,
): BaseConfig {
  // A pipe project's model has none of dbt's sources: nothing to merge (the common case, kept cheap).
  if (!dbt && !properties) return { dbt: NO_SETTINGS, own, key: '' };
  let settings = new Map<string, ConfigSetting>();
  const rendered = (level: ReadonlyMap<string, ConfigSetting>) => {
    let out: Map<string, ConfigSetting> | undefined;
    for (const [key, s] of level) {
      // A seed's column types are templates each (Fivetran's `id: "{%- if target.type == 'bigquery' -%} INT64 {%- else -%} bigint {%- endif -%}"`).
      if (key === 'column_types' && isTypeMap(s.value) && Object.values(s.value).some(isTemplate)) {
        const types = Object.fromEntries(Object.entries(s.value).map(([column, type]) => [column, isTemplate(type) ? String(render(type, s.location)).trim() : type]));
        (out ??= new Map(level)).set(key, { value: types, location: s.location });
        continue;
      }
      if (RENDERED_LATER.has(key) || !holdsTemplate(s.value)) continue;
      (out ??= new Map(level)).set(key, { value: renderedDeep(s.value, (text) => render(text, s.location)), location: s.location });
    }
    return out ?? level;
  };
  const folders = (file: YamlSource) => levelsFor(file, section, fqn).reduce((out: Map<string, ConfigSetting>, level) => mergeSettings(out, rendered(level)), new Map());
  const projectFile = packageProject ?? dbt?.file;
  if (projectFile) settings = folders(projectFile);
  if (properties) {
    settings = mergeSettings(settings, rendered(properties.config));
    if (properties.description !== undefined && !settings.has('description')) {
      settings.set('description', { value: properties.description, location: properties.location });
    }
  }
  const over = packageProject && dbt ? folders(dbt.file) : undefined;
  const text = (m: ReadonlyMap<string, ConfigSetting>) => [...m].map(([k, s]) => [k, s.value, s.location.file, s.location.line]);
  const key = settings.size === 0 && !over?.size ? '' : JSON.stringify([text(settings), over ? text(over) : []]);
  return { dbt: settings, own, key, ...(over?.size ? { over } : {}) };
}

const NO_SETTINGS: ReadonlyMap<string, ConfigSetting> = new Map();

/**
 * The value a key has before config(): pipe's YAML beside the node wins over dbt's sources, and
 * the project's folder configs of a package's node win over everything (see BaseConfig.over).
 */
export function baseValue(base: BaseConfig, key: string): unknown {
  if (base.over?.has(key)) return base.over.get(key)!.value;
  const own = base.own?.data;
  if (own && Object.hasOwn(own, key)) return own[key];
  return base.dbt.get(key)?.value;
}

/** The value a key ends with, given the node's config() calls (`calls`): theirs, unless the project overrides a package's node. */
export function finalValue(base: BaseConfig, calls: Readonly<Record<string, unknown>>, key: string): unknown {
  if (base.over?.has(key)) return base.over.get(key)!.value;
  return calls[key] ?? baseValue(base, key);
}

/** Keys that are seeds' only: a model that inherits them from a folder config ignores them (an external model reads its delimiter); so does a snapshot. */
const SEED_ONLY = new Set(['column_types', 'delimiter', 'quote_columns']);
const seedOnly = (key: string, materialized: unknown) => SEED_ONLY.has(key) && !(key === 'delimiter' && materialized === 'external');
/** Keys of a model's query or file: a seed that inherits them ignores them, as dbt's seeds do. */
const MODEL_ONLY = new Set(['sql_header', 'contract', 'location', 'format', 'options', 'plugin', 'glue_register', 'full_refresh']);

const SNAPSHOT_KEYS: ReadonlySet<string> = new Set(SNAPSHOT_CONFIG_KEYS);

const NO_LOCATIONS: ReadonlyMap<string, Location> = new Map();

export interface MergedConfig {
  /** The config to validate: pipe's keys, with dbt's settings translated (schema as dbt names it). */
  readonly record: Record<string, unknown>;
  /** Where each key of `record` was set by a dbt source; the others are located by the caller. */
  readonly dbtLocations: ReadonlyMap<string, Location>;
  /** Where each entry of a mapping key of `record` (column_types) was set by a dbt source, where known. */
  readonly dbtEntries?: ReadonlyMap<string, Readonly<Record<string, Location>>>;
  /** dbt settings pipe does not use, for the notice. */
  readonly unused: readonly { readonly key: string; readonly location: Location }[];
  /** dbt's `access` and `group` of a model, which change nothing built: the graph's nodes show them. */
  readonly access?: { readonly value: unknown; readonly location: Location };
  readonly group?: { readonly value: unknown; readonly location: Location };
  /** dbt's `meta`, merged over every level as dbt merges it: `model.meta` and the graph's nodes show it. */
  readonly meta?: { readonly value: unknown; readonly location: Location };
  /** In a dbt project, the value of any key its settings give, those pipe leaves aside too (`meta`, `grants`, `docs`): what dbt's `config.get()` reads. */
  readonly setting?: (key: string) => unknown;
}

/**
 * The config of a node: `base`, then its config() calls (`calls`, located by `locateCall`).
 * In a dbt project the calls combine with the rest as dbt combines them (tags add up) and a
 * custom schema becomes `<target>_<custom>`; in a pipe project config() and pipe's YAML are
 * pipe's own keys, validated strictly by the caller.
 */
/** How dbt's naming macros name one node, from its custom schema and alias (or none). */
export interface DbtNames {
  /** The warehouse's own database: a `database:` naming it is no other database. */
  readonly database: string;
  /** The databases the profile attaches, by name, where each is attached. */
  readonly attached?: ReadonlyMap<string, Location | undefined>;
  /** `config`: the node's merged config, as dbt's node holds it when it names the node. */
  readonly schema: (custom: string | undefined, config: Readonly<Record<string, unknown>>) => string;
  /** undefined: the node's own name, no alias. */
  readonly alias: (custom: string | undefined, config: Readonly<Record<string, unknown>>) => string | undefined;
}

export function mergeConfig(
  kind: 'model' | 'seed' | 'snapshot',
  base: BaseConfig,
  calls: Readonly<Record<string, unknown>>,
  locateCall: (key: string) => Location,
  /** In a dbt project, the schema and relation name a custom schema and alias (or none) give: dbt's generate_schema_name and generate_alias_name. */
  dbtNames: DbtNames | undefined,
  diagnostics: Diagnostic[],
): MergedConfig {
  const dbtProject = dbtNames !== undefined;
  if (!dbtProject && base.dbt.size === 0) {
    const { checks: _checks, ...ownConfig } = base.own?.data ?? {};
    return { record: { ...ownConfig, ...calls }, dbtLocations: NO_LOCATIONS, unused: [] };
  }
  let settings = base.dbt;
  let own: Record<string, unknown> = {};
  const ownData = base.own?.data ?? {};
  if (dbtProject) {
    // pipe's YAML beside a model of a dbt project sits between its properties and config().
    const { checks: _checks, ...ownConfig } = ownData;
    if (base.own) settings = mergeSettings(settings, settingsOf(ownConfig, (k) => ({ file: base.own!.file, line: base.own!.keyLine(k) })));
    settings = mergeSettings(settings, settingsOf(calls, locateCall));
    if (base.over) settings = mergeSettings(settings, base.over);
  } else {
    const { checks: _checks, ...ownConfig } = ownData;
    own = { ...ownConfig, ...calls };
  }
  const sorted = sortDbtConfig(settings, diagnostics, kind === 'snapshot' ? SNAPSHOT_KEYS : undefined, dbtNames?.database, dbtNames?.attached);
  const record: Record<string, unknown> = {};
  const dbtLocations = new Map<string, Location>();
  // A model's access and group are read (see MergedConfig), not left aside.
  const unused = kind === 'model' ? sorted.unused.filter((u) => u.key !== 'access' && u.key !== 'group') : [...sorted.unused];
  for (const [key, s] of sorted.read) {
    if (
      (kind === 'model' ? seedOnly(key, sorted.read.get('materialized')?.value) : kind === 'seed' ? MODEL_ONLY.has(key) : SEED_ONLY.has(key) || MODEL_ONLY.has(key)) ||
      (kind === 'model' && otherAdaptersPartitions(key, s.value, sorted.read.get('materialized')?.value, sorted.read.get('unique_key')?.value))
    ) {
      unused.push({ key, location: s.location });
      continue;
    }
    record[key] = s.value;
    dbtLocations.set(key, s.location);
  }
  Object.assign(record, own);
  for (const key of Object.keys(own)) dbtLocations.delete(key);
  if (dbtNames) {
    // dbt builds a model that names no materialization as a view.
    if (kind === 'model' && record.materialized === undefined) record.materialized = 'view';
    const custom = record.schema;
    // The naming macros see the whole config, the keys pipe leaves aside too (meta, grants, ...).
    const config: Record<string, unknown> = {};
    for (const [key, setting] of settings) config[key] = setting.value;
    Object.assign(config, record);
    record.schema = typeof custom === 'string' || custom === undefined || custom === null ? dbtNames.schema(typeof custom === 'string' ? custom : undefined, config) : custom;
    if (!dbtLocations.has('schema') && custom === undefined) dbtLocations.set('schema', { file: 'dbt_project.yml' });
    const alias = record.alias;
    if (typeof alias === 'string' || alias === undefined || alias === null) {
      const named = dbtNames.alias(typeof alias === 'string' ? alias : undefined, config);
      if (named !== undefined) record.alias = named;
    }
  }
  const access = settings.get('access');
  const group = settings.get('group');
  const meta = settings.get('meta');
  const setting = (key: string) => settings.get(key)?.value;
  const dbtEntries = new Map<string, Readonly<Record<string, Location>>>();
  for (const key of dbtLocations.keys()) {
    const entries = settings.get(key)?.entries;
    if (entries !== undefined) dbtEntries.set(key, entries);
  }
  return Object.assign({ record, dbtLocations, unused, ...(dbtEntries.size > 0 ? { dbtEntries } : {}) }, access === undefined ? {} : { access }, group === undefined ? {} : { group }, meta === undefined ? {} : { meta }, dbtProject ? { setting } : {});
}

/**
 * Another adapter's partitions (BigQuery's `partition_by={'field': ..., 'data_type': ...}`) on
 * a model that is not incremental, which pipe builds whole: said among the settings pipe does
 * not use, not ignored without a word (an incremental model's is refused, see model-config.ts).
 */
function otherAdaptersPartitions(key: string, value: unknown, materialized: unknown, uniqueKey: unknown): boolean {
  if (key !== 'partition_by' || value === null || value === undefined) return false;
  // An incremental model with a unique_key replaces rows by key: dbt-duckdb reads no partition_by there (Fivetran's [field] for Spark).
  if (materialized === 'incremental' && uniqueKey !== undefined && uniqueKey !== null) return true;
  return typeof value === 'object' && materialized !== 'incremental';
}
