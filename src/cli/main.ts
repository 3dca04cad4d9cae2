#!/usr/bin/env node
import { exitOnSignals } from './signals.js';

// First, before the CLI and DuckDB load: a signal at any moment gets pipe's own answer.
exitOnSignals();

// A closed pipe (`pipe ls | head`) is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

const { runCli } = await import('./cli.js');
process.exitCode = await runCli(process.argv);
