import { SeedDigestCache, seedDigestCacheDir } from '../project/seed-digest-cache.js';
import { existsSync, readdirSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { error, DiagnosticError, hasErrors, type Location } from '../diagnostics/diagnostics.js';
import { readWarehouseSettings, validateSettings, type ValidatedSettings } from '../analyze/project-settings.js';
import { loadProject, loadSettingsFiles, PROJECT_FILE, type ProjectFiles } from '../project/load-project.js';
import { diskFs, type ProjectFs } from '../project/project-fs.js';
import type { WarehouseSetup } from '../warehouse/warehouse-setup.js';
import { notAFilePath, warehouseFilePath } from '../warehouse/warehouse-file.js';
import { ParsedYamlCache, yamlCacheDir } from '../project/yaml-cache.js';
import { DBT_PROJECT_FILE, type ProjectLayout } from '../project/layout.js';
import type { ProjectOptions } from './context.js';
import { LAKE_PREFIX, lakeFromDb, lakeLocation } from '../analyze/lake-config.js';
import { TemplateCodeCache, templateCacheDir } from '../analyze/template-code-cache.js';

/**
 * The project as every command starts from it: its files, pipe.yaml and the pipelines
 * validated (their problems are reported with the analysis'), and where its warehouse is.
 * Nothing after this reads the YAML of pipe.yaml or of a pipeline again.
 */
export interface Project extends ValidatedSettings {
  readonly root: string;
  readonly files: ProjectFiles;
  /**
   * `--db` (from the current directory), else `warehouse:` of pipe.yaml, else `path:` of the
   * profile target (both from the project). The warehouse opens with `warehouseSetup`.
   */
  readonly warehousePath: string;
}

/** selectors.yml as data, null when the project has none: what a run records for its retries (see CommonParams.selectors_yml). */
export function selectorsOf(project: Project): Readonly<Record<string, unknown>> | null {
  return project.files.selectorsFile?.data ?? null;
}

/** The name a project goes by, as its analysis names it: dbt_project.yml's, else pipe.yaml's, else its folder's. */
export function projectName(project: Project): string {
  const dbtName = project.files.dbtProject?.data.name;
  return typeof dbtName === 'string' && dbtName !== '' ? dbtName : (project.settings.name ?? basename(project.root));
}

/**
 * Loads and validates the project of `options`. A folder that is no project, a warehouse with
 * no usable path, or a profile with errors stops here: nothing else can be done without them.
 */
export function openProject(options: ProjectOptions, fs?: ProjectFs): Project {
  const root = resolve(options.project ?? '.');
  if (!existsSync(root)) throw new DiagnosticError([error('no-project', `project directory ${root} does not exist`)]);
  if (!statSync(root).isDirectory()) {
    throw new DiagnosticError([error('no-project', `${root} is a file, not a project directory`, undefined, { hint: `pass the folder it is in: --project ${dirname(root)}` })]);
  }
  const files = loadProject(root, fs, new ParsedYamlCache(yamlCacheDir(root)), new SeedDigestCache(seedDigestCacheDir(root)));
  if (!files.dbtProject && !files.layout.models.some((m) => existsSync(resolve(root, m))) && files.seeds.length === 0) {
    const above = enclosingProject(root);
    const below = above === undefined ? projectsBelow(root) : [];
    const shown = (dir: string) => {
      const rel = relative(process.cwd(), dir);
      return rel.startsWith('..') || isAbsolute(rel) ? dir : rel || '.';
    };
    throw new DiagnosticError([
      error('no-project', `${root} has no models/ folder: is this a pipe project?`, undefined, {
        hint: above
          ? `${above} is one: run pipe there, or pass --project ${above}`
          : below.length > 0
            ? `${below.map(shown).join(', ')} ${below.length === 1 ? 'is one' : 'are projects'}: run pipe there, or pass --project ${shown(below[0])}`
            : 'run pipe in a project folder, pass --project DIR, or start a project here with pipe init',
      }),
    ]);
  }
  const validated = validateSettings(files, { profilesDir: options.profilesDir, target: options.target, vars: options.vars });
  if (validated.profileProblems.length > 0) throw new DiagnosticError(validated.profileProblems);
  let warehousePath: string;
  if (options.db?.startsWith(LAKE_PREFIX)) {
    // A lake on the command line: its catalog from there, the rest from pipe.yaml's lake.
    const found = lakeFromDb(options.db, validated.settings.lake);
    if ('problem' in found) throw new DiagnosticError([error('bad-option', found.problem, undefined, { hint: found.hint })]);
    const lake = found.lake;
    const location = lakeLocation(lake) ?? '';
    return {
      ...validated,
      settings: { ...validated.settings, lake, warehouse: location },
      warehouseSetup: { ...validated.warehouseSetup, lake },
      root,
      files,
      warehousePath: location,
    };
  }
  if (options.db !== undefined) {
    const notFile = notAFilePath(options.db);
    if (notFile !== undefined) {
      throw new DiagnosticError([error('bad-option', `--db ${notFile}`, undefined, { hint: 'give the path of a DuckDB file (created if missing); --dry-run shows what a run would do, writing nothing' })]);
    }
    warehousePath = warehouseFilePath(process.cwd(), options.db);
    // A DuckDB file on the command line replaces pipe.yaml's lake.
    if (validated.warehouseSetup.lake) {
      const { lake: _lake, ...setup } = validated.warehouseSetup;
      const { lake: _settingsLake, ...settings } = validated.settings;
      return { ...validated, settings: { ...settings, warehouse: warehousePath }, warehouseSetup: setup, root, files, warehousePath };
    }
  }
  else if (validated.warehouseProblem) throw new DiagnosticError([validated.warehouseProblem]);
  else {
    refuseOtherSystemsPath(validated, files);
    warehousePath = warehouseFilePath(root, validated.settings.warehouse);
    refuseFolderElsewhere(root, warehousePath, validated, files);
  }
  const folder = projectFolderAt(root, files.layout, warehousePath);
  if (folder !== undefined) {
    const given = options.db !== undefined ? `--db ${options.db}` : `the warehouse ${validated.settings.warehouse}`;
    const own = options.db === undefined && files.projectFile?.data.warehouse !== undefined ? files.projectFile : undefined;
    throw new DiagnosticError([
      error('bad-option', `${given} is the project's ${folder} folder: the DuckDB file would take the folder's place`, own && { file: own.file, line: own.keyLine('warehouse') }, {
        hint: 'name a file of its own, e.g. warehouse.duckdb',
      }),
    ]);
  }
  // The file on the command line is the warehouse templates name (target.database, this.database).
  const settings = options.db !== undefined ? { ...validated.settings, warehouse: warehousePath } : validated.settings;
  return { ...validated, settings, root, files, warehousePath };
}

/**
 * A warehouse that pipe.yaml or profiles.yml places in a folder that does not exist outside
 * the project: refused, as dbt-duckdb refuses it, rather than made. Such a path is most often
 * another machine's (a teammate's home folder) or a placeholder never filled in
 * (`/Users/<YOUR_NAME>/…`), and making it would build a warehouse nobody looks for. Missing
 * folders inside the project are made (`target/dev.duckdb`), and so are those of `--db`.
 */
function refuseFolderElsewhere(root: string, path: string, validated: ValidatedSettings, files: ProjectFiles): void {
  const folder = dirname(path);
  if (validated.warehouseSetup.lake !== undefined || existsSync(folder) || within(root, folder)) return;
  const { at, key } = warehouseSetting(validated, files);
  const placeholder = /<[^<>/]+>/.exec(path)?.[0];
  throw new DiagnosticError([
    error('bad-option', `the warehouse ${path} is in a folder that does not exist, ${folder}${placeholder ? ` (${placeholder} looks like a placeholder to fill in)` : ''}`, at, {
      hint: `pipe makes missing folders inside the project only: set ${key} to a file in the project or in a folder that exists, or create the folder`,
    }),
  ]);
}

/**
 * A warehouse path written for Windows (`T:/lake/dev.duckdb`, `C:\\data\\dev.duckdb`) on
 * another system, which reads it as a folder named `T:` in the project: refused at its line, as
 * the path of another machine, rather than a warehouse made there.
 */
function refuseOtherSystemsPath(validated: ValidatedSettings, files: ProjectFiles): void {
  const path = validated.settings.warehouse;
  if (process.platform === 'win32' || !/^[A-Za-z]:[\\/]/.test(path)) return;
  const { at, key } = warehouseSetting(validated, files);
  throw new DiagnosticError([
    error('bad-option', `the warehouse ${path} is a Windows path (a drive letter), which this machine would read as a folder named ${path.slice(0, 2)} in the project`, at, {
      hint: `set ${key} to a path of this machine (a target of its own in profiles.yml, or --db)`,
    }),
  ]);
}

/** Where the warehouse's path is set, pipe.yaml's `warehouse:` or else the profile's `path:`, and that key. */
function warehouseSetting(validated: ValidatedSettings, files: ProjectFiles): { readonly at: Location | undefined; readonly key: string } {
  const own = files.projectFile?.data.warehouse !== undefined ? files.projectFile : undefined;
  return own ? { at: { file: own.file, line: own.keyLine('warehouse') }, key: 'warehouse:' } : { at: validated.profile?.pathAt, key: 'path:' };
}

/**
 * Whether `folder` (which need not exist) lies inside `root`, as written or with links followed
 * (a project reached through a link, or a link the project holds to a folder elsewhere): the
 * part of it that exists is compared as it resolves, the rest as written (`..cache` is a name, not `..`).
 */
function within(root: string, folder: string): boolean {
  const inside = (from: string, to: string) => {
    const rel = relative(from, to);
    return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
  };
  if (inside(root, folder)) return true;
  let existing = folder;
  const rest: string[] = [];
  while (!existsSync(existing) && dirname(existing) !== existing) {
    rest.unshift(basename(existing));
    existing = dirname(existing);
  }
  return inside(realpathSync(root), join(realpathSync(existing), ...rest));
}

/** Which folder of the project (`seeds`, `pipelines`…) `path` is, if it is one. */
function projectFolderAt(root: string, layout: ProjectLayout, path: string): string | undefined {
  const folders = [...Object.values(layout).flatMap((dirs: readonly string[] | undefined) => dirs ?? []), 'pipelines', '.pipe'];
  return folders.find((dir) => resolve(root, dir) === path);
}

/**
 * The DuckDB file of `options` and how it opens, from pipe.yaml, dbt_project.yml and
 * profiles.yml alone, as openProject finds them (which checks that it did): undefined for a
 * lake, and when the settings have a problem (openProject reports it).
 */
export function warehouseAhead(options: ProjectOptions, fs: ProjectFs = diskFs): { readonly path: string; readonly setup: WarehouseSetup } | undefined {
  if (options.db?.startsWith(LAKE_PREFIX)) return undefined;
  const root = resolve(options.project ?? '.');
  const { projectFile, dbtProject, diagnostics } = loadSettingsFiles(root, fs, new ParsedYamlCache(yamlCacheDir(root)));
  const read = readWarehouseSettings({ root, projectFile, dbtProject }, diagnostics, { profilesDir: options.profilesDir, target: options.target, vars: options.vars });
  if (hasErrors(diagnostics)) return undefined;
  if (options.db !== undefined) {
    const { lake: _lake, ...setup } = read.warehouseSetup;
    return { path: warehouseFilePath(process.cwd(), options.db), setup };
  }
  if (read.warehouseProblem || read.warehouseSetup.lake) return undefined;
  return { path: warehouseFilePath(root, read.settings.warehouse), setup: read.warehouseSetup };
}

/**
 * The compiled templates of the project's warehouse, kept beside it (see template-code-cache.ts);
 * none for a lake whose data is not in a local folder (an object store's URL is no place for them).
 */
export function templateCacheOf(project: Project): TemplateCodeCache | undefined {
  return isAbsolute(project.warehousePath) ? new TemplateCodeCache(templateCacheDir(project.warehousePath)) : undefined;
}

/** The nearest folder above `dir` that holds a pipe project (pipe.yaml, or models/ and seeds/). */
/**
 * The projects in the folders below `dir`, two levels down at most (a repository whose dbt
 * project is `transform/`): their folders, by name.
 */
function projectsBelow(dir: string): string[] {
  const found: string[] = [];
  const visit = (d: string, depth: number) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (!e.isDirectory() || e.name.startsWith('.') || SKIPPED_BELOW.has(e.name)) continue;
      const sub = join(d, e.name);
      if (existsSync(join(sub, PROJECT_FILE)) || existsSync(join(sub, DBT_PROJECT_FILE))) found.push(sub);
      else if (depth < 2) visit(sub, depth + 1);
    }
  };
  visit(dir, 1);
  return found;
}

/** Folders that hold others' projects (installed packages, dependencies), not the user's. */
const SKIPPED_BELOW = new Set(['node_modules', 'dbt_packages', 'dbt_modules', 'target', 'venv', 'site-packages']);

function enclosingProject(dir: string): string | undefined {
  for (let d = dirname(dir); d !== dirname(d); d = dirname(d)) {
    if (existsSync(join(d, PROJECT_FILE)) || existsSync(join(d, DBT_PROJECT_FILE)) || (existsSync(join(d, 'models')) && existsSync(join(d, 'seeds')))) return d;
  }
  return undefined;
}
