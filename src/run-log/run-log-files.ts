import { sideFilesPath } from '../warehouse/warehouse-file.js';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Where the run logs of a warehouse live: `<its folder>/.pipe/<its file name>/runs/<run id>.ndjson`.
 * Named after the file, so that two warehouses of one folder keep their runs apart. A log is
 * a view of a run's progress that other processes can read while the run holds the warehouse;
 * the warehouse's run state stays the truth, so a log may be deleted at any time.
 */

export const RUN_LOG_EXTENSION = '.ndjson';

/** How many run logs are kept by default; the oldest go when a run starts. */
export const DEFAULT_RUN_LOGS_KEPT = 200;

export function runLogDir(warehousePath: string): string {
  const side = sideFilesPath(warehousePath);
  return join(dirname(side), '.pipe', basename(side), 'runs');
}

/** The log of a run. Run ids are pipe's own (time and hex digits), never a path. */
export function runLogPath(warehousePath: string, runId: string): string {
  if (!/^[\w.-]+$/.test(runId)) throw new Error(`internal error: run id ${JSON.stringify(runId)} is not a file name`);
  return join(runLogDir(warehousePath), `${runId}${RUN_LOG_EXTENSION}`);
}

export interface RunLogFile {
  readonly runId: string;
  readonly path: string;
  readonly modifiedMs: number;
}

/**
 * The run logs of a warehouse, newest first: by the start time that begins a run id (to the
 * second), then by the last write (runs of one second).
 */
export function listRunLogs(warehousePath: string): RunLogFile[] {
  const dir = runLogDir(warehousePath);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: RunLogFile[] = [];
  for (const name of names) {
    if (!name.endsWith(RUN_LOG_EXTENSION)) continue;
    const path = join(dir, name);
    try {
      out.push({ runId: name.slice(0, -RUN_LOG_EXTENSION.length), path, modifiedMs: statSync(path).mtimeMs });
    } catch {
      // removed meanwhile by another run's rotation
    }
  }
  const second = (f: RunLogFile) => f.runId.split('-')[0];
  return out.sort((a, b) => (second(a) < second(b) ? 1 : second(a) > second(b) ? -1 : b.modifiedMs - a.modifiedMs));
}

/**
 * Deletes all but the newest `keep` logs, never the one of `current`. Nothing is lost: what a
 * log tells of a finished run, the warehouse's run state holds. Returns the deleted paths.
 */
export function rotateRunLogs(warehousePath: string, keep: number, current?: string): string[] {
  const removed: string[] = [];
  const others = listRunLogs(warehousePath).filter((f) => f.runId !== current);
  const room = Math.max(0, keep - (current === undefined ? 0 : 1));
  for (const f of others.slice(room)) {
    try {
      rmSync(f.path, { force: true });
      removed.push(f.path);
    } catch {
      // another process rotating at the same time
    }
  }
  return removed;
}
