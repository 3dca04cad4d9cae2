import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../src/diagnostics/diagnostics.js';
import { loadProject } from '../../src/project/load-project.js';
import { diskFs } from '../../src/project/project-fs.js';
import { ParsedYamlCache, yamlCacheDir } from '../../src/project/yaml-cache.js';
import { compileIn } from '../support/in-process.js';
import { removeProjects, tempProject } from '../support/projects.js';

/**
 * Parsed YAML kept in `.pipe/yaml/` of the project: a second load reads it instead of parsing,
 * and gives the same data and the same lines, so diagnostics point where they did; a damaged
 * entry is parsed again, a file with an error is never kept.
 */

afterAll(removeProjects);

const packsOf = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.pack'));

const PROJECT = {
  'pipe.yaml': 'name: shop\n',
  'models/orders.sql': 'select 1 as id\n',
  'models/orders.yaml': '# the orders\ntags: [x]\nchecks:\n  not_null: [id]\n  unique_rows: [id]\nmaterialized: tabel\n',
};

async function diagnostics(dir: string) {
  const r = await compileIn(dir, { date: '2024-01-02' });
  // Parsed YAML is written once the load is done.
  await new Promise((resolve) => setImmediate(resolve));
  // The model's config is refused: compile goes on without it, and says why.
  expect(r.code).toBe(0);
  return r.events.flatMap((e) => (e.type === 'diagnostic' ? [[e.diagnostic.message.replace(/; orders is left out of what this command builds$/, ''), e.diagnostic.location?.file, e.diagnostic.location?.line]] : []));
}

describe('the parsed-YAML cache', () => {
  it('gives the same diagnostics at the same lines from a kept parse, and parses a damaged entry again', async () => {
    const dir = tempProject(PROJECT);
    const cache = yamlCacheDir(dir);
    const first = await diagnostics(dir);
    expect(first).toContainEqual(["unknown check 'unique_rows'", 'models/orders.yaml', 5]);
    expect(first.find(([m]) => String(m).startsWith('materialized must be'))?.[2]).toBe(6);
    const [pack] = packsOf(cache);
    // Read from the pack: nothing parsed, so no new pack.
    expect(await diagnostics(dir)).toEqual(first);
    expect(packsOf(cache)).toEqual([pack]);
    // Every line moved by one in the kept entries, their hashes left: refused, parsed again.
    const text = readFileSync(join(cache, pack), 'utf8');
    writeFileSync(join(cache, pack), text.replace(/,(\d+)\]/g, (_, n: string) => `,${Number(n) + 1}]`));
    expect(await diagnostics(dir)).toEqual(first);
    // Parsed again and kept: the same pack (named by its content), whole again.
    expect(packsOf(cache)).toEqual([pack]);
    expect(readFileSync(join(cache, pack), 'utf8')).toBe(text);
  });

  it('keeps only files that parse without a problem into data JSON keeps', () => {
    const dir = join(tempProject(), 'yaml');
    const parse = (text: string) => {
      const cache = new ParsedYamlCache(dir);
      const found: Diagnostic[] = [];
      const yaml = cache.parse(text, 'models/a.yaml', found);
      cache.flush();
      return { yaml, found, stats: { ...cache.stats } };
    };
    const good = 'a: 1\nb:\n  - c: two\n';
    expect(parse(good).stats).toMatchObject({ hits: 0, misses: 1 });
    const again = parse(good);
    expect(again.stats).toMatchObject({ hits: 1, misses: 0 });
    expect(again.yaml?.data).toEqual({ a: 1, b: [{ c: 'two' }] });
    expect([again.yaml?.keyLine('b'), again.yaml?.pathLine(['b', '0', 'c'])]).toEqual([2, 3]);
    // Not a number JSON keeps, and a syntax error: parsed every time.
    for (const text of ['a: .nan\n', 'a: [1\n']) {
      parse(text);
      expect(parse(text).stats).toMatchObject({ hits: 0, misses: 0 });
    }
    // Said where its [ is opened and never closed.
    expect(parse('a: [1\n').found.map((d) => d.location?.line)).toEqual([1]);
    // An entry under a wrong hash is refused.
    const [pack] = packsOf(dir);
    const body = JSON.stringify({ data: { a: 2 }, lines: [], anchored: [] });
    const stored = readFileSync(join(dir, pack), 'utf8');
    const [header, entry] = stored.split('\n');
    const [key] = entry.split(' ');
    writeFileSync(join(dir, pack), `${header}\n${key} ${createHash('sha256').update('other').digest('hex')} ${body.length}\n${body}\n`);
    const refused = parse(good);
    expect(refused.yaml?.data).toEqual({ a: 1, b: [{ c: 'two' }] });
    expect(refused.stats).toMatchObject({ hits: 0, rejected: 1, misses: 1 });
    // Anchors and merges kept as parsed: the top-level anchor holders, and a merged key's line.
    const merging = 'x-base: &base\n  k: 1\nm:\n  <<: *base\n  j: 2\n';
    parse(merging);
    const kept = parse(merging);
    expect(kept.stats).toMatchObject({ hits: 1, misses: 0 });
    expect([kept.yaml?.data.m, [...(kept.yaml?.anchored ?? [])], kept.yaml?.pathLine(['m', 'k'])]).toEqual([{ k: 1, j: 2 }, ['x-base'], 2]);
  });

  it("parses each text of a load once: a model's YAML is asked for twice, and two files may say the same", () => {
    const same = 'tags: [daily]\nchecks:\n  not_null: [id]\n';
    const dir = tempProject({
      'pipe.yaml': 'name: shop\n',
      'models/a.sql': 'select 1 as id\n',
      'models/a.yaml': same,
      'models/b.sql': 'select 2 as id\n',
      'models/b.yaml': same,
      'models/c.sql': 'select 3 as id\n',
      'models/c.yaml': 'tags: [hourly]\n',
    });
    const load = () => {
      const cache = new ParsedYamlCache(yamlCacheDir(dir));
      const files = loadProject(dir, diskFs, cache);
      cache.flush();
      return { stats: { ...cache.stats }, yaml: files.models.map((m) => [m.name, m.yaml?.file, m.yaml?.data, m.yaml?.keyLine('checks')]) };
    };
    const first = load();
    expect(first.stats).toMatchObject({ hits: 0, misses: 3 });
    expect(first.yaml).toEqual([
      ['a', 'models/a.yaml', { tags: ['daily'], checks: { not_null: ['id'] } }, 2],
      ['b', 'models/b.yaml', { tags: ['daily'], checks: { not_null: ['id'] } }, 2],
      ['c', 'models/c.yaml', { tags: ['hourly'] }, undefined],
    ]);
    // Each file read from the cache once.
    const second = load();
    expect(second.stats).toMatchObject({ hits: 4, misses: 0 });
    expect(second.yaml).toEqual(first.yaml);
  });
});
