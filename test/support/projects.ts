import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Engine } from '../../src/execute/engine.js';
import type { Row } from '../../src/warehouse/warehouse.js';

/**
 * Projects in temporary folders for in-process tests that drive the library (run, backfill,
 * retry, ...) against a real DuckDB file, and a read of the warehouse they build.
 */

const made: string[] = [];

/** A project made of `files` (paths relative to its root); removed by `removeProjects`. */
export function tempProject(files: Record<string, string> = {}, prefix = 'pipe-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

export function removeProjects(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** One query on a project's warehouse, read-only (through the engine of a run of this process that has it open). */
export async function queryWarehouse(dir: string, sql: string): Promise<Row[]> {
  const wh = await Engine.open(join(dir, 'warehouse.duckdb'), { readOnly: true });
  const s = await wh.session();
  try {
    return await s.query(sql);
  } finally {
    s.close();
    wh.close();
  }
}
