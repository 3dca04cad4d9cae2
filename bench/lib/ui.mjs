/**
 * The lineage page of a large project in headless chromium (driven by playwright-core): as
 * `pipe ui` serves it (its server started in this process on a free port) and as `pipe docs
 * generate` writes it (opened from disk). Timed inside the page, from its own clock:
 *
 * - open: from navigation start to the first node of the lineage graph in the DOM, and to the
 *   arrival of the last file or answer the page waited for (the graph's data: the rest is the page's);
 * - focus: from the click on a search hit to its node drawn as the focus, for several nodes;
 * - the page's main thread meanwhile: the longest task (PerformanceObserver 'longtask', tasks
 *   over 50 ms) and the longest gap between animation frames while a focus is drawn.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { median } from './proc.mjs';

export const CHROMIUM = process.env.PIPE_CHROMIUM ?? '/usr/bin/chromium';

/** Why the case cannot run here, or undefined. */
export async function uiUnavailable() {
  if (!existsSync(CHROMIUM)) return `no chromium at ${CHROMIUM} (apt-get install chromium, or PIPE_CHROMIUM names one)`;
  try {
    await import('playwright-core');
  } catch {
    return 'playwright-core is not installed (npm install)';
  }
  return undefined;
}

// Runs in the page before its own scripts: records long tasks and when the graph is first drawn.
const PROBE = () => {
  const w = window;
  w.__longtasks = [];
  new PerformanceObserver((list) => w.__longtasks.push(...list.getEntries().map((e) => ({ start: e.startTime, ms: e.duration })))).observe({ type: 'longtask', buffered: true });
  const seen = () => {
    if (w.__drawnAt === undefined && document.querySelector('[data-testid="lineage"] g.node')) w.__drawnAt = performance.now();
  };
  new MutationObserver(seen).observe(document, { childList: true, subtree: true });
};

/** Arms the page to time the next click until `name` is drawn as the focus, with the frame gaps meanwhile. */
function armFocus(name) {
  const w = window;
  w.__focus = undefined;
  const selector = `[data-testid="lineage"] g.node.focus[data-node="${CSS.escape(name)}"]`;
  let clickAt;
  let last = performance.now();
  let gap = 0;
  let frames = true;
  const frame = (t) => {
    gap = Math.max(gap, t - last);
    last = t;
    if (frames) requestAnimationFrame(frame);
  };
  requestAnimationFrame((t) => {
    last = t;
    requestAnimationFrame(frame);
  });
  document.addEventListener('click', () => (clickAt = performance.now()), { capture: true, once: true });
  const observer = new MutationObserver(() => {
    if (clickAt === undefined || !document.querySelector(selector)) return;
    const doneAt = performance.now();
    observer.disconnect();
    // One more frame: the gap that ends with the frame that shows the focus counts.
    requestAnimationFrame((t) => {
      gap = Math.max(gap, t - last);
      frames = false;
      const tasks = w.__longtasks.filter((l) => l.start + l.ms >= clickAt);
      w.__focus = { ms: doneAt - clickAt, longestTaskMs: Math.max(0, ...tasks.map((l) => l.ms)), longestFrameGapMs: gap, nodes: document.querySelectorAll('[data-testid="lineage"] g.node').length };
    });
  });
  observer.observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['class'] });
}

/** Opens `url` (the lineage page) in a fresh context `reps` times, then focuses each of `focusOn` from the last one. */
async function measurePage(browser, url, { reps, focusOn, timeoutMs }) {
  const opens = [];
  let page;
  for (let i = 0; i < reps; i++) {
    await page?.context().close();
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    page = await context.newPage();
    await page.addInitScript(PROBE);
    const started = performance.now();
    await page.goto(url);
    await page.waitForFunction(() => window.__drawnAt !== undefined, undefined, { timeout: timeoutMs, polling: 50 });
    const wallMs = performance.now() - started;
    const o = await page.evaluate(() => ({
      drawnMs: window.__drawnAt,
      // The page waits for its files and the graph's data: the last of them to arrive.
      // (none from disk: a file:// page's loads are not timed)
      loadedMs: ((ends) => (ends.length > 0 ? Math.max(...ends) : undefined))(performance.getEntriesByType('resource').map((e) => e.responseEnd).filter((t) => t > 0 && t <= window.__drawnAt)),
      longestTaskMs: Math.max(0, ...window.__longtasks.filter((l) => l.start < window.__drawnAt).map((l) => l.ms)), nodes: document.querySelectorAll('[data-testid="lineage"] g.node').length }));
    opens.push({ ...o, wallMs });
  }
  const focuses = [];
  for (const name of focusOn) {
    await page.getByTestId('search').fill(name);
    const hit = page.getByTestId('hits').getByRole('button', { name, exact: true });
    await hit.waitFor({ timeout: timeoutMs });
    await page.evaluate(armFocus, name);
    await hit.click();
    await page.waitForFunction(() => window.__focus !== undefined, undefined, { timeout: timeoutMs, polling: 50 });
    focuses.push({ name, ...(await page.evaluate(() => window.__focus)) });
  }
  await page.context().close();
  return {
    // The first load: pipe ui's server analyzes the project for the first time.
    firstOpenMs: opens[0].drawnMs,
    openMs: median(opens.map((o) => o.drawnMs)),
    openWallMs: median(opens.map((o) => o.wallMs)),
    loadedMs: median(opens.map((o) => o.loadedMs)),
    openLongestTaskMs: Math.max(...opens.map((o) => o.longestTaskMs)),
    nodesDrawn: opens[0].nodes,
    opens,
    focusMs: median(focuses.map((f) => f.ms)),
    focusLongestTaskMs: Math.max(...focuses.map((f) => f.longestTaskMs)),
    focusLongestFrameGapMs: Math.max(...focuses.map((f) => f.longestFrameGapMs)),
    focuses,
  };
}

/**
 * Both ways of opening the lineage of `project` (`models` names, a few focused in turn). `root`
 * is the repo, whose dist/ has the built server and page.
 */
export async function benchLineagePage({ root, project, models, focusOn, reps, log }) {
  const { chromium } = await import('playwright-core');
  const { startUiServer } = await import(pathToFileURL(join(root, 'dist/ui/server/server.js')).href);
  const { docsGenerate } = await import(pathToFileURL(join(root, 'dist/ui/docs/docs-generate.js')).href);
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  const timeoutMs = 120_000;
  try {
    const server = await startUiServer({ project, port: 0 });
    let ui;
    try {
      ui = await measurePage(browser, `${server.url}#/lineage`, { reps, focusOn, timeoutMs });
    } finally {
      await server.close();
    }
    log(`  pipe ui: lineage drawn ${ui.openMs.toFixed(0)} ms after navigation · focus ${ui.focusMs.toFixed(0)} ms · longest task ${ui.focusLongestTaskMs.toFixed(0)} ms`);
    const started = performance.now();
    const { out } = await docsGenerate({ project, out: join('target', 'bench-docs') });
    const generateMs = performance.now() - started;
    const docs = await measurePage(browser, `${pathToFileURL(out).href}/index.html#/lineage`, { reps, focusOn, timeoutMs });
    log(`  pipe docs generate: ${generateMs.toFixed(0)} ms · lineage drawn ${docs.openMs.toFixed(0)} ms after navigation · focus ${docs.focusMs.toFixed(0)} ms`);
    return { models, reps, ui, docs: { ...docs, generateMs } };
  } finally {
    await browser.close();
  }
}
