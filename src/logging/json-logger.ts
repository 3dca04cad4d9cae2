import type { PipeEvent } from '../events/events.js';
import type { Logger, Output } from './logger.js';

/** One JSON object per line per event, for machines. Results go out as `{"type":"result",...}` by the caller. */
export class JsonLogger implements Logger {
  constructor(private readonly out: Output) {}

  handle(event: PipeEvent): void {
    this.out.write(`${JSON.stringify({ ...event, time: new Date().toISOString() })}\n`);
  }

  result(text: string): void {
    this.out.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  close(): void {}
}
