/** Terminal colours, or none. */
export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

/**
 * pipe's own escape sequences (the colours below, the live line's erase) are written as
 * private-use characters while a line is made, and become sequences only once the line's
 * control characters from data are escaped (see logging/printable.ts and terminalText): a
 * message holding `ESC [ 31 m` (a template's raise_compiler_error, a value of a table) is shown
 * as text, never obeyed, while pipe's colours still are.
 */
const MARK = 0xe000;
const SEQUENCES = new Map<string, string>([1, 2, 22, 31, 32, 33, 36, 39].map((code) => [String.fromCharCode(MARK + code), `\x1b[${code}m`]));
/** The live line's erase: back to its start, and clear it. */
export const ERASE_LINE = String.fromCharCode(MARK + 0xff);
SEQUENCES.set(ERASE_LINE, '\r\x1b[K');
const MARKS = new RegExp(`[${[...SEQUENCES.keys()].join('')}]`, 'g');

/** A line whose data is escaped already, with pipe's own sequences made real. */
export function terminalText(escaped: string): string {
  return escaped.replace(MARKS, (m) => SEQUENCES.get(m)!);
}

const wrap = (open: number, close: number) => (s: string) => `${String.fromCharCode(MARK + open)}${s}${String.fromCharCode(MARK + close)}`;

export const colors: Style = {
  bold: wrap(1, 22),
  dim: wrap(2, 22),
  red: wrap(31, 39),
  green: wrap(32, 39),
  yellow: wrap(33, 39),
  cyan: wrap(36, 39),
};

const id = (s: string) => s;
export const plainStyle: Style = { bold: id, dim: id, red: id, green: id, yellow: id, cyan: id };
