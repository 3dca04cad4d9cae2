#!/usr/bin/env node
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

const { runCli } = await import('./cli.js');
process.exitCode = await runCli(process.argv);
