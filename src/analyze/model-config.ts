import ms, { type StringValue } from 'ms';
import { error, type Diagnostic, type Location } from '../diagnostics/diagnostics.js';
import { asStringList, checkKeys } from './validate-keys.js';
import { nameProblem } from '../project/names.js';
import { DEFAULT_MATERIALIZATION, isMaterialization, modelKind, MODEL_KINDS } from './model-kinds.js';

/** What an incremental model does when its query's columns no longer match its table's. */
export const SCHEMA_CHANGE_POLICIES = ['fail', 'append_new_columns', 'sync_all_columns'] as const;
export type SchemaChangePolicy = (typeof SCHEMA_CHANGE_POLICIES)[number];

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
  /** The table or view's name when it is not the model's (dbt's `alias`); the model keeps its name in ref() and --select. */
  readonly alias?: string;
}

export interface TableConfig extends CommonConfig {
  readonly materialized: 'table';
}

export interface ViewConfig extends CommonConfig {
  readonly materialized: 'view';
}

export interface IncrementalConfig extends CommonConfig {
  readonly materialized: 'incremental';
  /** Column whose value places a row in an interval. */
  readonly partition_by: string;
  /** How a change of the query's columns reaches the table. */
  readonly on_schema_change: SchemaChangePolicy;
}

export interface EphemeralConfig extends CommonConfig {
  readonly materialized: 'ephemeral';
}

/**
 * A model's validated config, by materialization: what a kind needs is required by its type.
 * A kind added here must have its entry in MATERIALIZATIONS (plan/materializations.ts).
 */
export type ModelConfig = TableConfig | ViewConfig | IncrementalConfig | EphemeralConfig;
export type Materialization = ModelConfig['materialized'];
export type ConfigOf<M extends Materialization> = Extract<ModelConfig, { readonly materialized: M }>;
/** What a materialization adds to the common config: its name and its own keys. */
export type OwnConfig<M extends Materialization> = M extends Materialization ? Omit<ConfigOf<M>, keyof CommonConfig> : never;

/**
 * The config keys that only some materializations read, validated for every model (a table
 * model accepts partition_by and ignores it); each materialization takes its own from them.
 */
export interface KindKeys {
  readonly partition_by?: string;
  readonly on_schema_change: SchemaChangePolicy;
}

export const MODEL_CONFIG_KEYS = [
  'materialized',
  'partition_by',
  'tags',
  'depends_on_past',
  'schema',
  'description',
  'retries',
  'retry_delay',
  'on_schema_change',
  'enabled',
  'alias',
] as const;

/** The most automatic retries pipe allows: more would hide real problems. */
export const MAX_RETRIES = 10;

/** Parses `retries` and `retry_delay` (e.g. '30s', '2m', or milliseconds as a number). */
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
    else bad('retry_delay', "retry_delay must be a duration like '30s', '5m' or '1h'");
  }
  return { retries, retry_delay_ms };
}

export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value !== 'string') return undefined;
  const n = ms(value.trim() as StringValue);
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;
}

export const DEFAULT_SCHEMA = 'main';

/** A schema name pipe accepts: one plain identifier, never quoted or dotted. */
export const IDENTIFIER_RE = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/**
 * Validates the merged config of one model. `locate` says where a key was set (the
 * config() call in the model file or the line in the YAML beside it).
 */
export function validateModelConfig(
  raw: Readonly<Record<string, unknown>>,
  locate: (key: string) => Location,
  diagnostics: Diagnostic[],
): ModelConfig {
  checkKeys(raw, MODEL_CONFIG_KEYS, 'config', locate, diagnostics);
  const bad = (key: string, message: string) => diagnostics.push(error('bad-config', message, locate(key)));

  let materialized: Materialization = DEFAULT_MATERIALIZATION;
  if (raw.materialized !== undefined) {
    if (isMaterialization(raw.materialized)) {
      materialized = raw.materialized;
    } else {
      bad('materialized', `materialized must be one of ${Object.keys(MODEL_KINDS).join(', ')}; got ${JSON.stringify(raw.materialized)}`);
    }
  }

  let partition_by: string | undefined;
  if (raw.partition_by !== undefined) {
    if (typeof raw.partition_by === 'string' && raw.partition_by.trim() !== '') partition_by = raw.partition_by.trim();
    else bad('partition_by', 'partition_by must be a column name');
  }
  // The materialization takes its keys here, so that a key it cannot do without is reported
  // before the common keys; on_schema_change is read now and reported in its place below.
  const policy = schemaChangePolicy(raw.on_schema_change);
  let own = modelKind(materialized).config({ partition_by, on_schema_change: policy.value });
  if ('missing' in own) {
    diagnostics.push(error('bad-config', own.message, locate('materialized'), { hint: own.hint }));
    // Reported: nothing runs. The model stays in the graph as the default kind meanwhile.
    own = { materialized: DEFAULT_MATERIALIZATION };
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

  let schema = DEFAULT_SCHEMA;
  if (raw.schema !== undefined) {
    if (typeof raw.schema === 'string' && IDENTIFIER_RE.test(raw.schema)) schema = raw.schema;
    else bad('schema', 'schema must be a plain identifier (letters, digits, underscores)');
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
    const problem = typeof raw.alias === 'string' ? nameProblem(raw.alias) : 'it must be text';
    if (problem === undefined) alias = raw.alias as string;
    else bad('alias', `alias '${String(raw.alias)}' cannot be a table name: ${problem}`);
  }

  return { ...own, tags, depends_on_past, schema, description, enabled, ...(alias === undefined ? {} : { alias }), ...readRetry(raw, bad) };
}

/** The on_schema_change policy set (`fail` when unset), and what is wrong with a value pipe refuses. */
function schemaChangePolicy(value: unknown): { value: SchemaChangePolicy; problem?: string } {
  if (value === undefined) return { value: 'fail' };
  if (SCHEMA_CHANGE_POLICIES.includes(value as SchemaChangePolicy)) return { value: value as SchemaChangePolicy };
  if (value === 'ignore') {
    return {
      value: 'fail',
      problem: "on_schema_change 'ignore' is not supported: it would silently leave new columns out; use fail, append_new_columns or sync_all_columns",
    };
  }
  return { value: 'fail', problem: `on_schema_change must be one of ${SCHEMA_CHANGE_POLICIES.join(', ')}; got ${JSON.stringify(value)}` };
}
