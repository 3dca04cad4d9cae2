import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docsGenerate } from '../../src/ui/docs/docs-generate.js';
import { REPO } from '../e2e/helpers.js';
import { removeProjects, tempProject } from '../support/projects.js';
import { builtProject, type Fixture } from './ui-fixture.js';
import { screenshot, VIEWPORT } from './screenshot.js';

/**
 * The site of `pipe docs generate` opened from disk (file://, no server) in a real browser:
 * the built page of dist/ui/web, as ui-browser.test.ts drives it. Skipped where there is no
 * chromium, unless PIPE_REQUIRE_BROWSER is set.
 */

const CHROMIUM = process.env.PIPE_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_BROWSER = existsSync(CHROMIUM);
if (!HAVE_BROWSER && process.env.PIPE_REQUIRE_BROWSER) throw new Error(`PIPE_REQUIRE_BROWSER is set and there is no chromium at ${CHROMIUM}`);
const ASSETS = join(REPO, 'dist/ui/web');
// Large enough that the page must load each model's file on demand; generating 10,000 (about 10 s) is the bench's to time, not the suite's.
const MANY = 2_000;

let fx: Fixture;
let site: string;
let bigSite: string;
let browser: Browser;
let page: Page;
const problems: string[] = [];

/** A project of MANY models, each reading the one of a third its number: a tree. */
function tree(): string {
  const dir = tempProject({}, 'pipe-docs-many-');
  mkdirSync(join(dir, 'models'));
  for (let i = 0; i < MANY; i++) writeFileSync(join(dir, 'models', `t${i}.sql`), i === 0 ? 'select 1 as x' : `select x + 1 as x from {{ ref('t${Math.floor(i / 3)}') }}`);
  return dir;
}

describe.skipIf(!HAVE_BROWSER)('pipe docs generate, opened from disk', () => {
  beforeAll(async () => {
    if (!existsSync(join(ASSETS, 'app.js'))) throw new Error(`${ASSETS} has no app.js: npm run build makes it`);
    fx = await builtProject();
    site = pathToFileURL((await docsGenerate({ project: fx.dir, assets: ASSETS })).out).href;
    bigSite = pathToFileURL((await docsGenerate({ project: tree(), assets: ASSETS })).out).href;
    browser = await chromium.launch({ executablePath: CHROMIUM });
    page = await browser.newPage({ viewport: VIEWPORT });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    removeProjects();
  });

  it('opens on the lineage, finds a node by search and draws its neighbourhood', async () => {
    await page.goto(`${site}/index.html`);
    await page.getByTestId('search').fill('ba');
    await page.getByTestId('hits').getByRole('button', { name: 'bad' }).click();
    await expect.poll(() => page.locator('[data-testid="lineage"] g.node.focus').getAttribute('data-node')).toBe('bad');
    const drawn = () => page.locator('[data-testid="lineage"] g.node').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-node')).sort());
    await expect.poll(drawn).toEqual(['a', 'bad', 'c', 'people']);
    // No runs in a written site: no link to them.
    expect(await page.locator('header nav a').allTextContents()).toEqual(['Lineage']);
    expect(problems).toEqual([]);
    await screenshot(page, 'docs-lineage');
  });

  it("opens a model's page from the lineage: its SQL, compiled SQL and columns, no rows", async () => {
    await page.goto(`${site}/index.html#/lineage?focus=b`);
    await page.getByRole('link', { name: 'open' }).click();
    const source = page.getByTestId('source-sql');
    await expect.poll(() => source.textContent()).toBe("{{ config(materialized='view') }}\nselect id, name from {{ ref('a') }}\n");
    expect(await page.getByTestId('compiled-sql').textContent()).toContain('"main"."a"');
    expect(await page.getByTestId('columns').locator('tr').allInnerTexts()).toEqual(['id\tBIGINT\t', 'name\tVARCHAR\t']);
    expect(await page.getByTestId('preview').count()).toBe(0);
    expect(problems).toEqual([]);
    await screenshot(page, 'docs-model');
  });

  it(`opens a ${MANY.toLocaleString('en')}-model site, and a model's page loads its own file`, async () => {
    await page.goto(`${bigSite}/index.html#/lineage`);
    await page.getByTestId('search').fill('t1777');
    await page.getByTestId('hits').getByRole('button', { name: 't1777', exact: true }).click();
    await expect.poll(() => page.locator('[data-testid="lineage"] g.node.focus').getAttribute('data-node')).toBe('t1777');
    await page.getByRole('link', { name: 'open' }).click();
    await expect.poll(() => page.getByTestId('compiled-sql').textContent()).toContain('"main"."t592"');
    expect(problems).toEqual([]);
  });
});
