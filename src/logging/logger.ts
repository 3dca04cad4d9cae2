import type { PipeEvent } from '../events/events.js';
import { secrets } from '../secrets/secrets.js';

/** Renders the event stream. Loggers are the only code that writes to the console. */
export interface Logger {
  handle(event: PipeEvent): void;
  /** Output that is the command's result (compiled SQL, a listing), not an event. */
  result(text: string): void;
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
