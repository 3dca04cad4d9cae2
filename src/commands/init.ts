import { lstatSync, mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, posix, relative, resolve, sep } from 'node:path';
import { DiagnosticError, error, type Diagnostic } from '../diagnostics/diagnostics.js';
import { SCAFFOLD_DATE, scaffoldFiles, type ScaffoldFile } from './init-scaffold.js';
import { shellPath } from '../util/shell-word.js';

/**
 * `pipe init [DIR]`: writes a small working project into a folder. It writes only files that do
 * not exist, and not at all into a folder that already holds a project: it starts projects and
 * never changes one. A folder it could not complete is left as it found it.
 */

export interface InitOptions {
  /** The folder, as the user gave it (default: the current folder); created when missing. */
  readonly dir?: string;
}

export interface InitResult {
  /** The folder as the user gave it, for what to print. */
  readonly dir: string;
  readonly root: string;
  readonly files: readonly Pick<ScaffoldFile, 'path' | 'about'>[];
  /** A date the seed covers, to build first. */
  readonly date: string;
}

/** Files that make a folder a project pipe runs as it is, and whose project it is. */
const PROJECT_MARKERS = [
  { path: 'pipe.yaml', kind: 'pipe' },
  { path: 'models/', kind: 'pipe' },
  { path: 'dbt_project.yml', kind: 'dbt' },
] as const;

/** Not written by init, but the first run would write it: one that exists belongs to something else. */
const WAREHOUSE_FILES = ['warehouse.duckdb', 'warehouse.duckdb.wal'];

function kindAt(path: string): 'missing' | 'folder' | 'other' {
  try {
    return lstatSync(path).isDirectory() ? 'folder' : 'other';
  } catch {
    return 'missing';
  }
}

/** Every folder a file of the scaffold goes in, parents before children. */
function folders(files: readonly ScaffoldFile[]): string[] {
  const out = new Set<string>();
  for (const f of files) {
    const parts = f.path.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) out.add(parts.slice(0, i).join('/'));
  }
  return [...out];
}

/** The folders a project reads its files from (a dbt project's defaults among them): a project started inside one would be read as the enclosing project's files. */
const READ_FOLDERS = new Set(['models', 'seeds', 'macros', 'pipelines', 'snapshots', 'tests', 'analyses']);

/** The project `root` would be inside, read as its files: the enclosing project's folder and the folder of it that reads them. */
function enclosingProject(root: string): { readonly project: string; readonly folder: string } | undefined {
  for (let child = root, parent = dirname(root); parent !== child; child = parent, parent = dirname(parent)) {
    if (!['pipe.yaml', 'dbt_project.yml'].some((m) => kindAt(join(parent, m)) === 'other')) continue;
    const first = relative(parent, root).split(sep)[0];
    return READ_FOLDERS.has(first) ? { project: parent, folder: first } : undefined;
  }
  return undefined;
}

/** The reasons `root` cannot take the scaffold, all at once. */
function refusals(dir: string, root: string, files: readonly ScaffoldFile[]): Diagnostic[] {
  const shown = (path: string) => join(dir, path);
  const rootKind = kindAt(root);
  if (rootKind === 'other') return [error('init-not-a-folder', `${dir} exists and is not a folder`, undefined, { hint: 'give pipe init a new folder: pipe init DIR' })];
  const enclosing = enclosingProject(root);
  if (enclosing) {
    return [
      error('init-inside-project', `${dir} is inside the ${enclosing.folder}/ folder of the project at ${enclosing.project}: the files pipe init writes would be read as that project's (models named twice, a pipe.yaml among its models)`, undefined, {
        hint: 'give pipe init a folder outside that project\'s folders, e.g. beside it',
      }),
    ];
  }
  if (rootKind === 'missing') return [];

  const markers = PROJECT_MARKERS.filter((m) => kindAt(join(root, m.path)) !== 'missing');
  if (markers.length > 0) {
    const kind = markers.some((m) => m.kind === 'dbt') ? 'dbt' : 'pipe';
    const found = markers.map((m) => shown(m.path)).join(', ');
    const cd = dir === '.' ? '' : `cd ${shellPath(dir)} && `;
    return [
      error('init-project-exists', `${dir === '.' ? 'this folder' : dir} already holds a ${kind} project (${found}): pipe init only starts new projects`, undefined, {
        hint: `pipe runs it as it is: ${cd}pipe run; or give pipe init a new folder: pipe init DIR`,
      }),
    ];
  }

  const taken = [
    ...folders(files).filter((f) => kindAt(join(root, f)) === 'other'),
    ...[...files.filter((f) => !f.unlessPresent).map((f) => f.path), ...WAREHOUSE_FILES].filter((p) => kindAt(join(root, p)) !== 'missing'),
  ];
  if (taken.length === 0) return [];
  return [
    error('init-files-exist', `pipe init writes only files that do not exist, and these do: ${taken.map(shown).join(', ')}`, undefined, {
      hint: 'move them away, or give pipe init a new folder: pipe init DIR',
    }),
  ];
}

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EROFS') return 'the file system is read-only';
  if (code === 'ENOSPC') return 'no space left on the device';
  if (code === 'EEXIST') return 'it appeared while pipe init was writing';
  return e instanceof Error ? e.message : String(e);
}

export function init(options: InitOptions = {}): InitResult {
  // `pipe init "$DIR"` with DIR unset is a mistake, not the current folder.
  if (options.dir !== undefined && options.dir.trim() === '') {
    throw new DiagnosticError([error('bad-argument', 'pipe init was given an empty folder name', undefined, { hint: 'name the folder, or leave it out to start a project in the current folder' })]);
  }
  const dir = options.dir ?? '.';
  const root = resolve(dir);
  const scaffold = scaffoldFiles(basename(root));
  const problems = refusals(dir, root, scaffold);
  if (problems.length > 0) throw new DiagnosticError(problems);
  const files = scaffold.filter((f) => !(f.unlessPresent && kindAt(join(root, ...f.path.split(posix.sep))) !== 'missing'));

  // What this call created, so that a failure half-way removes exactly that.
  const createdFolders: string[] = [];
  const createdFiles: string[] = [];
  const makeFolder = (path: string) => {
    if (kindAt(path) === 'folder') return;
    if (dirname(path) !== path) makeFolder(dirname(path));
    mkdirSync(path);
    createdFolders.push(path);
  };
  let writing = dir;
  try {
    makeFolder(root);
    for (const f of files) {
      writing = join(dir, f.path);
      const path = join(root, ...f.path.split(posix.sep));
      makeFolder(dirname(path));
      // `wx`: a file that appeared since the check above is refused, never overwritten.
      writeFileSync(path, f.text, { flag: 'wx' });
      createdFiles.push(path);
    }
  } catch (e) {
    for (const f of createdFiles) rmSync(f, { force: true });
    for (const d of createdFolders.reverse()) {
      try {
        rmdirSync(d);
      } catch {
        // not empty: something else wrote into it meanwhile, and it stays
      }
    }
    throw new DiagnosticError([error('init-write', `pipe init could not write ${writing}: ${reason(e)}`)]);
  }
  return { dir, root, files: files.map(({ path, about }) => ({ path, about })), date: SCAFFOLD_DATE };
}
