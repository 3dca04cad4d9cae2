import type { Location } from '../../diagnostics/diagnostics.js';
import type { YamlSource } from '../../project/yaml-file.js';

/**
 * The folder configs of `dbt_project.yml` (`models:`, `seeds:`, `data_tests:`, `sources:`),
 * read as dbt reads them: from the section's top level down the node's qualified name
 * (project, folders, name), each level's settings overriding the level above. At a level, a
 * key is a setting when it starts with `+`, or when its value is not a mapping; a key whose
 * value is a mapping (and has no `+`) is the next level down.
 */

/** One key set along the way, and where. */
export interface ConfigSetting {
  readonly value: unknown;
  readonly location: Location;
  /** A mapping's entries (column_types' columns), each where it is written, where that is known. */
  readonly entries?: Readonly<Record<string, Location>>;
}

/** The settings for one node, by key (without `+`), in the order they were met from the top. */
export type LevelSettings = ReadonlyMap<string, ConfigSetting>;

/**
 * One hook as a config source gives it (a statement, or `{sql, transaction}`), with where it
 * is written: hooks from several places add up, and each is reported at its own line.
 */
export interface LocatedHook {
  readonly hook: unknown;
  readonly location: Location;
}

/** dbt spells the hook keys `pre-hook` in dbt_project.yml and `pre_hook` in config(); both are one key. */
const HOOK_KEYS: Readonly<Record<string, string>> = { 'pre-hook': 'pre_hook', 'post-hook': 'post_hook', pre_hook: 'pre_hook', post_hook: 'post_hook' };

export function isLocatedHook(v: unknown): v is LocatedHook {
  return typeof v === 'object' && v !== null && 'hook' in v && 'location' in v && Object.keys(v).length === 2;
}

/** Keys whose value is a mapping whose entries are reported each at its own line. */
const LOCATED_ENTRIES = new Set(['column_types']);

/**
 * A setting under its canonical key; the hooks of a hook key each keep their location, and the
 * entries of column_types theirs (`itemAt`: a list item's or an entry's, when known).
 */
function setting(key: string, value: unknown, location: Location, itemAt: (i: number | string) => Location = () => location): [string, ConfigSetting] {
  const hookKey = HOOK_KEYS[key];
  if (hookKey === undefined) {
    if (!LOCATED_ENTRIES.has(key) || !isMapping(value)) return [key, { value, location }];
    return [key, { value, location, entries: Object.fromEntries(Object.keys(value).map((k) => [k, itemAt(k)])) }];
  }
  const hooks = Array.isArray(value) ? value : value === null || value === undefined ? [] : [value];
  return [hookKey, { value: hooks.map((hook, i): LocatedHook => ({ hook, location: Array.isArray(value) ? itemAt(i) : location })), location }];
}

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Every level of `section` that applies to a node of qualified name `fqn`, from the top, with
 * its settings; a caller merges them (see mergeSettings).
 */
export function levelsFor(yaml: YamlSource, section: string, fqn: readonly string[]): LevelSettings[] {
  let level = yaml.data[section];
  const path = [section];
  const levels: LevelSettings[] = [];
  for (let i = 0; isMapping(level); i++) {
    const settings = new Map<string, ConfigSetting>();
    for (const [key, value] of Object.entries(level)) {
      // A folder's mapping is a level below; a key with nothing under it (`shop:` alone, a
      // project or folder left empty) sets nothing.
      if (!key.startsWith('+') && (isMapping(value) || value === null)) continue;
      const name = key.startsWith('+') ? key.slice(1).trim() : key;
      const location = { file: yaml.file, line: yaml.pathLine([...path, key]) };
      settings.set(...setting(name, value, location, (i) => ({ file: yaml.file, line: yaml.pathLine([...path, key, String(i)]) ?? location.line })));
    }
    levels.push(settings);
    if (i >= fqn.length) break;
    const next = level[fqn[i]];
    if (!isMapping(next)) break;
    path.push(fqn[i]);
    level = next;
  }
  return levels;
}

/** How a key's values from several places combine (dbt: tags and hooks add up, meta and docs merge). */
const APPENDED = new Set(['tags', 'pre_hook', 'post_hook']);
const MERGED = new Set(['meta', 'docs', 'grants', 'persist_docs', 'column_types']);

/** Applies `over` on `base`, dbt's way: most keys replace, tags and hooks add up, mappings merge. */
export function mergeSettings(base: ReadonlyMap<string, ConfigSetting>, over: ReadonlyMap<string, ConfigSetting>): Map<string, ConfigSetting> {
  const out = new Map(base);
  for (const [key, setting] of over) {
    const before = out.get(key);
    if (before && APPENDED.has(key)) {
      const list = (v: unknown) => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);
      const merged = [...list(before.value)];
      for (const v of list(setting.value)) if (!merged.includes(v)) merged.push(v);
      // Tags that are not text are reported where they were set, not where a level below added its own.
      const wrong = key === 'tags' && !list(before.value).every((v) => typeof v === 'string');
      out.set(key, { value: merged, location: wrong ? before.location : setting.location });
    } else if (before && MERGED.has(key) && isMapping(before.value) && isMapping(setting.value)) {
      const entries = before.entries || setting.entries ? { ...entriesOf(before), ...entriesOf(setting) } : undefined;
      out.set(key, { value: { ...before.value, ...setting.value }, location: setting.location, ...(entries ? { entries } : {}) });
    } else {
      out.set(key, setting);
    }
  }
  return out;
}

/** Each entry of a mapping setting where it is written: its own line, else the setting's. */
function entriesOf(s: ConfigSetting): Record<string, Location> {
  return Object.fromEntries(Object.keys(s.value as Record<string, unknown>).map((k) => [k, s.entries?.[k] ?? s.location]));
}

/**
 * Settings from a plain mapping (a properties file's `config:`, a config() call), all at one
 * place or each at its own; `locateItem` places each item of a list (a hook of several).
 */
export function settingsOf(
  data: Readonly<Record<string, unknown>>,
  locate: (key: string) => Location,
  locateItem?: (key: string, i: number | string) => Location,
): Map<string, ConfigSetting> {
  const out = new Map<string, ConfigSetting>();
  for (const [key, value] of Object.entries(data)) {
    const location = locate(key);
    out.set(...setting(key.startsWith('+') ? key.slice(1) : key, value, location, locateItem ? (i) => locateItem(key, i) : undefined));
  }
  return out;
}
