import type { PipeEvent } from '../events/events.js';
import { secrets } from '../secrets/secrets.js';
import { masked, type Logger, type Output } from './logger.js';

/**
 * One JSON object per line per event, for machines. Results go out as `{"type":"result",...}` by the caller.
 * Secrets are masked in the event's values before it is serialized, so every line stays valid JSON.
 */
export class JsonLogger implements Logger {
  /** Results are finished text, masked as text. */
  private readonly results: Output;

  constructor(private readonly out: Output) {
    this.results = masked(out);
  }

  handle(event: PipeEvent): void {
    this.out.write(`${JSON.stringify(secrets.maskDeep({ ...event, time: new Date().toISOString() }))}\n`);
  }

  result(text: string): void {
    this.results.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  close(): void {}
}
