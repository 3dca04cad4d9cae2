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

  constructor(
    out: Output,
    /** Where events go: with the results, unless those are one JSON document (see makeLogger). */
    private readonly events: Output = out,
  ) {
    this.results = masked(out);
  }

  handle(event: PipeEvent): void {
    this.events.write(`${unobeyed(JSON.stringify(secrets.maskDeep({ ...event, time: new Date().toISOString() })))}\n`);
  }

  /** Every result of a JSON run is JSON: `exact` changes nothing, its values come back whole from the escapes. */
  result(text: string): void {
    this.results.write(unobeyed(text.endsWith('\n') ? text : `${text}\n`));
  }

  close(): void {}
}

/**
 * JSON text with nothing a terminal obeys: JSON.stringify escapes the C0 controls but leaves
 * DEL and the C1 controls raw (see printable.ts); each is written as the JSON escape `\u00XX`,
 * which a reader decodes to the same character.
 */
function unobeyed(json: string): string {
  return json.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => `\\u00${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
