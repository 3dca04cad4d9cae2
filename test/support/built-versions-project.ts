import { cpSync, existsSync } from 'node:fs';
import { explain, tempDir } from '../e2e/helpers.js';
import { backfillIn } from './in-process.js';
import { versionsProject } from './versions-project.js';

/** The dates the built project is backfilled over. */
export const BUILT_DATES = { start: '2024-01-01', end: '2024-01-05' };

/**
 * The project backfilled once for the test file (the first test that asks builds it). Test
 * files of a worker share this module: when an earlier file's cleanup removed the folder, the
 * next file builds it again.
 */
let built: Promise<string> | undefined;

/**
 * A copy of the data-versions project after a backfill of BUILT_DATES: its files with their
 * times, and its warehouse. What `versionsProject()` and that backfill give, for the cost of
 * copying a folder: tests that start from a built project take one each.
 */
export async function builtVersionsProject(): Promise<string> {
  if (built !== undefined && !existsSync(await built.catch(() => ''))) built = undefined;
  built ??= (async () => {
    const dir = versionsProject();
    const r = await backfillIn(dir, BUILT_DATES);
    if (r.code !== 0) throw new Error(`building the data-versions project failed: ${explain(r)}`);
    return dir;
  })();
  const dir = tempDir();
  cpSync(await built, dir, { recursive: true, preserveTimestamps: true });
  return dir;
}
