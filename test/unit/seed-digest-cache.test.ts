import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SeedDigestCache, type SeedDigest } from '../../src/project/seed-digest-cache.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function setUp() {
  const dir = mkdtempSync(join(tmpdir(), 'pipe-seed-digest-'));
  dirs.push(dir);
  const file = join(dir, 'orders.csv');
  const store = join(dir, '.pipe', 'seeds');
  /** A store as a process opens it, `ms` after now. */
  const open = (ms: number) => new SeedDigestCache(store, () => Date.now() + ms);
  let made = 0;
  /** Digests the file as loading does, counting how often the file is read. */
  const digestOf = (cache: SeedDigestCache) =>
    cache.digest(file, (): SeedDigest => {
      made++;
      const text = readFileSync(file);
      return { hash: `h:${text.toString('utf8')}`, head: text.subarray(0, 3) };
    });
  return { file, open, digestOf, made: () => made };
}

describe('seed digests kept between processes', () => {
  it('a file left unchanged is read once; a later process takes its digest from the store', () => {
    const { file, open, digestOf, made } = setUp();
    writeFileSync(file, 'id\n1\n');
    const first = open(10_000);
    const a = digestOf(first);
    first.flush();
    const b = digestOf(open(10_000));
    expect(made()).toBe(1);
    expect(b.hash).toBe(a.hash);
    expect(Buffer.isBuffer(b.head) && b.head.equals(Buffer.from('id\n'))).toBe(true);
  });

  it('a file written again, to the same size, is read again', () => {
    const { file, open, digestOf, made } = setUp();
    writeFileSync(file, 'id\n1\n');
    const first = open(10_000);
    digestOf(first);
    first.flush();
    writeFileSync(file, 'id\n2\n');
    const again = digestOf(open(10_000));
    expect(made()).toBe(2);
    expect(again.hash).toBe('h:id\n2\n');
  });

  it('a file changed moments ago is not kept: a write in the same clock tick could leave its stamp as it was', () => {
    const { file, open, digestOf, made } = setUp();
    writeFileSync(file, 'id\n1\n');
    const first = open(0);
    digestOf(first);
    first.flush();
    digestOf(open(0));
    expect(made()).toBe(2);
  });
});
