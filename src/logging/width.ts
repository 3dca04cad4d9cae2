import cliTruncate from 'cli-truncate';
import stringWidth from 'string-width';

/**
 * Text as a terminal shows it: a Hangul or CJK character takes two columns, a combining mark
 * none, an ANSI colour code none. Lengths in characters would misalign tables and let a
 * status line wrap, leaving stale lines behind.
 */

export const displayWidth = (text: string): number => stringWidth(text);

/** `text` padded with spaces to `width` columns. */
export function padDisplay(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - stringWidth(text)));
}

/** `text` cut to at most `columns` columns (with an ellipsis when cut), colour codes kept whole. */
export function truncateDisplay(text: string, columns: number): string {
  return cliTruncate(text, Math.max(1, columns));
}

/** Rows in aligned columns, two spaces apart; the last column is not padded. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(stringWidth(h), ...rows.map((r) => stringWidth(r[i] ?? ''))));
  const line = (r: readonly string[]) => r.map((c, i) => (i === r.length - 1 ? c : padDisplay(c, widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}
