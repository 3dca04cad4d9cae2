import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { REPO } from '../e2e/helpers.js';

/**
 * Pictures of the pages the browser tests visit, kept as test artefacts: a full-page PNG per
 * page in `<artefacts>/screenshots/`, where the artefacts folder is PIPE_ARTIFACTS_DIR or
 * test-results/ of the repo (ignored by git). Taken once the test has asserted that the page
 * is drawn, so a picture shows what the test saw.
 *
 * The README shows one of them (README_SHOT), kept in test/ui/screenshots/. The tests write it
 * there only when PIPE_UPDATE_SCREENSHOTS is set: otherwise nothing they do changes the repo.
 */

export const ARTIFACTS_DIR = process.env.PIPE_ARTIFACTS_DIR ?? join(REPO, 'test-results');
export const SCREENSHOTS_DIR = join(ARTIFACTS_DIR, 'screenshots');

/** The picture of the README: the failed run's page, its Gantt chart, failures and checks. */
export const README_SHOT = 'run-failed';
export const README_SHOT_PATH = join(REPO, 'test/ui/screenshots', `${README_SHOT}.png`);

/** The size pages are drawn at, and the README's picture is cut to. */
export const VIEWPORT = { width: 1200, height: 800 };

export async function screenshot(page: Page, name: string): Promise<void> {
  if (!/^[\w-]+$/.test(name)) throw new Error(`a screenshot's name is a file name: ${name}`);
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS_DIR, `${name}.png`), fullPage: true, animations: 'disabled' });
  if (name === README_SHOT && process.env.PIPE_UPDATE_SCREENSHOTS) {
    await page.screenshot({ path: README_SHOT_PATH, fullPage: true, clip: { x: 0, y: 0, ...VIEWPORT }, animations: 'disabled' });
  }
}
