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

// Node 22.1 and later keep V8's compiled code of the CLI's bundle between runs, in the system's
// temporary folder (NODE_DISABLE_COMPILE_CACHE=1 turns it off): every command starts about
// 40 ms sooner. Node 20 has no such cache.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

const { runCli } = await import('./cli.js');
process.exitCode = await runCli(process.argv);
