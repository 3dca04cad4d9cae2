#!/usr/bin/env node
import module from 'node:module';
import { exitOnSignals } from './signals.js';

// First, before the CLI and DuckDB load: a signal at any moment gets pipe's own answer.
exitOnSignals();

// A closed pipe (`pipe run | head -1`) stops the printing, never the run: the command goes on
// to its end and its exit status says how the run went (the loggers skip a closed stream).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') return;
    throw e;
  });
}

// Node 22.1 and later keep V8's compiled code of the ES modules pipe still loads from dist/ (the
// template compiler's worker threads), as load-cli.ts does for the command line's bundle on
// every version; NODE_DISABLE_COMPILE_CACHE=1 turns both off. Node 20 has no such cache.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

// The command line itself, compiled from V8's code cache where it has one (see load-cli.ts).
// Imported only now, so that a signal while it loads already gets pipe's answer.
const { loadCli } = await import('./load-cli.js');
process.exitCode = await loadCli().runCli(process.argv);
