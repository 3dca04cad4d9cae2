import { chmodSync, chownSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyExample, explain, pipe, removeTempDirs, type SpawnOptions } from './helpers.js';

afterAll(removeTempDirs);

/**
 * A project file or folder pipe may not read, met by a real process as another user meets it:
 * run by root, the test runs pipe as nobody (root reads every file); run by another user, pipe
 * runs as that user, and the test takes its own permission away.
 */

const NOBODY = { uid: 65534, gid: 65534 };
const asRoot = process.getuid?.() === 0;
const user: SpawnOptions['user'] = asRoot ? NOBODY : undefined;

/** A copy of the example the child's user may read and write, but for `locked` (paths in it), which it may not read. */
function projectWithLocked(...locked: string[]): string {
  const dir = copyExample();
  const open = (path: string) => {
    if (asRoot) chownSync(path, NOBODY.uid, NOBODY.gid);
    if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) open(join(path, entry));
  };
  open(dir);
  chmodSync(dir, 0o777);
  for (const path of locked) {
    const abs = join(dir, path);
    if (asRoot) chownSync(abs, 0, 0);
    chmodSync(abs, statSync(abs).isDirectory() ? 0o700 : 0o600);
  }
  return dir;
}

describe('a project file or folder pipe may not read', () => {
  it('a seed: an error naming it, exit 2, nothing run; history, which reads no seed, still answers', () => {
    const dir = projectWithLocked('seeds/raw_orders.csv');
    const r = pipe(['run', '--date', '2024-01-02', '--project', dir], { user });
    expect(r.code, explain(r)).toBe(2);
    expect(r.stderr).toMatch(/seeds\/raw_orders\.csv: error: cannot read seeds\/raw_orders\.csv: EACCES/);
    expect(r.stdout + r.stderr).not.toContain('internal error');
    const history = pipe(['history', '--project', dir], { user });
    expect(history.code, explain(history)).toBe(0);
  });

  it('a folder of models: an error naming it, exit 2', () => {
    const dir = projectWithLocked('models/staging');
    mkdirSync(join(dir, 'models', 'more'));
    const r = pipe(['run', '--date', '2024-01-02', '--project', dir], { user });
    expect(r.code, explain(r)).toBe(2);
    expect(r.stderr).toContain(`cannot read the folder ${join(dir, 'models')}`);
    expect(r.stdout + r.stderr).not.toContain('internal error');
  });
});
