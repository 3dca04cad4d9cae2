import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StampedFs } from '../../src/project/project-fs.js';

/** pipe ui's files: what changed is read again at the next request, what did not is kept. */

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function folder(): string {
  const d = mkdtempSync(join(tmpdir(), 'pipe-stamped-'));
  dirs.push(d);
  return d;
}

describe('StampedFs', () => {
  it('keeps what was derived from a file until the file changes, even to the same size', () => {
    const dir = folder();
    const file = join(dir, 'a.sql');
    writeFileSync(file, 'select 1');
    const fs = new StampedFs();
    let computed = 0;
    const parse = () => fs.derive(file, 'parsed', () => `${++computed}:${fs.read(file)}`);
    expect(parse()).toBe('1:select 1');
    expect(parse()).toBe('1:select 1');
    writeFileSync(file, 'select 2');
    // Same size: a later modification time is what tells.
    utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    expect(fs.read(file)).toBe('select 2');
    expect(parse()).toBe('2:select 2');
  });

  it('lists a folder afresh each time: a new file is there, a removed one gone', () => {
    const dir = folder();
    writeFileSync(join(dir, 'a.sql'), 'select 1');
    const fs = new StampedFs();
    expect(fs.list(dir, true)).toEqual([join(dir, 'a.sql')]);
    writeFileSync(join(dir, 'b.sql'), 'select 2');
    rmSync(join(dir, 'a.sql'));
    expect(fs.list(dir, true)).toEqual([join(dir, 'b.sql')]);
    expect(fs.exists(join(dir, 'a.sql'))).toBe(false);
  });
});
