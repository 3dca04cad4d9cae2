#!/usr/bin/env node
/**
 * The stamp of a clean build: `dist/.built-from` holds the hash of every input of `npm run
 * build` (src/, scripts/, the TypeScript config, package.json and the lockfile, which fixes the
 * libraries the bundle takes in) and the list of its files. prepare.mjs writes it after it built
 * dist/ from nothing, and skips building when it still matches the inputs.
 *
 * That is what `npx pipe` in a clone meets: npm installs the folder it runs in as a link, and
 * runs its `prepare` again right after `npm install` did, which rebuilt dist/ from nothing (about
 * 15 s of CPU on a 2-core machine before the command started).
 *
 * `npm run build` builds over dist/ as it is, which keeps the output of a source deleted since:
 * it takes the stamp away as it starts (`begin`) and gives it back at its end (`end`) only when
 * every file built since the clean build is still there, so that dist/ holds nothing stale. A
 * build cut short leaves no stamp, and the next `prepare` builds from nothing.
 *
 *   node scripts/build-stamp.mjs begin   # at the start of every build
 *   node scripts/build-stamp.mjs end     # at its end
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const STAMP = join(ROOT, 'dist', '.built-from');
/** Between `begin` and `end`: the inputs' hash as the build started, and every file built since the clean build. */
const BUILDING = join(ROOT, 'dist', '.building');
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

/** The build's inputs as they are now: the hash of each file's path and content, in a fixed order, and the files. */
export function currentInputs() {
  const hash = createHash('sha256');
  const files = [...FOLDERS.flatMap((f) => filesUnder(join(ROOT, f))), ...FILES.map((f) => join(ROOT, f)).filter((f) => existsSync(f))].map((f) => relative(ROOT, f));
  for (const file of files) {
    const bytes = readFileSync(join(ROOT, file));
    hash.update(`${file}\0${bytes.length}\0`).update(bytes);
  }
  return { hash: hash.digest('hex'), files };
}

function readJson(path) {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8'));
    return typeof v?.hash === 'string' && Array.isArray(v.files) && v.files.every((f) => typeof f === 'string') ? v : undefined;
  } catch {
    return undefined;
  }
}

function writeJson(path, value) {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(value));
  renameSync(temporary, path);
}

/** Whether dist/ holds a clean build of the inputs as they are now. */
export function builtFromCurrentInputs() {
  const stamp = readJson(STAMP);
  return stamp !== undefined && existsSync(join(ROOT, 'dist', 'cli', 'main.js')) && stamp.hash === currentInputs().hash;
}

/** Stamps dist/ as a clean build of `inputs` (as currentInputs() gave them before the build began). */
export function writeStamp(inputs) {
  writeJson(STAMP, inputs);
}

/** A build starts over dist/: the stamp goes, and what it listed is remembered with the inputs as they are. */
export function beginBuild() {
  const stamp = readJson(STAMP);
  rmSync(STAMP, { force: true });
  rmSync(BUILDING, { force: true });
  if (stamp === undefined) return;
  const now = currentInputs();
  writeJson(BUILDING, { hash: now.hash, files: [...new Set([...stamp.files, ...now.files])].sort() });
}

/** The build ended whole: the stamp comes back when every file built since the clean build is still an input. */
export function endBuild() {
  const building = readJson(BUILDING);
  rmSync(BUILDING, { force: true });
  if (building === undefined) return;
  const now = new Set(currentInputs().files);
  if (building.files.every((f) => now.has(f))) writeStamp({ hash: building.hash, files: building.files });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const step = { begin: beginBuild, end: endBuild }[process.argv[2]];
  if (!step) {
    process.stderr.write('usage: node scripts/build-stamp.mjs begin|end\n');
    process.exit(2);
  }
  if (existsSync(join(ROOT, 'dist'))) step();
}
