import { sideFilesPath } from '../warehouse-file.js';
import { watch as watchFolder, type FSWatcher, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { processAlive } from '../../util/process-alive.js';

/**
 * A process that keeps a warehouse file open while it does nothing with it (`pipe watch
 * --keep-open`, between builds) lends it: its holder note says so, and another pipe process
 * that finds the file held by it asks for it by writing a request beside the file. The lender
 * sees the request at once (the folder is watched, not polled), lets go of the file, and
 * opens it again when it next needs it, waiting for the other process as for any holder.
 * A pipe command waiting to write a file that readers hold asks the same way: `pipe ui`, which
 * opens the file for each page, opens it no more while the request stands (askedBy), so that
 * the reads in progress end and the writer gets in, however busy the pages are.
 */

/** Beside the warehouse: the request of a process that wants a lent file. */
export const requestFile = (path: string) => `${sideFilesPath(path)}.pipe-wanted`;

/** Asks the process lending `path` to let go of it. A courtesy: failing to ask is waiting in vain. */
export function askFor(path: string): void {
  try {
    writeFileSync(requestFile(path), JSON.stringify({ pid: process.pid, at: new Date().toISOString() }));
  } catch {
    // The folder cannot be written to: the holder is not asked, and the open fails as held.
  }
}

/** Takes back this process's request for `path`, if it is still there. */
export function withdraw(path: string): void {
  try {
    const request = JSON.parse(readFileSync(requestFile(path), 'utf8')) as { pid?: unknown };
    if (request.pid === process.pid) rmSync(requestFile(path), { force: true });
  } catch {
    // No request, or not readable: nothing to take back.
  }
}

/**
 * The process asking for `path`, when it is another live one: a pipe command waiting to write
 * the file, which readers that let go between reads (pipe ui) leave the file to.
 */
export function askedBy(path: string): number | undefined {
  let request: { pid?: unknown; at?: unknown };
  try {
    request = JSON.parse(readFileSync(requestFile(path), 'utf8')) as { pid?: unknown; at?: unknown };
  } catch {
    return undefined;
  }
  const { pid, at } = request;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  // A request left by a process that ended, whose pid another one got since, is no one's.
  return processAlive(pid, typeof at === 'string' ? Date.parse(at) : undefined) ? pid : undefined;
}

export interface Requests {
  close(): void;
}

/**
 * Calls `onRequest` (once) when another process asks for `path`, including a request already
 * there; the request is taken away as it is answered.
 */
export function onRequest(path: string, onRequest: () => void): Requests {
  const file = requestFile(path);
  let watcher: FSWatcher | undefined;
  let answered = false;
  const close = () => {
    watcher?.close();
    watcher = undefined;
  };
  const check = () => {
    if (answered || !existsSync(file)) return;
    answered = true;
    close();
    rmSync(file, { force: true });
    onRequest();
  };
  try {
    watcher = watchFolder(dirname(file), (_event, name) => {
      if (name === null || name === basename(file)) check();
    });
    watcher.on('error', close);
  } catch {
    // A folder that cannot be watched: no request is heard, and the file is kept until the lender needs it no more.
  }
  check();
  return { close };
}
