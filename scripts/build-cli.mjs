#!/usr/bin/env node
/**
 * Bundles pipe's command line (src/cli/cli.ts and what it imports, as tsc type-checked them)
 * and the JavaScript libraries it uses into one file, written over dist/cli/cli.js. Node
 * resolves, reads and links each ES module of a tree on every start: pipe's 260 modules and its
 * libraries' cost about a quarter of a second before any command does anything, and one file a
 * fraction of it. The bundle is made from the sources, not from tsc's output: tsc builds
 * incrementally and does not write a file again whose source did not change, so the cli.js it
 * wrote may be this bundle already.
 *
 * dist/cli/main.js stays as compiled: it installs pipe's answer to signals (signals.js) and
 * then loads the bundle, so that a signal during the load gets that answer. signals.js stays
 * out of the bundle, which imports the same module as main.js: one set of listeners.
 *
 * Left out too, and loaded from node_modules as before: DuckDB's native bindings, and what
 * only some commands load (the file watcher, Postgres and the job queue of --distributed).
 * The other compiled modules stay in dist/: the template compiler's worker threads and
 * library users load them. Code in the bundle finds pipe's files through
 * src/install-paths.ts, which the bundle's first lines tell where dist/ is.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

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
  outfile: join(ROOT, 'dist/cli/cli.js'),
  allowOverwrite: true,
  tsconfig: join(ROOT, 'tsconfig.json'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['@duckdb/node-bindings', '@duckdb/node-bindings-*', 'chokidar', 'fsevents', 'pg', 'pg-native', 'graphile-worker'],
  plugins: [sharedSignals],
  banner: {
    js: [
      // The libraries bundled from CommonJS call require(): an ES module has none of its own.
      "import { createRequire as __pipeCreateRequire } from 'node:module';",
      'const require = __pipeCreateRequire(import.meta.url);',
      "globalThis.__pipeDist = new URL('../', import.meta.url).href;",
    ].join('\n'),
  },
  legalComments: 'none',
  logLevel: 'warning',
});
