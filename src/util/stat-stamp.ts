import { statSync, type BigIntStats } from 'node:fs';

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
  return stampOfStats(statSync(path, { bigint: true }));
}

/** The stamp of a file from its stats (of an open file, see regular-file.ts). */
export function stampOfStats(s: BigIntStats): { readonly stamp: string; readonly changedAtMs: number } {
  const changed = s.mtimeNs > s.ctimeNs ? s.mtimeNs : s.ctimeNs;
  return { stamp: `${s.size}:${s.mtimeNs}:${s.ctimeNs}:${s.ino}`, changedAtMs: Number(changed / 1_000_000n) };
}

/**
 * How long a file must have been left unchanged for its stamp to say its content: a write
 * within the same tick of the file system's clock (milliseconds, or a second or two on some
 * file systems) could change the content and leave the times, and so the stamp, as they were.
 */
const SETTLED_MS = 3_000;

/** Whether a stamp taken at `now` can stand for the file's content (see SETTLED_MS). */
export function settledAt(stamp: { readonly changedAtMs: number }, now: number): boolean {
  return now - stamp.changedAtMs > SETTLED_MS;
}
