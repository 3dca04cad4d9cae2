#!/usr/bin/env node
/**
 * The stamp of a whole, fresh build: `dist/.built-from` holds the hash of every input of
 * `npm run build` (src/, scripts/, the TypeScript config, package.json and the lockfile, which
 * fixes the libraries the bundle takes in). prepare.mjs writes it after it built dist/ from
 * nothing, and skips building when it still matches; `npm run build` clears it first, since a
 * build over an earlier dist/ may leave files of sources deleted since.
 *
 * That is what `npx pipe` in a clone meets: npm installs the folder it runs in as a link, and
 * runs its `prepare` again right after `npm install` did, which rebuilt dist/ from nothing (about
 * 15 s of CPU on a 2-core machine before the command started). Any change to an input, or a
 * build since, makes the next `prepare` build afresh as before.
 *
 *   node scripts/build-stamp.mjs clear   # at the start of every build
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const STAMP = join(ROOT, 'dist', '.built-from');
const FOLDERS = ['src', 'scripts'];
const FILES = ['package.json', 'package-lock.json', 'tsconfig.json'];

/** Every file under `dir`, sorted by path. */
function filesUnder(dir) {
  const out = [];
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) out.push(path);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

/** The hash of every input of the build: each file's path and content, in a fixed order. */
export function inputsHash() {
  const hash = createHash('sha256');
  const files = [...FOLDERS.flatMap((f) => filesUnder(join(ROOT, f))), ...FILES.map((f) => join(ROOT, f)).filter((f) => existsSync(f))];
  for (const file of files) {
    const bytes = readFileSync(file);
    hash.update(`${relative(ROOT, file)}\0${bytes.length}\0`).update(bytes);
  }
  return hash.digest('hex');
}

/** Whether dist/ holds a whole build of the inputs as they are now. */
export function builtFromCurrentInputs() {
  try {
    return existsSync(join(ROOT, 'dist', 'cli', 'main.js')) && readFileSync(STAMP, 'utf8') === inputsHash();
  } catch {
    return false;
  }
}

/** Stamps dist/ as a fresh build of the inputs whose hash is `inputs` (taken before the build began). */
export function writeStamp(inputs) {
  writeFileSync(STAMP, inputs);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv[2] !== 'clear') {
    process.stderr.write('usage: node scripts/build-stamp.mjs clear\n');
    process.exit(2);
  }
  rmSync(STAMP, { force: true });
}
