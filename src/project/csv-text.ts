/**
 * What pipe reads from a seed's CSV text itself, without a database: the shape of its header,
 * its rows' fields, and on which line of the file a record starts. Fields are separated by the
 * seed's delimiter (a comma unless its config says otherwise) with `"` quotes (RFC 4180): a
 * quote is special only at the start of a field, `""` inside a quoted field is one quote, and
 * a quoted field may hold line breaks, so records and lines can differ.
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
      /** The header's fields, unquoted: the column names the file declares. */
      readonly names: readonly string[];
      /** Whether anything but whitespace follows the header. */
      readonly rows: boolean;
      /**
       * A comma, `;`, tab or `|` (other than the delimiter) outside quotes in a header of one
       * field: the file is separated by something else than the seed's delimiter.
       */
      readonly separator?: string;
    };

export type Text = Buffer | string;

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
const SEPARATORS = new Map([
  [COMMA, ','],
  [0x3b, ';'],
  [0x09, 'tab'],
  [0x7c, '|'],
]);

const codeAt = (text: Text, i: number): number => (typeof text === 'string' ? text.charCodeAt(i) : text[i]);
const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === LF || c === CR;
const sliceOf = (text: Text, start: number, end: number): string => (typeof text === 'string' ? text.slice(start, end) : text.toString('utf8', start, end));

/** Where the text starts after a UTF-8 byte order mark, which DuckDB skips too. */
function afterBom(text: Text): number {
  if (typeof text === 'string') return text.charCodeAt(0) === 0xfeff ? 1 : 0;
  return text[0] === 0xef && text[1] === 0xbb && text[2] === 0xbf ? 3 : 0;
}

/** A field as the file has it, without its quotes. */
function unquote(raw: string): string {
  return raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1).replaceAll('""', '"') : raw;
}

/** The delimiter as one code unit; pipe's config accepts only one character. */
function delimiterCode(delimiter: string): number {
  if (delimiter.length !== 1) throw new Error(`internal error: CSV delimiter ${JSON.stringify(delimiter)}`);
  return delimiter.charCodeAt(0);
}

/** What one character did: nothing special, ended a field, or ended a record (and its last field). */
const NONE = 0;
const FIELD = 1;
const RECORD = 2;

/**
 * Reads records one character at a time. A record ends at a line break outside quotes;
 * `\r\n` ends one record, at its `\r`. Only fields depend on the delimiter, records do not.
 */
class RecordScanner {
  private state: 'field-start' | 'unquoted' | 'quoted' | 'quote-in-quoted' = 'field-start';
  private afterCr = false;
  /** The 1-based line of the next character. */
  line = 1;

  constructor(private readonly delimiter = COMMA) {}

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
    if (isBreak || c === this.delimiter) {
      this.state = 'field-start';
      return isBreak ? RECORD : FIELD;
    }
    this.state = 'unquoted';
    return NONE;
  }
}

/** Where the header record ends (at its line break, or the text's end) and whether a quote is left open. */
function headerEnd(text: Text, start: number, scanner: RecordScanner, onField?: (end: number) => void): { end: number; open: boolean } {
  let i = start;
  for (; i < text.length; i++) {
    const effect = scanner.feed(codeAt(text, i));
    if (effect === RECORD) break;
    if (effect === FIELD) onField?.(i);
  }
  return { end: i, open: i === text.length && scanner.inQuotes };
}

/**
 * The start of a seed's file that its shape is read from, whatever its delimiter: through
 * the header and the first character of what follows it (the whole text when the header
 * never ends). The load phase keeps it, not the file, for the analysis that knows the delimiter.
 */
export function csvHead(text: Text): Text {
  const { end } = headerEnd(text, afterBom(text), new RecordScanner());
  let i = end + 1;
  while (i < text.length && isSpace(codeAt(text, i))) i++;
  const stop = Math.min(text.length, i + 1);
  return typeof text === 'string' ? text.slice(0, stop) : Buffer.from(text.subarray(0, stop));
}

/** The header of a seed's file and whether rows follow it; reads no further than the first row's first character. */
export function csvShape(text: Text, delimiter = ','): CsvShape {
  const start = afterBom(text);
  let first = start;
  while (first < text.length && isSpace(codeAt(text, first))) first++;
  if (first === text.length) return { kind: 'blank' };
  for (let j = start; j < first; j++) if (codeAt(text, j) === LF || codeAt(text, j) === CR) return { kind: 'blank-first-line' };
  const delim = delimiterCode(delimiter);
  const names: string[] = [];
  let fieldStart = start;
  const { end, open } = headerEnd(text, start, new RecordScanner(delim), (at) => {
    names.push(unquote(sliceOf(text, fieldStart, at)));
    fieldStart = at + 1;
  });
  if (open) return { kind: 'unterminated-header' };
  const last = sliceOf(text, fieldStart, end);
  names.push(unquote(last));
  let rows = false;
  for (let i = end + 1; i < text.length && !rows; i++) rows = !isSpace(codeAt(text, i));
  return { kind: 'header', names, rows, separator: names.length === 1 ? separatorIn(last, delim) : undefined };
}

/** A separator other than the delimiter outside quotes in a header field. */
function separatorIn(field: string, delimiter: number): string | undefined {
  let quoted = false;
  for (let i = 0; i < field.length; i++) {
    const c = field.charCodeAt(i);
    if (c === QUOTE) quoted = !quoted;
    else if (!quoted && c !== delimiter && SEPARATORS.has(c)) return SEPARATORS.get(c);
  }
  return undefined;
}

/**
 * Calls `visit` with the unquoted fields of each row after the header and the line the row
 * starts on, reading the whole text, or up to the row for which `visit` returns true.
 */
export function forEachCsvRow(text: string, delimiter: string, visit: (fields: readonly string[], line: number) => boolean | void): void {
  const scanner = new RecordScanner(delimiterCode(delimiter));
  let i = afterBom(text);
  i = headerEnd(text, i, scanner).end + 1;
  if (i < text.length && text.charCodeAt(i - 1) === CR && text.charCodeAt(i) === LF) {
    scanner.feed(LF);
    i++;
  }
  let fields: string[] = [];
  let fieldStart = i;
  let line = scanner.line;
  const endField = (at: number) => {
    fields.push(unquote(text.slice(fieldStart, at)));
    fieldStart = at + 1;
  };
  for (; i < text.length; i++) {
    const effect = scanner.feed(text.charCodeAt(i));
    if (effect === NONE) {
      // A \n after \r belongs to the line break that ended the record.
      if (fieldStart === i && fields.length === 0 && text.charCodeAt(i) === LF && i > 0 && text.charCodeAt(i - 1) === CR) fieldStart = i + 1;
      continue;
    }
    endField(i);
    if (effect === RECORD) {
      // A blank line is no row, to DuckDB as to Python's csv module.
      if ((fields.length > 1 || fields[0] !== '') && visit(fields, line) === true) return;
      fields = [];
      line = scanner.line;
    }
  }
  if (fieldStart < text.length || fields.length > 0) {
    endField(text.length);
    if (fields.length > 1 || fields[0] !== '') visit(fields, line);
  }
}

/** The lines after the header that are blank (outside quotes): to DuckDB, a row of one empty field. */
export function blankLines(text: string): number[] {
  const scanner = new RecordScanner();
  let i = headerEnd(text, afterBom(text), scanner).end + 1;
  let start = i;
  let line = scanner.line;
  const out: number[] = [];
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (scanner.feed(c) !== RECORD) {
      // The \n of a \r\n belongs to the line break before it.
      if (start === i && c === LF && text.charCodeAt(i - 1) === CR) start = i + 1;
      continue;
    }
    if (i === start) out.push(line);
    start = i + 1;
    line = scanner.line;
  }
  return out;
}

/**
 * The line of the first row whose field `column` (from 0) is `value`, unquoted; undefined
 * when no row has it.
 */
export function lineOfValue(text: string, delimiter: string, column: number, value: string): number | undefined {
  let found: number | undefined;
  forEachCsvRow(text, delimiter, (fields, line) => {
    if (fields[column] === value) found = line;
    return found !== undefined;
  });
  return found;
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

export type LineEnd = 'LF' | 'CRLF' | 'CR';

/**
 * The first record that ends otherwise than the records before it (an LF among CRLF ones),
 * with the line its end is on and the two kinds; undefined when all end alike. Line breaks
 * inside quoted fields are data, not ends. `chunks` yields the file from its start.
 */
export function mixedLineEnd(chunks: Iterable<Text>): { readonly line: number; readonly ends: LineEnd; readonly others: LineEnd } | undefined {
  const scanner = new RecordScanner();
  let first = true;
  let seen: LineEnd | undefined;
  /** The line of a record a CR ended, until the next character says whether an LF follows it. */
  let afterCr: number | undefined;
  const ended = (kind: LineEnd, line: number) => {
    seen ??= kind;
    return kind === seen ? undefined : { line, ends: kind, others: seen };
  };
  for (const chunk of chunks) {
    for (let i = first ? afterBom(chunk) : 0; i < chunk.length; i++) {
      const c = codeAt(chunk, i);
      if (afterCr !== undefined) {
        const mixed = ended(c === LF ? 'CRLF' : 'CR', afterCr);
        if (mixed) return mixed;
        afterCr = undefined;
      }
      const line = scanner.line;
      if (scanner.feed(c) !== RECORD) continue;
      if (c === CR) afterCr = line;
      else {
        const mixed = ended('LF', line);
        if (mixed) return mixed;
      }
    }
    first = false;
  }
  return afterCr === undefined ? undefined : ended('CR', afterCr);
}

/**
 * The line on which the first record longer than `limit` bytes starts (the header is on line
 * 1), or undefined when none is. DuckDB finds such a record while it sniffs the first rows
 * and then says line 1 whatever its line; `chunks` yields the file from its start.
 */
export function longRecordLine(chunks: Iterable<Text>, limit: number): number | undefined {
  const scanner = new RecordScanner();
  let start = 1;
  let length = 0;
  let first = true;
  for (const chunk of chunks) {
    for (let i = first ? afterBom(chunk) : 0; i < chunk.length; i++) {
      if (scanner.feed(codeAt(chunk, i)) === RECORD) {
        start = scanner.line;
        length = 0;
      } else if (++length > limit) return start;
    }
    first = false;
  }
  return undefined;
}
