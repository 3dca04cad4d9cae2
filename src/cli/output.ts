import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { JsonLogger } from '../logging/json-logger.js';
import { stderr, stdout, type Logger } from '../logging/logger.js';
import { TextLogger } from '../logging/text-logger.js';
import { loadDisplayWidth } from '../logging/width.js';
import { colors, plainStyle } from '../logging/style.js';
import type { SourceReader } from '../logging/format-diagnostic.js';
import { statStamp } from '../util/stat-stamp.js';

export interface OutputOptions {
  readonly json?: boolean;
  readonly project?: string;
}

/**
 * `--json` → NDJSON; a terminal → live coloured output; anything else → one plain line per event.
 * `document`: the command's `--json` result is one JSON document (`pipe show`'s array), which
 * stdout holds alone: its events (a warning) are JSON lines on stderr.
 */
export function makeLogger(options: OutputOptions, document = false): Logger {
  if (options.json) return new JsonLogger(stdout, document ? stderr : stdout);
  const read = sourceReader(options.project);
  const tty = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
  // The live status line is cut to the terminal's width; it is first drawn once a task has started.
  if (tty) void loadDisplayWidth();
  return new TextLogger(stdout, stderr, tty ? colors : plainStyle, tty, read);
}

/**
 * Lines of the project's files, for the source excerpts of diagnostics: read once each while
 * the file stays as it was (its stamp), again once it changed (watch prints the errors of every save).
 */
export function sourceReader(project: string | undefined): SourceReader {
  const root = resolve(project ?? '.');
  const cache = new Map<string, { readonly stamp: string; readonly lines: readonly string[] }>();
  return (file) => {
    const path = resolve(root, file);
    try {
      const stamp = statStamp(path);
      const known = cache.get(file);
      if (known?.stamp === stamp) return known.lines;
      const lines = readFileSync(path, 'utf8').split('\n');
      cache.set(file, { stamp, lines });
      return lines;
    } catch {
      return undefined;
    }
  };
}
