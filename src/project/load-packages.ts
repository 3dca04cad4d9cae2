import { templateText } from './template-text.js';
import { realpathSync } from 'node:fs';
import { basename, join, posix, relative, resolve, sep } from 'node:path';
import { error, warning, type Diagnostic, type Location } from '../diagnostics/diagnostics.js';
import { DBT_PROJECT_FILE, projectLayout, type ProjectLayout } from './layout.js';
import type { ProjectFs } from './project-fs.js';
import type { YamlSource } from './yaml-file.js';

/**
 * The dbt packages of a dbt project: those its packages.yml (or dependencies.yml) declares, and
 * those installed: each folder of `packages-install-path` (`dbt_packages/`) holding a
 * dbt_project.yml, as `dbt deps` leaves them, and each `local:` package at its path. Their
 * macros are read here; their models, seeds and tests are nodes of the project's one graph,
 * read with the project's own (load-project.ts). pipe installs nothing: a package it cannot
 * read is declared but not installed, and analysis decides what its calls become.
 */

/** A file of a package, read like a macro file of the project. */
export interface PackageFile {
  readonly file: string;
  readonly source: string;
}

/**
 * The installed package a file of the project (its path from the root) belongs to: the one whose
 * folder holds it most closely, since one package's folder may hold another's (a local package
 * kept in the integration tests of the package that uses it).
 */
export function packageOfFile(installed: readonly InstalledPackage[] | undefined, file: string): InstalledPackage | undefined {
  let found: InstalledPackage | undefined;
  for (const p of installed ?? []) if (file.startsWith(`${p.dir}/`) && (found === undefined || p.dir.length > found.dir.length)) found = p;
  return found;
}

export interface InstalledPackage {
  /** The name its dbt_project.yml gives it: the namespace of its macros. */
  readonly name: string;
  /** Its folder, relative to the project root. */
  readonly dir: string;
  /** Its macro files, and the files of its test folders that define generic tests. */
  readonly macros: readonly PackageFile[];
  /** Its folders, from its dbt_project.yml: its models, seeds and tests are read with the project's (load-project.ts). */
  readonly layout: ProjectLayout;
  /** Its dbt_project.yml: the folder configs of its own nodes, which the project's override. */
  readonly project: YamlSource;
}

export interface DeclaredPackage {
  /** Its name as dbt will install it: `dbt-labs/dbt_utils` is dbt_utils. */
  readonly name: string;
  readonly location: Location;
}

export interface ProjectPackages {
  readonly installed: readonly InstalledPackage[];
  readonly declared: readonly DeclaredPackage[];
  /** The folder `dbt deps` installs packages into (`packages-install-path`), relative to the project root. */
  readonly installPath: string;
  /** A package's dbt_project.yml could not be read (its error is said): what the project reads of the package is not known. */
  readonly unread?: true;
}

const DEFAULT_INSTALL_PATH = 'dbt_packages';
/** The files of a dbt project that declare its packages, dbt's older name and its newer. */
export const PACKAGE_FILES = ['packages.yml', 'dependencies.yml'] as const;

export const NO_PACKAGES: ProjectPackages = { installed: [], declared: [], installPath: DEFAULT_INSTALL_PATH };
/** A generic test definition: `{% test name(model, ...) %}`. */
export const GENERIC_TEST_RE = /\{%-?\s*test\s+[\p{L}_]/u;

/** The name dbt installs a declared package under: the last part of its hub name, git URL or folder. */
export function declaredName(spec: string): string | undefined {
  const last = spec.replace(/\.git$/, '').replace(/\/+$/, '').split(/[/:]/).pop();
  return last ? last.replace(/-/g, '_') : undefined;
}

const toPosix = (p: string) => (sep === '/' ? p : p.split(sep).join('/'));

/** How loading reads a YAML file (cached per change of the file). */
export type ReadYaml = (fs: ProjectFs, absPath: string, file: string, diagnostics: Diagnostic[]) => YamlSource | undefined;

export function loadPackages(
  root: string,
  dbtProject: YamlSource,
  packageFiles: readonly YamlSource[],
  fs: ProjectFs,
  readYaml: ReadYaml,
  diagnostics: Diagnostic[],
): ProjectPackages {
  const rel = (abs: string) => toPosix(relative(root, abs));
  const declared: DeclaredPackage[] = [];
  const folders: { abs: string; at?: Location }[] = [];
  for (const f of packageFiles) {
    const list = f.data.packages;
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) {
      diagnostics.push(error('bad-config', `packages must be a list of packages, e.g. - package: dbt-labs/dbt_utils`, { file: f.file, line: f.keyLine('packages') }));
      continue;
    }
    list.forEach((p, i) => {
      const at = { file: f.file, line: f.pathLine(['packages', String(i)]) };
      const spec = typeof p === 'object' && p !== null ? (p as Record<string, unknown>) : {};
      const ref = [spec.package, spec.git, spec.local, spec.tarball, spec.name].find((v): v is string => typeof v === 'string');
      const name = ref === undefined ? undefined : declaredName(ref);
      if (name === undefined) {
        diagnostics.push(error('bad-config', 'a package is named by package:, git:, local: or tarball:', at));
        return;
      }
      declared.push({ name, location: at });
      // dbt reads a local: path from the project folder, or as it is when it is absolute.
      if (typeof spec.local === 'string') folders.push({ abs: resolve(root, spec.local), at });
    });
  }

  const installPath = typeof dbtProject.data['packages-install-path'] === 'string' ? dbtProject.data['packages-install-path'] : DEFAULT_INSTALL_PATH;
  const installDir = join(root, installPath);
  // The installed packages first: dbt reads a package from the install folder, where dbt deps
  // links (or copies) a local: one; its path is read when nothing of its name is installed.
  const installedFolders: { abs: string; at?: Location }[] = [];
  for (const file of fs.list(installDir, true)) {
    const inside = toPosix(relative(installDir, file));
    if (posix.basename(inside) === DBT_PROJECT_FILE && inside.split('/').length === 2) installedFolders.push({ abs: join(installDir, posix.dirname(inside)) });
  }
  folders.unshift(...installedFolders);

  const installedAny = folders.some((f) => f.at === undefined);
  const installed: InstalledPackage[] = [];
  const seen = new Map<string, { dir: string; abs: string; local: boolean }>();
  /** The folders whose dbt_project.yml could not be read: said once, though a local: path may name an installed one. */
  const unread = new Set<string>();
  for (const { abs, at } of folders) {
    if (unread.has(abs)) continue;
    const dir = rel(abs);
    const projectPath = join(abs, DBT_PROJECT_FILE);
    if (!fs.exists(projectPath)) {
      if (at !== undefined) {
        // dbt reads packages from the install folder alone (dbt deps copies a local one there): one
        // copied with the project may be all there is, its path gone or no package any more (a
        // package's integration_tests copied out of its repository, `local: ../`).
        const what = fs.exists(abs) ? `has no ${DBT_PROJECT_FILE}` : 'is not there';
        diagnostics.push(
          installedAny
            ? warning('missing-package', `the local package ${dir} ${what}: pipe reads the packages installed in ${installPath}, as dbt does`, at, {
                hint: `if it is not among them, fix its path in ${at.file}, or run dbt deps`,
              })
            : error('bad-config', `the local package ${dir} ${what === 'is not there' ? `is not there: no folder ${dir}` : what}`, at, { hint: `fix its path in ${at.file}, or run dbt deps to install it in ${installPath}` }),
        );
        continue;
      }
      diagnostics.push(error('bad-config', `the local package ${dir} has no ${DBT_PROJECT_FILE}`, { file: dir }));
      continue;
    }
    const own = readYaml(fs, projectPath, rel(projectPath), diagnostics);
    if (!own) {
      unread.add(abs);
      continue;
    }
    const name = typeof own.data.name === 'string' ? own.data.name : basename(abs);
    const other = seen.get(name);
    if (other !== undefined) {
      if (at !== undefined && !other.local && !sameFolder(other.abs, abs)) {
        // A copy in the install folder (not dbt deps' link to the path): dbt reads it, so does pipe.
        diagnostics.push(
          warning('package-copy', `the local package ${dir} is also installed in ${other.dir}, as a copy: pipe reads that copy, as dbt does`, at, {
            hint: `run dbt deps after changing ${dir}, so that the copy holds the change (or link ${other.dir} to it)`,
          }),
        );
      } else if (at === undefined && !other.local) {
        diagnostics.push(
          error('duplicate-package', `the package ${name} is installed twice: ${other.dir} and ${dir}`, { file: rel(projectPath) }, { hint: 'keep one (dbt clean, then dbt deps)' }),
        );
      }
      continue;
    }
    seen.set(name, { dir, abs, local: at !== undefined });
    const layout = projectLayout(own, diagnostics);
    const macros: PackageFile[] = [];
    const read = (file: string, onlyTests: boolean) => {
      if (!file.endsWith('.sql')) return;
      const raw = readText(fs, file, rel(file), diagnostics);
      const text = raw === undefined ? undefined : templateText(raw);
      if (text !== undefined && (!onlyTests || GENERIC_TEST_RE.test(text))) macros.push({ file: rel(file), source: text });
    };
    for (const d of layout.macros) for (const f of fs.list(join(abs, d), true)) read(f, false);
    for (const d of layout.tests) for (const f of fs.list(join(abs, d), true)) read(f, true);
    installed.push({ name, dir, macros, layout, project: own });
  }
  return { installed, declared, installPath: toPosix(relative(root, installDir)), ...(unread.size > 0 ? { unread: true as const } : {}) };
}

/** Whether two paths are one folder, a link followed (dbt deps links a local: package into the install folder). */
function sameFolder(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return a === b;
  }
}

function readText(fs: ProjectFs, abs: string, file: string, diagnostics: Diagnostic[]): string | undefined {
  try {
    return fs.read(abs);
  } catch (e) {
    diagnostics.push(error('unreadable-file', `cannot read ${file}: ${(e as Error).message}`, { file }));
    return undefined;
  }
}
