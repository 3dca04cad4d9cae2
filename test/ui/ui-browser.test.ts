import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UiServer } from '../../src/ui/server/server.js';
import { eventsOfType, killRunning, ModelGate, REPO, RunningPipe, writeProjectFiles } from '../e2e/helpers.js';
import { removeProjects, tempProject } from '../support/projects.js';
import { backfillIn, runIn } from '../support/in-process.js';
import { CELL, HEAD, LABEL } from '../../src/ui/web/heatmap.js';
import { builtProject, COVERAGE_RANGE, datedProject, DAY, parallelRun, serve, type Fixture } from './ui-fixture.js';
import { screenshot, VIEWPORT } from './screenshot.js';

/**
 * The page of `pipe ui` in a real browser (the system's chromium, driven by playwright-core),
 * served from the built bundle in dist/ui/web. Skipped where there is no chromium, unless
 * PIPE_REQUIRE_BROWSER is set (CI sets it): then a missing browser fails the file.
 */

const CHROMIUM = process.env.PIPE_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_BROWSER = existsSync(CHROMIUM);
if (!HAVE_BROWSER && process.env.PIPE_REQUIRE_BROWSER) throw new Error(`PIPE_REQUIRE_BROWSER is set and there is no chromium at ${CHROMIUM}`);
const ASSETS = join(REPO, 'dist/ui/web');
/** As src/ui/web/pages/lineage.tsx draws at most. */
const CAP = 150;
const MANY = 10_000;

let fx: Fixture;
let server: UiServer;
let big: UiServer;
let browser: Browser;
let page: Page;

/** A project of MANY models, each reading the one of half its number and the one three before. */
function manyModels(): string {
  const dir = tempProject({}, 'pipe-ui-many-');
  mkdirSync(join(dir, 'models'));
  for (let i = 0; i < MANY; i++) {
    const reads = [...(i > 0 ? [`m${Math.floor(i / 2)}`] : []), ...(i > 3 ? [`m${i - 3}`] : [])];
    writeFileSync(join(dir, 'models', `m${i}.sql`), ['select 1 as x', ...reads.map((r) => `select x from {{ ref('${r}') }}`)].join(' union all '));
  }
  return dir;
}

/** Two tables, `held` reading `first` and held at a gate until the test opens it. */
function gatedProject(): { dir: string; gate: ModelGate } {
  const dir = tempProject({}, 'pipe-ui-live-');
  const gate = new ModelGate(dir);
  writeProjectFiles(dir, {
    'models/first.sql': "{{ config(materialized='table') }}\nselect 1 as x\n",
    'models/held.sql': `{{ config(materialized='table') }}\nselect x from {{ ref('first') }} where ${gate.sql} >= 0\n`,
  });
  return { dir, gate };
}

/**
 * A `pipe run` (or the command given) of a gated project in another process, once it holds the
 * warehouse with `first` done and `held` under way.
 */
async function runUntilHeld(dir: string, command: readonly string[] = ['run', '--date', DAY]) {
  const running = new RunningPipe([...command, '--json', '--project', dir]);
  const started = await running.waitFor((e) => e.type === 'task-started' && (e.task as { model: string }).model === 'held');
  return { running, started };
}

describe.skipIf(!HAVE_BROWSER)('pipe ui in a browser', () => {
  beforeAll(async () => {
    if (!existsSync(join(ASSETS, 'app.js'))) throw new Error(`${ASSETS} has no app.js: npm run build makes it`);
    fx = await builtProject();
    server = await serve(fx.dir, ASSETS);
    big = await serve(manyModels(), ASSETS);
    browser = await chromium.launch({ executablePath: CHROMIUM });
    page = await browser.newPage({ viewport: VIEWPORT });
  });
  afterAll(async () => {
    await killRunning();
    await browser?.close();
    await server?.close();
    await big?.close();
    removeProjects();
  });

  it('shows the failed run red, and its retry command on its page', async () => {
    await page.goto(`${server.url}#/runs`);
    const badge = page.locator(`tr[data-run="${fx.failed}"] .badge`);
    await expect.poll(() => badge.textContent()).toBe('failed');
    expect(await badge.evaluate((e) => getComputedStyle(e).backgroundColor)).toBe('rgb(215, 58, 58)');
    expect(await page.locator(`tr[data-run="${fx.good}"] .badge`).textContent()).toBe('succeeded');
    await screenshot(page, 'runs');
    // The grid's red cell opens the run at its task.
    await page.locator(`[data-cell="${fx.failed}/bad@2024-01-02"]`).click();
    const retry = page.getByTestId('retry');
    await retry.waitFor();
    expect(await retry.textContent()).toBe(`pipe retry ${fx.failed} --project ${fx.dir}`);
    expect(await page.locator('tr.on[data-task-row]').getAttribute('data-task-row')).toBe('bad@2024-01-02');
    expect(await page.getByTestId('failures').textContent()).toContain('models/bad.sql:3');
    expect(await page.getByTestId('checks').textContent()).toContain('failed expression(id < 2) on checked@2024-01-02: 1 failing row (error)');
    await expect.poll(() => page.locator('[data-testid="gantt"] rect.bar').count()).toBeGreaterThan(0);
    await screenshot(page, 'run-failed');
  });

  it("points an error's caret at its column, in a narrow window too", async () => {
    const narrow = await browser.newPage({ viewport: { width: 420, height: 800 } });
    try {
      await narrow.goto(`${server.url}#/runs/${fx.failed}`);
      await narrow.getByTestId('failures').waitFor();
      // bad's error, in its group of failures and in its task's row.
      const errors = narrow.locator(`[data-testid="failures"] pre.error, tr[data-task-row="bad@${DAY}"] pre`).filter({ hasText: 'nosuchcolumn' });
      expect(await errors.count()).toBe(2);
      for (const e of await errors.all()) {
        // Where the caret is drawn, and where the character above it is.
        const [caret, above] = await e.evaluate((pre) => {
          // A line a span (see ErrorText): the caret's, and the source line above it.
          const lines = [...pre.querySelectorAll('span')].map((s) => s.firstChild as Text);
          const k = lines.findIndex((t) => /^\s*\^\s*$/.test(t.textContent!));
          const col = lines[k].textContent!.indexOf('^');
          const x = (text: Text) => {
            const range = document.createRange();
            range.setStart(text, col);
            range.setEnd(text, col + 1);
            const r = range.getBoundingClientRect();
            return [Math.round(r.left), Math.round(r.top)];
          };
          return [x(lines[k]), x(lines[k - 1])];
        });
        expect(caret[0]).toBe(above[0]);
        expect(caret[1]).toBeGreaterThan(above[1]);
        // The prose wraps inside the box: only a source line wider than it makes it scroll sideways.
        const [scrolled, widest] = await e.evaluate((pre) => [pre.scrollWidth, Math.max(pre.clientWidth, ...[...pre.querySelectorAll('span.code-line')].map((s) => Math.ceil(s.getBoundingClientRect().width)))]);
        expect(scrolled).toBeLessThanOrEqual(widest + 2);
      }
    } finally {
      await narrow.close();
    }
  });

  it("lays a backfill's dates of a node side by side in the grid, a dozen a line", async () => {
    const dir = tempProject({ 'models/daily.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect '{{ ds }}'::DATE as d\n" }, 'pipe-ui-grid-');
    const built = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-30' });
    expect(built.code, built.stderr).toBe(0);
    const served = await serve(dir, ASSETS);
    try {
      await page.goto(`${served.url}#/runs`);
      const cells = page.locator('[data-testid="grid"] a.cell');
      await expect.poll(() => cells.count()).toBe(30);
      const boxes = await cells.evaluateAll((as) => as.map((a) => a.getBoundingClientRect()).map((r) => [Math.round(r.left), Math.round(r.top)]));
      // 30 dates: lines of 12, 12 and 6.
      expect(new Set(boxes.map(([, top]) => top)).size).toBe(3);
      expect(new Set(boxes.map(([left]) => left)).size).toBe(12);
    } finally {
      await served.close();
    }
  });

  it('draws a Gantt bar per task of a run', async () => {
    await page.goto(`${server.url}#/runs/${fx.good}`);
    // The page may still show the run before: wait for this one's bars.
    const bars = () => page.locator('[data-testid="gantt"] rect.bar').evaluateAll((rects) => rects.map((b) => b.getAttribute('data-task')).sort());
    await expect.poll(bars).toEqual([
      'a@2024-01-02',
      'b@2024-01-02',
      'people',
    ]);
  });

  it('draws the coverage heatmap, a cell per model and date, and opens the run a cell names', async () => {
    const dated = await serve(await datedProject(), ASSETS);
    try {
      await page.goto(`${dated.url}#/coverage?start=${COVERAGE_RANGE.start}&end=${COVERAGE_RANGE.end}`);
      const heatmap = page.getByTestId('heatmap');
      // daily: four dates; whole: one cell across the row.
      await expect.poll(() => heatmap.getAttribute('data-cells')).toBe('5');
      expect([await heatmap.getAttribute('data-rows'), await heatmap.getAttribute('data-cols')]).toEqual(['2', '4']);
      expect(await page.getByTestId('legend').textContent()).toContain('failed 1');
      await screenshot(page, 'coverage');
      await page.getByTestId('coverage-state').selectOption('failed');
      await expect.poll(() => heatmap.getAttribute('data-rows')).toBe('1');
      // daily's second date, the failed one: its run, at its task.
      await heatmap.click({ position: { x: LABEL + CELL * 1.5, y: HEAD + CELL / 2 } });
      await expect.poll(() => page.evaluate(() => location.hash)).toMatch(/^#\/runs\/[\w.-]+\?task=daily/);
      await expect.poll(() => page.locator('tr.on[data-task-row]').getAttribute('data-task-row')).toContain('2024-01-02');
    } finally {
      await dated.close();
    }
  });

  it('moves through the coverage heatmap by keyboard, each place labelled, and opens a cell with Enter', async () => {
    const dated = await serve(await datedProject(), ASSETS);
    try {
      await page.goto(`${dated.url}#/coverage?start=${COVERAGE_RANGE.start}&end=${COVERAGE_RANGE.end}`);
      await expect.poll(() => page.getByTestId('heatmap').getAttribute('data-cells')).toBe('5');
      // One stop of Tab after the controls: the last legend entry, then the heatmap.
      await page.getByTestId('legend').getByRole('button', { name: /always runs/ }).focus();
      await page.keyboard.press('Tab');
      const cell = page.getByTestId('heat-cell');
      expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('heat-cell');
      const label = () => cell.getAttribute('aria-label');
      expect(await label()).toMatch(/^daily 2024-01-01: current.*; row 1 of 2$/);
      await page.keyboard.press('ArrowRight');
      expect(await label()).toMatch(/^daily 2024-01-02: failed/);
      expect(await page.getByTestId('heatmap-hover').textContent()).toMatch(/^daily 2024-01-02: failed/);
      await page.keyboard.press('End');
      expect(await label()).toMatch(/^daily 2024-01-04: never built/);
      await page.keyboard.press('ArrowDown');
      expect(await label()).toMatch(/^whole built whole: /);
      await page.keyboard.press('Home');
      expect(await label()).toBe('whole (table): open the model; row 2 of 2');
      await page.keyboard.press('ArrowUp');
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('ArrowRight');
      expect(await label()).toMatch(/^daily 2024-01-02: failed/);
      await page.keyboard.press('Enter');
      await expect.poll(() => page.evaluate(() => location.hash)).toMatch(/^#\/runs\/[\w.-]+\?task=daily%402024-01-02/);
      // The legend filters by keyboard too.
      await page.goBack();
      await page.getByTestId('legend').getByRole('button', { name: /failed/ }).press('Enter');
      await expect.poll(() => page.getByTestId('heatmap').getAttribute('data-rows')).toBe('1');
    } finally {
      await dated.close();
    }
  });

  it('pages to older runs by link and keyboard, keeping the status filter, and back and forth through the history', async () => {
    const dir = tempProject({ 'models/one.sql': "{{ config(materialized='table') }}\nselect 1 as x\n" }, 'pipe-ui-many-runs-');
    const ids: string[] = [];
    // One more run than the page lists.
    for (let i = 0; i < 26; i++) ids.unshift(eventsOfType((await runIn(dir, { date: DAY, force: true })).events, 'run-started')[0].runId as string);
    const own = await serve(dir, ASSETS);
    try {
      const rows = () => page.locator('tr[data-run]').evaluateAll((trs) => trs.map((t) => t.getAttribute('data-run')));
      await page.goto(`${own.url}#/runs`);
      await expect.poll(rows).toEqual(ids.slice(0, 25));
      await page.getByTestId('older-runs').focus();
      await page.keyboard.press('Enter');
      await expect.poll(rows).toEqual([ids[25]]);
      expect(await page.getByTestId('older-runs').count()).toBe(0);
      await page.goBack();
      await expect.poll(rows).toEqual(ids.slice(0, 25));
      await page.goForward();
      await expect.poll(rows).toEqual([ids[25]]);
      await page.getByRole('link', { name: '← Newest runs' }).click();
      await expect.poll(rows).toEqual(ids.slice(0, 25));
      // A filter starts from its newest runs, and its older page keeps it.
      await page.getByTestId('run-status').selectOption('succeeded');
      await expect.poll(() => page.evaluate(() => location.hash)).toBe('#/runs?status=succeeded');
      await page.getByTestId('older-runs').click();
      await expect.poll(() => page.evaluate(() => location.hash)).toBe(`#/runs?status=succeeded&before=${ids[24]}`);
      await expect.poll(rows).toEqual([ids[25]]);
      await page.getByTestId('run-status').selectOption('failed');
      await expect.poll(() => page.locator('main').textContent()).toContain('No failed runs.');
    } finally {
      await own.close();
    }
  });

  it('takes what is typed in the coverage search as one step of the history: Back leaves the page', async () => {
    await page.goto(`${server.url}#/runs`);
    await page.getByRole('link', { name: 'Coverage' }).click();
    await page.getByTestId('coverage-search').pressSequentially('bad');
    await expect.poll(() => page.evaluate(() => location.hash)).toBe('#/coverage?q=bad');
    await page.goBack();
    await expect.poll(() => page.evaluate(() => location.hash)).toBe('#/runs');
  });

  it('keeps the coverage dates form when its first date is after its last: said there, and nothing asked', async () => {
    await page.goto(`${server.url}#/coverage`);
    await page.getByTestId('coverage-start').fill('2024-01-05');
    await page.getByTestId('coverage-end').fill('2024-01-02');
    await expect.poll(() => page.getByTestId('coverage-range-problem').textContent()).toContain('the first date is after the last');
    expect(await page.getByRole('button', { name: 'Show dates' }).isDisabled()).toBe(true);
    await page.getByTestId('coverage-end').fill('2024-01-06');
    expect(await page.getByRole('button', { name: 'Show dates' }).isDisabled()).toBe(false);
  });

  it('opens the run that failed a model built whole at the task that failed, though its cell is judged for another date', async () => {
    // bad is a table: its one cell (the fixture has no dated model: one column) is judged for
    // yesterday, a date the failed run never ran.
    await page.goto(`${server.url}#/coverage?q=bad`);
    const heatmap = page.getByTestId('heatmap');
    await expect.poll(() => heatmap.getAttribute('data-rows')).toBe('1');
    await heatmap.click({ position: { x: LABEL + CELL / 2, y: HEAD + CELL / 2 } });
    await expect.poll(() => page.evaluate(() => location.hash)).toMatch(new RegExp(`^#/runs/${fx.failed}\\?task=bad%40`));
    await expect.poll(() => page.locator('tr.on[data-task-row]').getAttribute('data-task-row')).toBe(`bad@${DAY}`);
    expect(await page.locator('[data-testid="gantt"] rect.bar.on').getAttribute('data-task')).toBe(`bad@${DAY}`);
  });

  it("draws a Gantt lane per worker: as many as the run's threads", async () => {
    const { dir, run } = await parallelRun('pipe-ui-lanes-');
    expect(run.code, run.stderr).toBe(0);
    const runId = String(run.events.find((e) => e.type === 'run-started')!.runId);
    const parallel = await serve(dir, ASSETS);
    try {
      await page.goto(`${parallel.url}#/runs/${runId}`);
      const lanes = () => page.locator('[data-testid="gantt"] [data-lane]').evaluateAll((ls) => ls.map((l) => l.getAttribute('data-lane')));
      await expect.poll(lanes).toEqual(['worker-1', 'worker-2']);
      expect(await page.locator('[data-testid="gantt"] rect.bar').count()).toBe(5);
    } finally {
      await parallel.close();
    }
  });

  it("draws every model and seed of the repository's example project on the lineage page", async () => {
    const dir = tempProject({}, 'pipe-ui-example-');
    for (const part of ['models', 'seeds', 'macros', 'pipelines', 'pipe.yaml']) cpSync(join(REPO, part), join(dir, part), { recursive: true });
    // What the files name, read apart from pipe: a model per .sql file, a seed per .csv file.
    const named = (folder: string, ext: string) =>
      (readdirSync(join(dir, folder), { recursive: true }) as string[]).filter((f) => f.endsWith(ext)).map((f) => basename(f, ext));
    const expected = [...named('models', '.sql'), ...named('seeds', '.csv')].sort();
    const example = await serve(dir, ASSETS);
    try {
      await page.goto(`${example.url}#/lineage`);
      const drawn = () => page.locator('[data-testid="lineage"] g.node').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-node')).sort());
      await expect.poll(drawn).toEqual(expected);
      expect(expected.length).toBeGreaterThanOrEqual(10);
      await screenshot(page, 'lineage-example');
    } finally {
      await example.close();
    }
  });

  it('finds a node by search and draws its neighbourhood', async () => {
    await page.goto(`${server.url}#/lineage`);
    await page.getByTestId('search').fill('ba');
    await page.getByTestId('hits').getByRole('button', { name: 'bad' }).click();
    await expect.poll(() => page.evaluate(() => location.hash)).toBe('#/lineage?focus=bad');
    await expect.poll(() => page.locator('[data-testid="lineage"] g.node.focus').getAttribute('data-node')).toBe('bad');
    const drawn = () => page.locator('[data-testid="lineage"] g.node').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-node')).sort());
    // Two hops up (a, people) and down (c); b and checked are a's, not bad's. Polled: the
    // neighbourhood is drawn again once its layout comes back from the layout worker.
    await expect.poll(drawn).toEqual(['a', 'bad', 'c', 'people']);
    // Filled by materialization, bordered by the last status.
    const look = (name: string) => page.locator(`g.node[data-node="${name}"] rect`).evaluate((r) => [getComputedStyle(r).fill, getComputedStyle(r).stroke]);
    expect(await look('bad')).toEqual(['rgb(219, 231, 255)', 'rgb(215, 58, 58)']);
    expect(await look('people')).toEqual(['rgb(240, 224, 255)', 'rgb(46, 158, 68)']);
    await screenshot(page, 'lineage');
  });

  it('keeps the lineage search in step with the graph through Back and Forward', async () => {
    await page.goto(`${server.url}#/lineage?focus=c`);
    const search = page.getByTestId('search');
    const focused = () => page.locator('[data-testid="lineage"] g.node.focus').getAttribute('data-node');
    await expect.poll(focused).toBe('c');
    await search.fill('peo');
    await expect.poll(() => page.evaluate(() => location.hash)).toBe('#/lineage?focus=c&q=peo');
    await page.getByTestId('hits').getByRole('button', { name: 'people' }).click();
    await expect.poll(focused).toBe('people');
    expect(await search.inputValue()).toBe('');
    // Back: the text that was searched, with the graph it was searched over.
    await page.goBack();
    await expect.poll(focused).toBe('c');
    expect(await search.inputValue()).toBe('peo');
    expect(await page.getByTestId('hits').textContent()).toContain('people');
    await page.goForward();
    await expect.poll(focused).toBe('people');
    expect(await search.inputValue()).toBe('');
    expect(await page.getByTestId('hits').count()).toBe(0);
  });

  it('reaches the nodes of the lineage with Tab and focuses one with Enter', async () => {
    await page.goto(`${server.url}#/lineage`);
    await page.locator('[data-testid="lineage"] g.node').first().waitFor();
    await page.getByTestId('search').focus();
    // The hops, then the drawing, then its nodes.
    let focused: string | null = null;
    for (let i = 0; i < 6 && focused === null; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => document.activeElement?.getAttribute('data-node') ?? null);
    }
    expect(focused).not.toBeNull();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => location.hash)).toBe(`#/lineage?focus=${focused}`);
  });

  it("shows a model's SQL highlighted, its columns and its rows", async () => {
    await page.goto(`${server.url}#/models/b`);
    const source = page.getByTestId('source-sql');
    await expect.poll(() => source.textContent()).toBe("{{ config(materialized='view') }}\nselect id, name from {{ ref('a') }}\n");
    expect(await source.locator('.tok-keyword').allTextContents()).toEqual(['select', 'from']);
    expect(await source.locator('.tok-template').count()).toBe(2);
    expect(await page.getByTestId('compiled-sql').textContent()).toContain('"main"."a"');
    // Said with the date it is compiled for.
    expect(await page.locator('h2', { hasText: 'Compiled' }).textContent()).toMatch(/^Compiled for \d{4}-\d{2}-\d{2}, the date a run takes by default$/);
    expect(await page.getByTestId('columns').locator('tr').allInnerTexts()).toEqual(['id\tBIGINT\t', 'name\tVARCHAR\t']);
    const rows = page.getByTestId('preview').locator('tbody tr');
    await expect.poll(() => rows.allInnerTexts()).toEqual(['1\tann', '2\tbob']);
    await screenshot(page, 'model');
  });

  it("charts a model's recent tasks, a bar each in time order, failed ones in the failed colour", async () => {
    const bars = () =>
      page.locator('[data-testid="task-chart"] [data-task-bar]').evaluateAll((gs) => gs.map((g) => [g.getAttribute('data-run'), g.getAttribute('data-status')]));
    await page.goto(`${server.url}#/models/bad`);
    await expect.poll(() => bars()).toEqual([[fx.failed, 'failed']]);
    const bar = page.locator('[data-testid="task-chart"] [data-task-bar] rect.bar');
    expect(await bar.evaluate((r) => getComputedStyle(r).fill)).toBe('rgb(215, 58, 58)');
    expect(await page.locator('[data-testid="task-chart"] title').textContent()).toContain('bad@2024-01-02 · failed');
    await expect.poll(() => page.getByTestId('preview').textContent()).not.toContain('Loading');
    await screenshot(page, 'model-failed');
    await page.goto(`${server.url}#/models/a`);
    // a ran in both runs: the older on the left; the table below lists the newest first.
    await expect.poll(() => bars()).toEqual([
      [fx.good, 'succeeded'],
      [fx.failed, 'succeeded'],
    ]);
    expect(await page.getByTestId('recent-tasks').locator('tr').count()).toBe(2);
  });

  it(`draws at most ${CAP} nodes of a ${MANY.toLocaleString('en')}-model project and keeps answering`, async () => {
    await page.goto(`${big.url}#/lineage`);
    const nodes = page.locator('[data-testid="lineage"] g.node');
    await nodes.first().waitFor({ timeout: 30_000 });
    expect(await nodes.count()).toBe(CAP);
    expect(await page.getByTestId('more').textContent()).toContain(`${(MANY - CAP).toLocaleString('en')} more not drawn`);
    await page.getByTestId('search').fill('m5000');
    await page.getByTestId('hits').getByRole('button', { name: 'm5000', exact: true }).click();
    await expect.poll(() => page.locator('[data-testid="lineage"] g.node.focus').getAttribute('data-node')).toBe('m5000');
    expect(await nodes.count()).toBeLessThanOrEqual(CAP);
    // The page's thread is free: it answers at once with what it shows.
    expect(await page.evaluate(() => document.querySelectorAll('g.node').length)).toBe(await nodes.count());
  });

  it('follows a backfill that another process is running, live: it appears in the runs, and its Gantt chart moves', async () => {
    const { dir, gate } = gatedProject();
    const live = await serve(dir, ASSETS);
    try {
      await page.goto(`${live.url}#/runs`);
      await page.getByText('No runs yet').waitFor();
      const { running, started } = await runUntilHeld(dir, ['backfill', '--start', DAY, '--end', DAY]);
      // No reload: the runs page hears of the new run and lists it, running.
      const row = page.locator(`tr[data-run="${String(started.runId)}"]`);
      await expect.poll(() => row.locator('.badge').textContent()).toBe('running');
      await row.locator('a').first().click();
      const status = page.locator('h1 .badge');
      await expect.poll(() => status.textContent()).toBe('running');
      expect(await page.getByTestId('held').textContent()).toContain(`pid ${running.child.pid}`);
      expect(await page.locator(`rect.bar[data-task="held@${DAY}"]`).getAttribute('class')).toContain('status-running');
      gate.open();
      // No reload: the page follows the run's log and reads the run again.
      await expect.poll(() => status.textContent(), { timeout: 20_000 }).toBe('succeeded');
      expect(await page.locator(`rect.bar[data-task="held@${DAY}"]`).getAttribute('class')).toContain('status-succeeded');
      expect((await running.exited).code).toBe(0);
    } finally {
      await live.close();
    }
  });

  it("shows a model's rows once the run holding the warehouse ends, without a reload", async () => {
    const { dir, gate } = gatedProject();
    const live = await serve(dir, ASSETS);
    try {
      const { running } = await runUntilHeld(dir);
      await page.goto(`${live.url}#/models/first`);
      const preview = page.getByTestId('preview');
      await expect.poll(() => preview.textContent()).toMatch(/in use by another process/);
      gate.open();
      await expect.poll(() => preview.locator('tbody tr').allInnerTexts(), { timeout: 20_000 }).toEqual(['1']);
      expect((await running.exited).code).toBe(0);
    } finally {
      await live.close();
    }
  });

  it('shows a run killed with kill -9 as interrupted, without a reload, on the runs page and on its own', async () => {
    const { dir } = gatedProject();
    const live = await serve(dir, ASSETS);
    const other = await browser.newPage({ viewport: VIEWPORT });
    try {
      const { running, started } = await runUntilHeld(dir);
      const runId = String(started.runId);
      await page.goto(`${live.url}#/runs`);
      await other.goto(`${live.url}#/runs/${runId}`);
      const row = page.locator(`tr[data-run="${runId}"] .badge`);
      const status = other.locator('h1 .badge');
      await expect.poll(() => row.textContent()).toBe('running');
      await expect.poll(() => status.textContent()).toBe('running');
      // Killed, it writes no line to its log again: the pages follow the process itself.
      running.child.kill('SIGKILL');
      await running.exited;
      await expect.poll(() => row.textContent(), { timeout: 20_000 }).toBe('interrupted');
      await expect.poll(() => status.textContent(), { timeout: 20_000 }).toBe('interrupted');
      // Every task counted, as the command's summary counts them: the one it never finished too.
      expect(await other.locator('p', { hasText: 'tasks' }).first().textContent()).toMatch(/1 of 2 tasks\s*succeeded, 0 failed, 0 skipped, 1 not started/);
      // Recovered by the next run, its record ends at its last word: how long it ran is not known, and not shown as if it were.
      expect((await runIn(dir, { date: DAY, select: ['first'] })).code).toBe(0);
      const runs = (await (await fetch(new URL('/api/runs', live.url))).json()) as { runs: { run_id: string; status: string; duration_ms: number | null }[] };
      expect(runs.runs.find((r) => r.run_id === runId)).toMatchObject({ status: 'interrupted', duration_ms: null });
    } finally {
      await other.close();
      await live.close();
    }
  });

  it('says on a model page, which it does not read again by itself, that runs went on since it was read, and reads it again at a click', async () => {
    const { dir, gate } = gatedProject();
    const live = await serve(dir, ASSETS);
    try {
      await page.goto(`${live.url}#/models/first`);
      const status = page.locator('h1 .badge').nth(1);
      await expect.poll(() => status.textContent()).toBe('never run');
      expect(await page.getByTestId('changed').count()).toBe(0);
      const { running } = await runUntilHeld(dir);
      // first is built, but the page read before: it says so rather than show it as never run.
      await page.getByTestId('changed').waitFor();
      expect(await status.textContent()).toBe('never run');
      await page.getByTestId('changed').getByRole('button', { name: 'Reload' }).click();
      await expect.poll(() => status.textContent()).toBe('succeeded');
      // Read from the run's log, and not followed: the note does not say live.
      expect(await page.getByTestId('held').textContent()).toMatch(/showing the run logs beside it\.$/);
      gate.open();
      expect((await running.exited).code).toBe(0);
    } finally {
      await live.close();
    }
  });

  it("counts a running run's time on while a long task writes nothing to its log", async () => {
    const { dir, gate } = gatedProject();
    const live = await serve(dir, ASSETS);
    try {
      const { running, started } = await runUntilHeld(dir);
      await page.goto(`${live.url}#/runs`);
      // The sixth column: Duration.
      const shown = page.locator(`tr[data-run="${String(started.runId)}"] td:nth-child(6)`);
      await expect.poll(() => page.locator(`tr[data-run="${String(started.runId)}"] .badge`).textContent()).toBe('running');
      // held waits at its gate: the log has no new line, the page reads nothing again.
      const first = await shown.textContent();
      await expect.poll(() => shown.textContent(), { timeout: 10_000 }).not.toBe(first);
      await page.locator(`tr[data-run="${String(started.runId)}"] a`).first().click();
      const header = page.locator('main > p').filter({ hasText: 'started' });
      const before = await header.textContent();
      await expect.poll(() => header.textContent(), { timeout: 10_000 }).not.toBe(before);
      gate.open();
      expect((await running.exited).code).toBe(0);
    } finally {
      await live.close();
    }
  });

  it('loads in a seventh tab while six follow the runs: following holds no connection open', async () => {
    // A browser keeps at most six connections to a server (HTTP/1.1).
    const context = await browser.newContext({ viewport: VIEWPORT });
    try {
      for (const hash of ['#/runs', '#/runs', '#/runs', '#/coverage', '#/coverage', '#/models/a']) {
        const tab = await context.newPage();
        await tab.goto(`${server.url}${hash}`);
        await tab.locator('main h1').waitFor();
      }
      const seventh = await context.newPage();
      await seventh.goto(`${server.url}#/runs`, { timeout: 10_000 });
      await expect.poll(() => seventh.locator(`tr[data-run="${fx.failed}"] .badge`).textContent(), { timeout: 10_000 }).toBe('failed');
    } finally {
      await context.close();
    }
  });

  it('keeps the coverage page live: models never built show built as a run in another process builds them', async () => {
    const { dir, gate } = gatedProject();
    const live = await serve(dir, ASSETS);
    try {
      await page.goto(`${live.url}#/coverage`);
      const legend = page.getByTestId('legend');
      await expect.poll(() => legend.textContent()).toContain('never built 2');
      const { running } = await runUntilHeld(dir);
      // The run's log changed: the page reads again, finds the warehouse held and says by whom,
      // and lays what the run has finished (first, not held) over the heatmap it read before.
      await expect.poll(() => page.getByTestId('held').textContent()).toContain(`pid ${running.child.pid}`);
      await expect.poll(() => legend.textContent()).toContain('never built 1');
      expect(await legend.textContent()).toContain('current 1');
      await screenshot(page, 'coverage-during-run');
      gate.open();
      expect((await running.exited).code).toBe(0);
      // No reload: the holder is gone, the page reads the warehouse again.
      await expect.poll(() => legend.textContent()).toContain('never built 0');
      // held reads a file (its gate), which status cannot tell the age of: it always runs.
      expect(await legend.textContent()).toContain('current 1');
      expect(await legend.textContent()).toContain('always runs 1');
      expect(await page.getByTestId('held').count()).toBe(0);
      await screenshot(page, 'coverage-live');
    } finally {
      await live.close();
    }
  });
});
