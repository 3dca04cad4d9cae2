import type { Location } from '../diagnostics/diagnostics.js';
import type { ErrorLine } from '../warehouse/dialect.js';

/**
 * The line an error names (DuckDB's `LINE 14:`) counts lines of the statement the engine
 * executed, which the user never saw: the message says the model file's line instead, with
 * the caret line under it kept aligned.
 *
 * The message is rewritten once, where the task's error is made, and not by each logger:
 * the same text is stored in the run state (`pipe history` shows it) and sent in
 * notifications, which do not carry the error's location.
 */
export function labelWithFileLine(message: string, named: ErrorLine | undefined, location: Location | undefined): string {
  return location?.line ? labelWith(message, named, `${location.file}:${location.line}: `) : message;
}

/**
 * The same where the file line is not known and the rendered SQL is shown instead, numbered:
 * the message names that SQL's line, so that one number is said, not the statement's beside it.
 */
export function labelWithRenderedLine(message: string, named: ErrorLine | undefined, line: number | undefined): string {
  return line === undefined ? message : labelWith(message, named, `line ${line} of the rendered SQL: `);
}

function labelWith(message: string, named: ErrorLine | undefined, label: string): string {
  if (!named || named.marker === '') return message;
  const at = message.indexOf(named.marker);
  if (at < 0) return message;
  const after = message.slice(at + named.marker.length);
  const nl = after.indexOf('\n');
  if (nl < 0) return message.slice(0, at) + label + after;
  const caretLine = after.slice(nl + 1).split('\n')[0];
  const pad = ' '.repeat(Math.max(0, label.length - named.marker.length));
  const rest = after.slice(nl + 1 + caretLine.length);
  return `${message.slice(0, at)}${label}${after.slice(0, nl)}\n${pad}${caretLine}${rest}`;
}
