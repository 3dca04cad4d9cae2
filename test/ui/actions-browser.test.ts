import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUiServer, type UiServer } from '../../src/ui/server/server.js';
import { holdWarehouse, PIPE_BIN, REPO } from '../e2e/helpers.js';
import { removeProjects } from '../support/projects.js';
import { ended } from '../processes.js';
import { builtProject, serve, type Fixture } from './ui-fixture.js';

/**
 * The Retry button of `pipe ui --allow-actions` in a real browser (as ui-browser.test.ts):
 * absent without the flag; with it, a click starts the retry and opens its run, or says why
 * not. Skipped where there is no chromium, unless PIPE_REQUIRE_BROWSER is set.
 */

const CHROMIUM = process.env.PIPE_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_BROWSER = existsSync(CHROMIUM);
if (!HAVE_BROWSER && process.env.PIPE_REQUIRE_BROWSER) throw new Error(`PIPE_REQUIRE_BROWSER is set and there is no chromium at ${CHROMIUM}`);
const ASSETS = join(REPO, 'dist/ui/web');

let fx: Fixture;
let readOnly: UiServer;
let acting: UiServer;
let browser: Browser;
let page: Page;

describe.skipIf(!HAVE_BROWSER)('pipe ui actions in a browser', () => {
  beforeAll(async () => {
    fx = await builtProject();
    readOnly = await serve(fx.dir, ASSETS);
    acting = await startUiServer({ project: fx.dir, port: 0, assets: ASSETS, allowActions: true, pipeBin: PIPE_BIN });
    browser = await chromium.launch({ executablePath: CHROMIUM });
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await readOnly?.close();
    await acting?.close();
    // The runs the actions started go on after their requests: their files go once they have ended.
    if (fx) await ended(['--project', fx.dir]);
    removeProjects();
  });

  it('shows no Retry button without --allow-actions', async () => {
    await page.goto(`${readOnly.url}#/runs/${fx.failed}`);
    await page.getByTestId('retry').waitFor();
    expect(await page.getByTestId('retry-button').count()).toBe(0);
  });

  it('says why a retry is refused while the warehouse is held, then retries on a click and opens the new run', async () => {
    await page.goto(`${acting.url}#/runs/${fx.failed}`);
    const button = page.getByTestId('retry-button');
    const holder = await holdWarehouse(join(fx.dir, 'warehouse.duckdb'));
    try {
      await button.click();
      await expect.poll(() => page.getByTestId('action-problem').textContent()).toContain(`${holder.pid}`);
    } finally {
      await holder.release();
    }
    writeFileSync(join(fx.dir, 'models/bad.sql'), "{{ config(materialized='table') }}\nselect id\nfrom {{ ref('a') }}\n");
    writeFileSync(join(fx.dir, 'models/checked.yaml'), 'checks:\n  expression: ["id < 3"]\n');
    await button.click();
    await expect.poll(() => page.evaluate(() => location.hash)).not.toBe(`#/runs/${fx.failed}`);
    await expect.poll(() => page.locator('h1 .badge').first().textContent()).toBe('succeeded');
    expect(await page.locator('body').textContent()).toContain(`retry of ${fx.failed}`);
  }, 120_000);
});
