/**
 * Text as a terminal shows it: a Hangul or CJK character takes two columns, a combining mark
 * none, an ANSI colour code none. Lengths in characters would misalign tables and let a
 * status line wrap, leaving stale lines behind.
 *
 * The libraries that know (string-width, cli-truncate) take about 40 ms to load, which every
 * command would pay at start-up: they are loaded by `loadDisplayWidth`, which the commands that
 * print tables await and a live terminal logger starts. Plain ASCII text is measured without
 * them.
 */

type Measure = (text: string) => number;
type Cut = (text: string, columns: number) => string;

let measure: Measure | undefined;
let cut: Cut | undefined;
let loading: Promise<void> | undefined;

/** Loads the width libraries, once. */
export function loadDisplayWidth(): Promise<void> {
  loading ??= Promise.all([import('string-width'), import('cli-truncate')]).then(([w, t]) => {
    measure = w.default;
    cut = t.default;
  });
  return loading;
}

/** Printable ASCII, one column a character. */
const PLAIN = /^[\x20-\x7e]*$/;

/** Before the libraries are loaded, non-ASCII text is counted in code points (never in a table: see loadDisplayWidth). */
export const displayWidth = (text: string): number => (PLAIN.test(text) ? text.length : measure ? measure(text) : [...text].length);

/** `text` padded with spaces to `width` columns. */
export function padDisplay(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

/** `text` cut to at most `columns` columns (with an ellipsis when cut), colour codes kept whole. */
export function truncateDisplay(text: string, columns: number): string {
  const max = Math.max(1, columns);
  if (cut) return cut(text, max);
  return PLAIN.test(text) ? (text.length <= max ? text : `${text.slice(0, max - 1)}…`) : [...text].slice(0, max).join('');
}

/** Rows in aligned columns, two spaces apart; the last column is not padded. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i] ?? ''))));
  const line = (r: readonly string[]) => r.map((c, i) => (i === r.length - 1 ? c : padDisplay(c, widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}
