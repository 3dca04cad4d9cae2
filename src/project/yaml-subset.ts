/**
 * The YAML most files of a project are written in, read without the yaml package: block
 * mappings and sequences, one-line flow sequences, quoted and plain texts, integers, true,
 * false and null. A project of thousands of models has thousands of small YAML files (a
 * model's description and checks), and the yaml package takes about 0.1 ms a file to read one,
 * which was a sixth of compiling such a project for the first time; this reads them some twenty
 * times faster.
 *
 * It gives what yaml-file.ts's parse gives (the data, and the line of each key and item) or
 * nothing: anything outside this subset, and anything whose reading could differ between
 * pipe's YAML 1.2 and dbt's YAML 1.1 (`yes`, `on`, `True`, `017`, `1:30`, `1.5`, dates, `.inf`,
 * keys that are words of either), is left to the yaml package, as are anchors, tags, block
 * texts, flow mappings, multi-line texts and flow sequences, escapes, tabs, carriage returns,
 * a key given twice and every error. test/unit/yaml-subset.test.ts compares the two on
 * generated files and on every YAML file of the test fixtures.
 */

/** What a file in the subset holds: its data, and the line of each key path (its parts joined by NUL). */
export interface SubsetYaml {
  readonly data: Record<string, unknown>;
  readonly lines: Map<string, number>;
}

/** One line that holds more than a comment. */
interface Line {
  /** Where its content starts: the indentation, or for an item's content, past the `- `. */
  indent: number;
  text: string;
  readonly no: number;
}

/** Thrown where the text leaves the subset: the yaml package reads it then. */
class Outside extends Error {}
const outside = (): never => {
  throw new Outside();
};

/** A key: a word, perhaps with dbt_project.yml's `+`; none of YAML 1.1's words. */
const KEY = /^(\+?[A-Za-z_][A-Za-z0-9_.-]*):(?: +(.*))?$/;
/** Words that are booleans or null in YAML 1.2 or 1.1 (in some case), compared in lower case. */
const WORDS = new Set(['y', 'n', 'yes', 'no', 'on', 'off', 'true', 'false', 'null']);
/** An integer both read alike: no sign but minus (and no -0), no leading zero, no underscore, exactly representable. */
const INTEGER = /^(?:0|-?[1-9][0-9]{0,14})$/;
/** What no line of the subset has: tabs, carriage returns, a byte order mark, YAML 1.1's other line breaks, C0 and C1 controls. */
const NEVER = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff]/;

/** The file's data and lines when it is in the subset; undefined otherwise. */
export function parseYamlSubset(text: string): SubsetYaml | undefined {
  if (NEVER.test(text)) return undefined;
  const lines: Line[] = [];
  const raw = text.split('\n');
  for (let i = 0; i < raw.length; i++) {
    const t = raw[i];
    let indent = 0;
    while (t.charCodeAt(indent) === 32) indent++;
    if (indent === t.length || t.charCodeAt(indent) === 35 /* # */) continue;
    // Directives and document markers.
    if (indent === 0 && (t.startsWith('%') || t.startsWith('---') || t.startsWith('...'))) return undefined;
    lines.push({ indent, text: t.slice(indent).trimEnd(), no: i + 1 });
  }
  const reader = new Reader(lines);
  try {
    if (lines.length === 0) return { data: {}, lines: reader.found };
    if (lines[0].indent !== 0 || !KEY.test(lines[0].text)) return undefined;
    const data = reader.mapping(0, '');
    return reader.at < lines.length ? undefined : { data, lines: reader.found };
  } catch (e) {
    // Nested deeper than the stack holds: the yaml package's to read (or report), as outside the subset.
    if (e instanceof Outside || e instanceof RangeError) return undefined;
    throw e;
  }
}

class Reader {
  at = 0;
  readonly found = new Map<string, number>();

  constructor(private readonly lines: Line[]) {}

  /** The block mapping whose keys stand at `indent`, from the line at hand. */
  mapping(indent: number, prefix: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    while (this.at < this.lines.length) {
      const line = this.lines[this.at];
      if (line.indent < indent) break;
      if (line.indent > indent) outside();
      const m = KEY.exec(line.text) ?? outside();
      const key = m[1];
      if (WORDS.has(key.toLowerCase()) || key === '__proto__' || Object.hasOwn(out, key)) outside();
      const path = prefix + key;
      this.found.set(path, line.no);
      this.at++;
      const rest = m[2] === undefined ? '' : stripComment(m[2]);
      if (rest !== '') {
        // A line below it, deeper, is refused by the loop (a plain text going on, or a mapping under a value).
        out[key] = this.inline(rest, `${path}\u0000`, line.no, false);
        continue;
      }
      const next = this.lines[this.at];
      if (next === undefined || next.indent < indent) out[key] = null;
      else if (next.indent === indent) out[key] = isItem(next.text) ? this.sequence(indent, `${path}\u0000`) : null;
      else out[key] = isItem(next.text) ? this.sequence(next.indent, `${path}\u0000`) : this.mapping(next.indent, `${path}\u0000`);
    }
    return out;
  }

  /** The block sequence whose `- ` stand at `indent`, from the line at hand. */
  sequence(indent: number, prefix: string): unknown[] {
    const out: unknown[] = [];
    while (this.at < this.lines.length) {
      const line = this.lines[this.at];
      if (line.indent !== indent || !isItem(line.text)) {
        if (line.indent > indent) outside();
        break;
      }
      if (line.text.length < 3) outside();
      let skip = 2;
      while (line.text.charCodeAt(skip) === 32) skip++;
      const content = line.text.slice(skip);
      const path = prefix + String(out.length);
      this.found.set(path, line.no);
      if (isItem(content) || content.startsWith('#')) outside();
      if (KEY.test(content)) {
        // A mapping begun on the item's line: its keys stand where its first one does.
        line.indent = indent + skip;
        line.text = content;
        out.push(this.mapping(line.indent, `${path}\u0000`));
        continue;
      }
      this.at++;
      out.push(this.inline(stripComment(content), `${path}\u0000`, line.no, false));
    }
    return out;
  }

  /** A value on one line: a flow sequence, a quoted text or a plain scalar. */
  inline(text: string, prefix: string, no: number, flow: boolean): unknown {
    const c = text.charCodeAt(0);
    if (c === 91 /* [ */) {
      const [items, end] = this.flowSequence(text, 0, prefix, no);
      if (end !== text.length) outside();
      return items;
    }
    if (c === 39 /* ' */ || c === 34 /* " */) {
      const [value, end] = quoted(text, 0);
      if (end !== text.length) outside();
      return value;
    }
    return plain(text, flow);
  }

  /** The flow sequence opening at `start`: its items and where it ends. */
  private flowSequence(text: string, start: number, prefix: string, no: number): [unknown[], number] {
    const items: unknown[] = [];
    let i = skipSpaces(text, start + 1);
    if (text.charCodeAt(i) === 93 /* ] */) return [items, i + 1];
    for (;;) {
      const path = prefix + String(items.length);
      this.found.set(path, no);
      const c = text.charCodeAt(i);
      let end: number;
      if (c === 91) {
        const [inner, after] = this.flowSequence(text, i, `${path}\u0000`, no);
        items.push(inner);
        end = after;
      } else if (c === 39 || c === 34) {
        const [value, after] = quoted(text, i);
        items.push(value);
        end = after;
      } else {
        end = i;
        while (end < text.length && !',[]{}#:'.includes(text[end])) end++;
        items.push(plain(text.slice(i, end).trimEnd(), true));
      }
      i = skipSpaces(text, end);
      const sep = text.charCodeAt(i);
      if (sep === 93) return [items, i + 1];
      if (sep !== 44 /* , */) outside();
      i = skipSpaces(text, i + 1);
      // A trailing comma, or an empty item.
      if (text.charCodeAt(i) === 93 || text.charCodeAt(i) === 44) outside();
    }
  }
}

const isItem = (text: string) => text === '-' || text.startsWith('- ');

function skipSpaces(text: string, i: number): number {
  while (text.charCodeAt(i) === 32) i++;
  return i;
}

/** The value without a comment after it (a `#` after a space); quoted texts are read before any `#` in them is looked at. */
function stripComment(text: string): string {
  const c = text.charCodeAt(0);
  if (c === 35) return '';
  // A quoted text or flow sequence says where it ends: a comment after it is cut by the caller's check.
  if (c === 39 || c === 34 || c === 91) {
    const hash = lastComment(text);
    return hash === -1 ? text : text.slice(0, hash).trimEnd();
  }
  const hash = text.indexOf(' #');
  return hash === -1 ? text : text.slice(0, hash).trimEnd();
}

/** Where a comment after a closing quote or bracket begins, or -1: only when nothing but it follows the last closer. */
function lastComment(text: string): number {
  const hash = text.lastIndexOf(' #');
  if (hash === -1) return -1;
  const before = text.slice(0, hash).trimEnd();
  const last = before.charCodeAt(before.length - 1);
  // `# ...` inside the quotes, or after something other than the value's closer: left whole, and refused if it does not parse.
  return last === 39 || last === 34 || last === 93 ? hash : -1;
}

/** A quoted text starting at `start` on one line: its value and where it ends. */
function quoted(text: string, start: number): [string, number] {
  const q = text[start];
  let out = '';
  let i = start + 1;
  for (;;) {
    const close = text.indexOf(q, i);
    if (close === -1) outside();
    out += text.slice(i, close);
    // '' in a single-quoted text is one quote.
    if (q === "'" && text[close + 1] === "'") {
      out += "'";
      i = close + 2;
      continue;
    }
    if (q === '"' && out.includes('\\')) outside();
    return [out, close + 1];
  }
}

/** A plain scalar: a text, an integer, true, false or null, as both YAML versions read it. */
function plain(text: string, flow: boolean): unknown {
  if (text === '') outside();
  if (INTEGER.test(text)) return Number(text);
  if (text === '~' || text === 'null') return null;
  if (text === 'true') return true;
  if (text === 'false') return false;
  const c = text.charCodeAt(0);
  const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 /* _ */ || c === 40 /* ( */ || c === 47 /* / */ || c === 36 /* $ */ || c > 0xa0;
  if (!letter) outside();
  if (WORDS.has(text.toLowerCase())) outside();
  if (text.includes(': ') || text.endsWith(':') || text.includes(' #')) outside();
  if (flow && /[,[\]{}#:]/.test(text)) outside();
  return text;
}
