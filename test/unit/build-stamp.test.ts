import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * scripts/build-stamp.mjs, which lets `prepare` skip a build whose dist/ is a fresh build of the
 * very sources there are now: run on a copy of itself in a folder laid out as the repository,
 * so that what it hashes is the test's.
 */

const root = mkdtempSync(join(tmpdir(), 'pipe-build-stamp-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(path: string, text: string): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
}

type Stamp = { inputsHash(): string; builtFromCurrentInputs(): boolean; writeStamp(inputs: string): void };

describe('the stamp of a fresh build', () => {
  it('stands while the inputs are as they were, and falls with any change, added file or build', async () => {
    mkdirSync(join(root, 'scripts'), { recursive: true });
    copyFileSync(new URL('../../scripts/build-stamp.mjs', import.meta.url), join(root, 'scripts/build-stamp.mjs'));
    write('src/a.ts', 'export const a = 1;\n');
    write('package.json', '{"name":"x"}\n');
    write('dist/cli/main.js', '// built\n');
    const stamp = (await import(pathToFileURL(join(root, 'scripts/build-stamp.mjs')).href)) as Stamp;

    expect(stamp.builtFromCurrentInputs()).toBe(false);
    stamp.writeStamp(stamp.inputsHash());
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

    // A build clears it first: what it leaves is no fresh build, whatever its inputs.
    const cleared = spawnSync(process.execPath, [join(root, 'scripts/build-stamp.mjs'), 'clear'], { encoding: 'utf8' });
    expect(cleared.status, cleared.stderr).toBe(0);
    expect(existsSync(join(root, 'dist/.built-from'))).toBe(false);
    expect(stamp.builtFromCurrentInputs()).toBe(false);

    // No dist/ at all: nothing to skip, stamp or not.
    stamp.writeStamp(stamp.inputsHash());
    rmSync(join(root, 'dist/cli'), { recursive: true });
    expect(stamp.builtFromCurrentInputs()).toBe(false);
  });
});
