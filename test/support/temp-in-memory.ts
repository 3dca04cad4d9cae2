import { chmodSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * vitest's global setup: the run's temporary folders (projects, DuckDB files, the Postgres
 * cluster) go to a folder of the run's own in /dev/shm, where that is a tmpfs with room,
 * unless TMPDIR names a folder already. The files are as real as on a disk, but DuckDB's and
 * Postgres's commits and checkpoints wait for no disk. The test workers and the processes they
 * start inherit TMPDIR (os.tmpdir() reads it). The folder goes when the run ends, with whatever
 * a test left in it (memory is not a disk).
 */

const SHM = '/dev/shm';
const TMPFS_MAGIC = 0x01021994;
/** The suite keeps well under this in temporary files; a small /dev/shm (a container's 64 MB) is passed over. */
const ROOM = 2 * 1024 ** 3;

function roomy(): boolean {
  try {
    const fs = statfsSync(SHM);
    return fs.type === TMPFS_MAGIC && fs.bavail * fs.bsize >= ROOM;
  } catch {
    return false;
  }
}

export default function setup(): (() => void) | undefined {
  if (process.env.TMPDIR || !roomy()) return undefined;
  const dir = mkdtempSync(join(SHM, 'pipe-test-run-'));
  // Open to all, as a system's temporary folder is: the Postgres cluster's files belong to `postgres`.
  chmodSync(dir, 0o1777);
  process.env.TMPDIR = dir;
  // Torn down after the Postgres cluster's stop (global setups end in reverse order), which finds it by TMPDIR.
  return () => rmSync(dir, { recursive: true, force: true });
}
