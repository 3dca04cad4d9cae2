import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../src/diagnostics/diagnostics.js';
import { parseYamlDocument, type YamlDialect } from '../../src/project/yaml-file.js';
import { parseYamlSubset } from '../../src/project/yaml-subset.js';

/**
 * The YAML subset read without the yaml package gives exactly what the yaml package gives, in
 * pipe's YAML 1.2 and dbt's 1.1, or nothing: compared on generated files (most in the subset,
 * many just outside it) and on every YAML file of the repository's project and tests.
 */

const ROOT = join(import.meta.dirname, '..', '..');

/** What the yaml package gives: the data and the lines, or undefined with its diagnostics. */
function byPackage(text: string, dialect: YamlDialect) {
  const diagnostics: Diagnostic[] = [];
  const lines = new Map<string, number>();
  const parsed = parseYamlDocument(text, 'f.yml', diagnostics, lines, dialect);
  return { parsed, diagnostics, lines };
}

/** Checks that the subset, where it reads `text`, reads it as the package does in both dialects; whether it read it. */
function agrees(text: string): boolean {
  const subset = parseYamlSubset(text);
  if (subset === undefined) return false;
  for (const dialect of ['pipe', 'pyyaml'] as const) {
    const full = byPackage(text, dialect);
    expect(full.diagnostics, `${dialect}:\n${text}`).toEqual([]);
    expect(full.parsed, `${dialect}:\n${text}`).toBeDefined();
    // Key order too: templates iterate mappings in file order.
    expect(JSON.stringify(subset.data), `${dialect}:\n${text}`).toBe(JSON.stringify(full.parsed!.data));
    expect(subset.data, `${dialect}:\n${text}`).toStrictEqual(full.parsed!.data);
    expect([...subset.lines].sort(), `${dialect}:\n${text}`).toEqual([...full.lines].sort());
  }
  return true;
}

/** A small deterministic generator (mulberry32). */
function random(seed: number) {
  let a = seed;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] };
}

const KEYS = ['name', 'description', 'tests', 'checks', 'not_null', 'unique', 'tags', '+schema', 'a.b', 'x-y', '_k', 'K2',
  // Words YAML 1.1 or 1.2 reads as booleans or null, a merge key and odd keys: left to the package.
  'yes', 'No', 'on', 'OFF', 'y', 'true', 'null', 'Null', '<<', '__proto__', '"quoted"', '1', 'with space', 'k :'];
const SCALARS = ['text', 'two words', 'synthetic model m_04342', 'One row per order, built one day at a time.', 'a:b', 'a#b', 'a #comment',
  "it's", 'say "hi"', '(x)', '/path/to', '$VAR', 'café', 'élan', '0', '7', '-5', '42 # answer', '123456789012345', '1234567890123456',
  "'single'", "'it''s'", "''", '""', '"double"', '"a # b"', '"with: colon"', "'# not a comment'", '"x" # c', "'x' # c", '~', 'null', 'true', 'false',
  // Outside the subset, or read differently by the two versions.
  '-0', '007', '017', '1.5', '1e3', '1_000', '12:30', '2024-01-01', '.inf', '.5', 'Null', 'NULL', 'True', 'TRUE', 'yes', 'No', 'on', 'off', 'y', 'n',
  '"a\\nb"', '"esc \\" q"', '{a: 1}', '|', '>', '&anchor x', '*alias', '!!str x', '@at', '`tick`', '%pct', '? q', ': c', '- x', 'a: b', 'ends:', '[a', 'x\ty', '\u00a0nbsp', 'a  ', "'open", '"open'];
const FLOWS = ['[]', '[a, b]', '[id, ds]', '[[id, ds]]', '[ a , b ]', '[a, [b, c], d]', "['x', \"y\"]", '[1, -2, 0]', '[a b, c]', "[it's]", '[a] # note', '["a #b", c] # n',
  '[a, ]', '[, a]', '[a, , b]', '[a: b]', '[a#b]', '[{a: 1}]', '[a, b', '[a, b] x', '[true, null, ~]', '[yes]', '[1.5]', '[a, "b\\"c"]'];

/** A generated file: nested mappings and sequences of keys and values drawn from the pools above. */
function generate(r: ReturnType<typeof random>, depth = 0, indent = 0): string[] {
  const out: string[] = [];
  const pad = ' '.repeat(indent);
  const n = 1 + Math.floor(r.next() * 4);
  for (let i = 0; i < n; i++) {
    if (r.next() < 0.08) out.push(r.pick(['', `${pad}# a comment`, '   ', '# at the margin', `${pad}  # deeper`]));
    const key = r.next() < 0.95 ? r.pick(KEYS.slice(0, 11)) : r.pick(KEYS);
    const shape = depth >= 3 ? r.next() * 0.6 : r.next();
    if (shape < 0.4) out.push(`${pad}${key}: ${r.next() < 0.9 ? r.pick(SCALARS.slice(0, 37)) : r.pick(SCALARS)}`);
    else if (shape < 0.55) out.push(`${pad}${key}: ${r.next() < 0.9 ? r.pick(FLOWS.slice(0, 12)) : r.pick(FLOWS)}`);
    else if (shape < 0.6) out.push(`${pad}${key}:${r.pick(['', ' ', ' # empty'])}`);
    else if (shape < 0.75) {
      out.push(`${pad}${key}:`);
      out.push(...generate(r, depth + 1, indent + r.pick([2, 2, 2, 4, 1])));
    } else {
      out.push(`${pad}${key}:`);
      // A block sequence, indented or at its key's indentation.
      const at = indent + r.pick([2, 2, 0, 4]);
      const items = 1 + Math.floor(r.next() * 3);
      for (let j = 0; j < items; j++) {
        const kind = r.next();
        if (kind < 0.4) out.push(`${' '.repeat(at)}- ${r.pick(SCALARS.slice(0, 37))}`);
        else if (kind < 0.5) out.push(`${' '.repeat(at)}- ${r.pick(FLOWS.slice(0, 12))}`);
        else if (kind < 0.55) out.push(`${' '.repeat(at)}-${r.pick(['', ' ', '  x', ' - x', ' # c'])}`);
        else {
          // A mapping begun on the item's line.
          const body = generate(r, depth + 1, at + 2);
          out.push(`${' '.repeat(at)}- ${body[0].trimStart()}`, ...body.slice(1));
        }
      }
    }
    if (r.next() < 0.03) out.push(r.pick([`${pad}  continued`, `${pad}---`, '...', `${pad}\tkey: tab`, `${pad}key: x\r`]));
  }
  return out;
}

describe('the YAML subset read without the yaml package', () => {
  it('reads 4,000 generated files as the yaml package does in both dialects, or leaves them to it', () => {
    const r = random(19);
    let read = 0;
    const total = 4000;
    for (let i = 0; i < total; i++) {
      const text = generate(r).join('\n') + (r.next() < 0.8 ? '\n' : '');
      if (agrees(text)) read++;
    }
    // Most are read by the subset, and many are left to the package: both paths are exercised.
    expect(read).toBeGreaterThan(total * 0.2);
    expect(read).toBeLessThan(total * 0.9);
  });

  it('reads the YAML of the repository as the yaml package does, and most of it', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        if (name === 'node_modules' || name.startsWith('.')) continue;
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.ya?ml$/.test(name)) files.push(path);
      }
    };
    for (const dir of ['models', 'seeds', 'pipelines', 'test']) walk(join(ROOT, dir));
    expect(files.length).toBeGreaterThan(20);
    const read = files.filter((f) => agrees(readFileSync(f, 'utf8')));
    expect(read.length).toBeGreaterThan(files.length / 2);
  });

  it('gives the lines of keys and items, nested in sequences and flow sequences', () => {
    const text = ['name: shop', 'models:', '  - name: orders', '    # its checks', '    tests: [unique, [a, b]]', '    columns:', '    - name: id', '      tests:', '        - not_null', 'empty:', ''].join('\n');
    const subset = parseYamlSubset(text)!;
    expect(subset.data).toEqual({ name: 'shop', models: [{ name: 'orders', tests: ['unique', ['a', 'b']], columns: [{ name: 'id', tests: ['not_null'] }] }], empty: null });
    const line = (...path: string[]) => subset.lines.get(path.join('\u0000'));
    expect(line('models', '0', 'tests', '1', '0')).toBe(5);
    expect(line('models', '0', 'columns', '0', 'tests', '0')).toBe(9);
    expect(line('empty')).toBe(10);
    expect(agrees(text)).toBe(true);
  });

  it('leaves to the yaml package what either version reads otherwise, and every error', () => {
    for (const text of ['a: yes', 'a: 017', 'a: 1:30', 'a: 2024-01-01', 'on: x', 'a: 1\na: 2', 'a: [x,\n  y]', 'a: b\n  c', 'a: |\n  x', 'a: &x 1\nb: *x', '- a', 'a: "x\\ty"', 'a:\tb', 'a: x\r\n'])
      expect(parseYamlSubset(text), text).toBeUndefined();
  });

  it('leaves lists nested deeper than the stack holds to the yaml package, whose error is said in words at its line', () => {
    const text = `name: shop\nvars:\n  deep: ${'['.repeat(5000)}${']'.repeat(5000)}\n`;
    expect(parseYamlSubset(text)).toBeUndefined();
    const { parsed, diagnostics } = byPackage(text, 'pipe');
    expect(parsed).toBeUndefined();
    expect(diagnostics.map((d) => [d.message, d.location?.line])).toEqual([['invalid YAML: lists or mappings nested too deep to be read (thousands inside one another)', 3]]);
    // Read with less of the stack left (a deep caller, a busy worker), the package may overflow more than once: said once all the same.
    const deeper = (calls: number): readonly Diagnostic[] => (calls > 0 ? deeper(calls - 1) : byPackage(text, 'pipe').diagnostics);
    for (let calls = 0; calls < 3000; calls += 150) expect(deeper(calls), `${calls} calls deep`).toHaveLength(1);
  });
});

describe("dbt's YAML, as PyYAML reads it", () => {
  it('gives a block scalar that ends the file with no line break after it without one, as PyYAML does', () => {
    const read = (text: string) => byPackage(text, 'pyyaml').parsed?.data;
    expect(read('a: >\n  folded text')).toEqual({ a: 'folded text' });
    expect(read('b:\n  - c: |\n      x\n      y')).toEqual({ b: [{ c: 'x\ny' }] });
    expect(read('a: >+\n  kept')).toEqual({ a: 'kept' });
    // With the line break there, it is kept; a scalar before the end keeps its own.
    expect(read('a: >\n  folded text\n')).toEqual({ a: 'folded text\n' });
    expect(read('a: >\n  one\nb: two')).toEqual({ a: 'one\n', b: 'two' });
  });
});
