/**
 * Text as a terminal shows it: a Hangul or CJK character takes two columns, a combining mark
 * none, an ANSI colour code none. Lengths in characters would misalign tables and let a
 * status line wrap, leaving stale lines behind.
 *
 * The libraries that know (string-width, cli-truncate) take 30-40 ms to load (their Unicode
 * property patterns), which every command would pay at start-up: text of characters one column
 * wide each (printable ASCII, Latin letters, the punctuation pipe prints, such as `…` and `·`)
 * is measured without them, and they are loaded by the commands that print tables only when a
 * text is not (see withDisplayWidth), and by a live terminal logger as it starts.
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

/**
 * Characters one column wide each, one UTF-16 unit each, whatever follows them: printable ASCII,
 * Latin-1 but the soft hyphen (which shows as nothing), Latin Extended-A and -B, and the general
 * punctuation but its spaces of no width, line separators, direction marks and invisible
 * operators. string-width gives each of them, and any text of them, its length.
 */
const PLAIN = /^[\x20-\x7e\u00a0-\u00ac\u00ae-\u024f\u2010-\u2027\u2030-\u205e]*$/;

/** Whether a text was measured or cut without the libraries, which it needed (see withDisplayWidth). */
let missed = false;

/** Before the libraries are loaded, other text is counted in code points (never in a table: see withDisplayWidth). */
export function displayWidth(text: string): number {
  if (PLAIN.test(text)) return text.length;
  if (measure) return measure(text);
  missed = true;
  return [...text].length;
}

/**
 * What `format` makes of text in columns, measured as a terminal shows it: made without the
 * width libraries, and made again once they are loaded when it measured or cut a text that
 * needs them. A table of names and dates, most tables, never loads them.
 */
export async function withDisplayWidth<T>(format: () => T): Promise<T> {
  if (measure) return format();
  missed = false;
  const made = format();
  if (!missed) return made;
  await loadDisplayWidth();
  return format();
}

/** `text` padded with spaces to `width` columns. */
export function padDisplay(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

/** `text` cut to at most `columns` columns (with an ellipsis when cut), colour codes kept whole. */
export function truncateDisplay(text: string, columns: number): string {
  const max = Math.max(1, columns);
  if (cut) return cut(text, max);
  if (PLAIN.test(text)) return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
  missed = true;
  return [...text].slice(0, max).join('');
}

/** Rows in aligned columns, two spaces apart; the last column is not padded. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i] ?? ''))));
  const line = (r: readonly string[]) => r.map((c, i) => (i === r.length - 1 ? c : padDisplay(c, widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}
