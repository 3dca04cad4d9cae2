import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PIPE_BIN, removeTempDirs, tempDir } from './helpers.js';

/**
 * The command line is compiled from V8's code cache kept in the system's temporary folder
 * (src/cli/load-cli.ts): written by a first command, used by the next, and never trusted: a
 * damaged entry is compiled anew and written again, and a folder others could write is not used.
 */

afterAll(removeTempDirs);

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** `pipe --version` with `tmp` as the temporary folder: its output and status. */
function version(tmp: string, env: Record<string, string> = {}) {
  const child = spawnSync(process.execPath, [PIPE_BIN, '--version'], { encoding: 'utf8', env: { ...process.env, TMPDIR: tmp, NODE_DISABLE_COMPILE_CACHE: '', ...env } });
  return { code: child.status, out: child.stdout.trim(), err: child.stderr };
}

const cacheDir = (tmp: string) => join(tmp, `pipe-code-cache${process.getuid ? `-${process.getuid()}` : ''}`);
const entries = (tmp: string) => readdirSync(cacheDir(tmp)).filter((n) => n.endsWith('.bin'));

describe("the command line's code cache", () => {
  it('is written by a first command, kept by the next, and a damaged entry is replaced, the command unharmed', () => {
    const tmp = tempDir();
    expect(version(tmp)).toEqual({ code: 0, out: VERSION, err: '' });
    const [entry] = entries(tmp);
    expect(entries(tmp)).toHaveLength(1);
    expect(statSync(cacheDir(tmp)).mode & 0o777).toBe(0o700);
    const file = join(cacheDir(tmp), entry);
    const written = statSync(file).mtimeMs;
    const bytes = readFileSync(file);
    expect(bytes.length).toBeGreaterThan(1000);

    // Accepted by V8: not written again.
    expect(version(tmp)).toEqual({ code: 0, out: VERSION, err: '' });
    expect(statSync(file).mtimeMs).toBe(written);

    writeFileSync(file, Buffer.alloc(bytes.length, 7));
    expect(version(tmp)).toEqual({ code: 0, out: VERSION, err: '' });
    expect(readFileSync(file).equals(Buffer.alloc(bytes.length, 7))).toBe(false);
    expect(entries(tmp)).toEqual([entry]);
  });

  it('is not used from a folder others can write, nor with NODE_DISABLE_COMPILE_CACHE=1', () => {
    const shared = tempDir();
    mkdirSync(cacheDir(shared));
    chmodSync(cacheDir(shared), 0o777);
    expect(version(shared)).toEqual({ code: 0, out: VERSION, err: '' });
    expect(entries(shared)).toEqual([]);

    const off = tempDir();
    expect(version(off, { NODE_DISABLE_COMPILE_CACHE: '1' })).toEqual({ code: 0, out: VERSION, err: '' });
    expect(readdirSync(off)).toEqual([]);
  });
});
