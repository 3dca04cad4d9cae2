import { statSync } from 'node:fs';

/**
 * A cheap mark of a file's content as the file system tells it: size, modification and change
 * times (in nanoseconds) and inode. A write changes the times, a file replaced by another
 * (renamed over it, restored from a copy) changes its inode. Throws as statSync does for a
 * file that is not there.
 */
export function statStamp(path: string): string {
  const s = statSync(path, { bigint: true });
  return `${s.size}:${s.mtimeNs}:${s.ctimeNs}:${s.ino}`;
}
