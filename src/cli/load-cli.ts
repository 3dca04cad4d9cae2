import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import * as signals from './signals.js';

/**
 * Loads pipe's command line from its bundle (dist/cli/cli.cjs, see scripts/build-cli.mjs)
 * with V8's code cache. Compiling the bundle's three megabytes is most of what a command
 * costs before it does anything (about 70 ms of 110 on a 2-core machine): the code V8
 * compiled is kept after a command and given back to V8 at the next one, as Node 22's own
 * compile cache does for ES modules, on every Node version pipe supports.
 *
 * The cache is a speed-up only, never trusted: V8 checks each entry against the source and its
 * own version and flags and rejects one that does not match (a corrupt file included), and
 * the bundle is then compiled as without a cache and the entry written again. Entries live in a
 * folder of the user's own in the system's temporary folder, readable by nobody else; one
 * that someone else could write is not used. NODE_DISABLE_COMPILE_CACHE=1 (Node's own switch)
 * turns it off.
 */

type Cli = { runCli(argv: readonly string[]): Promise<number> };

/** How many entries are kept: one per pipe install and Node version a user runs, the oldest dropped first. */
const KEPT_ENTRIES = 8;

export function loadCli(): Cli {
  const file = fileURLToPath(new URL('./cli.cjs', import.meta.url));
  const source = readFileSync(file, 'utf8');
  const entry = process.env.NODE_DISABLE_COMPILE_CACHE === '1' ? undefined : cacheEntry(file);
  const cachedData = entry === undefined ? undefined : readEntry(entry);
  // Node's own wrapper of a CommonJS module: the bundle sees the same five names.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, cachedData });
  const module = { exports: {} as Cli };
  const required = createRequire(file);
  // The signal handling main.js installed before the bundle loaded: one module, one set of listeners.
  const require = Object.assign((id: string): unknown => (id === './signals.js' ? signals : required(id)), required);
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, require, module, file, fileURLToPath(new URL('.', import.meta.url)));
  // Written as the process ends: the functions the command ran are compiled by then, and kept too.
  if (entry !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) process.once('exit', () => writeEntry(entry, () => script.createCachedData()));
  return module.exports;
}

/** The cache entry of this bundle for this Node (and so this V8), in a folder only this user can read and write; undefined when there is none to use. */
function cacheEntry(bundle: string): { dir: string; file: string } | undefined {
  try {
    const uid = process.getuid?.();
    const dir = join(tmpdir(), `pipe-code-cache${uid === undefined ? '' : `-${uid}`}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const folder = statSync(dir);
    if (!folder.isDirectory() || (uid !== undefined && folder.uid !== uid) || (folder.mode & 0o077) !== 0) return undefined;
    const b = statSync(bundle);
    const key = createHash('sha256')
      .update([process.version, process.versions.v8, process.arch, bundle, b.size, b.mtimeMs, b.ino].join('\0'))
      .digest('hex')
      .slice(0, 32);
    return { dir, file: join(dir, `${key}.bin`) };
  } catch {
    return undefined;
  }
}

function readEntry(entry: { file: string }): Buffer | undefined {
  try {
    return readFileSync(entry.file);
  } catch {
    return undefined;
  }
}

/** Written whole or not at all (another pipe may be reading it), and the oldest entries beyond KEPT_ENTRIES removed. */
function writeEntry(entry: { dir: string; file: string }, data: () => Buffer): void {
  const partial = `${entry.file}.${process.pid}.tmp`;
  try {
    writeFileSync(partial, data(), { mode: 0o600 });
    renameSync(partial, entry.file);
    const others = readdirSync(entry.dir)
      .filter((n) => n.endsWith('.bin'))
      .map((n) => ({ path: join(entry.dir, n), at: statSync(join(entry.dir, n)).mtimeMs }))
      .sort((a, b) => b.at - a.at);
    for (const old of others.slice(KEPT_ENTRIES)) rmSync(old.path, { force: true });
  } catch {
    rmSync(partial, { force: true });
  }
}
