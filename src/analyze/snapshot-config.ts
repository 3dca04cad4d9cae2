import { quoteIdent } from '../sql/sql-text.js';

/**
 * The config of a snapshot (dbt's snapshot config, SCD type 2): which rows are one entity
 * (`unique_key`), how a change is found (`strategy`), what a row gone from the query does
 * (`hard_deletes`), and the names of the columns a snapshot adds. Read as dbt reads it, and
 * refused where dbt would refuse it or build something pipe cannot repeat.
 */

export const HARD_DELETES = ['ignore', 'invalidate', 'new_record'] as const;
export type HardDeletes = (typeof HARD_DELETES)[number];

/** The columns a snapshot adds to its query's, under the names dbt gives them unless renamed. */
export interface SnapshotMetaColumns {
  readonly dbt_scd_id: string;
  readonly dbt_updated_at: string;
  readonly dbt_valid_from: string;
  readonly dbt_valid_to: string;
  readonly dbt_is_deleted: string;
}

export const META_COLUMNS: SnapshotMetaColumns = {
  dbt_scd_id: 'dbt_scd_id',
  dbt_updated_at: 'dbt_updated_at',
  dbt_valid_from: 'dbt_valid_from',
  dbt_valid_to: 'dbt_valid_to',
  dbt_is_deleted: 'dbt_is_deleted',
};

/** A snapshot's own keys, as its config holds them (dbt's names, so that `config.strategy:check` selects as in dbt). */
export interface SnapshotKeys {
  /** One column or SQL expression, or a list of columns (a composite key). */
  readonly unique_key: string | readonly string[];
  readonly strategy: 'timestamp' | 'check';
  /** `timestamp`: the column whose increase is a change. `check`: a column used in place of the run's time. */
  readonly updated_at?: string;
  /** `check`: the columns whose change is a change, or every column of the query. */
  readonly check_cols?: 'all' | readonly string[];
  readonly hard_deletes: HardDeletes;
  /** A SQL expression that `dbt_valid_to` holds for current rows instead of NULL. */
  readonly dbt_valid_to_current?: string;
  readonly snapshot_meta_column_names: SnapshotMetaColumns;
  /** The schema as its older key names it, when set: selection reads it as dbt's `config.target_schema`. */
  readonly target_schema?: string;
}

/** The keys only snapshots read. */
export const SNAPSHOT_CONFIG_KEYS = [
  'unique_key',
  'strategy',
  'updated_at',
  'check_cols',
  'hard_deletes',
  'invalidate_hard_deletes',
  'target_schema',
  'target_database',
  'dbt_valid_to_current',
  'snapshot_meta_column_names',
] as const;

/** A column name as a snapshot's config may give one: written into SQL, so a plain name. */
const COLUMN_RE = /^[\p{L}_][\p{L}\p{N}_$]*$/u;

/** A column as written in check_cols or updated_at: a name, or a quoted one (`'"CustomerName"'`, as dbt-duckdb takes it), unquoted; undefined for anything else. */
function columnName(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  if (COLUMN_RE.test(v)) return v;
  const quoted = /^"((?:[^"]|"")+)"$/.exec(v);
  return quoted ? quoted[1].replaceAll('""', '"') : undefined;
}

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads a snapshot's keys from its merged config; `bad` reports a key's problem at its place.
 * Always returns keys to build with: after a problem (reported, so nothing runs), defaults.
 */
export function readSnapshotKeys(raw: Readonly<Record<string, unknown>>, bad: (key: string, message: string, hint?: string) => void): SnapshotKeys {
  let unique_key: SnapshotKeys['unique_key'] = 'id';
  const key = raw.unique_key;
  if (key === undefined || key === null || key === '' || (Array.isArray(key) && key.length === 0)) {
    bad('unique_key', 'a snapshot needs unique_key: the column (or list of columns) that names one entity across runs', "e.g. config(unique_key='id', strategy='timestamp', updated_at='updated_at')");
  } else if (typeof key === 'string') {
    if (key.includes(';')) bad('unique_key', 'unique_key must be one SQL expression (a column, or an expression of the columns)');
    else unique_key = key.trim();
  } else if (Array.isArray(key) && key.every((k) => typeof k === 'string' && COLUMN_RE.test(k))) {
    unique_key = key as string[];
  } else {
    bad('unique_key', `unique_key must be a column, an expression, or a list of columns; got ${JSON.stringify(key)}`);
  }

  let strategy: SnapshotKeys['strategy'] = 'timestamp';
  let updated_at: string | undefined;
  let check_cols: SnapshotKeys['check_cols'];
  if (raw.updated_at !== undefined && raw.updated_at !== null) {
    updated_at = columnName(raw.updated_at);
    if (updated_at === undefined) bad('updated_at', `updated_at must be a column of the snapshot's query; got ${JSON.stringify(raw.updated_at)}`);
  }
  if (raw.check_cols !== undefined && raw.check_cols !== null) {
    const cols = raw.check_cols;
    if (cols === 'all') check_cols = 'all';
    else if (Array.isArray(cols) && cols.length > 0 && cols.every((c) => columnName(c) !== undefined)) check_cols = cols.map((c) => columnName(c)!);
    else {
      const expression = Array.isArray(cols) ? cols.find((c) => typeof c === 'string' && columnName(c) === undefined) : undefined;
      bad(
        'check_cols',
        expression === undefined
          ? `check_cols must be 'all' or a list of columns; got ${JSON.stringify(cols)}`
          : `check_cols names columns of the snapshot's query, and '${expression}' is not a column's name (pipe compares columns, not expressions)`,
        expression === undefined ? undefined : `compute it in the query (select ..., ${expression} as checked_value) and name that column in check_cols`,
      );
    }
  }
  switch (raw.strategy) {
    case 'timestamp':
      if (raw.updated_at === undefined || raw.updated_at === null) {
        bad('strategy', 'the timestamp strategy needs updated_at: the column whose increase is a change of the row', "e.g. updated_at='updated_at', or strategy='check' with check_cols");
      }
      if (check_cols !== undefined) bad('check_cols', 'a timestamp snapshot has no check_cols: its rows change when updated_at increases', "remove check_cols, or set strategy='check'");
      break;
    case 'check':
      strategy = 'check';
      if (raw.check_cols === undefined || raw.check_cols === null) {
        bad('strategy', "the check strategy needs check_cols: the columns whose change is a change of the row, or 'all'", "e.g. check_cols=['status', 'amount']");
      }
      break;
    case undefined:
    case null:
      bad('unique_key' in raw ? 'strategy' : 'unique_key', "a snapshot needs strategy: 'timestamp' (with updated_at) or 'check' (with check_cols)");
      break;
    default:
      bad('strategy', `strategy must be 'timestamp' or 'check'; got ${JSON.stringify(raw.strategy)}`, 'pipe builds these two of dbt\'s strategies; a custom strategy macro is not supported');
  }

  let hard_deletes: HardDeletes = 'ignore';
  const legacy = raw.invalidate_hard_deletes;
  if (raw.hard_deletes !== undefined && raw.hard_deletes !== null) {
    if (HARD_DELETES.includes(raw.hard_deletes as HardDeletes)) hard_deletes = raw.hard_deletes as HardDeletes;
    else bad('hard_deletes', `hard_deletes must be one of ${HARD_DELETES.join(', ')}; got ${JSON.stringify(raw.hard_deletes)}`);
    if (legacy !== undefined && legacy !== null) bad('invalidate_hard_deletes', 'set hard_deletes or invalidate_hard_deletes, not both', 'invalidate_hard_deletes: true is hard_deletes: invalidate');
  } else if (legacy !== undefined && legacy !== null) {
    if (typeof legacy === 'boolean') hard_deletes = legacy ? 'invalidate' : 'ignore';
    else bad('invalidate_hard_deletes', 'invalidate_hard_deletes must be true or false');
  }

  if (raw.target_database !== undefined && raw.target_database !== null) {
    bad('target_database', 'target_database is not supported: pipe builds every snapshot in the warehouse\'s own database', 'remove target_database');
  }

  let dbt_valid_to_current: string | undefined;
  const current = raw.dbt_valid_to_current;
  if (current !== undefined && current !== null && current !== '') {
    if (typeof current === 'string' && !current.includes(';')) dbt_valid_to_current = current.trim();
    else bad('dbt_valid_to_current', `dbt_valid_to_current must be one SQL expression, e.g. "'9999-12-31'::timestamp"; got ${JSON.stringify(current)}`);
  }

  const names: Record<keyof SnapshotMetaColumns, string> = { ...META_COLUMNS };
  const renamed = raw.snapshot_meta_column_names;
  if (renamed !== undefined && renamed !== null) {
    if (!isMapping(renamed)) bad('snapshot_meta_column_names', 'snapshot_meta_column_names must map dbt_valid_from, dbt_valid_to, dbt_scd_id, dbt_updated_at and dbt_is_deleted to column names');
    else {
      for (const [meta, name] of Object.entries(renamed)) {
        if (!Object.hasOwn(META_COLUMNS, meta)) {
          bad('snapshot_meta_column_names', `snapshot_meta_column_names: '${meta}' is not a snapshot column; they are ${Object.keys(META_COLUMNS).join(', ')}`);
        } else if (name === null || name === undefined) {
          continue;
        } else if (typeof name === 'string' && COLUMN_RE.test(name)) {
          names[meta as keyof SnapshotMetaColumns] = name;
        } else {
          bad('snapshot_meta_column_names', `snapshot_meta_column_names: ${meta} must be a column name; got ${JSON.stringify(name)}`);
        }
      }
      const used = Object.values(names).map((n) => n.toLowerCase());
      if (new Set(used).size !== used.length) bad('snapshot_meta_column_names', 'snapshot_meta_column_names gives two snapshot columns one name');
    }
  }

  return {
    unique_key,
    strategy,
    ...(updated_at === undefined ? {} : { updated_at }),
    ...(check_cols === undefined ? {} : { check_cols }),
    hard_deletes,
    ...(dbt_valid_to_current === undefined ? {} : { dbt_valid_to_current }),
    snapshot_meta_column_names: names,
    ...(typeof raw.target_schema === 'string' && raw.target_schema !== '' ? { target_schema: raw.target_schema } : {}),
  };
}

/** The unique key as SQL expressions, one per part: a column is quoted, an expression is as written. */
/** The columns a unique_key names as bare column names (an expression names none pipe can check). */
export function uniqueKeyColumns(key: SnapshotKeys['unique_key']): string[] {
  return (typeof key === 'string' ? [key] : key).filter((k) => COLUMN_RE.test(k));
}

export function uniqueKeyParts(key: SnapshotKeys['unique_key']): { readonly parts: readonly string[]; readonly composite: boolean } {
  const sql = (k: string) => (COLUMN_RE.test(k) ? quoteIdent(k) : k);
  return typeof key === 'string' ? { parts: [sql(key)], composite: false } : { parts: key.map(sql), composite: true };
}
