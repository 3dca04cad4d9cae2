import { vi } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { parseJsonLines, type PipeResult } from '../e2e/helpers.js';

/**
 * A `pipe ARGS` command line parsed and dispatched by the CLI itself, in the test's own
 * process: what the binary would print to stdout and stderr is caught in memory, and its exit
 * status is runCli's. For the wiring of options to commands; a process's own behaviour
 * (signals, locks, its environment) needs the binary.
 */
export async function cliIn(args: readonly string[]): Promise<PipeResult> {
  let stdout = '';
  let stderr = '';
  const catchInto = (stream: NodeJS.WriteStream, add: (text: string) => void) =>
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      add(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
      return true;
    });
  const out = catchInto(process.stdout, (t) => (stdout += t));
  const err = catchInto(process.stderr, (t) => (stderr += t));
  let code: number;
  try {
    code = await runCli([process.execPath, 'pipe', ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return { code, signal: null, stdout, stderr, events: parseJsonLines(stdout) };
}
