import { mkdirSync, rmdirSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Folders pipe makes for what it writes (a warehouse, a docs site), one at a time: Node's
 * recursive mkdir never returns for a path under /proc, and its errors name no folder. A
 * failure says which folder and why, in words, and takes back what was made.
 */

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOENT: 'the file system does not allow it',
  ENOSPC: 'no space left on the device',
  ENOTDIR: 'a part of the path is a file',
  ENAMETOOLONG: 'the path is too long',
  ELOOP: 'too many symbolic links',
  EISDIR: 'it is a folder',
};

/** A file system error in words ("permission denied"), or its message when it has no common cause. */
export function errnoReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return (code && REASONS[code]) ?? (e instanceof Error ? e.message : String(e));
}

/** Whether `e` is an error of the file system (it has an errno code). */
export function isFileSystemError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && (e as NodeJS.ErrnoException).syscall !== undefined;
}

/** A folder that could not be made: which, and why. */
export class FolderError extends Error {
  constructor(
    readonly folder: string,
    readonly why: string,
  ) {
    super(`cannot create the folder ${folder}: ${why}`);
  }
}

/** The file or folder at `path`; undefined when there is none (or a part of the path is a file). */
export function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/**
 * Makes `dir` and the folders missing above it, outermost first; returns those it made. A
 * file where a folder must be, or a folder that cannot be made, throws a FolderError once what
 * it made is taken back.
 */
export function makeFolders(dir: string): string[] {
  const missing: string[] = [];
  let d = dir;
  for (; !statOf(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  const above = statOf(d);
  if (above && !above.isDirectory()) throw new FolderError(missing[0] ?? dir, `${d} is a file, not a folder`);
  const created: string[] = [];
  for (const folder of missing) {
    try {
      mkdirSync(folder);
      created.push(folder);
    } catch (e) {
      removeFolders(created);
      throw new FolderError(folder, errnoReason(e));
    }
  }
  return created;
}

/** Removes folders makeFolders made, innermost first, if they are still empty. */
export function removeFolders(created: readonly string[]): void {
  for (const d of [...created].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      // not empty any more: someone else uses it now
    }
  }
}
