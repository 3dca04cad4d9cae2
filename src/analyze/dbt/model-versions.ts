import { error, warning, type Diagnostic, type Location } from '../../diagnostics/diagnostics.js';

/**
 * dbt's model versions (`versions:` under a model's properties), as dbt-core reads them:
 *
 * - version v of model `m` is its own model, named `m_v<v>` (a `.` in v becomes `_`), which
 *   is also its table's name unless an alias is configured; its query is the file `m_v<v>.sql`,
 *   or the one `defined_in:` names, or, for the latest version only, `m.sql`;
 * - each version's properties are the model's with the version's over them: `config:` merged
 *   key by key, `description:`, `constraints:` and `docs:` replaced (a version's own `access:`
 *   is not: see REPLACED), its columns the
 *   model's that `include:`/`exclude:` keep (all of them by default) followed by its own, and
 *   its tests its own `data_tests:`/`tests:` if it has any, else the model's;
 * - `latest_version:` (else the greatest version, compared as numbers where both are numbers)
 *   is what `ref('m')` reads; `ref('m', v=1)` (or `version=1`) reads version 1.
 */

export interface ModelVersion {
  /** The version as written, as text (`1`, `2.1`, `beta`). */
  readonly v: string;
  /** The model it is in pipe's graph: `m_v1`. */
  readonly node: string;
  /** The stems of the files that may hold its query, in the order they are looked for. */
  readonly files: readonly string[];
  readonly deprecationDate?: string;
  readonly location: Location;
}

export interface VersionedModel {
  readonly name: string;
  /** The version `ref('m')` reads. */
  readonly latest: string;
  readonly versions: readonly ModelVersion[];
  readonly location: Location;
}

type Path = (string | number)[];
type At = (path: Path) => Location;

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A version's `columns:` element that picks the model's columns (`include:`/`exclude:`), not a column. */
const picksColumns = (c: unknown): c is Record<string, unknown> => isMapping(c) && (c.include !== undefined || c.exclude !== undefined) && c.name === undefined;

/** A version's identifier as text: YAML's `1` and `'1'` are one version. */
export function versionText(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  return undefined;
}

/** dbt's order of versions: as numbers when both are, else as text. */
export function compareVersions(a: string, b: string): number {
  const [x, y] = [Number(a), Number(b)];
  if (!Number.isNaN(x) && !Number.isNaN(y)) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The model a version is in pipe's graph, and its table's default name: dbt's `m_v1`, `m_v2_1` for 2.1. */
export function versionNode(model: string, v: string): string {
  return `${model}_v${v.replaceAll('.', '_')}`;
}

/**
 * The versions of a model's properties entry, each as the properties entry of its own model
 * (read by `read`, with every line pointing at where the entry or its version wrote it).
 */
export function readVersions(
  entry: Record<string, unknown> & { name: string },
  path: Path,
  at: At,
  diagnostics: Diagnostic[],
  read: (entry: Record<string, unknown>, at: At) => void,
): VersionedModel | undefined {
  const name = entry.name;
  if (!Array.isArray(entry.versions) || entry.versions.length === 0) {
    diagnostics.push(error('bad-properties', `versions of ${name} must be a list of entries, each with a v:`, at([...path, 'versions'])));
    return undefined;
  }
  const versions: (ModelVersion & { entry: Record<string, unknown>; path: Path })[] = [];
  entry.versions.forEach((raw: unknown, i: number) => {
    const vp = [...path, 'versions', i];
    const v = isMapping(raw) ? versionText(raw.v) : undefined;
    if (!isMapping(raw) || v === undefined) {
      diagnostics.push(error('bad-properties', `each version of ${name} needs a v: (a number or a name)`, at(vp)));
      return;
    }
    const twice = versions.find((x) => x.v === v);
    if (twice) {
      diagnostics.push(error('bad-properties', `${name} has version ${v} twice`, at(vp), { related: [{ message: 'first declared here', location: twice.location }] }));
      return;
    }
    const definedIn = raw.defined_in;
    if (definedIn !== undefined && (typeof definedIn !== 'string' || definedIn === '')) {
      diagnostics.push(error('bad-properties', `defined_in of version ${v} of ${name} must be a file's name without .sql`, at([...vp, 'defined_in'])));
      return;
    }
    const date = raw.deprecation_date;
    versions.push({
      v,
      node: versionNode(name, v),
      files: [typeof definedIn === 'string' ? definedIn.replace(/\.sql$/, '') : versionNode(name, v)],
      ...(date instanceof Date ? { deprecationDate: date.toISOString().slice(0, 10) } : typeof date === 'string' ? { deprecationDate: date } : {}),
      location: at(vp),
      entry: raw,
      path: vp,
    });
  });
  if (versions.length === 0) return undefined;
  let latest = [...versions].sort((a, b) => compareVersions(a.v, b.v)).at(-1)!.v;
  if (entry.latest_version !== undefined) {
    const wanted = versionText(entry.latest_version);
    if (wanted === undefined || !versions.some((x) => x.v === wanted)) {
      diagnostics.push(
        error('bad-properties', `latest_version: ${JSON.stringify(entry.latest_version)} is not one of ${name}'s versions (${versions.map((x) => x.v).join(', ')})`, at([...path, 'latest_version'])),
      );
      return undefined;
    }
    latest = wanted;
  }
  for (const version of versions) {
    const merged = mergeVersion(entry, path, version.entry, version.path, version.node, at, diagnostics);
    if (merged) read(merged.entry, merged.at);
  }
  const withFallback = versions.map(({ entry: _e, path: _p, ...version }) => (version.v === latest ? { ...version, files: [...version.files, name] } : version));
  return { name, latest, versions: withFallback, location: at(path) };
}

/**
 * Keys of a version that replace the model's. A version's own `access:` (not under `config:`)
 * is not among them: dbt 1.11 reads it and then builds the node's access from its config, so
 * that the version is `protected` all the same (as its manifest says); `config: {access}` is read.
 */
const REPLACED = ['description', 'constraints', 'docs'] as const;

/**
 * A version's properties entry: the model's, with the version's over them, and where each
 * part of it was written (`at` maps the merged entry's paths back to the file's).
 */
function mergeVersion(
  model: Record<string, unknown>,
  modelPath: Path,
  version: Record<string, unknown>,
  versionPath: Path,
  node: string,
  at: At,
  diagnostics: Diagnostic[],
): { entry: Record<string, unknown>; at: At } | undefined {
  const entry: Record<string, unknown> = {};
  const origin = new Map<string, Path>();
  const take = (key: string, from: Record<string, unknown>, fromPath: Path) => {
    entry[key] = from[key];
    origin.set(key, [...fromPath, key]);
  };
  for (const key of Object.keys(model)) if (!['name', 'versions', 'latest_version', 'deprecation_date', 'columns', 'config', 'tests', 'data_tests'].includes(key)) take(key, model, modelPath);
  for (const key of REPLACED) if (version[key] !== undefined) take(key, version, versionPath);
  entry.name = node;
  origin.set('name', [...modelPath, 'name']);

  // config: the model's keys, then the version's over them.
  const config: Record<string, unknown> = {};
  for (const [from, fromPath] of [
    [model.config, modelPath],
    [version.config, versionPath],
  ] as const) {
    if (from === undefined) continue;
    if (!isMapping(from)) {
      entry.config = from;
      origin.set('config', [...fromPath, 'config']);
      continue;
    }
    for (const [k, v] of Object.entries(from)) {
      config[k] = v;
      origin.set(`config/${k}`, [...fromPath, 'config', k]);
    }
  }
  if (!('config' in entry) && Object.keys(config).length > 0) entry.config = config;

  // tests: the version's own if it has any, else the model's.
  const testsFrom = version.tests !== undefined || version.data_tests !== undefined ? ([version, versionPath] as const) : ([model, modelPath] as const);
  for (const key of ['tests', 'data_tests']) if (testsFrom[0][key] !== undefined) take(key, testsFrom[0], testsFrom[1]);

  // columns: the model's that include/exclude keep, then the version's own.
  const columns: unknown[] = [];
  const keep = columnFilter(version.columns, versionPath, at, diagnostics);
  if (keep === undefined) return undefined;
  if (Array.isArray(model.columns)) {
    model.columns.forEach((c, i) => {
      if (isMapping(c) && typeof c.name === 'string' && !keep(c.name)) return;
      origin.set(`columns/${columns.length}`, [...modelPath, 'columns', i]);
      columns.push(c);
    });
  } else if (model.columns !== undefined) {
    take('columns', model, modelPath);
  }
  if (Array.isArray(version.columns)) {
    version.columns.forEach((c, i) => {
      if (picksColumns(c)) return;
      origin.set(`columns/${columns.length}`, [...versionPath, 'columns', i]);
      columns.push(c);
    });
  }
  if (!('columns' in entry) && columns.length > 0) entry.columns = columns;

  const mapped: At = (p) => {
    const [, , key, sub, ...rest] = p;
    if (key === undefined) return at(versionPath);
    const deep = sub === undefined ? undefined : origin.get(`${key}/${sub}`);
    if (deep) return at([...deep, ...rest]);
    const top = origin.get(String(key));
    return at(top ? [...top, ...(sub === undefined ? [] : [sub]), ...rest] : versionPath);
  };
  return { entry, at: mapped };
}

/** Which of the model's columns a version keeps: its one `include:`/`exclude:` element, else all. */
function columnFilter(columns: unknown, versionPath: Path, at: At, diagnostics: Diagnostic[]): ((name: string) => boolean) | undefined {
  if (!Array.isArray(columns)) return () => true;
  const rules = columns.map((c, i) => [c, i] as const).filter(([c]) => picksColumns(c));
  if (rules.length === 0) return () => true;
  if (rules.length > 1) {
    diagnostics.push(error('bad-properties', 'a version can have at most one include/exclude element under columns:', at([...versionPath, 'columns', rules[1][1]])));
    return undefined;
  }
  const [rule, i] = rules[0] as [Record<string, unknown>, number];
  const where = at([...versionPath, 'columns', i]);
  const all = rule.include === undefined || rule.include === 'all' || rule.include === '*';
  if (!all && !(Array.isArray(rule.include) && rule.include.every((x) => typeof x === 'string'))) {
    diagnostics.push(error('bad-properties', "include must be 'all', '*' or a list of column names", where));
    return undefined;
  }
  const exclude = rule.exclude ?? [];
  if (!Array.isArray(exclude) || !exclude.every((x) => typeof x === 'string')) {
    diagnostics.push(error('bad-properties', 'exclude must be a list of column names', where));
    return undefined;
  }
  if (exclude.length > 0 && !all) {
    diagnostics.push(error('bad-properties', "exclude can only be given with include: all (or '*')", where));
    return undefined;
  }
  const included = all ? undefined : new Set(rule.include as string[]);
  const excluded = new Set(exclude as string[]);
  return (name) => (included === undefined || included.has(name)) && !excluded.has(name);
}

/**
 * The model a `ref()` reads: `ref('m')` the latest version of a versioned model, `ref('m',
 * v=1)` version 1; text saying what is wrong for a version that is not there.
 */
export function refTarget(models: ReadonlyMap<string, VersionedModel>, name: string, version: unknown): string | { readonly problem: string } {
  const model = models.get(name);
  if (version === undefined || version === null) return model ? versionNode(name, model.latest) : name;
  const v = versionText(version);
  const call = `ref('${name}', v=${typeof version === 'string' ? `'${version}'` : String(version)})`;
  if (!model) return { problem: `${call}: ${name} has no versions (no versions: in its properties)` };
  if (v === undefined || !model.versions.some((x) => x.v === v)) return { problem: `${call}: ${name} has no version ${v ?? String(version)} (its versions: ${model.versions.map((x) => x.v).join(', ')})` };
  return versionNode(name, v);
}

/**
 * The models' files with the versions' names: `m_v1.sql` is model m_v1, and a file a version
 * names with `defined_in:` (or `m.sql`, for the latest version without a file of its own)
 * takes the version's name. A version name another file already has is an error there.
 */
export function versionSources<S extends { readonly name: string; readonly file: string }>(
  sources: readonly S[],
  versioned: ReadonlyMap<string, VersionedModel>,
  diagnostics: Diagnostic[],
): readonly S[] {
  if (versioned.size === 0) return sources;
  const byName = new Map(sources.map((s) => [s.name, s]));
  const renamed = new Map<S, string>();
  for (const model of versioned.values()) {
    for (const version of model.versions) {
      const file = version.files.map((stem) => byName.get(stem)).find((s) => s !== undefined && !renamed.has(s));
      if (!file || file.name === version.node) continue;
      const other = byName.get(version.node);
      if (other) {
        diagnostics.push(
          error('duplicate-model', `${other.file} is model ${version.node}, and version ${version.v} of ${model.name} is ${version.node} too (its query in ${file.file})`, { file: other.file }, {
            related: [{ message: 'the version is declared here', location: version.location }],
            hint: `rename ${other.file}, or set defined_in: of version ${version.v} to it`,
          }),
        );
        continue;
      }
      renamed.set(file, version.node);
    }
  }
  return renamed.size === 0 ? sources : sources.map((s) => (renamed.has(s) ? { ...s, name: renamed.get(s)! } : s));
}

/** What a version's model knows of being one: its model's name, its version and the latest. */
export interface VersionOf {
  readonly model: string;
  readonly v: string;
  readonly latest: string;
  /** Its `deprecation_date:` as written, if it has one. */
  readonly deprecationDate?: string;
}

/** Each version's model, by its name in pipe's graph. */
export function versionsByNode(versioned: ReadonlyMap<string, VersionedModel>): ReadonlyMap<string, VersionOf> {
  const out = new Map<string, VersionOf>();
  for (const m of versioned.values()) for (const v of m.versions) out.set(v.node, Object.assign({ model: m.name, v: v.v, latest: m.latest }, v.deprecationDate === undefined ? {} : { deprecationDate: v.deprecationDate }));
  return out;
}

/** A warning for each version past its `deprecation_date:`, as dbt warns of a deprecated model. */
export function pastDeprecation(versioned: ReadonlyMap<string, VersionedModel>, today: string, built: (node: string) => boolean): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const m of versioned.values()) {
    for (const v of m.versions) {
      const date = /^\d{4}-\d{2}-\d{2}/.exec(v.deprecationDate ?? '')?.[0];
      if (date === undefined || date >= today || !built(v.node)) continue;
      out.push(warning('deprecated-version', `${v.node}: version ${v.v} of ${m.name} is past its deprecation date, ${date}`, v.location, { hint: `ref('${m.name}') reads version ${m.latest}` }));
    }
  }
  return out;
}
