import { templateText } from './template-text.js';
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { basename, extname, join, relative, sep } from 'node:path';
import { foldedName } from '../sql/sql-text.js';
import { error, warning, type Diagnostic } from '../diagnostics/diagnostics.js';
import { csvHead, type Text } from './csv-text.js';
import { nameProblem, nameRule, printableName } from './names.js';
import { diskFs, type ProjectFs } from './project-fs.js';
import { inferSeedTypes, type InferredColumn } from './seed-inference.js';
import { NotUtf8Error } from './utf8.js';
import { parseYaml, type YamlDialect, type YamlSource } from './yaml-file.js';
import type { ParsedYamlCache } from './yaml-cache.js';
import type { SeedDigestCache } from './seed-digest-cache.js';
import { DBT_PROJECT_FILE, isPropertiesFile, missingFolders, projectLayout, type ProjectLayout } from './layout.js';
import { GENERIC_TEST_RE, loadPackages, PACKAGE_FILES, type InstalledPackage, type ProjectPackages, type ReadYaml } from './load-packages.js';
import { blockText, snapshotBlocks } from './snapshot-blocks.js';
import { byCodeUnit } from '../util/code-unit-order.js';

/**
 * Loading reads the project's files and nothing more: no template is rendered here.
 * Every path kept is relative to the project root with forward slashes, as diagnostics print it.
 */

export interface ModelSource {
  readonly name: string;
  readonly file: string;
  readonly absPath: string;
  readonly sql: string;
  /** The YAML file beside the model (`orders.yaml` for `orders.sql`), if any. */
  readonly yaml?: YamlSource;
  /** The installed dbt package it is a model of; absent for the project's own. */
  readonly package?: InstalledPackage;
  /** The line its definition starts at in `file`, where that is a properties file (a snapshots: entry with relation:). */
  readonly line?: number;
}

export interface SeedSource {
  readonly name: string;
  readonly file: string;
  readonly absPath: string;
  /** Content hash of the file alone; a seed's identity adds its config (see `seedHash`). */
  readonly hash: string;
  /** The start of the file through its header (see csvHead), whose shape analysis reads at the seed's delimiter. */
  readonly head: Text;
  /**
   * dbt-duckdb's types of the file's `columns` columns at `delimiter` (see seed-inference.ts),
   * read from the whole file when asked, once per change of the file.
   */
  readonly dbtTypes: (delimiter: string, columns: number) => readonly InferredColumn[];
  readonly yaml?: YamlSource;
  /** The installed dbt package it is a seed of; absent for the project's own. */
  readonly package?: InstalledPackage;
}

export interface MacroSource {
  readonly file: string;
  readonly source: string;
}

/**
 * A snapshot: a `{% snapshot %}` block of a file under the snapshot folders. Its `sql` is the
 * file's text with all but the block's body blanked, so that its lines are the file's.
 */
export interface SnapshotSource extends ModelSource {
  /** The line of its `{% snapshot %}` tag. */
  readonly line: number;
}

/** A `.sql` file under the test folders that is not a generic test definition: its rows are failures. */
export interface SingularTestSource {
  readonly name: string;
  readonly file: string;
  readonly sql: string;
  /** The installed dbt package it is a test of; absent for the project's own. */
  readonly package?: InstalledPackage;
}

/** A file pipe reads past without using it, and what it is; named in one notice. */
export interface UnusedFile {
  readonly file: string;
  readonly what: string;
}

/**
 * A model or seed of an installed package whose name the project (or a package read before)
 * already has. dbt keeps both, told apart by package; pipe's nodes are named by their names
 * alone. Analysis leaves it out when the folder configs disable it (how a project replaces a
 * package's model with its own), and refuses it otherwise.
 */
export interface ShadowedNode {
  readonly kind: 'model' | 'seed';
  readonly name: string;
  readonly file: string;
  /** The file of the node that has the name. */
  readonly other: string;
  readonly package: InstalledPackage;
}

export interface PipelineSource {
  readonly name: string;
  readonly file: string;
  readonly yaml: YamlSource;
}

/** A Markdown file that may hold dbt `{% docs name %}` blocks. */
export interface DocsSource {
  readonly file: string;
  readonly text: string;
  /** The package it belongs to, if any. */
  readonly package?: string;
}

/** A unit test's fixture file: `tests/fixtures/orders.csv` is the fixture `orders`, format csv. */
export interface FixtureSource {
  readonly name: string;
  readonly file: string;
  readonly format: 'csv' | 'sql';
  readonly text: string;
}

export interface ProjectFiles {
  readonly root: string;
  readonly projectFile?: YamlSource;
  /** `dbt_project.yml`: the folder is a dbt project. */
  readonly dbtProject?: YamlSource;
  /** A dbt_project.yml is there but could not be read (its error is among the diagnostics): the project is a dbt project all the same. */
  readonly dbtProjectUnread?: true;
  /** Its dbt_project.yml, or an installed package's, could not be read: nothing else was (see unreadProject). */
  readonly unread?: true;
  /** The folders the files below were read from. */
  readonly layout: ProjectLayout;
  /** dbt properties files (`version: 2`, `models:`, `sources:`, ...) under any of the folders. */
  readonly properties: readonly YamlSource[];
  readonly singularTests: readonly SingularTestSource[];
  /** Files under a `fixtures` folder of the test paths: the rows of unit tests (`fixture:`), not tests. */
  readonly fixtures?: readonly FixtureSource[];
  /** Markdown files of the model folders: their `{% docs %}` blocks are what `doc()` in descriptions gives. */
  readonly docs?: readonly DocsSource[];
  /** `selectors.yml` of a dbt project. */
  readonly selectorsFile?: YamlSource;
  /** packages.yml and dependencies.yml of a dbt project: the packages it expects installed. */
  readonly packageFiles?: readonly YamlSource[];
  /** The dbt packages declared and those installed (see load-packages.ts). */
  readonly packages?: ProjectPackages;
  readonly unused: readonly UnusedFile[];
  /** The model files; several of one name (case aside) in one project or package, of which analysis builds the one enabled. */
  readonly models: readonly ModelSource[];
  /** Snapshot blocks of the snapshot folders; snapshots declared in properties files are read with them. */
  readonly snapshots: readonly SnapshotSource[];
  readonly seeds: readonly SeedSource[];
  readonly macros: readonly MacroSource[];
  readonly pipelines: readonly PipelineSource[];
  readonly diagnostics: readonly Diagnostic[];
  /**
   * Names of model and seed files left out (a duplicate name, a name pipe refuses, a file that
   * cannot be read), already reported: a ref() to them is not unknown as well.
   */
  readonly leftOut?: readonly string[];
  /** The Python models of the model folders (`.py`), which pipe does not build: among leftOut too. */
  readonly pythonModels?: readonly PythonModelFile[];
  readonly shadowed?: readonly ShadowedNode[];
}

/** A Python model's file: dbt builds it with Python, pipe refuses it unless its config switches it off. */
export interface PythonModelFile {
  readonly name: string;
  readonly file: string;
  readonly package?: InstalledPackage;
  /** Its text, whose `dbt.config(...)` calls say its tags and whether it is switched off (see python-config.ts). */
  readonly code?: string;
}

export const PROJECT_FILE = 'pipe.yaml';

const toPosix = (p: string) => (sep === '/' ? p : p.split(sep).join('/'));

/** Names are table names, and DuckDB does not tell `Orders` from `orders`. */
/**
 * What names one node to pipe: any letter's case aside (DuckDB folds ASCII letters alone), and
 * the Unicode form its letters are written in (`café` composed or with a combining accent).
 */
export function nameKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

export function sameInCase(otherFile: string, name: string): string {
  const otherName = basename(otherFile).replace(/\.[^.]+$/, '');
  if (otherName === name) return '';
  if (otherName.normalize('NFC') === name.normalize('NFC')) return ' (names whose letters are written in two Unicode forms, an accent composed or combined, print alike and are one name to pipe)';
  // DuckDB folds the case of ASCII letters alone; pipe takes names that differ in any letter's case for one.
  return foldedName(otherName) === foldedName(name)
    ? ' (names that differ only in case are one table in DuckDB)'
    : ' (names that differ only in case are one name to pipe)';
}

/** A template's text as Jinja reads it (see template-text.ts). */
const templateOf = (text: string | undefined): string | undefined => (text === undefined ? undefined : templateText(text));

/** A project file's text, or undefined once the reason it cannot be had is reported. */
function readText(fs: ProjectFs, absPath: string, file: string, diagnostics: Diagnostic[]): string | undefined {
  try {
    const text = fs.read(absPath);
    const nul = text.indexOf('\u0000');
    if (nul === -1) return text;
    // DuckDB reads a statement as a C string: it would run the query up to the NUL and drop the rest without a word.
    const lineStart = text.lastIndexOf('\n', nul) + 1;
    const line = text.slice(0, lineStart).split('\n').length;
    diagnostics.push(
      error('nul-character', `${file} holds a NUL character (U+0000): a query would be cut short there without a word`, { file, line, column: nul - lineStart + 1 }, {
        hint: 'remove it; no text file of a project holds one (it is often left by a copy gone wrong)',
      }),
    );
    return undefined;
  } catch (e) {
    if (e instanceof NotUtf8Error) {
      diagnostics.push(
        error('not-utf8', `${file} is ${e.message}`, { file, line: e.line, column: e.column }, {
          hint: 'pipe reads every project file as UTF-8: save this one in that encoding',
        }),
      );
    } else {
      diagnostics.push(error('unreadable-file', `cannot read ${file}: ${(e as Error).message}`, { file }));
    }
    return undefined;
  }
}

/** A seed's file holding a NUL byte, at its line and column (1-based, in bytes of the line). */
class NulCharacter extends Error {
  readonly line: number;
  readonly column: number;
  constructor(content: string | Buffer, at: number) {
    super('NUL character');
    const before = typeof content === 'string' ? content.slice(0, at) : content.subarray(0, at).toString('latin1');
    const lineStart = before.lastIndexOf('\n') + 1;
    this.line = before.split('\n').length;
    this.column = at - lineStart + 1;
  }
}

/** A model or seed whose file name cannot be a name (see names.ts). */
function badName(kind: 'model' | 'seed' | 'snapshot', name: string, file: string, problem: string, dbt: boolean, line?: number): Diagnostic {
  const named = kind === 'snapshot' ? "a snapshot's block name" : `a ${kind}'s file name`;
  return error('bad-name', `'${printableName(name)}' cannot be a ${kind} name: ${problem}`, { file, line }, {
    hint: `${named} is its table name and its name in --select: it may hold ${nameRule(dbt)}; rename ${kind === 'snapshot' ? 'the block' : 'the file'}`,
  });
}

/**
 * pipe.yaml and dbt_project.yml alone, read as loadProject reads them: what says where the
 * warehouse is, for a command that opens it while the rest of the project loads.
 */
export function loadSettingsFiles(root: string, fs: ProjectFs = diskFs, yamlCache?: ParsedYamlCache): { projectFile?: YamlSource; dbtProject?: YamlSource; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const optional = (name: string) => {
    const path = join(root, name);
    return fs.exists(path) ? readYamlFile(fs, path, name, diagnostics, yamlCache, dialectOf(name)) : undefined;
  };
  return { projectFile: optional(PROJECT_FILE), dbtProject: optional(DBT_PROJECT_FILE), diagnostics };
}

/**
 * How a file of a project is read (see YamlDialect): pipe.yaml as pipe's own; in a dbt project
 * (one with a dbt_project.yml) every other file as dbt reads it, its packages' too.
 */
function dialectOf(file: string, dbtProject = true): YamlDialect {
  return file === PROJECT_FILE || !dbtProject ? 'pipe' : 'pyyaml';
}

function readYamlFile(fs: ProjectFs, absPath: string, file: string, diagnostics: Diagnostic[], cache?: ParsedYamlCache, dialect: YamlDialect = 'pipe'): YamlSource | undefined {
  const text = readText(fs, absPath, file, diagnostics);
  if (text === undefined) return undefined;
  // Parsed once per change of the file (watch mode); its diagnostics are reported every time.
  const parsed = fs.derive(absPath, `yaml:${dialect}:${file}`, () => {
    const found: Diagnostic[] = [];
    return { yaml: cache ? cache.parse(text, file, found, dialect) : parseYaml(text, file, found, undefined, dialect), found };
  });
  diagnostics.push(...parsed.found);
  return parsed.yaml;
}

/**
 * The YAML beside a model or seed, found in `listed` (the files of the folders it was listed
 * from, which hold it): loading asks the file system nothing per model.
 */
function sideYaml(fs: ProjectFs, absPath: string, root: string, listed: ReadonlySet<string>, diagnostics: Diagnostic[], readYaml: ReadYaml): YamlSource | undefined {
  // The same path strings every time: a cache looks them up without hashing them anew.
  const paths = fs.derive(absPath, 'side-yaml', () => {
    const stem = absPath.slice(0, -extname(absPath).length);
    return [`${stem}.yaml`, `${stem}.yml`];
  });
  // Most models have no YAML: ask twice without building an array.
  const yaml = listed.has(paths[0]);
  const yml = listed.has(paths[1]);
  if (!yaml && !yml) return undefined;
  // A dbt properties file named like its model is read with the other properties files.
  const own = paths
    .filter((p, i) => (i === 0 ? yaml : yml))
    .map((p) => readYaml(fs, p, toPosix(relative(root, p)), []))
    .filter((y): y is YamlSource => y !== undefined && !isPropertiesFile(y.data));
  if (own.length > 1) {
    diagnostics.push(
      error('duplicate-yaml', `both ${own[0].file} and ${basename(own[1].file)} exist; keep one`, { file: own[0].file }),
    );
  }
  return own[0];
}

/**
 * A seed's hash: SHA-256 of its text encoded as UTF-8. A file of valid UTF-8 is that encoding
 * already, so its bytes are hashed without decoding them (a seed of millions of rows is
 * hundreds of megabytes); any other file is hashed as its decoded text, as it always was.
 */
function contentHash(content: Buffer | string): string {
  return createHash('sha256')
    .update(typeof content === 'string' || isUtf8(content) ? content : content.toString('utf8'))
    .digest('hex')
    .slice(0, 16);
}

/** What in a seed's YAML changes the table it loads into. */
export interface SeedLoadConfig {
  readonly columnTypes: Readonly<Record<string, string>>;
  /** Absent for the default schema. */
  readonly schema?: string;
  /** Absent for a comma. */
  readonly delimiter?: string;
  /** Its table's name, when not the seed's (an alias): a load into another table is another load. */
  readonly table?: string;
}

/**
 * A seed's identity: it is reloaded when this changes. With nothing in its config that
 * changes the table it is the file's hash alone, so warehouses loaded before the config
 * counted keep their seeds; otherwise it also hashes the config in a canonical form (column
 * types sorted by name), so that reordering keys reloads nothing and editing a type reloads.
 */
export function seedHash(fileHash: string, config: SeedLoadConfig): string {
  const types = Object.entries(config.columnTypes).sort(([a], [b]) => byCodeUnit(a, b));
  if (types.length === 0 && config.schema === undefined && config.delimiter === undefined && config.table === undefined) return fileHash;
  const canonical = JSON.stringify({
    column_types: types,
    schema: config.schema ?? null,
    ...(config.delimiter === undefined ? {} : { delimiter: config.delimiter }),
    ...(config.table === undefined ? {} : { table: config.table }),
  });
  return createHash('sha256').update(`${fileHash}\n${canonical}`).digest('hex').slice(0, 16);
}

/**
 * A seed's identity with its checks (their text, see checksText): a seed whose checks changed
 * loads again, so that it is checked, as a model whose checks changed runs again. A seed
 * without checks keeps `hash`.
 */
export function seedHashWithChecks(hash: string, checksText: string): string {
  return createHash('sha256').update(`${hash}\n${checksText}`).digest('hex').slice(0, 16);
}

/** A project's node named like a package's, found before it (a seed of the project named like a package's model). */
const IN_TWO_PACKAGES =
  "pipe names each model, seed and snapshot once across the project and its installed packages (dbt tells them apart by package): rename the project's own";

const YAML_EXTENSIONS = ['.yaml', '.yml'];
const MACRO_EXTENSIONS = ['.sql', '.njk', '.jinja'];

/**
 * Reads a project. `fs` is the disk by default; watch mode passes a cache that re-reads only
 * the files that changed. `yamlCache` keeps parsed YAML between processes (see yaml-cache.ts).
 */
export function loadProject(root: string, fs: ProjectFs = diskFs, yamlCache?: ParsedYamlCache, seedDigests?: SeedDigestCache): ProjectFiles {
  const version = fs.version;
  const last = loads.get(fs);
  const again = last?.root === root ? reloadSaved(fs, last) : undefined;
  if (again) {
    loads.set(fs, { ...last!, version: version!, files: again });
    return again;
  }
  const loaded = loadAll(root, fs, yamlCache, seedDigests);
  if (version !== undefined) loads.set(fs, { root, version, files: loaded.files, modelAt: loaded.modelAt });
  return loaded.files;
}

/** The last load through a file system that is told of changes, to load again from what changed since. */
interface LastLoad {
  readonly root: string;
  /** The file system's version it was loaded at. */
  readonly version: number;
  readonly files: ProjectFiles;
  /** Where in `files.models` the project's own model of each file is; files read for anything else besides are not here. */
  readonly modelAt: ReadonlyMap<string, number>;
}

const loads = new WeakMap<ProjectFs, LastLoad>();

/** The loads made by reloadSaved: the load they were made from (not kept alive by this), and which models were read again. */
const reloads = new WeakMap<ProjectFiles, { readonly from: WeakRef<ProjectFiles>; readonly models: readonly number[] }>();

/**
 * Where in `files.models` the models are whose text was read again when `files` was loaded
 * from `previous` by saves of model text alone (see reloadSaved); undefined when `files` was
 * loaded otherwise: the caller compares the two itself.
 */
export function modelsReadAgain(files: ProjectFiles, previous: ProjectFiles): readonly number[] | undefined {
  const reload = reloads.get(files);
  return reload?.from.deref() === previous ? reload.models : undefined;
}

/**
 * The project after the saves since `last`, when they only changed the text of the project's
 * own model files: the last load with those models' text read again, and everything else the
 * same values as before (analysis tells what changed by them). Undefined when anything else
 * was told of (a file added, deleted, a YAML file, a macro, a folder), or a text cannot be
 * read: then the project is loaded whole, as the first time.
 */
function reloadSaved(fs: ProjectFs, last: LastLoad): ProjectFiles | undefined {
  const changes = fs.changedSince?.(last.version);
  if (!changes) return undefined;
  let models: ModelSource[] | undefined;
  const readAgain: number[] = [];
  for (const [path, event] of changes) {
    const at = last.modelAt.get(path);
    if (event !== 'change' || at === undefined) return undefined;
    const before = last.files.models[at];
    const found: Diagnostic[] = [];
    const sql = templateOf(readText(fs, path, before.file, found));
    if (sql === undefined) return undefined;
    models ??= [...last.files.models];
    models[at] = { ...before, sql };
    readAgain.push(at);
  }
  if (!models) return last.files;
  const files = { ...last.files, models };
  reloads.set(files, { from: new WeakRef(last.files), models: readAgain });
  return files;
}

/** A project whose dbt_project.yml (none given), or a package's (the project's `dbtProject` given), could not be read: its errors alone, nothing else read. */
function unreadProject(root: string, projectFile: YamlSource | undefined, layout: ProjectLayout, diagnostics: Diagnostic[], dbtProject?: YamlSource): ProjectFiles {
  const none = { properties: [], singularTests: [], unused: [], models: [], snapshots: [], seeds: [], macros: [], pipelines: [] };
  return { root, projectFile, ...(dbtProject ? { dbtProject } : { dbtProjectUnread: true as const }), unread: true, layout, ...none, diagnostics };
}

function loadAll(root: string, fs: ProjectFs, yamlCache: ParsedYamlCache | undefined, seedDigests?: SeedDigestCache): { files: ProjectFiles; modelAt: Map<string, number> } {
  // Each YAML file read once: the file beside a model is asked for with the model and again as a file of its folder.
  const yamlRead = new Map<string, { readonly yaml: YamlSource | undefined; readonly found: readonly Diagnostic[] }>();
  const dbt = fs.exists(join(root, DBT_PROJECT_FILE));
  const readYaml: ReadYaml = (f, absPath, file, found) => {
    let read = yamlRead.get(absPath);
    if (!read) {
      const problems: Diagnostic[] = [];
      read = { yaml: readYamlFile(f, absPath, file, problems, yamlCache, dialectOf(file, dbt)), found: problems };
      yamlRead.set(absPath, read);
    }
    found.push(...read.found);
    return read.yaml;
  };
  const diagnostics: Diagnostic[] = [];
  const leftOut: string[] = [];
  const pythonModels: PythonModelFile[] = [];
  // Listed files are under the root: cutting the root off is what relative() does, without its cost per file.
  const prefix = root.endsWith(sep) ? root : `${root}${sep}`;
  const rel = (p: string) => toPosix(p.startsWith(prefix) ? p.slice(prefix.length) : relative(root, p));
  /** Every file under the folders (each listed once, however the folders nest), sorted. */
  /** Files listed for anything but models: a model file among them is not only a model's text. */
  const listedElsewhere = new Set<string>();
  const listAll = (dirs: readonly string[], base = root, forModels = false) => {
    const out = new Set<string>();
    for (const d of dirs) for (const f of fs.list(join(base, d), true)) out.add(f);
    if (!forModels) for (const f of out) listedElsewhere.add(f);
    return [...out].sort();
  };
  const optionalYaml = (name: string) => {
    const path = join(root, name);
    return fs.exists(path) ? readYaml(fs, path, name, diagnostics) : undefined;
  };

  const projectFile = optionalYaml(PROJECT_FILE);
  const dbtProject = optionalYaml(DBT_PROJECT_FILE);
  // A dbt_project.yml that cannot be read (its error said) says where the folders are and by
  // which rules they are read: read by a pipe project's instead, its models would get warnings
  // of a project it is not (an incremental model left out for want of a key dbt does without).
  if (dbt && !dbtProject) return { files: unreadProject(root, projectFile, projectLayout(undefined, diagnostics), diagnostics), modelAt: new Map() };
  if (!projectFile && !fs.exists(join(root, PROJECT_FILE))) {
    // pipe.yml, Pipe.yaml: settings (vars, the warehouse, threads) the run would go without.
    const misnamed = fs.list(root, false).find((f) => f !== join(root, PROJECT_FILE) && /^pipe\.ya?ml$/i.test(basename(f)));
    if (misnamed) {
      diagnostics.push(error('bad-config', `${basename(misnamed)} is not read: pipe reads a project's settings from ${PROJECT_FILE}`, { file: basename(misnamed) }, { hint: `rename it ${PROJECT_FILE}` }));
    }
  }
  const layout = projectLayout(dbtProject, diagnostics);
  if (dbtProject) for (const d of missingFolders(dbtProject, layout, (dir) => fs.exists(join(root, dir)))) diagnostics.push(d);
  const selectorsFile = dbtProject ? optionalYaml('selectors.yml') : undefined;
  // dbt's file in a pipe project: its selectors would be unknown to --selector, the file there all the same.
  if (!dbtProject && fs.exists(join(root, 'selectors.yml'))) {
    diagnostics.push(
      warning('not-read', 'selectors.yml is read in a dbt project only (beside dbt_project.yml): its selectors are not known here', { file: 'selectors.yml' }, {
        hint: 'in a pipe project a pipeline names a selection: select: and exclude: in pipelines/NAME.yaml, run with pipe run NAME',
      }),
    );
  }
  const properties: YamlSource[] = [];
  const unused: UnusedFile[] = [];
  const packageFiles: YamlSource[] = [];
  for (const name of PACKAGE_FILES) {
    const yaml = dbtProject ? optionalYaml(name) : undefined;
    if (!yaml) continue;
    packageFiles.push(yaml);
    const projects = yaml.data.projects;
    if (Array.isArray(projects) && projects.length > 0) unused.push({ file: name, what: 'projects: (dbt projects this one reads models of), which pipe does not read' });
  }
  const packages = dbtProject ? loadPackages(root, dbtProject, packageFiles, fs, readYaml, diagnostics) : undefined;
  // A package's that cannot be read, likewise: what reads its models would be told it is not installed.
  if (packages?.unread) return { files: unreadProject(root, projectFile, layout, diagnostics, dbtProject), modelAt: new Map() };
  /**
   * The project's own folders, then each installed package's: a package's models, seeds,
   * snapshots and tests are nodes of the one graph, as in dbt. Its analyses are not read.
   */
  const origins: readonly { readonly base: string; readonly layout: ProjectLayout; readonly package?: InstalledPackage }[] = [
    { base: root, layout },
    ...(packages?.installed ?? []).map((p) => ({ base: join(root, p.dir), layout: p.layout, package: p })),
  ];
  /** A YAML file among models or seeds: a properties file, the config of the file beside it, or a mistake. */
  const yamlBeside = (abs: string, ext: string, owner: string, listed: ReadonlySet<string>) => {
    const file = rel(abs);
    const yaml = readYaml(fs, abs, file, diagnostics);
    // Unreadable or not YAML: said already, and what it was meant to be cannot be told.
    if (!yaml) return;
    if (isPropertiesFile(yaml.data)) {
      properties.push(yaml);
      return;
    }
    // dbt reads past a YAML file with nothing in it (empty, or comments only), and so does pipe.
    if (dbtProject && Object.keys(yaml.data).length === 0) return;
    const stem = abs.slice(0, -ext.length);
    if (!listed.has(`${stem}.${owner}`)) {
      diagnostics.push(
        error('orphan-yaml', `${file} has no ${owner === 'sql' ? 'model' : 'seed'} beside it (expected ${rel(stem)}.${owner})`, { file }, {
          hint: dbtProject ? 'a dbt properties file starts with version: 2 or a section such as models: or sources:' : undefined,
        }),
      );
    }
  };

  /**
   * A file named as a model's or seed's, or as a YAML file of their folders, but for the case of
   * its extension (`orders.SQL`, `orders.YAML`): not read, as dbt does not read it either, and said so.
   */
  function notReadForCase(abs: string, ext: string, wanted: string, what: 'model' | 'seed'): void {
    const lower = ext.toLowerCase();
    const yaml = YAML_EXTENSIONS.includes(lower);
    if (lower !== wanted && !yaml) return;
    const whose = yaml ? 'a YAML file' : `a ${what}'s file`;
    diagnostics.push(
      warning('not-read', `${rel(abs)} is not read: ${whose} name ends in ${yaml ? '.yml or .yaml' : wanted}, in lower case`, { file: rel(abs) }, {
        hint: `rename it to ${basename(abs, ext)}${yaml ? lower : wanted}`,
      }),
    );
  }

  /**
   * Each file of the model or seed folders of the project and of each installed package, with
   * its package and the files listed with it (among which the YAML beside a file is found).
   */
  function* filesOf(kind: 'models' | 'seeds'): Generator<{ abs: string; pkg?: InstalledPackage; listed: ReadonlySet<string> }> {
    for (const { base, layout: folders, package: pkg } of origins) {
      const files = listAll(folders[kind], base, kind === 'models');
      const listed = new Set(files);
      for (const abs of files) yield { abs, pkg, listed };
    }
  }

  const models: ModelSource[] = [];
  const docs: DocsSource[] = [];
  /** A `.md` file's docs blocks, read where dbt looks for them (docs-paths, else the folders of the other paths). */
  const readDocs = (abs: string, pkg?: InstalledPackage) => {
    if (extname(abs) !== '.md') return;
    const text = templateOf(readText(fs, abs, rel(abs), diagnostics));
    if (text !== undefined) docs.push({ file: rel(abs), text, ...(pkg ? { package: pkg.name } : {}) });
  };
  const seen = new Map<string, string>();
  /** Names (lowercased) of the packages' nodes among `seen`. */
  const packaged = new Set<string>();
  const shadowed: ShadowedNode[] = [];
  /** The package (or '' for the project) of each model name among `seen`, and of each seed name. */
  const modelOwners = new Map<string, string>();
  const seedOwners = new Map<string, string>();
  // A dbt project's names may start with a digit (see names.ts).
  const dbtNames = dbtProject !== undefined;
  const namesKind = `model-name:${dbtNames}:${root}`;
  for (const { abs, pkg, listed } of filesOf('models')) {
    const ext = extname(abs);
    if (YAML_EXTENSIONS.includes(ext)) {
      yamlBeside(abs, ext, 'sql', listed);
      continue;
    }
    if (ext === '.md') {
      if (!(pkg?.layout ?? layout).docs) readDocs(abs, pkg);
      continue;
    }
    if (ext === '.py') {
      // Refused by analysis unless its config switches it off (enabled: false), as dbt then never builds it.
      const code = readText(fs, abs, rel(abs), diagnostics);
      pythonModels.push({ name: basename(abs, ext), file: rel(abs), ...(pkg ? { package: pkg } : {}), ...(code === undefined ? {} : { code }) });
      leftOut.push(basename(abs, ext));
      continue;
    }
    if (ext !== '.sql') {
      if (!pkg) notReadForCase(abs, ext, '.sql', 'model');
      continue;
    }
    // Under a cache, the same strings every time: maps keyed by model names then find them
    // without hashing fresh copies of every name on every save.
    const { name, key, file, problem } = fs.derive(abs, namesKind, () => {
      const name = basename(abs, '.sql');
      return { name, key: nameKey(name), file: rel(abs), problem: nameProblem(name, dbtNames) };
    });
    if (problem !== undefined) {
      diagnostics.push(badName('model', name, file, problem, dbtNames));
      leftOut.push(name);
      continue;
    }
    const other = seen.get(key);
    // Files of one name in one project or package are all read: the one their configs enable is
    // the model, decided once configs are rendered (see same-named-models.ts).
    const sameOwner = other !== undefined && modelOwners.get(key) === (pkg?.name ?? '');
    if (other !== undefined && pkg && !sameOwner) {
      shadowed.push({ kind: 'model', name, file, other, package: pkg });
      continue;
    }
    if (other !== undefined && !sameOwner) {
      diagnostics.push(
        error('duplicate-model', `model '${name}' is defined twice: ${other} and ${file}${sameInCase(other, name)}`, { file }, {
          related: [{ message: 'first defined here', location: { file: other } }],
          hint: IN_TWO_PACKAGES,
        }),
      );
      leftOut.push(name);
      continue;
    }
    if (other === undefined) {
      seen.set(key, file);
      modelOwners.set(key, pkg?.name ?? '');
      if (pkg) packaged.add(key);
    }
    const sql = templateOf(readText(fs, abs, file, diagnostics));
    if (sql === undefined) {
      leftOut.push(name);
      continue;
    }
    models.push({ name, file, absPath: abs, sql, yaml: sideYaml(fs, abs, root, listed, diagnostics, readYaml), ...(pkg ? { package: pkg } : {}) });
  }

  const seeds: SeedSource[] = [];
  for (const { abs, pkg, listed } of filesOf('seeds')) {
    const ext = extname(abs);
    if (YAML_EXTENSIONS.includes(ext)) {
      yamlBeside(abs, ext, 'csv', listed);
      continue;
    }
    if (ext !== '.csv') {
      if (ext === '.md' && !(pkg?.layout ?? layout).docs) readDocs(abs, pkg);
      else if (!pkg) notReadForCase(abs, ext, '.csv', 'seed');
      continue;
    }
    const name = basename(abs, '.csv');
    const file = rel(abs);
    const problem = nameProblem(name, dbtNames);
    if (problem !== undefined) {
      diagnostics.push(badName('seed', name, file, problem, dbtNames));
      leftOut.push(name);
      continue;
    }
    const other = seen.get(nameKey(name));
    // As models: seed files of one name in one project or package are all read.
    const sameOwner = other !== undefined && seedOwners.get(nameKey(name)) === (pkg?.name ?? '');
    if (other !== undefined && pkg && !sameOwner) {
      shadowed.push({ kind: 'seed', name, file, other, package: pkg });
      continue;
    }
    if (other !== undefined && !sameOwner) {
      diagnostics.push(
        error('duplicate-model', `'${name}' is defined twice: ${other} and ${file}${sameInCase(other, name)}`, { file }, {
          related: [{ message: 'first defined here', location: { file: other } }],
          hint: packaged.has(nameKey(name)) ? IN_TWO_PACKAGES : 'seeds and models share one namespace; rename one file',
        }),
      );
      leftOut.push(name);
      continue;
    }
    if (other === undefined) {
      seen.set(nameKey(name), file);
      seedOwners.set(nameKey(name), pkg?.name ?? '');
      if (pkg) packaged.add(nameKey(name));
    }
    let digested: { hash: string; head: ReturnType<typeof csvHead> };
    try {
      digested = fs.derive(abs, 'seed-content', () => {
        const digest = () => {
          const content = fs.readBytes ? fs.readBytes(abs) : fs.read(abs);
          const nul = typeof content === 'string' ? content.indexOf('\u0000') : content.indexOf(0);
          if (nul !== -1) throw new NulCharacter(content, nul);
          return { hash: contentHash(content), head: csvHead(content) };
        };
        return seedDigests ? seedDigests.digest(abs, digest) : digest();
      });
    } catch (e) {
      if (e instanceof NulCharacter) {
        diagnostics.push(
          error('nul-character', `${file} holds a NUL character (U+0000): DuckDB would load it into the seed's values or column names, which no query can name`, { file, line: e.line, column: e.column }, {
            hint: 'remove it; no text file of a project holds one (it is often left by a copy gone wrong)',
          }),
        );
      } else if (e instanceof Error && 'code' in e) diagnostics.push(error('unreadable-file', `cannot read ${file}: ${e.message}`, { file }));
      else throw e;
      leftOut.push(name);
      continue;
    }
    const { hash, head } = digested;
    const dbtTypes = (delimiter: string, columns: number) =>
      fs.derive(abs, `seed-types:${delimiter}:${columns}`, () => {
        const content = fs.readBytes ? fs.readBytes(abs).toString('utf8') : fs.read(abs);
        return inferSeedTypes(content, delimiter, columns);
      });
    seeds.push({ name, file, absPath: abs, hash, head, dbtTypes, yaml: sideYaml(fs, abs, root, listed, diagnostics, readYaml), ...(pkg ? { package: pkg } : {}) });
  }

  // Docs blocks where docs-paths says (else in the folders of the other paths, as the loops meet them).
  for (const { base, layout: folders, package: pkg } of origins) {
    if (folders.docs) for (const abs of listAll(folders.docs, base, true)) readDocs(abs, pkg);
  }

  const macros: MacroSource[] = [];
  for (const abs of listAll(layout.macros)) {
    const ext = extname(abs);
    if (ext === '.md' && !layout.docs) readDocs(abs);
    if (YAML_EXTENSIONS.includes(ext)) {
      const yaml = readYaml(fs, abs, rel(abs), diagnostics);
      if (yaml && isPropertiesFile(yaml.data)) properties.push(yaml);
      continue;
    }
    if (!MACRO_EXTENSIONS.includes(ext)) continue;
    const source = templateOf(readText(fs, abs, rel(abs), diagnostics));
    if (source !== undefined) macros.push({ file: rel(abs), source });
  }

  const singularTests: SingularTestSource[] = [];
  const fixtures: FixtureSource[] = [];
  for (const { base, layout: folders, package: pkg } of origins) for (const abs of listAll(folders.tests, base)) {
    const ext = extname(abs);
    const file = rel(abs);
    // As in dbt, a fixtures folder of the test paths holds unit tests' rows, not singular tests.
    if (!pkg && file.split('/').includes('fixtures') && (ext === '.csv' || ext === '.sql')) {
      const text = readText(fs, abs, file, diagnostics);
      if (text !== undefined) fixtures.push({ name: basename(abs, ext), file, format: ext === '.csv' ? 'csv' : 'sql', text });
      continue;
    }
    if (YAML_EXTENSIONS.includes(ext)) {
      const yaml = readYaml(fs, abs, file, diagnostics);
      if (yaml && isPropertiesFile(yaml.data)) properties.push(yaml);
      continue;
    }
    if (ext !== '.sql') continue;
    const sql = templateOf(readText(fs, abs, file, diagnostics));
    if (sql === undefined) continue;
    // A file defining generic tests is read like a macro file (a package's, with its macros); any other query is a test.
    if (GENERIC_TEST_RE.test(sql)) {
      if (!pkg) macros.push({ file, source: sql });
    } else if (folders.tests.some((d) => relative(join(base, d), abs).split(sep)[0] === 'generic')) {
      // As in dbt, a test path's generic/ folder holds generic tests alone: a query there is no singular test.
      if (!pkg) {
        diagnostics.push(
          warning('query-among-generic-tests', `${file} is not run: it defines no generic test, and a query in a generic/ folder of the test paths is no singular test, as in dbt`, { file }, {
            hint: `move it out of generic/ to run it as a singular test, or define a generic test in it: {% test name(model, column_name) %} ... {% endtest %}`,
          }),
        );
      }
    } else singularTests.push({ name: basename(abs, ext), file, sql, ...(pkg ? { package: pkg } : {}) });
  }

  const snapshots: SnapshotSource[] = [];
  /** The names of the snapshots read so far, whose files are not named after them. */
  const snapshotNames = new Map<string, string>();
  for (const { base, layout: folders, package: pkg } of origins) for (const abs of listAll(folders.snapshots, base)) {
    const ext = extname(abs);
    if (ext === '.md' && !folders.docs) readDocs(abs, pkg);
    if (YAML_EXTENSIONS.includes(ext)) {
      const yaml = readYaml(fs, abs, rel(abs), diagnostics);
      if (yaml && isPropertiesFile(yaml.data)) properties.push(yaml);
      continue;
    }
    if (ext !== '.sql') continue;
    const file = rel(abs);
    const text = templateOf(readText(fs, abs, file, diagnostics));
    if (text === undefined) continue;
    const found = fs.derive(abs, 'snapshot-blocks', () => snapshotBlocks(text));
    for (const p of found.problems) diagnostics.push(error('bad-snapshot', p.message, { file, line: p.line }));
    if (found.textOutside) unused.push({ file, what: 'text outside snapshot blocks' });
    for (const block of found.blocks) {
      const problem = nameProblem(block.name, dbtNames);
      if (problem !== undefined) {
        diagnostics.push(badName('snapshot', block.name, file, problem, dbtNames, block.line));
        leftOut.push(block.name);
        continue;
      }
      const other = seen.get(nameKey(block.name));
      if (other !== undefined) {
        const otherName = snapshotNames.get(nameKey(block.name));
        const inCase = otherName === undefined ? sameInCase(other, block.name) : otherName === block.name ? '' : sameInCase(otherName, block.name);
        diagnostics.push(
          error('duplicate-model', `'${block.name}' is defined twice: ${other} and ${file}${inCase}`, { file, line: block.line }, {
            related: [{ message: 'first defined here', location: { file: other } }],
            hint: pkg || packaged.has(nameKey(block.name)) ? IN_TWO_PACKAGES : 'snapshots, models and seeds share one namespace; rename one',
          }),
        );
        leftOut.push(block.name);
        continue;
      }
      seen.set(nameKey(block.name), file);
      if (pkg) packaged.add(nameKey(block.name));
      snapshotNames.set(nameKey(block.name), block.name);
      snapshots.push({
        name: block.name,
        file,
        absPath: abs,
        line: block.line,
        sql: fs.derive(abs, `snapshot-block:${block.name}`, () => blockText(text, block)),
        ...(pkg ? { package: pkg } : {}),
      });
    }
  }
  for (const abs of listAll(layout.analyses)) {
    if (extname(abs) === '.sql') unused.push({ file: rel(abs), what: 'analyses' });
    else if (!layout.docs) readDocs(abs);
  }

  const pipelines: PipelineSource[] = [];
  for (const abs of fs.list(join(root, 'pipelines'), false)) {
    listedElsewhere.add(abs);
    const ext = extname(abs);
    if (!YAML_EXTENSIONS.includes(ext)) continue;
    const yaml = readYaml(fs, abs, rel(abs), diagnostics);
    if (yaml) pipelines.push({ name: basename(abs, ext), file: rel(abs), yaml });
  }

  const modelAt = new Map<string, number>();
  models.forEach((m, i) => {
    // A package's files are read by load-packages.ts too.
    if (!m.package && !listedElsewhere.has(m.absPath) && !origins.some((o) => o.package && m.absPath.startsWith(o.base + sep))) modelAt.set(m.absPath, i);
  });
  const files: ProjectFiles = {
    root,
    projectFile,
    dbtProject,
    layout,
    properties,
    singularTests,
    fixtures,
    docs,
    selectorsFile,
    packageFiles,
    packages,
    unused,
    models,
    snapshots,
    seeds,
    macros,
    pipelines,
    diagnostics,
    leftOut,
    ...(pythonModels.length > 0 ? { pythonModels } : {}),
    shadowed,
  };
  return { files, modelAt };
}
