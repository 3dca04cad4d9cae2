import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * scripts/build-stamp.mjs, which lets `prepare` skip a build whose dist/ is a clean build of the
 * very sources there are now: run on a copy of itself in a folder laid out as the repository,
 * so that what it hashes is the test's.
 */

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

type Inputs = { hash: string; files: string[] };
type Stamp = { currentInputs(): Inputs; builtFromCurrentInputs(): boolean; writeStamp(inputs: Inputs): void };

/** A repository of one source, built and stamped clean; `step` runs the script as `npm run build` does. */
async function stampedRepository() {
  const root = mkdtempSync(join(tmpdir(), 'pipe-build-stamp-'));
  roots.push(root);
  const write = (path: string, text: string) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  mkdirSync(join(root, 'scripts'), { recursive: true });
  copyFileSync(new URL('../../scripts/build-stamp.mjs', import.meta.url), join(root, 'scripts/build-stamp.mjs'));
  write('src/a.ts', 'export const a = 1;\n');
  write('package.json', '{"name":"x"}\n');
  write('dist/cli/main.js', '// built\n');
  const stamp = (await import(pathToFileURL(join(root, 'scripts/build-stamp.mjs')).href)) as Stamp;
  expect(stamp.builtFromCurrentInputs()).toBe(false);
  stamp.writeStamp(stamp.currentInputs());
  const step = (name: 'begin' | 'end') => {
    const r = spawnSync(process.execPath, [join(root, 'scripts/build-stamp.mjs'), name], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  };
  return { root, write, stamp, step };
}

describe('the stamp of a clean build', () => {
  it('stands while the inputs are as they were, and falls with any change or added file', async () => {
    const { root, write, stamp } = await stampedRepository();
    expect(stamp.builtFromCurrentInputs()).toBe(true);
    write('src/a.ts', 'export const a = 2;\n');
    expect(stamp.builtFromCurrentInputs()).toBe(false);
    write('src/a.ts', 'export const a = 1;\n');
    expect(stamp.builtFromCurrentInputs()).toBe(true);
    write('src/b.ts', '');
    expect(stamp.builtFromCurrentInputs()).toBe(false);
    unlinkSync(join(root, 'src/b.ts'));
    write('package-lock.json', '{}\n');
    expect(stamp.builtFromCurrentInputs()).toBe(false);
    unlinkSync(join(root, 'package-lock.json'));
    expect(stamp.builtFromCurrentInputs()).toBe(true);
    // No dist/ at all: nothing to skip, stamp or not.
    rmSync(join(root, 'dist/cli'), { recursive: true });
    expect(stamp.builtFromCurrentInputs()).toBe(false);
  });

  it('survives a build over dist/ that added or changed sources, and is gone once one built since is deleted', async () => {
    const { root, write, stamp, step } = await stampedRepository();
    // A build after an edit and a new file: its outputs are all of sources still there.
    write('src/a.ts', 'export const a = 3;\n');
    write('src/b.ts', 'export const b = 1;\n');
    step('begin');
    expect(stamp.builtFromCurrentInputs()).toBe(false);
    step('end');
    expect(stamp.builtFromCurrentInputs()).toBe(true);
    // b.ts deleted: dist/ still holds what was built of it. The next build gives no stamp back,
    // and neither does one after it, though b.ts came back and went again.
    unlinkSync(join(root, 'src/b.ts'));
    step('begin');
    step('end');
    expect(stamp.builtFromCurrentInputs()).toBe(false);
    step('begin');
    step('end');
    expect(stamp.builtFromCurrentInputs()).toBe(false);
  });

  it('is gone after a build cut short, and when a source changed while it built', async () => {
    const { stamp, step } = await stampedRepository();
    step('begin');
    // No end: the build failed, and dist/ may be half written.
    expect(stamp.builtFromCurrentInputs()).toBe(false);
    // Nor does a whole build over it bring the stamp back: only a build from nothing does.
    step('begin');
    step('end');
    expect(stamp.builtFromCurrentInputs()).toBe(false);

    const edited = await stampedRepository();
    edited.step('begin');
    edited.write('src/a.ts', 'export const a = 9;\n');
    edited.step('end');
    // Stamped with the inputs as the build began: the edit made during it is not taken as built.
    expect(edited.stamp.builtFromCurrentInputs()).toBe(false);
  });
});
