import { statfsSync } from 'node:fs';

/**
 * vitest's global setup: the run's temporary folders (projects, DuckDB files, the Postgres
 * cluster) go to /dev/shm where it is a tmpfs with room, unless TMPDIR names a folder already.
 * The files are as real as on a disk, but a DuckDB checkpoint or commit, and Postgres's, wait
 * for no disk: on the 2-core machine that took a fifth of the suite's time, spent idle. The test
 * workers and the processes they start inherit TMPDIR (os.tmpdir() reads it).
 */

const SHM = '/dev/shm';
const TMPFS_MAGIC = 0x01021994;
/** The suite keeps well under this in temporary files; a small /dev/shm (a container's 64 MB) is passed over. */
const ROOM = 2 * 1024 ** 3;

export default function setup(): void {
  if (process.env.TMPDIR) return;
  try {
    const fs = statfsSync(SHM);
    if (fs.type === TMPFS_MAGIC && fs.bavail * fs.bsize >= ROOM) process.env.TMPDIR = SHM;
  } catch {
    // No /dev/shm: the system's temporary folder it is.
  }
}
