import { spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';

/**
 * The recording of names (name-reads.ts) wraps Nunjucks' lookup as its module loads. Replacing
 * it instead lost Jinja's True, False and None (given as names by the Jinja layer syntax.ts
 * installs) in any process that installed that layer first: a test file that did made later
 * files in its worker fail. Which module loads first is decided per process, so each order is
 * tried in a process of its own, on the built modules.
 */
function renderIn(order: readonly string[]): { readonly output: string; readonly names: string[] } {
  const url = (path: string) => JSON.stringify(new URL(`../../dist/analyze/jinja/${path}`, import.meta.url).href);
  const load: Record<string, string> = {
    layer: `const { installJinjaSyntax } = await import(${url('syntax.js')}); installJinjaSyntax();`,
    recording: `const { recordingNames } = await import(${url('name-reads.js')}); globalThis.recordingNames = recordingNames;`,
  };
  const script = `${order.map((step) => load[step]).join('\n')}
const { default: nunjucks } = await import('nunjucks');
const env = new nunjucks.Environment([], { throwOnUndefined: true });
env.addGlobal('g', 'G');
const { value, names } = globalThis.recordingNames(() => env.renderString("{{ 1 if True else 2 }} {{ [True, False, None] }} {% set x = 3 %}{{ x }} {{ g }}", { ds: 'd' }));
console.log(JSON.stringify({ output: value, names: [...names].sort() }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: new URL('../..', import.meta.url).pathname });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { output: string; names: string[] };
}

it("keeps Jinja's True, False and None, and records the names a render reads, whichever of the two loads first", () => {
  for (const order of [
    ['recording', 'layer'],
    ['layer', 'recording'],
  ]) {
    // The names looked up beyond the template's own variables: the constants and the global; not x.
    expect(renderIn(order), order.join(' then ')).toEqual({ output: '1 [True, False, None] 3 G', names: ['False', 'None', 'True', 'g'] });
  }
});
