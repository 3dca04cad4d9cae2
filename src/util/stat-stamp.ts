import { statSync } from 'node:fs';

/**
 * A cheap mark of a file's content as the file system tells it: size, modification and change
 * times (in nanoseconds) and inode. A write changes the times, a file replaced by another
 * (renamed over it, restored from a copy) changes its inode. Throws as statSync does for a
 * file that is not there.
 */
export function statStamp(path: string): string {
  return stampOf(path).stamp;
}

/** The stamp, and when the file was last written or changed (the later of its two times), in milliseconds. */
export function stampOf(path: string): { readonly stamp: string; readonly changedAtMs: number } {
  const s = statSync(path, { bigint: true });
  const changed = s.mtimeNs > s.ctimeNs ? s.mtimeNs : s.ctimeNs;
  return { stamp: `${s.size}:${s.mtimeNs}:${s.ctimeNs}:${s.ino}`, changedAtMs: Number(changed / 1_000_000n) };
}
