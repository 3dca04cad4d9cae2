import type { PipeEvent } from '../events/events.js';

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

export const stdout: Output = { write: (t) => void process.stdout.write(t) };
export const stderr: Output = { write: (t) => void process.stderr.write(t) };
