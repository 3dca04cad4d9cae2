import { error, warning, type Diagnostic } from '../diagnostics/diagnostics.js';
import type { InstalledPackage } from './load-packages.js';
import type { YamlSource } from './yaml-file.js';

/**
 * Where a project keeps each kind of file. A pipe project has its fixed folders; a dbt project
 * (a folder with `dbt_project.yml`) says where in that file's `*-paths` keys, with dbt's
 * defaults for the keys it leaves out. Every path is relative to the project root, with forward
 * slashes and no trailing slash.
 */
export interface ProjectLayout {
  readonly models: readonly string[];
  readonly seeds: readonly string[];
  readonly macros: readonly string[];
  /** Singular tests (`*.sql` returning failing rows) and generic test definitions. */
  readonly tests: readonly string[];
  readonly snapshots: readonly string[];
  readonly analyses: readonly string[];
  /** `docs-paths`: where docs blocks (`.md` files) are, when set; else in every folder of the other paths, as dbt looks. */
  readonly docs?: readonly string[];
}

export const DBT_PROJECT_FILE = 'dbt_project.yml';

export const DEFAULT_LAYOUT: ProjectLayout = {
  models: ['models'],
  seeds: ['seeds'],
  macros: ['macros'],
  tests: ['tests'],
  snapshots: ['snapshots'],
  analyses: ['analyses'],
};

/** The `dbt_project.yml` key of each folder list, as dbt names it. */
export const LAYOUT_KEYS: { readonly [K in keyof ProjectLayout]: string } = {
  models: 'model-paths',
  seeds: 'seed-paths',
  macros: 'macro-paths',
  tests: 'test-paths',
  snapshots: 'snapshot-paths',
  analyses: 'analysis-paths',
};

/** Older dbt names of the same keys, still read by dbt 1.x. */
const OLD_KEYS: Readonly<Record<string, keyof ProjectLayout>> = {
  'source-paths': 'models',
  'data-paths': 'seeds',
};

function cleanPath(p: string): string | undefined {
  const posix = p.trim().replace(/\\/g, '/').replace(/^\.\//, '').replace(/\/+$/, '');
  if (posix === '' || posix === '.' || posix.startsWith('/') || posix.split('/').includes('..')) return undefined;
  return posix;
}

/** The folders of a project: dbt's keys when `dbtProject` is there, pipe's folders otherwise. */
export function projectLayout(dbtProject: YamlSource | undefined, diagnostics: Diagnostic[]): ProjectLayout {
  if (!dbtProject) return DEFAULT_LAYOUT;
  const layout: { -readonly [K in keyof ProjectLayout]: ProjectLayout[K] } = { ...DEFAULT_LAYOUT };
  const read = (kind: keyof ProjectLayout, key: string) => {
    const value = dbtProject.data[key];
    if (value === undefined) return;
    const at = { file: dbtProject.file, line: dbtProject.keyLine(key) };
    const list = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(list) || !list.every((v) => typeof v === 'string')) {
      diagnostics.push(error('bad-config', `${key} must be a list of folders, e.g. ["${DEFAULT_LAYOUT[kind]?.[0] ?? 'docs'}"]`, at));
      return;
    }
    const paths: string[] = [];
    for (const p of list as string[]) {
      const clean = cleanPath(p);
      if (clean === undefined) {
        diagnostics.push(error('bad-config', `${key}: '${p}' must be a folder inside the project`, at));
        continue;
      }
      if (!paths.includes(clean)) paths.push(clean);
    }
    (layout as Record<keyof ProjectLayout, readonly string[]>)[kind] = paths;
  };
  for (const [old, kind] of Object.entries(OLD_KEYS)) read(kind, old);
  for (const [kind, key] of Object.entries(LAYOUT_KEYS) as [keyof ProjectLayout, string][]) read(kind, key);
  read('docs', 'docs-paths');
  return layout;
}

/**
 * A YAML file under the model, seed or snapshot folders is a dbt properties file when its top
 * level says so (`version:` or one of these sections); otherwise it is pipe's own config of the
 * model or seed beside it.
 */
export const PROPERTIES_SECTIONS = [
  'models',
  'seeds',
  'sources',
  'snapshots',
  'macros',
  'analyses',
  'exposures',
  'metrics',
  'semantic_models',
  'saved_queries',
  'unit_tests',
  'groups',
  'data_tests',
] as const;

export function isPropertiesFile(data: Readonly<Record<string, unknown>>): boolean {
  return Object.hasOwn(data, 'version') || PROPERTIES_SECTIONS.some((s) => Object.hasOwn(data, s));
}

/**
 * dbt's fully qualified name of a file's node: the project's name, the folders between the
 * file and the folder of `roots` it is under, and the node's name (`jaffle_shop.staging.stg_orders`).
 * Folder configs of dbt_project.yml and selectors such as `staging` or `jaffle_shop.staging.*` read it.
 */
export function fqnOf(project: string, file: string, roots: readonly string[], name: string): string[] {
  // The deepest of the folders the file is under (folders may nest).
  let root: string | undefined;
  for (const r of roots) if (file.startsWith(r) && file[r.length] === '/' && (root === undefined || r.length > root.length)) root = r;
  const dirs = (root === undefined ? file : file.slice(root.length + 1)).split('/').slice(0, -1);
  return [project, ...dirs, name];
}

/**
 * dbt's qualified name of a model, seed or singular test (see fqnOf): a node of an installed
 * package is named from the package, under the package's own folders
 * (`shared_staging.staging.stg_orders`).
 */
export function nodeFqn(
  project: string,
  node: { readonly name: string; readonly file: string; readonly package?: InstalledPackage },
  kind: 'model' | 'seed' | 'test',
  roots: readonly string[],
): string[] {
  const pkg = node.package;
  if (!pkg) return fqnOf(project, node.file, roots, node.name);
  return fqnOf(pkg.name, node.file.slice(pkg.dir.length + 1), kind === 'seed' ? pkg.layout.seeds : kind === 'test' ? pkg.layout.tests : pkg.layout.models, node.name);
}

/**
 * A folder dbt_project.yml names (`model-paths: ["modelz"]`) that the project does not have:
 * nothing is read from it, and a project whose models are all there would build nothing
 * without a word. Folders of dbt's default names may be absent, named or not: `dbt init` writes
 * every key with them (`analysis` in older versions), and git keeps no empty folder.
 */
export function missingFolders(dbtProject: YamlSource, layout: ProjectLayout, exists: (dir: string) => boolean): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const [kind, key] of Object.entries(LAYOUT_KEYS) as [keyof ProjectLayout, string][]) {
    const given = dbtProject.data[key] !== undefined ? key : Object.keys(OLD_KEYS).find((old) => OLD_KEYS[old] === kind && dbtProject.data[old] !== undefined);
    if (given === undefined) continue;
    for (const dir of layout[kind] ?? []) {
      if (exists(dir) || dir === DEFAULT_LAYOUT[kind]?.[0] || (kind === 'analyses' && dir === 'analysis')) continue;
      out.push(warning('missing-folder', `${given}: the folder ${dir} does not exist: nothing is read from it`, { file: dbtProject.file, line: dbtProject.keyLine(given) }, { hint: 'check the folder\'s name, or leave it out' }));
    }
  }
  return out;
}
