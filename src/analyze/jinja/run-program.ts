import nunjucks from 'nunjucks';
import type { Args, Expr, ForStmt, Program, Stmt, Target } from './program.js';
import { WholeFloat } from './values.js';

/**
 * Runs a template's program (see program.ts) as its compiled code runs: the same runtime
 * helpers (pipe's `runtime.py`, Nunjucks' frames, context and output), called in the same
 * order with the same arguments, and an error leaves as Template.render lets it leave.
 */

type Helper = (...args: unknown[]) => unknown;
interface Frame {
  topLevel: boolean;
  set(name: string, value: unknown, resolveUp?: boolean): void;
  push(isolateWrites?: boolean): Frame;
  pop(): Frame;
}
interface Context {
  /** The variables, which the context reads with `in` and writes with top-level `set`. */
  ctx: Record<string, unknown>;
  setVariable(name: string, value: unknown): void;
  addExport(name: string, value: unknown): void;
}
interface Runtime {
  readonly py: Readonly<Record<string, Helper>> & {
    and(left: unknown, right: () => unknown): unknown;
    or(left: unknown, right: () => unknown): unknown;
    bool(value: unknown): boolean;
  };
  readonly Frame: new () => Frame;
  contextOrFrameLookup(context: Context, frame: Frame, name: string): unknown;
  suppressValue(value: unknown, autoescape: unknown): unknown;
  ensureDefined(value: unknown, line: number, column: number): unknown;
  makeKeywordArgs(obj: object): object;
  fromIterator(value: unknown): unknown;
  isArray(value: unknown): boolean;
  keys(value: unknown): string[];
  handleError(e: unknown, line: number, column: number): Error;
}
const N = nunjucks as unknown as {
  runtime: Runtime;
  lib: { _prettifyError(path: string, withInternals: boolean, err: unknown): Error };
};

/** What a render is given: the environment it renders in. */
export interface ProgramEnvironment {
  readonly opts: { readonly autoescape?: unknown; readonly dev?: boolean };
}

type ContextClass = new (ctx: object, blocks: object, env: ProgramEnvironment) => Context;
const NO_VARIABLES = Object.freeze({});
let contextClass: ContextClass | undefined;

/**
 * Nunjucks' Context, which its package does not export: what Template.render gives a
 * template's root function, here one made as compiled code is (nothing is compiled).
 */
function contextClassOf(): ContextClass {
  if (!contextClass) {
    let found: ContextClass | undefined;
    const root = (_env: unknown, context: object, _frame: unknown, _runtime: unknown, cb: (err: unknown, out: string) => void) => {
      found = context.constructor as ContextClass;
      cb(null, '');
    };
    const code = { type: 'code', obj: { root } } as unknown as string;
    new nunjucks.Template(code, new nunjucks.Environment(null), 'context', true).render({});
    if (!found) throw new Error('internal error: no Nunjucks context');
    contextClass = found;
  }
  return contextClass;
}

const NORMAL = 0;
const BREAK = 1;
const CONTINUE = 2;
type Signal = typeof NORMAL | typeof BREAK | typeof CONTINUE;

class Run {
  output = '';
  /** Where the last call started (0-based): what an error without a position of its own is reported at. */
  lineno = 0;
  colno = 0;
  private readonly slots: unknown[];
  private readonly rt = N.runtime;
  private readonly py = N.runtime.py;

  constructor(
    private readonly env: ProgramEnvironment,
    private readonly context: Context,
    private frame: Frame,
    private readonly file: string,
    slots: number,
  ) {
    this.slots = new Array<unknown>(slots);
  }

  exec(body: readonly Stmt[]): Signal {
    for (const s of body) {
      switch (s.t) {
        case 'text':
          this.output += s.s;
          break;
        case 'out': {
          const value = this.eval(s.e);
          this.output += this.rt.suppressValue(s.at ? this.rt.ensureDefined(value, s.at[0], s.at[1]) : value, this.env.opts.autoescape) as string;
          break;
        }
        case 'set': {
          const value = this.eval(s.value);
          for (const target of s.targets) this.assign(target, value);
          break;
        }
        case 'unpack': {
          const values = this.py.unpack(this.eval(s.value), s.targets.length, this.file, s.at[0], s.at[1]) as unknown[];
          s.targets.forEach((target, i) => this.assign(target, values[i]));
          break;
        }
        case 'setattr': {
          const target = this.eval(s.target);
          this.py.setattr(target, s.attr, this.eval(s.value), this.file, s.at[0], s.at[1]);
          break;
        }
        case 'do':
          this.eval(s.e);
          break;
        case 'if': {
          const signal = this.eval(s.cond) ? this.exec(s.then) : s.else ? this.exec(s.else) : NORMAL;
          if (signal !== NORMAL) return signal;
          break;
        }
        case 'for':
          this.loop(s);
          break;
        case 'scope': {
          this.frame = this.frame.push(true);
          const signal = this.exec(s.body);
          // A break or continue left the iteration's frame already (as compiled: `frame = frame.pop(); break;`).
          if (signal !== NORMAL) return signal;
          this.frame = this.frame.pop();
          break;
        }
        case 'break':
        case 'continue':
          this.frame = this.frame.pop();
          return s.t === 'break' ? BREAK : CONTINUE;
        default: {
          const never: never = s;
          throw new Error(`internal error: template statement ${JSON.stringify(never)}`);
        }
      }
    }
    return NORMAL;
  }

  /** compileSet's assignment of one name: its variable, the frame, and at the top level the context. */
  private assign(target: Target, value: unknown): void {
    if (target.slot !== null) this.slots[target.slot] = value;
    this.frame.set(target.name, value, true);
    if (this.frame.topLevel) this.context.setVariable(target.name, value);
    if (target.name.charAt(0) !== '_' && this.frame.topLevel) this.context.addExport(target.name, value);
  }

  /** compileFor, with its loop variables (`loop.index`, ...) set in the loop's frame. */
  private loop(s: ForStmt): void {
    this.frame = this.frame.push();
    let arr = this.eval(s.source) as { readonly length: number; readonly [i: number]: unknown } | undefined;
    let len: number | undefined;
    if (arr) {
      arr = this.rt.fromIterator(arr) as typeof arr;
      if (s.one) {
        len = arr.length;
        for (let i = 0; i < arr.length; i++) {
          const value = arr[i];
          this.slots[s.one.slot] = value;
          this.frame.set(s.one.name, value);
          this.bindings(i, len, arr);
          if (this.exec(s.body) === BREAK) break;
        }
      } else if (s.many) {
        const many = s.many;
        if (this.rt.isArray(arr)) {
          len = arr.length;
          for (let i = 0; i < arr.length; i++) {
            for (let u = 0; u < many.slots.length; u++) {
              this.slots[many.slots[u]] = (arr[i] as Record<number, unknown>)[u];
              this.frame.set(many.frameNames[u], (arr[i] as Record<number, unknown>)[u]);
            }
            this.bindings(i, len, arr);
            if (this.exec(s.body) === BREAK) break;
          }
        } else {
          let i = -1;
          len = this.rt.keys(arr).length;
          for (const k in arr) {
            i++;
            const value = (arr as Record<string, unknown>)[k];
            this.slots[many.key.slot] = k;
            this.slots[many.value.slot] = value;
            this.frame.set(many.key.name, k);
            this.frame.set(many.value.name, value);
            this.bindings(i, len, arr);
            if (this.exec(many.objectBody) === BREAK) break;
          }
        }
      }
    }
    if (s.else && !len) this.exec(s.else);
    this.frame = this.frame.pop();
  }

  private bindings(i: number, len: number, items: unknown): void {
    this.py.loopBindings(this.frame, items, i, len);
  }

  private eval(e: Expr): unknown {
    const py = this.py;
    switch (e.t) {
      case 'lit':
        return e.v;
      case 'float':
        return new WholeFloat(e.v);
      case 'slot':
        return this.slots[e.i];
      case 'name':
        return this.rt.contextOrFrameLookup(this.context, this.frame, e.n);
      case 'list':
        return e.items.map((x) => this.eval(x));
      case 'tuple':
        return py.tuple(e.items.map((x) => this.eval(x)));
      case 'dict': {
        const out: Record<string, unknown> = {};
        for (const [key, value] of e.entries) {
          if (typeof key === 'string') out[key] = this.eval(value);
          else {
            const name = String(py.key(this.eval(key.e), this.file, key.at[0], key.at[1]));
            const v = this.eval(value);
            // An object literal's computed key defines a property, even `__proto__`.
            if (name === '__proto__') Object.defineProperty(out, name, { value: v, writable: true, enumerable: true, configurable: true });
            else out[name] = v;
          }
        }
        return out;
      }
      case 'kwargs': {
        const out: Record<string, unknown> = {};
        for (const [key, value] of e.entries) out[key] = this.eval(value);
        return this.rt.makeKeywordArgs(out);
      }
      case 'op':
        return py.op(e.op, this.eval(e.l), this.eval(e.r), this.file, e.at[0], e.at[1]);
      case 'unary':
        return py.unary(e.op, this.eval(e.e), this.file, e.at[0], e.at[1]);
      case 'not':
        return !py.bool(this.eval(e.e));
      case 'and':
        return py.and(this.eval(e.l), () => this.eval(e.r));
      case 'or':
        return py.or(this.eval(e.l), () => this.eval(e.r));
      case 'truth':
        return py.bool(this.eval(e.e));
      case 'compare': {
        const first = this.eval(e.e);
        const ops: unknown[] = [];
        for (const [op, x] of e.ops) ops.push(op, this.eval(x));
        return py.compare(first, ops, this.file, e.at[0], e.at[1]);
      }
      case 'in':
        return py.contains(this.eval(e.l), this.eval(e.r), this.file, e.at[0], e.at[1]);
      case 'is':
        return py.test(this.env, e.name, this.context, e.args.map((x) => this.eval(x)), this.file, e.at[0], e.at[1]);
      case 'cond':
        return this.eval(e.cond) ? this.eval(e.then) : e.else ? this.eval(e.else) : '';
      case 'getattr':
      case 'getitem': {
        const target = this.eval(e.target);
        return py[e.t](target, this.eval(e.key), this.file, e.at[0], e.at[1]);
      }
      case 'slice': {
        const target = this.eval(e.target);
        const start = this.eval(e.start);
        const stop = this.eval(e.stop);
        return py.slice(target, start, stop, this.eval(e.step), this.file, e.at[0], e.at[1]);
      }
      case 'call': {
        // As compiled: `(lineno = L, colno = C, runtime.py.call(...))`, the position set before the callee and arguments are.
        this.lineno = e.at[0];
        this.colno = e.at[1];
        const fn = this.eval(e.fn);
        return py.call(fn, e.name, this.context, this.args(e.args), this.file, e.at[0], e.at[1]);
      }
      case 'filter':
        return py.filter(this.env, e.name, this.context, this.args(e.args), this.file, e.at[0], e.at[1]);
      case 'loop':
        return py.loop(this.eval(e.e), e.names, this.file, e.at[0], e.at[1]);
      case 'capture': {
        const outer = this.output;
        this.output = '';
        try {
          this.exec(e.body);
          return this.output;
        } finally {
          this.output = outer;
        }
      }
      default: {
        const never: never = e;
        throw new Error(`internal error: template expression ${JSON.stringify(never)}`);
      }
    }
  }

  private args(a: Args): unknown[] {
    const items = a.items.map((x) => this.eval(x));
    if (!a.spread) return items;
    const star = a.spread.star ? this.eval(a.spread.star) : undefined;
    const doubleStar = a.spread.doubleStar ? this.eval(a.spread.doubleStar) : undefined;
    return this.py.spread(items, star, doubleStar, a.spread.star !== null, a.spread.doubleStar !== null, this.file, a.spread.at[0], a.spread.at[1]) as unknown[];
  }
}

/**
 * The program's output for `ctx` (the render's variables) in `env`, as
 * `new nunjucks.Template(source, env, file).render(ctx)` gives it: the same text, or the same
 * error.
 */
export function runProgram(program: Program, env: ProgramEnvironment, ctx: Record<string, unknown>, file: string): string {
  const Context = contextClassOf();
  const context = new Context(NO_VARIABLES, {}, env);
  // Nunjucks copies the variables it is given into a context of their own; `ctx` is the
  // run's own already (its prototype's names are found by Nunjucks' `in` lookup, not copied).
  context.ctx = ctx;
  const frame = new N.runtime.Frame();
  frame.topLevel = true;
  const run = new Run(env, context, frame, file, program.slots);
  try {
    run.exec(program.body);
    return run.output;
  } catch (e) {
    throw N.lib._prettifyError(file, env.opts.dev as boolean, N.runtime.handleError(e, run.lineno, run.colno));
  }
}
