import { PYTHON_NUMBER, PYTHON_SPACE_MORE, STRING_ESCAPES } from './syntax.js';
import { BUNDLED, distUrl } from '../../install-paths.js';

/**
 * A parser of the templates most model files are, several times faster than Nunjucks' lexer
 * and parser: text, `{{ }}`, comments, and the tags `if`/`elif`/`else`, `for`, `set`, `do`,
 * `break` and `continue`, with Jinja's expressions. It gives the tree Nunjucks' parser (with
 * pipe's syntax, see syntax.ts) gives for the same text, node for node and position for
 * position, in the parts program.ts reads; anything it does not cover, or that Nunjucks would
 * refuse, it declines (undefined), and Nunjucks parses the template as ever. Its rules are
 * Nunjucks', down to the quirks (a data token per text run, a set block's `-%}` that trims
 * nothing, `[1, 2)` closing a list); a test holds every template it accepts to the program
 * Nunjucks' tree gives.
 */

/** A node as Nunjucks' parser makes it: a type, a 0-based position, and its fields. */
export interface ParsedNode {
  readonly typename: string;
  readonly lineno: number;
  readonly colno: number;
  [field: string]: unknown;
}

type TokenType =
  | 'data'
  | 'comment'
  | 'block-start'
  | 'block-end'
  | 'var-start'
  | 'var-end'
  | 'string'
  | 'int'
  | 'float'
  | 'boolean'
  | 'none'
  | 'symbol'
  | 'operator'
  | '('
  | ')'
  | '['
  | ']'
  | '{'
  | '}'
  | ','
  | ':'
  | '~'
  | '|';

interface Token {
  readonly type: TokenType;
  readonly value: string;
  readonly lineno: number;
  readonly colno: number;
}

/** Why a template is left to Nunjucks. */
class Decline extends Error {}
const decline = (why: string): never => {
  throw new Decline(why);
};

const COMPLEX_OPS = ['==', '===', '!=', '!==', '<=', '>=', '//', '**'];
const DELIMITER_TYPES: Readonly<Record<string, TokenType>> = { '(': '(', ')': ')', '[': '[', ']': ']', '{': '{', '}': '}', ',': ',', ':': ':', '~': '~', '|': '|' };

/** Whether the number at `start` may be one of Python's forms (an `e` or `_` after its digits): the regular expression decides. */
function pythonNumberAt(str: string, start: number): boolean {
  let at = start;
  while (classOf(str.charCodeAt(at)) & DIGIT) at++;
  if (str.charCodeAt(at) === DOT && classOf(str.charCodeAt(at + 1)) & DIGIT) for (at++; classOf(str.charCodeAt(at)) & DIGIT; ) at++;
  const next = str[at];
  return next === '_' || next === 'e' || next === 'E';
}

/** Character classes of Nunjucks' lexer, by char code (below 256). */
const WS = 1;
const DELIMITER = 2;
const DIGIT = 4;
const NAME_START = 8;
const NAME_PART = 16;
const CLASS = new Uint8Array(256);
for (const c of ' \n\t\r\u00A0') CLASS[c.charCodeAt(0)] |= WS;
// Python's other spaces separate tokens for Jinja (Nunjucks' lexer is told so too, syntax.ts).
const WIDE_SPACE = new Set<number>();
for (const c of PYTHON_SPACE_MORE) {
  if (c.charCodeAt(0) < 256) CLASS[c.charCodeAt(0)] |= WS;
  else WIDE_SPACE.add(c.charCodeAt(0));
}
for (const c of '()[]{}%*-+~/#,:|.<>=!') CLASS[c.charCodeAt(0)] |= DELIMITER;
for (let c = 48; c <= 57; c++) CLASS[c] |= DIGIT | NAME_PART;
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_') CLASS[c.charCodeAt(0)] |= NAME_START | NAME_PART;
const classOf = (code: number): number => (code < 256 ? CLASS[code] : WIDE_SPACE.has(code) ? WS : 0);
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const PERCENT = 37;
const HASH = 35;
const DASH = 45;
const DOT = 46;

/** Nunjucks' tokenizer, for the tokens of this subset. */
class Lexer {
  private index = 0;
  private inCode = false;
  /** `{` opened and not closed in the tag being read (syntax.ts). */
  private braces = 0;
  /** Where `line` starts, for positions: the lexer only moves forward. */
  private line = 0;
  private lineStart = 0;
  /** The first newline at or after `lineStart` (2^32 - 1: none): each is found once, not again from every token on its line. */
  private nextNewline: number;
  /** The next `#}` at or after the text being read (2^32 - 1: none), found once rather than at every text run. */
  private commentEnd = -1;

  constructor(private readonly str: string) {
    this.nextNewline = str.indexOf('\n') >>> 0;
  }

  private token(type: TokenType, value: string, start: number): Token {
    while (this.nextNewline < start) {
      this.line++;
      this.lineStart = this.nextNewline + 1;
      this.nextNewline = this.str.indexOf('\n', this.lineStart) >>> 0;
    }
    return { type, value, lineno: this.line, colno: start - this.lineStart };
  }

  next(): Token | null {
    if (this.index >= this.str.length) return null;
    return this.inCode ? this.code() : this.data();
  }

  private data(): Token {
    const str = this.str;
    const start = this.index;
    if (str.charCodeAt(start) === OPEN_BRACE) {
      const second = str.charCodeAt(start + 1);
      if (second === PERCENT || second === OPEN_BRACE) {
        const dash = str.charCodeAt(start + 2) === DASH;
        this.index += dash ? 3 : 2;
        this.inCode = true;
        this.braces = 0;
        return this.token(second === PERCENT ? 'block-start' : 'var-start', str.slice(start, this.index), start);
      }
      if (second === HASH) {
        const end = str.indexOf('#}', start + 2);
        if (end < 0) decline('unclosed comment');
        this.index = end + 2;
        return this.token('comment', str.slice(start, this.index), start);
      }
    }
    // Text up to the next tag; `#}` in it is Nunjucks' error.
    let at = start;
    if (this.commentEnd < at) this.commentEnd = str.indexOf('#}', at) >>> 0;
    for (;;) {
      const brace = str.indexOf('{', at);
      const hash = this.commentEnd === 0xffffffff ? -1 : this.commentEnd;
      if (hash >= 0 && (brace < 0 || hash < brace)) decline('end of comment in text');
      if (brace < 0) {
        at = str.length;
        break;
      }
      const after = str.charCodeAt(brace + 1);
      if (after === OPEN_BRACE || after === PERCENT || after === HASH) {
        at = brace;
        break;
      }
      at = brace + 1;
    }
    this.index = at;
    return this.token('data', str.slice(start, at), start);
  }

  private code(): Token | null {
    const str = this.str;
    for (;;) {
      const start = this.index;
      if (start >= str.length) return null;
      const code = str.charCodeAt(start);
      const cls = classOf(code);
      if (cls & DIGIT && str.charCodeAt(start - 1) !== DOT && pythonNumberAt(str, start)) {
        // Python's number forms (`1e-5`, `1_000`), read as pipe's lexer reads them (syntax.ts).
        const m = PYTHON_NUMBER.exec(str.slice(start, start + 64));
        if (m && /[eE_]/.test(m[0])) {
          this.index += m[0].length;
          const text = m[0].replace(/_/g, '');
          return this.token(/[.eE]/.test(text) ? 'float' : 'int', text, start);
        }
      }
      if (this.braces > 0 && code === CLOSE_BRACE) {
        this.index++;
        this.braces--;
        return this.token('}', '}', start);
      }
      if (code === 34 || code === 39) return this.strings();
      if (cls & WS) {
        while (this.index < str.length && classOf(str.charCodeAt(this.index)) & WS) this.index++;
        continue;
      }
      const dash = code === DASH ? 1 : 0;
      const a = str.charCodeAt(start + dash);
      const b = str.charCodeAt(start + dash + 1);
      if ((a === PERCENT || a === CLOSE_BRACE) && b === CLOSE_BRACE) {
        this.index += dash + 2;
        this.inCode = false;
        return this.token(a === PERCENT ? 'block-end' : 'var-end', str.slice(start, this.index), start);
      }
      if (code === 114 && str.charCodeAt(start + 1) === 47) decline('a regular expression literal');
      if (cls & DELIMITER) {
        this.index++;
        let op = str[start];
        const second = str[start + 1];
        const two = second === '=' || second === '/' || second === '*' ? str.slice(start, start + 2) : '';
        if (COMPLEX_OPS.includes(two)) {
          this.index++;
          op = two;
          const three = str.slice(start, start + 3);
          if (COMPLEX_OPS.includes(three)) {
            this.index++;
            op = three;
          }
        }
        const type = DELIMITER_TYPES[op] ?? 'operator';
        if (type === '{') this.braces++;
        else if (type === '}') this.braces = Math.max(0, this.braces - 1);
        return this.token(type, op, start);
      }
      let end = start;
      let all = NAME_PART | DIGIT;
      for (; end < str.length; end++) {
        const c = classOf(str.charCodeAt(end));
        if (c & (WS | DELIMITER)) break;
        // Any other character (a quote, `$`, non-ASCII) is part of the word for Nunjucks, and a name of other characters here.
        if (str.charCodeAt(end) >= 256 || !(c & NAME_PART)) all = 0;
        all &= c;
      }
      const word = str.slice(start, end);
      this.index = end;
      if (all & DIGIT) {
        if (str.charCodeAt(this.index) !== DOT) return this.token('int', word, start);
        this.index++;
        let decimals = this.index;
        while (decimals < str.length && classOf(str.charCodeAt(decimals)) & DIGIT) decimals++;
        if (decimals === this.index) decline('a number ending in a dot');
        const text = `${word}.${str.slice(this.index, decimals)}`;
        this.index = decimals;
        return this.token('float', text, start);
      }
      if (word === 'true' || word === 'false') return this.token('boolean', word, start);
      if (word === 'none' || word === 'null') return this.token('none', word, start);
      if (!all || !(classOf(code) & NAME_START)) decline('a name of other characters');
      return this.token('symbol', word, start);
    }
  }

  /** String literals next to each other (`'a' "b"`, and so `"""text"""`) are one, as in Jinja and Python. */
  private strings(): Token {
    const str = this.str;
    const first = this.string(str[this.index]);
    let value = first.value;
    for (;;) {
      let at = this.index;
      while (at < str.length && classOf(str.charCodeAt(at)) & WS) at++;
      const code = str.charCodeAt(at);
      if (code !== 34 && code !== 39) break;
      this.index = at;
      value += this.string(str[at]).value;
    }
    return value === first.value ? first : { ...first, value };
  }

  /** A string literal as pipe's lexer reads it (syntax.ts): Python's escapes, an unknown one kept. */
  private string(quote: string): Token {
    const str = this.str;
    const start = this.index;
    const close = str.indexOf(quote, start + 1);
    const escape = str.indexOf('\\', start + 1);
    if (close >= 0 && (escape < 0 || escape > close)) {
      this.index = close + 1;
      return this.token('string', str.slice(start + 1, close), start);
    }
    let at = start + 1;
    let out = '';
    for (;;) {
      if (at >= str.length) decline('an unclosed string');
      const ch = str[at];
      if (ch === quote) break;
      at++;
      if (ch !== '\\') {
        out += ch;
        continue;
      }
      const e = str[at];
      if (e !== undefined && Object.hasOwn(STRING_ESCAPES, e)) {
        out += STRING_ESCAPES[e];
        at++;
      } else if (e !== undefined && /[0-7xuU]/.test(e)) decline('a numeric escape');
      else out += '\\';
    }
    this.index = at + 1;
    return this.token('string', out, start);
  }
}

const CLOSERS = new Set<TokenType>([')', ']', '}']);
/** Words that end an `is` test rather than being its argument (syntax.ts). */
const NOT_ARGUMENT = ['else', 'or', 'and', 'is', 'if', 'in', 'not'];
const COMPARE = ['==', '===', '!=', '!==', '<', '>', '<=', '>='];

/** A node: `fields` (a fresh object at every call) given its type and position, not copied. */
const node = (typename: string, at: { readonly lineno: number; readonly colno: number }, fields: Record<string, unknown> = {}): ParsedNode => {
  fields.typename = typename;
  fields.lineno = at.lineno;
  fields.colno = at.colno;
  return fields as ParsedNode;
};

/** The operators of each of Python's levels read left to right (syntax.ts's chain), and their nodes. */
const ADD_OPS: Readonly<Record<string, string>> = { '+': 'Add', '-': 'Sub' };
const MUL_OPS: Readonly<Record<string, string>> = { '*': 'Mul', '/': 'Div', '//': 'FloorDiv', '%': 'Mod' };

/** Nunjucks' parser with pipe's changes to it, for the subset. */
class Parser {
  private peeked: Token | null = null;
  private dropLeadingWhitespace = false;
  private breakOnBlocks: readonly string[] | null = null;
  private loopDepth = 0;
  /** Loop filters read so far: each gathers its items under a name of its own. */
  private loopFilters = 0;

  constructor(private readonly lexer: Lexer) {}

  private nextToken(): Token | null {
    if (this.peeked) {
      const t = this.peeked;
      this.peeked = null;
      return t;
    }
    return this.lexer.next();
  }

  private peekToken(): Token | null {
    this.peeked ??= this.lexer.next();
    return this.peeked;
  }

  private pushToken(t: Token | null): void {
    if (this.peeked) decline('two tokens pushed back');
    this.peeked = t;
  }

  private skip(type: TokenType): boolean {
    const t = this.peekToken();
    if (!t || t.type !== type) return false;
    this.nextToken();
    return true;
  }

  private skipValue(type: TokenType, value: string): boolean {
    const t = this.peekToken();
    if (!t || t.type !== type || t.value !== value) return false;
    this.nextToken();
    return true;
  }

  private skipSymbol(value: string): boolean {
    return this.skipValue('symbol', value);
  }

  private expect(type: TokenType): Token {
    const t = this.nextToken();
    if (!t || t.type !== type) return decline(`expected ${type}`);
    return t;
  }

  parseRoot(): ParsedNode {
    const children = this.parseNodes();
    if (this.peekToken()) decline('left over');
    return node('Root', { lineno: 0, colno: 0 }, { children });
  }

  private parseNodes(): ParsedNode[] {
    const buf: ParsedNode[] = [];
    for (let tok = this.nextToken(); tok; tok = this.nextToken()) {
      if (tok.type === 'data') {
        let data = tok.value;
        const next = this.peekToken();
        if (this.dropLeadingWhitespace) {
          data = data.replace(/^\s*/, '');
          this.dropLeadingWhitespace = false;
        }
        if (next && ((next.type === 'block-start' && next.value.endsWith('-')) || (next.type === 'var-start' && next.value.charAt(2) === '-') || (next.type === 'comment' && next.value.charAt(2) === '-'))) {
          data = data.replace(/\s*$/, '');
        }
        buf.push(node('Output', tok, { children: [node('TemplateData', tok, { value: data })] }));
      } else if (tok.type === 'block-start') {
        this.dropLeadingWhitespace = false;
        const n = this.parseStatement();
        if (!n) break;
        buf.push(n);
      } else if (tok.type === 'var-start') {
        const e = this.parseExpression();
        this.dropLeadingWhitespace = false;
        const end = this.nextToken();
        if (!end || end.type !== 'var-end') decline('expected variable end');
        this.dropLeadingWhitespace = end!.value.charAt(end!.value.length - 3) === '-';
        buf.push(node('Output', tok, { children: [e] }));
      } else if (tok.type === 'comment') {
        this.dropLeadingWhitespace = tok.value.charAt(tok.value.length - 3) === '-';
      } else decline('a token at the top level');
    }
    return buf;
  }

  private parseUntilBlocks(...names: string[]): ParsedNode {
    const prev = this.breakOnBlocks;
    this.breakOnBlocks = names;
    const children = this.parseNodes();
    this.breakOnBlocks = prev;
    return node('NodeList', { lineno: 0, colno: 0 }, { children });
  }

  private advanceAfterBlockEnd(name?: string): Token {
    if (!name) {
      const t = this.peekToken();
      if (!t || t.type !== 'symbol') decline('expected a tag name');
      this.nextToken();
    }
    const tok = this.nextToken();
    if (!tok || tok.type !== 'block-end') return decline('expected block end');
    if (tok.value.charAt(0) === '-') this.dropLeadingWhitespace = true;
    return tok;
  }

  private parseStatement(): ParsedNode | null {
    const tok = this.peekToken();
    if (!tok || tok.type !== 'symbol') return decline('tag name expected');
    if (this.breakOnBlocks?.includes(tok.value)) return null;
    switch (tok.value) {
      case 'if':
        return this.parseIf();
      case 'for':
        return this.parseFor();
      case 'set':
        return this.parseSet();
      case 'filter':
        return this.outsideLoops(() => this.parseFilterStatement());
      case 'do': {
        this.nextToken();
        const expr = this.parseExpression();
        this.advanceAfterBlockEnd('do');
        return node('PipeDo', tok, { expr });
      }
      case 'break':
      case 'continue':
        this.nextToken();
        if (!this.loopDepth) decline('loop control outside a loop');
        this.advanceAfterBlockEnd(tok.value);
        return node('PipeLoopControl', tok, { keyword: tok.value });
      default:
        return decline(`the tag ${tok.value}`);
    }
  }

  /** Macro, call, set and filter bodies start afresh (syntax.ts's outsideLoops). */
  private outsideLoops<T>(fn: () => T): T {
    const depth = this.loopDepth;
    this.loopDepth = 0;
    try {
      return fn();
    } finally {
      this.loopDepth = depth;
    }
  }

  private parseIf(): ParsedNode {
    const tag = this.nextToken()!;
    const cond = this.parseExpression();
    this.advanceAfterBlockEnd(tag.value);
    const body = this.parseUntilBlocks('elif', 'elseif', 'else', 'endif');
    const tok = this.peekToken();
    let otherwise: ParsedNode | null = null;
    switch (tok?.value) {
      case 'elseif':
      case 'elif':
        otherwise = this.parseIf();
        break;
      case 'else':
        this.advanceAfterBlockEnd();
        otherwise = this.parseUntilBlocks('endif');
        this.advanceAfterBlockEnd();
        break;
      case 'endif':
        this.advanceAfterBlockEnd();
        break;
      default:
        decline('an if without its end');
    }
    return node('If', tag, { cond, body, else_: otherwise });
  }

  private parseFor(): ParsedNode {
    const forTok = this.nextToken()!;
    this.loopDepth++;
    let name: ParsedNode;
    let arr: ParsedNode;
    let body: ParsedNode;
    let otherwise: ParsedNode | null = null;
    try {
      // Jinja's targets may be in parentheses: `for (key, value) in items`.
      const open = this.peekToken();
      const parenthesized = open?.type === '(' && this.skip('(');
      name = this.parsePrimary();
      if (name.typename !== 'Symbol') decline('a loop variable that is not a name');
      if (this.peekToken()?.type === ',') {
        const children = [name];
        while (this.skip(',')) {
          if (parenthesized && this.peekToken()?.type === ')') break;
          children.push(this.parsePrimary());
        }
        if (children.some((c) => c.typename !== 'Symbol')) decline('a loop variable that is not a name');
        name = node('Array', name, { children });
      }
      if (parenthesized) this.expect(')');
      if (!this.skipSymbol('in')) decline('expected in');
      arr = this.parseExpression();
      this.advanceAfterBlockEnd(forTok.value);
      body = this.parseUntilBlocks('endfor', 'else');
      if (this.skipSymbol('else')) {
        this.advanceAfterBlockEnd('else');
        otherwise = this.parseUntilBlocks('endfor');
      }
      this.advanceAfterBlockEnd();
    } finally {
      this.loopDepth--;
    }
    const names = name.typename === 'Array' ? (name.children as ParsedNode[]).length : 1;
    const loop = (over: ParsedNode, inner: ParsedNode, orElse: ParsedNode | null) =>
      node('For', forTok, { name, arr: node('PipeLoopSource', over, { expr: over, names }), body: node('PipeIterationScope', forTok, { body: inner }), else_: orElse });
    // Jinja's loop filter, `for x in items if cond`, read by Nunjucks as `items if cond` (the
    // whole loop or none of it): the items that pass, gathered first, are what the loop runs
    // over, so that `loop.index`, `loop.length` and `else` count them alone, as in Jinja.
    if (arr.typename === 'InlineIf' && arr.else_ === null) {
      const kept = node('Symbol', forTok, { value: `__pipe_loop_filter_${++this.loopFilters}` });
      const item = name.typename === 'Array' ? node('Array', name, { children: name.children }) : name;
      const keep = node('PipeDo', forTok, {
        expr: node('FunCall', forTok, {
          name: node('LookupVal', forTok, { target: kept, val: node('Literal', forTok, { value: 'append' }), dot: true }),
          args: node('NodeList', forTok, { children: [item] }),
        }),
      });
      const cond = arr.cond as ParsedNode;
      const gather = node('If', cond, { cond, body: node('NodeList', forTok, { children: [keep] }), else_: null });
      return node('NodeList', forTok, {
        children: [
          node('Set', forTok, { targets: [kept], value: node('Array', forTok, { children: [] }) }),
          loop(arr.body as ParsedNode, node('NodeList', forTok, { children: [gather] }), null),
          loop(kept, body, otherwise),
        ],
      });
    }
    return loop(arr, body, otherwise);
  }

  private parseSet(): ParsedNode {
    return this.outsideLoops(() => {
      const tag = this.nextToken()!;
      const targets: ParsedNode[] = [];
      for (;;) {
        targets.push(this.parsePrimary());
        if (!this.skip(',')) break;
      }
      let value: ParsedNode | null = null;
      let body: ParsedNode | undefined;
      if (!this.skipValue('operator', '=')) {
        // `{% set x -%}`: its `-` trims the block's leading whitespace, as in Jinja (and pipe's Nunjucks, see syntax.ts).
        const end = this.peekToken();
        if (!this.skip('block-end')) decline('expected = or block end');
        if (end!.value.charAt(0) === '-') this.dropLeadingWhitespace = true;
        body = node('Capture', tag, { body: this.parseUntilBlocks('endset') });
        this.advanceAfterBlockEnd();
      } else {
        value = this.parseExpression();
        // `{% set a, b = x, y %}`: values after a comma make a tuple, as in Jinja.
        if (this.peekToken()?.type === ',') {
          const children = [value];
          while (this.skip(',')) children.push(this.parseExpression());
          value = node('Group', value, { children });
        }
        this.advanceAfterBlockEnd(tag.value);
      }
      const attr = targets.find((t) => t.typename === 'LookupVal');
      if (attr) {
        if (targets.length > 1 || !attr.dot || value === null) decline('a set of an attribute');
        return node('PipeSetAttr', tag, { target: attr.target, attr: (attr.val as ParsedNode).value, value });
      }
      if (targets.some((t) => t.typename !== 'Symbol')) decline('a set of an expression');
      if (targets.length > 1 && value !== null) return node('PipeUnpack', tag, { targets, value });
      return node('Set', tag, { targets, value, ...(body ? { body } : {}) });
    });
  }

  /** Jinja's conditional expression: its else is one too (`a if x else b if y else c`), and it may be conditional again (`a if x if y`). */
  parseExpression(): ParsedNode {
    let n = this.parseOr();
    while (this.skipSymbol('if')) {
      const cond = this.parseOr();
      const body = n;
      n = node('InlineIf', body, { cond, body, else_: this.skipSymbol('else') ? this.parseExpression() : null });
    }
    return n;
  }

  private parseOr(): ParsedNode {
    let n = this.parseAnd();
    while (this.skipSymbol('or')) n = node('Or', n, { left: n, right: this.parseAnd() });
    return n;
  }

  private parseAnd(): ParsedNode {
    let n = this.parseNot();
    while (this.skipSymbol('and')) n = node('And', n, { left: n, right: this.parseNot() });
    return n;
  }

  private parseNot(): ParsedNode {
    const tok = this.peekToken();
    if (tok && this.skipSymbol('not')) return node('Not', tok, { target: this.parseNot() });
    return this.parseIn();
  }

  private parseIn(): ParsedNode {
    let n = this.parseIs();
    for (;;) {
      const tok = this.nextToken();
      if (!tok) break;
      const invert = tok.type === 'symbol' && tok.value === 'not';
      if (!invert) this.pushToken(tok);
      if (this.skipSymbol('in')) {
        n = node('In', n, { left: n, right: this.parseIs() });
        if (invert) n = node('Not', n, { target: n });
      } else {
        if (invert) this.pushToken(tok);
        break;
      }
    }
    return n;
  }

  private parseIs(): ParsedNode {
    let left = this.parseCompare();
    if (!this.skipSymbol('is')) return left;
    const negated = this.skipSymbol('not');
    const tok = this.nextToken();
    const name = tok?.type === 'symbol' ? tok.value : tok?.type === 'none' ? 'none' : tok?.type === 'boolean' ? tok.value : decline('expected a test name');
    let test = node('Symbol', tok!, { value: name });
    const next = this.peekToken();
    const argument = next !== null && ['string', 'int', 'float', 'boolean', 'none', '[', '{'].includes(next.type);
    const named = next?.type === 'symbol' && !NOT_ARGUMENT.includes(next.value);
    if (next?.type === '(') test = node('FunCall', tok!, { name: test, args: this.parseSignature() });
    else if (argument || named) test = node('FunCall', tok!, { name: test, args: node('NodeList', next!, { children: [this.parsePrimary()] }) });
    left = node('Is', left, { left, right: test });
    // Filters after a test take its result, as Jinja's do: `flag is not true | as_bool` is `(flag is not true) | as_bool`.
    return this.parseFilter(negated ? node('Not', left, { target: left }) : left);
  }

  private parseCompare(): ParsedNode {
    const expr = this.parseConcat();
    const ops: ParsedNode[] = [];
    for (;;) {
      const tok = this.nextToken();
      if (!tok) break;
      if (COMPARE.includes(tok.value) && tok.type === 'operator') ops.push(node('CompareOperand', tok, { expr: this.parseConcat(), type: tok.value }));
      else {
        this.pushToken(tok);
        break;
      }
    }
    return ops.length ? node('Compare', ops[0], { expr, ops }) : expr;
  }

  private parseConcat(): ParsedNode {
    let n = this.parseAdd();
    while (this.skipValue('~', '~')) n = node('Concat', n, { left: n, right: this.parseAdd() });
    return n;
  }

  /** The node of the operator of `ops` that comes next, taken; undefined when another token comes. */
  private skipOperator(ops: Readonly<Record<string, string>>): string | undefined {
    const t = this.peekToken();
    if (t?.type !== 'operator' || !Object.hasOwn(ops, t.value)) return undefined;
    this.nextToken();
    return ops[t.value];
  }

  private parseAdd(): ParsedNode {
    let left = this.parseMul();
    for (let op = this.skipOperator(ADD_OPS); op !== undefined; op = this.skipOperator(ADD_OPS)) left = node(op, left, { left, right: this.parseMul() });
    return left;
  }

  private parseMul(): ParsedNode {
    let left = this.parsePow();
    for (let op = this.skipOperator(MUL_OPS); op !== undefined; op = this.skipOperator(MUL_OPS)) left = node(op, left, { left, right: this.parsePow() });
    return left;
  }

  private parsePow(): ParsedNode {
    let n = this.parseUnary();
    while (this.skipValue('operator', '**')) n = node('Pow', n, { left: n, right: this.parseUnary() });
    return n;
  }

  private parseUnary(noFilters = false): ParsedNode {
    const tok = this.peekToken();
    let n: ParsedNode;
    if (tok && this.skipValue('operator', '-')) n = node('Neg', tok, { target: this.parseUnary(true) });
    else if (tok && this.skipValue('operator', '+')) n = node('Pos', tok, { target: this.parseUnary(true) });
    else n = this.parsePrimary();
    return noFilters ? n : this.parseFilter(n);
  }

  private parsePrimary(): ParsedNode {
    const tok = this.nextToken();
    if (!tok) return decline('expected an expression');
    let n: ParsedNode;
    switch (tok.type) {
      case 'string':
        n = node('Literal', tok, { value: tok.value });
        break;
      case 'int':
        n = node('Literal', tok, { value: parseInt(tok.value, 10) });
        break;
      case 'float':
        // `5.0` is a float, which prints as one (see program.ts).
        n = node('Literal', tok, { value: parseFloat(tok.value), float: true });
        break;
      case 'boolean':
        n = node('Literal', tok, { value: tok.value === 'true' });
        break;
      case 'none':
        n = node('Literal', tok, { value: null });
        break;
      case 'symbol':
        n = node('Symbol', tok, { value: tok.value });
        break;
      default:
        this.pushToken(tok);
        n = this.parseAggregate();
    }
    return this.parsePostfix(n);
  }

  private parseAggregate(): ParsedNode {
    const tok = this.nextToken();
    const typename = tok?.type === '(' ? 'Group' : tok?.type === '[' ? 'Array' : tok?.type === '{' ? 'Dict' : decline('unexpected token');
    const children: ParsedNode[] = [];
    const agg = node(typename, tok!, { children });
    for (;;) {
      const next = this.peekToken();
      if (next && CLOSERS.has(next.type)) {
        this.nextToken();
        break;
      }
      if (children.length > 0) {
        if (!this.skip(',')) decline('expected a comma');
        const after = this.peekToken();
        if (after && CLOSERS.has(after.type)) {
          this.nextToken();
          agg.trailingComma = true;
          break;
        }
      }
      if (typename === 'Dict') {
        // A key is any expression, as in Jinja: `{column.name | lower: column.dtype}`.
        const key = this.parseExpression();
        if (!this.skip(':')) decline('expected a colon');
        children.push(node('Pair', key, { key, value: this.parseExpression() }));
      } else {
        children.push(this.parseExpression());
        // A colon here is a slice, which Nunjucks reads on another path.
        if (this.peekToken()?.type === ':') decline('a slice');
      }
    }
    return agg;
  }

  private parsePostfix(target: ParsedNode): ParsedNode {
    let result = target;
    for (let tok = this.peekToken(); tok; tok = this.peekToken()) {
      if (tok.type === '(') {
        result = node('FunCall', tok, { name: result, args: this.parseSignature() });
      } else if (tok.type === '[') {
        const lookup = this.parseAggregate();
        const children = lookup.children as ParsedNode[];
        if (children.length !== 1) decline('an index of other than one item');
        result = node('LookupVal', tok, { target: result, val: children[0] });
      } else if (tok.type === 'operator' && tok.value === '.') {
        this.nextToken();
        const name = this.nextToken();
        if (!name || name.type !== 'symbol') return decline('expected a name after the dot');
        result = node('LookupVal', tok, { target: result, val: node('Literal', name, { value: name.value }), dot: true });
      } else break;
    }
    return result;
  }

  /** A call's arguments (syntax.ts's parseSignature): positional ones, *list, name=value, **dict. */
  private parseSignature(): ParsedNode {
    const open = this.nextToken()!;
    const children: ParsedNode[] = [];
    const keywords: ParsedNode[] = [];
    let star: ParsedNode | undefined;
    let doubleStar: ParsedNode | undefined;
    const closes = () => this.skip(')');
    for (let first = true; !closes(); first = false) {
      if (!first) {
        if (!this.skip(',')) decline('expected a comma between arguments');
        if (closes()) break;
      }
      const at = this.peekToken();
      if (!at) decline('an unclosed call');
      if (this.skipValue('operator', '*')) {
        if (star || doubleStar) decline('argument order');
        star = node('PipeStar', at!, { expr: this.parseExpression() });
      } else if (this.skipValue('operator', '**')) {
        if (doubleStar) decline('argument order');
        doubleStar = node('PipeDoubleStar', at!, { expr: this.parseExpression() });
      } else {
        const arg = this.parseExpression();
        if (this.skipValue('operator', '=')) {
          if (doubleStar) decline('argument order');
          keywords.push(node('Pair', arg, { key: arg, value: this.parseExpression() }));
        } else {
          if (star || doubleStar || keywords.length > 0) decline('argument order');
          children.push(arg);
        }
      }
    }
    if (star) children.push(star);
    if (doubleStar) children.push(doubleStar);
    if (keywords.length > 0) children.push(node('KeywordArgs', open, { children: keywords }));
    return node('NodeList', open, { children });
  }

  private parseFilter(target: ParsedNode): ParsedNode {
    let n = target;
    while (this.skip('|')) {
      const name = this.parseFilterName();
      n = node('Filter', name, { name, args: node('NodeList', name, { children: [n, ...this.parseFilterArgs()] }) });
    }
    return n;
  }

  private parseFilterName(): ParsedNode {
    const tok = this.expect('symbol');
    let value = tok.value;
    while (this.skipValue('operator', '.')) value += `.${this.expect('symbol').value}`;
    return node('Symbol', tok, { value });
  }

  private parseFilterArgs(): ParsedNode[] {
    if (this.peekToken()?.type !== '(') return [];
    const args = this.parseSignature().children as ParsedNode[];
    // Nunjucks reads on as a postfix, and takes the last call's arguments (or fails): declined.
    const next = this.peekToken();
    if (next && (next.type === '(' || next.type === '[' || (next.type === 'operator' && next.value === '.'))) decline('a postfix after filter arguments');
    return args;
  }

  /** `{% filter name(args) %}...{% endfilter %}`: the body's output through the filter. */
  private parseFilterStatement(): ParsedNode {
    const filterTok = this.nextToken()!;
    const name = this.parseFilterName();
    const args = this.parseFilterArgs();
    this.advanceAfterBlockEnd(filterTok.value);
    const body = node('Capture', name, { body: this.parseUntilBlocks('endfilter') });
    this.advanceAfterBlockEnd();
    return node('Output', name, { children: [node('Filter', name, { name, args: node('NodeList', name, { children: [body, ...args] }) })] });
  }
}

/**
 * The tree Nunjucks' parser would give for `source`, or undefined when the template is
 * outside this parser's subset (or options change how Nunjucks reads templates).
 */
export function parseTemplate(source: string, opts: { readonly trimBlocks?: unknown; readonly lstripBlocks?: unknown; readonly tags?: unknown }): ParsedNode | undefined {
  if (opts.trimBlocks || opts.lstripBlocks || opts.tags) return undefined;
  try {
    return new Parser(new Lexer(source)).parseRoot();
  } catch (e) {
    if (e instanceof Decline) return undefined;
    throw e;
  }
}

/** This module's own file (its compiled one beside the bundle): its text decides the trees programs are made from (see template-program-cache.ts). */
export const TEMPLATE_PARSER_MODULE = BUNDLED ? distUrl('analyze/jinja/template-parser.js').href : import.meta.url;
