import ms, { type StringValue } from 'ms';
import { error, warning, type Diagnostic, type Location } from '../diagnostics/diagnostics.js';
import { didYouMean } from '../diagnostics/suggest.js';
import { asStringList, checkKeys } from './validate-keys.js';
import { isLocatedHook } from './dbt/config-tree.js';
import { aliasProblem, schemaNameProblem } from '../project/names.js';
import { reservedSchema } from '../warehouse/reserved-schemas.js';
import { MAX_INTERVALS, parseTimestamp } from '../dates/dates.js';
import { DEFAULT_MATERIALIZATION, isMaterialized, kindOf, MATERIALIZED, modelKind, type Resource } from './model-kinds.js';
import { readSnapshotKeys, SNAPSHOT_CONFIG_KEYS, type SnapshotKeys } from './snapshot-config.js';

/** What an incremental model does when its query's columns no longer match its table's. */
export const SCHEMA_CHANGE_POLICIES = ['fail', 'append_new_columns', 'sync_all_columns'] as const;
export type SchemaChangePolicy = (typeof SCHEMA_CHANGE_POLICIES)[number];

/**
 * A statement run with a model's build (dbt's `pre_hook` and `post_hook`): a template, rendered
 * when the model is planned with `this` as the model's relation. `transaction: false` runs it
 * outside the publishing transaction: a pre-hook before it opens, a post-hook after it commits.
 */
export interface Hook {
  readonly sql: string;
  readonly transaction: boolean;
  readonly location: Location;
}

/** dbt's `persist_docs`: the properties file's descriptions as comments on the relation and its columns. */
export interface PersistDocs {
  readonly relation: boolean;
  readonly columns: boolean;
}

/** The formats dbt-duckdb's external materialization writes. */
export const EXTERNAL_FORMATS = ['parquet', 'csv', 'json'] as const;
export type ExternalFormat = (typeof EXTERNAL_FORMATS)[number];

/** The config every model has, whatever its materialization. */
export interface CommonConfig {
  readonly tags: readonly string[];
  /** A date of this model waits for its previous date to succeed (backfills). */
  readonly depends_on_past: boolean;
  /** Schema the model is published in. */
  readonly schema: string;
  readonly description?: string;
  /** Automatic retries of transient errors (not in backfills unless --retries). */
  readonly retries?: number;
  /** Delay before the first retry, in milliseconds. */
  readonly retry_delay_ms?: number;
  /** `false` leaves the model out of the project, as if its file were not there. */
  readonly enabled: boolean;
  /**
   * dbt's `full_refresh: false`: --full-refresh does not rebuild the model from nothing; its
   * run is the incremental one it would be without the flag (a history that cannot be built
   * again is kept). Only `false` is kept: `true` is refused on an incremental model.
   */
  readonly full_refresh?: false;
  /** The table or view's name when it is not the model's (dbt's `alias`); the model keeps its name in ref() and --select. */
  readonly alias?: string;
  /** Run before the model's query, in order: those with `transaction: false` first, outside the transaction. */
  readonly pre_hook: readonly Hook[];
  /** Run after it is published, in order; those with `transaction: true` before the commit. */
  readonly post_hook: readonly Hook[];
  readonly persist_docs: PersistDocs;
  /** `contract: {enforced: true}`: the query's columns must be the properties file's, names and types. */
  readonly contract: boolean;
  /** Statements run in the model's session just before its query (a template, like a hook). */
  readonly sql_header?: { readonly sql: string; readonly location: Location };
  /**
   * The column of the model's rows that says when each happened (dbt's `event_time`): a
   * microbatch model that ref()s this one reads only the rows of its batch.
   */
  readonly event_time?: string;
  /**
   * `materialized:` as written where pipe refuses it (a project's or package's own
   * materialization, an unknown name): the model is not built, and stays in the graph as the
   * default kind meanwhile. Selection (`config.materialized:`) and listings read this name.
   */
  readonly refusedMaterialized?: string;
}

/** What a model's config says it is (`materialized:`), as users and dbt's selectors name it. */
export type Materialized = 'table' | 'view' | 'incremental' | 'external' | 'ephemeral' | 'snapshot';

export interface TableConfig extends CommonConfig {
  readonly kind: 'table';
  readonly materialized: 'table';
}

export interface ViewConfig extends CommonConfig {
  readonly kind: 'view';
  readonly materialized: 'view';
}

/** An incremental model whose runs replace the date (or hour) partitions of their interval. */
export interface IncrementalConfig extends CommonConfig {
  readonly kind: 'incremental';
  readonly materialized: 'incremental';
  /** Column whose value places a row in an interval. */
  readonly partition_by: string;
  /** How a change of the query's columns reaches the table. */
  readonly on_schema_change: SchemaChangePolicy;
  /** How many intervals (dates, or hours in an hourly run) before the run's own a run rebuilds, for rows that arrive late. */
  readonly lookback: number;
}

/** An incremental model whose runs replace rows by key: `merge` updates them, `delete+insert` deletes and inserts them. */
export interface UniqueKeyConfig<K extends 'merge' | 'delete+insert'> extends CommonConfig {
  readonly kind: K;
  readonly materialized: 'incremental';
  /** The columns that identify a row; each run's rows replace the table's rows with the same values. */
  readonly unique_key: readonly string[];
  readonly on_schema_change: SchemaChangePolicy;
}

/**
 * An incremental model whose runs add the rows its query returns (dbt's `append`, the query
 * choosing the new rows with an is_incremental() filter): a staged row the table already holds
 * fails the run, so that a re-run adds nothing twice.
 */
export interface AppendConfig extends CommonConfig {
  readonly kind: 'append';
  readonly materialized: 'incremental';
  readonly on_schema_change: SchemaChangePolicy;
}

export type MergeConfig = UniqueKeyConfig<'merge'>;
export type DeleteInsertConfig = UniqueKeyConfig<'delete+insert'>;

/** The batch sizes pipe's intervals can be. */
export const BATCH_SIZES = ['day', 'hour'] as const;
export type BatchSize = (typeof BATCH_SIZES)[number];

/**
 * dbt's microbatch model: built one batch (a day or an hour of `event_time`) at a time, each
 * batch replacing its own partition; the models it ref()s that declare `event_time` are read
 * for the batch only.
 */
export interface MicrobatchConfig extends CommonConfig {
  readonly kind: 'microbatch';
  readonly materialized: 'incremental';
  readonly event_time: string;
  readonly batch_size: BatchSize;
  /** Where the first build (and a --full-refresh) starts, epoch ms. */
  readonly begin: number;
  /** How many batches before the run's own a run rebuilds. */
  readonly lookback: number;
  /** `false`: the batches run one after another, oldest first. */
  readonly concurrent_batches?: boolean;
  readonly on_schema_change: SchemaChangePolicy;
}

export interface EphemeralConfig extends CommonConfig {
  readonly kind: 'ephemeral';
  readonly materialized: 'ephemeral';
}

/** dbt-duckdb's `external`: the query's rows written to a file, and a view over the file. */
export interface ExternalConfig extends CommonConfig {
  readonly kind: 'external';
  readonly materialized: 'external';
  /** The file, as configured (from the project folder); by default `<name>.<format>` there. */
  readonly location?: string;
  readonly format: ExternalFormat;
  /** A CSV file's field separator. */
  readonly delimiter?: string;
}

/** A snapshot (dbt's SCD type 2): each run records how the rows of its query changed. */
export interface SnapshotConfig extends CommonConfig, SnapshotKeys {
  readonly kind: 'snapshot';
  readonly materialized: 'snapshot';
}

/**
 * A model's validated config, by kind (how it is written): what a kind needs is required by
 * its type. A kind added here must have its entry in MATERIALIZATIONS (plan/materializations.ts).
 */
export type ModelConfig =
  | TableConfig
  | ViewConfig
  | IncrementalConfig
  | MergeConfig
  | DeleteInsertConfig
  | AppendConfig
  | MicrobatchConfig
  | EphemeralConfig
  | ExternalConfig
  | SnapshotConfig;
/** How a model is written: one entry of MATERIALIZATIONS each. */
export type Materialization = ModelConfig['kind'];
export type ConfigOf<M extends Materialization> = Extract<ModelConfig, { readonly kind: M }>;
/**
 * What a materialization adds to the common config: its names and its own keys. `event_time`
 * is common (any model may declare it for the microbatch models that read it) and a key of
 * its own to a microbatch model, which cannot do without it.
 */
export type OwnConfig<M extends Materialization> = M extends Materialization ? Omit<ConfigOf<M>, Exclude<keyof CommonConfig, 'event_time'>> : never;

/**
 * What a dbt project (or an installed package) defines of its own that pipe does not run, each
 * refused by name rather than read as a misspelt built-in: whose it is ("the project's", "the
 * package x's"), or undefined when none defines it.
 */
export interface OwnDefinitions {
  /** A `{% materialization name %}` block. */
  readonly materialization: (name: string) => string | undefined;
  /** A custom incremental strategy: a `get_incremental_<name>_sql` macro. */
  readonly strategy: (name: string) => string | undefined;
}

/** dbt's incremental strategies, as `incremental_strategy` names them. */
export const INCREMENTAL_STRATEGIES = ['append', 'delete+insert', 'merge', 'microbatch'] as const;
export type IncrementalStrategy = (typeof INCREMENTAL_STRATEGIES)[number];

/**
 * The config keys that only some materializations read, validated for every model (a table
 * model accepts partition_by and ignores it); each materialization takes its own from them.
 */
export interface KindKeys {
  readonly partition_by?: string;
  readonly on_schema_change: SchemaChangePolicy;
  readonly location?: string;
  readonly format?: ExternalFormat;
  readonly delimiter?: string;
  /** A snapshot's keys; read for snapshots only. */
  readonly snapshot?: SnapshotKeys;
  readonly unique_key?: readonly string[];
  readonly incremental_strategy?: IncrementalStrategy;
  readonly event_time?: string;
  readonly batch_size?: BatchSize;
  readonly begin?: number;
  readonly lookback?: number;
  readonly concurrent_batches?: boolean;
  /** An incremental model that says neither strategy, unique_key nor partition_by appends (dbt-duckdb's default, a dbt project's). */
  readonly appendsByDefault?: boolean;
  /** The first of `pre_hook` and `post_hook` that the model sets, if it sets one. */
  readonly hooks?: 'pre_hook' | 'post_hook';
}

/** The keys of dbt's incremental strategies, which pipe reads in both kinds of project. */
export const INCREMENTAL_KEYS = ['unique_key', 'incremental_strategy', 'event_time', 'batch_size', 'begin', 'lookback', 'concurrent_batches'] as const;

export const MODEL_CONFIG_KEYS = [
  'materialized',
  'partition_by',
  'tags',
  'depends_on_past',
  'full_refresh',
  'schema',
  'description',
  'retries',
  'retry_delay',
  'on_schema_change',
  'enabled',
  'alias',
  'pre_hook',
  'post_hook',
  'persist_docs',
  'contract',
  'sql_header',
  'location',
  'format',
  'delimiter',
  'options',
  'plugin',
  'glue_register',
  ...INCREMENTAL_KEYS,
] as const;

/** The most automatic retries pipe allows: more would hide real problems. */
export const MAX_RETRIES = 10;

/** Parses `retries` and `retry_delay` (a duration: '30s', '2m', or a number of seconds). */
export function readRetry(
  raw: Readonly<Record<string, unknown>>,
  bad: (key: string, message: string) => void,
): { retries?: number; retry_delay_ms?: number } {
  let retries: number | undefined;
  if (raw.retries !== undefined) {
    const n = raw.retries;
    if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= MAX_RETRIES) retries = n;
    else bad('retries', `retries must be a whole number from 0 to ${MAX_RETRIES}`);
  }
  let retry_delay_ms: number | undefined;
  if (raw.retry_delay !== undefined) {
    const d = parseDuration(raw.retry_delay);
    if (d !== undefined) retry_delay_ms = d;
    else bad('retry_delay', `retry_delay must be ${DURATION_FORMS}, got ${JSON.stringify(raw.retry_delay)}`);
  }
  return { retries, retry_delay_ms };
}

/** How a duration may be written, for messages and help. */
export const DURATION_FORMS = "a duration such as '30s', '2m', '1h' or a number of seconds";

/**
 * A duration in milliseconds: `30s`, `2m`, `1.5h`, `500ms`, or a number alone, which is
 * seconds, as `timeout 60`, Airflow's `retry_delay` and dbt's `*_seconds` settings read it.
 * Every duration pipe takes (command-line options and settings alike) is read here.
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const n = ms(text as StringValue);
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;
}

export const DEFAULT_SCHEMA = 'main';


const SNAPSHOT_KEYS: readonly string[] = [...MODEL_CONFIG_KEYS, ...SNAPSHOT_CONFIG_KEYS];

/**
 * Validates the merged config of one model, or of a snapshot (`resource`). `locate` says where
 * a key was set (the config() call in the model file or the line in the YAML beside it).
 */
export function validateModelConfig(
  raw: Readonly<Record<string, unknown>>,
  locate: (key: string) => Location,
  diagnostics: Diagnostic[],
  resource: Resource = 'model',
  /** What the project or an installed package defines of its own that pipe does not run (see OwnDefinitions). */
  owned?: OwnDefinitions,
  /** The node's name: what a refusal of how it is built keeps from being built (Diagnostic.blocks). */
  node?: string,
  /**
   * A dbt project's model: as dbt-duckdb's default, an incremental model with no strategy, key
   * or partition appends (a pipe project's says how), and its alias may start with a digit.
   */
  dbtProject = false,
  /** A full refresh (`--full-refresh`) is asked: a full_refresh: true rendered for it (snowplow's `allow_refresh()`, true only then) asks the same, no more. */
  fullRefreshRun = false,
): ModelConfig {
  // What is wrong with a node's config keeps that node from being built, and only the commands that would build it from going on.
  const blocking = (d: Diagnostic): Diagnostic => (node === undefined || d.severity !== 'error' ? d : { ...d, blocks: [node] });
  const keyProblems: Diagnostic[] = [];
  checkKeys(raw, resource === 'snapshot' ? SNAPSHOT_KEYS : MODEL_CONFIG_KEYS, 'config', locate, keyProblems);
  for (const d of keyProblems) diagnostics.push(blocking(d));
  /** The keys found bad, whose consequences are not reported again (made at the first: most models have none). */
  let reported: Set<string> | undefined;
  // A model switched off is never built: how it would be is no matter (another adapter's
  // variant, `enabled=is_adapter('bigquery')` with BigQuery's partition_by; a metadata append).
  const off = raw.enabled === false;
  const bad = (key: string, message: string, hint?: string) => {
    (reported ??= new Set()).add(key);
    if (!off) diagnostics.push(blocking(error('bad-config', message, locate(key), hint === undefined ? {} : { hint })));
  };
  /** What dbt builds and pipe will not, to keep every write idempotent: it stops this node alone. */
  const refused = (key: string, problem: string, hint?: string) => {
    (reported ??= new Set()).add(key);
    if (!off) diagnostics.push({ ...error('bad-config', problem, locate(key), hint === undefined ? {} : { hint }), ...(node === undefined ? {} : { blocks: [node] }) });
  };

  // A snapshot is always one; a model is one of the kinds models have.
  let materialized: Materialized = resource === 'snapshot' ? 'snapshot' : DEFAULT_MATERIALIZATION;
  let refusedMaterialized: string | undefined;
  if (raw.materialized !== undefined) {
    const words = (Object.keys(MATERIALIZED) as Materialized[]).filter((w) => MATERIALIZED[w].resource === resource);
    if (isMaterialized(raw.materialized) && MATERIALIZED[raw.materialized].resource === resource) {
      materialized = raw.materialized;
    } else if (resource === 'snapshot') {
      bad('materialized', `a snapshot is materialized as a snapshot; got ${JSON.stringify(raw.materialized)}`, 'remove materialized from the snapshot\'s config');
    } else if (isMaterialized(raw.materialized)) {
      bad('materialized', `materialized '${raw.materialized}' is not a model's: a snapshot is a {% snapshot %} block under the snapshot folders, or a snapshots: entry with relation: in a properties file`, `a model is one of ${words.join(', ')}`);
    } else if (typeof raw.materialized === 'string' && owned?.materialization(raw.materialized) !== undefined) {
      refused(
        'materialized',
        `materialized '${raw.materialized}' is ${owned.materialization(raw.materialized)} own materialization (a {% materialization %} block): pipe builds models its own ways, to keep every write atomic and idempotent`,
        `materialize it as one of ${words.join(', ')}, with pre_hook/post_hook for what the materialization adds`,
      );
    } else {
      bad('materialized', `materialized must be one of ${words.join(', ')}; got ${JSON.stringify(raw.materialized)}`, typeof raw.materialized === 'string' ? didYouMean(raw.materialized, words) : undefined);
    }
    // Not taken: the name as written, for selection and listings.
    if (materialized !== raw.materialized && typeof raw.materialized === 'string') refusedMaterialized = raw.materialized;
  }

  let partition_by: string | undefined;
  // None is unset, as in dbt (a package's `partition_by=none if target.type != 'bigquery'`).
  if (raw.partition_by !== undefined && raw.partition_by !== null) {
    if (materialized === 'external') bad('partition_by', EXTERNAL_PARTITION_BY);
    else if (typeof raw.partition_by === 'string' && raw.partition_by.trim() !== '') partition_by = raw.partition_by.trim();
    else if (materialized === 'incremental') bad('partition_by', 'partition_by must be a column name', partitionHint(raw.partition_by, raw.unique_key !== undefined && raw.unique_key !== null));
    // Another adapter's form (BigQuery's {'field': ..., 'data_type': ...}) on a model that does not read it: ignored, as by dbt-duckdb.
  }
  const external = externalKeys(raw, materialized, bad);
  // The materialization takes its keys here, so that a key it cannot do without is reported
  // before the common keys; on_schema_change is read now and reported in its place below.
  const policy = schemaChangePolicy(raw.on_schema_change, dbtProject);
  const snapshot = resource === 'snapshot' ? readSnapshotKeys(raw, bad) : undefined;
  // A snapshot's unique_key is its own (snapshot-config.ts).
  const incremental = resource === 'snapshot' ? {} : incrementalKeys(raw, materialized, bad, refused, owned);
  const hooks = (['pre_hook', 'post_hook'] as const).find((k) => hasHooks(raw[k]));
  // Object.assign, not properties written after spreads, which V8 defines on a slow path (for every model).
  const keys: KindKeys = Object.assign({ partition_by, on_schema_change: policy.value }, external, { snapshot }, incremental, hooks === undefined ? {} : { hooks }, dbtProject ? { appendsByDefault: true } : {});
  const kind = kindOf(materialized, keys);
  if (kind === 'append' && keys.unique_key !== undefined && !off) {
    diagnostics.push(
      warning('unused-unique-key', `unique_key is not used by incremental_strategy 'append', as dbt's append ignores it: rows are added, none replaced by key (a row equal in every column to one the table holds is refused)`, locate('unique_key'), {
        hint: "incremental_strategy 'merge' or 'delete+insert' replaces rows by key",
      }),
    );
  }
  let own = typeof kind === 'string' ? modelKind(kind).config(keys) : kind;
  if ('problem' in own) {
    // At the key to change when the model sets it, else where it says what it is.
    const at = raw[own.key] !== undefined && raw[own.key] !== null ? own.key : 'materialized';
    if (!reported?.has(own.key)) refused(at, own.problem, own.hint);
    // Reported: the model is not built. It stays in the graph as the default kind meanwhile.
    own = { kind: DEFAULT_MATERIALIZATION, materialized: DEFAULT_MATERIALIZATION };
  }

  let tags: string[] = [];
  if (raw.tags !== undefined) {
    const list = asStringList(raw.tags);
    if (list) tags = list;
    else bad('tags', 'tags must be a list of strings');
  }

  let depends_on_past = false;
  if (raw.depends_on_past !== undefined) {
    if (typeof raw.depends_on_past === 'boolean') depends_on_past = raw.depends_on_past;
    else bad('depends_on_past', 'depends_on_past must be true or false');
  }

  let full_refresh: false | undefined;
  if (raw.full_refresh !== undefined && raw.full_refresh !== null) {
    if (typeof raw.full_refresh !== 'boolean') bad('full_refresh', 'full_refresh must be true or false');
    else if (!raw.full_refresh) full_refresh = false;
    else if (materialized === 'incremental' && !fullRefreshRun) {
      refused(
        'full_refresh',
        'full_refresh: true would rebuild the model from nothing on every run, which pipe does not do to an incremental model',
        "materialized='table' rebuilds it every run; full_refresh: false keeps its history through --full-refresh",
      );
    }
  }

  let schema = DEFAULT_SCHEMA;
  // A snapshot's target_schema is its schema as written, over `schema` (as dbt has it).
  const schemaKey = resource === 'snapshot' && raw.target_schema !== undefined && raw.target_schema !== null && raw.target_schema !== '' ? 'target_schema' : 'schema';
  if (raw[schemaKey] !== undefined) {
    // A dbt profile's target schema may be empty, for a generate_schema_name that never uses it.
    if (raw[schemaKey] === '') bad(schemaKey, `${node ?? 'the node'}'s ${schemaKey} comes out empty, and a table needs a schema`, "the profile target's schema: is empty: set it, or have generate_schema_name give this node one");
    else if (typeof raw[schemaKey] !== 'string' || schemaNameProblem(raw[schemaKey], dbtProject) !== undefined) {
      bad(schemaKey, `${schemaKey} ${schemaNameProblem(String(raw[schemaKey]), dbtProject)}`);
    }
    else if (reservedSchema(raw[schemaKey]) !== undefined) bad(schemaKey, reservedSchema(raw[schemaKey])!);
    else schema = raw[schemaKey];
  }

  let description: string | undefined;
  if (raw.description !== undefined) {
    if (typeof raw.description === 'string') description = raw.description;
    else bad('description', 'description must be text');
  }

  if (policy.problem !== undefined) bad('on_schema_change', policy.problem);

  let enabled = true;
  if (raw.enabled !== undefined) {
    if (typeof raw.enabled === 'boolean') enabled = raw.enabled;
    else bad('enabled', 'enabled must be true or false');
  }

  let alias: string | undefined;
  if (raw.alias !== undefined && raw.alias !== null) {
    const problem = typeof raw.alias === 'string' ? aliasProblem(raw.alias, dbtProject) : 'it must be text';
    if (problem === undefined) alias = raw.alias as string;
    else bad('alias', `alias '${String(raw.alias)}' cannot be a table name: ${problem}`);
  }

  const pre_hook = readHooks(raw.pre_hook, 'pre_hook', locate, diagnostics);
  const post_hook = readHooks(raw.post_hook, 'post_hook', locate, diagnostics);
  const persist_docs = readPersistDocs(raw.persist_docs, bad);
  const contract = readContract(raw.contract, bad);
  if (contract && materialized === 'ephemeral') bad('contract', 'an ephemeral model cannot have an enforced contract: it is inlined into its readers, never built (dbt refuses it too)');
  let sql_header: CommonConfig['sql_header'];
  if (raw.sql_header !== undefined && raw.sql_header !== null) {
    if (typeof raw.sql_header === 'string') sql_header = raw.sql_header.trim() === '' ? undefined : { sql: raw.sql_header, location: locate('sql_header') };
    else bad('sql_header', 'sql_header must be SQL text');
  }

  return Object.assign(
    {},
    keys.event_time === undefined ? {} : { event_time: keys.event_time },
    own,
    { tags, depends_on_past, schema, description, enabled },
    full_refresh === undefined ? {} : { full_refresh },
    alias === undefined ? {} : { alias },
    readRetry(raw, bad),
    { pre_hook, post_hook, persist_docs, contract },
    sql_header === undefined ? {} : { sql_header },
    refusedMaterialized === undefined ? {} : { refusedMaterialized },
  );
}

/** Whether a hook key holds a statement (dbt's folder configs may leave an empty list or text). */
function hasHooks(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasHooks);
  if (isLocatedHook(value)) return hasHooks(value.hook);
  return typeof value === 'string' ? value.trim() !== '' : value !== undefined && value !== null;
}

/** A column name as config gives one: text without quotes, dots or commas. */
const COLUMN_RE = /^[^\s"'.,;()]+$/u;

/**
 * The keys of dbt's incremental strategies, each checked for its type (a wrong one is reported
 * at its key and left out); which kind reads them, and what it needs, is model-kinds.ts's.
 */
function incrementalKeys(
  raw: Readonly<Record<string, unknown>>,
  materialized: Materialized,
  bad: (key: string, message: string, hint?: string) => void,
  refused: (key: string, problem: string, hint?: string) => void,
  owned: OwnDefinitions | undefined,
): Pick<KindKeys, (typeof INCREMENTAL_KEYS)[number]> {
  const out: { -readonly [K in (typeof INCREMENTAL_KEYS)[number]]?: KindKeys[K] } = {};
  const given = (key: string) => raw[key] !== undefined && raw[key] !== null;
  if (given('event_time')) {
    const v = raw.event_time;
    if (typeof v === 'string' && COLUMN_RE.test(v.trim())) out.event_time = v.trim();
    else bad('event_time', 'event_time must be a column name');
  }
  if (given('unique_key')) {
    const key = raw.unique_key;
    // A text of names with commas ('id, k2') is those columns, as dbt-duckdb's delete+insert reads it ((id, k2) in (...)).
    const list = typeof key === 'string' ? key.split(',').map((k) => k.trim()) : Array.isArray(key) ? key.map((k) => (typeof k === 'string' ? k.trim() : k)) : undefined;
    if (list && list.length > 0 && list.every((k) => typeof k === 'string' && COLUMN_RE.test(k))) out.unique_key = list as string[];
    else bad('unique_key', "unique_key must be a column name or a list of them, e.g. unique_key='order_id' or ['order_id', 'line']");
  }
  // Another kind of model does not read it, as dbt's table and view ignore it (a package's
  // `incremental_strategy='insert_overwrite'` of a model that is a table on DuckDB).
  if (given('incremental_strategy') && materialized === 'incremental') {
    const strategy = raw.incremental_strategy;
    if (INCREMENTAL_STRATEGIES.includes(strategy as IncrementalStrategy)) out.incremental_strategy = strategy as IncrementalStrategy;
    else if (strategy === 'insert_overwrite') {
      bad('incremental_strategy', "incremental_strategy 'insert_overwrite' is not one of dbt-duckdb's; pipe replaces a date partition with partition_by (and no incremental_strategy)");
    } else if (typeof strategy === 'string' && owned?.strategy(strategy) !== undefined) {
      refused(
        'incremental_strategy',
        `incremental_strategy '${strategy}' is ${owned.strategy(strategy)} own strategy (a get_incremental_${strategy}_sql macro): pipe writes incremental models its own ways, to keep every write atomic and idempotent`,
        `use one of ${INCREMENTAL_STRATEGIES.join(', ')} (merge with unique_key for an upsert), with pre_hook/post_hook for what the strategy adds`,
      );
    } else bad('incremental_strategy', `incremental_strategy must be one of ${INCREMENTAL_STRATEGIES.join(', ')}; got ${JSON.stringify(strategy)}`, typeof strategy === 'string' ? didYouMean(strategy, INCREMENTAL_STRATEGIES) : undefined);
  }
  if (given('batch_size')) {
    const size = raw.batch_size;
    if (BATCH_SIZES.includes(size as BatchSize)) out.batch_size = size as BatchSize;
    else if (size === 'month' || size === 'year') bad('batch_size', `batch_size '${size}' is not supported: pipe's intervals are days and hours; use day or hour`);
    else bad('batch_size', `batch_size must be one of ${BATCH_SIZES.join(', ')}; got ${JSON.stringify(size)}`);
  }
  if (given('begin')) {
    const begin = raw.begin;
    const at = begin instanceof Date ? begin.getTime() : typeof begin === 'string' ? parseTimestamp(begin) : undefined;
    if (at !== undefined && !Number.isNaN(at)) out.begin = at;
    else bad('begin', `begin must be a date or a date and time (ISO 8601, UTC), e.g. '2024-01-01'; got ${JSON.stringify(begin)}`);
  }
  if (given('lookback')) {
    const lookback = raw.lookback;
    if (typeof lookback === 'number' && Number.isInteger(lookback) && lookback >= 0 && lookback < MAX_INTERVALS) out.lookback = lookback;
    else if (typeof lookback === 'number' && Number.isInteger(lookback) && lookback >= MAX_INTERVALS) {
      bad('lookback', `lookback is ${lookback.toLocaleString('en-US')} intervals before the run's own: a build plans at most ${MAX_INTERVALS.toLocaleString('en-US')}`);
    } else bad('lookback', `lookback must be a whole number, 0 or more: how many dates (hours in an hourly run, batches of a microbatch model) before the run's own a run rebuilds; got ${JSON.stringify(lookback)}`);
  }
  if (given('concurrent_batches')) {
    if (typeof raw.concurrent_batches === 'boolean') out.concurrent_batches = raw.concurrent_batches;
    else bad('concurrent_batches', 'concurrent_batches must be true or false');
  }
  return out;
}

/** What to write instead of BigQuery's `partition_by={'field': 'day', 'data_type': 'date'}`. */
function partitionHint(value: unknown, keyed: boolean): string | undefined {
  const field = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>).field : undefined;
  if (typeof field !== 'string') return undefined;
  // With a unique_key the key says which rows a run replaces: a partition would say it twice.
  if (keyed) return "that is BigQuery's form, where it lays the table out; on DuckDB the model's unique_key says which rows a run replaces: remove partition_by (partition_by=none)";
  return `that is BigQuery's form; pipe replaces the dates of a date column: partition_by='${field}'`;
}

const EXTERNAL_PARTITION_BY =
  "partition_by is not supported on an external model: pipe writes one file and renames it into place, so readers never see part of it (a folder of partitions cannot be swapped that way); remove partition_by";

/** dbt-duckdb's write options that pipe does not pass on: each would write another file than pipe's. */
const EXTERNAL_REFUSED: Readonly<Record<string, string>> = {
  options: 'pipe writes the file with the format and delimiter keys only; remove options:',
  plugin: 'pipe registers external files in no catalog; remove plugin:',
  glue_register: 'pipe registers external files in no catalog; remove glue_register:',
};

/** The keys of an external model, its format from the file's extension when not set (as dbt-duckdb). */
function externalKeys(raw: Readonly<Record<string, unknown>>, materialized: Materialized, bad: (key: string, message: string) => void): Pick<KindKeys, 'location' | 'format' | 'delimiter'> {
  for (const [key, hint] of Object.entries(EXTERNAL_REFUSED)) {
    if (raw[key] !== undefined && raw[key] !== null && raw[key] !== false) bad(key, `config '${key}' is not supported by pipe: ${hint}`);
  }
  if (materialized !== 'external') return {};
  let location: string | undefined;
  if (raw.location !== undefined && raw.location !== null) {
    // dbt-duckdb renders the location as the model runs (out/{{ this.identifier }}.csv): pipe would write a file named with the braces.
    if (typeof raw.location === 'string' && /\{[{%]/.test(raw.location)) bad('location', `location holds Jinja (${raw.location.trim()}), which dbt-duckdb renders as the model runs and pipe does not: write the path out, or leave location out for the file <external_root>/<the model's name>.<format>`);
    else if (typeof raw.location === 'string' && raw.location.trim() !== '' && !/^[A-Za-z][A-Za-z0-9+.-]+:\/\//.test(raw.location)) location = raw.location.trim();
    else bad('location', 'location must be a file path (from the project folder); remote locations (s3://, ...) cannot be renamed into place');
  }
  let format: ExternalFormat | undefined;
  if (raw.format !== undefined && raw.format !== null) {
    if (EXTERNAL_FORMATS.includes(raw.format as ExternalFormat)) format = raw.format as ExternalFormat;
    else bad('format', `format must be one of ${EXTERNAL_FORMATS.join(', ')}; got ${JSON.stringify(raw.format)}`);
  }
  const extension = location?.split('/').pop()?.split('.').slice(1).pop()?.toLowerCase();
  let delimiter: string | undefined;
  if (raw.delimiter !== undefined && raw.delimiter !== null) {
    if (typeof raw.delimiter === 'string' && raw.delimiter.length === 1 && raw.delimiter !== "'") delimiter = raw.delimiter;
    else bad('delimiter', `delimiter must be one character, got ${JSON.stringify(raw.delimiter)}`);
  }
  format ??= EXTERNAL_FORMATS.includes(extension as ExternalFormat) ? (extension as ExternalFormat) : delimiter !== undefined ? 'csv' : 'parquet';
  if (delimiter !== undefined && format !== 'csv') bad('delimiter', `delimiter is for csv files; this model writes ${format}`);
  return { location, format, delimiter };
}

/**
 * A model's hooks: one statement, `{sql, transaction}`, or a list of them (dbt's forms). In a
 * dbt project each comes with where it is written; pipe's own config places them at the key.
 */
export function readHooks(value: unknown, key: 'pre_hook' | 'post_hook', locate: (key: string) => Location, diagnostics: Diagnostic[]): Hook[] {
  // Most models have none: where a key is set is looked up only for hooks to place.
  if (value === undefined || value === null) return [];
  const out: Hook[] = [];
  const read = (item: unknown, location: Location): void => {
    if (isLocatedHook(item)) return read(item.hook, item.location);
    if (item === null || item === undefined) return;
    if (Array.isArray(item)) return item.forEach((i) => read(i, location));
    if (typeof item === 'string') {
      if (item.trim() !== '') out.push({ sql: item, transaction: true, location });
      return;
    }
    if (typeof item === 'object' && typeof (item as Record<string, unknown>).sql === 'string') {
      const { sql, transaction, ...rest } = item as Record<string, unknown>;
      const extra = Object.keys(rest);
      if (extra.length > 0) diagnostics.push(error('bad-config', `a ${key} takes sql and transaction, not ${extra.join(', ')}`, location));
      else if (transaction !== undefined && typeof transaction !== 'boolean') diagnostics.push(error('bad-config', `transaction of a ${key} must be true or false`, location));
      else if ((sql as string).trim() !== '') out.push({ sql: sql as string, transaction: transaction !== false, location });
      return;
    }
    diagnostics.push(error('bad-config', `${key} must be SQL, {sql: ..., transaction: true|false}, or a list of them`, location));
  };
  read(value, locate(key));
  return out;
}

export function readPersistDocs(value: unknown, bad: (key: string, message: string) => void): PersistDocs {
  const none = { relation: false, columns: false };
  if (value === undefined || value === null) return none;
  const v = value as Record<string, unknown>;
  if (typeof value !== 'object' || Array.isArray(value) || Object.keys(v).some((k) => k !== 'relation' && k !== 'columns') || [v.relation, v.columns].some((b) => b !== undefined && typeof b !== 'boolean')) {
    bad('persist_docs', 'persist_docs must be {relation: true|false, columns: true|false}');
    return none;
  }
  return { relation: v.relation === true, columns: v.columns === true };
}

function readContract(value: unknown, bad: (key: string, message: string) => void): boolean {
  if (value === undefined || value === null) return false;
  const v = value as Record<string, unknown>;
  if (typeof value !== 'object' || Array.isArray(value) || Object.keys(v).some((k) => k !== 'enforced' && k !== 'alias_types') || (v.enforced !== undefined && typeof v.enforced !== 'boolean')) {
    bad('contract', 'contract must be {enforced: true|false}');
    return false;
  }
  return v.enforced === true;
}

/**
 * The on_schema_change policy set (`fail` when unset), and what is wrong with a value pipe
 * refuses. dbt's `ignore` (its default, which dbt projects often set) is read as `fail` in a
 * dbt project: a run whose columns changed stops and names them, where dbt would leave the new
 * columns out without a word; a pipe project is told to choose.
 */
function schemaChangePolicy(value: unknown, dbtProject: boolean): { value: SchemaChangePolicy; problem?: string } {
  if (value === undefined) return { value: 'fail' };
  if (SCHEMA_CHANGE_POLICIES.includes(value as SchemaChangePolicy)) return { value: value as SchemaChangePolicy };
  if (value === 'ignore' && dbtProject) return { value: 'fail' };
  if (value === 'ignore') {
    return {
      value: 'fail',
      problem: "on_schema_change 'ignore' is not supported: it would silently leave new columns out; use fail, append_new_columns or sync_all_columns",
    };
  }
  return { value: 'fail', problem: `on_schema_change must be one of ${SCHEMA_CHANGE_POLICIES.join(', ')}; got ${JSON.stringify(value)}` };
}
