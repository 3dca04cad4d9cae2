import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { decodeUtf8 } from './utf8.js';

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
}

function listFromDisk(dir: string, recursive: boolean): string[] {
  if (!existsSync(dir)) return [];
  // Hidden files and folders below `dir` are skipped; the folders above it may be hidden.
  return (readdirSync(dir, { recursive, withFileTypes: false }) as string[])
    .filter((rel) => !rel.split(sep).some((part) => part.startsWith('.')))
    .map((rel) => join(dir, rel))
    .filter((p) => statSync(p).isFile())
    .sort();
}

export const diskFs: ProjectFs = {
  exists: (p) => existsSync(p),
  list: listFromDisk,
  read: (p) => decodeUtf8(readFileSync(p)),
  readBytes: (p) => readFileSync(p),
  derive: (_p, _kind, compute) => compute(),
};

/**
 * Reads each file once and keeps it until told it changed, so that re-loading a project of
 * thousands of models after one save reads one file. Whether a file exists is kept too:
 * loading asks it for the YAML beside every model, and a file that appears or disappears
 * is reported through `invalidate` like a change.
 */
export class CachedFs implements ProjectFs {
  private readonly texts = new Map<string, string>();
  private readonly listings = new Map<string, string[]>();
  private readonly existing = new Map<string, boolean>();
  private readonly derived = new Map<string, Map<string, unknown>>();

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

  /** A file changed, appeared or disappeared (or a folder did: `structural` covers what was under it). */
  invalidate(absPath: string, structural: boolean): void {
    this.texts.delete(absPath);
    this.derived.delete(absPath);
    this.existing.delete(absPath);
    if (!structural) return;
    for (const p of [...this.existing.keys()]) if (p.startsWith(`${absPath}/`)) this.existing.delete(p);
    for (const key of [...this.listings.keys()]) {
      const dir = key.slice(2);
      if (absPath.startsWith(`${dir}/`) || dirname(absPath) === dir) this.listings.delete(key);
    }
  }
}

interface Stamped {
  readonly stamp: string;
  text?: string;
  readonly derived: Map<string, unknown>;
}

/**
 * Keeps each file's text and what was derived from it for as long as its size, modification
 * time and inode stay the same, and lists folders afresh each time: for a reader that lives
 * long (pipe ui) and must show the files as they are at each request, without waiting for a
 * watcher's news, yet reads and parses again only what changed. A file rewritten within the
 * same modification time to the same size is the one change it cannot see.
 */
export class StampedFs implements ProjectFs {
  private readonly kept = new Map<string, Stamped>();

  exists(absPath: string): boolean {
    return existsSync(absPath);
  }

  list(dir: string, recursive: boolean): string[] {
    return listFromDisk(dir, recursive);
  }

  read(absPath: string): string {
    const entry = this.entry(absPath);
    // Read after the stamp: a change in between is newer than the stamp, so read again next time.
    entry.text ??= decodeUtf8(readFileSync(absPath));
    return entry.text;
  }

  readBytes(absPath: string): Buffer {
    return readFileSync(absPath);
  }

  derive<T>(absPath: string, kind: string, compute: () => T): T {
    const { derived } = this.entry(absPath);
    if (derived.has(kind)) return derived.get(kind) as T;
    const value = compute();
    derived.set(kind, value);
    return value;
  }

  private entry(absPath: string): Stamped {
    const s = statSync(absPath);
    const stamp = `${s.size}:${s.mtimeMs}:${s.ino}`;
    let entry = this.kept.get(absPath);
    if (entry?.stamp !== stamp) {
      entry = { stamp, derived: new Map() };
      this.kept.set(absPath, entry);
    }
    return entry;
  }
}
