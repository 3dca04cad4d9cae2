import { pyStr } from './jinja/values.js';

/**
 * Most model files use the template language for a few things only: `{{ ref('x') }}`,
 * `{{ source('src', 'x') }}`, `{{ config(key=literal, ...) }}` and a date variable such as
 * `'{{ ds }}'`. Compiling each of them to JavaScript with Nunjucks costs about a tenth of a
 * millisecond, which is most of the time of analyzing ten thousand models. A template made of text and those expressions alone
 * is rendered here instead, with the result Nunjucks would give; anything else (tags,
 * comments, filters, whitespace control, macros, other literals) goes to Nunjucks.
 */

/** A literal as Nunjucks parses it: a string without escapes, a whole number, a boolean, or a list of those. */
type Literal = string | number | boolean | readonly Literal[];

type Part =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'variable'; readonly name: string }
  | { readonly kind: 'ref'; readonly name: string }
  | { readonly kind: 'source'; readonly source: string; readonly table: string }
  | { readonly kind: 'config'; readonly keywords: readonly (readonly [string, Literal])[] };

export interface SimpleTemplate {
  readonly parts: readonly Part[];
  /** The global names the template reads; a macro of the same name would change its meaning. */
  readonly names: ReadonlySet<string>;
}

/** What rendering reads: the same functions and variables as a Nunjucks render. */
export interface SimpleHooks {
  readonly variables: Readonly<Record<string, unknown>>;
  ref(name: string): string;
  source(source: string, table: string): string;
  config(keywords: Record<string, unknown>): void;
}

const REF_CALL = /^\s*ref\s*\(\s*(?:'([^'\\\n]*)'|"([^"\\\n]*)")\s*\)\s*$/;
const SOURCE_CALL = /^\s*source\s*\(\s*(?:'([^'\\\n]*)'|"([^"\\\n]*)")\s*,\s*(?:'([^'\\\n]*)'|"([^"\\\n]*)")\s*\)\s*$/;
const CONFIG_CALL = /^\s*config\s*\(([\s\S]*)\)\s*$/;
const VARIABLE = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*$/;
/** A keyword argument's name, and a literal that is not a string or list: matched where the reader is. */
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER_OR_BOOLEAN = /(?:[0-9]+|true|false)/y;
/** Words the Nunjucks lexer reads as literals or operators, never as a variable's name. */
const KEYWORDS = new Set(['true', 'false', 'True', 'False', 'none', 'None', 'null', 'and', 'or', 'not', 'in', 'is', 'if', 'else']);

/**
 * The template as parts, or undefined when it uses anything beyond the simple forms (then
 * Nunjucks compiles it). `variables` are the names a render provides (`ds`, `this`, ...).
 */
export function parseSimpleTemplate(source: string, variables: ReadonlySet<string>): SimpleTemplate | undefined {
  // `#}` outside a comment is a syntax error to Nunjucks ("unexpected end of comment"), not text.
  if (source.includes('{%') || source.includes('{#') || source.includes('#}')) return undefined;
  const parts: Part[] = [];
  const names = new Set<string>();
  let at = 0;
  while (at < source.length) {
    const open = source.indexOf('{{', at);
    if (open < 0) {
      parts.push({ kind: 'text', text: source.slice(at) });
      break;
    }
    if (open > at) parts.push({ kind: 'text', text: source.slice(at, open) });
    const close = source.indexOf('}}', open + 2);
    if (close < 0) return undefined;
    const expr = source.slice(open + 2, close);
    // `{{-` and `-}}` trim whitespace; a `{{` inside the expression is a syntax question for Nunjucks.
    if (expr.startsWith('-') || expr.endsWith('-') || expr.includes('{{')) return undefined;
    const part = parseExpression(expr, variables);
    if (!part) return undefined;
    if (part.kind === 'variable') names.add(part.name);
    else names.add(part.kind);
    parts.push(part);
    at = close + 2;
  }
  return { parts, names };
}

function parseExpression(expr: string, variables: ReadonlySet<string>): Part | undefined {
  const ref = REF_CALL.exec(expr);
  if (ref) return { kind: 'ref', name: ref[1] ?? ref[2] };
  const source = SOURCE_CALL.exec(expr);
  if (source) return { kind: 'source', source: source[1] ?? source[2], table: source[3] ?? source[4] };
  const variable = VARIABLE.exec(expr);
  if (variable) {
    const name = variable[1];
    return variables.has(name) && !KEYWORDS.has(name) ? { kind: 'variable', name } : undefined;
  }
  const config = CONFIG_CALL.exec(expr);
  if (config) {
    const keywords = parseKeywords(config[1]);
    return keywords ? { kind: 'config', keywords } : undefined;
  }
  return undefined;
}

/** A tiny reader over the argument text of config(...). */
class Reader {
  at = 0;
  constructor(readonly text: string) {}
  skipSpace(): void {
    while (this.at < this.text.length) {
      const c = this.text.charCodeAt(this.at);
      // ASCII spaces by their codes; any other character as JavaScript's `\s` says.
      if (c === 32 || (c >= 9 && c <= 13) || (c >= 128 && /\s/.test(this.text[this.at]))) this.at++;
      else return;
    }
  }
  /** The text `re` (sticky) matches where the reader is, taken; undefined when it does not match there. */
  take(re: RegExp): string | undefined {
    re.lastIndex = this.at;
    const m = re.exec(this.text);
    if (!m) return undefined;
    this.at += m[0].length;
    return m[0];
  }
  peek(): string | undefined {
    this.skipSpace();
    return this.text[this.at];
  }
  eat(ch: string): boolean {
    if (this.peek() !== ch) return false;
    this.at++;
    return true;
  }
  done(): boolean {
    return this.peek() === undefined;
  }
}

function parseKeywords(text: string): (readonly [string, Literal])[] | undefined {
  const r = new Reader(text);
  const out: [string, Literal][] = [];
  const seen = new Set<string>();
  if (r.done()) return out;
  for (;;) {
    r.skipSpace();
    const name = r.take(NAME);
    if (name === undefined || KEYWORDS.has(name) || seen.has(name)) return undefined;
    if (!r.eat('=')) return undefined;
    if (r.peek() === '=') return undefined; // `==` is a comparison
    const value = parseLiteral(r);
    if (value === undefined) return undefined;
    seen.add(name);
    out.push([name, value]);
    if (r.done()) return out;
    if (!r.eat(',')) return undefined;
    if (r.done()) return undefined; // a trailing comma: let Nunjucks decide
  }
}

function parseLiteral(r: Reader): Literal | undefined {
  const ch = r.peek();
  if (ch === undefined) return undefined;
  let value: Literal | undefined;
  if (ch === "'" || ch === '"') {
    const end = r.text.indexOf(ch, r.at + 1);
    if (end < 0) return undefined;
    const s = r.text.slice(r.at + 1, end);
    if (s.includes('\\') || s.includes('\n')) return undefined;
    r.at = end + 1;
    value = s;
  } else if (ch === '[') {
    r.at++;
    const items: Literal[] = [];
    if (!r.eat(']')) {
      for (;;) {
        const item = parseLiteral(r);
        if (item === undefined) return undefined;
        items.push(item);
        if (r.eat(']')) break;
        if (!r.eat(',')) return undefined;
        if (r.peek() === ']') return undefined; // a trailing comma
      }
    }
    value = items;
  } else {
    const word = r.take(NUMBER_OR_BOOLEAN);
    if (word === undefined) return undefined;
    value = word === 'true' ? true : word === 'false' ? false : parseInt(word, 10);
  }
  // A literal followed by anything but `,` `]` or the end (a filter, an operator, an index) is an expression.
  const next = r.peek();
  if (next !== undefined && next !== ',' && next !== ']') return undefined;
  return value;
}

const copy = (v: Literal): unknown => (Array.isArray(v) ? v.map(copy) : v);

/**
 * Renders like Nunjucks with `throwOnUndefined`: returns undefined when a variable is
 * undefined or null, so that Nunjucks renders it and reports the error its own way.
 */
export function renderSimpleTemplate(t: SimpleTemplate, hooks: SimpleHooks): string | undefined {
  // Before any function is called, so that handing over to Nunjucks repeats nothing.
  for (const part of t.parts) {
    if (part.kind === 'variable' && (hooks.variables[part.name] === undefined || hooks.variables[part.name] === null)) return undefined;
  }
  let out = '';
  for (const part of t.parts) {
    switch (part.kind) {
      case 'text':
        out += part.text;
        break;
      case 'variable':
        // As Nunjucks prints it: Python's str() (`this` prints as its relation).
        out += pyStr(hooks.variables[part.name]);
        break;
      case 'ref':
        out += hooks.ref(part.name);
        break;
      case 'source':
        out += hooks.source(part.source, part.table);
        break;
      case 'config':
        // A fresh object each render, as Nunjucks builds its keyword arguments.
        hooks.config(Object.fromEntries(part.keywords.map(([k, v]) => [k, copy(v)])));
        break;
      default: {
        const never: never = part;
        throw new Error(`internal error: template part ${JSON.stringify(never)}`);
      }
    }
  }
  return out;
}
