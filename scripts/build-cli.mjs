#!/usr/bin/env node
/**
 * Bundles pipe's command line (src/cli/cli.ts and what it imports, as tsc type-checked them)
 * and the JavaScript libraries it uses into one file, dist/cli/cli.cjs. Node resolves, reads
 * and links each ES module of a tree on every start: pipe's 260 modules and its libraries'
 * cost about a quarter of a second before any command does anything, and one file a fraction
 * of it. The bundle is a CommonJS script so that src/cli/load-cli.ts can give V8 the code it
 * compiled at the last start (Node 20 keeps no compiled code of an ES module).
 *
 * dist/cli/main.js stays as compiled: it installs pipe's answer to signals (signals.js) and
 * then loads the bundle, so that a signal during the load gets that answer. signals.js stays
 * out of the bundle: load-cli.ts hands the bundle the module main.js imported, one set of
 * listeners.
 *
 * Left out too, and loaded from node_modules as before: DuckDB's native bindings, and what
 * only some commands load (the file watcher, Postgres and the job queue of --distributed).
 * The other compiled modules stay in dist/ (dist/cli/cli.js is tsc's, not the bundle): the
 * template compiler's worker threads and library users load them. Code in the bundle finds
 * pipe's files through src/install-paths.ts, which the bundle's first lines tell where dist/ is.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { currentInputs } from './build-stamp.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(ROOT, 'src/cli/cli.ts');

/** The signal handling main.js installed: imported from beside the bundle, not copied into it. */
const sharedSignals = {
  name: 'shared-signals',
  setup(b) {
    b.onResolve({ filter: /^\.\/signals\.js$/ }, (args) => (args.importer === cli ? { path: './signals.js', external: true } : undefined));
  },
};

await build({
  entryPoints: [cli],
  outfile: join(ROOT, 'dist/cli/cli.cjs'),
  allowOverwrite: true,
  tsconfig: join(ROOT, 'tsconfig.json'),
  bundle: true,
  platform: 'node',
  // CommonJS, which Node 20 can compile from V8's code cache (src/cli/load-cli.ts): an ES
  // module it compiles anew at every start. The names an ES module has are given to it.
  format: 'cjs',
  define: { 'import.meta.url': '__pipeModuleUrl' },
  // The few libraries loaded only by some commands (the file watcher, Postgres, the job queue)
  // are required when first used, as the bundle itself is: no import() is left in it.
  supported: { 'dynamic-import': false },
  target: 'node20',
  external: ['@duckdb/node-bindings', '@duckdb/node-bindings-*', 'chokidar', 'fsevents', 'pg', 'pg-native', 'graphile-worker'],
  plugins: [sharedSignals],
  banner: {
    js: [
      // What an ES module's import.meta.url would say (see `define`), and where dist/ is.
      "const __pipeModuleUrl = require('node:url').pathToFileURL(__filename).href;",
      "globalThis.__pipeDist = new URL('../', __pipeModuleUrl).href;",
    ].join('\n'),
  },
  legalComments: 'none',
  logLevel: 'warning',
});

// The build's identity: the hash of its sources (see build-stamp.mjs). What pipe keeps between
// processes (compiled templates, judgements of queries, parsed YAML) is keyed by it, so that a
// build of other sources (a clone updated with git pull, its version number the same) trusts
// nothing an earlier build kept.
writeFileSync(join(ROOT, 'dist', 'build-id'), `${currentInputs().hash}\n`);
