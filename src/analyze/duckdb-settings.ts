import type { Setting, SettingValue, SetupSource } from '../warehouse/warehouse-setup.js';
import { CALENDAR_KEPT } from '../warehouse/duckdb/session-changes.js';

/**
 * DuckDB settings a project sets on its warehouse (`settings:` of pipe.yaml, or of a dbt
 * profile's target): `memory_limit`, `threads`, `temp_directory`, ... Read the same way from
 * both files, each entry remembering its line, so that a setting DuckDB refuses is reported
 * there (duckdb/duckdb-setup.ts).
 */

const SETTING_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A text, a finite number or true/false: what a DuckDB setting takes. */
export function settingValue(value: unknown): SettingValue | undefined {
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export interface SettingsReport {
  bad(path: readonly string[], message: string, hint?: string): void;
  source(path: readonly string[]): SetupSource;
  /** A value left out of reading (a template that failed to render, already reported). */
  skip?(value: unknown): boolean;
}

/** The `settings:` mapping found at `key`; its problems go to `report`. */
export function readDuckdbSettings(value: unknown, key: readonly string[], report: SettingsReport): Setting[] {
  if (value === undefined || report.skip?.(value)) return [];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    report.bad(key, 'settings must be a mapping of DuckDB settings to values, e.g. memory_limit: 4GB');
    return [];
  }
  const out: Setting[] = [];
  for (const [name, raw] of Object.entries(value)) {
    const path = [...key, name];
    if (report.skip?.(raw)) continue;
    if (!SETTING_NAME_RE.test(name)) {
      report.bad(path, `settings: '${name}' is not the name of a DuckDB setting`);
    } else if (name.toLowerCase() === 'timezone') {
      report.bad(path, 'settings: TimeZone is set by pipe, to UTC, so that a timestamp lands in the same date on every machine', "convert to a zone in the model instead, e.g. ts AT TIME ZONE 'Europe/Amsterdam'");
    } else if (name.toLowerCase() === 'calendar') {
      report.bad(path, `settings: Calendar: ${CALENDAR_KEPT}`);
    } else {
      const v = settingValue(raw);
      if (v === undefined) report.bad(path, `setting ${name} must be a text, a number or true/false`);
      else out.push({ name, value: v, source: report.source(path) });
    }
  }
  return out;
}

/**
 * Settings that change how a query runs and never what it computes: resources, files of the
 * engine's own, logging and profiling, extensions' installation, and the credentials and
 * transport of remote files (the data read there has its own version: a source's
 * fingerprint). Any other setting may change results (`integer_division`, `default_order`,
 * `default_collation`, `search_path`, `file_search_path`, …), and a name pipe does not know
 * is taken to.
 */
const HOW_IT_RUNS = new Set([
  'threads', 'worker_threads', 'external_threads', 'pin_threads', 'memory_limit', 'max_memory', 'temp_directory', 'max_temp_directory_size',
  'temp_file_encryption', 'storage_compatibility_version', 'checkpoint_threshold', 'wal_autocheckpoint', 'wal_autocheckpoint_entries',
  'auto_checkpoint_skip_wal_threshold', 'enable_progress_bar', 'enable_progress_bar_print', 'progress_bar_time', 'enable_profiling',
  'profiling_mode', 'profiling_output', 'profile_output', 'custom_profiling_settings', 'profiling_coverage', 'enable_logging', 'logging_level',
  'logging_mode', 'logging_storage', 'enabled_log_types', 'disabled_log_types', 'log_query_path', 'enable_object_cache',
  'enable_external_file_cache', 'parquet_metadata_cache', 'prefetch_all_parquet_files', 'disable_parquet_prefetching', 'extension_directory',
  'extension_directories', 'autoinstall_extension_repository', 'custom_extension_repository', 'autoinstall_known_extensions',
  'autoload_known_extensions', 'allow_community_extensions', 'allow_unsigned_extensions', 'allow_extensions_metadata_mismatch',
  'allow_persistent_secrets', 'secret_directory', 'home_directory', 'custom_user_agent', 'duckdb_api', 'streaming_buffer_size',
  'block_allocator_memory', 'allocator_background_threads', 'allocator_bulk_deallocation_flush_threshold', 'allocator_flush_threshold',
  'ca_cert_file', 'enable_server_cert_verification',
]);
const HOW_IT_READS_REMOTE_RE = /^(s3|http|azure|gcs|hf)_/;

/**
 * The settings among `settings` (a later one wins, as DuckDB sets them in order) that may
 * change what a query computes, by lower-case name: part of what a model is built from (see
 * plan/config-hash.ts), so that changing one runs the models again.
 */
export function querySettingsOf(settings: readonly Setting[]): Readonly<Record<string, SettingValue>> {
  const out = new Map<string, SettingValue>();
  for (const { name, value } of settings) {
    const key = name.toLowerCase();
    if (!HOW_IT_RUNS.has(key) && !HOW_IT_READS_REMOTE_RE.test(key)) out.set(key, value);
  }
  return Object.fromEntries([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}
