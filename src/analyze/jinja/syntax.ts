import nunjucks from 'nunjucks';
import { setLoopBindings } from './loop-variables.js';
import transformer from 'nunjucks/src/transformer.js';
import { makeMacro, spreadArgs } from './call-args.js';
import { JinjaError, locate, MacroReturn } from './errors.js';
import { Relation } from './relation.js';
import { getattr, getitem, setattr, slice } from './members.js';
import { and, binary, compareChain, contains, dictKey, loopSource, or, unary, unpack, type BinaryOp } from './operators.js';
import { inexactWhole, pyBool, pyStr, SafeString, tuple, WholeFloat } from './values.js';
import { UNDEFINED_AS_TEXT } from './filters.js';
import { BUNDLED, distUrl } from '../../install-paths.js';

/**
 * Jinja's syntax and semantics where Nunjucks differs, installed into Nunjucks' lexer, parser,
 * compiler and runtime (as its own installJinjaCompat does):
 *
 * - `{% do expr %}`, `{% break %}`, `{% continue %}` (dbt's `do` and `loopcontrols` extensions);
 * - `{% set ns.attr = value %}` on a namespace, `{% set a, b = pair %}` unpacking;
 * - `return(value)` ends a macro with that value;
 * - a `{% set %}` inside a loop body stays in that iteration, as in Jinja (Nunjucks lets it
 *   change the variable outside the loop);
 * - macros bind their arguments as Jinja's do: `varargs` and `kwargs` in a macro's body take
 *   what its parameters do not, and anything else a call gives is an error;
 * - calls spread arguments (`f(*args, **kwargs)`), and every list of arguments or items may
 *   end with a comma (`(a,)` is a tuple);
 * - Python's operators, truth (an empty list is false), comparisons, `in`, tuples `(a, b)`,
 *   dict keys that are variables, `*`, `/` and `%` at one precedence level;
 * - Python's literals (`'\d'` stays backslash-d, `1e-5`, `1_000`, `}}` closing a dict inside
 *   a tag), attribute and item lookup, negative indexes and slices, and how values print
 *   (`True`, `['a', 'b']`, `None` in a list);
 * - every operation, call, filter and test tells an error where it stands.
 */

/* Nunjucks' internals are untyped: these are the parts used here. */
interface Node {
  readonly typename: string;
  lineno: number;
  colno: number;
  [field: string]: unknown;
}
type NodeClass = (new (lineno: number, colno: number, ...fields: unknown[]) => Node) & { extend(name: string, props?: object): NodeClass };
interface Frame {
  lookup(name: string): string | undefined;
  set(name: string, id: string): void;
}
interface CompilerThis {
  templateName?: string;
  _emit(code: string): void;
  _emitLine(code: string): void;
  _tmpid(): string;
  _compileExpression(node: unknown, frame: Frame): void;
  _compileAggregate(node: unknown, frame: Frame, start?: string, end?: string): void;
  _getNodeName(node: unknown): string;
  compile(node: unknown, frame: Frame): void;
  fail(message: string, lineno?: number, colno?: number): never;
}
type CompileFn = (this: CompilerThis, node: Node, frame: Frame) => void;
interface Token {
  readonly type: string;
  readonly value: string;
  readonly lineno: number;
  readonly colno: number;
}
interface ParserThis {
  loopDepth?: number;
  /** Where a loop's target is read (see parseFor): about to start, or inside its parentheses. */
  loopTarget?: 'start' | 'parenthesized';
  /** Loop filters read so far (see parseFor). */
  loopFilters?: number;
  /** Set: the text after the tag just read loses its leading whitespace (a `-%}`). */
  dropLeadingWhitespace?: boolean;
  peekToken(): Token;
  nextToken(): Token;
  skip(type: string): boolean;
  skipValue(type: string, value: string): boolean;
  skipSymbol(value: string): boolean;
  expect(type: string): Token;
  readonly tokens: { readonly str: string; _extractRegex(regex: RegExp): RegExpMatchArray | null };
  fail(message: string, lineno?: number, colno?: number): never;
  error(message: string, lineno?: number, colno?: number): Error;
  parseExpression(): Node;
  parseInlineIf(): Node;
  parseOr(): Node;
  parsePrimary(): Node;
  parsePow(): Node;
  parseCompare(): Node;
  parseAggregate(): Node & { children: Node[] };
  parseSignature(): Node;
  advanceAfterBlockEnd(name?: string): Token;
}
type ParseFn = (this: ParserThis) => Node;
interface TokenizerThis {
  /** `{` opened and not yet closed in the tag being read. */
  braces: number;
  readonly str: string;
  readonly index: number;
  readonly in_code: boolean;
  readonly lineno: number;
  readonly colno: number;
  forward(): void;
  current(): string;
  isFinished(): boolean;
}

interface Internals {
  lib: { _prettifyError(path: string, withInternals: boolean, err: Error & { cause?: unknown }): Error };
  compiler: { Compiler: { prototype: Record<string, CompileFn> } };
  parser: { Parser: { prototype: Record<string, ParseFn> } };
  lexer: Record<string, string> & { lex(src: string, opts: object): object };
  nodes: Record<string, NodeClass>;
  runtime: Record<string, unknown>;
}

const N = nunjucks as unknown as Internals;
const T = N.lexer;

/** The calls being made, innermost last (rendering is synchronous). */
const calls: { file: string; line: number; column: number }[] = [];

/** Where the function running now was called (1-based): what log() and exceptions.warn() report. */
export function currentCallSite(): { file: string; line: number; column: number } | undefined {
  return calls[calls.length - 1];
}

/** A helper of compiled templates: `fn`'s arguments, then the file and 0-based position of the expression, for its errors. */
function located<A extends unknown[], R>(fn: (...args: A) => R): (...args: [...A, string, number, number]) => R {
  return (...args) => {
    const n = args.length;
    try {
      return fn(...(args.slice(0, n - 3) as A));
    } catch (e) {
      throw locate(e, args[n - 3] as string, args[n - 2] as number, args[n - 1] as number);
    }
  };
}

/**
 * `{% include %}`, `{% import %}`, `{% from ... import %}` and `{% extends %}` read another
 * template file, which no template of a project does: dbt's Jinja has no loader for them either.
 * Refused when they run, as dbt refuses them, with where they stand.
 */
function readsTemplate(tag: string, name: unknown): never {
  const what = typeof name === 'string' ? `'${name}'` : 'a template';
  throw new JinjaError(`{% ${tag} %} reads another template file (${what}), which pipe does not do (nor does dbt); put what is shared in a macro of macros/*.sql and call it`);
}

/** What compiled templates call, as `runtime.py.<name>`. */
/** What calling nothing (a macro no file defines) gives: an error, or a text while a model is rendered as dbt's parse renders it. */
let callsOfNothing: { readonly gives: string } | undefined;

/**
 * Runs `render` with every call of a function that is not defined giving `gives` ('' as dbt's
 * parse captures such a call and renders nothing for it): what a model reads and how it is
 * configured are found past a macro that is missing (see ModelRenderer.undefinedCallsRender).
 */
export function withCallsOfNothing<T>(gives: string, render: () => T): T {
  const was = callsOfNothing;
  callsOfNothing = { gives };
  try {
    return render();
  } finally {
    callsOfNothing = was;
  }
}

const HELPERS = {
  readsTemplate: located(readsTemplate),
  op: located(binary),
  unary: located(unary),
  compare: located(compareChain),
  contains: located(contains),
  getattr: located(getattr),
  getitem: located(getitem),
  slice: located(slice),
  setattr: located(setattr),
  unpack: located(unpack),
  key: located(dictKey),
  loop: located(loopSource),
  call(fn: unknown, name: string, context: unknown, args: unknown[], file: string, line: number, col: number): unknown {
    if (!fn && callsOfNothing !== undefined) return callsOfNothing.gives;
    if (!fn) throw new Error(`Unable to call \`${name}\`, which is undefined or falsey`);
    if (typeof fn !== 'function') throw new Error(`Unable to call \`${name}\`, which is not a function`);
    calls.push({ file, line: line + 1, column: col + 1 });
    try {
      return fn.apply(context, args);
    } catch (e) {
      throw locate(e, file, line, col);
    } finally {
      calls.pop();
    }
  },
  filter(env: { getFilter(name: string): (...a: unknown[]) => unknown }, name: string, context: unknown, args: unknown[], file: string, line: number, col: number): unknown {
    const fn = env.getFilter(name);
    try {
      return fn.apply(context, args);
    } catch (e) {
      throw locate(e, file, line, col);
    }
  },
  test(env: { getTest(name: string): (...a: unknown[]) => unknown }, name: string, context: unknown, args: unknown[], file: string, line: number, col: number): boolean {
    const fn = env.getTest(name);
    try {
      return fn.apply(context, args) === true;
    } catch (e) {
      throw locate(e, file, line, col);
    }
  },
  bool: pyBool,
  and,
  or,
  tuple: (items: unknown[]) => tuple(items),
  isReturn: (e: unknown) => e instanceof MacroReturn,
  spread: located(spreadArgs),
  macro: makeMacro,
  loopBindings: setLoopBindings,
  wholeFloat: (v: number) => new WholeFloat(v),
};

let installed = false;

/** Installs Jinja's semantics into Nunjucks, once per process (Nunjucks' own compat layer first). */
/** This module's own file (its compiled one beside the bundle): its text is part of what decides compiled templates (see template-code-cache.ts). */
export const JINJA_SYNTAX_MODULE = BUNDLED ? distUrl('analyze/jinja/syntax.js').href : import.meta.url;

export function installJinjaSyntax(): void {
  if (installed) return;
  installed = true;
  // Nunjucks' compat layer wraps parseAggregate (for slices): the wrapped one must be Jinja's already.
  installAggregates();
  nunjucks.installJinjaCompat();
  installRuntime();
  installLexer();
  installParser();
  installCompiler();
  installTransformShortcut();
}

/** Nodes that Nunjucks' transformer rewrites (async filters and tags, `super()` in a block), and only those. */
const TRANSFORMED = ['Block', 'CallExtensionAsync', 'FilterAsync', 'IfAsync', 'AsyncEach', 'AsyncAll'] as const;

/**
 * Nunjucks runs every parsed template through its transformer (for async filters and tags,
 * and `super()`) before compiling it: three walks of the whole tree, one of them again inside
 * every `if` and `for`, about 30 % of compiling a template with loops. Without async filters,
 * and with none of the nodes it rewrites, the transformer returns the very tree it was given
 * and changes nothing (no block: no symbol is drawn from its counter), so it is not run.
 * The check walks the tree once, through the same fields as the transformer's own walk.
 */
function installTransformShortcut(): void {
  const { transform } = transformer;
  const { nodes } = N;
  const rewritten = TRANSFORMED.map((name) => nodes[name]);
  const rewrites = (value: unknown): boolean => {
    if (!isA(value, nodes.Node)) return false;
    const node = value as Node;
    if (rewritten.some((cls) => isA(node, cls))) return true;
    if (isA(node, nodes.NodeList)) return (node.children as unknown[]).some(rewrites);
    if (isA(node, nodes.CallExtension)) return rewrites(node.args) || ((node.contentArgs as unknown[] | undefined) ?? []).some(rewrites);
    return (node.fields as readonly string[]).some((f) => rewrites(node[f]));
  };
  transformer.transform = (ast, asyncFilters, name) => ((asyncFilters?.length ?? 0) > 0 || rewrites(ast) ? transform(ast, asyncFilters, name) : ast);
}

/**
 * The filter a template calls by a name: in a template that prints an undefined value as
 * nothing (a package's), `length` and `count` of an undefined value are 0, as Jinja's
 * Undefined has no items (dbt_project_evaluator's macros count a list set only when executing),
 * and the filters of text take it as '' (dbt-unit-testing's `options.input_format | lower`
 * of a mock given no options).
 */
export function filterIn(name: string, throwOnUndefined: boolean): string {
  if (throwOnUndefined) return name;
  if (name === 'length' || name === 'count') return 'length?';
  return UNDEFINED_AS_TEXT.has(name) ? `${name}?` : name;
}

let undefinedPrints = false;

/**
 * Whether an undefined value (or None) prints as nothing rather than failing: set while a
 * render runs whose text is thrown away (dbt's parse of a model rendered again at run time,
 * where a macro's `load_result()` has nothing yet). Gives what it was, to set it back.
 */
export function printUndefined(on: boolean): boolean {
  const before = undefinedPrints;
  undefinedPrints = on;
  return before;
}

let noneOutput: ((line: number, column: number) => void) | undefined;

/**
 * Where a template of the project prints None (1-based, in the template being run): told to
 * `report`, and printed as `None`, as dbt prints it; without one, printing None is an error.
 * Gives what was set, to set it back.
 */
export function reportNoneOutput(report: ((line: number, column: number) => void) | undefined): ((line: number, column: number) => void) | undefined {
  const before = noneOutput;
  noneOutput = report;
  return before;
}

function installRuntime(): void {
  // Nunjucks replaces a render error by a plain Error with its message; the replacement keeps
  // the error it came from as its cause, which knows the expression's position (see errors.ts).
  const { _prettifyError } = N.lib;
  N.lib._prettifyError = (path, withInternals, err) => {
    const out = _prettifyError(path, withInternals, err);
    if (out !== err && !('cause' in out)) Object.defineProperty(out, 'cause', { value: err.cause ?? err });
    return out;
  };
  const runtime = N.runtime;
  runtime.py = HELPERS;
  // An undefined value printed in a render whose text is thrown away prints as nothing, as in dbt's parse.
  const ensureDefined = runtime.ensureDefined as (val: unknown, lineno: number, colno: number) => unknown;
  runtime.ensureDefined = (val: unknown, lineno: number, colno: number) => {
    if (undefinedPrints) return val;
    // None prints as Python prints it, as in dbt; the render is told where.
    if (val === null && noneOutput) {
      noneOutput(lineno + 1, colno + 1);
      return val;
    }
    // Refused where it is printed, at its place, 1-based as Nunjucks' own error here (numberRepr
    // refuses it wherever else it is made text).
    const inexact = inexactWhole(val);
    if (inexact) throw new (N.lib as unknown as { TemplateError: new (message: string, lineno: number, colno: number) => Error }).TemplateError(inexact, lineno + 1, colno + 1);
    return ensureDefined(val, lineno, colno);
  };
  // How `{{ value }}` prints: Python's str(), a macro's output as it is.
  // A relation a template outputs prints as pipe resolves it once rendered (see Relation.printed).
  runtime.suppressValue = (val: unknown) => (val === undefined ? '' : val instanceof SafeString ? val : val instanceof Relation ? val.printed() : pyStr(val));
}

/** A number as Python writes it, from its first digit: pipe's lexer reads those with an exponent or `_` itself (Nunjucks would not). */
export const PYTHON_NUMBER = /^(?:\d+_)*\d+(?:(?:\.(?:\d+_)*\d+)?[eE][+-]?(?:\d+_)*\d+|\.(?:\d+_)*\d+)?/;
/** Python's one-character string escapes (an escaped newline is none); octal, `\x`, `\u` and `\U` are read apart. */
export const STRING_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\n': '' };

/** Nunjucks' whitespace inside a tag. */
const NUNJUCKS_SPACE = ' \n\t\r\u00A0';
/**
 * The rest of what Python's `\s` matches, which separates tokens inside a tag for Jinja: a
 * paragraph separator or an ideographic space pasted into a config() call is a space there.
 */
export const PYTHON_SPACE_MORE = '\v\f\x1C\x1D\x1E\x1F\x85\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000';

/**
 * Python's number literals (`1e-5`, `1_000`), string escapes (an unknown escape keeps its
 * backslash: `'\d+'` is a regex) and whitespace.
 */
function installLexer(): void {
  const tokenizer = Object.getPrototypeOf(T.lex('', {})) as {
    _parseString(this: TokenizerThis, delimiter: string): string;
    nextToken(this: TokenizerThis): Token | null;
    _extract(this: TokenizerThis, chars: string): string | null;
    _extractUntil(this: TokenizerThis, chars: string): string | null;
  };
  // Nunjucks reads whitespace, and ends a name, at the characters it is given, its own spaces first.
  const { _extract, _extractUntil } = tokenizer;
  const withPythonSpace = (chars: string) => (chars.startsWith(NUNJUCKS_SPACE) ? PYTHON_SPACE_MORE + chars : chars);
  tokenizer._extract = function (chars) {
    return _extract.call(this, withPythonSpace(chars));
  };
  tokenizer._extractUntil = function (chars) {
    return _extractUntil.call(this, withPythonSpace(chars));
  };
  const { nextToken } = tokenizer;
  tokenizer.nextToken = function (this: TokenizerThis) {
    if (this.in_code && /[0-9]/.test(this.current()) && this.str[this.index - 1] !== '.') {
      // After a dot a number is an index (`x.0`), which Nunjucks reads itself.
      const m = PYTHON_NUMBER.exec(this.str.slice(this.index, this.index + 64));
      if (m && (m[0].includes('e') || m[0].includes('E') || m[0].includes('_'))) {
        const { lineno, colno } = this;
        for (let i = 0; i < m[0].length; i++) this.forward();
        const text = m[0].replace(/_/g, '');
        return { type: /[.eE]/.test(text) ? T.TOKEN_FLOAT : T.TOKEN_INT, value: text, lineno, colno };
      }
    }
    // Jinja's `{%+` and `+%}` keep the whitespace lstrip_blocks and trim_blocks would take, which
    // dbt sets neither of: a tag like any other (Nunjucks knows only `-`).
    if (this.in_code ? this.str.startsWith('+%}', this.index) : this.str.startsWith('{%+', this.index)) {
      const { lineno, colno } = this;
      const start = !this.in_code;
      for (let i = 0; i < 3; i++) this.forward();
      (this as { in_code: boolean }).in_code = start;
      if (start) this.braces = 0;
      return start ? { type: T.TOKEN_BLOCK_START, value: '{%', lineno, colno } : { type: T.TOKEN_BLOCK_END, value: '%}', lineno, colno };
    }
    // Inside an open `{` a `}}` closes dicts, not the tag (`{{ {'a': {'b': 1}} }}`), as in Jinja.
    if (this.in_code && this.braces > 0 && this.current() === '}') {
      const { lineno, colno } = this;
      this.forward();
      this.braces -= 1;
      return { type: T.TOKEN_RIGHT_CURLY, value: '}', lineno, colno };
    }
    let tok = nextToken.call(this);
    // String literals next to each other (`'a' "b"`, and so `"""text"""`) are one, as in Jinja and Python.
    while (tok?.type === T.TOKEN_STRING && this.in_code) {
      let at = this.index;
      while (at < this.str.length && (NUNJUCKS_SPACE + PYTHON_SPACE_MORE).includes(this.str[at])) at++;
      if (this.str[at] !== '"' && this.str[at] !== "'") break;
      while (this.index < at) this.forward();
      const next = nextToken.call(this);
      tok = { ...tok, value: tok.value + (next?.value ?? '') };
    }
    if (tok?.type === T.TOKEN_LEFT_CURLY) this.braces = (this.braces ?? 0) + 1;
    else if (tok?.type === T.TOKEN_RIGHT_CURLY) this.braces = Math.max(0, (this.braces ?? 0) - 1);
    else if (tok?.type === T.TOKEN_BLOCK_START || tok?.type === T.TOKEN_VARIABLE_START) this.braces = 0;
    return tok;
  };
  tokenizer._parseString = function parseString(this: TokenizerThis, delimiter: string): string {
    this.forward();
    let out = '';
    const take = (re: RegExp, max: number): string => {
      let s = '';
      while (s.length < max && re.test(this.current())) {
        s += this.current();
        this.forward();
      }
      return s;
    };
    while (!this.isFinished() && this.current() !== delimiter) {
      const ch = this.current();
      this.forward();
      if (ch !== '\\') {
        out += ch;
        continue;
      }
      const e = this.current();
      if (Object.hasOwn(STRING_ESCAPES, e)) {
        out += STRING_ESCAPES[e];
        this.forward();
      } else if (/[0-7]/.test(e)) {
        out += String.fromCodePoint(parseInt(take(/[0-7]/, 3), 8));
      } else if (e === 'x' || e === 'u' || e === 'U') {
        this.forward();
        const size = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = take(/[0-9a-fA-F]/, size);
        out += hex.length === size ? String.fromCodePoint(parseInt(hex, 16)) : `\\${e}${hex}`;
      } else out += '\\';
    }
    this.forward();
    return out;
  };
}

/** `instanceof` for Nunjucks' node classes, without narrowing (every node has the same TypeScript type). */
const isA = (n: unknown, cls: NodeClass): boolean => n instanceof cls;

function node(name: string, fields: string[]): NodeClass {
  return N.nodes.Node.extend(name, { fields });
}

const Do = node('PipeDo', ['expr']);
const LoopControl = node('PipeLoopControl', ['keyword']);
const SetAttr = node('PipeSetAttr', ['target', 'attr', 'value']);
const Unpack = node('PipeUnpack', ['targets', 'value']);
const ReturnScope = node('PipeReturnScope', ['body']);
const IterationScope = node('PipeIterationScope', ['body']);
const Truth = node('PipeTruth', ['expr']);
/** `*value` and `**value` among a call's arguments. */
const Star = node('PipeStar', ['expr']);
const DoubleStar = node('PipeDoubleStar', ['expr']);
const LoopSource = node('PipeLoopSource', ['expr', 'names']);
/** Code a compile step writes itself (an unpacked value's place). */
const Raw = node('PipeRaw', ['code']);

/** Lists, dicts and tuples whose last item may be followed by a comma, as in Jinja: `(a,)` is a tuple. */
function installAggregates(): void {
  const P = N.parser.Parser.prototype;
  const nodes = N.nodes;
  const CLOSE = [T.TOKEN_RIGHT_PAREN, T.TOKEN_RIGHT_BRACKET, T.TOKEN_RIGHT_CURLY];
  P.parseAggregate = function (this: ParserThis) {
    const tok = this.nextToken();
    const cls = tok.type === T.TOKEN_LEFT_PAREN ? nodes.Group : tok.type === T.TOKEN_LEFT_BRACKET ? nodes.Array : tok.type === T.TOKEN_LEFT_CURLY ? nodes.Dict : undefined;
    if (!cls) return null as unknown as Node;
    const agg = new cls(tok.lineno, tok.colno) as Node & { children: Node[]; addChild(n: Node): void };
    for (;;) {
      if (CLOSE.includes(this.peekToken().type)) {
        this.nextToken();
        break;
      }
      if (agg.children.length > 0) {
        if (!this.skip(T.TOKEN_COMMA)) this.fail('expected a comma after the item', tok.lineno, tok.colno);
        if (CLOSE.includes(this.peekToken().type)) {
          this.nextToken();
          agg.trailingComma = true;
          break;
        }
      }
      if (cls === nodes.Dict) {
        // A key is any expression, as in Jinja: `{column.name | lower: column.dtype}`.
        const key = this.parseExpression();
        if (!this.skip(T.TOKEN_COLON)) this.fail('expected a colon after the dict key', tok.lineno, tok.colno);
        agg.addChild(new nodes.Pair(key.lineno, key.colno, key, this.parseExpression()));
      } else agg.addChild(this.parseExpression());
    }
    return agg;
  } as ParseFn;
}

const NUNJUCKS_ONLY_TAGS: ReadonlySet<string> = new Set(['ifAsync', 'asyncEach', 'asyncAll', 'verbatim']);

/** The text up to the next `{% endraw %}`, its tag's dashes (`{%- endraw -%}`) taken apart. */
const RAW_END = /([\s\S]*?)\{%(-?)\s*endraw\s*(-?)%\}/;

/**
 * `{% raw %}...{% endraw %}` as Jinja reads it: the text is kept as written up to the first
 * endraw (a raw tag inside is text: raw blocks do not nest), and dashes trim as on any tag:
 * `{% raw -%}` the text's leading whitespace, `{%- endraw %}` its trailing whitespace, `{%
 * endraw -%}` what follows. Nunjucks' parseRaw knew no dash on either tag (`{% endraw -%}`
 * was not an end: the rest of the file became raw text) and nested raw blocks.
 */
function parseJinjaRaw(this: ParserThis): Node {
  const begun = this.advanceAfterBlockEnd();
  const trimStart = this.dropLeadingWhitespace === true;
  this.dropLeadingWhitespace = false;
  const found = this.tokens._extractRegex(RAW_END);
  if (!found) return this.fail('{% raw %} is never closed: its {% endraw %} is missing', begun.lineno, begun.colno);
  const [, text, trimEnd, trimAfter] = found;
  if (trimAfter) this.dropLeadingWhitespace = true;
  let raw = trimEnd ? text.replace(/\s+$/, '') : text;
  if (trimStart) raw = raw.replace(/^\s+/, '');
  return new N.nodes.Output(begun.lineno, begun.colno, [new N.nodes.TemplateData(begun.lineno, begun.colno, raw)]);
}

/**
 * Nunjucks' error for a Jinja form it lacks, said as what it is: a block set through a filter
 * (`{% set x | upper %}`) and a recursive loop, which it reports as a malformed tag.
 */
function clearerTagError(parser: ParserThis, tag: Token, e: unknown): unknown {
  const message = e instanceof Error ? e.message : '';
  if (!/parseSet: expected = or block end|expected block end in for statement/.test(message)) return e;
  const lines = parser.tokens.str.split('\n');
  const from = lines.slice(0, tag.lineno).reduce((n, l) => n + l.length + 1, 0) + tag.colno;
  const text = parser.tokens.str.slice(from, parser.tokens.str.indexOf('%}', from) >>> 0);
  if (tag.value === 'set' && /^set\s+[\w\s,.]+\|/.test(text)) {
    return parser.error('{% set name | filter %}...{% endset %} (a block set through a filter) is not rendered by pipe: filter where the name is used, {{ name | filter }}', tag.lineno, tag.colno);
  }
  if (tag.value === 'for' && /\brecursive\s*-?$/.test(text)) return parser.error('a recursive loop ({% for ... recursive %}) is not rendered by pipe', tag.lineno, tag.colno);
  return e;
}

function installParser(): void {
  const P = N.parser.Parser.prototype;
  const nodes = N.nodes;
  const { parseStatement, parseFor, parseMacro, parseCall, parseSet, parseFilterStatement, parsePrimary } = P;

  // `5.0` is a float, whose whole value prints as one (see compileLiteral).
  P.parsePrimary = function (this: ParserThis, ...args: unknown[]) {
    // Jinja's loop targets may be in parentheses (`for (key, value) in items`): read as without them.
    if (this.loopTarget === 'start') this.loopTarget = this.skip(T.TOKEN_LEFT_PAREN) ? 'parenthesized' : undefined;
    const tok = this.peekToken();
    const n = (parsePrimary as (this: ParserThis, ...a: unknown[]) => Node).call(this, ...args);
    if (tok?.type === T.TOKEN_FLOAT && n.typename === 'Literal') n.float = true;
    if (this.loopTarget === 'parenthesized' && this.peekToken()?.type !== T.TOKEN_COMMA) {
      this.loopTarget = undefined;
      if (!this.skip(T.TOKEN_RIGHT_PAREN)) this.fail('expected ) after the loop variables');
    }
    return n;
  };

  // Loop bodies may hold break and continue; a macro, call, set or filter block inside one starts afresh.
  const outsideLoops = (fn: ParseFn): ParseFn =>
    function (this: ParserThis) {
      const depth = this.loopDepth;
      this.loopDepth = 0;
      try {
        return fn.call(this);
      } finally {
        this.loopDepth = depth;
      }
    };

  // Jinja's conditional expression: its else is one too (`a if x else b if y else c`), and it may be conditional again.
  P.parseInlineIf = function (this: ParserThis) {
    let n = this.parseOr();
    while (this.skipSymbol('if')) {
      const cond = this.parseOr();
      const body = n;
      n = Object.assign(new nodes.InlineIf(body.lineno, body.colno), { body, cond, else_: this.skipSymbol('else') ? this.parseInlineIf() : null });
    }
    return n;
  };

  P.parseStatement = function (this: ParserThis) {
    const tok = this.peekToken();
    // Nunjucks' own asynchronous tags are no Jinja: unknown, as dbt finds them.
    if (tok?.type === T.TOKEN_SYMBOL && NUNJUCKS_ONLY_TAGS.has(tok.value)) this.fail(`unknown block tag: ${tok.value}`, tok.lineno, tok.colno);
    // A block renders in place in Jinja but sees no variable of a loop or macro around it;
    // Nunjucks' block sees them (and did not compile in a macro). Refused, never a different value.
    if (tok?.type === T.TOKEN_SYMBOL && tok.value === 'block') {
      this.fail("{% block %} (Jinja's template inheritance, with its own scope) is not rendered by pipe: write what it holds in place", tok.lineno, tok.colno);
    }
    if (tok?.type === T.TOKEN_SYMBOL && tok.value === 'raw') return parseJinjaRaw.call(this);
    if (tok?.type === T.TOKEN_SYMBOL && (tok.value === 'do' || tok.value === 'break' || tok.value === 'continue')) {
      this.nextToken();
      if (tok.value === 'do') {
        const expr = this.parseExpression();
        this.advanceAfterBlockEnd(tok.value);
        return new Do(tok.lineno, tok.colno, expr);
      }
      if (!this.loopDepth) this.fail(`{% ${tok.value} %} outside a for loop`, tok.lineno, tok.colno);
      this.advanceAfterBlockEnd(tok.value);
      return new LoopControl(tok.lineno, tok.colno, tok.value);
    }
    if (tok?.type !== T.TOKEN_SYMBOL || (tok.value !== 'set' && tok.value !== 'for')) return parseStatement.call(this);
    try {
      return parseStatement.call(this);
    } catch (e) {
      throw clearerTagError(this, tok, e);
    }
  };

  P.parseFor = function (this: ParserThis) {
    this.loopDepth = (this.loopDepth ?? 0) + 1;
    let loop: Node;
    try {
      // The first primary read after `for` is the target's (see parsePrimary).
      this.loopTarget = 'start';
      loop = parseFor.call(this);
    } finally {
      this.loopDepth -= 1;
      this.loopTarget = undefined;
    }
    if (loop.typename !== 'For') return loop;
    const names = isA(loop.name, nodes.Array) ? (loop.name as unknown as { children: unknown[] }).children.length : 1;
    const arr = loop.arr as Node;
    // Jinja's loop filter, `for x in items if cond` (template-parser.ts's parseFor says how it is read).
    if (isA(arr, nodes.InlineIf) && arr.else_ === null) {
      const { lineno: l, colno: c } = loop;
      this.loopFilters = (this.loopFilters ?? 0) + 1;
      const kept = Object.assign(new nodes.Symbol(l, c), { value: `__pipe_loop_filter_${this.loopFilters}` });
      const name = loop.name as Node;
      const item = isA(name, nodes.Array) ? Object.assign(new nodes.Array(name.lineno, name.colno), { children: (name as unknown as { children: Node[] }).children }) : name;
      const append = Object.assign(new nodes.LookupVal(l, c), { target: kept, val: Object.assign(new nodes.Literal(l, c), { value: 'append' }), dot: true });
      const keep = new Do(l, c, Object.assign(new nodes.FunCall(l, c), { name: append, args: Object.assign(new nodes.NodeList(l, c), { children: [item] }) }));
      const cond = arr.cond as Node;
      const gather = Object.assign(new nodes.If(cond.lineno, cond.colno), { cond, body: Object.assign(new nodes.NodeList(l, c), { children: [keep] }), else_: null });
      const over = (source: Node, body: Node, orElse: unknown) =>
        Object.assign(new nodes.For(l, c), { name, arr: new LoopSource(source.lineno, source.colno, source, names), body: new IterationScope(l, c, body), else_: orElse });
      const start = Object.assign(new nodes.Set(l, c, [kept]), { value: Object.assign(new nodes.Array(l, c), { children: [] }) });
      return Object.assign(new nodes.NodeList(l, c), {
        children: [start, over(arr.body as Node, Object.assign(new nodes.NodeList(l, c), { children: [gather] }), null), over(kept, loop.body as Node, loop.else_)],
      });
    }
    loop.arr = new LoopSource(arr.lineno, arr.colno, arr, names);
    loop.body = new IterationScope(loop.lineno, loop.colno, loop.body);
    return loop;
  };

  P.parseMacro = outsideLoops(function (this: ParserThis) {
    const macro = parseMacro.call(this);
    macro.body = new ReturnScope(macro.lineno, macro.colno, macro.body);
    return macro;
  });
  P.parseCall = outsideLoops(parseCall);
  P.parseFilterStatement = outsideLoops(parseFilterStatement);

  // `{% set a, b = x, y %}`: values after a comma make a tuple, as in Jinja (Nunjucks' parseSet takes one expression).
  const parseTupleValue = function (this: ParserThis) {
    // The value's own expressions (a call's arguments) are parsed as usual.
    delete (this as Partial<ParserThis>).parseExpression;
    const first = this.parseExpression();
    if (this.peekToken().type !== T.TOKEN_COMMA) return first;
    const tuple = new nodes.Group(first.lineno, first.colno) as Node & { children: Node[]; addChild(n: Node): void };
    tuple.addChild(first);
    while (this.skip(T.TOKEN_COMMA)) tuple.addChild(this.parseExpression());
    return tuple;
  };
  const { skip } = P as unknown as { skip: (this: ParserThis, type: string) => boolean };
  const skipTrimming = function (this: ParserThis, type: string): boolean {
    const tok = this.peekToken();
    const skipped = skip.call(this, type);
    if (skipped && type === T.TOKEN_BLOCK_END && tok.value.charAt(0) === '-') this.dropLeadingWhitespace = true;
    return skipped;
  };
  P.parseSet = outsideLoops(function (this: ParserThis) {
    // Nunjucks' parseSet reads its value with parseExpression: a tuple's for that one call.
    this.parseExpression = parseTupleValue;
    // It takes a block set's end with skip(), which leaves its `-` out: `{% set x -%}` trims
    // the block's leading whitespace in Jinja, and here too.
    this.skip = skipTrimming;
    const own = this as Partial<ParserThis> & { parseUntilBlocks?: unknown };
    const restore = () => {
      delete own.parseExpression;
      delete own.skip;
      delete own.parseUntilBlocks;
    };
    // A block set's body is parsed as any template text: a call block's `(c, i)` in it is no tuple value.
    own.parseUntilBlocks = function (this: ParserThis, ...blocks: string[]) {
      restore();
      return (P as unknown as { parseUntilBlocks: (...b: string[]) => unknown }).parseUntilBlocks.apply(this, blocks);
    };
    let set: Node;
    try {
      set = parseSet.call(this);
    } finally {
      restore();
    }
    const targets = set.targets as Node[];
    const attr = targets.find((t) => t.typename === 'LookupVal');
    if (attr) {
      if (targets.length > 1 || !attr.dot) this.fail('{% set %} assigns to names, or to one attribute of a namespace: {% set ns.name = value %}', set.lineno, set.colno);
      // `{% set ns.name %}...{% endset %}` (Jinja 2.10+): the block's text is the value.
      return new SetAttr(set.lineno, set.colno, attr.target, (attr.val as Node).value, (set.value ?? set.body) as Node);
    }
    const bad = targets.find((t) => t.typename !== 'Symbol');
    if (bad) this.fail(`{% set %} cannot assign to ${bad.typename === 'Literal' ? 'a literal' : 'an expression'}`, bad.lineno, bad.colno);
    if (targets.length > 1 && set.value !== null) return new Unpack(set.lineno, set.colno, targets, set.value);
    return set;
  });

  // A call's arguments as Jinja reads them: positional ones, then `*list`, then keywords and
  // `**dict`, and a comma after the last. The spread ones are children of the list (so that a
  // macro's use of `kwargs` in `f(**kwargs)` is found), before the keywords.
  P.parseSignature = function (this: ParserThis, tolerant?: boolean, noParens?: boolean) {
    let tok = this.peekToken();
    if (!noParens && tok.type !== T.TOKEN_LEFT_PAREN) {
      if (tolerant) return null;
      this.fail('expected arguments', tok.lineno, tok.colno);
    }
    if (tok.type === T.TOKEN_LEFT_PAREN) tok = this.nextToken();
    const args = new nodes.NodeList(tok.lineno, tok.colno) as Node & { children: Node[]; addChild(n: Node): void };
    const kwargs = new nodes.KeywordArgs(tok.lineno, tok.colno) as Node & { children: Node[]; addChild(n: Node): void };
    let star: Node | undefined;
    let doubleStar: Node | undefined;
    const closes = () => {
      const next = this.peekToken();
      if (!noParens && next.type === T.TOKEN_RIGHT_PAREN) {
        this.nextToken();
        return true;
      }
      return noParens === true && next.type === T.TOKEN_BLOCK_END;
    };
    // The tag or expression ends where the call should: its closing parenthesis is missing.
    const unclosed = (at: { type: string; value: string; lineno: number; colno: number }) => {
      if (!noParens && (at.type === T.TOKEN_VARIABLE_END || at.type === T.TOKEN_BLOCK_END)) this.fail(`a ')' is missing before ${at.value.trim()}: the call's '(' is not closed`, at.lineno, at.colno);
    };
    for (let first = true; !closes(); first = false) {
      if (!first) {
        const at = this.peekToken();
        if (!this.skip(T.TOKEN_COMMA)) {
          unclosed(at);
          this.fail('expected a comma between arguments', at.lineno, at.colno);
        }
        if (closes()) break;
      }
      const at = this.peekToken();
      unclosed(at);
      const invalid = () => this.fail('invalid order of arguments: positional ones, then *list, then name=value and **dict', at.lineno, at.colno);
      if (this.skipValue(T.TOKEN_OPERATOR, '*')) {
        if (star || doubleStar) invalid();
        star = new Star(at.lineno, at.colno, this.parseExpression());
      } else if (this.skipValue(T.TOKEN_OPERATOR, '**')) {
        if (doubleStar) invalid();
        doubleStar = new DoubleStar(at.lineno, at.colno, this.parseExpression());
      } else {
        const arg = this.parseExpression();
        if (this.skipValue(T.TOKEN_OPERATOR, '=')) {
          if (doubleStar) invalid();
          kwargs.addChild(new nodes.Pair(arg.lineno, arg.colno, arg, this.parseExpression()));
        } else {
          if (star || doubleStar || kwargs.children.length > 0) invalid();
          args.addChild(arg);
        }
      }
    }
    if (star) args.addChild(star);
    if (doubleStar) args.addChild(doubleStar);
    if (kwargs.children.length > 0) args.addChild(kwargs);
    return args;
  } as unknown as ParseFn;

  // `a.b` and `a[b]` stay apart (Jinja looks up an attribute first for one, an item for the other).
  P.parsePostfix = function (this: ParserThis, target?: unknown) {
    let result = target as Node;
    for (let tok = this.peekToken(); tok; tok = this.peekToken()) {
      if (tok.type === T.TOKEN_LEFT_PAREN) {
        result = new nodes.FunCall(tok.lineno, tok.colno, result, this.parseSignature());
      } else if (tok.type === T.TOKEN_LEFT_BRACKET) {
        const lookup = this.parseAggregate();
        if (lookup.children.length > 1) this.fail('invalid index');
        result = new nodes.LookupVal(tok.lineno, tok.colno, result, lookup.children[0]);
      } else if (tok.type === T.TOKEN_OPERATOR && tok.value === '.') {
        this.nextToken();
        const name = this.nextToken();
        if (name.type !== T.TOKEN_SYMBOL) this.fail(`expected name as lookup value, got ${name.value}`, name.lineno, name.colno);
        result = new nodes.LookupVal(tok.lineno, tok.colno, result, new nodes.Literal(name.lineno, name.colno, name.value));
        result.dot = true;
      } else break;
    }
    return result;
  } as ParseFn;

  // `x is divisibleby 3`, `x is sameas false`: a test takes one argument without parentheses, as in Jinja.
  P.parseIs = function (this: ParserThis) {
    let left = this.parseCompare();
    if (!this.skipSymbol('is')) return left;
    const negated = this.skipSymbol('not');
    const tok = this.nextToken();
    const name =
      tok.type === T.TOKEN_SYMBOL ? tok.value : tok.type === T.TOKEN_NONE ? 'none' : tok.type === T.TOKEN_BOOLEAN ? tok.value : this.fail(`expected the name of a test after 'is', got ${tok.value}`, tok.lineno, tok.colno);
    let test: Node = new nodes.Symbol(tok.lineno, tok.colno, name);
    const next = this.peekToken();
    const argument = [T.TOKEN_STRING, T.TOKEN_INT, T.TOKEN_FLOAT, T.TOKEN_BOOLEAN, T.TOKEN_NONE, T.TOKEN_LEFT_BRACKET, T.TOKEN_LEFT_CURLY].includes(next?.type ?? '');
    const named = next?.type === T.TOKEN_SYMBOL && !['else', 'or', 'and', 'is', 'if', 'in', 'not'].includes(next.value);
    if (next?.type === T.TOKEN_LEFT_PAREN) test = new nodes.FunCall(tok.lineno, tok.colno, test, this.parseSignature());
    else if (argument || named) test = new nodes.FunCall(tok.lineno, tok.colno, test, new nodes.NodeList(next.lineno, next.colno, [this.parsePrimary()]));
    left = new nodes.Is(left.lineno, left.colno, left, test);
    return negated ? new nodes.Not(left.lineno, left.colno, left) : left;
  };

  // Python's precedence: + and - at one level, *, /, // and % at the next, each left to right.
  const chain = (operand: () => Node, ops: Readonly<Record<string, NodeClass>>) =>
    function (this: ParserThis): Node {
      let left = operand.call(this);
      for (;;) {
        const op = Object.keys(ops).find((o) => this.skipValue(T.TOKEN_OPERATOR, o));
        if (!op) return left;
        left = new ops[op](left.lineno, left.colno, left, operand.call(this));
      }
    };
  P.parseMul = chain(P.parsePow, { '*': nodes.Mul, '/': nodes.Div, '//': nodes.FloorDiv, '%': nodes.Mod });
  P.parseAdd = chain(P.parseMul, { '+': nodes.Add, '-': nodes.Sub });
}

function installCompiler(): void {
  const C = N.compiler.Compiler.prototype;
  const nodes = N.nodes;
  const { compileIf, compileInlineIf, compileSet, compileDict, assertType, compileLiteral } = C;
  const own = [Do, LoopControl, SetAttr, Unpack, ReturnScope, IterationScope, Truth, LoopSource, Raw];

  /** `, "file", line, col`: where the expression stands, for the helper's errors. */
  function at(this: CompilerThis, n: Node): string {
    return `, ${JSON.stringify(this.templateName ?? '')}, ${n.lineno}, ${n.colno}`;
  }
  /** Where an expression starts: a call at its callee's first name (Nunjucks places it at the parenthesis). */
  const start = (n: Node): Node => {
    if (n.typename === 'FunCall') return start(n.name as Node);
    if (n.typename === 'LookupVal') return start(n.target as Node);
    if (n.typename === 'Compare') return start(n.expr as Node);
    return n;
  };
  const expr = (c: CompilerThis, n: unknown, frame: Frame) => c.compile(n, frame);

  C.assertType = function (this: CompilerThis, n: Node, ...types: unknown[]) {
    if (own.some((k) => isA(n, k))) return;
    (assertType as unknown as (this: CompilerThis, ...a: unknown[]) => void).call(this, n, ...types);
  } as CompileFn;

  // Nunjucks' loop variables and Jinja's it lacks (see loop-variables.ts), set in one call: not
  // seven frame.set("loop.x") calls, each splitting its name, every iteration.
  C._emitLoopBindings = function (this: CompilerThis, _n: Node, arr: string, i: string, len: string) {
    this._emitLine(`runtime.py.loopBindings(frame, ${arr}, ${i}, ${len});`);
  } as unknown as typeof C._emitLoopBindings;

  C.compileLiteral = function (n, frame) {
    if (n.float === true && typeof n.value === 'number' && Number.isInteger(n.value)) this._emit(`runtime.py.wholeFloat(${n.value})`);
    else (compileLiteral as CompileFn).call(this, n, frame);
  };
  C.compilePipeDo = function (n, frame) {
    // In parentheses: a dict (`{% do {'a': 1} %}`) would read as a JavaScript block.
    this._emit('(');
    expr(this, n.expr, frame);
    this._emitLine(');');
  };
  C.compilePipeLoopControl = function (n) {
    // Leave the iteration's own frame (see compilePipeIterationScope) before leaving the iteration.
    this._emitLine(`frame = frame.pop(); ${n.keyword as string};`);
  };
  C.compilePipeIterationScope = function (n, frame) {
    this._emitLine('frame = frame.push(true);');
    this.compile(n.body, frame);
    this._emitLine('frame = frame.pop();');
  };
  C.compilePipeReturnScope = function (n, frame) {
    const e = this._tmpid();
    this._emitLine('try {');
    this.compile(n.body, frame);
    this._emitLine(`} catch (${e}) {`);
    this._emitLine(`if (!runtime.py.isReturn(${e})) throw ${e};`);
    this._emitLine('frame = callerFrame;');
    this._emitLine(`return ${e}.value;`);
    this._emitLine('}');
  };
  C.compilePipeSetAttr = function (n, frame) {
    this._emit('runtime.py.setattr(');
    expr(this, n.target, frame);
    this._emit(`, ${JSON.stringify(n.attr)}, `);
    expr(this, n.value, frame);
    this._emitLine(`${at.call(this, n)});`);
  };
  C.compilePipeUnpack = function (n, frame) {
    const values = this._tmpid();
    const targets = n.targets as Node[];
    this._emit(`var ${values} = runtime.py.unpack(`);
    expr(this, n.value, frame);
    this._emitLine(`, ${targets.length}${at.call(this, n)});`);
    targets.forEach((target, i) => {
      const one = new nodes.Set(n.lineno, n.colno, [target]);
      one.value = new Raw(n.lineno, n.colno, `${values}[${i}]`);
      compileSet.call(this, one, frame);
    });
  };
  C.compilePipeRaw = function (n) {
    this._emit(n.code as string);
  };
  C.compilePipeTruth = function (n, frame) {
    this._emit('runtime.py.bool(');
    expr(this, n.expr, frame);
    this._emit(')');
  };
  C.compilePipeLoopSource = function (n, frame) {
    this._emit('runtime.py.loop(');
    expr(this, n.expr, frame);
    this._emit(`, ${n.names as number}${at.call(this, n)})`);
  };

  // Nunjucks compiles these into callbacks that wait for a loader, which a macro's body (run
  // synchronously, inside its return scope) breaks: the code did not parse, or a loop's output
  // was lost. None of them has anything to read (see readsTemplate).
  const reading = (tag: string): CompileFn =>
    function (n, frame) {
      this._emit(`runtime.py.readsTemplate(${JSON.stringify(tag)}, `);
      expr(this, n.template, frame);
      this._emitLine(`${at.call(this, n)});`);
    };
  C.compileInclude = reading('include');
  C.compileImport = reading('import');
  C.compileFromImport = reading('from ... import');
  C.compileExtends = reading('extends');

  C.compileIf = function (n, frame) {
    if (!isA(n.cond, Truth)) n.cond = new Truth((n.cond as Node).lineno, (n.cond as Node).colno, n.cond);
    (compileIf as unknown as (this: CompilerThis, n: Node, f: Frame, async?: boolean) => void).call(this, n, frame, false);
  };
  C.compileInlineIf = function (n, frame) {
    if (!isA(n.cond, Truth)) n.cond = new Truth((n.cond as Node).lineno, (n.cond as Node).colno, n.cond);
    compileInlineIf.call(this, n, frame);
  };
  C.compileNot = function (n, frame) {
    this._emit('!runtime.py.bool(');
    expr(this, n.target, frame);
    this._emit(')');
  };
  const logical = (name: 'and' | 'or'): CompileFn =>
    function (n, frame) {
      this._emit(`runtime.py.${name}(`);
      expr(this, n.left, frame);
      this._emit(', function () { return ');
      expr(this, n.right, frame);
      this._emit('; })');
    };
  C.compileAnd = logical('and');
  C.compileOr = logical('or');

  const operator = (op: BinaryOp): CompileFn =>
    function (n, frame) {
      this._emit(`runtime.py.op(${JSON.stringify(op)}, `);
      expr(this, n.left, frame);
      this._emit(', ');
      expr(this, n.right, frame);
      this._emit(`${at.call(this, n)})`);
    };
  C.compileAdd = operator('+');
  C.compileSub = operator('-');
  C.compileMul = operator('*');
  C.compileDiv = operator('/');
  C.compileFloorDiv = operator('//');
  C.compileMod = operator('%');
  C.compilePow = operator('**');
  // In a template that prints an undefined value as nothing, `~` joins it as nothing too, as Jinja does.
  C.compileConcat = function (n, frame) {
    operator((this as unknown as { throwOnUndefined?: boolean }).throwOnUndefined === false ? '~?' : '~').call(this, n, frame);
  };
  const sign = (op: '-' | '+'): CompileFn =>
    function (n, frame) {
      this._emit(`runtime.py.unary(${JSON.stringify(op)}, `);
      expr(this, n.target, frame);
      this._emit(`${at.call(this, n)})`);
    };
  C.compileNeg = sign('-');
  C.compilePos = sign('+');

  C.compileCompare = function (n, frame) {
    this._emit('runtime.py.compare(');
    expr(this, n.expr, frame);
    this._emit(', [');
    (n.ops as Node[]).forEach((op, i) => {
      this._emit(`${i > 0 ? ', ' : ''}${JSON.stringify(op.type)}, `);
      expr(this, op.expr, frame);
    });
    this._emit(`]${at.call(this, start(n))})`);
  };
  C.compileIn = function (n, frame) {
    this._emit('runtime.py.contains(');
    expr(this, n.left, frame);
    this._emit(', ');
    expr(this, n.right, frame);
    this._emit(`${at.call(this, n)})`);
  };
  C.compileIs = function (n, frame) {
    const right = n.right as Node;
    const name = ((right.name as Node | undefined)?.value ?? right.value) as string;
    this._emit(`runtime.py.test(env, ${JSON.stringify(name)}, context, [`);
    expr(this, n.left, frame);
    if (right.args) {
      this._emit(', ');
      this._compileAggregate(right.args, frame);
    }
    this._emit(`]${at.call(this, n)})`);
  };

  C.compileGroup = function (n, frame) {
    const children = n.children as unknown[];
    // `(a)` groups; `(a,)`, `(a, b)` and `()` are tuples.
    if (children.length === 1 && !n.trailingComma) this._compileAggregate(n, frame, '(', ')');
    else this._compileAggregate(n, frame, 'runtime.py.tuple([', '])');
  };
  C.compileDict = function (n, frame) {
    if (isA(n, nodes.KeywordArgs)) return compileDict.call(this, n, frame);
    this._emit('{');
    (n.children as Node[]).forEach((pair, i) => {
      if (i > 0) this._emit(', ');
      const key = pair.key as Node;
      if (isA(key, nodes.Literal) && typeof key.value === 'string') this.compile(key, frame);
      else {
        // `{name: 1}`: the key is the value of the variable `name`, as in Jinja; `{none: 1}`,
        // `{true: 1}` and `{1: 1}` are keys too (see nameOfKey).
        this._emit('[runtime.py.key(');
        expr(this, key, frame);
        this._emit(`${at.call(this, key)})]`);
      }
      this._emit(': ');
      expr(this, pair.value, frame);
    });
    this._emit('}');
  };

  C.compileLookupVal = function (n, frame) {
    const val = n.val as Node;
    // `x[a:b:c]`: Nunjucks' Jinja compatibility parses the brackets as a Slice node.
    const sliced = val.typename === 'Slice' ? val : undefined;
    if (sliced) {
      this._emit('runtime.py.slice(');
      expr(this, n.target, frame);
      for (const field of ['start', 'stop', 'step']) {
        this._emit(', ');
        expr(this, sliced[field], frame);
      }
    } else {
      this._emit(n.dot ? 'runtime.py.getattr(' : 'runtime.py.getitem(');
      expr(this, n.target, frame);
      this._emit(', ');
      expr(this, val, frame);
    }
    this._emit(`${at.call(this, start(n))})`);
  };

  /** A call's arguments as an array; with `*list` or `**dict`, spread into it when the call is made. */
  function compileArgs(this: CompilerThis, args: Node, frame: Frame): void {
    const children = args.children as Node[];
    const star = children.find((c) => isA(c, Star));
    const doubleStar = children.find((c) => isA(c, DoubleStar));
    if (!star && !doubleStar) return this._compileAggregate(args, frame, '[', ']');
    this._emit('runtime.py.spread([');
    children
      .filter((c) => c !== star && c !== doubleStar)
      .forEach((c, i) => {
        if (i > 0) this._emit(', ');
        this.compile(c, frame);
      });
    this._emit('], ');
    for (const spread of [star, doubleStar]) {
      if (spread) expr(this, spread.expr, frame);
      else this._emit('undefined');
      this._emit(', ');
    }
    this._emit(`${star !== undefined}, ${doubleStar !== undefined}${at.call(this, star ?? doubleStar!)})`);
  }
  // Every macro of a file is exported, `_private` ones too: dbt's packages call theirs as `pkg._name()`.
  C.compileMacro = function (n, frame) {
    const funcId = (this as unknown as { _compileMacro(n: Node): string })._compileMacro(n);
    const name = (n.name as Node).value as string;
    frame.set(name, funcId);
    if ((frame as Frame & { parent?: unknown }).parent) this._emitLine(`frame.set(${JSON.stringify(name)}, ${funcId});`);
    else this._emitLine(`context.addExport(${JSON.stringify(name)}); context.setVariable(${JSON.stringify(name)}, ${funcId});`);
  };
  C.compilePipeStar = function (n) {
    this.fail('*list spreads the arguments of a call, and stands nowhere else', n.lineno, n.colno);
  };
  C.compilePipeDoubleStar = function (n) {
    this.fail('**dict spreads the keyword arguments of a call, and stands nowhere else', n.lineno, n.colno);
  };

  C.compileFunCall = function (n, frame) {
    // lineno/colno stay Nunjucks' record of the last call, for the errors it reports itself.
    const callee = start(n);
    this._emit(`(lineno = ${callee.lineno}, colno = ${callee.colno}, runtime.py.call(`);
    expr(this, n.name, frame);
    this._emit(`, ${JSON.stringify(this._getNodeName(n.name))}, context, `);
    compileArgs.call(this, n.args as Node, frame);
    this._emit(`${at.call(this, callee)}))`);
  };
  C.compileFilter = function (n, frame) {
    const name = n.name as Node;
    const throwOnUndefined = (this as unknown as { throwOnUndefined?: boolean }).throwOnUndefined !== false;
    this._emit(`runtime.py.filter(env, ${JSON.stringify(filterIn(String(name.value), throwOnUndefined))}, context, `);
    compileArgs.call(this, n.args as Node, frame);
    this._emit(`${at.call(this, n)})`);
  };

  // A macro (and a call block's body, which is one) binds its arguments as Jinja's do (see
  // call-args.ts). The body sees its parameters as Nunjucks' own macros do.
  C._compileMacro = function (this: CompilerThis, n: Node, frame?: Frame) {
    const params: Node[] = [];
    let defaults: Node[] = [];
    const signature = (n.args as Node).children as Node[];
    signature.forEach((arg, i) => {
      if (i === signature.length - 1 && isA(arg, nodes.Dict)) defaults = arg.children as Node[];
      else if (isA(arg, Star) || isA(arg, DoubleStar)) this.fail("a macro's parameters are names (with defaults): the arguments it does not name are varargs and kwargs in its body", arg.lineno, arg.colno);
      else if (!isA(arg, nodes.Symbol)) this.fail("a macro's parameters are names (with defaults)", arg.lineno, arg.colno);
      else params.push(arg);
    });
    const names = [...params.map((p) => p.value as string), ...defaults.map((d) => (d.key as Node).value as string)];
    const body = n.body as Node & { findAll(cls: NodeClass): Node[] };
    const reads = new Set(body.findAll(nodes.Symbol).map((s) => s.value as string));
    const name = (n.name as Node).value as string;
    const spec = { name, params: names, varargs: reads.has('varargs'), kwargs: reads.has('kwargs'), caller: reads.has('caller') };
    const funcId = `macro_${this._tmpid()}`;
    const keepFrame = frame !== undefined;
    const currFrame = keepFrame ? (frame as Frame & { push(isolate: boolean): Frame }).push(true) : new (N.runtime.Frame as new () => Frame)();
    const bound = this._tmpid();
    this._emitLine(`var ${funcId} = runtime.py.macro(${JSON.stringify(spec)}, function (${bound}) {`);
    this._emitLine('var callerFrame = frame;');
    this._emitLine(`frame = ${keepFrame ? 'frame.push(true);' : 'new runtime.Frame();'}`);
    this._emitLine(`if (${bound}.caller !== undefined) frame.set("caller", ${bound}.caller);`);
    names.forEach((p, i) => {
      const local = `l_${p}`;
      this._emit(`var ${local} = `);
      if (i < params.length) this._emit(`${bound}.values[${i}]`);
      else {
        this._emit(`${bound}.given[${i}] ? ${bound}.values[${i}] : `);
        this._compileExpression(defaults[i - params.length].value, currFrame);
      }
      this._emitLine(`; frame.set(${JSON.stringify(p)}, ${local});`);
      currFrame.set(p, local);
    });
    if (spec.varargs) this._emitLine(`frame.set("varargs", ${bound}.varargs);`);
    if (spec.kwargs) this._emitLine(`frame.set("kwargs", ${bound}.kwargs);`);
    const self = this as CompilerThis & { _pushBuffer(): string; _popBuffer(): void; _withScopedSyntax(fn: () => void): void };
    const buffer = self._pushBuffer();
    self._withScopedSyntax(() => this.compile(n.body, currFrame));
    this._emitLine(`frame = ${keepFrame ? 'frame.pop();' : 'callerFrame;'}`);
    this._emitLine(`return new runtime.SafeString(${buffer});`);
    this._emitLine('});');
    self._popBuffer();
    return funcId;
  } as unknown as CompileFn;
}
