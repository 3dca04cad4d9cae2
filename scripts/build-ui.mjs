#!/usr/bin/env node
/**
 * Bundles the page of `pipe ui` (src/ui/web/) into dist/ui/web/: the app, the graph-layout
 * worker, the styles and index.html. Everything the page runs is in these files: the server
 * serves them and the page fetches nothing else.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(ROOT, 'src/ui/web');
const out = join(ROOT, 'dist/ui/web');
mkdirSync(out, { recursive: true });

await build({
  entryPoints: { app: join(web, 'main.tsx'), 'layout-worker': join(web, 'lineage/layout-worker.ts') },
  outdir: out,
  bundle: true,
  // Classic scripts, not modules: a page opened from file:// (pipe docs generate) may not load modules.
  format: 'iife',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'eof',
  logLevel: 'warning',
});
copyFileSync(join(web, 'index.html'), join(out, 'index.html'));
copyFileSync(join(web, 'style.css'), join(out, 'style.css'));
