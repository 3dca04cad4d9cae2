import { EXIT } from './exit-status.js';

/**
 * SIGINT and SIGTERM from pipe's first line on. Until a command takes them over, nothing has
 * been written, so a signal ends pipe at once with status 130. Installed before the rest of
 * the CLI loads (DuckDB alone takes a tenth of a second), which would otherwise be a window
 * where a signal kills pipe without its answer.
 */

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

const exitAtOnce = () => process.exit(EXIT.interrupted);

let early = false;

export function exitOnSignals(): void {
  if (early) return;
  early = true;
  for (const s of SIGNALS) process.on(s, exitAtOnce);
}

/**
 * For a command that only reads (status, ls, compile, dag, show, history): a signal ends it at
 * once, by the signal itself (a shell reads 130 after Ctrl-C, 143 after SIGTERM). Such a
 * command computes for seconds without returning to the event loop (an analysis of thousands
 * of models, status judging decades of dates), where no handler of pipe's can run; a signal
 * that came meanwhile was handled only once it was done, or not at all when nothing was left
 * to wait for, and the command ended as if never stopped. Nothing is written meanwhile but
 * caches, each written whole or not at all.
 */
export function endBySignals(): void {
  if (!early) return;
  for (const s of SIGNALS) process.off(s, exitAtOnce);
  early = false;
}

/**
 * A command's own handling of the signals, in place of exiting at once; the returned function
 * gives them back. The new listener is added before the old one goes: Node stops listening
 * for a signal when its last listener is removed, and a signal received but not yet handled
 * would be dropped with it.
 */
export function takeOverSignals(handler: (signal: NodeJS.Signals) => void): () => void {
  const hadEarly = early;
  swap(exitAtOnce, handler);
  early = false;
  return () => {
    if (hadEarly) swap(handler, exitAtOnce);
    else for (const s of SIGNALS) process.off(s, handler);
    early = hadEarly;
  };
}

function swap(from: (signal: NodeJS.Signals) => void, to: (signal: NodeJS.Signals) => void): void {
  for (const s of SIGNALS) {
    process.on(s, to);
    process.off(s, from);
  }
}

/**
 * Ends pipe at once on a repeated signal, by that signal (a shell reads 130 after Ctrl-C): the
 * process's exit handlers run first (notify commands still running are killed). Not
 * process.exit: it waits for a DuckDB query still running on another thread to end, however
 * long that takes. Uncommitted transactions die with the process; DuckDB's log holds only
 * committed work.
 */
export function dieOf(signal: NodeJS.Signals): never {
  process.emit('exit', EXIT.interrupted);
  process.removeAllListeners('exit');
  for (const s of SIGNALS) process.removeAllListeners(s);
  process.kill(process.pid, signal);
  // Delivered to this thread before kill returns on Linux; should it not be, the slow way.
  process.exit(EXIT.interrupted);
}
