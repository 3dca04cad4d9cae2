import type { Setting, SettingValue, SetupSource } from '../warehouse/warehouse-setup.js';

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
    } else {
      const v = settingValue(raw);
      if (v === undefined) report.bad(path, `setting ${name} must be a text, a number or true/false`);
      else out.push({ name, value: v, source: report.source(path) });
    }
  }
  return out;
}
