import { DiagnosticError, error } from '../diagnostics/diagnostics.js';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { decodeUtf8, NotUtf8Error } from './utf8.js';
import { settledAt, stampOf } from '../util/stat-stamp.js';
import { partitionPoint } from '../util/partition-point.js';

/** How project loading reads files: from disk, or from a cache that watch mode keeps current. */
export interface ProjectFs {
  exists(absPath: string): boolean;
  /** Files (not folders) under `dir`, sorted, hidden ones left out; [] when `dir` does not exist. */
  list(dir: string, recursive: boolean): string[];
  /** A file's text; throws NotUtf8Error when it is not UTF-8 (see utf8.ts). */
  read(absPath: string): string;
  /**
   * A file's bytes, undecoded, where the file system has them: seeds, which can be hundreds of
   * megabytes, are hashed from them without becoming text.
   */
  readBytes?(absPath: string): Buffer;
  /**
   * A value computed from a file (its parsed YAML, its hash), kept as long as the file's
   * text is: the disk computes it every time, a cache once per change.
   */
  derive<T>(absPath: string, kind: string, compute: () => T): T;
  /** A file system that is told of changes (CachedFs) says which files changed since a version of it. */
  readonly version?: number;
  changedSince?(version: number): ReadonlyMap<string, FsEvent> | undefined;
}

/**
 * One walk of `dir` that asks each entry's type as it reads the folder: a file is known as one
 * without a stat of its own; only a symbolic link is followed, to a file or, in a recursive
 * walk, into a folder (as dbt's file search follows links: `dbt deps` links a `local:` package
 * into dbt_packages/), each folder once.
 */
function listFromDisk(dir: string, recursive: boolean): string[] {
  const out: string[] = [];
  walk(dir, dir, recursive, out, undefined);
  return out.sort();
}

/** `walked`: the real paths of the folders walked through links, with the root's, made at the first link to a folder. */
function walk(root: string, dir: string, recursive: boolean, out: string[], walked: Set<string> | undefined): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { recursive, withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') {
      throw new DiagnosticError([
        error('unreadable-file', `${dir} is a file, where pipe reads a folder of the project`, undefined, { hint: 'move the file aside (a warehouse file given that name?), or name another folder in dbt_project.yml' }),
      ]);
    }
    // A folder of the project pipe may not list (EACCES): named, as a file it cannot read is.
    throw new DiagnosticError([error('unreadable-file', `cannot read the folder ${dir}: ${(e as Error).message}`, undefined, { hint: 'give pipe read access to it, or move it out of the project' })]);
  }
  for (const entry of entries) {
    const path = join(entry.parentPath, entry.name);
    if (hiddenBelow(root, path)) continue;
    if (entry.isFile()) out.push(path);
    else if (entry.isSymbolicLink()) {
      const behind = kindBehind(path);
      if (behind === 'file') out.push(path);
      else if (behind === 'folder' && recursive) {
        walked ??= new Set([realOrSelf(root)]);
        const real = realOrSelf(path);
        if (walked.has(real)) continue;
        walked.add(real);
        walk(root, path, true, out, walked);
      }
    }
  }
}

function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** What a link leads to; a link to nothing leads to neither. */
function kindBehind(link: string): 'file' | 'folder' | undefined {
  try {
    const s = statSync(link);
    return s.isFile() ? 'file' : s.isDirectory() ? 'folder' : undefined;
  } catch {
    // A link to nothing (its file deleted or moved) is listed as a file: reading it is an error
    // naming it, not a model that left the project without a word.
    return 'file';
  }
}

/** Hidden files and folders below `dir` are left out; the folders above it may be hidden. */
function hiddenBelow(dir: string, path: string): boolean {
  return path.slice(dir.length + 1).split(sep).some((part) => part.startsWith('.'));
}


/** Where `path` goes in the sorted `list` (the order of listFromDisk), and whether it is there. */
function place(list: readonly string[], path: string): { readonly at: number; readonly found: boolean } {
  const at = partitionPoint(list.length, (i) => list[i] < path);
  return { at, found: list[at] === path };
}

/** What the file watcher says of a path. */
export type FsEvent = 'add' | 'change' | 'unlink' | 'unlinkDir';

/**
 * The buffer text files are read into, one for all: readFileSync asks each file's size first
 * and allocates a buffer for it, which for a project's thousands of small files cost a third
 * of their reading. A larger file is read into a larger buffer of its own.
 */
const shared = Buffer.allocUnsafe(64 * 1024);

/** A file's text, read through the shared buffer; throws as readFileSync does, and NotUtf8Error. */
function readText(path: string): string {
  const fd = openSync(path, 'r');
  try {
    let buffer = shared;
    let length = 0;
    for (;;) {
      if (length === buffer.length) buffer = Buffer.concat([buffer, Buffer.allocUnsafe(buffer.length)]);
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    return decodeUtf8(buffer.subarray(0, length));
  } finally {
    closeSync(fd);
  }
}

export const diskFs: ProjectFs = {
  exists: (p) => existsSync(p),
  list: listFromDisk,
  read: readText,
  readBytes: (p) => readFileSync(p),
  derive: (_p, _kind, compute) => compute(),
};

/** News kept for changedSince: past this many between two loads, a reader reads the project afresh. */
const JOURNAL_LIMIT = 10_000;

/**
 * Reads each file once and keeps it until told it changed, so that re-loading a project of
 * thousands of models after one save reads one file. Folder listings and whether a file exists
 * are kept too, and kept current from what the file watcher says (`update`): a file added or
 * deleted goes into or out of the listings that hold it, so that no save lists a folder again.
 */
export class CachedFs implements ProjectFs {
  private readonly texts = new Map<string, string>();
  /** Sorted files by folder: `r:` and `f:` keys for the recursive and the flat listing. */
  private readonly listings = new Map<string, string[]>();
  private readonly existing = new Map<string, boolean>();
  private readonly derived = new Map<string, Map<string, unknown>>();
  /** What it was told since `journalStart` (see changedSince), up to JOURNAL_LIMIT entries. */
  private journal: { readonly path: string; readonly event: FsEvent }[] = [];
  private journalStart = 0;

  /** A number that grows with every piece of news it is told (see changedSince). */
  get version(): number {
    return this.journalStart + this.journal.length;
  }

  /**
   * The files it was told of since `version`, with the last news of each: a reader that kept
   * what it made of the files at that version makes again only what these change. Undefined
   * when that is no longer known (the folders were forgotten, or too much news came since).
   */
  changedSince(version: number): ReadonlyMap<string, FsEvent> | undefined {
    if (version < this.journalStart || version > this.version) return undefined;
    const out = new Map<string, FsEvent>();
    for (const { path, event } of this.journal.slice(version - this.journalStart)) out.set(path, event);
    return out;
  }

  exists(absPath: string): boolean {
    if (this.texts.has(absPath)) return true;
    let e = this.existing.get(absPath);
    if (e === undefined) {
      e = existsSync(absPath);
      this.existing.set(absPath, e);
    }
    return e;
  }

  list(dir: string, recursive: boolean): string[] {
    const key = `${recursive ? 'r' : 'f'}:${dir}`;
    let l = this.listings.get(key);
    if (!l) {
      l = listFromDisk(dir, recursive);
      this.listings.set(key, l);
    }
    return l;
  }

  read(absPath: string): string {
    let t = this.texts.get(absPath);
    if (t === undefined) {
      t = decodeUtf8(readFileSync(absPath));
      this.texts.set(absPath, t);
    }
    return t;
  }

  readBytes(absPath: string): Buffer {
    return readFileSync(absPath);
  }

  derive<T>(absPath: string, kind: string, compute: () => T): T {
    let values = this.derived.get(absPath);
    if (values?.has(kind)) return values.get(kind) as T;
    const value = compute();
    if (!values) {
      values = new Map();
      this.derived.set(absPath, values);
    }
    values.set(kind, value);
    return value;
  }

  /** The file watcher's news of `absPath`: what was read of it is forgotten, the listings that hold it updated. */
  update(absPath: string, event: FsEvent): void {
    this.forget(absPath);
    this.record(absPath, event);
    switch (event) {
      // A file changed is there: listed too, whatever came before (a folder's unlinkDir told after the add of its new file).
      case 'change':
      case 'add':
        this.existing.set(absPath, true);
        for (const [key, list] of this.listings) {
          if (!this.holds(key, absPath)) continue;
          const { at, found } = place(list, absPath);
          // A new array: a listing handed out before stays as it was.
          if (!found) this.listings.set(key, [...list.slice(0, at), absPath, ...list.slice(at)]);
        }
        return;
      case 'unlink':
        this.existing.set(absPath, false);
        for (const [key, list] of this.listings) {
          const { at, found } = place(list, absPath);
          if (found) this.listings.set(key, [...list.slice(0, at), ...list.slice(at + 1)]);
        }
        return;
      case 'unlinkDir': {
        const under = `${absPath}${sep}`;
        for (const p of [...this.existing.keys()]) if (p === absPath || p.startsWith(under)) this.existing.delete(p);
        for (const p of [...this.texts.keys()]) if (p.startsWith(under)) this.forget(p);
        // A folder replaced at once (rm -rf, then mv, as dbt deps replaces a package) may be
        // told gone after the add of its new files: there again, it is listed again from the
        // disk when next asked. Gone, its listings are empty (until files are added again).
        const replaced = existsSync(absPath);
        for (const [key, list] of this.listings) {
          const below = `${key.slice(2)}${sep}`.startsWith(under);
          if (!below && !list.some((p) => p.startsWith(under))) continue;
          if (replaced) this.listings.delete(key);
          else this.listings.set(key, below ? [] : list.filter((p) => !p.startsWith(under)));
        }
        return;
      }
      default:
        throw new Error(`internal error: unknown file event ${String(event satisfies never)}`);
    }
  }

  /** Every listing and every answer of `exists` forgotten: the project's folders may be others now (dbt_project.yml changed). */
  forgetFolders(): void {
    this.listings.clear();
    this.existing.clear();
    // Nothing said before is enough to know the project now.
    this.journalStart = this.version + 1;
    this.journal = [];
  }

  private record(path: string, event: FsEvent): void {
    if (this.journal.length >= JOURNAL_LIMIT) {
      this.journalStart += this.journal.length;
      this.journal = [];
    }
    this.journal.push({ path, event });
  }

  private forget(absPath: string): void {
    this.texts.delete(absPath);
    this.derived.delete(absPath);
  }

  /** Whether the listing of `key` has a place for the file `absPath`. */
  private holds(key: string, absPath: string): boolean {
    const dir = key.slice(2);
    if (key[0] === 'f') return dirname(absPath) === dir && !hiddenBelow(dir, absPath);
    return absPath.startsWith(`${dir}${sep}`) && !hiddenBelow(dir, absPath);
  }
}

/** A file's text; undefined when it is not UTF-8 (its reader says so when it reads it). */
function textOrUndefined(absPath: string): string | undefined {
  try {
    return decodeUtf8(readFileSync(absPath));
  } catch (e) {
    if (e instanceof NotUtf8Error) return undefined;
    throw e;
  }
}

interface Stamped {
  readonly stamp: string;
  /** Whether the stamp can stand for the content: the file was left unchanged long enough before (see settledAt). */
  readonly settled: boolean;
  text?: string;
  readonly derived: Map<string, unknown>;
}

/** What one load read of the files (see StampedFs.startReading), to tell whether a new load would read the same. */
export type FsReading = ReadonlyMap<string, string | boolean>;

/**
 * Keeps each file's text and what was derived from it for as long as the file's content stays
 * the same, and lists folders afresh each time: for a reader that lives long (pipe ui) and must
 * show the files as they are at each request, without waiting for a watcher's news, yet reads
 * and parses again only what changed. A file's stamp (size, times, inode) stands for its content
 * only once the file was left unchanged for longer than a tick of the file system's clock
 * (see settledAt); a file changed more recently is read again and compared, since a write in
 * the same tick can leave its stamp as it was.
 */
export class StampedFs implements ProjectFs {
  private readonly kept = new Map<string, Stamped>();
  private reading: Map<string, string | boolean> | undefined;

  constructor(
    /** A file's stamp (tests: a file system whose clock does not tell two writes apart). */
    private readonly stampOfFile: (absPath: string) => { readonly stamp: string; readonly changedAtMs: number } = stampOf,
    private readonly now: () => number = Date.now,
  ) {}

  exists(absPath: string): boolean {
    const there = existsSync(absPath);
    this.reading?.set(`e\u0000${absPath}`, there);
    return there;
  }

  list(dir: string, recursive: boolean): string[] {
    const files = listFromDisk(dir, recursive);
    this.reading?.set(`${recursive ? 'r' : 'f'}\u0000${dir}`, files.join('\u0000'));
    return files;
  }

  read(absPath: string): string {
    const entry = this.entry(absPath);
    // Read after the stamp: a change in between is newer than the stamp, so read again next time.
    entry.text ??= decodeUtf8(readFileSync(absPath));
    this.reading?.set(`t\u0000${absPath}`, entry.text);
    return entry.text;
  }

  readBytes(absPath: string): Buffer {
    const bytes = readFileSync(absPath);
    // Seeds can be large: told by their stamp, and one not settled is taken as changed.
    const { stamp, changedAtMs } = this.stampOfFile(absPath);
    this.reading?.set(`b\u0000${absPath}`, settledAt({ changedAtMs }, this.now()) ? stamp : false);
    return bytes;
  }

  derive<T>(absPath: string, kind: string, compute: () => T): T {
    const { derived } = this.entry(absPath);
    if (derived.has(kind)) return derived.get(kind) as T;
    const value = compute();
    derived.set(kind, value);
    return value;
  }

  /** From now on, what is read is noted, for takeReading. */
  startReading(): void {
    this.reading = new Map();
  }

  /** What was read since startReading. */
  takeReading(): FsReading {
    const taken = this.reading ?? new Map<string, string | boolean>();
    this.reading = undefined;
    return taken;
  }

  /** Whether reading the files again would read what `reading` did: the same files in each folder, each with the same content. */
  unchanged(reading: FsReading): boolean {
    for (const [key, was] of reading) {
      const at = key.indexOf('\u0000');
      const [what, path] = [key.slice(0, at), key.slice(at + 1)];
      let now: string | boolean;
      try {
        if (what === 'e') now = existsSync(path);
        else if (what === 'r' || what === 'f') now = listFromDisk(path, what === 'r').join('\u0000');
        else if (what === 't') now = this.read(path);
        else if (what === 'b') now = was === false ? true : this.stampOfFile(path).stamp;
        else return false;
      } catch {
        return false;
      }
      if (now !== was) return false;
    }
    return true;
  }

  private entry(absPath: string): Stamped {
    // The stamp before the read: a write after it changes it.
    const { stamp, changedAtMs } = this.stampOfFile(absPath);
    const settled = settledAt({ changedAtMs }, this.now());
    const was = this.kept.get(absPath);
    if (was?.stamp === stamp && was.settled) return was;
    let entry: Stamped;
    if (settled && was?.text === undefined) entry = { stamp, settled, derived: new Map() };
    else {
      // The stamp cannot tell (a write in the same tick keeps it): the content does.
      const text = textOrUndefined(absPath);
      entry = text === undefined ? { stamp, settled: false, derived: new Map() } : { stamp, settled, text, derived: text === was?.text ? was.derived : new Map() };
    }
    this.kept.set(absPath, entry);
    return entry;
  }
}
