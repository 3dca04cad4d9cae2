import parser from 'nunjucks/src/parser.js';
import transformer from 'nunjucks/src/transformer.js';
import { filterIn, installJinjaSyntax } from './syntax.js';
import { BUNDLED, distUrl } from '../../install-paths.js';
import { parseTemplate } from './template-parser.js';

/**
 * A template as a program that run-program.ts runs, instead of the JavaScript that Nunjucks'
 * compiler writes and V8 then compiles: for a model file of twenty lines, writing and
 * compiling that code costs several times what parsing it does, and a project has thousands.
 *
 * The program is made from the tree Nunjucks' parser (with pipe's Jinja syntax, see
 * syntax.ts) gives, or pipe's own parser gives the same (template-parser.ts), by a walk that
 * mirrors the compiler step for step: each node becomes the
 * operation its compiled code performs, calling the same runtime helpers in the same order,
 * with the same positions; a name the compiler binds to a JavaScript variable (a loop's
 * variable) is bound to the same slot here, so that even Nunjucks' quirks are kept. A
 * template with anything else (macros, call blocks, includes, blocks, extensions, regular
 * expression literals) has no program: Nunjucks compiles it, as before. Plain JSON, so that
 * it crosses threads and is kept on disk as text.
 */

/** 0-based line and column, as the compiled code passes them to the runtime helpers. */
export type At = readonly [line: number, column: number];

export type Expr =
  | { readonly t: 'lit'; readonly v: string | number | boolean | null }
  /** A float literal with a whole value (`5.0`): a number would be the int 5. */
  | { readonly t: 'float'; readonly v: number }
  /** A name the compiler binds to a variable of its own (a loop's variable). */
  | { readonly t: 'slot'; readonly i: number }
  /** A name looked up when it is read: the frames, then the render's context and the globals. */
  | { readonly t: 'name'; readonly n: string }
  | { readonly t: 'list'; readonly items: readonly Expr[] }
  | { readonly t: 'tuple'; readonly items: readonly Expr[] }
  | { readonly t: 'dict'; readonly entries: readonly DictEntry[] }
  /** A call's `name=value` arguments. */
  | { readonly t: 'kwargs'; readonly entries: readonly (readonly [string, Expr])[] }
  | { readonly t: 'op'; readonly op: string; readonly l: Expr; readonly r: Expr; readonly at: At }
  | { readonly t: 'unary'; readonly op: '-' | '+'; readonly e: Expr; readonly at: At }
  | { readonly t: 'not'; readonly e: Expr }
  | { readonly t: 'and' | 'or'; readonly l: Expr; readonly r: Expr }
  | { readonly t: 'truth'; readonly e: Expr }
  | { readonly t: 'compare'; readonly e: Expr; readonly ops: readonly (readonly [string, Expr])[]; readonly at: At }
  | { readonly t: 'in'; readonly l: Expr; readonly r: Expr; readonly at: At }
  | { readonly t: 'is'; readonly name: string; readonly args: readonly Expr[]; readonly at: At }
  /** `a if cond else b`; `cond` is a truth. */
  | { readonly t: 'cond'; readonly cond: Expr; readonly then: Expr; readonly else: Expr | null }
  | { readonly t: 'getattr' | 'getitem'; readonly target: Expr; readonly key: Expr; readonly at: At }
  | { readonly t: 'slice'; readonly target: Expr; readonly start: Expr; readonly stop: Expr; readonly step: Expr; readonly at: At }
  | { readonly t: 'call'; readonly fn: Expr; readonly name: string; readonly args: Args; readonly at: At }
  | { readonly t: 'filter'; readonly name: string; readonly args: Args; readonly at: At }
  | { readonly t: 'loop'; readonly e: Expr; readonly names: number; readonly at: At }
  /** Statements whose output is the value (`{% set x %}...{% endset %}`, a filter block's body). */
  | { readonly t: 'capture'; readonly body: readonly Stmt[] };

/** A dict's key: a string, or an expression whose value is the key (`{name: 1}`). */
export type DictEntry = readonly [key: string | { readonly e: Expr; readonly at: At }, value: Expr];

/** A call's or a filter's arguments; with `*list` or `**dict`, spread when the call is made. */
export interface Args {
  readonly items: readonly Expr[];
  readonly spread?: { readonly star: Expr | null; readonly doubleStar: Expr | null; readonly at: At };
}

/** A `{% set %}` target: the slot the compiler binds the name to, if any, and the name. */
export interface Target {
  readonly name: string;
  readonly slot: number | null;
}

export type Stmt =
  | { readonly t: 'text'; readonly s: string }
  /** `{{ e }}`; `at` (the `{{`) when an undefined value is an error. */
  | { readonly t: 'out'; readonly e: Expr; readonly at: At | null }
  | { readonly t: 'set'; readonly targets: readonly Target[]; readonly value: Expr }
  | { readonly t: 'unpack'; readonly targets: readonly Target[]; readonly value: Expr; readonly at: At }
  | { readonly t: 'setattr'; readonly target: Expr; readonly attr: string; readonly value: Expr; readonly at: At }
  | { readonly t: 'do'; readonly e: Expr }
  | { readonly t: 'if'; readonly cond: Expr; readonly then: readonly Stmt[]; readonly else: readonly Stmt[] | null }
  | ForStmt
  /** A loop's body: a frame of its own, so that a `{% set %}` in it stays in the iteration. */
  | { readonly t: 'scope'; readonly body: readonly Stmt[] }
  | { readonly t: 'break' | 'continue' };

export interface ForStmt {
  readonly t: 'for';
  /** The loop's source, through the loop helper. */
  readonly source: Expr;
  /** `for x in ...`: the name, its slot. */
  readonly one: { readonly name: string; readonly slot: number } | null;
  /**
   * `for a, b in ...`: over a list, each item's parts go to the slots (and to the frame under
   * the names Nunjucks gives them); over anything else, key and value go to `key`/`value`.
   */
  readonly many: {
    readonly slots: readonly number[];
    readonly frameNames: readonly string[];
    readonly key: Target & { readonly slot: number };
    readonly value: Target & { readonly slot: number };
    /** The body as compiled for an object's keys and values (its names bound to key and value). */
    readonly objectBody: readonly Stmt[];
  } | null;
  readonly body: readonly Stmt[];
  readonly else: readonly Stmt[] | null;
}

export interface Program {
  readonly body: readonly Stmt[];
  /** How many slots the body's names are bound to. */
  readonly slots: number;
}

/* Nunjucks' parse tree, untyped in its typings. */
interface Node {
  readonly typename: string;
  readonly lineno: number;
  readonly colno: number;
  readonly [field: string]: unknown;
}

/** Why a template has no program: it is then compiled by Nunjucks. */
class Unsupported extends Error {}

/** What the compiler binds names to while it compiles (Nunjucks' compile-time frame). */
class Scope {
  private readonly names = new Map<string, number>();
  constructor(private readonly parent?: Scope) {}
  lookup(name: string): number | undefined {
    return this.names.get(name) ?? this.parent?.lookup(name);
  }
  set(name: string, slot: number): void {
    this.names.set(name, slot);
  }
  push(): Scope {
    return new Scope(this);
  }
}

/** Nodes whose compiled code names a place: a call at its callee, a lookup at its target (see syntax.ts). */
function start(n: Node): Node {
  if (n.typename === 'FunCall') return start(n.name as Node);
  if (n.typename === 'LookupVal') return start(n.target as Node);
  if (n.typename === 'Compare') return start(n.expr as Node);
  return n;
}

const at = (n: Node): At => [n.lineno, n.colno];

/** How Nunjucks names what a call calls, in its "Unable to call" error. */
function nodeName(n: Node): string {
  switch (n.typename) {
    case 'Symbol':
      return n.value as string;
    case 'FunCall':
      return `the return value of (${nodeName(n.name as Node)})`;
    case 'LookupVal':
      return `${nodeName(n.target as Node)}["${nodeName(n.val as Node)}"]`;
    case 'Literal':
      if (n.value === null || n.value === undefined) throw new Unsupported('a call of a null literal');
      return String(n.value);
    default:
      return '--expression--';
  }
}

const BINARY: Readonly<Record<string, string>> = { Add: '+', Sub: '-', Mul: '*', Div: '/', FloorDiv: '//', Mod: '%', Pow: '**', Concat: '~' };
/** Nodes that neither the compiler nor pipe's syntax changes in a way the walk below does not mirror. */
const STATEMENTS = new Set(['Output', 'Set', 'PipeUnpack', 'PipeSetAttr', 'PipeDo', 'If', 'For', 'PipeIterationScope', 'PipeLoopControl', 'NodeList']);

class Converter {
  slots = 0;
  /** Whether a `{% break %}` here leaves the innermost loop's body (and nothing else) as the compiled code does. */
  private inLoopBody = false;
  constructor(private readonly throwOnUndefined: boolean) {}

  private slot(): number {
    return this.slots++;
  }

  statements(n: Node, scope: Scope): Stmt[] {
    if (n.typename !== 'NodeList' && n.typename !== 'Root') throw new Unsupported(n.typename);
    const out: Stmt[] = [];
    for (const child of n.children as Node[]) this.statement(child, scope, out);
    return out;
  }

  private statement(n: Node, scope: Scope, out: Stmt[]): void {
    if (!STATEMENTS.has(n.typename)) throw new Unsupported(n.typename);
    switch (n.typename) {
      case 'NodeList':
        for (const child of n.children as Node[]) this.statement(child, scope, out);
        return;
      case 'Output':
        for (const child of n.children as Node[]) {
          if (child.typename === 'TemplateData') {
            if (child.value) out.push({ t: 'text', s: String(child.value) });
          } else out.push({ t: 'out', e: this.expr(child, scope), at: this.throwOnUndefined ? at(n) : null });
        }
        return;
      case 'Set': {
        const targets = (n.targets as Node[]).map((t) => this.target(t, scope));
        const value = n.value ? this.expr(n.value as Node, scope) : this.capture(n.body as Node, scope);
        out.push({ t: 'set', targets, value });
        return;
      }
      case 'PipeUnpack': {
        // The value first, then each target as compileSet binds it.
        const value = this.expr(n.value as Node, scope);
        out.push({ t: 'unpack', value, targets: (n.targets as Node[]).map((t) => this.target(t, scope)), at: at(n) });
        return;
      }
      case 'PipeSetAttr':
        out.push({ t: 'setattr', target: this.expr(n.target as Node, scope), attr: String(n.attr), value: this.expr(n.value as Node, scope), at: at(n) });
        return;
      case 'PipeDo':
        out.push({ t: 'do', e: this.expr(n.expr as Node, scope) });
        return;
      case 'If': {
        const cond = this.truth(n.cond as Node, scope);
        const then = this.statements(n.body as Node, scope);
        const otherwise = n.else_ ? this.branch(n.else_ as Node, scope) : null;
        out.push({ t: 'if', cond, then, else: otherwise });
        return;
      }
      case 'For':
        out.push(this.loop(n, scope));
        return;
      case 'PipeIterationScope':
        out.push({ t: 'scope', body: this.statements(n.body as Node, scope) });
        return;
      case 'PipeLoopControl':
        if (!this.inLoopBody) throw new Unsupported('a loop control outside a loop body');
        out.push({ t: n.keyword === 'break' ? 'break' : 'continue' });
        return;
      default:
        throw new Unsupported(n.typename);
    }
  }

  /** A condition, through Python's truth as syntax.ts's compileIf and compileInlineIf wrap it (once). */
  private truth(n: Node, scope: Scope): Expr {
    return n.typename === 'PipeTruth' ? this.expr(n, scope) : { t: 'truth', e: this.expr(n, scope) };
  }

  /** A body that is a NodeList, or one statement: an `else` of an `if` that is an elif, a loop's body (its iteration scope). */
  private branch(n: Node, scope: Scope): Stmt[] {
    if (n.typename === 'NodeList') return this.statements(n, scope);
    const out: Stmt[] = [];
    this.statement(n, scope, out);
    return out;
  }

  /** A name `{% set %}` assigns: the compiler's variable for it, if it has bound one. */
  private target(n: Node, scope: Scope): Target {
    if (n.typename !== 'Symbol') throw new Unsupported('a set target that is not a name');
    const name = n.value as string;
    return { name, slot: scope.lookup(name) ?? null };
  }

  private capture(body: Node, scope: Scope): Expr {
    const inLoop = this.inLoopBody;
    this.inLoopBody = false;
    try {
      const b = body.typename === 'Capture' ? (body.body as Node) : body;
      return { t: 'capture', body: this.statements(b, scope) };
    } finally {
      this.inLoopBody = inLoop;
    }
  }

  private loop(n: Node, outer: Scope): ForStmt {
    // As compileFor: a frame of the loop's own, its source compiled in it.
    const scope = outer.push();
    const source = this.expr(n.arr as Node, scope);
    const name = n.name as Node;
    const inLoop = this.inLoopBody;
    try {
      if (name.typename === 'Array') {
        const children = name.children as Node[];
        if (children.length < 2 || children.some((c) => c.typename !== 'Symbol')) throw new Unsupported('loop names');
        const slots = children.map((c) => {
          const s = this.slot();
          scope.set(c.value as string, s);
          return s;
        });
        this.inLoopBody = true;
        const body = this.branch(n.body as Node, scope);
        const key = { name: children[0].value as string, slot: this.slot() };
        const value = { name: children[1].value as string, slot: this.slot() };
        scope.set(key.name, key.slot);
        scope.set(value.name, value.slot);
        const objectBody = this.branch(n.body as Node, scope);
        this.inLoopBody = false;
        const otherwise = n.else_ ? this.statements(n.else_ as Node, scope) : null;
        // Nunjucks sets each part in the frame under the text of its node: "[object Object]".
        return { t: 'for', source, one: null, many: { slots, frameNames: children.map((c) => String(c)), key, value, objectBody }, body, else: otherwise };
      }
      if (name.typename !== 'Symbol') throw new Unsupported('loop name');
      const one = { name: name.value as string, slot: this.slot() };
      scope.set(one.name, one.slot);
      this.inLoopBody = true;
      const body = this.branch(n.body as Node, scope);
      this.inLoopBody = false;
      const otherwise = n.else_ ? this.statements(n.else_ as Node, scope) : null;
      return { t: 'for', source, one, many: null, body, else: otherwise };
    } finally {
      this.inLoopBody = inLoop;
    }
  }

  expr(n: Node, scope: Scope): Expr {
    const binary = BINARY[n.typename];
    // In a template that prints an undefined value as nothing, `~` joins it as nothing too (see operators.ts).
    const op = binary === '~' && !this.throwOnUndefined ? '~?' : binary;
    if (op) return { t: 'op', op, l: this.expr(n.left as Node, scope), r: this.expr(n.right as Node, scope), at: at(n) };
    switch (n.typename) {
      case 'Literal': {
        const v = n.value;
        if (n.float === true && typeof v === 'number' && Number.isInteger(v)) return { t: 'float', v };
        if (v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) return { t: 'lit', v };
        throw new Unsupported('literal');
      }
      case 'Symbol': {
        const slot = scope.lookup(n.value as string);
        return slot === undefined ? { t: 'name', n: n.value as string } : { t: 'slot', i: slot };
      }
      case 'Group': {
        const children = n.children as Node[];
        if (children.length === 1 && !n.trailingComma) return this.expr(children[0], scope);
        return { t: 'tuple', items: children.map((c) => this.expr(c, scope)) };
      }
      case 'Array':
        return { t: 'list', items: (n.children as Node[]).map((c) => this.expr(c, scope)) };
      case 'Dict':
        return { t: 'dict', entries: (n.children as Node[]).map((pair) => this.dictEntry(pair, scope)) };
      case 'KeywordArgs':
        return { t: 'kwargs', entries: (n.children as Node[]).map((pair) => this.keyword(pair, scope)) };
      case 'Neg':
      case 'Pos':
        return { t: 'unary', op: n.typename === 'Neg' ? '-' : '+', e: this.expr(n.target as Node, scope), at: at(n) };
      case 'Not':
        return { t: 'not', e: this.expr(n.target as Node, scope) };
      case 'And':
      case 'Or':
        return { t: n.typename === 'And' ? 'and' : 'or', l: this.expr(n.left as Node, scope), r: this.expr(n.right as Node, scope) };
      case 'PipeTruth':
        return { t: 'truth', e: this.expr(n.expr as Node, scope) };
      case 'Compare':
        return {
          t: 'compare',
          e: this.expr(n.expr as Node, scope),
          ops: (n.ops as Node[]).map((o) => [String(o.type), this.expr(o.expr as Node, scope)] as const),
          at: at(start(n)),
        };
      case 'In':
        return { t: 'in', l: this.expr(n.left as Node, scope), r: this.expr(n.right as Node, scope), at: at(n) };
      case 'Is': {
        const right = n.right as Node;
        const name = ((right.name as Node | undefined)?.value ?? right.value) as string;
        const args = [this.expr(n.left as Node, scope)];
        if (right.args) for (const c of (right.args as Node).children as Node[]) args.push(this.expr(c, scope));
        return { t: 'is', name: String(name), args, at: at(n) };
      }
      case 'InlineIf': {
        const cond = this.truth(n.cond as Node, scope);
        return { t: 'cond', cond, then: this.expr(n.body as Node, scope), else: n.else_ ? this.expr(n.else_ as Node, scope) : null };
      }
      case 'LookupVal': {
        const val = n.val as Node;
        const target = this.expr(n.target as Node, scope);
        if (val.typename === 'Slice') {
          const part = (f: string) => {
            const p = val[f] as Node | null | undefined;
            if (!p) throw new Unsupported('slice');
            return this.expr(p, scope);
          };
          return { t: 'slice', target, start: part('start'), stop: part('stop'), step: part('step'), at: at(start(n)) };
        }
        return { t: n.dot ? 'getattr' : 'getitem', target, key: this.expr(val, scope), at: at(start(n)) };
      }
      case 'FunCall': {
        const callee = start(n);
        const name = nodeName(n.name as Node);
        return { t: 'call', fn: this.expr(n.name as Node, scope), name, args: this.args(n.args as Node, scope), at: at(callee) };
      }
      case 'Filter':
        return { t: 'filter', name: filterIn(String((n.name as Node).value), this.throwOnUndefined), args: this.args(n.args as Node, scope), at: at(n) };
      case 'PipeLoopSource':
        return { t: 'loop', e: this.expr(n.expr as Node, scope), names: n.names as number, at: at(n) };
      case 'Capture':
        return this.capture(n, scope);
      default:
        throw new Unsupported(n.typename);
    }
  }

  private dictEntry(pair: Node, scope: Scope): DictEntry {
    const key = pair.key as Node;
    if (key.typename === 'Literal') {
      // `__proto__` would set the prototype; a number's key is made when the dict is (5.0 and 5 are one key).
      if (key.value === '__proto__') throw new Unsupported('dict key');
      if (typeof key.value === 'string') return [key.value, this.expr(pair.value as Node, scope)];
    }
    return [{ e: this.expr(key, scope), at: at(key) }, this.expr(pair.value as Node, scope)];
  }

  private keyword(pair: Node, scope: Scope): readonly [string, Expr] {
    const key = pair.key as Node;
    const name = key.typename === 'Symbol' || (key.typename === 'Literal' && typeof key.value === 'string') ? (key.value as string) : undefined;
    if (name === undefined || name === '__proto__') throw new Unsupported('keyword');
    return [name, this.expr(pair.value as Node, scope)];
  }

  private args(n: Node, scope: Scope): Args {
    const children = n.children as Node[];
    const star = children.find((c) => c.typename === 'PipeStar');
    const doubleStar = children.find((c) => c.typename === 'PipeDoubleStar');
    const items = children.filter((c) => c !== star && c !== doubleStar).map((c) => this.expr(c, scope));
    if (!star && !doubleStar) return { items };
    return {
      items,
      spread: {
        star: star ? this.expr(star.expr as Node, scope) : null,
        doubleStar: doubleStar ? this.expr(doubleStar.expr as Node, scope) : null,
        at: at((star ?? doubleStar)!),
      },
    };
  }
}

/**
 * The template's program, parsed with the environment's options as Nunjucks would compile it,
 * when pipe's own parser (template-parser.ts, several times faster) takes the template;
 * undefined otherwise: then programFromNunjucks reads it with Nunjucks' parser, or it has
 * something programs do not cover, or does not parse (Nunjucks then compiles it, and reports
 * its error as ever).
 */
export function quickProgram(source: string, opts: ParseOptions): Program | undefined {
  let tree: ReturnType<typeof parseTemplate>;
  try {
    tree = parseTemplate(source, opts);
  } catch (e) {
    // Nested deeper than the stack holds (hundreds of parentheses): Nunjucks' to report.
    if (e instanceof RangeError) return undefined;
    throw e;
  }
  return tree && programOfTree(tree as unknown as Node, opts);
}

/** What parsing reads of the environment's options. */
type ParseOptions = { readonly throwOnUndefined?: boolean; readonly trimBlocks?: unknown; readonly lstripBlocks?: unknown; readonly tags?: unknown };

/** The program of the tree Nunjucks' own parser gives: the reference template-parser.ts is held to. */
export function programFromNunjucks(source: string, path: string, opts: ParseOptions): Program | undefined {
  installJinjaSyntax();
  let root: Node;
  try {
    root = parser.parse(source, [], opts) as Node;
    // Without async filters and nodes to rewrite, the transformer gives back the tree it was given (see syntax.ts).
    if (transformer.transform(root, [], path) !== root) return undefined;
  } catch {
    return undefined;
  }
  return programOfTree(root, opts);
}

function programOfTree(root: Node, opts: ParseOptions): Program | undefined {
  const converter = new Converter(opts.throwOnUndefined === true);
  try {
    const body = converter.statements(root, new Scope());
    return { body, slots: converter.slots };
  } catch {
    // Unsupported, or a tree the compiler itself would fail on (`x[]`): Nunjucks' to report.
    return undefined;
  }
}

/** This module's own file (its compiled one beside the bundle): its text decides the programs made (see template-program-cache.ts). */
export const PROGRAM_MODULE = BUNDLED ? distUrl('analyze/jinja/program.js').href : import.meta.url;
