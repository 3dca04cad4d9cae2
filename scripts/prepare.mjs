#!/usr/bin/env node
/**
 * npm's `prepare`: builds dist/ from src/. npm runs it after `npm install` in a clone, before
 * `npm pack`, and in a folder it links instead of copying (`npm install -g .`,
 * `npm install -D ../pipe`). In the last two, and in `npm pack` from a fresh clone, npm has
 * installed nothing in the folder: neither the compiler nor the dependencies the linked `pipe`
 * loads at run time. Then they are installed here first, from the lockfile, so that every one
 * of these ways ends with a `pipe` that runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtFromCurrentInputs, currentInputs, writeStamp } from './build-stamp.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

/** Whether Node, resolving from the package, finds `name` (in its node_modules or a parent's). */
function installed(name) {
  for (let dir = ROOT; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'node_modules', name, 'package.json'))) return true;
    if (dirname(dir) === dir) return false;
  }
}

/**
 * The environment for the npm commands run from here. npm hands its own settings to scripts as
 * `npm_config_*` variables; an `npm install -g` would make a nested install global too, and
 * `--omit=dev` or `--dry-run` would install nothing. Only the settings saying where packages
 * come from are kept.
 */
function npmEnv() {
  const keep = /^npm_config_(registry|@.*:registry|cache|userconfig|proxy|https_proxy|noproxy|strict_ssl|cafile|ca|offline|prefer_offline|prefer_online|fetch_.*)$/i;
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_/i.test(k) || keep.test(k)));
}

function npm(args) {
  // The npm running this script, else the one on PATH.
  const [command, prefix] = process.env.npm_execpath ? [process.execPath, [process.env.npm_execpath]] : ['npm', []];
  // Everything to stderr: `npm install -g $(npm pack)` reads the tarball's name from stdout.
  const r = spawnSync(command, [...prefix, ...args], { cwd: ROOT, env: npmEnv(), stdio: ['inherit', 2, 2], shell: !process.env.npm_execpath && process.platform === 'win32' });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    process.stderr.write(`pipe: \`npm ${args.join(' ')}\` failed in ${ROOT}\n`);
    process.exit(r.status ?? 1);
  }
}

/** Whether `path` is a symbolic link (dangling or not). */
function isLink(path) {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

const missing = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((name) => !installed(name));
if (missing.length > 0) {
  if (isLink(join(ROOT, 'node_modules'))) {
    // `npm ci` would empty the folder the link points to, which other checkouts may share.
    process.stderr.write(`pipe: node_modules links to a folder that lacks ${missing.join(', ')}: install them there\n`);
    process.exit(1);
  }
  process.stderr.write(`pipe: installing the dependencies of ${ROOT} to build it (missing: ${missing.join(', ')})\n`);
  // No scripts: this very script would run again, and no dependency needs one.
  npm(['ci', '--include=dev', '--ignore-scripts', '--no-audit', '--no-fund']);
}
// Built already from these very sources (see build-stamp.mjs): `npx pipe` in a clone links the
// folder and runs this again right after `npm install` did.
if (builtFromCurrentInputs()) process.exit(0);
const inputs = currentInputs();
// A fresh dist/: a file of a source deleted since the last build must not be packed.
rmSync(join(ROOT, 'dist'), { recursive: true, force: true });
npm(['run', 'build']);
writeStamp(inputs);
