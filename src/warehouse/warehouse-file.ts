import { accessSync, closeSync, constants, openSync, readSync, realpathSync, statSync, type Stats } from 'node:fs';
import { errnoReason, FolderError, makeFolders, removeFolders } from '../util/folders.js';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { WarehouseOpenError } from './warehouse.js';

/**
 * What pipe checks about a warehouse path before DuckDB sees it. DuckDB given a folder, a CSV
 * file or a path under a file answers with raw I/O errors, or worse: it opens a `.csv` as an
 * in-memory database and a run would write nothing that lasts. And Node's recursive mkdir
 * never returns for a path under /proc. So pipe looks first, creates missing folders one by
 * one, and takes back the folders it made when the open fails.
 */

/** Bytes 8-11 of every DuckDB database file. */
const DUCKDB_MAGIC = 'DUCK';

const reason = errnoReason;

function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new WarehouseOpenError(path, `cannot use the warehouse ${path}: ${reason(e)}`);
  }
}

/** Whether an existing file starts as a DuckDB database does. */
function looksLikeDuckDB(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new WarehouseOpenError(path, `cannot read the warehouse ${path}: ${reason(e)}`);
  }
  try {
    const header = Buffer.alloc(12);
    const n = readSync(fd, header, 0, header.length, 0);
    return n === header.length && header.toString('latin1', 8, 12) === DUCKDB_MAGIC;
  } finally {
    closeSync(fd);
  }
}

/**
 * The path a warehouse's side files are named after (the holder note, the request file,
 * `.pipe/<file>/` with its run logs and caches): the file itself, through any symbolic link
 * to it or to a folder above it, so that commands reaching one file by different names meet
 * there. DuckDB is given the path as written, whose name is the database's.
 */
export function sideFilesPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    try {
      return join(realpathSync(dirname(path)), basename(path));
    } catch {
      return path;
    }
  }
}

/**
 * The warehouse file a path names, as DuckDB and dbt-duckdb read it: `~` (alone or before a
 * separator) is the home folder; any other relative path is from `from` (the project folder, or
 * the working directory for `--db`).
 */
export function warehouseFilePath(from: string, path: string): string {
  if (path === '~' || path.startsWith('~/') || (sep === '\\' && path.startsWith('~\\'))) return join(homedir(), path.slice(1));
  return resolve(from, path);
}

/** A path with a scheme (`md:`, `s3://`); one letter is a Windows drive. */
const SCHEME_RE = /^([A-Za-z][A-Za-z0-9+.-]+):/;

/**
 * Why a path given for the warehouse (`--db`, pipe.yaml's `warehouse:`) names no local DuckDB
 * file, which DuckDB would otherwise take as a file of that name in the folder: a database in
 * memory keeps nothing once the command ends, MotherDuck and URLs are not files pipe can hold.
 * Undefined for the path of a file.
 */
export function notAFilePath(path: string): string | undefined {
  if (path.startsWith(':memory:')) return `${path} is a database in memory, which keeps nothing once the command ends: pipe keeps its tables and run state in a DuckDB file`;
  if (/[\\/]$/.test(path)) return `${path} ends with a folder separator: it names a folder, and pipe keeps its warehouse in a DuckDB file (e.g. ${path}warehouse.duckdb)`;
  const scheme = SCHEME_RE.exec(path)?.[1];
  if (scheme === undefined) return undefined;
  // The rest of an md: path may hold a token: only its scheme is shown.
  if (/^(md|motherduck)$/i.test(scheme)) return `${scheme}:… is a MotherDuck database: pipe runs on a local DuckDB file`;
  return `${scheme}:… is not a local file: pipe writes its warehouse to a local DuckDB file`;
}

/**
 * Makes `path` ready for DuckDB: checks it, and creates the missing folders of a new file
 * to be written. Returns whether the file exists and the folders it made, for a failed open
 * to take back.
 */
export function prepareWarehousePath(path: string, readOnly: boolean): { exists: boolean; created: string[] } {
  // An in-memory database has no file.
  if (path.startsWith(':memory:')) return { exists: false, created: [] };
  const { exists } = checkWarehousePath(path, readOnly);
  return { exists, created: exists || readOnly ? [] : createFoldersFor(path) };
}

/**
 * Checks that `path` can be opened as a warehouse. An existing path must be a DuckDB file;
 * for a new one (writing only), its folder must be a folder pipe may write in, or be
 * creatable. Throws a WarehouseOpenError naming the path and the problem.
 */
function checkWarehousePath(path: string, readOnly: boolean): { exists: boolean } {
  const stat = statOf(path);
  if (stat?.isDirectory()) {
    throw new WarehouseOpenError(path, `the warehouse ${path} is a folder, not a DuckDB file`, `give a file path, e.g. ${path.replace(/\/+$/, '')}/warehouse.duckdb`);
  }
  if (stat && !stat.isFile()) throw new WarehouseOpenError(path, `the warehouse ${path} is not a regular file`);
  if (stat) {
    if (stat.size === 0) {
      throw new WarehouseOpenError(path, `the warehouse ${path} is an empty file, not a DuckDB database`, 'remove it, and pipe creates a new warehouse there');
    }
    if (!looksLikeDuckDB(path)) {
      throw new WarehouseOpenError(path, `the warehouse ${path} exists but is not a DuckDB database`, 'pipe does not overwrite other files: give the path of a DuckDB file, or of one that does not exist yet');
    }
    if (!readOnly) {
      try {
        accessSync(path, constants.R_OK | constants.W_OK);
      } catch (e) {
        throw new WarehouseOpenError(path, `cannot write to the warehouse ${path}: ${reason(e)}`);
      }
      // DuckDB writes its log beside the file (`${path}.wal`) before any commit.
      try {
        accessSync(dirname(path), constants.W_OK | constants.X_OK);
      } catch (e) {
        throw new WarehouseOpenError(path, `cannot write to the warehouse ${path}: its folder ${dirname(path)} is not writable, and DuckDB writes its log (${basename(path)}.wal) there (${reason(e)})`);
      }
    }
    return { exists: true };
  }
  if (!readOnly) {
    const above = nearestExisting(dirname(path));
    if (!above.stat.isDirectory()) {
      throw new WarehouseOpenError(path, `cannot create the warehouse ${path}: ${above.path} is a file, not a folder`);
    }
    try {
      accessSync(above.path, constants.W_OK | constants.X_OK);
    } catch (e) {
      throw new WarehouseOpenError(path, `cannot create the warehouse ${path}: the folder ${above.path} is not writable (${reason(e)})`);
    }
  }
  return { exists: false };
}

function nearestExisting(dir: string): { path: string; stat: Stats } {
  for (let d = dir; ; d = dirname(d)) {
    const stat = statOf(d);
    if (stat) return { path: d, stat };
    if (dirname(d) === d) throw new WarehouseOpenError(dir, `cannot create the warehouse folder ${dir}: no part of it exists`);
  }
}

/** Creates the missing folders above `path` (see util/folders.ts); on failure, throws naming the folder. */
function createFoldersFor(path: string): string[] {
  try {
    return makeFolders(dirname(path));
  } catch (e) {
    if (e instanceof FolderError) throw new WarehouseOpenError(path, `cannot create the folder ${e.folder} for the warehouse ${path}: ${e.why}`);
    throw e;
  }
}

export { removeFolders };

/**
 * The name DuckDB gives the database of a file (`current_database()`): the file's name up to
 * its first dot, empty parts passed over (`sales.2024.duckdb` is `sales`).
 */
export function catalogName(path: string): string {
  const name = basename(path).split('.').find((part) => part !== '') ?? basename(path);
  // DuckDB's own names: a file of one of them is named with _db after it (main.duckdb is main_db).
  return RESERVED_CATALOGS.has(name) ? `${name}_db` : name;
}

const RESERVED_CATALOGS: ReadonlySet<string> = new Set(['main', 'temp', 'system']);
