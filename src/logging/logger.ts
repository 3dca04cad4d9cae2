import type { PipeEvent } from '../events/events.js';
import { secrets } from '../secrets/secrets.js';
import { printable } from './printable.js';
import { terminalText } from './style.js';

/** Renders the event stream. Loggers are the only code that writes to the console. */
export interface Logger {
  handle(event: PipeEvent): void;
  /**
   * Output that is the command's result (compiled SQL, a listing), not an event. Shown with
   * its control characters escaped (see printable.ts), unless `exact`: text meant to be
   * kept as it is, such as compiled SQL.
   */
  result(text: string, exact?: boolean): void;
  close(): void;
}

export interface Output {
  write(text: string): void;
}

/** A stream whose reader has gone (`pipe run | head -1`) takes no more text. */
const to = (stream: NodeJS.WriteStream): Output => ({
  write: (t) => {
    if (!stream.destroyed && stream.writable) stream.write(t);
  },
});
export const stdout: Output = to(process.stdout);
export const stderr: Output = to(process.stderr);

/** What a logger writes through: secret values (see events/secrets.ts) never reach the console. */
export function masked(out: Output): Output {
  return { write: (t) => out.write(secrets.mask(t)) };
}

/** What a terminal is shown through: control characters from data escaped, then pipe's own sequences made (see style.ts). */
export function shown(out: Output): Output {
  return { write: (t) => out.write(terminalText(printable(t))) };
}
