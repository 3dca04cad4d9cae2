import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** How project loading reads files: from disk, or from a cache that watch mode keeps current. */
export interface ProjectFs {
  exists(absPath: string): boolean;
  /** Files (not folders) under `dir`, sorted, hidden ones left out; [] when `dir` does not exist. */
  list(dir: string, recursive: boolean): string[];
  read(absPath: string): string;
}

function listFromDisk(dir: string, recursive: boolean): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive, withFileTypes: false }) as string[])
    .map((p) => join(dir, p))
    .filter((p) => !basename(p).startsWith('.') && !p.includes('/.') && statSync(p).isFile())
    .sort();
}

export const diskFs: ProjectFs = {
  exists: (p) => existsSync(p),
  list: listFromDisk,
  read: (p) => readFileSync(p, 'utf8'),
};

/**
 * Reads each file once and keeps it until told it changed, so that re-loading a project of
 * thousands of models after one save reads one file.
 */
export class CachedFs implements ProjectFs {
  private readonly texts = new Map<string, string>();
  private readonly listings = new Map<string, string[]>();

  exists(absPath: string): boolean {
    return this.texts.has(absPath) || existsSync(absPath);
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
      t = readFileSync(absPath, 'utf8');
      this.texts.set(absPath, t);
    }
    return t;
  }

  /** A file changed, appeared or disappeared. */
  invalidate(absPath: string, structural: boolean): void {
    this.texts.delete(absPath);
    if (!structural) return;
    for (const key of [...this.listings.keys()]) {
      const dir = key.slice(2);
      if (absPath.startsWith(`${dir}/`) || dirname(absPath) === dir) this.listings.delete(key);
    }
  }
}
