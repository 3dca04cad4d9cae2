import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, type BigIntStats } from 'node:fs';

/**
 * A file of pipe's own folders (`.pipe/`) read whole, only when it is a regular file: anything
 * else put in its place may never end a read (a FIFO with no writer blocks the read, and Node
 * reads files synchronously, so not even a signal ends the process), and is no file pipe wrote.
 * Undefined for such a file (a FIFO, a device, a socket, a folder, a symbolic link); throws as
 * readFileSync does for one that is not there or cannot be read.
 *
 * `stats` are the opened file's own, taken before its bytes are read: a stamp made from them
 * (see stat-stamp.ts) is of the file read, even when another is renamed over the path meanwhile,
 * and a write during the read changes the file's stamp from the one taken.
 */
export function readRegularFile(path: string): { readonly bytes: Buffer; readonly stats: BigIntStats } | undefined {
  // Looked at first, so that nothing else is opened (opening a device may itself do something).
  if (!lstatSync(path).isFile()) return undefined;
  // Put in its place since the look: the open neither waits for a FIFO's writer nor follows a link.
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0));
  try {
    const stats = fstatSync(fd, { bigint: true });
    if (!stats.isFile()) return undefined;
    return { bytes: readFileSync(fd), stats };
  } finally {
    closeSync(fd);
  }
}
