import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { makeFolders } from '../../util/folders.js';
import { PIPE_BUILD } from '../../version.js';
import { fileStamp } from '../file-stamp.js';
import { sideFilesPath } from '../warehouse-file.js';
import type { WarehouseSetup } from '../warehouse-setup.js';

/**
 * What a warehouse file's functions were found to be (DuckDB's own and the macros its catalog
 * holds: see state/query-reads.ts Reader), kept beside it between processes. DuckDB lists them
 * only by building every function's description (duckdb_functions(), 35-45 ms whatever is
 * asked of it), which every command did as it opened the file.
 *
 * Kept as the process that found them closes the file, with the file's stamp (see
 * file-stamp.ts) taken then, and only when none of its statements may have changed the
 * functions (see function-changes.ts); read as the next process opens it, and used only when
 * the file's stamp is still that one: any write to the file since, by any process, changes
 * the stamp, and the functions are asked again. Also part of the key: pipe's build, DuckDB's
 * version and the setup's settings. Not kept where the setup loads extensions (whose files
 * may change under the same name) or attaches databases (whose macros are listed too, and
 * which other processes write). What is read is checked by its user (query-reads.ts) and asked
 * again when it does not hold together.
 *
 * A file this process creates holds no macro: its functions are DuckDB's alone, the same for
 * every new file of the same name (DuckDB names the database after it) under the same key. What
 * the first of them was found to be is kept in the process for the next (a process that
 * builds into several new files), kept on the same terms as the file's.
 */

const FORMAT = 'pipe-functions 1';

/** What the functions of a new file were found to be, by its name and key (see the module comment). */
const ofNewFiles = new Map<string, unknown>();

export interface FunctionsKeep {
  /** What the functions were found to be, as kept; undefined when nothing valid is kept. */
  readonly found: unknown;
  /** Keeps `found`, found now, with the file's stamp after `close` has closed it. */
  keepAfter(close: () => void, found: unknown): void;
}

/**
 * The keep of the DuckDB file at `path`, opened with `setup` by DuckDB `version`; undefined
 * where nothing can be kept. To be called once the file is open: the stamp it compares is the
 * file's under this process's hold, which no other process writes (a stamp taken before the
 * open could be one another process's write follows before the open). `created`: the open
 * created the file (none was there, nor a log of DuckDB's to replay into it).
 */
export function functionsKeep(path: string, setup: WarehouseSetup, version: string, created = false): FunctionsKeep | undefined {
  // A file by its full path: none in memory (`:memory:`), nor a path relative to wherever the process runs.
  if (!isAbsolute(path) || setup.lake || setup.extensions.length > 0 || setup.attachments.length > 0) return undefined;
  let file: string;
  let stamp: string;
  try {
    file = keptFunctionsFile(path);
    stamp = fileStamp(path);
  } catch {
    return undefined;
  }
  const key = createHash('sha256').update(JSON.stringify([FORMAT, PIPE_BUILD, version, setup.settings])).digest('hex');
  const newFile = created ? `${basename(path)}\u0000${key}` : undefined;
  return {
    found: newFile !== undefined ? ofNewFiles.get(newFile) : readKept(file, key, stamp),
    keepAfter(close, found) {
      close();
      if (newFile !== undefined) ofNewFiles.set(newFile, found);
      try {
        const temporary = `${file}.${process.pid}.tmp`;
        makeFolders(dirname(file));
        writeFileSync(temporary, JSON.stringify({ format: FORMAT, key, stamp: fileStamp(path), found }));
        renameSync(temporary, file);
      } catch {
        // A folder that cannot be written keeps nothing: the next process asks DuckDB.
      }
    },
  };
}

function keptFunctionsFile(path: string): string {
  const side = sideFilesPath(path);
  return join(dirname(side), '.pipe', basename(side), 'functions.json');
}

function readKept(file: string, key: string, stamp: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const kept = JSON.parse(text) as { format?: unknown; key?: unknown; stamp?: unknown; found?: unknown };
    if (kept.format === FORMAT && kept.key === key && kept.stamp === stamp) return kept.found;
  } catch {
    // Cut short or edited: asked again, and kept anew as the file closes.
  }
  return undefined;
}
