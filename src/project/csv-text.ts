/**
 * What pipe reads from a seed's CSV text itself, without a database: the shape of its header,
 * and on which line of the file a record starts. Seeds are comma-separated with `"` quotes
 * (RFC 4180): a quote is special only at the start of a field, `""` inside a quoted field is
 * one quote, and a quoted field may hold line breaks, so records and lines can differ.
 */

/** What stands at the top of a seed's file. */
export type CsvShape =
  /** Nothing but whitespace (or a byte order mark): there is no header line. */
  | { readonly kind: 'blank' }
  /** Line 1 is blank and the header comes later: DuckDB would take a data line for the header. */
  | { readonly kind: 'blank-first-line' }
  /** The header opens a quoted field that is never closed. */
  | { readonly kind: 'unterminated-header' }
  | {
      readonly kind: 'header';
      /** Fields of the header line. */
      readonly columns: number;
      /** Whether anything but whitespace follows the header. */
      readonly rows: boolean;
      /** A `;`, tab or `|` outside quotes in a header of one field: the file is not comma-separated. */
      readonly separator?: string;
    };

type Text = Buffer | string;

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
const OTHER_SEPARATORS = new Map([
  [0x3b, ';'],
  [0x09, 'tab'],
  [0x7c, '|'],
]);

const codeAt = (text: Text, i: number): number => (typeof text === 'string' ? text.charCodeAt(i) : text[i]);
const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === LF || c === CR;

/** Where the text starts after a UTF-8 byte order mark, which DuckDB skips too. */
function afterBom(text: Text): number {
  if (typeof text === 'string') return text.charCodeAt(0) === 0xfeff ? 1 : 0;
  return text[0] === 0xef && text[1] === 0xbb && text[2] === 0xbf ? 3 : 0;
}

/** What one character did: nothing special, ended a field, or ended a record (and its last field). */
const NONE = 0;
const FIELD = 1;
const RECORD = 2;

/**
 * Reads records one character at a time. A record ends at a line break outside quotes;
 * `\r\n` ends one record, at its `\r`.
 */
class RecordScanner {
  private state: 'field-start' | 'unquoted' | 'quoted' | 'quote-in-quoted' = 'field-start';
  private afterCr = false;
  /** The 1-based line of the next character. */
  line = 1;

  get inQuotes(): boolean {
    return this.state === 'quoted';
  }

  feed(c: number): typeof NONE | typeof FIELD | typeof RECORD {
    const crlf = this.afterCr && c === LF;
    this.afterCr = c === CR;
    if (crlf) return NONE;
    const isBreak = c === LF || c === CR;
    if (isBreak) this.line++;
    switch (this.state) {
      case 'quoted':
        if (c === QUOTE) this.state = 'quote-in-quoted';
        return NONE;
      case 'quote-in-quoted':
        if (c === QUOTE) {
          this.state = 'quoted';
          return NONE;
        }
        break;
      case 'field-start':
        if (c === QUOTE) {
          this.state = 'quoted';
          return NONE;
        }
        break;
      case 'unquoted':
        break;
      default: {
        const never: never = this.state;
        throw new Error(`internal error: CSV state ${String(never)}`);
      }
    }
    if (isBreak || c === COMMA) {
      this.state = 'field-start';
      return isBreak ? RECORD : FIELD;
    }
    this.state = 'unquoted';
    return NONE;
  }
}

/** The header of a seed's file and whether rows follow it; reads no further than the first row's first character. */
export function csvShape(text: Text): CsvShape {
  const start = afterBom(text);
  let first = start;
  while (first < text.length && isSpace(codeAt(text, first))) first++;
  if (first === text.length) return { kind: 'blank' };
  for (let j = start; j < first; j++) if (codeAt(text, j) === LF || codeAt(text, j) === CR) return { kind: 'blank-first-line' };
  const scanner = new RecordScanner();
  let columns = 1;
  let separator: string | undefined;
  let i = start;
  for (; i < text.length; i++) {
    const c = codeAt(text, i);
    const unquoted = !scanner.inQuotes;
    const effect = scanner.feed(c);
    if (effect === RECORD) break;
    if (effect === FIELD) columns++;
    else if (unquoted && !scanner.inQuotes) separator ??= OTHER_SEPARATORS.get(c);
  }
  if (i === text.length && scanner.inQuotes) return { kind: 'unterminated-header' };
  let rows = false;
  for (i++; i < text.length && !rows; i++) rows = !isSpace(codeAt(text, i));
  return { kind: 'header', columns, rows, separator: columns === 1 ? separator : undefined };
}

/**
 * The line of the file on which record `record` starts (1-based, the header is record 1),
 * counting the line breaks inside quoted fields of the records before it. `chunks` yields
 * the file from its start; reading stops at the record.
 */
export function recordLine(chunks: Iterable<Text>, record: number): number {
  const scanner = new RecordScanner();
  let records = 1;
  let first = true;
  for (const chunk of chunks) {
    for (let i = first ? afterBom(chunk) : 0; i < chunk.length; i++) {
      if (records >= record) return scanner.line;
      if (scanner.feed(codeAt(chunk, i)) === RECORD) records++;
    }
    first = false;
  }
  return records >= record ? scanner.line : record;
}
