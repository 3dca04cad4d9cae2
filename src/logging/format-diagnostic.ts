import type { Diagnostic, Location } from '../diagnostics/diagnostics.js';
import type { Style } from './style.js';

/** Reads a project file's lines for display; undefined when it cannot be read. */
export type SourceReader = (file: string) => readonly string[] | undefined;

function where(loc: Location): string {
  return `${loc.file}${loc.line ? `:${loc.line}${loc.column ? `:${loc.column}` : ''}` : ''}`;
}

function excerpt(loc: Location, read: SourceReader, style: Style): string[] {
  if (!loc.line) return [];
  const lines = read(loc.file);
  const text = lines?.[loc.line - 1];
  if (text === undefined) return [];
  const gutter = String(loc.line);
  const pad = ' '.repeat(gutter.length);
  // A file written with CRLF line ends keeps a carriage return at the end of each line: not shown.
  const out = [`  ${style.dim(`${gutter} |`)} ${text.replace(/\r$/, '').replace(/\t/g, ' ')}`];
  if (loc.column) out.push(`  ${style.dim(`${pad} |`)} ${' '.repeat(Math.max(0, loc.column - 1))}${style.red('^')}`);
  return out;
}

/**
 * `models/orders.sql:12:8: error: ...` followed by the source line and a caret, the places
 * involved, and a hint.
 */
export function formatDiagnostic(d: Diagnostic, read: SourceReader, style: Style): string {
  const label = d.severity === 'error' ? style.red('error') : style.yellow('warning');
  const head = d.location ? `${style.bold(where(d.location))}: ${label}: ${d.message}` : `${label}: ${d.message}`;
  const out = [head];
  if (d.location) out.push(...excerpt(d.location, read, style));
  for (const r of d.related ?? []) {
    if (d.location && r.location.file === d.location.file && r.location.line === d.location.line && d.code !== 'cycle') continue;
    out.push(`  ${style.dim('-')} ${r.message}: ${where(r.location)}`);
    if (d.code !== 'cycle') out.push(...excerpt(r.location, read, style).map((l) => `  ${l}`));
  }
  if (d.hint) out.push(`  ${style.cyan('hint')}: ${d.hint}`);
  return out.join('\n');
}
