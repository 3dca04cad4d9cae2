import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The architecture as the folders show it, held by a test: the low layers (running tasks,
 * talking to the warehouse, printing, the shared vocabulary) never reach up into analysis,
 * commands or the CLI, nor load the template engine, YAML or the file watcher; and no two
 * folders import each other, directly or around a loop.
 */

const SRC = resolve(import.meta.dirname, '../../src');
const LOW = ['execute', 'distributed', 'warehouse', 'logging', 'events', 'graph', 'dates', 'diagnostics', 'sql', 'secrets'];
const HIGH = ['analyze', 'project', 'commands', 'cli', 'watch', 'schedule', 'ui'];
const HEAVY = ['nunjucks', 'yaml', 'chokidar', 'commander'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Folder-level imports: `from` folder → imported folder or package, with the files that do it. */
function imports(): { from: string; to: string; file: string }[] {
  const out: { from: string; to: string; file: string }[] = [];
  for (const file of sources(SRC)) {
    const from = relative(SRC, file).split('/')[0];
    for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm)) {
      const spec = m[1] ?? m[2];
      const to = spec.startsWith('.') ? relative(SRC, resolve(dirname(file), spec)).split('/')[0] : spec.split('/')[0];
      if (to !== from && !to.endsWith('.js')) out.push({ from, to, file: relative(SRC, file) });
    }
  }
  return out;
}

describe('layering', () => {
  it('keeps the low layers from reaching up or loading the heavy libraries', () => {
    const wrong = imports().filter((e) => LOW.includes(e.from) && (HIGH.includes(e.to) || HEAVY.includes(e.to)));
    expect(wrong.map((e) => `${e.file} imports ${e.to}`)).toEqual([]);
  });

  it('has no import cycle between folders', () => {
    const folders = new Set(readdirSync(SRC).filter((f) => statSync(join(SRC, f)).isDirectory()));
    const next = new Map<string, Set<string>>();
    for (const e of imports()) if (folders.has(e.to)) next.set(e.from, (next.get(e.from) ?? new Set()).add(e.to));
    const cycles: string[] = [];
    const visit = (start: string, at: string, path: string[]) => {
      for (const n of next.get(at) ?? []) {
        if (n === start) cycles.push([...path, n].join(' → '));
        else if (!path.includes(n) && n > start) visit(start, n, [...path, n]);
      }
    };
    for (const f of folders) visit(f, f, [f]);
    expect(cycles).toEqual([]);
  });
});
