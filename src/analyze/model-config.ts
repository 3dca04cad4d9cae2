import ms, { type StringValue } from 'ms';
import { error, type Diagnostic, type Location } from './diagnostics.js';
import { asStringList, checkKeys } from './validate-keys.js';

export const MATERIALIZATIONS = ['table', 'view', 'incremental', 'ephemeral'] as const;
export type Materialization = (typeof MATERIALIZATIONS)[number];

/** What an incremental model does when its query's columns no longer match its table's. */
export const SCHEMA_CHANGE_POLICIES = ['fail', 'append_new_columns', 'sync_all_columns'] as const;
export type SchemaChangePolicy = (typeof SCHEMA_CHANGE_POLICIES)[number];

export interface ModelConfig {
  readonly materialized: Materialization;
  /** Column whose value places a row in an interval; required for `incremental`. */
  readonly partition_by?: string;
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
  /** Incremental models: how a change of the query's columns reaches the table. */
  readonly on_schema_change: SchemaChangePolicy;
  /** `false` leaves the model out of the project, as if its file were not there. */
  readonly enabled: boolean;
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

  let materialized: Materialization = 'table';
  if (raw.materialized !== undefined) {
    if (MATERIALIZATIONS.includes(raw.materialized as Materialization)) {
      materialized = raw.materialized as Materialization;
    } else {
      bad('materialized', `materialized must be one of ${MATERIALIZATIONS.join(', ')}; got ${JSON.stringify(raw.materialized)}`);
    }
  }

  let partition_by: string | undefined;
  if (raw.partition_by !== undefined) {
    if (typeof raw.partition_by === 'string' && raw.partition_by.trim() !== '') partition_by = raw.partition_by.trim();
    else bad('partition_by', 'partition_by must be a column name');
  }
  if (materialized === 'incremental' && partition_by === undefined) {
    diagnostics.push(
      error('bad-config', "an incremental model needs partition_by: the column that places each row in a date", locate('materialized'), {
        hint: "e.g. config(materialized='incremental', partition_by='order_date')",
      }),
    );
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

  let on_schema_change: SchemaChangePolicy = 'fail';
  if (raw.on_schema_change !== undefined) {
    if (SCHEMA_CHANGE_POLICIES.includes(raw.on_schema_change as SchemaChangePolicy)) {
      on_schema_change = raw.on_schema_change as SchemaChangePolicy;
    } else if (raw.on_schema_change === 'ignore') {
      bad('on_schema_change', "on_schema_change 'ignore' is not supported: it would silently leave new columns out; use fail, append_new_columns or sync_all_columns");
    } else {
      bad('on_schema_change', `on_schema_change must be one of ${SCHEMA_CHANGE_POLICIES.join(', ')}; got ${JSON.stringify(raw.on_schema_change)}`);
    }
  }

  let enabled = true;
  if (raw.enabled !== undefined) {
    if (typeof raw.enabled === 'boolean') enabled = raw.enabled;
    else bad('enabled', 'enabled must be true or false');
  }

  return { materialized, partition_by, tags, depends_on_past, schema, description, on_schema_change, enabled, ...readRetry(raw, bad) };
}
