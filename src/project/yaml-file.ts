import { LineCounter, parseDocument, isAlias, isMap, isScalar, isSeq, visit, type Document, type ScalarTag, type Tags } from 'yaml';
import { error, warning, type Diagnostic } from '../diagnostics/diagnostics.js';
import { parseYamlSubset } from './yaml-subset.js';

/** A parsed YAML mapping that remembers on which line each top-level key stands. */
export interface YamlSource {
  readonly file: string;
  readonly data: Readonly<Record<string, unknown>>;
  keyLine(key: string): number | undefined;
  /**
   * Line of a nested key, e.g. ['checks', 'warn', 'row_count']; an item of a list is named by
   * its index, e.g. ['models', '0', 'columns', '2', 'tests'].
   */
  pathLine(path: readonly string[]): number | undefined;
  /**
   * Top-level keys whose value carries a YAML anchor (`x-columns: &columns ...`): what a file
   * holds to repeat it elsewhere with `*columns` or `<<: *columns`, which dbt leaves alone.
   */
  readonly anchored?: ReadonlySet<string>;
  /**
   * The key paths (parts joined by NUL, as the lines') of plain floats whose value is whole
   * (`1.0`, `3.0e+2`): `data` holds their number, which JavaScript cannot tell from an int; a
   * template reads them as floats (see yaml-floats.ts), as dbt's Jinja reads PyYAML's.
   */
  readonly floats?: ReadonlySet<string>;
}

const NONE: ReadonlySet<string> = new Set();

/** A plain scalar YAML reads as a float (not an int written in hex, octal or binary): a point or an exponent. */
const FLOAT_TEXT = /^[-+]?(?:[0-9][0-9_]*(?::[0-5]?[0-9])*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?$|^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$/;

/** Whether a YAML node is a plain float whose value is whole (see YamlSource.floats). */
export function isWholeFloat(node: unknown): boolean {
  if (!isScalar(node) || typeof node.value !== 'number' || !Number.isInteger(node.value)) return false;
  // `!!float 1`: a float by its tag, whatever its text.
  return node.tag === FLOAT_TAG || (node.type === 'PLAIN' && typeof node.source === 'string' && FLOAT_TEXT.test(node.source));
}

const FLOAT_TAG = 'tag:yaml.org,2002:float';

/** A plain decimal integer's text. */
const DECIMAL_INT = /^[-+]?[0-9][0-9_]*$/;

/**
 * Why an integer YAML gives cannot be held (past 2^53, `12345678901234567891`, which a
 * JavaScript number makes 12345678901234567000): printed, compared or summed, it would be
 * another number than Python's, so it is refused where it is written. Undefined for anything else.
 */
export function inexactInt(node: unknown): string | undefined {
  if (!isScalar(node) || typeof node.value !== 'number' || !Number.isInteger(node.value) || Number.isSafeInteger(node.value)) return undefined;
  if (node.type !== 'PLAIN' || node.tag === FLOAT_TAG || typeof node.source !== 'string' || !DECIMAL_INT.test(node.source)) return undefined;
  return `${node.source} is an integer past 2^53, which pipe cannot hold exactly (it would be ${BigInt(node.value)})`;
}

/** The hint of inexactInt's refusal. */
export const INEXACT_INT_HINT = "quote it to give it as text ('12345678901234567891'), as an id is best given";

/** The first integer of a document that cannot be held exactly, with its place (see inexactInt). */
export function firstInexactInt(doc: Document): { readonly message: string; readonly offset: number } | undefined {
  let found: { message: string; offset: number } | undefined;
  visit(doc, {
    Scalar(_key, scalar) {
      const message = inexactInt(scalar);
      if (message === undefined) return undefined;
      found = { message, offset: scalar.range?.[0] ?? 0 };
      return visit.BREAK;
    },
  });
  return found;
}

/** Whether a key is a merge's (`<<: *anchor`): the yaml package gives it as a symbol. */
const isMerge = (key: unknown) => key === '<<' || (typeof key === 'symbol' && key.description === '<<');

/** A YAML source of data and the line of each key path (its parts joined by NUL). */
export function yamlSource(file: string, data: Readonly<Record<string, unknown>>, lines: ReadonlyMap<string, number>, anchored: ReadonlySet<string> = NONE, floats: ReadonlySet<string> = NONE): YamlSource {
  return { file, data, keyLine: (key) => lines.get(key), pathLine: (path) => lines.get(path.join('\u0000')), anchored, floats };
}

/**
 * How a file's YAML is read: pipe's own files as YAML 1.2 (`pipe`); a dbt project's as dbt reads
 * them, with PyYAML's safe_load (`pyyaml`): YAML 1.1, where `yes`, `no`, `on` and `off` are
 * booleans, `017` is octal (15), `1:30` is 90 and `1_000` is 1000, while `1e3` and `08` stay text.
 * Dates stay text: PyYAML makes date objects of them, which print as the same text.
 */
export type YamlDialect = 'pipe' | 'pyyaml';

/** PyYAML's booleans: YAML 1.1's without `y` and `n`. */
function pyyamlBooleans(tags: Tags): Tags {
  return tags.map((t) => {
    if (typeof t !== 'object' || t.tag !== 'tag:yaml.org,2002:bool') return t;
    const test = t.identify?.(true) ? /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/ : /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/;
    return { ...t, test } as ScalarTag;
  });
}

/** PyYAML's int and float resolvers (yaml.resolver.Resolver): a plain scalar that matches neither is text there. */
const PYYAML_NUMBER = new RegExp(
  `^(?:${[
    '[-+]?0b[0-1_]+',
    '[-+]?0[0-7_]+',
    '[-+]?(?:0|[1-9][0-9_]*)',
    '[-+]?0x[0-9a-fA-F_]+',
    '[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+',
    '[-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+][0-9]+)?',
    '\\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?',
    '[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\\.[0-9_]*',
    '[-+]?\\.(?:inf|Inf|INF)',
    '\\.(?:nan|NaN|NAN)',
  ].join('|')})$`,
);

/** Parsed as PyYAML's safe_load would: YAML 1.1 with its booleans, merge keys, and the plain numbers YAML 1.1 reads that PyYAML reads as text (`1e3`, `08`) given back as text. */
export function parsePyyaml(
  text: string,
  options: {
    readonly lineCounter?: LineCounter;
    readonly uniqueKeys?: boolean;
    readonly timestamps?: boolean;
    /** What a whole float (`1.0`) becomes in the document's data; left its number when absent. */
    readonly wholeFloat?: (value: number) => unknown;
  } = {},
): Document {
  const customTags = (tags: Tags) => pyyamlBooleans(options.timestamps ? tags : tags.filter((t) => typeof t !== 'object' || t.tag !== 'tag:yaml.org,2002:timestamp'));
  // logLevel error: what yaml would warn of goes nowhere but a Node warning on stderr (a key that is a mapping, stringified).
  const doc = parseDocument(text, { version: '1.1', merge: true, prettyErrors: false, customTags, lineCounter: options.lineCounter, uniqueKeys: options.uniqueKeys ?? true, logLevel: 'error' });
  // A block scalar (`description: >`) that ends the file with no line break after it: PyYAML
  // gives its text without a final line break (there is none to keep), yaml with one.
  const endsOpen = text.length > 0 && !/[\n\r]$/.test(text);
  visit(doc, {
    Scalar(_key, scalar) {
      // `!!float 1`, which the yaml package leaves as its text: the number PyYAML reads.
      if (scalar.tag === FLOAT_TAG && typeof scalar.value === 'string' && scalar.value.trim() !== '' && Number.isFinite(Number(scalar.value.replaceAll('_', '')))) scalar.value = Number(scalar.value.replaceAll('_', ''));
      if (typeof scalar.value === 'number' && scalar.type === 'PLAIN' && scalar.tag !== FLOAT_TAG && typeof scalar.source === 'string' && !PYYAML_NUMBER.test(scalar.source)) scalar.value = scalar.source;
      else if (options.wholeFloat && isWholeFloat(scalar)) scalar.value = options.wholeFloat(scalar.value as number);
      if (endsOpen && (scalar.type === 'BLOCK_FOLDED' || scalar.type === 'BLOCK_LITERAL') && typeof scalar.value === 'string' && scalar.value.endsWith('\n') && (scalar.range?.[2] ?? 0) >= text.length) {
        scalar.value = scalar.value.slice(0, -1);
      }
    },
  });
  return doc;
}

/**
 * What to do about two YAML errors that files written for dbt make, as PyYAML (which dbt
 * reads them with) lets them pass: a key given twice, and a quoted text whose later lines are
 * not indented past its key.
 */
function yamlErrorHint(code: string, text: string, offset: number): string | undefined {
  if (code === 'MULTIPLE_DOCS') return 'a file of pipe or dbt is one YAML document: remove the --- line, or put what follows it in a file of its own';
  if (code === 'DUPLICATE_KEY') return `${duplicateKeyName(text, offset)} is given twice in one mapping; keep the one you mean`;
  if (code === 'MISSING_CHAR' && text.charAt(offset - 1) !== '\n' && /["']/.test(text.slice(text.lastIndexOf('\n', offset - 1) + 1, offset))) {
    return 'a quoted text may go on over several lines only with those lines indented more than its key; indent them, or use a block scalar (key: >)';
  }
  return undefined;
}

/** Where the key of a line starts (1-based), past its indentation and a list's dashes. */
function keyColumn(line: string | undefined): number {
  return (/^[ ]*(?:-[ ]+)*/.exec(line ?? '')?.[0].length ?? 0) + 1;
}

/**
 * The last line before `line` that opens a `[` or `{` it does not close (outside quotes and
 * comments): where a one-line list or mapping lost its closing bracket.
 */
function unclosedFlow(text: string, file: string, line: number): Diagnostic | undefined {
  const lines = text.split('\n');
  for (let i = line - 2; i >= 0; i--) {
    const open: { char: string; column: number }[] = [];
    let quote: string | undefined;
    const l = lines[i];
    for (let c = 0; c < l.length; c++) {
      const ch = l[c];
      if (quote) {
        if (ch === quote) quote = undefined;
      } else if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '#' && (c === 0 || /\s/.test(l[c - 1]))) break;
      else if (ch === '[' || ch === '{') open.push({ char: ch, column: c + 1 });
      else if (ch === ']' || ch === '}') open.pop();
    }
    const first = open[0];
    if (first === undefined) continue;
    const closing = first.char === '[' ? ']' : '}';
    const what = first.char === '[' ? 'list' : 'mapping';
    // Closed on a line after it, not indented past its key: that line is the problem.
    // A bracket in a quoted text of another key closes nothing.
    const closedAt = lines.slice(i + 1, line).findIndex((l) => l.replace(/"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'/g, '').includes(closing));
    if (closedAt >= 0) {
      return error('yaml-syntax', `invalid YAML: the ${what} opened here with ${first.char} goes on to line ${i + 2 + closedAt}, and its lines after this one are not indented past its key`, { file, line: i + 1, column: first.column }, {
        hint: `indent its lines after this one deeper than the key on this line, or write it on one line`,
      });
    }
    return error('yaml-syntax', `invalid YAML: the ${what} opened here with ${first.char} is never closed`, { file, line: i + 1, column: first.column }, {
      hint: `end it with ${closing} on this line (a list or mapping in brackets may go on over lines only with its lines indented past its key)`,
    });
  }
  return undefined;
}

/**
 * Where a quoted text that is never closed opens (the yaml package says so at the end of the
 * file, into which it read the rest): the first quote that starts a value, outside comments
 * and other quoted texts, whose closing quote the file lacks.
 */
function unclosedQuote(text: string, file: string): Diagnostic | undefined {
  const lines = text.split('\n');
  let open: { quote: string; line: number; column: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    for (let c = 0; c < l.length; c++) {
      const ch = l[c];
      if (open) {
        if (open.quote === '"' && ch === '\\') c++;
        else if (ch === open.quote && open.quote === "'" && l[c + 1] === "'") c++;
        else if (ch === open.quote) open = undefined;
        continue;
      }
      if (ch === '#' && (c === 0 || /\s/.test(l[c - 1]))) break;
      // A quote starts a value where nothing but indentation, a dash, a colon, a bracket or a comma is before it.
      if ((ch === '"' || ch === "'") && /(^|[:\-[{,])\s*$/.test(l.slice(0, c))) open = { quote: ch, line: i + 1, column: c + 1 };
    }
  }
  if (open === undefined) return undefined;
  return error('yaml-syntax', `invalid YAML: the text quoted here with ${open.quote} is never closed, so YAML reads the rest of the file into it`, { file, line: open.line, column: open.column }, {
    hint: `end it with ${open.quote} where the text ends`,
  });
}

/**
 * Line `line`'s key, indented more than the dash of the list item above it and less than that
 * item's keys: said with the column its key should stand at. Undefined when the line is not so.
 */
function keyOffItem(text: string, file: string, line: number): Diagnostic | undefined {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const own = lines[line - 1] ?? '';
  const column = (/^[ ]*/.exec(own)?.[0].length ?? 0) + 1;
  if (!/^[ ]*[^\s#-][^#]*?:(\s|$)/.test(own)) return undefined;
  for (let above = line - 2; above >= 0; above--) {
    const m = /^([ ]*)-[ ]+(?=[^\s#])/.exec(lines[above]);
    if (!m) continue;
    const dash = m[1].length + 1;
    const keys = m[0].length + 1;
    // An item of a list nested deeper than the line: the line's list is further up.
    if (column <= dash) continue;
    if (column >= keys) return undefined;
    return error('yaml-syntax', `invalid YAML: this line's key is at column ${column}, between the dash of the list item on line ${above + 1} (column ${dash}) and that item's keys (column ${keys})`, { file, line, column }, {
      hint: `indent it to column ${keys}, as the item's other keys, to make it one of them`,
    });
  }
  return undefined;
}

/**
 * A word alone on its line where a key goes, up to the line of the first error (`tests` over
 * its list, `+column_types` over its entries): its colon is missing. It stands where a key of
 * the mapping around it stands, not deeper than the line above's key (so it cannot go on from
 * that line's value), and lines more deeply indented, or a list, follow it.
 */
function missingColon(text: string, file: string, upTo: number): Diagnostic | undefined {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const content = (line: string | undefined) => line !== undefined && !/^\s*(#.*)?$/.test(line);
  const indent = (line: string) => /^[ ]*/.exec(line)?.[0].length ?? 0;
  // The lines of a block scalar (`query: |`, `description: >`) are text, whatever words they hold.
  let scalarOver: number | undefined;
  for (let i = 0; i < Math.min(lines.length, upTo + 1); i++) {
    if (scalarOver !== undefined) {
      if (!content(lines[i]) || indent(lines[i]) > scalarOver) continue;
      scalarOver = undefined;
    }
    if (/^[ ]*(?:-[ ]+)*(?:[^\s#'"][^#]*?:[ \t]+)?[|>][+-]?[1-9]?[+-]?[ \t]*(#.*)?$/.test(lines[i])) {
      scalarOver = indent(lines[i]);
      continue;
    }
    const m = /^([ ]*)(\+?[A-Za-z_][\w.-]*)[ \t]*(#.*)?$/.exec(lines[i]);
    if (!m) continue;
    let above = i - 1;
    while (above >= 0 && !content(lines[above])) above--;
    let below = i + 1;
    while (below < lines.length && !content(lines[below])) below++;
    if (above < 0 || below >= lines.length) continue;
    const column = m[1].length + 1;
    const parent = /:[ \t]*(#.*)?$/.test(lines[above]);
    if (!(parent ? column > keyColumn(lines[above]) : column <= keyColumn(lines[above]))) continue;
    const next = lines[below];
    if (!(/^[ ]*-[ ]/.test(next) ? next.indexOf('-') + 1 >= column : keyColumn(next) > column)) continue;
    const word = m[2];
    return error('yaml-syntax', `invalid YAML: ${word} has no colon after it, so YAML reads the lines below as going on from it`, { file, line: i + 1, column: column + word.length }, {
      hint: `write ${word}: with its colon`,
    });
  }
  return undefined;
}

/**
 * A key that YAML reads as going on from the line before (`end` is its colon): most often a
 * line indented deeper than the key above it, whose plain value then takes it in.
 */
function keyOverLines(text: string, file: string, start: { line: number; col: number }, end: { line: number; col: number }): Diagnostic {
  const lines = text.split('\n');
  // A word alone on its line where a key goes (`tests` over its list): its colon is missing,
  // and YAML reads the lines below as going on from it.
  const word = /^([A-Za-z_][\w-]*)\s*$/.exec(lines[start.line - 1]?.slice(start.col - 1).replace(/\r$/, '') ?? '')?.[1];
  if (word !== undefined && start.col === keyColumn(lines[start.line - 1])) {
    return error('yaml-syntax', `invalid YAML: ${word} has no colon after it, so YAML reads the lines below as going on from it`, { file, line: start.line, column: start.col + word.length }, {
      hint: `write ${word}: with its colon`,
    });
  }
  // It started as the value of a key on its line (not as a key of its own, a quoted one over lines).
  const keyAt = keyColumn(lines[start.line - 1]);
  const deeper = start.col > keyAt && keyColumn(lines[end.line - 1]) > keyAt;
  const message = deeper
    ? `invalid YAML: this line is indented deeper than the key on line ${start.line}, so YAML reads it as going on from that key's value, and a key cannot go on over several lines`
    : `invalid YAML: a key cannot go on over several lines (this one starts on line ${start.line})`;
  return error('yaml-syntax', message, { file, line: end.line, column: end.col }, {
    hint: deeper ? `indent this line's key as the keys beside it: as deep as the key on line ${start.line}, or less` : 'put the key on one line',
    related: [{ message: 'read as one key from here to the colon', location: { file, line: start.line, column: start.col } }],
  });
}

/**
 * A line whose key starts at a column no mapping around it has its keys at (the yaml package
 * says so at column 1): most often indented deeper than the key above it, after a value that
 * ends on its line (quoted, or a `[flow]` list), which nothing can go on from. Said at the
 * key, with the line above's; undefined when the line holds no key.
 */
function keyAtBadColumn(text: string, file: string, from: number): Diagnostic | undefined {
  const lines = text.split('\n');
  // The package's position may be the blank lines and comments before it.
  let line = from;
  while (line < lines.length && /^\s*(#.*)?$/.test(lines[line - 1])) line++;
  const own = lines[line - 1] ?? '';
  const column = keyColumn(own);
  if (!/^[^\s#][^#]*?:(\s|$)/.test(own.slice(column - 1))) return undefined;
  let above = line - 1;
  while (above > 0 && /^\s*(#.*)?$/.test(lines[above - 1])) above--;
  if (above === 0) return undefined;
  const aboveColumn = keyColumn(lines[above - 1]);
  const deeper = column > aboveColumn;
  const message = deeper
    ? `invalid YAML: this line's key is indented deeper (column ${column}) than the key on line ${above} (column ${aboveColumn}), whose value ends on its line, so nothing can go on from it`
    : `invalid YAML: this line's key is at column ${column}, where no mapping around it has its keys (the key on line ${above} is at column ${aboveColumn})`;
  return error('yaml-syntax', message, { file, line, column }, {
    hint: deeper ? `indent this line's key as the keys beside it: as deep as the key on line ${above}, or less` : 'indent it as the keys of the mapping it belongs to',
    related: [{ message: 'the key above', location: { file, line: above, column: aboveColumn } }],
  });
}

/** The key given twice whose second place is at `offset`, quoted (`'marts'`), as the text writes it. */
function duplicateKeyName(text: string, offset: number): string {
  const key = /^\s*(?:-\s+)?("[^"]*"|'[^']*'|[^:#\n]+?)\s*:/.exec(text.slice(offset, text.indexOf('\n', offset) >>> 0))?.[1];
  return key === undefined ? 'this key' : `'${key}'`;
}

/** A key YAML 1.1 reads as a boolean or null (`off:`), which dbt stops on in dbt_project.yml and matches no folder or name. */
function wordKey(word: string, value: boolean | null, at: { readonly file: string; readonly line: number; readonly col: number }): Diagnostic {
  return warning('yaml-key', `the key ${word} is read as ${String(value)}, as dbt's YAML (1.1) reads it`, { file: at.file, line: at.line, column: at.col }, {
    hint: `quote it ('${word}':) if it names something; dbt itself stops on such a key in dbt_project.yml`,
  });
}

/** A YAML file's mapping and the line of each key; `lines`, when given, receives them (for yaml-cache.ts to keep). */
export function parseYaml(text: string, file: string, diagnostics: Diagnostic[], lines = new Map<string, number>(), dialect: YamlDialect = 'pipe'): YamlSource | undefined {
  // Most files are in the subset both versions of YAML read alike: read without the yaml package (see yaml-subset.ts).
  const subset = parseYamlSubset(text);
  if (subset === undefined) return parseYamlDocument(text, file, diagnostics, lines, dialect);
  for (const [path, line] of subset.lines) lines.set(path, line);
  return yamlSource(file, subset.data, lines);
}

/** parseYaml by the yaml package, whatever the text. */
export function parseYamlDocument(text: string, file: string, diagnostics: Diagnostic[], lines = new Map<string, number>(), dialect: YamlDialect = 'pipe'): YamlSource | undefined {
  const lineCounter = new LineCounter();
  // Merge keys (`<<: *defaults`) in both, as PyYAML merges them.
  let doc: Document = dialect === 'pyyaml' ? parsePyyaml(text, { lineCounter }) : parseDocument(text, { lineCounter, prettyErrors: false, merge: true, logLevel: 'error' });
  // A key given twice in a file written for dbt: read as PyYAML reads it, the last one, and said.
  if (dialect === 'pyyaml' && doc.errors.length > 0 && doc.errors.every((e) => e.code === 'DUPLICATE_KEY')) {
    for (const e of doc.errors) {
      const pos = lineCounter.linePos(e.pos[0]);
      diagnostics.push(warning('yaml-duplicate-key', `${duplicateKeyName(text, e.pos[0])} is given twice in one mapping: the last one is read, as dbt reads it`, { file, line: pos.line, column: pos.col }, { hint: 'keep the one you mean' }));
    }
    doc = parsePyyaml(text, { lineCounter: new LineCounter(), uniqueKeys: false });
  }
  if (doc.errors.length > 0) {
    // A key written without its colon makes errors of the lines after it: said once, at the key.
    const firstLine = Math.min(...doc.errors.map((e) => lineCounter.linePos(e.pos[0]).line));
    const colon = missingColon(text, file, firstLine);
    if (colon) {
      diagnostics.push(colon);
      return undefined;
    }
    // A tab that indents a line: the yaml package reports it with the errors the lines read wrongly then make (a key over lines, a list as a key).
    const tab = doc.errors.find((e) => e.code === 'TAB_AS_INDENT' && lineCounter.linePos(e.pos[0]).line === firstLine);
    if (tab) {
      diagnostics.push(
        error('yaml-syntax', `invalid YAML: a tab indents line ${firstLine}, and YAML indents with spaces only`, { file, line: firstLine, column: 1 }, {
          hint: 'replace the tab with spaces, as many as the lines beside it are indented by',
        }),
      );
      return undefined;
    }
    // A [list] or {mapping} written on one line and never closed: the errors come at the lines after it.
    const flow = doc.errors.find((e) => /^Flow (sequence|map) in block collection must be sufficiently indented and end with a [\]}]/.test(e.message));
    const unclosed = flow && unclosedFlow(text, file, lineCounter.linePos(flow.pos[0]).line);
    if (unclosed) {
      diagnostics.push(unclosed);
      return undefined;
    }
    // A quoted text never closed: the error comes at the end of the file.
    const quote = doc.errors.some((e) => /^Missing closing ["']quote/.test(e.message)) ? unclosedQuote(text, file) : undefined;
    if (quote) {
      diagnostics.push(quote);
      return undefined;
    }
    // A key indented less than the keys of the list item it belongs to (and more than its dash):
    // the yaml package's "Sequence item without - indicator", and errors of the lines after it.
    const unaligned = doc.errors.find((e) => e.message.startsWith('Sequence item without - indicator') && lineCounter.linePos(e.pos[0]).line === firstLine);
    const item = unaligned && keyOffItem(text, file, firstLine);
    if (item) {
      diagnostics.push(item);
      return undefined;
    }
    // Past the stack's depth the package may report more errors, whose number depends on the stack left: the first one says it all.
    const overflow = doc.errors.find((e) => e.message.startsWith('Maximum call stack size exceeded'));
    // A key over several lines is said once, where its line ends (the yaml package also reports the value it started as, at the line above).
    const overLines = doc.errors.filter((e) => e.code === 'MULTILINE_IMPLICIT_KEY' && lineCounter.linePos(e.pos[1]).line > lineCounter.linePos(e.pos[0]).line);
    for (const e of overLines) {
      const start = lineCounter.linePos(e.pos[0]);
      const end = lineCounter.linePos(e.pos[1]);
      diagnostics.push(keyOverLines(text, file, start, end));
    }
    const said = new Set(overLines.map((e) => e.pos[0]));
    for (const e of overflow ? [overflow] : doc.errors.filter((e) => !said.has(e.pos[0]))) {
      const pos = lineCounter.linePos(e.pos[0]);
      const badColumn = e.code === 'BAD_INDENT' && e.message.startsWith('All mapping items must start at the same column') ? keyAtBadColumn(text, file, pos.line) : undefined;
      if (badColumn) {
        diagnostics.push(badColumn);
        continue;
      }
      const hint = yamlErrorHint(e.code, text, e.pos[0]);
      // The yaml package's own wording names its API (parseAllDocuments).
      const first = e.message.split('\n')[0];
      const message =
        e.code === 'MULTIPLE_DOCS'
          ? 'the file holds more than one document: a second one starts here'
          : e === overflow
            ? 'lists or mappings nested too deep to be read (thousands inside one another)'
            : first;
      diagnostics.push(error('yaml-syntax', `invalid YAML: ${message}`, { file, line: pos.line, column: pos.col }, hint ? { hint } : undefined));
    }
    return undefined;
  }
  const inexact = firstInexactInt(doc);
  if (inexact) {
    const pos = lineCounter.linePos(inexact.offset);
    diagnostics.push(error('inexact-number', inexact.message, { file, line: pos.line, column: pos.col }, { hint: INEXACT_INT_HINT }));
    return undefined;
  }
  const contents = doc.contents;
  if (contents === null || (isScalar(contents) && contents.value === null)) {
    return yamlSource(file, {}, lines);
  }
  if (!isMap(contents)) {
    diagnostics.push(error('yaml-shape', `${file} must be a mapping of keys to values`, { file, line: 1 }));
    return undefined;
  }
  const floats = new Set<string>();
  /** Sets the line of every key path below `node`; `merged`: a merged mapping's, whose keys the mapping itself may give (and then keeps). */
  const walk = (node: unknown, prefix: string, merged = false) => {
    if (isWholeFloat(node) && prefix !== '') floats.add(prefix.slice(0, -1));
    const at = (path: string, range: readonly number[]) => {
      if (!(merged && lines.has(path))) lines.set(path, lineCounter.linePos(range[0]).line);
    };
    if (isSeq(node)) {
      node.items.forEach((item, i) => {
        const range = (item as { range?: [number, number, number] } | null)?.range;
        if (!range) return;
        const path = prefix + String(i);
        at(path, range);
        walk(item, `${path}\u0000`, merged);
      });
      return;
    }
    if (!isMap(node)) return;
    const merges: unknown[] = [];
    for (const item of node.items) {
      if (!isScalar(item.key) || !item.key.range) continue;
      if (isMerge(item.key.value)) {
        merges.push(item.value);
        continue;
      }
      const path = prefix + String(item.key.value);
      if (merged && lines.has(path)) continue;
      at(path, item.key.range);
      if (!merged && dialect === 'pyyaml' && (typeof item.key.value === 'boolean' || item.key.value === null) && item.key.type === 'PLAIN') {
        diagnostics.push(wordKey(text.slice(item.key.range[0], item.key.range[1]), item.key.value, { file, ...lineCounter.linePos(item.key.range[0]) }));
      }
      walk(item.value, `${path}\u0000`, merged);
    }
    // A merged key stands where its anchor gives it, unless the mapping gives it itself.
    for (const m of merges.flatMap((v) => (isSeq(v) ? v.items : [v]))) walk(isAlias(m) ? m.resolve(doc) : m, prefix, true);
  };
  walk(contents, '');
  const data = (doc.toJS() ?? {}) as Record<string, unknown>;
  const anchored = new Set(contents.items.flatMap((item) => (isScalar(item.key) && (item.value as { anchor?: string } | null)?.anchor ? [String(item.key.value)] : [])));
  return yamlSource(file, data, lines, anchored, floats);
}
