import { join } from 'node:path';
import { PIPE_BUILD } from '../version.js';
import { settledAt, stampOf } from '../util/stat-stamp.js';
import { PackStore, sha256 } from './pack-store.js';

/**
 * What pipe takes from a seed's file before loading it (its content's hash, which says whether
 * the seed changed, and its first lines), kept between processes: a seed of millions of rows is
 * hundreds of megabytes, read and hashed by every run (0.2 s for 134 MB) though it rarely
 * changes. Kept in `<project>/.pipe/seeds/` as a pack store (see pack-store.ts), found by the
 * file's path and stamp (size, modification and change times, inode: see stat-stamp.ts): any
 * write changes the stamp, and a file put in its place has another inode, so an entry is never
 * found for content other than the one it was made from. An entry is kept only for a file
 * unchanged for a few seconds when its stamp was taken: a write within the same tick of the
 * file system's clock could leave the stamp as it was. Never trusted beyond that: an entry whose
 * hash or shape is wrong is made again from the file.
 */

const FORMAT = 'pipe-seed-digest 1';

export function seedDigestCacheDir(root: string): string {
  return join(root, '.pipe', 'seeds');
}

/** A seed file's hash and its first lines (the header and the first row's start), as loading takes them. */
export interface SeedDigest {
  readonly hash: string;
  readonly head: string | Buffer;
}

interface Stored {
  readonly hash: string;
  /** The head's bytes in base64, and whether it was text. */
  readonly head: string;
  readonly text: boolean;
}

function storedShape(value: unknown): value is Stored {
  const v = value as Partial<Stored> | null;
  return typeof v === 'object' && v !== null && typeof v.hash === 'string' && typeof v.head === 'string' && typeof v.text === 'boolean';
}

export class SeedDigestCache extends PackStore {
  constructor(dir: string, now: () => number = Date.now) {
    super(dir, FORMAT, now);
  }

  /** The digest of the seed file at `absPath`: kept, or made by `make` from the file and kept. */
  digest(absPath: string, make: () => SeedDigest): SeedDigest {
    let stamp: ReturnType<typeof stampOf>;
    try {
      stamp = stampOf(absPath);
    } catch {
      return make();
    }
    const key = sha256(JSON.stringify([FORMAT, PIPE_BUILD, absPath, stamp.stamp]));
    for (let stored = this.read(key); stored !== undefined; stored = this.read(key)) {
      try {
        const value: unknown = JSON.parse(stored);
        if (storedShape(value)) {
          const head = Buffer.from(value.head, 'base64');
          return { hash: value.hash, head: value.text ? head.toString('utf8') : head };
        }
      } catch {
        // Not JSON: made again below.
      }
      this.reject(key);
    }
    // The stamp was taken before the file is read: a write meanwhile changes the file's stamp, and this entry is never found.
    const made = make();
    if (settledAt(stamp, this.now())) {
      const text = typeof made.head === 'string';
      this.write(key, JSON.stringify({ hash: made.hash, head: Buffer.from(made.head).toString('base64'), text }));
    }
    return made;
  }
}
