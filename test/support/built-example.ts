import { cpSync, existsSync } from 'node:fs';
import { expect } from 'vitest';
import { copyExample, explain, tempDir, type PipeResult } from '../e2e/helpers.js';
import { runIn } from './in-process.js';

/** The date the built example is run for. */
export const BUILT_EXAMPLE_DATE = '2024-01-02';

/**
 * The example run once for the test file (the first test that asks runs it). Test files of a
 * worker share this module: when an earlier file's cleanup removed the folder, the next file
 * runs it again.
 */
let built: Promise<{ dir: string; run: PipeResult }> | undefined;

/**
 * A copy of the example project after `pipe run --date BUILT_EXAMPLE_DATE` on it: its files with
 * their times, and its warehouse; and that run's result. What `copyExample()` and that run give,
 * for the cost of copying a folder: tests that start from a first run take one each.
 */
export async function builtExample(): Promise<{ dir: string; first: PipeResult }> {
  if (built !== undefined && !existsSync((await built.catch(() => undefined))?.dir ?? '')) built = undefined;
  built ??= (async () => {
    const dir = copyExample();
    return { dir, run: await runIn(dir, { date: BUILT_EXAMPLE_DATE }) };
  })();
  const { dir, run } = await built;
  expect(run.code, explain(run)).toBe(0);
  const copy = tempDir();
  cpSync(dir, copy, { recursive: true, preserveTimestamps: true });
  return { dir: copy, first: run };
}
