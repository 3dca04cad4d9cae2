import { statStamp } from '../util/stat-stamp.js';

/**
 * A cheap mark of a DuckDB warehouse file's state: size, modification and change times (in
 * nanoseconds) and inode of the file and of its write-ahead log. Every commit DuckDB makes
 * appends to the log, and every checkpoint rewrites the file and truncates or removes the log,
 * so a write by any process changes the mark; a file replaced by another (a copy, a restore)
 * changes its inode. Two marks taken with no write in between are equal. What it cannot see is
 * a write that restores size and both times exactly, which DuckDB does not make.
 */
export function fileStamp(path: string): string {
  return [path, `${path}.wal`].map(statPart).join('|');
}

function statPart(path: string): string {
  try {
    return statStamp(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '-';
    throw e;
  }
}
